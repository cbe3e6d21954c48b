/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scanaccept.c - `kura scan --accept`: an operator's word that a
 * snapshot's alarm was false (include/kura/accept.h).  It says exactly
 * what the next backups will weigh less (directories and extensions),
 * and what it does not do: close a vault's alert (only the approvers'
 * quorum does, `kurad alert resolve`).
 */
#include "scanaccept.h"

#include <stdio.h>
#include <string.h>

#include "kura/accept.h"

int cli_scan_accept(struct cli_global *g, kura_repo *repo, const char *snapshot, const char *reason)
{
	kura_accept_info a = {0};
	int err, rc = CLI_EXIT_OK;

	if ((err = kura_scan_accept(repo, snapshot, reason, &a)) < 0)
		return cli_fail(err, NULL);
	if (g->json) {
		rc = cli_json_print(json_pack(
		    "{s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "message_type", "accepted", "record",
		    a.id, "snapshot", a.snapshot, "time_ns", (json_int_t)a.time_ns, "directories",
		    (json_int_t)a.ndirs, "extensions", (json_int_t)a.nexts, "details",
		    cli_json_str(a.details ? a.details : "")));
	} else if (!g->quiet) {
		printf("accepted snapshot %.12s as a false alarm (record %.12s): the next backups "
		       "of its source weigh\nfiles with these extensions in these directories "
		       "(and below) at a tenth, and say so:\n",
		       a.snapshot, a.id);
		fputs(a.details ? a.details : "", stdout);
		printf("Ransom notes and onion addresses are never accepted.  On a vault the "
		       "acceptance is\nshown with the alert; it does not close it (kurad alert "
		       "resolve, by a quorum).\n");
	}
	kura_accept_info_clear(&a);
	return rc;
}
