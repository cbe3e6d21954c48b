/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_restore.c - `kura restore`: bring a snapshot, or part of it, back.
 *
 *	kura restore SNAPSHOT[:PATH] --target DIR [--include PATTERN]...
 *
 * The snapshot name ends at the first ':' (ids are hex, so it cannot occur
 * in one).  Restoring never writes outside DIR; metadata that cannot be
 * applied (an owner that does not exist here) is a warning, content that
 * cannot be restored is an integrity error with exit status 4, after the
 * rest has been restored: in an emergency, most of the data now beats all
 * of it never.  Each path that failed is named with its cause, as it
 * happens and again at the end, so that nobody takes a partial restore for
 * a whole one.  A path that already exists in DIR is left alone; that is
 * no damage, so it has its own count, message and exit status (5).  Needs
 * the restore key.
 */
#include "cli.h"
#include "restclean.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_NUMERIC_OWNER = CLI_OPT_LONG,
	OPT_OVERWRITE,
	OPT_VERIFY,
	OPT_DELETE,
	OPT_DRY_RUN,
	OPT_CROSS_FS,
	OPT_CLEAN,
};

#define SHOW_EXISTING 10 /* existing paths named one by one; the rest are counted */
#define SHOW_FAILED 10   /* failed paths named again in the closing message */

/* What kura_restore reported as failed or already there; ctx of on_problem. */
struct report {
	struct cli_progress *prog;
	json_t *failed;         /* [{"path", "error", "partial"?}] with --json, else NULL */
	char *names[SHOW_FAILED];
	size_t nfailed, nexisting;
	json_t *changes[3];     /* created, replaced, deleted paths, with --json in place */
	bool list;              /* --dry-run without --json: each change on stdout */
};

/* In place: a path created, replaced or deleted (or, in a dry run, that would be). */
static void on_change(kura_restore_change what, const char *path, void *ctx)
{
	struct report *rep = ctx;
	int k = what == KURA_RESTORE_CREATE ? 0 : what == KURA_RESTORE_REPLACE ? 1 : 2;

	if (rep->changes[k])
		json_array_append_new(rep->changes[k], cli_json_str(path));
	if (rep->list) {
		cli_progress_clear(rep->prog);
		printf("%s %s\n", k == 0 ? "create" : k == 1 ? "replace" : "delete", path);
	}
}

static void on_problem(const kura_restore_problem *p, void *ctx)
{
	struct report *rep = ctx;

	cli_progress_clear(rep->prog);
	if (p->exists) {
		if (rep->nexisting < SHOW_EXISTING)
			fprintf(stderr, "skipped: %s: %s\n", p->path, p->error);
		else if (rep->nexisting == SHOW_EXISTING)
			fputs("skipped: (more paths already exist; they are counted, not listed)\n",
			      stderr);
		rep->nexisting++;
		return;
	}
	fprintf(stderr, "error: %s: %s%s%s\n", p->path, p->error,
		p->partial ? "; what was restored of it is in " : "", p->partial ? p->partial : "");
	if (rep->nfailed < SHOW_FAILED)
		rep->names[rep->nfailed] = strdup(p->path); /* NULL (no memory): not named */
	rep->nfailed++;
	if (rep->failed) {
		json_t *o = json_object();

		json_object_set_new(o, "path", cli_json_str(p->path));
		json_object_set_new(o, "error", cli_json_str(p->error));
		if (p->partial)
			json_object_set_new(o, "partial", cli_json_str(p->partial));
		json_array_append_new(rep->failed, o);
	}
}

/* The closing message after paths failed: which ones, with their causes said above. */
static void say_failed(const struct report *rep)
{
	fprintf(stderr, "kura: %s\nkura: failed (each with its cause above):", kura_error_message());
	for (size_t i = 0; i < rep->nfailed && i < SHOW_FAILED; i++)
		fprintf(stderr, "%s %s", i ? "," : "", rep->names[i] ? rep->names[i] : "?");
	if (rep->nfailed > SHOW_FAILED)
		fprintf(stderr, " and %zu more", rep->nfailed - SHOW_FAILED);
	fputs("\nhint: files that failed are not left under their names; an older snapshot may "
	      "still hold them ('kura snapshots', then 'kura restore ID:PATH')\n",
	      stderr);
}

static const struct option longs[] = {
	{"target", required_argument, NULL, 't'},
	{"include", required_argument, NULL, 'i'},
	{"numeric-owner", no_argument, NULL, OPT_NUMERIC_OWNER},
	{"overwrite", required_argument, NULL, OPT_OVERWRITE},
	{"verify", no_argument, NULL, OPT_VERIFY},
	{"delete", no_argument, NULL, OPT_DELETE},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"cross-fs", no_argument, NULL, OPT_CROSS_FS},
	{"clean", no_argument, NULL, OPT_CLEAN},
	{NULL, 0, NULL, 0},
};

static int print_json(kura_repo *repo, const char *id, const char *target,
		      const kura_restore_result *r, const struct report *rep,
		      const kura_restore_options *opts, json_t *clean)
{
	json_t *o = json_object(), *failed = rep->failed;
	static const char *const lists[3] = {"created", "replaced", "deleted"};

	json_object_set_new(o, "message_type", json_string("summary"));
	json_object_set_new(o, "snapshot_id", json_string(id));
	json_object_set_new(o, "target", cli_json_str(target));
	json_object_set_new(o, "files_restored", cli_json_u64(r->files));
	json_object_set_new(o, "dirs_restored", cli_json_u64(r->dirs));
	json_object_set_new(o, "others_restored", cli_json_u64(r->others));
	json_object_set_new(o, "bytes_restored", cli_json_u64(r->bytes));
	json_object_set_new(o, "warnings", cli_json_u64(r->warnings));
	json_object_set_new(o, "errors", cli_json_u64(r->errors));
	json_object_set_new(o, "skipped_existing", cli_json_u64(r->skipped_existing));
	json_object_set_new(o, "failed", json_incref(failed));
	json_object_set_new(o, "total_duration", json_real(r->seconds));
	json_object_set_new(o, "damaged_files", cli_damage_json(repo));
	if (rep->changes[0]) {
		json_object_set_new(o, "dry_run", json_boolean(opts->dry_run));
		for (int k = 0; k < 3; k++)
			json_object_set_new(o, lists[k], json_incref(rep->changes[k]));
		json_object_set_new(o, "paths_created", cli_json_u64(r->created));
		json_object_set_new(o, "paths_replaced", cli_json_u64(r->replaced));
		json_object_set_new(o, "paths_deleted", cli_json_u64(r->deleted));
		json_object_set_new(o, "paths_unchanged", cli_json_u64(r->unchanged));
	}
	if (clean) /* restore --clean: the plan, file by file (restclean.c) */
		json_object_set_new(o, "clean", clean);
	return cli_json_print(o);
}

static void print_human(const char *target, const kura_restore_result *r,
			const kura_restore_options *opts)
{
	char size[CLI_FMT_MAX], took[CLI_FMT_MAX];

	if (opts->dry_run) {
		printf("dry run, nothing changed: would create %llu, replace %llu, delete %llu "
		       "path(s) in %s; %llu unchanged, %llu left as they are (already there)\n",
		       (unsigned long long)r->created, (unsigned long long)r->replaced,
		       (unsigned long long)r->deleted, target, (unsigned long long)r->unchanged,
		       (unsigned long long)r->skipped_existing);
		return;
	}
	if (opts->overwrite || opts->delete_extra)
		printf("in place: %llu path(s) created, %llu replaced, %llu deleted, %llu "
		       "unchanged\n",
		       (unsigned long long)r->created, (unsigned long long)r->replaced,
		       (unsigned long long)r->deleted, (unsigned long long)r->unchanged);

	printf("restored %llu files, %llu dirs, %s in %s to %s; %llu failed, %llu skipped "
	       "(already there)\n",
	       (unsigned long long)r->files, (unsigned long long)r->dirs,
	       cli_fmt_size(size, r->bytes), cli_fmt_duration(took, r->seconds), target,
	       (unsigned long long)r->errors, (unsigned long long)r->skipped_existing);
	if (r->warnings)
		printf("%llu warning(s): some metadata could not be applied, see above\n",
		       (unsigned long long)r->warnings);
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_strlist includes = {0};
	struct cli_getopt p;
	struct cli_progress prog;
	kura_restore_options opts = KURA_RESTORE_OPTIONS_INIT;
	kura_restore_result res = {0};
	kura_clean_plan plan = {0};
	bool clean = false;
	struct report rep = {0};
	kura_repo *repo = NULL;
	char *name = NULL, *colon;
	char id[KURA_ID_HEX];
	const char *target = NULL;
	int c, rc = CLI_EXIT_OK, err;

	cli_getopt_init(&p, g, &cli_cmd_restore, argc, argv, "t:i:", longs);
	while (rc == CLI_EXIT_OK && (c = cli_getopt_next(&p)) != -1) {
		switch (c) {
		case CLI_OPT_STOP:
			rc = p.status;
			goto done;
		case 't':
			target = p.arg;
			break;
		case 'i':
			if (cli_strlist_add(&includes, p.arg) < 0)
				rc = CLI_EXIT_FATAL;
			break;
		case OPT_NUMERIC_OWNER:
			opts.numeric_owner = true;
			break;
		case OPT_OVERWRITE:
			if (!strcmp(p.arg, "never"))
				opts.overwrite = KURA_OVERWRITE_NEVER;
			else if (!strcmp(p.arg, "if-changed"))
				opts.overwrite = KURA_OVERWRITE_IF_CHANGED;
			else if (!strcmp(p.arg, "always"))
				opts.overwrite = KURA_OVERWRITE_ALWAYS;
			else
				rc = cli_usage_error(&cli_cmd_restore, "--overwrite takes never, "
						     "if-changed or always, not '%s'", p.arg);
			break;
		case OPT_VERIFY:
			opts.verify = true;
			break;
		case OPT_DELETE:
			opts.delete_extra = true;
			break;
		case OPT_DRY_RUN:
			opts.dry_run = true;
			break;
		case OPT_CROSS_FS:
			opts.cross_fs = true;
			break;
		case OPT_CLEAN:
			clean = true;
			break;
		}
	}
	if (rc != CLI_EXIT_OK)
		goto done;
	if (optind >= argc) {
		rc = cli_usage_error(&cli_cmd_restore, "which snapshot? ('latest' or an id)");
		goto done;
	}
	if (optind + 1 < argc) {
		rc =
		    cli_usage_error(&cli_cmd_restore, "unexpected argument '%s'", argv[optind + 1]);
		goto done;
	}
	if (!target || !*target) {
		rc = cli_usage_error(&cli_cmd_restore, "--target DIR is required");
		goto done;
	}
	if (!(name = strdup(argv[optind]))) {
		fputs("kura: out of memory\n", stderr);
		rc = CLI_EXIT_FATAL;
		goto done;
	}
	if ((colon = strchr(name, ':'))) {
		*colon = '\0';
		opts.subpath = *(colon + 1) ? colon + 1 : NULL;
	}
	if (clean && (opts.subpath || includes.count)) {
		rc = cli_usage_error(&cli_cmd_restore, "--clean restores a whole snapshot: no :PATH "
				     "or --include");
		goto done;
	}

	if ((rc = cli_repo_open(&repo, g, &cli_cmd_restore)) != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_snapshot_resolve(repo, name, id)) != CLI_EXIT_OK)
		goto done;
	if (clean && (err = kura_clean_plan_make(repo, id, &plan)) < 0) {
		rc = cli_fail(err, NULL);
		goto done;
	}

	cli_progress_init(&prog, g);
	opts.target = target;
	opts.includes = includes.items;
	opts.nincludes = includes.count;
	opts.threads = g->threads;
	opts.progress = cli_progress_update;
	opts.progress_ctx = &prog;
	opts.warning = cli_progress_warning;
	opts.warning_ctx = &prog;
	rep.prog = &prog;
	if (g->json && !(rep.failed = json_array())) {
		fputs("kura: out of memory\n", stderr);
		rc = CLI_EXIT_FATAL;
		goto done;
	}
	opts.problem = on_problem;
	opts.problem_ctx = &rep;
	if (opts.overwrite || opts.delete_extra || opts.dry_run) {
		for (int k = 0; k < 3 && g->json; k++)
			if (!(rep.changes[k] = json_array())) {
				fputs("kura: out of memory\n", stderr);
				rc = CLI_EXIT_FATAL;
				goto done;
			}
		rep.list = opts.dry_run && !g->json;
		opts.change = on_change;
		opts.change_ctx = &rep;
	}
	err = clean ? kura_clean_restore(repo, &plan, &opts, &res) : kura_restore(repo, id, &opts, &res);
	cli_progress_clear(&prog);
	/* these three come with a complete result: report it, then the outcome */
	if (err < 0 && err != KURA_ECORRUPT && err != KURA_EIO && err != KURA_EEXISTS) {
		rc = cli_fail(err, err == KURA_ENOTFOUND && opts.subpath
					   ? "paths inside a snapshot start with '/'; see 'kura ls "
					     "SNAPSHOT'"
					   : NULL);
		goto done;
	}
	if (g->json) {
		rc = print_json(repo, id, target, &res, &rep, &opts,
				clean ? cli_clean_json(&plan) : NULL);
	} else if (!g->quiet) {
		if (clean)
			cli_clean_print(&plan);
		print_human(target, &res, &opts);
	}
	if (err == KURA_ECORRUPT || err == KURA_EIO) {
		say_failed(&rep);
		if (res.skipped_existing)
			fprintf(stderr, "kura: besides, %llu path(s) already existed and were left as "
				"they were\n", (unsigned long long)res.skipped_existing);
		/* a target that could not be written is not damage in the repository */
		rc = err == KURA_EIO ? CLI_EXIT_FATAL : CLI_EXIT_INTEGRITY;
	} else if (err == KURA_EEXISTS) {
		fprintf(stderr, "kura: %s\nhint: nothing was overwritten; restore into an empty "
			"directory, or restore in place with --overwrite if-changed, to get the "
			"snapshot's version of them\n", kura_error_message());
		rc = CLI_EXIT_EXISTS;
	}
done:
	for (size_t i = 0; i < rep.nfailed && i < SHOW_FAILED; i++)
		free(rep.names[i]);
	json_decref(rep.failed);
	for (int k = 0; k < 3; k++)
		json_decref(rep.changes[k]);
	kura_clean_plan_clear(&plan);
	free(name);
	cli_strlist_free(&includes);
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_restore = {
	.name = "restore",
	.summary = "restore a snapshot, or part of it",
	.usage = "kura restore SNAPSHOT[:PATH] --target DIR [--include PATTERN]... "
		 "[--numeric-owner]\n"
		 "       [--overwrite never|if-changed|always [--verify]] [--delete] "
		 "[--dry-run] [--cross-fs] [--clean]",
	.help = "Restore SNAPSHOT ('latest' or 4 or more hex digits of its id) into DIR,\n"
		"created if needed; with :PATH only that file or directory of the snapshot.\n"
		"Nothing is ever written outside DIR.  Needs the restore key.\n"
		"\n"
		"Options:\n"
		"  -t, --target DIR          where to restore (required)\n"
		"  -i, --include PATTERN     restore only paths matching the fnmatch(3)\n"
		"                            PATTERN (repeatable)\n"
		"      --numeric-owner       set owners by uid/gid, ignoring user and group names\n"
		"      --overwrite MODE      what becomes of a path already in DIR: never\n"
		"                            (default: left, exit status 5), if-changed\n"
		"                            (replaced unless type, size and mtime match),\n"
		"                            always\n"
		"      --verify              with if-changed, also hash the content of files\n"
		"                            that match against the snapshot's chunk ids\n"
		"      --delete              remove what the snapshot does not have from the\n"
		"                            directories restored (ransom notes, *.locked)\n"
		"      --dry-run             list each create, replace and delete; change nothing\n"
		"      --cross-fs            replace and delete on other file systems mounted\n"
		"                            inside DIR too (default: left, like rsync -x)\n"
		"      --clean               every file at its newest clean version, as judged\n"
		"                            by 'kura scan': files the attack encrypted or renamed\n"
		"                            from before it, the rest at their newest; notes and\n"
		"                            encrypted copies left out; all of it listed\n"
		"\n"
		"Everything that can be restored is.  A file whose content cannot be\n"
		"restored completely is named with the cause and not left under its name\n"
		"(what was restored of it is kept as NAME.kura-partial); the exit status\n"
		"is then 4.  Without --overwrite nothing in DIR is overwritten: paths already\n"
		"there are left as they are, counted as skipped, and the exit status is 5.\n"
		"In place, each file is written beside its name as .kura-tmp.XXXXXXXXXXXX and\n"
		"renamed over it, so an interrupted restore leaves the old file or the new one;\n"
		"running it again finishes the job and removes the leftover temporaries.\n",
	.run = run,
};
