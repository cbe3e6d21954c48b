/* SPDX-License-Identifier: Apache-2.0 */
/*
 * accept.h - `kura scan --accept`: an operator's word that a snapshot's
 * alarm was false, recorded in the repository (docs/FORMAT.md,
 * "Acceptance records") and applied by the next backups of its source
 * (docs/DETECTION.md, "Accepting a false alarm").
 */
#ifndef KURA_ACCEPT_H
#define KURA_ACCEPT_H

#include <stddef.h>
#include <stdint.h>

#include "kura/kura.h"

typedef struct {
	char id[KURA_ID_HEX];	    /* the record's name */
	char snapshot[KURA_ID_HEX]; /* the snapshot accepted */
	int64_t time_ns;	    /* when (the accepting client's clock) */
	uint32_t signals;	    /* 1 << signal (lib/detect/judge.h) */
	size_t ndirs, nexts;
	char *details; /* restore key only: "reason ...", "dir ...", "ext ..." lines */
	char *damage;  /* non-NULL: the record cannot be read, and why */
} kura_accept_info;

/*
 * Accept `snapshot` (an id, prefix or "latest") as a false alarm, for the
 * reason `reason` (may be NULL).  The snapshot is judged by kura_scan; the
 * directories and extensions of the files it names with content signals
 * only (no note, no onion address) are what is accepted.  Writes the
 * record and describes it in *out (kura_accept_info_clear).  Needs the
 * restore key.  KURA_EINVAL when the scan names no file that can be
 * accepted (nothing to accept, or only notes).
 */
int kura_scan_accept(kura_repo *repo, const char *snapshot, const char *reason,
		     kura_accept_info *out);

/* Every acceptance record, oldest first; damaged ones marked (and noted in kura_repo_damage). */
int kura_accepts_list(kura_repo *repo, kura_accept_info **out, size_t *out_count);
void kura_accepts_free(kura_accept_info *list, size_t count);
void kura_accept_info_clear(kura_accept_info *a);

#endif
