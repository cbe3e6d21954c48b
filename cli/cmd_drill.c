/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_drill.c - `kura drill`: prove that a snapshot restores, and record
 * it (include/kura/drill.h); `kura drill --list`: the drill records.
 *
 * Every path that fails is printed on stderr as it is found, with the
 * snapshot named, and the exit status says what kind of failure it was:
 * 6 for data that did not come back as it was saved (missing or damaged
 * packs, chunks whose content does not match their id, files that differ),
 * 7 for intact data that the verify command rejected.  The drill record
 * is written in both cases: the failures are what the vault must see.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kura/drill.h"

enum {
	OPT_RANDOM = CLI_OPT_LONG,
	OPT_WINDOW,
	OPT_FULL,
	OPT_SAMPLE,
	OPT_VERIFY,
	OPT_SCRATCH,
	OPT_LIST,
};

static const struct option longs[] = {
	{"random", no_argument, NULL, OPT_RANDOM},
	{"window", required_argument, NULL, OPT_WINDOW},
	{"full", no_argument, NULL, OPT_FULL},
	{"sample", required_argument, NULL, OPT_SAMPLE},
	{"verify-command", required_argument, NULL, OPT_VERIFY},
	{"scratch", required_argument, NULL, OPT_SCRATCH},
	{"list", no_argument, NULL, OPT_LIST},
	{NULL, 0, NULL, 0},
};

struct drill_cli {
	struct cli_progress prog;
	json_t *failures; /* with --json */
};

static void on_failure(const char *snapshot_id, const char *path, const char *message, void *ctx)
{
	struct drill_cli *c = ctx;

	cli_progress_clear(&c->prog);
	fprintf(stderr, "drill failed: snapshot %.8s: %s: %s\n", snapshot_id, path, message);
	if (c->failures) {
		json_t *e = json_object();

		json_object_set_new(e, "path", cli_json_str(path));
		json_object_set_new(e, "message", cli_json_str(message));
		json_array_append_new(c->failures, e);
	}
}

/* "2.5" -> 250 basis points; 0 when not a percentage in (0, 100]. */
static unsigned parse_percent(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0) || v > 100)
		return 0;
	v = (double)(unsigned)(v * 100 + 0.5);
	return v < 1 ? 1 : (unsigned)v;
}

static json_t *flags_json(unsigned f)
{
	json_t *a = json_array();

	if (f & KURA_DRILL_FAILED_RESTORE)
		json_array_append_new(a, json_string("restore"));
	if (f & KURA_DRILL_FAILED_CONTENT)
		json_array_append_new(a, json_string("content"));
	if (f & KURA_DRILL_FAILED_META)
		json_array_append_new(a, json_string("metadata"));
	if (f & KURA_DRILL_FAILED_VERIFY)
		json_array_append_new(a, json_string("verify-command"));
	return a;
}

static int print_json(kura_repo *repo, const kura_drill_result *r, json_t *failures)
{
	json_t *o = json_object();

	json_object_set_new(o, "message_type", json_string("summary"));
	json_object_set_new(o, "snapshot_id", json_string(r->snapshot_id));
	json_object_set_new(o, "record_id", *r->record_id ? json_string(r->record_id) : json_null());
	json_object_set_new(o, "result", json_string(r->passed ? "passed" : "failed"));
	json_object_set_new(o, "failed", flags_json(r->fail_flags));
	json_object_set_new(o, "mode", json_string(r->sample_bp >= KURA_DRILL_FULL_BP ? "full"
										   : "sample"));
	json_object_set_new(o, "sample_percent", json_real(r->sample_bp / 100.0));
	json_object_set_new(o, "drill_number", cli_json_u64(r->drill_number));
	json_object_set_new(o, "files_selected", cli_json_u64(r->files_selected));
	json_object_set_new(o, "files_verified", cli_json_u64(r->files_verified));
	json_object_set_new(o, "files_failed", cli_json_u64(r->files_failed));
	json_object_set_new(o, "bytes_verified", cli_json_u64(r->bytes_verified));
	json_object_set_new(o, "snapshot_files", cli_json_u64(r->snapshot_files));
	json_object_set_new(o, "snapshot_bytes", cli_json_u64(r->snapshot_bytes));
	json_object_set_new(o, "verify_status",
			    r->verify_status < 0 ? json_null() : json_integer(r->verify_status));
	json_object_set_new(o, "restore_seconds", json_real(r->restore_seconds));
	json_object_set_new(o, "check_seconds", json_real(r->check_seconds));
	json_object_set_new(o, "command_seconds", json_real(r->command_seconds));
	json_object_set_new(o, "duration", json_real(r->seconds));
	json_object_set_new(o, "bytes_per_second", json_real(r->bytes_per_second));
	json_object_set_new(o, "rto_seconds", json_real(r->rto_seconds));
	json_object_set_new(o, "failures", json_incref(failures));
	json_object_set_new(o, "damaged_files", cli_damage_json(repo));
	return cli_json_print(o);
}

static void print_human(const kura_drill_result *r)
{
	char size[CLI_FMT_MAX], took[CLI_FMT_MAX], rto[CLI_FMT_MAX], rate[CLI_FMT_MAX];

	printf("drill %llu of snapshot %.8s: %s (%s)\n", (unsigned long long)r->drill_number,
	       r->snapshot_id, r->passed ? "passed" : "FAILED",
	       r->sample_bp >= KURA_DRILL_FULL_BP ? "full" : "sample");
	printf("  verified %llu of %llu file(s) selected, %s re-hashed; %llu failed\n",
	       (unsigned long long)r->files_verified, (unsigned long long)r->files_selected,
	       cli_fmt_size(size, r->bytes_verified), (unsigned long long)r->files_failed);
	if (r->sample_bp < KURA_DRILL_FULL_BP)
		printf("  sample %.2f%% of %llu file(s)\n", r->sample_bp / 100.0,
		       (unsigned long long)r->snapshot_files);
	if (r->verify_status >= 0)
		printf("  verify command: %s %d\n", r->verify_status > 255 ? "killed by signal" : "exit",
		       r->verify_status > 255 ? r->verify_status - 256 : r->verify_status);
	printf("  restore %s at %s/s; projected full restore (RTO) %s\n",
	       cli_fmt_duration(took, r->restore_seconds),
	       cli_fmt_size(rate, (uint64_t)r->bytes_per_second),
	       cli_fmt_duration(rto, r->rto_seconds));
	if (*r->record_id)
		printf("  recorded as drill %.8s\n", r->record_id);
}

static int list_records(const struct cli_global *g, kura_repo *repo)
{
	kura_drill_info *list = NULL;
	size_t n = 0;
	char when[CLI_FMT_MAX], rto[CLI_FMT_MAX];
	json_t *arr = NULL;
	int err;

	if ((err = kura_drills_list(repo, &list, &n)) < 0)
		return cli_fail(err, NULL);
	if (g->json)
		arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const kura_drill_info *d = &list[i];

		if (arr) {
			json_t *o = json_object();

			json_object_set_new(o, "id", json_string(d->id));
			if (d->damage) {
				json_object_set_new(o, "damage", cli_json_str(d->damage));
				json_array_append_new(arr, o);
				continue;
			}
			json_object_set_new(o, "snapshot_id", json_string(d->snapshot_id));
			cli_fmt_time_rfc3339(when, d->time_ns / 1000000000LL,
					     (uint32_t)(d->time_ns % 1000000000LL));
			json_object_set_new(o, "time", json_string(when));
			json_object_set_new(o, "result", json_string(d->passed ? "passed" : "failed"));
			json_object_set_new(o, "failed", flags_json(d->fail_flags));
			json_object_set_new(o, "mode", json_string(d->full ? "full" : "sample"));
			json_object_set_new(o, "sample_percent", json_real(d->sample_bp / 100.0));
			json_object_set_new(o, "files_verified", cli_json_u64(d->files_verified));
			json_object_set_new(o, "bytes_verified", cli_json_u64(d->bytes_verified));
			json_object_set_new(o, "files_failed", cli_json_u64(d->files_failed));
			json_object_set_new(o, "verify_status", d->verify_status < 0
								    ? json_null()
								    : json_integer(d->verify_status));
			json_object_set_new(o, "restore_seconds", json_real(d->restore_seconds));
			json_object_set_new(o, "rto_seconds", json_real(d->rto_seconds));
			json_object_set_new(o, "details",
					    d->details ? cli_json_str(d->details) : json_null());
			json_array_append_new(arr, o);
			continue;
		}
		if (d->damage) {
			printf("%.8s  damaged: %s\n", d->id, d->damage);
			continue;
		}
		printf("%.8s  %s  snapshot %.8s  %-6s %-6s  %llu file(s)  RTO %s\n", d->id,
		       cli_fmt_time_local(when, d->time_ns / 1000000000LL), d->snapshot_id,
		       d->passed ? "passed" : "FAILED", d->full ? "full" : "sample",
		       (unsigned long long)d->files_verified, cli_fmt_duration(rto, d->rto_seconds));
		if (d->details && *d->details && !g->quiet) {
			for (const char *s = d->details; *s;) {
				const char *e = strchr(s, '\n');
				int len = e ? (int)(e - s) : (int)strlen(s);

				printf("          %.*s\n", len, s);
				s += len + (e ? 1 : 0);
			}
		}
	}
	kura_drills_free(list, n);
	return arr ? cli_json_print(arr) : CLI_EXIT_OK;
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct drill_cli ctx = {0};
	struct cli_getopt p;
	kura_drill_options opts = {0};
	kura_drill_result res;
	kura_repo *repo = NULL;
	bool full = false, list = false, window = false;
	int c, rc, err, days;

	cli_getopt_init(&p, g, &cli_cmd_drill, argc, argv, "", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		switch (c) {
		case OPT_RANDOM:
			opts.random = true;
			break;
		case OPT_WINDOW:
			if (cli_parse_int(&days, p.arg, 1, 36500) < 0)
				return cli_usage_error(&cli_cmd_drill,
						       "--window wants a number of days (1..36500), "
						       "not '%s'", p.arg);
			opts.window_s = (int64_t)days * 86400;
			window = true;
			break;
		case OPT_FULL:
			full = true;
			break;
		case OPT_SAMPLE:
			if (!(opts.sample_bp = parse_percent(p.arg)))
				return cli_usage_error(&cli_cmd_drill,
						       "--sample wants a percentage in (0, 100], not "
						       "'%s'", p.arg);
			break;
		case OPT_VERIFY:
			opts.verify_command = p.arg;
			break;
		case OPT_SCRATCH:
			opts.scratch = p.arg;
			break;
		case OPT_LIST:
			list = true;
			break;
		}
	}
	if (full && opts.sample_bp)
		return cli_usage_error(&cli_cmd_drill, "--full and --sample exclude each other");
	if (window && !opts.random)
		return cli_usage_error(&cli_cmd_drill, "--window goes with --random");
	if (optind + 1 < argc)
		return cli_usage_error(&cli_cmd_drill, "unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc && opts.random)
		return cli_usage_error(&cli_cmd_drill, "give a SNAPSHOT or --random, not both");
	if (list && (optind < argc || opts.random || full || opts.sample_bp ||
		     opts.verify_command || opts.scratch))
		return cli_usage_error(&cli_cmd_drill, "--list takes no other option");
	opts.snapshot = optind < argc ? argv[optind] : NULL;
	if ((rc = cli_repo_open(&repo, g, &cli_cmd_drill)) != CLI_EXIT_OK)
		return rc;
	if (list) {
		rc = list_records(g, repo);
		cli_repo_close(repo);
		return rc;
	}

	cli_progress_init(&ctx.prog, g);
	if (g->json && !(ctx.failures = json_array())) {
		rc = cli_json_print(NULL);
		goto done;
	}
	opts.threads = g->threads;
	opts.progress = cli_progress_update;
	opts.progress_ctx = &ctx.prog;
	opts.warning = cli_progress_warning;
	opts.warning_ctx = &ctx.prog;
	opts.failure = on_failure;
	opts.failure_ctx = &ctx;
	err = kura_drill(repo, &opts, &res);
	cli_progress_clear(&ctx.prog);
	if (err < 0 && !(err == KURA_ECORRUPT && *res.snapshot_id && !res.passed &&
			 res.fail_flags)) {
		rc = cli_fail(err, err == KURA_ENEEDKEY
					? "a drill decrypts and re-hashes what it restores, so it needs "
					  "the restore key; unset KURA_KEY_FILE to use the passphrase"
					: NULL);
		goto done;
	}
	if (g->json)
		rc = print_json(repo, &res, ctx.failures);
	else if (!g->quiet)
		print_human(&res);
	if (!res.passed) {
		fprintf(stderr, "kura: drill of snapshot %s FAILED: %llu path(s) failed%s%s\n",
			res.snapshot_id, (unsigned long long)res.files_failed,
			res.fail_flags & KURA_DRILL_FAILED_VERIFY ? "; the verify command failed" : "",
			*res.record_id ? "; the failure is recorded" : "");
		rc = res.fail_flags & ~(unsigned)KURA_DRILL_FAILED_VERIFY ? CLI_EXIT_DRILL
									  : CLI_EXIT_DRILL_VERIFY;
	}
done:
	json_decref(ctx.failures);
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_drill = {
	.name = "drill",
	.summary = "prove that a snapshot restores: restore, verify, record",
	.usage = "kura drill [SNAPSHOT] [--random [--window DAYS]] [--full | --sample P]\n"
		 "           [--verify-command CMD] [--scratch DIR]\n"
		 "kura drill --list",
	.help = "Restore SNAPSHOT (default: latest) into a scratch directory, re-hash every\n"
		"restored byte against the snapshot's chunk ids, compare sizes, modes, times\n"
		"and link targets, run the verify command, project the time a full restore\n"
		"would take (RTO), remove the scratch tree and write a drill record into the\n"
		"repository.  Needs the restore key.  Exit status 6: data failed (each path\n"
		"is named on stderr); 7: the verify command failed.\n"
		"\n"
		"Options:\n"
		"      --random          drill a random readable snapshot\n"
		"      --window DAYS     with --random: only snapshots at most DAYS old\n"
		"      --full            restore every file (the default)\n"
		"      --sample P        restore P percent of the files, rotating with each\n"
		"                        drill so that successive drills read every pack\n"
		"      --verify-command CMD  run CMD (with /bin/sh) on the restored tree, its\n"
		"                        path appended as the last argument and in\n"
		"                        $KURA_DRILL_DIR; a non-zero exit fails the drill\n"
		"      --scratch DIR     restore into DIR (missing or empty); default: a new\n"
		"                        directory in $TMPDIR\n"
		"      --list            list the drill records\n",
	.run = run,
};
