/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_plot.c - the status page's SVG plot (ui_plot.h).  Coordinates are
 * computed here; the page's style sheet gives the colours through the
 * classes, with presentation attributes as the fallback, and never an
 * inline style (the page's Content-Security-Policy forbids them).
 */
#include "ui_plot.h"

#include <inttypes.h>
#include <time.h>

#include "common/error.h"
#include "ui_html.h"

#define W 640
#define H 220
#define LEFT 70	 /* room for the bytes axis */
#define RIGHT 90 /* and the snapshots axis */
#define TOP 16
#define BOTTOM 34 /* and the dates */

static void day_text(char out[16], int64_t day)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

int ui_plot_svg(FILE *f, const char *label, const ui_plot_day *days, size_t ndays, int64_t last_day,
		uint64_t before)
{
	const double pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
	uint64_t max_bytes = 0, total = before, max_snaps;
	char text[32], date[16];
	double slot, x, y, bh;
	size_t i;

	if (ndays == 0 || ndays > UI_PLOT_DAYS_MAX)
		return kura_error_set(KURA_EINVAL, "a plot of %zu days (1..%d)", ndays,
				      UI_PLOT_DAYS_MAX);
	for (i = 0; i < ndays; i++) {
		if (days[i].bytes > max_bytes)
			max_bytes = days[i].bytes;
		total += days[i].snapshots;
	}
	max_snaps = total ? total : 1;
	slot = pw / (double)ndays;

	fprintf(f,
		"<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		"width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"",
		W, H, W, H);
	ui_html_text(f, label);
	fputs("\">\n<title>", f);
	ui_html_text(f, label);
	fputs("</title>\n", f);
	/* Axes. */
	fprintf(f,
		"<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n",
		LEFT, TOP, LEFT, H - BOTTOM);
	fprintf(f,
		"<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n",
		LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM);
	ui_html_bytes(text, max_bytes);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\">%s/day</text>\n",
		LEFT - 4, TOP + 4, text);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\">0</text>\n",
		LEFT - 4, H - BOTTOM);
	fprintf(f,
		"<text class=\"snaps\" x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#1a5fb4\">%" PRIu64
		" snapshots</text>\n",
		W - RIGHT + 4, TOP + 4, max_snaps);

	/* Bars: bytes stored per day. */
	for (i = 0; i < ndays; i++) {
		int64_t day = last_day - (int64_t)(ndays - 1 - i);

		bh = max_bytes ? ph * (double)days[i].bytes / (double)max_bytes : 0;
		x = LEFT + slot * (double)i + slot * 0.15;
		y = TOP + ph - bh;
		day_text(date, day);
		ui_html_bytes(text, days[i].bytes);
		fprintf(f,
			"<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			"fill=\"#7aa6d6\" data-day=\"%s\" data-bytes=\"%" PRIu64
			"\" data-snapshots=\"%" PRIu64 "\"><title>%s: %s stored (%" PRIu64
			" bytes), %" PRIu64 " snapshot%s</title></rect>\n",
			x, y, slot * 0.7, bh, date, days[i].bytes, days[i].snapshots, date, text,
			days[i].bytes, days[i].snapshots, days[i].snapshots == 1 ? "" : "s");
	}
	/* The line: snapshots received so far, at the end of each day. */
	fputs("<polyline class=\"line\" fill=\"none\" stroke=\"#1a5fb4\" stroke-width=\"2\" "
	      "points=\"",
	      f);
	total = before;
	for (i = 0; i < ndays; i++) {
		total += days[i].snapshots;
		x = LEFT + slot * ((double)i + 0.5);
		y = TOP + ph - ph * (double)total / (double)max_snaps;
		fprintf(f, "%s%.1f,%.1f", i ? " " : "", x, y);
	}
	fputs("\"/>\n", f);
	/* The first and last dates under the axis. */
	day_text(date, last_day - (int64_t)(ndays - 1));
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n", LEFT, H - BOTTOM + 16,
		date);
	day_text(date, last_day);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\">%s</text>\n",
		W - RIGHT, H - BOTTOM + 16, date);
	fputs("</svg>\n", f);
	return 0;
}
