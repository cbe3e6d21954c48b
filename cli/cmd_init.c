/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_init.c - `kura init`: create a repository and its restore key.
 *
 * The passphrase is checked for strength before the user is asked to type
 * it a second time, so a weak one is refused at once.  Chunking, pack size,
 * compression and the key-derivation cost can be chosen here only: they
 * are fixed for the life of the repository.  The closing reminder is not
 * decoration: a repository whose passphrase is lost is unreadable by
 * design, and the exported restore key belongs offline.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_CHUNK_MIN = CLI_OPT_LONG,
	OPT_CHUNK_AVG,
	OPT_CHUNK_MAX,
	OPT_PACK_SIZE,
	OPT_COMPRESSION,
	OPT_KDF,
	OPT_LOCK_DAYS,
	OPT_NO_OBJECT_LOCK,
};

/* S3 only: set by --lock-days and --no-object-lock, given to the library at init. */
static uint32_t lock_days;
static bool no_object_lock;

static const struct option longs[] = {
	{"chunk-min", required_argument, NULL, OPT_CHUNK_MIN},
	{"chunk-avg", required_argument, NULL, OPT_CHUNK_AVG},
	{"chunk-max", required_argument, NULL, OPT_CHUNK_MAX},
	{"pack-size", required_argument, NULL, OPT_PACK_SIZE},
	{"compression", required_argument, NULL, OPT_COMPRESSION},
	{"kdf", required_argument, NULL, OPT_KDF},
	{"lock-days", required_argument, NULL, OPT_LOCK_DAYS},
	{"no-object-lock", no_argument, NULL, OPT_NO_OBJECT_LOCK},
	{NULL, 0, NULL, 0},
};

static int size_option(uint32_t *out, const char *name, const char *arg)
{
	uint64_t v;

	if (cli_parse_size(&v, arg) < 0 || v == 0 || v > UINT32_MAX)
		return cli_usage_error(
		    &cli_cmd_init, "--%s wants a size such as 512K, 4M or 1G (below 4G), not '%s'",
		    name, arg);
	*out = (uint32_t)v;
	return 0;
}

static int parse(kura_init_options *o, struct cli_getopt *p)
{
	int c, rc = 0;

	while (rc == 0 && (c = cli_getopt_next(p)) != -1) {
		switch (c) {
		case CLI_OPT_STOP:
			return p->status == 0 ? -1 : p->status;
		case OPT_CHUNK_MIN:
			rc = size_option(&o->chunk_min, "chunk-min", p->arg);
			break;
		case OPT_CHUNK_AVG:
			rc = size_option(&o->chunk_avg, "chunk-avg", p->arg);
			break;
		case OPT_CHUNK_MAX:
			rc = size_option(&o->chunk_max, "chunk-max", p->arg);
			break;
		case OPT_PACK_SIZE:
			rc = size_option(&o->pack_size, "pack-size", p->arg);
			break;
		case OPT_COMPRESSION:
			if (strcmp(p->arg, "off") == 0)
				o->compression_level = 0;
			else if (cli_parse_int(&o->compression_level, p->arg, 1, 19) < 0)
				rc =
				    cli_usage_error(&cli_cmd_init,
						    "--compression wants a zstd level from 1 to 19 "
						    "or 'off', not '%s'",
						    p->arg);
			break;
		case OPT_LOCK_DAYS: {
			int d;

			if (cli_parse_int(&d, p->arg, 1, 36500) < 0)
				rc = cli_usage_error(&cli_cmd_init,
						     "--lock-days wants 1 to 36500 days, not '%s'",
						     p->arg);
			else
				lock_days = (uint32_t)d;
			break;
		}
		case OPT_NO_OBJECT_LOCK:
			no_object_lock = true;
			break;
		case OPT_KDF:
			if (strcmp(p->arg, "interactive") == 0)
				o->kdf_profile = KURA_KDF_INTERACTIVE;
			else if (strcmp(p->arg, "moderate") == 0)
				o->kdf_profile = KURA_KDF_MODERATE;
			else if (strcmp(p->arg, "sensitive") == 0)
				o->kdf_profile = KURA_KDF_SENSITIVE;
			else
				rc = cli_usage_error(
				    &cli_cmd_init,
				    "--kdf wants interactive, moderate or sensitive, "
				    "not '%s'",
				    p->arg);
			break;
		}
	}
	if (rc == 0 && optind < p->argc)
		rc = cli_usage_error(&cli_cmd_init,
				     "unexpected argument '%s' (give the location with --repo)",
				     p->argv[optind]);
	return rc;
}

/* Ask once, refuse a weak passphrase at once, then ask for it again. */
static int get_passphrase(char *pass)
{
	const char *file = getenv("KURA_PASSWORD_FILE");
	bool from_tty = !file || !*file;
	int rc, err;

	rc = cli_passphrase_read(pass, CLI_PASSPHRASE_MAX,
				 "enter a passphrase for the new repository: ", false);
	if (rc != CLI_EXIT_OK)
		return rc;
	if ((err = kura_passphrase_check(pass)) < 0)
		return cli_fail(err, NULL);
	if (from_tty) {
		char *again = malloc(CLI_PASSPHRASE_MAX);

		if (!again) {
			fputs("kura: out of memory\n", stderr);
			return CLI_EXIT_FATAL;
		}
		rc = cli_passphrase_read(again, CLI_PASSPHRASE_MAX,
					 "enter the passphrase again: ", false);
		if (rc == CLI_EXIT_OK && strcmp(pass, again) != 0) {
			fputs("kura: the passphrases do not match; run 'kura init' again\n",
			      stderr);
			rc = CLI_EXIT_FATAL;
		}
		cli_passphrase_wipe(again, CLI_PASSPHRASE_MAX);
		free(again);
	}
	return rc;
}

static int run(struct cli_global *g, int argc, char **argv)
{
	kura_init_options opts = KURA_INIT_OPTIONS_INIT;
	kura_s3_options s3;
	struct cli_getopt p;
	kura_repo *repo = NULL;
	const char *loc;
	char *pass = NULL;
	int rc, err;

	cli_getopt_init(&p, g, &cli_cmd_init, argc, argv, "", longs);
	if ((rc = parse(&opts, &p)) != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (opts.chunk_min > opts.chunk_avg || opts.chunk_avg > opts.chunk_max)
		return cli_usage_error(
		    &cli_cmd_init,
		    "chunk sizes must grow: --chunk-min <= --chunk-avg <= --chunk-max");
	if (opts.chunk_avg & (opts.chunk_avg - 1))
		return cli_usage_error(&cli_cmd_init,
				       "--chunk-avg must be a power of two, such as 512K or 1M");
	if (!(loc = cli_repo_location(g, &cli_cmd_init)))
		return CLI_EXIT_USAGE;
	if ((rc = cli_vault_credentials_missing(loc)) != CLI_EXIT_OK)
		return rc;
	opts.vault_credentials = cli_vault_credentials_env();
	if (kura_location_is_s3(loc)) {
		if ((rc = cli_s3_options(&s3)) != CLI_EXIT_OK)
			return rc;
		if (lock_days)
			s3.lock_days = lock_days;
		s3.no_object_lock = no_object_lock;
		opts.s3 = &s3;
	} else if (lock_days || no_object_lock)
		return cli_usage_error(&cli_cmd_init,
				       "--lock-days and --no-object-lock are for S3 locations");

	if (!(pass = malloc(CLI_PASSPHRASE_MAX))) {
		fputs("kura: out of memory\n", stderr);
		return CLI_EXIT_FATAL;
	}
	if ((rc = get_passphrase(pass)) != CLI_EXIT_OK)
		goto done;
	if ((err = kura_repo_init(&repo, loc, pass, &opts)) < 0) {
		rc = cli_fail(err, err != KURA_EEXISTS	      ? NULL
				   : kura_location_is_s3(loc) ? "choose another bucket or prefix"
							      : "choose a new or empty directory for "
								"the repository");
		goto done;
	}

	if (g->json) {
		rc = cli_json_print(json_pack("{s:s, s:s, s:o}", "message_type", "initialized",
					      "id", kura_repo_id(repo), "repository",
					      cli_json_str(loc)));
	} else if (!g->quiet) {
		printf("created kura repository %s at %s\n\n", kura_repo_id(repo), loc);
		printf(
		    "Without the passphrase nobody can read this repository, you included:\n"
		    "if it is lost, the backups are lost.  Export the restore key now and\n"
		    "keep it offline, with the passphrase stored apart from it:\n"
		    "\n"
		    "    kura key export --output /media/offline/kura-restore.key\n"
		    "\n"
		    "Give backup clients a backup key, which adds backups but cannot read them:\n"
		    "\n"
		    "    kura key backup-key --output backup.key\n");
	}
done:
	cli_passphrase_wipe(pass, CLI_PASSPHRASE_MAX);
	free(pass);
	kura_repo_free(repo);
	return rc;
}

const struct cli_command cli_cmd_init = {
	.name = "init",
	.summary = "create a new repository",
	.usage = "kura init [--chunk-min SIZE] [--chunk-avg SIZE] [--chunk-max SIZE]\n"
		 "                 [--pack-size SIZE] [--compression LEVEL|off]\n"
		 "                 [--kdf interactive|moderate|sensitive]\n"
		 "                 [--lock-days DAYS] [--no-object-lock]",
	.help = "Create a repository at --repo (or $KURA_REPOSITORY), a directory that must\n"
		"not exist or be empty, with a new restore key wrapped under a passphrase.\n"
		"Weak passphrases are refused; long ones of several words are welcome.\n"
		"The settings below are fixed for the life of the repository.\n"
		"\n"
		"Options:\n"
		"      --chunk-min SIZE      smallest chunk (default 256K)\n"
		"      --chunk-avg SIZE      average chunk, a power of two (default 1M)\n"
		"      --chunk-max SIZE      largest chunk (default 4M)\n"
		"      --pack-size SIZE      target pack file size (default 16M)\n"
		"      --compression LEVEL   zstd level 1-19, or off (default 3)\n"
		"      --kdf PROFILE         passphrase hashing cost: interactive, moderate\n"
		"                            (default) or sensitive\n"
		"      --lock-days DAYS      S3: lock every file (COMPLIANCE) for DAYS days\n"
		"                            (default 30); 'kura s3 extend-locks' renews\n"
		"      --no-object-lock      S3: accept a bucket without Object Lock\n"
		"SIZE takes the suffixes K, M and G (binary: 1K = 1024).\n",
	.run = run,
};
