/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_prune.c - `kura prune`: remove the data no snapshot needs.
 *
 *	kura prune [--dry-run] [--grace DURATION] [--wait DURATION]
 *
 * On a local repository the library's one prune does the work
 * (kura_prune, lib/repo/prune.c): the packs no snapshot lists, except
 * those written less than --grace ago (default 1 hour), removed while the
 * repository's lock keeps backups out; a backup running now makes it wait
 * up to --wait (default 10 minutes) and then give up, removing nothing.
 * If any snapshot cannot be read nothing is removed, since that
 * snapshot's packs are then unknown; a pack that cannot be removed is
 * skipped and named, the others still go, and the exit status is 1.
 * Index files are left as they are; their entries for removed packs are
 * ignored when the index is loaded, and `kura check` counts those packs
 * as pruned.  Files left in tmp/ by crashed writers (a backup's pack in
 * progress) go too, once untouched for a day.  This file shows progress
 * and the result and shares the prune options with `kura forget`.
 *
 * On a vault the client may only ask: prune files a deletion request that
 * the vault's approvers must sign (deletion.c).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kura/backend.h"
#include "kura/keyless.h"

enum {
	OPT_DRY_RUN = CLI_OPT_LONG,
};

static const struct option longs[] = {
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"grace", required_argument, NULL, CLI_OPT_GRACE},
	{"wait", required_argument, NULL, CLI_OPT_WAIT},
	{NULL, 0, NULL, 0},
};

/*
 * A file in tmp/ untouched this long is a crashed writer's leftover: a
 * backup's half-filled pack can wait there while unchanged files are
 * walked, but not for a day.
 */
#define TMP_STALE_SECONDS (24 * 3600)

/* What the prune callback gathers for the summary, the JSON and progress. */
struct prune_run {
	const struct cli_global *g;
	const struct cli_prune_opts *po;
	struct cli_progress prog;
	int64_t start, last;
	uint64_t bytes_done;
	json_t *removed, *young; /* names, with --json */
};

static void prune_progress(struct prune_run *r, const kura_prune_event *ev, bool force)
{
	int64_t now = kura_now_ns(CLOCK_MONOTONIC);
	kura_progress pr = {0};

	if (!force && now - r->last < 250000000)
		return;
	r->last = now;
	pr.files_done = ev->done;
	pr.files_total = ev->total;
	pr.bytes_done = r->bytes_done;
	pr.elapsed = (double)(now - r->start) / 1e9;
	cli_progress_update(&pr, &r->prog);
}

static int prune_event(const kura_prune_event *ev, void *ctx)
{
	struct prune_run *r = ctx;
	char wait[CLI_FMT_MAX];

	switch (ev->type) {
	case KURA_PRUNE_WAITING:
		if (!r->g->quiet)
			fprintf(stderr, "kura: %s; waiting up to %s for it to let go (--wait)\n",
				ev->message, cli_fmt_duration_short(wait, r->po->wait_s));
		return 0;
	case KURA_PRUNE_REMOVED:
		r->bytes_done += ev->size;
		if (r->removed)
			json_array_append_new(r->removed, json_string(ev->name));
		break;
	case KURA_PRUNE_YOUNG:
		if (r->young)
			json_array_append_new(r->young, json_string(ev->name));
		break;
	case KURA_PRUNE_FAILED:
		cli_progress_clear(&r->prog);
		fprintf(stderr, "kura: skipped pack %s: %s\n", ev->name, ev->message);
		break;
	default:
		break;
	}
	prune_progress(r, ev, false);
	return 0;
}

static void print_summary(const kura_prune_result *t, uint64_t tmp_files, uint64_t tmp_bytes,
			  int64_t grace_s, bool dry_run)
{
	char a[CLI_FMT_MAX], b[CLI_FMT_MAX];

	printf("%s %llu unreferenced pack%s (%s)\n", dry_run ? "would remove" : "removed",
	       (unsigned long long)t->removed, t->removed == 1 ? "" : "s",
	       cli_fmt_size(a, t->removed_bytes));
	if (t->young)
		printf("kept %llu unreferenced pack%s (%s) written less than %s ago: a backup "
		       "running now may still need %s\n",
		       (unsigned long long)t->young, t->young == 1 ? "" : "s",
		       cli_fmt_size(b, t->young_bytes), cli_fmt_duration_short(a, grace_s),
		       t->young == 1 ? "it" : "them");
	if (tmp_files)
		printf("%s %llu temporary file%s (%s) left in tmp/ by interrupted writers\n",
		       dry_run ? "would remove" : "removed", (unsigned long long)tmp_files,
		       tmp_files == 1 ? "" : "s", cli_fmt_size(a, tmp_bytes));
}

static void result_json(json_t *json, const kura_prune_result *t, uint64_t tmp_files,
			uint64_t tmp_bytes, const struct cli_prune_opts *po)
{
	bool dry = po->dry_run;

	json_object_set_new(json, "packs_unreferenced", cli_json_u64(t->unreferenced));
	json_object_set_new(json, dry ? "tmp_files_would_remove" : "tmp_files_removed",
			    cli_json_u64(tmp_files));
	json_object_set_new(json, dry ? "tmp_bytes_would_remove" : "tmp_bytes_removed",
			    cli_json_u64(tmp_bytes));
	json_object_set_new(json, dry ? "packs_would_remove" : "packs_removed",
			    cli_json_u64(t->removed));
	json_object_set_new(json, dry ? "bytes_would_remove" : "bytes_removed",
			    cli_json_u64(t->removed_bytes));
	json_object_set_new(json, "packs_kept_young", cli_json_u64(t->young));
	json_object_set_new(json, "bytes_kept_young", cli_json_u64(t->young_bytes));
	json_object_set_new(json, "packs_failed", cli_json_u64(t->failed));
	json_object_set_new(json, "grace_seconds", json_integer(po->grace_s));
}

int cli_prune_local(const struct cli_global *g, struct kura_backend *b,
		    const char (*gone)[KURA_ID_HEX], size_t ngone, const struct cli_prune_opts *po,
		    json_t *json)
{
	kura_prune_options o = KURA_PRUNE_OPTIONS_INIT;
	kura_prune_result t;
	struct prune_run r = {.g = g, .po = po, .start = kura_now_ns(CLOCK_MONOTONIC)};
	uint64_t tmp_files = 0, tmp_bytes = 0;
	int err, rc = CLI_EXIT_OK;

	cli_progress_init(&r.prog, g);
	if (json && (!(r.removed = json_array()) || !(r.young = json_array()))) {
		rc = cli_json_print(NULL);
		goto done;
	}
	o.cutoff_ns = kura_now_ns(CLOCK_REALTIME) - po->grace_s * 1000000000;
	o.gone = gone;
	o.ngone = ngone;
	o.dry_run = po->dry_run;
	o.lock_wait_ms = po->wait_s * 1000;
	o.fn = prune_event;
	o.ctx = &r;
	err = kura_prune(b, &o, &t);
	cli_progress_clear(&r.prog);
	if (err == KURA_EBUSY) {
		rc = cli_fail(err, "prune when no backup runs, or give it longer with --wait");
		goto done;
	}
	if (err < 0) {
		rc = cli_fail(err, "nothing was removed: a snapshot that cannot be read might "
				   "need any pack. Run 'kura check' to see what is damaged");
		goto done;
	}
	if ((err = kura_backend_local_clean_tmp(b, TMP_STALE_SECONDS, po->dry_run, &tmp_files,
						&tmp_bytes)) < 0) {
		rc = cli_fail(err, NULL);
		goto done;
	}
	if (json) {
		result_json(json, &t, tmp_files, tmp_bytes, po);
		json_object_set_new(json, po->dry_run ? "would_remove" : "removed", r.removed);
		json_object_set_new(json, "kept_young", r.young);
		r.removed = r.young = NULL;
	} else if (!g->quiet) {
		print_summary(&t, tmp_files, tmp_bytes, po->grace_s, po->dry_run);
	}
	if (t.failed) {
		char size[CLI_FMT_MAX];

		fprintf(stderr, "kura: %llu unreferenced pack%s could not be removed (see above); "
				"%llu removed (%s). Running prune again retries the rest\n",
			(unsigned long long)t.failed, t.failed == 1 ? "" : "s",
			(unsigned long long)t.removed, cli_fmt_size(size, t.removed_bytes));
		rc = CLI_EXIT_FATAL;
	}
done:
	json_decref(r.removed);
	json_decref(r.young);
	return rc;
}

int cli_grace_arg(const struct cli_command *cmd, const char *arg, int64_t *out)
{
	if (cli_parse_duration(out, arg) < 0)
		return cli_usage_error(cmd, "--grace wants a duration such as 0, 90s, 30m, 1h or 2d, "
				       "not '%s'", arg);
	return CLI_EXIT_OK;
}

int cli_wait_arg(const struct cli_command *cmd, const char *arg, int64_t *out)
{
	if (cli_parse_duration(out, arg) < 0)
		return cli_usage_error(cmd, "--wait wants a duration such as 0, 90s, 30m or 1h, "
				       "not '%s'", arg);
	return CLI_EXIT_OK;
}

int cli_grace_on_vault(const struct cli_command *cmd)
{
	return cli_usage_error(cmd, "--grace and --wait are for local repositories: a vault "
			       "removes only packs it stored before the request was made, and "
			       "keeps its removals apart from the backups it receives");
}

/* Parse --grace and --wait into `po`; CLI_EXIT_OK or a usage error (-1: not ours). */
int cli_prune_opt(const struct cli_command *cmd, int c, const char *arg,
		  struct cli_prune_opts *po)
{
	int rc;

	if (c == CLI_OPT_GRACE)
		rc = cli_grace_arg(cmd, arg, &po->grace_s);
	else if (c == CLI_OPT_WAIT)
		rc = cli_wait_arg(cmd, arg, &po->wait_s);
	else
		return -1;
	po->local_given = true;
	return rc;
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_prune_opts po = CLI_PRUNE_OPTS_INIT;
	struct cli_getopt p;
	kura_repo *repo = NULL;
	struct kura_backend *b;
	const char *loc;
	json_t *o = NULL;
	int c, rc;

	cli_getopt_init(&p, g, &cli_cmd_prune, argc, argv, "n", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == OPT_DRY_RUN || c == 'n')
			po.dry_run = true;
		else if ((rc = cli_prune_opt(&cli_cmd_prune, c, p.arg, &po)) > 0)
			return rc;
	}
	if (optind < argc)
		return cli_usage_error(&cli_cmd_prune, "unexpected argument '%s'", argv[optind]);
	if (!(loc = cli_repo_location(g, &cli_cmd_prune)))
		return CLI_EXIT_USAGE;
	if ((rc = cli_repo_open(&repo, g, &cli_cmd_prune)) != CLI_EXIT_OK)
		return rc;
	b = kura_repo_backend(repo);
	if (kura_backend_is_vault(b)) {
		if (po.local_given) {
			rc = cli_grace_on_vault(&cli_cmd_prune);
			goto done;
		}
		rc = cli_vault_request_deletion(g, b, loc, NULL, 0, true, po.dry_run);
		goto done;
	}
	if (g->json && !(o = json_object())) {
		rc = cli_json_print(NULL);
		goto done;
	}
	if (o)
		json_object_set_new(o, "dry_run", json_boolean(po.dry_run));
	rc = cli_prune_local(g, b, NULL, 0, &po, o);
	/* the result, also when some packs could not be removed (packs_failed) */
	if (o && json_object_get(o, "packs_unreferenced")) {
		int jrc = cli_json_print(json_incref(o));

		if (rc == CLI_EXIT_OK)
			rc = jrc;
	}
done:
	json_decref(o);
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_prune = {
	.name = "prune",
	.summary = "remove data no snapshot needs (on a vault: request it)",
	.usage = "kura prune [--dry-run] [--grace DURATION] [--wait DURATION]",
	.help = "Remove every pack that no snapshot lists, which is what 'kura forget' leaves\n"
		"behind.  The packs are found from the snapshots' plaintext pack lists, so any\n"
		"key opens the repository for it; if a snapshot cannot be read, nothing is\n"
		"removed.  Index files are kept: their entries for removed packs are ignored,\n"
		"and 'kura check' counts those packs as pruned.  A pack that cannot be removed\n"
		"is named and skipped, the others are removed, and the exit status is 1.\n"
		"\n"
		"A prune never runs beside a backup of the same local repository: a backup\n"
		"holds the repository's lock for its whole run, and prune waits for it (up to\n"
		"--wait), then gives up without removing anything.  A backup stores its packs\n"
		"before the snapshot that lists them, so packs written less than --grace ago\n"
		"are kept as well.  Files that interrupted backups left in the repository's\n"
		"tmp/ are removed once untouched for a day.\n"
		"\n"
		"On a vault (vault://...) nothing is removed here: prune files a deletion\n"
		"request, which the vault carries out only after its approvers signed it and\n"
		"its delay passed.\n"
		"\n"
		"Options:\n"
		"  -n, --dry-run          only show what would be removed (or requested)\n"
		"      --grace DURATION   keep unreferenced packs written less than this long\n"
		"                         ago (default 1h; 0, 90s, 30m, 2h, 1d; local only)\n"
		"      --wait DURATION    wait this long for running backups to finish\n"
		"                         (default 10m; 0: give up at once; local only)\n",
	.run = run,
};
