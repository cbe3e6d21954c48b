/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.h - what the detector remembers of the previous backup of a
 * source, in the client's local cache (docs/FORMAT.md, "Local cache").
 *
 * A backup key cannot read old snapshots, so the features of each file's
 * previous version (its type, how much of it looked random, its size) and
 * the slow-attack accumulator live here, beside the file cache: one file
 * per source (host, paths backed up, excludes), <cache>/<repository id>/
 * detect-<16 hex digits>.  Paths are kept only as 64-bit keyed hashes:
 * enough to match a file with its previous version, its renamed self or
 * its deleted self, with a collision once in 10^7 million-file trees.
 *
 * Like the file cache, the state is an aid, not a truth: a missing,
 * damaged or foreign file is ignored, and the verdict then says `partial`
 * (judged without history).  An attacker who owns the client can delete
 * or forge it; DETECTION.md says what still catches them.
 */
#ifndef KURA_DETECT_STATE_H
#define KURA_DETECT_STATE_H

#include <stddef.h>
#include <stdint.h>

enum { KURA_DETECT_SEEN = 1, KURA_DETECT_MOVED = 2 }; /* in memory: in this backup; renamed */

/* A file kept through the file cache while the history was missing: its features are unknown. */
#define KURA_DETECT_NOISE_UNKNOWN 101

typedef struct {
	uint64_t path; /* kura_detect_hash of the absolute path */
	uint64_t stem; /* of the path without its last extension */
	uint64_t size;
	uint8_t type;  /* kura_filetype */
	uint8_t noise; /* share of its blocks that looked random, percent; or
			  KURA_DETECT_NOISE_UNKNOWN */
	uint8_t flags;
	uint8_t pad;
} kura_detect_entry;

typedef struct {
	uint64_t snapshots;	    /* backups of this source judged so far */
	double cusum;		    /* the slow-attack accumulator (judge.c), percent of files */
	kura_detect_entry *entries; /* sorted by path, unique */
	size_t count;
} kura_detect_state;

/* A keyed 64-bit hash of `len` bytes (SipHash-2-4 under a fixed key: not secret). */
uint64_t kura_detect_hash(const char *s, size_t len);

/*
 * Load `file`.  Returns 1 when a usable state was read, 0 when there is
 * none or it is damaged (*out is then empty), <0 only for KURA_ENOMEM.
 */
int kura_detect_state_load(kura_detect_state *out, const char *file);

/* Write `s` to `file` atomically (entries must be sorted by path). */
int kura_detect_state_save(const kura_detect_state *s, const char *file);

/* The entry for `path_hash`, or NULL. */
kura_detect_entry *kura_detect_state_find(const kura_detect_state *s, uint64_t path_hash);

void kura_detect_state_clear(kura_detect_state *s);

#endif
