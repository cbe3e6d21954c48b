/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kurad_quarantine.c - `kurad quarantine`: list what `kurad client revoke
 * --since` set aside, and file the requests (release or remove) that an
 * approver quorum then signs with `kurad approve`.
 */
#include "kurad_cmd.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "files.h"
#include "quarantine.h"
#include "request.h"
#include "vault_state.h"

static const char usage_quarantine[] =
    "Usage: kurad quarantine list DIR [REPO] [--json]\n"
    "       kurad quarantine release DIR QID\n"
    "       kurad quarantine remove DIR QID\n"
    "\n"
    "'kurad client revoke NAME --since TIME' quarantines what NAME uploaded since\n"
    "TIME: the files stay on the vault as evidence, but no client can list or read\n"
    "them.  'list' shows the quarantine records (of REPO, or all), what each holds\n"
    "and its state.  'release' (make the files visible again) and 'remove' (delete\n"
    "them, whatever the retention policy says) file a request that takes effect\n"
    "like a deletion: once the policy's quorum of approvers signed it ('kurad\n"
    "approve DIR ID --key FILE') and its delay has passed; any approver can cancel\n"
    "it.  Every step is written to the audit log.\n"
    "\n"
    "  --json  print JSON for scripts (list)\n";

static void print_record(const json_t *r)
{
	const json_t *counts = json_object_get(r, "counts");
	const char *done = json_string_value(json_object_get(r, "done"));
	json_int_t req = json_integer_value(json_object_get(r, "request"));
	char since[40];

	snprintf(since, sizeof(since), "%s", kurad_jstr(r, "since"));
	printf("Record %" JSON_INTEGER_FORMAT ", repository %s, %s\n",
	       json_integer_value(json_object_get(r, "id")), kurad_jstr(r, "repo"),
	       kurad_jstr(r, "state"));
	printf("  uploaded by %s since %s (quarantined at %s)\n", kurad_jstr(r, "client"), since,
	       kurad_jstr(r, "made"));
	printf("  %zu file(s): %" JSON_INTEGER_FORMAT " snapshot(s), %" JSON_INTEGER_FORMAT
	       " index file(s), %" JSON_INTEGER_FORMAT " pack(s)\n",
	       json_array_size(json_object_get(r, "files")),
	       json_integer_value(json_object_get(counts, "snapshots")),
	       json_integer_value(json_object_get(counts, "index")),
	       json_integer_value(json_object_get(counts, "data")));
	if (json_array_size(json_object_get(r, "kept_visible")))
		printf("  %zu pack(s) it uploaded left visible (snapshots outside it name them)\n",
		       json_array_size(json_object_get(r, "kept_visible")));
	if (done)
		printf("  %s at %s by request %" JSON_INTEGER_FORMAT "\n", kurad_jstr(r, "state"),
		       done, req);
	putchar('\n');
}

static int list(const char *dir, const char *repo, bool json)
{
	json_t *arr = NULL, *r;
	size_t i;

	if (repo && !vault_name_ok(repo))
		return kurad_usage_error(usage_quarantine, "bad repository name '%s'", repo);
	if (quarantine_list_json(dir, repo, &arr) < 0)
		return kurad_fail(dir);
	if (json) {
		char *text = json_dumps(arr, JSON_PRESERVE_ORDER | JSON_INDENT(2));

		if (text)
			printf("%s\n", text);
		free(text);
		json_decref(arr);
		return text ? EXIT_OK : EXIT_ERROR;
	}
	if (json_array_size(arr) == 0)
		printf("Nothing is quarantined%s%s.\n", repo ? " in repository " : "",
		       repo ? repo : "");
	json_array_foreach(arr, i, r)
		print_record(r);
	json_decref(arr);
	return EXIT_OK;
}

static int file_request(const char *dir, const char *qid_s, bool release)
{
	deletion_kind kind =
	    release ? DELETION_KIND_QUARANTINE_RELEASE : DELETION_KIND_QUARANTINE_REMOVE;
	unsigned long qid, id;

	if (!kurad_parse_id(qid_s, &qid))
		return kurad_usage_error(usage_quarantine, "bad quarantine record id '%s'", qid_s);
	if (quarantine_request(dir, qid, kind, "operator", kura_now_ns(CLOCK_REALTIME), &id) < 0)
		return kurad_fail(NULL);
	printf("Filed request %lu to %s the files of quarantine record %lu.\n"
	       "It takes effect when the policy's quorum of approvers signed it\n"
	       "('kurad approve %s %lu --key FILE') and the delay has passed.\n",
	       id, release ? "release" : "remove", qid, dir, id);
	return EXIT_OK;
}

int kurad_cmd_quarantine(int argc, char **argv)
{
	const char *pos[3];
	bool json = false, help;
	const kurad_option opts[] = {{"--json", false, NULL, &json}, {NULL, false, NULL, NULL}};
	int npos, rc;

	if ((rc = kurad_parse_args(argc, argv, opts, pos, 3, &npos, &help, usage_quarantine)) ||
	    help) {
		if (help)
			fputs(usage_quarantine, stdout);
		return rc;
	}
	if (npos == 0)
		return kurad_usage_error(usage_quarantine,
					 "quarantine needs a subcommand: list, release or remove");
	if (strcmp(pos[0], "list") == 0) {
		if (npos < 2)
			return kurad_usage_error(usage_quarantine,
						 "quarantine list needs the vault directory");
		return list(pos[1], npos == 3 ? pos[2] : NULL, json);
	}
	if (strcmp(pos[0], "release") != 0 && strcmp(pos[0], "remove") != 0)
		return kurad_usage_error(usage_quarantine, "no quarantine subcommand '%s'", pos[0]);
	if (json)
		return kurad_usage_error(usage_quarantine, "--json belongs to quarantine list");
	if (npos != 3)
		return kurad_usage_error(usage_quarantine,
					 "quarantine %s needs the vault directory and a record id",
					 pos[0]);
	return file_request(pos[1], pos[2], strcmp(pos[0], "release") == 0);
}
