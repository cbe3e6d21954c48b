/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kurad_deletions.c - `kurad deletions`: the deletion requests, oldest
 * first, as text for people or JSON for scripts.
 */
#include "kurad_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deletion_intake.h"
#include "vault_state.h"

static const char usage_deletions[] =
    "Usage: kurad deletions DIR [--json]\n"
    "\n"
    "List the vault's deletion requests, oldest first: what each deletes, who filed\n"
    "it, its approvals (valid ones counted against the quorum), when it takes\n"
    "effect, and for finished ones what was removed.  Safe to run while 'kurad\n"
    "serve' is running.\n"
    "\n"
    "  --json  print JSON for scripts\n";

static void print_deletion(const json_t *d)
{
	const json_t *snaps = json_object_get(d, "snapshots"), *item, *res;
	const char *state = kurad_jstr(d, "state");
	char when[40];
	size_t i;

	if (strcmp(state, "corrupt") == 0) {
		printf("Request %" JSON_INTEGER_FORMAT ": cannot be read: %s\n\n",
		       json_integer_value(json_object_get(d, "id")), kurad_jstr(d, "error"));
		return;
	}
	printf("Request %" JSON_INTEGER_FORMAT ", repository %s, %s\n",
	       json_integer_value(json_object_get(d, "id")), kurad_jstr(d, "repo"), state);
	printf("  requested by %s at %s\n", kurad_jstr(d, "requested_by"),
	       kurad_ns_time(json_object_get(d, "requested_ns"), when) ? when : "?");
	if (json_is_string(json_object_get(d, "kind"))) {
		/* A quarantine request (kurad quarantine): its record and how many files. */
		printf("  %s of quarantine record %" JSON_INTEGER_FORMAT ": %zu file(s)\n",
		       kurad_jstr(d, "kind"), json_integer_value(json_object_get(d, "quarantine")),
		       json_array_size(json_object_get(d, "files")));
	} else {
		printf("  snapshots: %s\n", json_array_size(snaps) ? "" : "none");
		json_array_foreach(snaps, i, item)
			printf("    %s\n", json_string_value(item));
		printf("  prune: %s\n",
		       json_is_true(json_object_get(d, "prune")) ? "yes" : "no");
	}
	printf("  approvals: %" JSON_INTEGER_FORMAT " valid of %" JSON_INTEGER_FORMAT " needed\n",
	       json_integer_value(json_object_get(d, "approvals_valid")),
	       json_integer_value(json_object_get(d, "quorum")));
	json_array_foreach(json_object_get(d, "approvals"), i, item)
		printf("    %s at %s%s\n", kurad_jstr(item, "approver"),
		       kurad_ns_time(json_object_get(item, "time_ns"), when) ? when : "?",
		       json_is_true(json_object_get(item, "valid")) ? ""
								 : " (INVALID signature)");
	if ((item = json_object_get(d, "cancellation")) && json_is_object(item))
		printf("  cancelled by %s at %s%s\n", kurad_jstr(item, "approver"),
		       kurad_ns_time(json_object_get(item, "time_ns"), when) ? when : "?",
		       json_is_true(json_object_get(item, "valid")) ? "" : " (INVALID signature)");
	if (strcmp(state, "pending") == 0)
		printf("  takes effect: %s\n",
		       kurad_ns_time(json_object_get(d, "effective_ns"), when)
			   ? when
			   : "waiting for approvals");
	res = json_object_get(d, "result");
	if (json_is_object(res) && json_is_string(json_object_get(d, "kind"))) {
		char *text = json_dumps(res, JSON_COMPACT);

		printf("  done at %s: %s\n",
		       kurad_ns_time(json_object_get(d, "done_ns"), when) ? when : "?",
		       text ? text : "?");
		free(text);
	} else if (json_is_object(res)) {
		printf("  done at %s: %zu snapshot(s) removed, %" JSON_INTEGER_FORMAT
		       " pack(s) removed, %" JSON_INTEGER_FORMAT " bytes\n",
		       kurad_ns_time(json_object_get(d, "done_ns"), when) ? when : "?",
		       json_array_size(json_object_get(res, "snapshots_removed")),
		       json_integer_value(json_object_get(res, "packs_removed")),
		       json_integer_value(json_object_get(res, "bytes_removed")));
		json_array_foreach(json_object_get(res, "snapshots_kept"), i, item)
			printf("    kept %s: %s\n", kurad_jstr(item, "snapshot"),
			       kurad_jstr(item, "reason"));
		if (json_is_string(json_object_get(res, "prune_error")))
			printf("    no packs collected: %s\n", kurad_jstr(res, "prune_error"));
	}
	putchar('\n');
}

int kurad_cmd_deletions(int argc, char **argv)
{
	const char *pos[1];
	bool json = false, help;
	const kurad_option opts[] = {{"--json", false, NULL, &json}, {NULL, false, NULL, NULL}};
	const json_t *d;
	json_t *arr = NULL;
	vault *v = NULL;
	size_t i;
	int npos, rc;

	if ((rc = kurad_parse_args(argc, argv, opts, pos, 1, &npos, &help, usage_deletions)) ||
	    help) {
		if (help)
			fputs(usage_deletions, stdout);
		return rc;
	}
	if (npos != 1)
		return kurad_usage_error(usage_deletions, "deletions needs the vault directory");
	if (vault_open_readonly(&v, pos[0]) < 0)
		return kurad_fail(pos[0]);
	if (deletion_intake_list(v, NULL, &arr) < 0) {
		rc = kurad_fail(pos[0]);
		goto done;
	}
	if (json) {
		char *text = json_dumps(arr, JSON_PRESERVE_ORDER | JSON_INDENT(2));

		if (text)
			printf("%s\n", text);
		free(text);
		goto done;
	}
	if (json_array_size(arr) == 0)
		printf("No deletion requests.\n");
	json_array_foreach(arr, i, d)
		print_deletion(d);
done:
	json_decref(arr);
	vault_free(v);
	return rc;
}

/* A whole number lo..hi: digits only, so "-1", "+3" and "7x" are refused. */
