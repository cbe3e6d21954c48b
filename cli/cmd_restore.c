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
 * of it never.  Needs the restore key.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_NUMERIC_OWNER = CLI_OPT_LONG,
};

static const struct option longs[] = {
	{"target", required_argument, NULL, 't'},
	{"include", required_argument, NULL, 'i'},
	{"numeric-owner", no_argument, NULL, OPT_NUMERIC_OWNER},
	{NULL, 0, NULL, 0},
};

static int print_json(kura_repo *repo, const char *id, const char *target,
		      const kura_restore_result *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "message_type", json_string("summary"));
	json_object_set_new(o, "snapshot_id", json_string(id));
	json_object_set_new(o, "target", cli_json_str(target));
	json_object_set_new(o, "files_restored", cli_json_u64(r->files));
	json_object_set_new(o, "dirs_restored", cli_json_u64(r->dirs));
	json_object_set_new(o, "others_restored", cli_json_u64(r->others));
	json_object_set_new(o, "bytes_restored", cli_json_u64(r->bytes));
	json_object_set_new(o, "warnings", cli_json_u64(r->warnings));
	json_object_set_new(o, "errors", cli_json_u64(r->errors));
	json_object_set_new(o, "total_duration", json_real(r->seconds));
	json_object_set_new(o, "damaged_files", cli_damage_json(repo));
	return cli_json_print(o);
}

static void print_human(const char *target, const kura_restore_result *r)
{
	char size[CLI_FMT_MAX], took[CLI_FMT_MAX];

	printf("restored %llu files, %llu dirs, %s in %s to %s\n", (unsigned long long)r->files,
	       (unsigned long long)r->dirs, cli_fmt_size(size, r->bytes),
	       cli_fmt_duration(took, r->seconds), target);
	if (r->warnings)
		printf("%llu warning(s): some metadata could not be applied, see above\n",
		       (unsigned long long)r->warnings);
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_strlist includes = {0};
	struct cli_getopt p;
	struct cli_progress prog;
	kura_restore_options opts = {0};
	kura_restore_result res = {0};
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

	if ((rc = cli_repo_open(&repo, g, &cli_cmd_restore)) != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_snapshot_resolve(repo, name, id)) != CLI_EXIT_OK)
		goto done;

	cli_progress_init(&prog, g);
	opts.target = target;
	opts.includes = includes.items;
	opts.nincludes = includes.count;
	opts.threads = g->threads;
	opts.progress = cli_progress_update;
	opts.progress_ctx = &prog;
	opts.warning = cli_progress_warning;
	opts.warning_ctx = &prog;
	err = kura_restore(repo, id, &opts, &res);
	cli_progress_clear(&prog);
	if (err < 0 && err != KURA_ECORRUPT) {
		rc = cli_fail(err, err == KURA_ENOTFOUND && opts.subpath
					   ? "paths inside a snapshot start with '/'; see 'kura ls "
					     "SNAPSHOT'"
					   : NULL);
		goto done;
	}
	if (g->json)
		rc = print_json(repo, id, target, &res);
	else if (!g->quiet)
		print_human(target, &res);
	if (err == KURA_ECORRUPT) {
		char hint[256];

		snprintf(hint, sizeof(hint),
			 "%llu file(s) could not be restored; everything else was. Run 'kura "
			 "check --read-data' to see the damage, and restore them from an older "
			 "snapshot",
			 (unsigned long long)res.errors);
		rc = cli_fail(err, hint);
	}
done:
	free(name);
	cli_strlist_free(&includes);
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_restore = {
	.name = "restore",
	.summary = "restore a snapshot, or part of it",
	.usage = "kura restore SNAPSHOT[:PATH] --target DIR [--include PATTERN]... "
		 "[--numeric-owner]",
	.help = "Restore SNAPSHOT ('latest' or 4 or more hex digits of its id) into DIR,\n"
		"created if needed; with :PATH only that file or directory of the snapshot.\n"
		"Nothing is ever written outside DIR.  Needs the restore key.\n"
		"\n"
		"Options:\n"
		"  -t, --target DIR          where to restore (required)\n"
		"  -i, --include PATTERN     restore only paths matching the fnmatch(3)\n"
		"                            PATTERN (repeatable)\n"
		"      --numeric-owner       set owners by uid/gid, ignoring user and group names\n"
		"\n"
		"If some content cannot be restored, the rest still is and the exit status\n"
		"is 4.\n",
	.run = run,
};
