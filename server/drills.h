/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drills.h - the vault's view of restore drills (docs/PROTOCOL.md,
 * "Drills"): the newest drill record of a repository, read from its
 * plaintext summary without a key, and whether the repository is due an
 * alert because its last drill failed or it has not been drilled within
 * the policy's drill_every.
 */
#ifndef KURA_SERVER_DRILLS_H
#define KURA_SERVER_DRILLS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "format/drillrec.h"
#include "kura/backend.h"

typedef struct {
	uint64_t count;             /* drill records stored */
	bool found;                 /* a readable newest record exists */
	char id[KURA_ID_HEX];
	int64_t received_ns;        /* when the vault stored it (its own clock) */
	kura_drillrec rec;          /* its summary (details are never read here) */
	int64_t since_ns;           /* no drill: when the repository was made (0: unknown) */
} vault_drill_state;

/* The newest readable drill record of the repository held by `b` (a local backend). */
int drills_state(kura_backend *b, vault_drill_state *out);

/*
 * Overdue: drill_every_s > 0 and the newest drill (or, without one, the
 * repository itself) is older than that.  Failed: the newest drill failed.
 */
bool drills_overdue(const vault_drill_state *d, int64_t drill_every_s, int64_t now_ns);
bool drills_failed(const vault_drill_state *d);

/*
 * Add "drills", "last_drill" (null or an object: id, snapshot, received,
 * age_seconds, result, failed, mode, sample_percent, files_verified,
 * files_failed, bytes_verified, rto_seconds, restore_seconds) and
 * "drill_overdue" to a repository's status object.
 */
int drills_status_add(json_t *repo, const vault_drill_state *d, int64_t drill_every_s,
		      int64_t now_ns);

/* The drills table of `kurad status` from the status document's "repositories". */
void drills_print(const json_t *repos);

#define DRILLS_CHECK_S 10 /* how often `kurad serve` looks at every repository's drills */

typedef struct vault vault;

/*
 * `kurad serve`'s tick: at most every DRILLS_CHECK_S, raise the alert
 * "drill-failed" for a repository whose newest drill record failed, and
 * "drill-overdue" for one overdue under the policy's drill_every (alerts.h).
 * Each is raised when it starts (a new failed record; a repository turning
 * overdue), not again every check; a restart raises what is still true
 * once more, which refreshes the open alert.  Called from one thread.
 */
int drills_tick(vault *v, int64_t now_ns);

#endif
