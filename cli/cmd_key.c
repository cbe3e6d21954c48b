/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_key.c - `kura key`: export the repository's keys to files.
 *
 *	kura key backup-key --output FILE   the write-only key for backup clients
 *	kura key export --output FILE       the restore key, for offline storage
 *	kura key split / kura key combine   the restore key among people (cmd_key_split.c)
 *
 * Files are created with mode 0600 and never overwritten (the library
 * refuses), so a mistyped name cannot destroy an earlier export.  The
 * message after each export says what the key can do and where it belongs,
 * because handing the wrong key to a backup client undoes the whole point.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct option longs[] = {
	{"output", required_argument, NULL, 'o'},
	{NULL, 0, NULL, 0},
};

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	kura_repo *repo = NULL;
	const char *output = NULL, *sub;
	bool backup;
	int c, rc, err;

	if (argc > 1 && strcmp(argv[1], "split") == 0)
		return cli_cmd_key_split.run(g, argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "combine") == 0)
		return cli_cmd_key_combine.run(g, argc - 1, argv + 1);
	cli_getopt_init(&p, g, &cli_cmd_key, argc, argv, "o:", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == 'o')
			output = p.arg;
	}
	if (optind >= argc)
		return cli_usage_error(&cli_cmd_key, "say what to export: backup-key or export");
	sub = argv[optind];
	if (strcmp(sub, "backup-key") == 0)
		backup = true;
	else if (strcmp(sub, "export") == 0)
		backup = false;
	else
		return cli_usage_error(&cli_cmd_key,
				       "no key command '%s' (backup-key, export; split and combine "
				       "come right after 'key')",
				       sub);
	if (optind + 1 < argc)
		return cli_usage_error(&cli_cmd_key, "unexpected argument '%s'", argv[optind + 1]);
	if (!output || !*output)
		return cli_usage_error(&cli_cmd_key, "--output FILE is required");

	if ((rc = cli_repo_open(&repo, g, &cli_cmd_key)) != CLI_EXIT_OK)
		return rc;
	err = backup ? kura_repo_export_backup_key(repo, output)
		     : kura_repo_export_restore_key(repo, output);
	if (err < 0) {
		rc = cli_fail(err, err == KURA_EEXISTS ? "key files are never overwritten; choose "
							  "another name or move the old file away"
						       : NULL);
		goto done;
	}
	if (g->json) {
		rc = cli_json_print(json_pack("{s:s, s:s, s:o}", "message_type", "key_exported",
					      "kind", backup ? "backup" : "restore", "path",
					      cli_json_str(output)));
	} else if (!g->quiet && backup) {
		printf("backup key written to %s: it can add backups but cannot read or restore "
		       "any;\ngive it to the backup client with KURA_KEY_FILE\n",
		       output);
	} else if (!g->quiet) {
		printf(
		    "restore key written to %s: with the passphrase it reads and restores every\n"
		    "backup. Keep it offline (a USB stick in a safe, a printout), never on a\n"
		    "machine that is backed up; open with it through KURA_KEY_FILE\n",
		    output);
	}
done:
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_key = {
	.name = "key",
	.summary = "export the backup key or the restore key, or split the restore key",
	.usage = "kura key backup-key --output FILE\n"
		 "       kura key export --output FILE\n"
		 "       kura key split --shares N --threshold M --output-dir DIR\n"
		 "       kura key combine SHARE... --output FILE",
	.help = "backup-key writes the repository's backup key: it can deduplicate and add\n"
		"backups, but cannot read, restore or list the contents of any.  Install it on\n"
		"each backup client and point KURA_KEY_FILE at it; a stolen client then\n"
		"reveals nothing of the history.\n"
		"\n"
		"export writes the restore key, still wrapped under the passphrase.  Keep it\n"
		"offline: with the passphrase it can read and restore every backup, even if\n"
		"the copy inside the repository is lost.\n"
		"\n"
		"split and combine share the restore key among people: see\n"
		"'kura key split --help' and 'kura key combine --help'.\n"
		"\n"
		"Files are created with mode 0600 and never overwritten.\n"
		"\n"
		"Options:\n"
		"  -o, --output FILE   where to write the key (required)\n",
	.run = run,
};
