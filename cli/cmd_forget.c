/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_forget.c - `kura forget`: remove snapshots (on a vault: ask to).
 *
 *	kura forget [--prune] [--dry-run] [--grace DURATION] SNAPSHOT...
 *
 * Every name is resolved before anything is removed, so a typo in the
 * third name does not leave the first two forgotten.  On a local
 * repository the snapshot files are removed, after the repository was
 * opened with one of its keys (so that not just anyone who can write the
 * directory runs this by mistake); their data stays until a prune, which
 * --prune runs at once.  On a vault the snapshots and, with --prune, the
 * data they leave unreferenced are the subject of one deletion request
 * that the vault's approvers must sign (deletion.c).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kura/backend.h"

enum {
	OPT_DRY_RUN = CLI_OPT_LONG,
	OPT_PRUNE,
};

static const struct option longs[] = {
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"prune", no_argument, NULL, OPT_PRUNE},
	{"grace", required_argument, NULL, CLI_OPT_GRACE},
	{"wait", required_argument, NULL, CLI_OPT_WAIT},
	{NULL, 0, NULL, 0},
};

/* Remove the snapshot files; on an error, say which were removed. */
static int remove_snapshots(const struct cli_global *g, struct kura_backend *b,
			    const char (*ids)[KURA_ID_HEX], size_t n, bool dry_run, json_t *o)
{
	json_t *list = json_array(), *kept = json_array();
	size_t nkept = 0;
	int err;

	for (size_t i = 0; i < n; i++) {
		err = dry_run ? 0 : kura_backend_remove(b, KURA_FILE_SNAPSHOT, ids[i]);
		if (err == KURA_EBUSY) {
			/* S3 Object Lock: kept until its lock ends; the others go on */
			fprintf(stderr, "kura: %s\n", kura_error_message());
			json_array_append_new(kept, json_string(ids[i]));
			nkept++;
			continue;
		}
		if (err < 0) {
			json_decref(kept);
			json_decref(list);
			cli_fail(err, NULL);
			fprintf(stderr, "kura: %zu of %zu snapshots were forgotten before the error\n",
				i - nkept, n);
			return CLI_EXIT_FATAL;
		}
		json_array_append_new(list, json_string(ids[i]));
		if (!o && !g->quiet)
			printf("%s snapshot %s\n", dry_run ? "would forget" : "forgot", ids[i]);
	}
	if (o) {
		json_object_set_new(o, dry_run ? "would_forget" : "forgotten", list);
		json_object_set_new(o, "kept_locked", kept);
	} else {
		json_decref(list);
		json_decref(kept);
	}
	if (nkept) {
		fprintf(stderr, "kura: %zu of %zu snapshots are locked on the store and were kept; "
				"forget them again once their lock has ended\n",
			nkept, n);
		if (o)
			cli_json_print(json_incref(o));
		return CLI_EXIT_FATAL;
	}
	return CLI_EXIT_OK;
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	kura_repo *repo = NULL;
	struct kura_backend *b;
	char (*ids)[KURA_ID_HEX] = NULL;
	size_t n = 0;
	struct cli_prune_opts po = CLI_PRUNE_OPTS_INIT;
	bool prune = false;
	const char *loc;
	json_t *o = NULL;
	int c, rc;

	cli_getopt_init(&p, g, &cli_cmd_forget, argc, argv, "n", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == OPT_DRY_RUN || c == 'n')
			po.dry_run = true;
		else if (c == OPT_PRUNE)
			prune = true;
		else if ((rc = cli_prune_opt(&cli_cmd_forget, c, p.arg, &po)) > 0)
			return rc;
	}
	if (optind >= argc)
		return cli_usage_error(&cli_cmd_forget, "which snapshots? Name at least one");
	if (po.local_given && !prune)
		return cli_usage_error(&cli_cmd_forget, "--grace and --wait go with --prune");
	if (!(loc = cli_repo_location(g, &cli_cmd_forget)))
		return CLI_EXIT_USAGE;
	if ((rc = cli_repo_open(&repo, g, &cli_cmd_forget)) != CLI_EXIT_OK)
		return rc;
	if ((rc = cli_snapshots_resolve_all(repo, argv + optind, (size_t)(argc - optind), &ids,
					    &n)) != CLI_EXIT_OK)
		goto done;
	b = kura_repo_backend(repo);
	if (kura_backend_has(b, KURA_BACKEND_HAS_DELETION_REQUESTS)) {
		if (po.local_given) {
			rc = cli_grace_on_vault(&cli_cmd_forget);
			goto done;
		}
		rc = cli_vault_request_deletion(g, b, loc, (const char (*)[KURA_ID_HEX])ids, n,
						prune, po.dry_run);
		goto done;
	}
	/* a vault's deletions go through approvals (above); a store without either refuses */
	if (!kura_backend_has(b, KURA_BACKEND_HAS_REMOVE)) {
		rc = cli_store_cannot_remove(loc);
		goto done;
	}
	if (g->json && !(o = json_object())) {
		rc = cli_json_print(NULL);
		goto done;
	}
	if (o)
		json_object_set_new(o, "dry_run", json_boolean(po.dry_run));
	if ((rc = remove_snapshots(g, b, (const char (*)[KURA_ID_HEX])ids, n, po.dry_run, o)) !=
	    CLI_EXIT_OK)
		goto done;
	if (prune) {
		json_t *pj = o ? json_object() : NULL;

		if (o && !pj) {
			rc = cli_json_print(NULL);
			goto done;
		}
		/* a dry run counts the snapshots as gone; a real one removed them already */
		rc = cli_prune_local(g, b, po.dry_run ? (const char (*)[KURA_ID_HEX])ids : NULL,
				     po.dry_run ? n : 0, &po, pj);
		if (pj)
			json_object_set_new(o, "prune", pj);
		if (rc != CLI_EXIT_OK) {
			/* the result, also when some packs could not be removed */
			if (pj && json_object_get(pj, "packs_unreferenced"))
				cli_json_print(json_incref(o));
			goto done;
		}
	}
	if (o)
		rc = cli_json_print(json_incref(o));
	else if (!g->quiet && !prune && !po.dry_run)
		printf("their data stays until 'kura prune' removes what no snapshot needs\n");
done:
	json_decref(o);
	free(ids);
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_forget = {
	.name = "forget",
	.summary = "remove snapshots (on a vault: request it)",
	.usage = "kura forget [--prune [--grace DURATION] [--wait DURATION]] [--dry-run] "
		 "SNAPSHOT...",
	.help = "Remove the named snapshots.  A SNAPSHOT is its id or 4 or more hex digits of\n"
		"it ('kura snapshots' lists them); 'latest' only with the restore key.  Any\n"
		"key of the repository may forget, a backup key included.  Nothing is removed\n"
		"unless every name resolves to a snapshot.\n"
		"\n"
		"On a local repository the snapshot files are removed at once; the data only\n"
		"they needed stays until 'kura prune' (or --prune) removes it.\n"
		"\n"
		"On S3 with Object Lock a snapshot is removed only once its lock has ended;\n"
		"a locked one is kept and named, the others are removed, and the exit\n"
		"status is 1.\n"
		"\n"
		"On a vault (vault://...) nothing is removed here: forget files one deletion\n"
		"request for the snapshots (and, with --prune, the data they leave\n"
		"unreferenced).  The vault carries it out only after its approvers signed it\n"
		"and its delay passed; it refuses snapshots its retention protects.\n"
		"\n"
		"Options:\n"
		"      --prune            then remove the data no snapshot needs ('kura prune')\n"
		"      --grace DURATION   with --prune: keep unreferenced packs written less\n"
		"                         than this long ago (default 1h: a backup running now\n"
		"                         may need them; local repositories only)\n"
		"      --wait DURATION    with --prune: wait this long for running backups\n"
		"                         (default 10m; local only). If they run longer, the\n"
		"                         snapshots are forgotten and nothing is pruned\n"
		"  -n, --dry-run          only show what would be removed (or requested)\n",
	.run = run,
};
