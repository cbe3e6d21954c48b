/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_diff.c - `kura diff`: what changed between two snapshots.
 *
 * One line per path that differs: "+" added, "-" removed, "M" content or
 * metadata modified, "T" type changed (a file became a directory...), then
 * the counts.  After a suspected attack this answers "what did they touch"
 * without restoring anything.  --json prints one object per change (NDJSON)
 * and a final summary object.  Needs the restore key.
 */
#include "cli.h"

#include <stdio.h>

struct diff_ctx {
	bool json;
	int rc;
	uint64_t added, removed, modified, type_changed;
};

static int on_change(kura_diff_kind kind, const kura_node_info *old_node,
		     const kura_node_info *new_node, void *ctx)
{
	struct diff_ctx *c = ctx;
	const kura_node_info *n = new_node ? new_node : old_node;
	const char *path = n && n->path ? n->path : "?";
	char k[2] = {(char)kind, 0};

	switch (kind) {
	case KURA_DIFF_ADDED: c->added++; break;
	case KURA_DIFF_REMOVED: c->removed++; break;
	case KURA_DIFF_MODIFIED: c->modified++; break;
	case KURA_DIFF_TYPE: c->type_changed++; break;
	}
	if (c->json) {
		c->rc = cli_json_print(json_pack("{s:s, s:o}", "change", k, "path",
						 cli_json_str(path)));
		return c->rc != CLI_EXIT_OK;
	}
	printf("%c    %s\n", (char)kind, path);
	return 0;
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct diff_ctx ctx = {0};
	struct cli_getopt p;
	kura_repo *repo = NULL;
	char old_id[KURA_ID_HEX], new_id[KURA_ID_HEX];
	int c, rc, err;

	cli_getopt_init(&p, g, &cli_cmd_diff, argc, argv, "", NULL);
	while ((c = cli_getopt_next(&p)) != -1)
		if (c == CLI_OPT_STOP)
			return p.status;
	if (argc - optind != 2)
		return cli_usage_error(&cli_cmd_diff, "give exactly two snapshots");
	ctx.json = g->json;

	if ((rc = cli_repo_open(&repo, g, &cli_cmd_diff)) != CLI_EXIT_OK)
		return rc;
	if ((rc = cli_snapshot_resolve(repo, argv[optind], old_id)) != CLI_EXIT_OK ||
	    (rc = cli_snapshot_resolve(repo, argv[optind + 1], new_id)) != CLI_EXIT_OK)
		goto done;
	if ((err = kura_diff(repo, old_id, new_id, on_change, &ctx)) < 0) {
		rc = cli_fail(err, NULL);
		goto done;
	}
	if ((rc = ctx.rc) != CLI_EXIT_OK)
		goto done;
	if (g->json)
		rc = cli_json_print(json_pack("{s:s, s:I, s:I, s:I, s:I}", "message_type",
					      "summary", "added", (json_int_t)ctx.added, "removed",
					      (json_int_t)ctx.removed, "modified",
					      (json_int_t)ctx.modified, "type_changed",
					      (json_int_t)ctx.type_changed));
	else if (!g->quiet)
		printf("\n%llu added, %llu removed, %llu modified, %llu changed type\n",
		       (unsigned long long)ctx.added, (unsigned long long)ctx.removed,
		       (unsigned long long)ctx.modified, (unsigned long long)ctx.type_changed);
done:
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_diff = {
	.name = "diff",
	.summary = "show what changed between two snapshots",
	.usage = "kura diff SNAPSHOT1 SNAPSHOT2",
	.help = "List the paths that differ from SNAPSHOT1 to SNAPSHOT2, one per line:\n"
		"  +    added\n"
		"  -    removed\n"
		"  M    modified (content or metadata)\n"
		"  T    type changed (say, a file became a directory)\n"
		"then the counts.  Snapshots are 'latest' or 4 or more hex digits of an id.\n"
		"Needs the restore key.\n",
	.run = run,
};
