/* SPDX-License-Identifier: Apache-2.0 */
/*
 * accept.h - an operator's acceptances as the collector applies them
 * (docs/DETECTION.md, "Accepting a false alarm"): the union of the
 * acceptance records (format/acceptrec.h) of one source, read by the
 * backup from the repository.
 *
 * A file whose content signals are all accepted, with an accepted
 * extension, in an accepted directory or below one, still counts, but at
 * a tenth (KURA_DETECT_ACCEPT_DIVISOR): the threshold for it is ten times
 * higher, so a job that repeats the accepted false alarm stays quiet while
 * the same files encrypted under another extension, or anything elsewhere,
 * is judged as before.  Notes and onion addresses are never accepted.  An
 * acceptance newer than the history restarts the slow-attack accumulator:
 * the accepted snapshot's share was no attack.  Every backup that applies
 * one says so in its record (`accepted`).
 */
#ifndef KURA_DETECT_ACCEPT_H
#define KURA_DETECT_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KURA_DETECT_ACCEPT_DIVISOR 10

typedef struct {
	uint8_t key[16]; /* the records' hash key (kura_acceptrec_key) */
	uint64_t *dirs;	 /* sorted, unique */
	size_t ndirs;
	uint64_t *exts; /* sorted, unique */
	size_t nexts;
	uint32_t signals;  /* 1 << kura_signal */
	size_t records;	   /* records applied */
	int64_t newest_ns; /* the newest record's time */
	char *snapshots;   /* the accepted snapshots' ids, comma-separated (malloc'd) */
} kura_detect_accepts;

/* The signals accepted for a file at `path` (its extension and a directory above it match), or 0.
 */
uint32_t kura_detect_accepted(const kura_detect_accepts *a, const char *path);

/* Add a record's lists (borrowed arrays, sorted) and its snapshot id; 0 or KURA_ENOMEM. */
int kura_detect_accepts_add(kura_detect_accepts *a, const uint64_t *dirs, size_t ndirs,
			    const uint64_t *exts, size_t nexts, uint32_t signals, int64_t time_ns,
			    const char *snapshot_hex);

void kura_detect_accepts_clear(kura_detect_accepts *a);

#endif
