/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_html.c - escaping and small formats for the status page (ui_html.h).
 */
#include "ui_html.h"

#include <inttypes.h>
#include <string.h>

void ui_html_text(FILE *f, const char *s)
{
	if (!s)
		return;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc((c < 0x20 && c != '\t') || c == 0x7f ? '?' : c, f);
		}
	}
}

void ui_html_text_cut(FILE *f, const char *s, size_t max)
{
	char buf[512];
	size_t n;

	if (!s)
		return;
	n = strlen(s);
	if (max >= sizeof(buf))
		max = sizeof(buf) - 1;
	if (n <= max) {
		ui_html_text(f, s);
		return;
	}
	/* Back up to the start of a UTF-8 character. */
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(buf, s, n);
	buf[n] = '\0';
	ui_html_text(f, buf);
	fputs("\xe2\x80\xa6", f);
}

void ui_html_bytes(char out[32], uint64_t n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double d = (double)n;
	int u = 0;

	while (d >= 1024 && u < 6) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, 32, "%" PRIu64 " B", n);
	else
		snprintf(out, 32, "%.1f %s", d, units[u]);
}

void ui_html_age(char out[32], int64_t s)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, 32, "%" PRId64 " s", s);
	else if (s < 2 * 3600)
		snprintf(out, 32, "%" PRId64 " min", s / 60);
	else if (s < 2 * 86400)
		snprintf(out, 32, "%.1f h", (double)s / 3600);
	else
		snprintf(out, 32, "%.1f d", (double)s / 86400);
}
