/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hold.h - the detection hold (docs/DETECTION.md, "The hold"): while a
 * repository has an open alert, the snapshots from before the attack stay,
 * whatever retention and approved deletions would otherwise allow.
 *
 * From the earliest open alert's raise time T, it keeps
 *   - the newest snapshot of each source (the client that sent it)
 *     received before T: the last clean point of each;
 *   - every snapshot received from T - min_age on: what the policy's
 *     minimum age protected when the alert was raised stays protected while
 *     it is open (and what came after T is evidence).
 * An unreadable alert record holds everything.  Deletion requests ask
 * through deletion_retention (deletion_intake.c), when filed and when
 * carried out.
 */
#ifndef KURA_SERVER_HOLD_H
#define KURA_SERVER_HOLD_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* Reasons the hold adds to policy.h's VAULT_KEEP_* bits. */
#define HOLD_KEEP_LAST 0x100  /* the newest snapshot of its source before the alert */
#define HOLD_KEEP_SINCE 0x200 /* received within min_age before the alert, or after it */
#define HOLD_KEEP_MASK (HOLD_KEEP_LAST | HOLD_KEEP_SINCE)

/*
 * OR the hold's reasons into reasons[i] for each of the nt snapshots of
 * `repo` (times, as policy_snapshot_times gives them).  The sources come
 * from DIR/meta/REPO/snapshot-times (the first line naming each
 * snapshot); a snapshot with no line is of an unknown source, one source
 * of its own.  *out_alert (may be NULL): the alert that holds, 0 if none.
 */
int hold_mark(const char *dir, const char *repo, const vault_policy *p,
	      const vault_snapshot_time *times, size_t nt, unsigned *reasons,
	      unsigned long *out_alert);

/* "held while an alert is open: ..." for the hold's bits of `reasons`. */
void hold_explain(unsigned reasons, char *out, size_t len);

#endif
