/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_page.h - the status page's HTML (docs/PROTOCOL.md, "Status page"),
 * rendered on the server from the status document and the facts of
 * ui_facts.h: no script, no inline style, no external resource; every
 * string from a repository, client, alert or the audit log is escaped
 * (ui_html.h).  Pure: it reads only what it is given.
 */
#ifndef KURA_SERVER_UI_PAGE_H
#define KURA_SERVER_UI_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ui_facts.h"

#define UI_AUDIT_TAIL 20 /* audit entries shown */

typedef struct {
	const json_t *status;	    /* status.h's document */
	const ui_repo_facts *facts; /* one per status["repositories"][i] */
	size_t nfacts;
	const json_t *audit_tail; /* ui_audit_tail's array */
	const ui_audit_verdict *audit;
	uint64_t audit_entries; /* the log's length (its signed head) */
	const char *viewer;	/* the auditor logged in */
	const char *vault;	/* the vault's listen address, for the title */
	int64_t now_ns;
} ui_page_input;

/* The page (*out malloc'd). */
int ui_page_render(const ui_page_input *in, char **out);

/* The login form; `message` (escaped; NULL for none) says why it is shown again. */
int ui_page_login(const char *message, char **out);

/* A short page for an answer without the status: its title and a line (both escaped). */
int ui_page_notice(const char *title, const char *line, char **out);

/* The style sheet served at /ui/style.css. */
extern const char ui_page_css[];

#endif
