/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_out.h - where alerts go (docs/kurad.8 ALERTS): the operator's
 * command (vault.json "alert_command"), syslog ("alert_syslog") and a
 * webhook ("alert_webhook").  Each alert is sent once when it opens and
 * once when the approver quorum closes it, to all three alike, with the
 * same JSON document (alert_out_document); refreshes are not sent.
 */
#ifndef KURA_SERVER_ALERT_OUT_H
#define KURA_SERVER_ALERT_OUT_H

#include <jansson.h>

typedef struct vault vault;

/*
 * Check vault.json's "alert_command", "alert_webhook" and "alert_syslog"
 * in DIR (for `kurad serve` to refuse bad ones at start).  0, or
 * KURA_ECORRUPT naming the first problem.
 */
int alert_out_check(const char *dir);

/*
 * The document sent about the alert record `doc` for `event` ("opened"
 * or "closed"): event, id, repo (null for the whole vault), kind,
 * summary, details, count, raised_ns, last_seen_ns, resolved_ns.  The
 * caller's; NULL when out of memory.
 */
json_t *alert_out_document(const json_t *doc, const char *event);

/*
 * Send the alert record `doc` for `event` to everything vault.json names.
 * Never blocks on a receiver: the command is started detached, syslog is
 * local, the webhook is queued.  A problem with one does not stop the
 * others; each is logged on stderr.  Returns what happened to the command
 * for the record ("started", "failed: ...", "not run: ..."), malloc'd, or
 * NULL when there is no command.
 */
char *alert_out_send(vault *v, const json_t *doc, const char *event);

#endif
