/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_version.c - `kura version`: the versions of kura and of the
 * libraries it runs with, as reported by those libraries at run time (the
 * ones actually loaded, which is what a bug report needs).  Needs no
 * repository.
 */
#include "cli.h"

#include <stdio.h>

#include <openssl/crypto.h>
#include <sodium.h>
#include <zstd.h>

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	int c;

	cli_getopt_init(&p, g, &cli_cmd_version, argc, argv, "", NULL);
	while ((c = cli_getopt_next(&p)) != -1)
		if (c == CLI_OPT_STOP)
			return p.status;
	if (optind < argc)
		return cli_usage_error(&cli_cmd_version, "unexpected argument '%s'", argv[optind]);

	if (g->json)
		return cli_json_print(json_pack("{s:s, s:s, s:s, s:s}", "version", KURA_VERSION,
						"libsodium", sodium_version_string(), "zstd",
						ZSTD_versionString(), "openssl",
						OpenSSL_version(OPENSSL_VERSION_STRING)));
	printf("kura %s (libsodium %s, zstd %s, OpenSSL %s)\n", KURA_VERSION,
	       sodium_version_string(), ZSTD_versionString(),
	       OpenSSL_version(OPENSSL_VERSION_STRING));
	return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_version = {
	.name = "version",
	.summary = "print the versions of kura and its libraries",
	.usage = "kura version",
	.help = "Print the version of kura and of the libsodium, zstd and OpenSSL libraries\n"
		"it runs with.\n",
	.run = run,
};
