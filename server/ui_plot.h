/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_plot.h - the status page's plot, drawn on the server as inline SVG
 * (no script, no external resource): per UTC day the bytes a repository
 * stored (bars) and the snapshots it has received so far (a line).
 * Pure: the numbers in, the SVG text out.
 */
#ifndef KURA_SERVER_UI_PLOT_H
#define KURA_SERVER_UI_PLOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define UI_PLOT_DAYS_MAX 62 /* the widest window drawn */

typedef struct {
	uint64_t bytes;	    /* stored that day */
	uint64_t snapshots; /* received that day */
} ui_plot_day;

/*
 * Write an <svg> element for the `ndays` days (1..UI_PLOT_DAYS_MAX, the
 * oldest first) ending with UTC day number `last_day` (days since 1970);
 * `before` is the number of snapshots received before the first day.
 * Every bar carries a <title> with its date, bytes and snapshots, so the
 * figures are readable without the picture.  `label` (escaped) names the
 * plot for screen readers.  0, or KURA_EINVAL for a bad ndays.
 */
int ui_plot_svg(FILE *f, const char *label, const ui_plot_day *days, size_t ndays, int64_t last_day,
		uint64_t before);

#endif
