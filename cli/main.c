/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - the `kura` command: global options, dispatch and help.
 *
 *	kura [--repo PATH] [--json] [--quiet] [--threads N] COMMAND [ARGS...]
 *
 * Global options before the command are parsed here (parsing stops at the
 * command name); each command parses the rest, global options included, so
 * they may come after it too.  Help goes to stdout with status 0; a usage
 * error goes to stderr with status 2.  Before exiting, stdout is flushed
 * and checked, so a full disk under `kura ls > list` is an error and not a
 * silently short file.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "kura/loghead.h"

static const struct cli_command *const commands[] = {
	&cli_cmd_init,	  &cli_cmd_key,	  &cli_cmd_backup, &cli_cmd_snapshots, &cli_cmd_ls,
	&cli_cmd_restore, &cli_cmd_diff,  &cli_cmd_scan,  &cli_cmd_check,  &cli_cmd_drill,
	&cli_cmd_copy,	  &cli_cmd_repair, &cli_cmd_forget, &cli_cmd_prune, &cli_cmd_approve,
	&cli_cmd_cancel,
	&cli_cmd_log,	  &cli_cmd_vault, &cli_cmd_version,
	&cli_cmd_mount,	  &cli_cmd_status, &cli_cmd_s3,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_help[] =
	"Global options (before or after the command):\n"
	"  -r, --repo PATH    the repository (default: $KURA_REPOSITORY)\n"
	"      --json         print results as JSON for scripts\n"
	"  -q, --quiet        no progress or summaries: only listings, warnings, errors\n"
	"      --threads N    worker threads (default 0: one per CPU)\n"
	"  -h, --help         show help and exit\n";

static const char footer[] =
	"Environment:\n"
	"  KURA_REPOSITORY     the repository, if --repo is not given\n"
	"  KURA_PASSWORD_FILE  read the passphrase from the first line of this file\n"
	"  KURA_KEY_FILE       open with this key file (a backup key, or an exported\n"
	"                      restore key) instead of the passphrase\n"
	"  KURA_CACHE_DIR      the cache (default $XDG_CACHE_HOME/kura or ~/.cache/kura)\n"
	"\n"
	"Exit status:\n"
	"   0  success\n"
	"   1  fatal error\n"
	"   2  usage error\n"
	"   3  backup saved, but some files could not be read\n"
	"   4  integrity error: check found problems, or restore lost some content\n"
	"  10  no repository at the location\n"
	"  12  wrong passphrase, or the key does not belong to the repository\n"
	"  13  the operation needs the restore key, not a backup key\n"
	"\n"
	"See kura(1) for details.\n";

static void help_main(FILE *f)
{
	size_t i;

	fputs("Usage: kura [--repo PATH] [--json] [--quiet] [--threads N] COMMAND [ARGS...]\n"
	      "\n"
	      "kura keeps encrypted, deduplicated backups that a backup client cannot read,\n"
	      "change or delete: it holds only a write-only backup key, while the restore key\n"
	      "stays offline.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s  %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "  %-10s  %s\n", "help",
		"show this help, or a command's with 'kura help COMMAND'");
	fputc('\n', f);
	fputs(global_help, f);
	fputc('\n', f);
	fputs(footer, f);
}

void cli_help_command(const struct cli_command *cmd)
{
	if (!cmd) {
		help_main(stdout);
		return;
	}
	printf("Usage: %s\n\n%s\n%s\n%s", cmd->usage, cmd->help, global_help, footer);
}

static const struct cli_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static int run_help(int argc, char **argv)
{
	const struct cli_command *cmd;

	if (argc < 2) {
		help_main(stdout);
		return CLI_EXIT_OK;
	}
	if (!(cmd = find_command(argv[1])))
		return cli_usage_error(NULL, "no command '%s'", argv[1]);
	cli_help_command(cmd);
	return CLI_EXIT_OK;
}

static int finish(int rc)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("kura: cannot write to standard output");
		return rc ? rc : CLI_EXIT_FATAL;
	}
	return rc;
}

/* The vault backend's alarm (a vault's audit log went back): never quiet. */
static void on_log_head_warning(const char *message, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "kura: WARNING: %s\n", message);
}

int main(int argc, char **argv)
{
	struct cli_global g = {0};
	struct cli_getopt p;
	const struct cli_command *cmd;
	int c;

	/* "+": stop at the command name; the command parses the rest. */
	kura_loghead_set_warning(on_log_head_warning, NULL);
	cli_getopt_init(&p, &g, NULL, argc, argv, "", NULL);
	memmove(p.shorts + 1, p.shorts, strlen(p.shorts) + 1);
	p.shorts[0] = '+';
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return finish(p.status);
	}
	if (optind >= argc) {
		cli_usage_error(NULL, "no command given");
		return CLI_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "help") == 0)
		return finish(run_help(argc, argv));
	if (!(cmd = find_command(argv[0])))
		return cli_usage_error(NULL, "no command '%s'", argv[0]);
	return finish(cmd->run(&g, argc, argv));
}
