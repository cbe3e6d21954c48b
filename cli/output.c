/* SPDX-License-Identifier: Apache-2.0 */
/*
 * output.c - formatting for people and for scripts.
 *
 * People get binary sizes with two decimals ("1.21 GiB"), local times
 * without a zone ("2026-11-25 20:31:07") and durations as M:SS.  Scripts get
 * compact one-line JSON through jansson, with times in RFC 3339 UTC to the
 * nanosecond.  File names are bytes, JSON strings are UTF-8: a name that is
 * not valid UTF-8 is shown with each bad byte replaced by U+FFFD rather
 * than dropped, so the record still appears and can be spotted.
 */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *cli_fmt_size(char buf[CLI_FMT_MAX], uint64_t bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, CLI_FMT_MAX, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, CLI_FMT_MAX, "%.2f %s", v, units[u]);
	return buf;
}

const char *cli_fmt_time_local(char buf[CLI_FMT_MAX], int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, CLI_FMT_MAX, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, CLI_FMT_MAX, "@%lld", (long long)sec);
	return buf;
}

const char *cli_fmt_time_rfc3339(char buf[CLI_FMT_MAX], int64_t sec, uint32_t nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	size_t n;

	if (!gmtime_r(&t, &tm) || !(n = strftime(buf, CLI_FMT_MAX, "%Y-%m-%dT%H:%M:%S", &tm))) {
		snprintf(buf, CLI_FMT_MAX, "@%lld", (long long)sec);
		return buf;
	}
	snprintf(buf + n, CLI_FMT_MAX - n, ".%09uZ", (unsigned)(nsec % 1000000000u));
	return buf;
}

const char *cli_fmt_duration(char buf[CLI_FMT_MAX], double seconds)
{
	unsigned long long s = seconds > 0 ? (unsigned long long)(seconds + 0.5) : 0;

	if (s >= 3600)
		snprintf(buf, CLI_FMT_MAX, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, CLI_FMT_MAX, "%llu:%02llu", s / 60, s % 60);
	return buf;
}

const char *cli_fmt_mode(char buf[CLI_FMT_MAX], int type, uint32_t mode)
{
	static const char rwx[] = "rwxrwxrwx";
	char c;
	int i;

	switch (type) {
	case KURA_NODE_DIR: c = 'd'; break;
	case KURA_NODE_SYMLINK: c = 'l'; break;
	case KURA_NODE_FIFO: c = 'p'; break;
	case KURA_NODE_CHARDEV: c = 'c'; break;
	case KURA_NODE_BLOCKDEV: c = 'b'; break;
	case KURA_NODE_SOCKET: c = 's'; break;
	default: c = '-'; break; /* files and hard links, as ls(1) shows them */
	}
	buf[0] = c;
	for (i = 0; i < 9; i++)
		buf[1 + i] = mode & (0400u >> i) ? rwx[i] : '-';
	if (mode & 04000)
		buf[3] = mode & 0100 ? 's' : 'S';
	if (mode & 02000)
		buf[6] = mode & 0010 ? 's' : 'S';
	if (mode & 01000)
		buf[9] = mode & 0001 ? 't' : 'T';
	buf[10] = '\0';
	return buf;
}

const char *cli_node_type_name(int type)
{
	switch (type) {
	case KURA_NODE_FILE: return "file";
	case KURA_NODE_DIR: return "dir";
	case KURA_NODE_SYMLINK: return "symlink";
	case KURA_NODE_HARDLINK: return "hardlink";
	case KURA_NODE_FIFO: return "fifo";
	case KURA_NODE_CHARDEV: return "chardev";
	case KURA_NODE_BLOCKDEV: return "blockdev";
	case KURA_NODE_SOCKET: return "socket";
	default: return "unknown";
	}
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	uint32_t cp;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

json_t *cli_json_str(const char *s)
{
	const unsigned char *p;
	json_t *j;
	char *copy, *q;
	size_t n;

	if (!s)
		return json_null();
	if ((j = json_string(s)))
		return j;
	/* Not UTF-8: each bad byte becomes the 3-byte U+FFFD. */
	if (!(copy = malloc(strlen(s) * 3 + 1)))
		return NULL;
	for (p = (const unsigned char *)s, q = copy; *p; p += n) {
		if ((n = utf8_seq(p))) {
			memcpy(q, p, n);
			q += n;
		} else {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			n = 1;
		}
	}
	*q = '\0';
	j = json_string(copy);
	free(copy);
	return j;
}

json_t *cli_json_u64(uint64_t v)
{
	return json_integer(v > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)v);
}

int cli_json_print(json_t *value)
{
	int rc;

	if (!value) {
		fputs("kura: out of memory building JSON output\n", stderr);
		return CLI_EXIT_FATAL;
	}
	rc = json_dumpf(value, stdout, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
	json_decref(value);
	if (rc < 0 || fputc('\n', stdout) == EOF) {
		fputs("kura: cannot write JSON output\n", stderr);
		return CLI_EXIT_FATAL;
	}
	return CLI_EXIT_OK;
}
