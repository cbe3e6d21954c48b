/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_repair.c - `kura repair index`: rebuild the index from the packs.
 *
 * The one repair there is so far.  It writes new index files for every
 * pack the readable index files do not locate correctly, deletes nothing,
 * and reports what it scanned and wrote; packs whose own trailer is
 * damaged are named and make the exit status 4.  Works with the restore
 * key or a backup key (the trailers need only the index key).
 *
 * Through a vault no one credential can do it, on purpose: a reader reads
 * packs but may not upload, a writer uploads but may not read packs.  So
 * the repository is opened with the reader (KURA_VAULT_CREDENTIALS, as
 * for every reading command) and the new index files go up through a
 * second connection with a writer credential (--writer-credentials or
 * KURA_VAULT_WRITER_CREDENTIALS).  Both credentials are checked before
 * any passphrase is asked for: each must carry the role it is used for,
 * and the writer's must name the same vault and repository.
 */
#include "cli.h"

#include "kura/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_WRITER = CLI_OPT_LONG };

static const struct option longs[] = {
    {"writer-credentials", required_argument, NULL, OPT_WRITER},
    {NULL, 0, NULL, 0},
};

static int print_json(kura_repo *repo, const kura_repair_result *r)
{
	json_t *o = json_object();

	if (!o)
		return cli_json_print(NULL);
	json_object_set_new(o, "message_type", json_string("summary"));
	json_object_set_new(o, "packs_scanned", cli_json_u64(r->packs_scanned));
	json_object_set_new(o, "blobs_indexed", cli_json_u64(r->blobs_indexed));
	json_object_set_new(o, "files_written", cli_json_u64(r->files_written));
	json_object_set_new(o, "damaged_packs", cli_json_u64(r->damaged_packs));
	json_object_set_new(o, "damaged_files", cli_damage_json(repo));
	return cli_json_print(o);
}

/*
 * A usage error unless the credential file at `path` says it has `role`.
 * Only the role is looked at here, to fail before a long scan; everything
 * else (vault, repository, token, pin) is the vault backend's to check
 * when it opens, and a file it cannot read is its to report.
 */
static int want_role(const char *path, const char *what, const char *role)
{
	json_t *root = json_load_file(path, 0, NULL);
	const char *has = json_string_value(json_object_get(root, "role"));
	int rc = CLI_EXIT_OK;

	if (has && strcmp(has, role) != 0)
		rc = cli_usage_error(
		    &cli_cmd_repair, "%s (%s) is a %s credential; it must be a %s credential: %s",
		    what, path, has, role,
		    strcmp(role, "reader") == 0
			? "the packs are read with it, and writers may not read packs"
			: "the new index files are uploaded with it, and readers may "
			  "not upload");
	json_decref(root);
	return rc;
}

/*
 * For a vault repository: the writer's connection, opened on the same
 * location (which makes the vault backend check that the writer credential
 * names this vault and repository).  *out stays NULL for a local one.
 */
static int open_upload(kura_backend **out, const char *loc, const char *writer_opt)
{
	const char *writer = writer_opt, *reader = getenv("KURA_VAULT_CREDENTIALS");
	int err, rc;

	*out = NULL;
	if (!writer || !*writer)
		writer = getenv("KURA_VAULT_WRITER_CREDENTIALS");
	if (strncmp(loc, "vault://", 8) != 0) {
		if (writer_opt)
			return cli_usage_error(&cli_cmd_repair,
					       "--writer-credentials is for a vault's repository; "
					       "%s is repaired in place",
					       loc);
		return CLI_EXIT_OK;
	}
	if (!writer || !*writer)
		return cli_usage_error(
		    &cli_cmd_repair,
		    "through a vault, repair index reads the packs with a reader credential "
		    "(KURA_VAULT_CREDENTIALS) and uploads the new index files with a writer "
		    "credential: give --writer-credentials FILE or set "
		    "KURA_VAULT_WRITER_CREDENTIALS");
	if (reader && *reader &&
	    (rc = want_role(reader, "KURA_VAULT_CREDENTIALS", "reader")) != CLI_EXIT_OK)
		return rc;
	if ((rc = want_role(writer, "the writer credential", "writer")) != CLI_EXIT_OK)
		return rc;
	if ((err = kura_backend_vault_open(out, loc, writer)) < 0)
		return cli_fail(err, "--writer-credentials / KURA_VAULT_WRITER_CREDENTIALS must "
				     "name a writer credential from 'kurad client add --role "
				     "writer' for the same vault and repository");
	return CLI_EXIT_OK;
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	kura_repair_result res;
	kura_repo *repo = NULL;
	kura_backend *upload = NULL;
	const char *loc, *writer_opt = NULL;
	int c, rc, err;

	cli_getopt_init(&p, g, &cli_cmd_repair, argc, argv, "", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == OPT_WRITER)
			writer_opt = p.arg;
	}
	if (optind >= argc)
		return cli_usage_error(&cli_cmd_repair, "repair what? ('index')");
	if (strcmp(argv[optind], "index") != 0)
		return cli_usage_error(&cli_cmd_repair, "cannot repair '%s': only 'index'",
				       argv[optind]);
	if (optind + 1 < argc)
		return cli_usage_error(&cli_cmd_repair, "unexpected argument '%s'",
				       argv[optind + 1]);
	if (!(loc = cli_repo_location(g, &cli_cmd_repair)))
		return CLI_EXIT_USAGE;
	if ((rc = open_upload(&upload, loc, writer_opt)) != CLI_EXIT_OK)
		return rc;
	if ((rc = cli_repo_open(&repo, g, &cli_cmd_repair)) != CLI_EXIT_OK)
		goto done;
	if ((err = kura_repair_index(repo, upload, &res)) < 0) {
		rc =
		    cli_fail(err, err == KURA_EDENIED && upload
				      ? "through a vault, KURA_VAULT_CREDENTIALS must be a reader "
					"credential (it reads the packs) and the writer credential "
					"a writer's of the same repository (it uploads)"
				      : NULL);
		goto done;
	}
	if (g->json)
		rc = print_json(repo, &res);
	else if (!g->quiet)
		printf("%llu packs scanned, %llu blobs indexed in %llu new index file%s, "
		       "%llu damaged pack%s\n",
		       (unsigned long long)res.packs_scanned, (unsigned long long)res.blobs_indexed,
		       (unsigned long long)res.files_written, res.files_written == 1 ? "" : "s",
		       (unsigned long long)res.damaged_packs, res.damaged_packs == 1 ? "" : "s");
	if (rc == CLI_EXIT_OK && res.damaged_packs)
		rc = CLI_EXIT_INTEGRITY;
done:
	cli_repo_close(repo);
	kura_backend_free(upload);
	return rc;
}

const struct cli_command cli_cmd_repair = {
    .name = "repair",
    .summary = "rebuild the index from the packs",
    .usage = "kura repair index [--writer-credentials FILE]",
    .help = "Read every pack's own list of blobs (its trailer) and write new index\n"
	    "files for each pack that the readable index files do not locate\n"
	    "correctly: after a damaged, deleted, junk or lying index file.  Nothing\n"
	    "is deleted; damaged index files stay and are skipped with a warning.\n"
	    "Works with the restore key or a backup key (the trailers need only the\n"
	    "index key).  Exit status 4 if some pack's trailer is damaged (its blobs\n"
	    "cannot be indexed).\n"
	    "\n"
	    "Through a vault, the packs are read with a reader credential\n"
	    "(KURA_VAULT_CREDENTIALS) and the new index files are uploaded with a\n"
	    "writer credential of the same repository:\n"
	    "  --writer-credentials FILE   the writer credential (default:\n"
	    "                              $KURA_VAULT_WRITER_CREDENTIALS)\n"
	    "\n"
	    "With --json: packs_scanned, blobs_indexed, files_written, damaged_packs,\n"
	    "damaged_files.\n",
    .run = run,
};
