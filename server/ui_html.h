/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_html.h - writing HTML text safely for the status page (ui_page.c,
 * ui_plot.c): every string that comes from a repository, a client, an
 * alert or the audit log goes through ui_html_text, never straight into
 * the page.  Pure: no vault, no network.
 */
#ifndef KURA_SERVER_UI_HTML_H
#define KURA_SERVER_UI_HTML_H

#include <stdint.h>
#include <stdio.h>

/*
 * Write `s` to `f` escaped for HTML text and for a quoted attribute value:
 * & < > " ' become entities; control bytes (below 0x20 but tab, and 0x7f)
 * become '?'.  NULL writes nothing.  Bytes above 0x7f pass as they are:
 * what reaches the page comes from jansson, which keeps only valid UTF-8.
 */
void ui_html_text(FILE *f, const char *s);

/* At most `max` bytes of `s` (cut at a character boundary, then "…"), escaped. */
void ui_html_text_cut(FILE *f, const char *s, size_t max);

/* A byte count for people: "812 B", "3.4 MiB". */
void ui_html_bytes(char out[32], uint64_t n);

/* An age in seconds for people: "45 s", "12 min", "5.2 h", "3.1 d". */
void ui_html_age(char out[32], int64_t seconds);

#endif
