/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_facts.h - what the status page and /metrics show beyond the status
 * document (status.h): each repository's snapshots and stored bytes per
 * day, each writer's usual interval between backups, the audit log's tail
 * and whether it verifies.  Read only; every file read here is treated
 * as hostile (a line that does not parse is skipped, never trusted).
 */
#ifndef KURA_SERVER_UI_FACTS_H
#define KURA_SERVER_UI_FACTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ui_plot.h"
#include "vault_state.h"

#define UI_FACTS_DAYS 30    /* the plot's window, today included */
#define UI_FACTS_CLIENTS 64 /* writers of one repository tracked; more are left out */
#define UI_FACTS_HISTORY 21 /* receive times kept per writer (the silence rule's 20 intervals) */
#define UI_DEFAULT_INTERVAL_S 86400 /* a writer with too short a history: daily backups assumed */
#define UI_AUDIT_RECHECK_S 60	    /* the log is verified again at most this often */

typedef struct {
	char name[VAULT_NAME_MAX + 1];
	int64_t times[UI_FACTS_HISTORY]; /* its newest receive times, ascending */
	size_t n;			 /* how many of them */
	uint64_t total;			 /* snapshots received from it */
	int64_t last_ns;		 /* 0: none */
	int64_t usual_s;		 /* inferred interval; 0: not enough history */
	int64_t limit_s;		 /* late past this age of the last backup */
	bool late;
} ui_writer;

typedef struct {
	int64_t last_day; /* today's UTC day number */
	ui_plot_day days[UI_FACTS_DAYS];
	uint64_t before; /* snapshots received before the window */
	size_t nwriters;
	ui_writer writers[UI_FACTS_CLIENTS];
} ui_repo_facts;

/*
 * Repository `repo`'s facts at now_ns: snapshots per day and per writer
 * from DIR/meta/REPO/snapshot-times, bytes per day from its quota ledger,
 * and for each writer its usual interval (the median of its last 20, as
 * the silence alert infers it: watch.h) and whether its last backup is
 * late: older than max(2 x usual, usual + silence_min), or with fewer than
 * four backups, older than UI_DEFAULT_INTERVAL_S + silence_min.
 */
int ui_facts_repo(vault *v, const char *repo, int64_t now_ns, ui_repo_facts *out);

/* The writer `name` in f, or NULL. */
const ui_writer *ui_facts_writer(const ui_repo_facts *f, const char *name);

/*
 * The last `n` entries of DIR/audit/log.jsonl as a JSON array (oldest
 * first), read from the end of the file; lines that do not parse are left
 * out.  *out belongs to the caller.
 */
int ui_audit_tail(const char *dir, size_t n, json_t **out);

/* The audit log's verification. */
typedef struct {
	bool known; /* a check has run */
	bool intact;
	int64_t checked_ns; /* when */
	char summary[512];  /* the check's last line, or its first problem */
} ui_audit_verdict;

/* The verdict, cached: a full check reads the whole log. */
typedef struct ui_audit_check {
	pthread_mutex_t lock;
	ui_audit_verdict last;
} ui_audit_check;

void ui_audit_check_init(ui_audit_check *c);
void ui_audit_check_fini(ui_audit_check *c);

/*
 * The verdict as of now_ns: the cached one when younger than
 * UI_AUDIT_RECHECK_S, else the log is verified again (audit_verify).  A
 * failed check is repeated once before it is believed: the serving vault
 * appends while we read.
 */
void ui_audit_check_get(ui_audit_check *c, const char *dir, int64_t now_ns, ui_audit_verdict *out);

#endif
