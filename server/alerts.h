/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alerts.h - the vault's one alerts room (docs/PROTOCOL.md, "Alerts"):
 * every feature that must tell the operator something is wrong (detection,
 * silence, login and deletion bursts, quotas, restore drills) raises an
 * alert here, and nowhere else.
 *
 * An alert is a durable record, DIR/alerts/ID.json, written under an
 * exclusive flock on DIR/alerts/.lock (by `kurad serve` and by `kurad
 * alert resolve` in its own process).  One (repository, kind) has at most
 * one open alert: raising it again refreshes it (count, last_seen).  An
 * alert is closed only by a quorum of approvers' signatures, checked every
 * time the record is read, so neither a writer credential nor an edit of
 * the record without approver keys can close one.
 */
#ifndef KURA_SERVER_ALERTS_H
#define KURA_SERVER_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

typedef struct vault vault;

#define ALERT_SUMMARY_MAX 400	       /* bytes kept of a summary */
#define ALERT_RECENT_S (7 * 24 * 3600) /* resolved alerts stay in the status this long */

/*
 * Raise an alert, or refresh the open alert of this (repo, kind): count+1,
 * last_seen, summary and details replaced.  `repo` NULL or "" for an
 * alert of the whole vault (a login burst); `kind` a short word
 * ("bytes-surge", "silence", "login-burst", "deletion-burst", "quota",
 * "drill-failed", "drill-overdue", "detection"); `summary` one line for
 * people (control characters become '?', cut at ALERT_SUMMARY_MAX);
 * `details_json` the text of a JSON object, or NULL.  Writes the record
 * (fsynced), an audit entry (method ALERT) when the vault has its log open,
 * and, for a new alert only, sends it out ("opened", alert_out.h: the
 * command, syslog, the webhook).  Thread-safe.
 * *out_id (may be NULL) gets the alert's id.
 */
int alerts_raise_id(vault *v, const char *repo, const char *kind, const char *summary,
		    const char *details_json, unsigned long *out_id);
int alerts_raise(vault *v, const char *repo, const char *kind, const char *summary,
		 const char *details_json);

/*
 * true if `repo` has an open alert of any kind (vault-wide alerts do not
 * count).  A record that cannot be read counts as open for the repository
 * it names, and as open for every repository if it names none that can be
 * read: when in doubt, hold.
 */
bool alerts_open_for_repo(vault *v, const char *repo);
bool alerts_open_for_repo_dir(const char *dir, const char *repo);

/*
 * As alerts_open_for_repo, and when the hold starts: *out_since_ns the
 * earliest start of the repository's open alerts, *out_id that alert's id.
 * An alert starts at its raise time, or earlier at its details' "since_ns"
 * (an integer > 0: when the suspect activity began, such as the receive
 * time of the snapshot that raised it).  An unreadable record gives 0 (since the beginning: hold
 * everything) and its id.
 */
bool alerts_open_since(const char *dir, const char *repo, int64_t *out_since_ns,
		       unsigned long *out_id);

/*
 * The alerts as a JSON array, oldest first, each record as stored plus
 * what it means now ("state": open, resolved or corrupt; "quorum",
 * "approvals_valid", a "valid" flag on each approval).  alerts_json: the
 * open ones and those resolved in the last ALERT_RECENT_S (for `kurad
 * status`); alerts_list with `all`: every one.  *out belongs to the caller.
 */
int alerts_json(vault *v, json_t **out);
int alerts_list(const char *dir, bool all, int64_t now_ns, json_t **out);

/*
 * `kurad serve`'s tick: write the audit entries for approvals and
 * resolutions made by `kurad alert resolve` (its own process cannot write
 * the log serve holds), and send each newly resolved alert out once
 * ("closed", alert_out.h).  Cheap when nothing changed.
 */
int alerts_tick(vault *v);

#endif
