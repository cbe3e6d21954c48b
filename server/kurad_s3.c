/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kurad_s3.c - `kurad s3 extend-locks DIR`: the vault's lock extension
 * (store_extend.h) run by the operator, beside or without `kurad serve`
 * (which also runs it by itself); `kurad s3 sweep DIR`: the retry of
 * approved deletions the store's lock kept (deletion_sweep.h), while
 * `kurad serve` is stopped (it sweeps by itself and holds the audit log).
 */
#include "kurad_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "deletion_sweep.h"
#include "store_extend.h"
#include "vault_state.h"

static const char usage_s3[] =
    "Usage: kurad s3 extend-locks DIR [--dry-run] [--json]\n"
    "       kurad s3 sweep DIR [--json]\n"
    "\n"
    "For a vault whose repositories are on S3 (kurad init --store): move the\n"
    "COMPLIANCE lock of every file its snapshots still need, and of the prefix's\n"
    "claim, to now + the lock period, each confirmed by a separate request.  The\n"
    "snapshots whose deletion the vault carried out, and the packs only they\n"
    "need, are let expire.  'kurad serve' does this by itself at start and every\n"
    "quarter of the lock period; backup clients never do.\n"
    "\n"
    "  --dry-run  count what would be extended, change nothing\n"
    "  --json     the report as JSON\n"
    "\n"
    "sweep: retry the removals of approved deletions that the store kept\n"
    "because the file's lock had not run out (each audited; retention is\n"
    "checked again, so a hold placed since still protects).  'kurad serve' does\n"
    "this by itself before each lock extension; sweep needs it stopped.\n";

static int cmd_sweep(int argc, char **argv)
{
	const char *pos[1];
	bool json = false, help;
	const kurad_option opts[] = {{"--json", false, NULL, &json}, {NULL, false, NULL, NULL}};
	json_t *report = NULL, *r;
	vault *v = NULL;
	char *text;
	size_t i;
	int npos, rc, err;

	if ((rc = kurad_parse_args(argc, argv, opts, pos, 1, &npos, &help, usage_s3)) || help) {
		if (help)
			fputs(usage_s3, stdout);
		return rc;
	}
	if (npos != 1)
		return kurad_usage_error(usage_s3, "sweep needs the vault directory");
	if (vault_open(&v, pos[0]) < 0)
		return kurad_fail(pos[0]);
	err = deletion_sweep(v, kura_now_ns(CLOCK_REALTIME), &report);
	if (json && report) {
		text = json_dumps(report, JSON_COMPACT);
		if (text)
			puts(text);
		free(text);
	} else if (report) {
		json_array_foreach(json_object_get(report, "requests"), i, r)
		{
			printf(
			    "request %lld (%s): removed %lld snapshot(s) and %lld pack(s); "
			    "still locked %lld snapshot(s) and %lld pack(s)%s\n",
			    (long long)json_integer_value(json_object_get(r, "id")),
			    kurad_jstr(r, "repo"),
			    (long long)json_integer_value(json_object_get(r, "snapshots_removed")),
			    (long long)json_integer_value(json_object_get(r, "packs_removed")),
			    (long long)json_integer_value(json_object_get(r, "snapshots_locked")),
			    (long long)json_integer_value(json_object_get(r, "packs_locked")),
			    json_is_true(json_object_get(r, "done")) ? "; done" : "");
		}
		if (!json_array_size(json_object_get(report, "requests")))
			puts("no deletion waits for a lock to run out");
	}
	json_decref(report);
	vault_free(v);
	return err < 0 ? kurad_fail("sweep") : EXIT_OK;
}

int kurad_cmd_s3(int argc, char **argv)
{
	const char *pos[1];
	bool dry_run = false, json = false, help;
	const kurad_option opts[] = {{"--dry-run", false, NULL, &dry_run},
				     {"--json", false, NULL, &json},
				     {NULL, false, NULL, NULL}};
	json_t *report = NULL, *r;
	vault *v = NULL;
	char *text;
	size_t i;
	int npos, rc;

	if (argc >= 1 && strcmp(argv[0], "sweep") == 0)
		return cmd_sweep(argc - 1, argv + 1);
	if (argc < 1 || strcmp(argv[0], "extend-locks") != 0) {
		if (argc >= 1 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))) {
			fputs(usage_s3, stdout);
			return EXIT_OK;
		}
		return kurad_usage_error(usage_s3, "s3 wants a subcommand: extend-locks or sweep");
	}
	if ((rc = kurad_parse_args(argc - 1, argv + 1, opts, pos, 1, &npos, &help, usage_s3)) ||
	    help) {
		if (help)
			fputs(usage_s3, stdout);
		return rc;
	}
	if (npos != 1)
		return kurad_usage_error(usage_s3, "extend-locks needs the vault directory");
	/* Without the audit log: a running `kurad serve` holds it. */
	if (vault_open_readonly(&v, pos[0]) < 0)
		return kurad_fail(pos[0]);
	if (store_extend_locks(v, dry_run, &report) < 0) {
		vault_free(v);
		return kurad_fail("extend-locks");
	}
	if (json) {
		text = json_dumps(report, JSON_COMPACT);
		if (text)
			puts(text);
		free(text);
	} else {
		json_array_foreach(json_object_get(report, "repos"), i, r)
		{
			printf("%s: %s %lld of %lld files a snapshot needs; %lld let expire\n",
			       kurad_jstr(r, "repo"), dry_run ? "would extend" : "extended",
			       (long long)json_integer_value(json_object_get(r, "extended")),
			       (long long)json_integer_value(json_object_get(r, "files")),
			       (long long)json_integer_value(json_object_get(r, "let_expire")));
		}
		printf("locked until %lld (epoch seconds), the prefix's claim included\n",
		       (long long)json_integer_value(json_object_get(report, "until")));
	}
	json_decref(report);
	vault_free(v);
	return EXIT_OK;
}
