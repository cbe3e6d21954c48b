/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_record.h - the alert files, DIR/alerts/ID.json (docs/PROTOCOL.md,
 * "Alerts"): strict parsing, writing, the lock, and what an approver signs
 * to resolve one.  Shared by alerts.c (raise, list, tick) and
 * alert_resolve.c (`kurad alert resolve`); callers outside use alerts.h.
 *
 * A record is parsed strictly every time it is read; one that does not
 * parse is "corrupt", counts as open (when in doubt, hold) and is never
 * changed.  Whether an alert is resolved is decided from its approvals'
 * signatures as they verify now, never from a flag in the file.
 */
#ifndef KURA_SERVER_ALERT_RECORD_H
#define KURA_SERVER_ALERT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vault_state.h"

#define ALERT_ID_MAX 999999999UL
#define ALERT_KIND_MAX 31 /* [a-z][a-z0-9-]{0,30} */
#define ALERT_APPROVALS_MAX 100
#define ALERT_FILE_MAX (256 * 1024)

typedef struct {
	unsigned long id;
	json_t *doc;   /* the record as stored; NULL when corrupt */
	char *corrupt; /* why it cannot be read, or NULL */
	char repo[VAULT_NAME_MAX + 1]; /* "" for the whole vault (or unknown when corrupt) */
} alert_rec;

void alert_recs_free(alert_rec *rs, size_t n);

/* 1 if `kind` is [a-z][a-z0-9-]{0,30}. */
int alert_kind_ok(const char *kind);

/*
 * Lock DIR/alerts (made if missing) against every other writer, in this
 * process and others: *out_fd is the flock'd .lock file, *out_adir the
 * directory's path (malloc'd).  alert_record_unlock(fd) releases both.
 */
int alert_record_lock(const char *dir, int *out_fd, char **out_adir);
void alert_record_unlock(int fd);

/*
 * Every record in `adir`, by id; a missing directory is none.  *out_max_id
 * (may be NULL) the largest id seen, corrupt ones included.
 */
int alert_record_load_all(const char *adir, alert_rec **out, size_t *out_n,
			  unsigned long *out_max_id);

/*
 * Parse the `len` bytes of `text` as the record of alert `id` (`path`
 * names it in messages): 0 with r->doc set, or KURA_ECORRUPT naming the
 * problem (r->doc NULL).  alert_recs_free-style cleanup: json_decref(r->doc).
 */
int alert_record_parse(alert_rec *r, unsigned long id, const char *text, size_t len,
		       const char *path);

/* Write rec->doc as ADIR/ID.json (fresh: only if no such file exists yet). */
int alert_record_save(const char *adir, const alert_rec *rec, bool fresh);

/* The bytes an approver signs to resolve the alert in `doc`; *out malloc'd. */
int alert_record_statement(const json_t *doc, const char *vkey, char **out, size_t *out_len);

/*
 * Distinct approvers whose approval of `doc` verifies now (valid[i], if
 * not NULL, says which approval does), and whether that resolves it: the
 * record names a quorum of at least 1 with "resolved_ns", and at least that
 * many approvals verify.
 */
size_t alert_record_valid(const char *dir, const char *vkey, const json_t *doc, bool *valid,
			  bool *out_resolved);

#endif
