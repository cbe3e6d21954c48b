/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_prune.c - `kura prune`: remove the data no snapshot needs.
 *
 *	kura prune [--dry-run] [--grace DURATION]
 *
 * Which packs are unneeded is decided without a key, from the snapshots'
 * plaintext pack lists (kura_gc_unreferenced): every pack that no snapshot
 * lists.  If any snapshot cannot be read the plan fails and nothing is
 * removed, since that snapshot's packs are then unknown.
 *
 * On a local repository the packs are removed here, except those written
 * less than --grace ago (default 1 hour): a backup running right now
 * stores its packs before the snapshot that lists them, so a young
 * unreferenced pack may be about to be needed.  Index files are left as
 * they are; their entries for removed packs are ignored when the index is
 * loaded, and `kura check` counts those packs as pruned.  Files left in
 * tmp/ by crashed writers (a backup's pack in progress) go too, once
 * untouched for a day.
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
	OPT_GRACE,
};

static const struct option longs[] = {
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"grace", required_argument, NULL, OPT_GRACE},
	{NULL, 0, NULL, 0},
};

static int64_t now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct prune_totals {
	uint64_t removed, removed_bytes, young, young_bytes, gone;
	uint64_t tmp_files, tmp_bytes; /* leftovers of crashed writers in tmp/ */
};

/*
 * A file in tmp/ untouched this long is a crashed writer's leftover: a
 * backup's half-filled pack can wait there while unchanged files are
 * walked, but not for a day.
 */
#define TMP_STALE_SECONDS (24 * 3600)

static void prune_progress(struct cli_progress *prog, const struct prune_totals *t, size_t done,
			   size_t total, uint64_t bytes_total, int64_t start, int64_t *last,
			   bool force)
{
	int64_t now = now_ns(CLOCK_MONOTONIC);
	kura_progress pr = {0};

	if (!force && now - *last < 250000000)
		return;
	*last = now;
	pr.files_done = done;
	pr.files_total = total;
	pr.bytes_done = t->removed_bytes + t->young_bytes;
	pr.bytes_total = bytes_total;
	pr.elapsed = (double)(now - start) / 1e9;
	cli_progress_update(&pr, prog);
}

static json_t *names_json(const kura_pack_list *plan, const uint8_t *mark, uint8_t want)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < plan->count; i++)
		if (mark[i] == want)
			json_array_append_new(a, json_string(plan->names[i]));
	return a;
}

enum { PACK_REMOVE = 1, PACK_YOUNG = 2, PACK_GONE = 3 };

static void print_summary(const struct prune_totals *t, int64_t grace_s, bool dry_run)
{
	char a[CLI_FMT_MAX], b[CLI_FMT_MAX];

	if (dry_run)
		printf("would remove %llu unreferenced pack%s (%s)\n",
		       (unsigned long long)t->removed, t->removed == 1 ? "" : "s",
		       cli_fmt_size(a, t->removed_bytes));
	else
		printf("removed %llu unreferenced pack%s (%s)\n", (unsigned long long)t->removed,
		       t->removed == 1 ? "" : "s", cli_fmt_size(a, t->removed_bytes));
	if (t->young)
		printf("kept %llu unreferenced pack%s (%s) written less than %s ago: a backup "
		       "running now may still need %s\n",
		       (unsigned long long)t->young, t->young == 1 ? "" : "s",
		       cli_fmt_size(b, t->young_bytes), cli_fmt_duration_short(a, grace_s),
		       t->young == 1 ? "it" : "them");
	if (t->tmp_files)
		printf("%s %llu temporary file%s (%s) left in tmp/ by interrupted writers\n",
		       dry_run ? "would remove" : "removed", (unsigned long long)t->tmp_files,
		       t->tmp_files == 1 ? "" : "s", cli_fmt_size(a, t->tmp_bytes));
}

int cli_prune_local(const struct cli_global *g, struct kura_backend *b,
		    const char (*gone)[KURA_ID_HEX], size_t ngone, int64_t grace_s, bool dry_run,
		    json_t *json)
{
	kura_pack_list plan = {0};
	struct prune_totals t = {0};
	struct cli_progress prog;
	uint64_t bytes_total = 0;
	uint8_t *mark = NULL;
	int64_t start = now_ns(CLOCK_MONOTONIC), last = 0, wall = now_ns(CLOCK_REALTIME);
	int err, rc = CLI_EXIT_OK;
	size_t i;

	cli_progress_init(&prog, g);
	if ((err = kura_gc_unreferenced(b, gone, ngone, &plan)) < 0)
		return cli_fail(err, "nothing was removed: a snapshot that cannot be read might "
				     "need any pack. Run 'kura check' to see what is damaged");
	if (!(mark = calloc(plan.count ? plan.count : 1, 1))) {
		fputs("kura: out of memory\n", stderr);
		rc = CLI_EXIT_FATAL;
		goto done;
	}
	for (i = 0; i < plan.count; i++)
		bytes_total += plan.sizes[i];
	for (i = 0; i < plan.count; i++) {
		int64_t mtime;

		prune_progress(&prog, &t, i, plan.count, bytes_total, start, &last, false);
		err = kura_backend_local_mtime(b, KURA_FILE_PACK, plan.names[i], &mtime);
		if (err == KURA_ENOTFOUND) {
			mark[i] = PACK_GONE; /* removed meanwhile, by another prune */
			t.gone++;
			continue;
		}
		if (err < 0)
			break;
		/* a pack from the future (a clock set back) counts as young */
		if (wall - mtime < grace_s * 1000000000) {
			mark[i] = PACK_YOUNG;
			t.young++;
			t.young_bytes += plan.sizes[i];
			continue;
		}
		if (!dry_run && (err = kura_backend_local_remove(b, KURA_FILE_PACK,
								 plan.names[i])) < 0) {
			if (err == KURA_ENOTFOUND) {
				mark[i] = PACK_GONE;
				t.gone++;
				continue;
			}
			break;
		}
		mark[i] = PACK_REMOVE;
		t.removed++;
		t.removed_bytes += plan.sizes[i];
	}
	if (plan.count)
		prune_progress(&prog, &t, i, plan.count, bytes_total, start, &last, true);
	cli_progress_clear(&prog);
	if (i < plan.count) {
		char size[CLI_FMT_MAX];

		rc = cli_fail(err, NULL);
		fprintf(stderr, "kura: stopped after removing %llu of %zu unreferenced packs (%s); "
				"running prune again removes the rest\n",
			(unsigned long long)t.removed, plan.count,
			cli_fmt_size(size, t.removed_bytes));
		goto done;
	}
	if ((err = kura_backend_local_clean_tmp(b, TMP_STALE_SECONDS, dry_run, &t.tmp_files,
						&t.tmp_bytes)) < 0) {
		rc = cli_fail(err, NULL);
		goto done;
	}
	if (json) {
		json_object_set_new(json, "packs_unreferenced", cli_json_u64(plan.count));
		json_object_set_new(json, dry_run ? "tmp_files_would_remove" : "tmp_files_removed",
				    cli_json_u64(t.tmp_files));
		json_object_set_new(json, dry_run ? "tmp_bytes_would_remove" : "tmp_bytes_removed",
				    cli_json_u64(t.tmp_bytes));
		json_object_set_new(json, dry_run ? "packs_would_remove" : "packs_removed",
				    cli_json_u64(t.removed));
		json_object_set_new(json, dry_run ? "bytes_would_remove" : "bytes_removed",
				    cli_json_u64(t.removed_bytes));
		json_object_set_new(json, "packs_kept_young", cli_json_u64(t.young));
		json_object_set_new(json, "bytes_kept_young", cli_json_u64(t.young_bytes));
		json_object_set_new(json, "grace_seconds", json_integer(grace_s));
		json_object_set_new(json, dry_run ? "would_remove" : "removed",
				    names_json(&plan, mark, PACK_REMOVE));
		json_object_set_new(json, "kept_young", names_json(&plan, mark, PACK_YOUNG));
	} else if (!g->quiet) {
		print_summary(&t, grace_s, dry_run);
	}
done:
	free(mark);
	kura_pack_list_free(&plan);
	return rc;
}

int cli_grace_arg(const struct cli_command *cmd, const char *arg, int64_t *out)
{
	if (cli_parse_duration(out, arg) < 0)
		return cli_usage_error(cmd, "--grace wants a duration such as 0, 90s, 30m, 1h or 2d, "
				       "not '%s'", arg);
	return CLI_EXIT_OK;
}

int cli_grace_on_vault(const struct cli_command *cmd)
{
	return cli_usage_error(cmd, "--grace is for local repositories: a vault removes only "
			       "packs it stored before the request was made");
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	kura_repo *repo = NULL;
	struct kura_backend *b;
	int64_t grace = CLI_GRACE_DEFAULT;
	bool dry_run = false, grace_given = false;
	const char *loc;
	json_t *o = NULL;
	int c, rc;

	cli_getopt_init(&p, g, &cli_cmd_prune, argc, argv, "n", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == OPT_DRY_RUN || c == 'n')
			dry_run = true;
		else if (c == OPT_GRACE) {
			if ((rc = cli_grace_arg(&cli_cmd_prune, p.arg, &grace)) != CLI_EXIT_OK)
				return rc;
			grace_given = true;
		}
	}
	if (optind < argc)
		return cli_usage_error(&cli_cmd_prune, "unexpected argument '%s'", argv[optind]);
	if (!(loc = cli_repo_location(g, &cli_cmd_prune)))
		return CLI_EXIT_USAGE;
	if ((rc = cli_repo_open(&repo, g, &cli_cmd_prune)) != CLI_EXIT_OK)
		return rc;
	b = kura_repo_backend(repo);
	if (kura_backend_is_vault(b)) {
		if (grace_given) {
			rc = cli_grace_on_vault(&cli_cmd_prune);
			goto done;
		}
		rc = cli_vault_request_deletion(g, b, loc, NULL, 0, true, dry_run);
		goto done;
	}
	if (g->json && !(o = json_object())) {
		rc = cli_json_print(NULL);
		goto done;
	}
	if (o)
		json_object_set_new(o, "dry_run", json_boolean(dry_run));
	rc = cli_prune_local(g, b, NULL, 0, grace, dry_run, o);
	if (rc == CLI_EXIT_OK && o)
		rc = cli_json_print(json_incref(o));
done:
	json_decref(o);
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_prune = {
	.name = "prune",
	.summary = "remove data no snapshot needs (on a vault: request it)",
	.usage = "kura prune [--dry-run] [--grace DURATION]",
	.help = "Remove every pack that no snapshot lists, which is what 'kura forget' leaves\n"
		"behind.  The packs are found from the snapshots' plaintext pack lists, so any\n"
		"key opens the repository for it; if a snapshot cannot be read, nothing is\n"
		"removed.  Index files are kept: their entries for removed packs are ignored,\n"
		"and 'kura check' counts those packs as pruned.\n"
		"\n"
		"A backup stores its packs before the snapshot that lists them, so a backup\n"
		"running right now may have stored packs no snapshot lists yet: packs written\n"
		"less than --grace ago are kept.  A backup that started before the prune may\n"
		"also reuse data of a forgotten snapshot; prune when no backup runs, or run\n"
		"'kura check' after both.  Files that interrupted backups left in the\n"
		"repository's tmp/ are removed once untouched for a day.\n"
		"\n"
		"On a vault (vault://...) nothing is removed here: prune files a deletion\n"
		"request, which the vault carries out only after its approvers signed it and\n"
		"its delay passed.\n"
		"\n"
		"Options:\n"
		"  -n, --dry-run          only show what would be removed (or requested)\n"
		"      --grace DURATION   keep unreferenced packs written less than this long\n"
		"                         ago (default 1h; 0, 90s, 30m, 2h, 1d; local only)\n",
	.run = run,
};
