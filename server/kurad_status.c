/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kurad_status.c - `kurad status` (the operator's table, or the JSON of
 * status.c) and `kurad log verify` (the audit log's chain and signatures).
 */
#include "kurad_cmd.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_cli.h"
#include "audit.h"
#include "common/error.h"
#include "drills.h"
#include "quota.h"
#include "status.h"
#include "vault_state.h"

static const char usage_status[] =
    "Usage: kurad status DIR [--json]\n"
    "\n"
    "Show the vault's repositories (files, bytes, snapshots, when the last snapshot\n"
    "was received, upload quota in force and what is left of it), its clients,\n"
    "pending deletions and alerts.  Safe to run while 'kurad serve' is running.\n"
    "\n"
    "  --json  print JSON for scripts\n";

static const char usage_log[] =
    "Usage: kurad log verify DIR\n"
    "\n"
    "Recompute the hash chain of DIR/audit/log.jsonl and check every checkpoint's\n"
    "signature with DIR/signing.pub.  Each problem is printed with its line number;\n"
    "entries after the last checkpoint are reported as not yet covered.  Exit\n"
    "status 4 if a problem was found.\n";

static void human_bytes(char out[32], uint64_t n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double d = (double)n;
	int u = 0;

	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, 32, "%" PRIu64 " B", n);
	else
		snprintf(out, 32, "%.1f %s", d, units[u]);
}

/* RFC 3339 UTC, to the second, of a JSON integer of nanoseconds. */

/* One line per pending request (the table of `kurad status`). */
static void print_pending(const json_t *dels)
{
	const json_t *d;
	size_t i, shown = 0;
	char when[40];

	json_array_foreach(dels, i, d)
	{
		const char *eff = kurad_ns_time(json_object_get(d, "effective_ns"), when);
		char approvals[32];

		if (strcmp(kurad_jstr(d, "state"), "pending") != 0)
			continue;
		if (shown++ == 0)
			printf("%-6s %-16s %-16s %9s %5s %9s  %s\n", "ID", "REPOSITORY",
			       "REQUESTED BY", "SNAPSHOTS", "PRUNE", "APPROVALS", "TAKES EFFECT");
		snprintf(approvals, sizeof(approvals),
			 "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(d, "approvals_valid")),
			 json_integer_value(json_object_get(d, "quorum")));
		printf("%-6" JSON_INTEGER_FORMAT " %-16s %-16s %9zu %5s %9s  %s\n",
		       json_integer_value(json_object_get(d, "id")), kurad_jstr(d, "repo"),
		       kurad_jstr(d, "requested_by"),
		       json_array_size(json_object_get(d, "snapshots")),
		       json_is_true(json_object_get(d, "prune")) ? "yes" : "no", approvals,
		       eff ? eff : "waiting for approvals");
	}
	json_array_foreach(dels, i, d)
		if (strcmp(kurad_jstr(d, "state"), "corrupt") == 0)
			printf("deletion request %" JSON_INTEGER_FORMAT " cannot be read: %s\n",
			       json_integer_value(json_object_get(d, "id")), kurad_jstr(d, "error"));
	if (!shown)
		printf("No pending deletion requests.\n");
}

/*
 * The operator's table.  `kura vault status` (cli/cmd_vault.c) prints the
 * same document for an auditor, and is kept apart on purpose: it shows
 * times in the auditor's local zone and sizes as the kura command does,
 * and leaves out what only the vault host sees (last backup per client,
 * revocation, pending deletions); a shared renderer would change one of
 * the two outputs, which scripts and the tests read.
 */
static void print_status(const vault *v, const json_t *doc)
{
	const json_t *repos = json_object_get(doc, "repositories");
	const json_t *clients = json_object_get(doc, "clients");
	const json_t *r;
	const char *when;
	char size[32];
	size_t i;

	printf("Vault %s, listening on %s\n\n", vault_dir(v), vault_listen_addr(v));
	if (json_array_size(repos) == 0)
		printf("No repositories yet.\n");
	else
		printf("%-24s %10s %12s %10s  %s\n", "REPOSITORY", "FILES", "SIZE", "SNAPSHOTS",
		       "LAST SNAPSHOT RECEIVED");
	json_array_foreach(repos, i, r)
	{
		human_bytes(size, (uint64_t)json_integer_value(json_object_get(r, "bytes")));
		when = json_string_value(json_object_get(r, "last_snapshot_received"));
		printf("%-24s %10" JSON_INTEGER_FORMAT " %12s %10" JSON_INTEGER_FORMAT "  %s\n",
		       json_string_value(json_object_get(r, "name")),
		       json_integer_value(json_object_get(r, "files")), size,
		       json_integer_value(json_object_get(r, "snapshots")), when ? when : "never");
	}
	putchar('\n');
	drills_print(repos);
	quota_status_print(repos);
	if (json_array_size(repos))
		putchar('\n');
	if (json_array_size(clients) == 0)
		printf("No clients yet: issue one with 'kurad client add'.\n");
	else
		printf("%-24s %-8s  %-24s %s\n", "CLIENT", "ROLE", "REPOSITORY", "LAST BACKUP");
	json_array_foreach(clients, i, r)
	{
		const char *repo = json_string_value(json_object_get(r, "repo"));
		const char *last = json_string_value(json_object_get(r, "last_backup"));
		const char *role = kurad_jstr(r, "role");

		printf("%-24s %-8s  %-24s %s%s\n", kurad_jstr(r, "name"), role, repo ? repo : "-",
		       last			     ? last
		       : strcmp(role, "writer") == 0 ? "never"
						     : "-",
		       json_is_true(json_object_get(r, "revoked")) ? "  (revoked)" : "");
	}
	putchar('\n');
	print_pending(json_object_get(doc, "deletions"));
	putchar('\n');
	alert_cli_print(json_object_get(doc, "alerts"), true);
}

int kurad_cmd_status(int argc, char **argv)
{
	const char *pos[1];
	bool json = false, help;
	const kurad_option opts[] = {{"--json", false, NULL, &json}, {NULL, false, NULL, NULL}};
	vault *v = NULL;
	json_t *doc = NULL;
	char *text = NULL;
	int npos, rc = EXIT_OK;

	if ((rc = kurad_parse_args(argc, argv, opts, pos, 1, &npos, &help, usage_status)) || help) {
		if (help)
			fputs(usage_status, stdout);
		return rc;
	}
	if (npos != 1)
		return kurad_usage_error(usage_status, "status needs the vault directory");
	if (vault_open_readonly(&v, pos[0]) < 0)
		return kurad_fail(pos[0]);
	if (status_json(v, &text) < 0) {
		rc = kurad_fail(pos[0]);
		goto done;
	}
	if (json) {
		printf("%s\n", text);
		goto done;
	}
	if (!(doc = json_loads(text, 0, NULL))) {
		fprintf(stderr, "kurad: status: cannot read back the status\n");
		rc = EXIT_ERROR;
		goto done;
	}
	print_status(v, doc);
done:
	json_decref(doc);
	free(text);
	vault_free(v);
	return rc;
}

int kurad_cmd_log(int argc, char **argv)
{
	const char *pos[2];
	bool help;
	int npos, rc, err;

	if ((rc = kurad_parse_args(argc, argv, NULL, pos, 2, &npos, &help, usage_log)) || help) {
		if (help)
			fputs(usage_log, stdout);
		return rc;
	}
	if (npos == 0)
		return kurad_usage_error(usage_log, "log needs a subcommand: verify");
	if (strcmp(pos[0], "verify") != 0)
		return kurad_usage_error(usage_log, "no log subcommand '%s'", pos[0]);
	if (npos != 2)
		return kurad_usage_error(usage_log, "log verify needs the vault directory");
	err = audit_verify(pos[1], stdout);
	if (err == KURA_ECORRUPT) {
		fprintf(stderr, "kurad: %s\n", kura_error_message());
		return EXIT_LOG_BAD;
	}
	return err < 0 ? kurad_fail(pos[1]) : EXIT_OK;
}
