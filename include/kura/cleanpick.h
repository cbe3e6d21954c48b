/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cleanpick.h - `kura restore --clean`: every file at its newest clean
 * version (docs/DETECTION.md, "restore --clean").
 *
 * A plan is made from kura_scan_chain: the snapshot's source judged from
 * its first snapshot up to it, so that each path's first suspect snapshot
 * is known.  The attack's window starts at the last snapshot before the
 * first suspect one, or earlier when an unbroken run of snapshots naming
 * suspect files leads up to it (a slow attack).  Every path seen from the
 * window's start to the snapshot is then taken from the newest snapshot
 * in which it had not yet turned suspect; a path none of whose versions
 * is clean (a ransom note, an encrypted copy) is left out, and so is a new
 * file named like the attack's renames (x.docx.locked) whose original is
 * restored (the scan cannot judge files under 512 bytes).  A path gone
 * since the window began comes back when the attack explains it (a
 * renamed copy, or a snapshot whose mass deletion was a signal); one
 * deleted with no such sign stays deleted, as the user left it.  The plan is
 * then restored from all the snapshots it names into one target.
 */
#ifndef KURA_CLEANPICK_H
#define KURA_CLEANPICK_H

#include <stddef.h>
#include <stdint.h>

#include "kura/kura.h"

/* Why a path is restored from where it is, or left out. */
enum {
	KURA_CLEAN_NEWEST = 0,	/* the snapshot's own version, never suspect */
	KURA_CLEAN_BEFORE = 1,	/* it turned suspect: the version before it did */
	KURA_CLEAN_GONE = 2,	/* gone from the snapshot in a suspect one whose deletions were
				   themselves a signal (>= 10 points): its last version */
	KURA_CLEAN_ATTACK = 3,	/* left out: no version of it is clean (notes, encrypted copies) */
	KURA_CLEAN_RENAMED = 4, /* left out: new, named like the attack's renames, and its
				   original is restored */
	KURA_CLEAN_DELETED = 5, /* left out: deleted since the window began, with no sign of the
				   attack (no renamed copy, no mass deletion) */
	KURA_CLEAN_NWHY = 6
};

typedef struct {
	char *path;	      /* in the snapshot: "/a/b" */
	int why;	      /* KURA_CLEAN_* */
	size_t from;	      /* index into the plan's chain; SIZE_MAX when left out */
	size_t first_suspect; /* index into the chain; SIZE_MAX: never listed */
	char *reasons;	      /* the scan's reasons ("renamed-to-noise,..."), or NULL */
	char *original;	      /* KURA_CLEAN_RENAMED: the path restored in its place */
	size_t gone_in;	      /* not in the snapshot: the one it vanished in; else SIZE_MAX */
} kura_clean_entry;

typedef struct {
	char (*chain)[KURA_ID_HEX]; /* the source's snapshots, oldest first; the last is the one
				       asked for */
	size_t nchain;
	size_t window;		   /* the first snapshot of the chain whose files are considered */
	size_t first_suspect;	   /* SIZE_MAX: none (the plan is the snapshot as it is) */
	size_t clean_point;	   /* SIZE_MAX: none */
	kura_clean_entry *entries; /* sorted by path */
	size_t nentries;
	uint64_t count[KURA_CLEAN_NWHY];
	size_t skipped; /* damaged snapshots the scan left out */
} kura_clean_plan;

/* Why as a word: "newest", "before-attack", "gone", "attack-output", "renamed-copy", "deleted". */
const char *kura_clean_why_name(int why);

/*
 * Plan the clean restore of `snapshot` (an id, prefix or "latest").  Needs
 * the restore key; reads the source's chain as kura_scan does.  *out
 * belongs to the caller (kura_clean_plan_clear).  0, or a negative KURA_E*.
 */
int kura_clean_plan_make(kura_repo *repo, const char *snapshot, kura_clean_plan *out);

void kura_clean_plan_clear(kura_clean_plan *plan);

/*
 * Restore the plan's files into opts->target (no subpath or includes):
 * one restore from every snapshot the plan names.  Returns as kura_restore.
 */
int kura_clean_restore(kura_repo *repo, const kura_clean_plan *plan,
		       const kura_restore_options *opts, kura_restore_result *out);

#endif
