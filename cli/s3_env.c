/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_env.c - how the command line reaches an S3 store: the library reads
 * no environment, so the conventional variables every S3 client reads are
 * read here and handed to the library as kura_s3_options.
 *
 *   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN  credentials
 *   AWS_REGION (or AWS_DEFAULT_REGION)   the signing region (us-east-1)
 *   AWS_ENDPOINT_URL                     the endpoint for s3://BUCKET/PREFIX
 *   KURA_S3_ADDRESSING=virtual           BUCKET.HOST addressing (default path)
 *   KURA_S3_LOCK_DAYS                    the lock period of a repository that
 *                                        `kura copy --to s3:...` creates
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int cli_s3_options(kura_s3_options *o)
{
	const char *days = env("KURA_S3_LOCK_DAYS"), *addr = env("KURA_S3_ADDRESSING");
	int d;

	memset(o, 0, sizeof(*o));
	o->version = KURA_S3_OPTIONS_VERSION;
	o->access_key = env("AWS_ACCESS_KEY_ID");
	o->secret_key = env("AWS_SECRET_ACCESS_KEY");
	o->session_token = env("AWS_SESSION_TOKEN");
	o->region = env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
	o->endpoint = env("AWS_ENDPOINT_URL");
	if (addr && strcmp(addr, "virtual") != 0 && strcmp(addr, "path") != 0) {
		fprintf(stderr, "kura: KURA_S3_ADDRESSING wants 'path' or 'virtual', not '%s'\n",
			addr);
		return CLI_EXIT_USAGE;
	}
	o->virtual_host = addr && strcmp(addr, "virtual") == 0;
	if (days) {
		if (cli_parse_int(&d, days, 1, 36500) < 0) {
			fprintf(stderr, "kura: KURA_S3_LOCK_DAYS wants 1 to 36500 days, not '%s'\n",
				days);
			return CLI_EXIT_USAGE;
		}
		o->lock_days = (uint32_t)d;
	}
	return CLI_EXIT_OK;
}
