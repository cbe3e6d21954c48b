/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kurad_cmd.c - the pieces every `kurad` command uses (kurad_cmd.h): the
 * option parser, usage and error messages, and the small formatters of
 * the JSON documents the commands print.
 */
#include "kurad_cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/error.h"

int kurad_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("kurad: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

int kurad_fail(const char *what)
{
	if (what)
		fprintf(stderr, "kurad: %s: %s\n", what, kura_error_message());
	else
		fprintf(stderr, "kurad: %s\n", kura_error_message());
	return EXIT_ERROR;
}

int kurad_parse_args(int argc, char **argv, const kurad_option *opts, const char **pos, int max_pos,
		     int *npos, bool *help, const char *usage)
{
	bool only_pos = false;
	int i, j;

	*npos = 0;
	*help = false;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *eq;
		size_t nlen;

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (*npos >= max_pos)
				return kurad_usage_error(usage, "unexpected argument '%s'", a);
			pos[(*npos)++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			*help = true;
			return EXIT_OK;
		}
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (j = 0; opts && opts[j].name; j++)
			if (strlen(opts[j].name) == nlen && strncmp(opts[j].name, a, nlen) == 0)
				break;
		if (!opts || !opts[j].name)
			return kurad_usage_error(usage, "unknown option '%s'", a);
		if (!opts[j].has_value) {
			if (eq)
				return kurad_usage_error(usage, "%s takes no value", opts[j].name);
			*opts[j].flag = true;
		} else if (eq) {
			*opts[j].value = eq + 1;
		} else if (i + 1 < argc) {
			*opts[j].value = argv[++i];
		} else {
			return kurad_usage_error(usage, "%s needs a value", opts[j].name);
		}
	}
	return EXIT_OK;
}

const char *kurad_ns_time(const json_t *ns, char out[40])
{
	time_t sec;
	struct tm tm;

	if (!json_is_integer(ns))
		return NULL;
	sec = (time_t)(json_integer_value(ns) / 1000000000);
	gmtime_r(&sec, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

const char *kurad_jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

bool kurad_parse_id(const char *s, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 9)
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return i > 0 && v > 0;
}
