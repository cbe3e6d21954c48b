/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_repair.c - `kura repair index`: rebuild the index from the packs.
 *
 * The one repair there is so far.  It writes new index files for every
 * pack the readable index files do not locate correctly, deletes nothing,
 * and reports what it scanned and wrote; packs whose own trailer is
 * damaged are named and make the exit status 4.  Works with the restore
 * key or a backup key (the trailers need only the index key), on a local
 * repository.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

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

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	kura_repair_result res;
	kura_repo *repo = NULL;
	int c, rc, err;

	cli_getopt_init(&p, g, &cli_cmd_repair, argc, argv, "", NULL);
	while ((c = cli_getopt_next(&p)) != -1)
		if (c == CLI_OPT_STOP)
			return p.status;
	if (optind >= argc)
		return cli_usage_error(&cli_cmd_repair, "repair what? ('index')");
	if (strcmp(argv[optind], "index") != 0)
		return cli_usage_error(&cli_cmd_repair, "cannot repair '%s': only 'index'",
				       argv[optind]);
	if (optind + 1 < argc)
		return cli_usage_error(&cli_cmd_repair, "unexpected argument '%s'",
				       argv[optind + 1]);
	if ((rc = cli_repo_open(&repo, g, &cli_cmd_repair)) != CLI_EXIT_OK)
		return rc;
	if ((err = kura_repair_index(repo, &res)) < 0) {
		rc = cli_fail(err, err == KURA_EUNSUPPORTED
					   ? "readers already skip damaged index files and find blobs "
					     "in the packs' trailers; to write new index files, run "
					     "'kura repair index' on a copy of the repository"
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
	return rc;
}

const struct cli_command cli_cmd_repair = {
	.name = "repair",
	.summary = "rebuild the index from the packs",
	.usage = "kura repair index",
	.help = "Read every pack's own list of blobs (its trailer) and write new index\n"
		"files for each pack that the readable index files do not locate\n"
		"correctly: after a damaged, deleted, junk or lying index file.  Nothing\n"
		"is deleted; damaged index files stay and are skipped with a warning.\n"
		"Works with the restore key or a backup key (the trailers need only the\n"
		"index key), on a local repository only.  Exit status 4 if some pack's\n"
		"trailer is damaged (its blobs cannot be indexed).\n"
		"\n"
		"With --json: packs_scanned, blobs_indexed, files_written, damaged_packs,\n"
		"damaged_files.\n",
	.run = run,
};
