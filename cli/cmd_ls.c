/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_ls.c - `kura ls`: list the files in a snapshot.
 *
 * One path per line, parents before children; -l adds the columns of
 * ls -l (mode, owner, size, modification time) and symlink targets.
 * --json prints one object per line (NDJSON) so a listing of millions of
 * files streams instead of being built in memory.  Needs the restore key.
 */
#include "cli.h"

#include <stdio.h>

static const struct option longs[] = {
	{"long", no_argument, NULL, 'l'},
	{NULL, 0, NULL, 0},
};

struct ls_ctx {
	bool json, long_format;
	int rc;
};

static const char *owner(char buf[CLI_FMT_MAX], const char *name, uint32_t id)
{
	if (name && *name)
		return name;
	snprintf(buf, CLI_FMT_MAX, "%u", id);
	return buf;
}

static int print_json(const kura_node_info *n)
{
	char tbuf[CLI_FMT_MAX];
	json_t *o = json_object();

	json_object_set_new(o, "path", cli_json_str(n->path));
	json_object_set_new(o, "type", json_string(cli_node_type_name(n->type)));
	json_object_set_new(o, "mode", json_integer(n->mode));
	json_object_set_new(o, "uid", json_integer(n->uid));
	json_object_set_new(o, "gid", json_integer(n->gid));
	json_object_set_new(o, "user", cli_json_str(n->user ? n->user : ""));
	json_object_set_new(o, "group", cli_json_str(n->group ? n->group : ""));
	json_object_set_new(o, "size", cli_json_u64(n->size));
	json_object_set_new(o, "mtime",
			    json_string(cli_fmt_time_rfc3339(tbuf, n->mtime_sec, n->mtime_nsec)));
	json_object_set_new(o, "target", cli_json_str(n->target ? n->target : ""));
	return cli_json_print(o);
}

static void print_long(const kura_node_info *n)
{
	char mode[CLI_FMT_MAX], user[CLI_FMT_MAX], group[CLI_FMT_MAX], tbuf[CLI_FMT_MAX];

	printf("%s %-8s %-8s %12llu %s %s", cli_fmt_mode(mode, n->type, n->mode),
	       owner(user, n->user, n->uid), owner(group, n->group, n->gid),
	       (unsigned long long)n->size, cli_fmt_time_local(tbuf, n->mtime_sec), n->path);
	if (n->target && *n->target)
		printf(n->type == KURA_NODE_HARDLINK ? " => %s" : " -> %s", n->target);
	putchar('\n');
}

static int on_node(const kura_node_info *n, void *ctx)
{
	struct ls_ctx *c = ctx;

	if (c->json) {
		if ((c->rc = print_json(n)) != CLI_EXIT_OK)
			return 1; /* stop the walk */
	} else if (c->long_format) {
		print_long(n);
	} else {
		printf("%s\n", n->path);
	}
	return 0;
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct ls_ctx ctx = {0};
	struct cli_getopt p;
	kura_repo *repo = NULL;
	char id[KURA_ID_HEX];
	const char *path;
	int c, rc, err;

	cli_getopt_init(&p, g, &cli_cmd_ls, argc, argv, "l", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == 'l')
			ctx.long_format = true;
	}
	if (optind >= argc)
		return cli_usage_error(&cli_cmd_ls, "which snapshot? ('latest' or an id)");
	if (argc - optind > 2)
		return cli_usage_error(&cli_cmd_ls, "unexpected argument '%s'", argv[optind + 2]);
	path = argc - optind == 2 ? argv[optind + 1] : NULL;
	ctx.json = g->json;

	if ((rc = cli_repo_open(&repo, g, &cli_cmd_ls)) != CLI_EXIT_OK)
		return rc;
	if ((rc = cli_snapshot_resolve(repo, argv[optind], id)) != CLI_EXIT_OK)
		goto done;
	err = kura_ls(repo, id, path, on_node, &ctx);
	if (err < 0)
		rc = cli_fail(err, err == KURA_ENOTFOUND && path
					   ? "paths inside a snapshot start with '/', as 'kura ls "
					     "SNAPSHOT' shows them"
					   : NULL);
	else
		rc = ctx.rc;
done:
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_ls = {
	.name = "ls",
	.summary = "list the files in a snapshot",
	.usage = "kura ls [-l] SNAPSHOT [PATH]",
	.help = "List the files in SNAPSHOT ('latest' or 4 or more hex digits of its id),\n"
		"or only those below PATH.  Needs the restore key.\n"
		"\n"
		"Options:\n"
		"  -l, --long   show mode, owner, group, size and modification time\n"
		"\n"
		"With --json, one object per line: path, type, mode, uid, gid, user, group,\n"
		"size, mtime, target.\n",
	.run = run,
};
