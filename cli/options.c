/* SPDX-License-Identifier: Apache-2.0 */
/*
 * options.c - argument parsing shared by every command.
 *
 * Each command parses its argv with getopt_long over its own options merged
 * with the global ones (--repo, --json, --quiet, --threads, --help), so
 * `kura --json snapshots` and `kura snapshots --json` mean the same.  GNU
 * argument permutation lets options follow operands ("backup /etc --tag x").
 * Unknown options and missing arguments end the command with a usage
 * message and exit status 2; nothing is ever guessed.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_JSON = 0x100,
	OPT_THREADS,
};

static const struct option global_longs[] = {
	{"repo", required_argument, NULL, 'r'},
	{"json", no_argument, NULL, OPT_JSON},
	{"quiet", no_argument, NULL, 'q'},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

void cli_getopt_init(struct cli_getopt *p, struct cli_global *g, const struct cli_command *cmd,
		     int argc, char **argv, const char *shorts, const struct option *longs)
{
	size_t n = 0, i;

	memset(p, 0, sizeof(*p));
	p->g = g;
	p->cmd = cmd;
	p->argc = argc;
	p->argv = argv;
	/* Leading ':' makes a missing argument return ':' rather than '?'. */
	snprintf(p->shorts, sizeof(p->shorts), ":%sr:qh", shorts ? shorts : "");
	for (i = 0; longs && longs[i].name && n < 31 - 5; i++)
		p->longs[n++] = longs[i];
	for (i = 0; global_longs[i].name; i++)
		p->longs[n++] = global_longs[i];
	/* 0 makes glibc start a fresh scan, as main() already used getopt. */
	optind = 0;
	opterr = 0;
}

/* The option as the user typed it, for error messages. */
static const char *bad_option(const struct cli_getopt *p, char *buf, size_t size)
{
	const char *last = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "?";

	if (strncmp(last, "--", 2) != 0 && optopt > 0 && optopt < 0x100) {
		snprintf(buf, size, "-%c", optopt);
		return buf;
	}
	return last;
}

int cli_getopt_next(struct cli_getopt *p)
{
	char buf[8];
	int c;

	for (;;) {
		c = getopt_long(p->argc, p->argv, p->shorts, p->longs, NULL);
		p->arg = optarg;
		switch (c) {
		case 'r':
			p->g->repo = optarg;
			break;
		case 'q':
			p->g->quiet = true;
			break;
		case OPT_JSON:
			p->g->json = true;
			break;
		case OPT_THREADS:
			if (cli_parse_int(&p->g->threads, optarg, 0, 1024) < 0) {
				p->status = cli_usage_error(
					p->cmd, "--threads wants a number from 0 to 1024, not '%s'",
					optarg);
				return CLI_OPT_STOP;
			}
			break;
		case 'h':
			cli_help_command(p->cmd);
			p->status = CLI_EXIT_OK;
			return CLI_OPT_STOP;
		case ':':
			p->status = cli_usage_error(p->cmd, "option '%s' needs an argument",
						    bad_option(p, buf, sizeof(buf)));
			return CLI_OPT_STOP;
		case '?':
			p->status = cli_usage_error(p->cmd, "unknown option '%s'",
						    bad_option(p, buf, sizeof(buf)));
			return CLI_OPT_STOP;
		default:
			return c;
		}
	}
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("kura: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd) {
		fprintf(stderr, "Usage: %s\n", cmd->usage);
		fprintf(stderr, "Try 'kura %s --help' for more information.\n", cmd->name);
	} else {
		fputs("Try 'kura --help' for more information.\n", stderr);
	}
	return CLI_EXIT_USAGE;
}

int cli_parse_size(uint64_t *out, const char *s)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': mult = 1ULL << 10; end++; break;
	case 'm': case 'M': mult = 1ULL << 20; end++; break;
	case 'g': case 'G': mult = 1ULL << 30; end++; break;
	case 't': case 'T': mult = 1ULL << 40; end++; break;
	}
	/* Accept "4M", "4MB" and "4MiB" alike: all binary. */
	if (mult > 1 && *end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*out = (uint64_t)v * mult;
	return 0;
}

int cli_parse_int(int *out, const char *s, int min, int max)
{
	long v;
	char *end;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

int cli_strlist_add(struct cli_strlist *l, const char *s)
{
	const char **items = realloc(l->items, (l->count + 1) * sizeof(*items));

	if (!items) {
		fputs("kura: out of memory\n", stderr);
		return -1;
	}
	items[l->count++] = s;
	l->items = items;
	return 0;
}

void cli_strlist_free(struct cli_strlist *l)
{
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

int cli_parse_duration(int64_t *out, const char *s)
{
	unsigned long long v;
	int64_t unit = 1;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case '\0': break;
	case 's': unit = 1; end++; break;
	case 'm': unit = 60; end++; break;
	case 'h': unit = 3600; end++; break;
	case 'd': unit = 86400; end++; break;
	default: return -1;
	}
	if (*end || v > (unsigned long long)CLI_DURATION_MAX / (unsigned long long)unit)
		return -1;
	*out = (int64_t)v * unit;
	return 0;
}

const char *cli_fmt_duration_short(char buf[CLI_FMT_MAX], int64_t s)
{
	if (s <= 0)
		snprintf(buf, CLI_FMT_MAX, "0");
	else if (s % 86400 == 0)
		snprintf(buf, CLI_FMT_MAX, "%lldd", (long long)(s / 86400));
	else if (s % 3600 == 0)
		snprintf(buf, CLI_FMT_MAX, "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0)
		snprintf(buf, CLI_FMT_MAX, "%lldm", (long long)(s / 60));
	else
		snprintf(buf, CLI_FMT_MAX, "%llds", (long long)s);
	return buf;
}
