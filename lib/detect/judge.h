/* SPDX-License-Identifier: Apache-2.0 */
/*
 * judge.h - from a backup's counts to its verdict: each signal's points,
 * the score, the slow-attack accumulator and clean / partial / suspect.
 *
 * Pure arithmetic on counts, apart from the collector (detect.c), so the
 * thresholds can be unit-tested on crafted tallies and read in one place
 * (docs/DETECTION.md explains each).
 */
#ifndef KURA_DETECT_JUDGE_H
#define KURA_DETECT_JUDGE_H

#include <stdint.h>

/* The signals; a file's reasons are a bitmask of 1 << signal. */
typedef enum {
	KURA_SIG_MISMATCH = 0, /* content is not what its name promises, and looks random */
	KURA_SIG_TYPE_LOST,    /* was a recognised type, is now random with no signature */
	KURA_SIG_NOISE,	       /* was structured, is now random */
	KURA_SIG_PARTIAL,      /* random 4 KiB blocks inside a structured file */
	KURA_SIG_RENAMED,      /* a file renamed to a new extension whose content is random */
	KURA_SIG_NOTE,	       /* a ransom note: a listed name, or a note's shape */
	KURA_SIG_ONION,	       /* a small new text file with a Tor onion address */
	KURA_SIG_DELETED,      /* files of the previous backup that are gone */
	KURA_SIG_NEW_NOISE,    /* new files with random content and no type */
	KURA_SIG_SLOW,	       /* the accumulator over backups crossed its line */
	KURA_SIG_COUNT
} kura_signal;

/* "type-mismatch", ... (the names in records, summaries and messages). */
const char *kura_detect_signal_name(kura_signal s);

/* What a file's content says, for the signals that need no other file. */
#define KURA_SIG_CONTENT_MASK                                                                      \
	((1u << KURA_SIG_MISMATCH) | (1u << KURA_SIG_TYPE_LOST) | (1u << KURA_SIG_NOISE) |         \
	 (1u << KURA_SIG_PARTIAL) | (1u << KURA_SIG_RENAMED))

typedef enum {
	KURA_VERDICT_CLEAN = 1,
	KURA_VERDICT_PARTIAL = 2, /* nothing found, but judged without history */
	KURA_VERDICT_SUSPECT = 3,
} kura_verdict;

const char *kura_detect_verdict_name(kura_verdict v);

typedef struct {
	int history;			 /* the previous backup's state was there */
	uint64_t files;			 /* regular files in this backup */
	uint64_t prev_files;		 /* in the previous one */
	uint64_t files_read;		 /* new or changed: read and judged */
	uint64_t files_new;		 /* not in the previous backup */
	uint64_t content_files;		 /* files with any content reason (KURA_SIG_CONTENT_MASK) */
	uint64_t counts[KURA_SIG_COUNT]; /* files per signal */
	uint64_t gone_bytes;		 /* size of the deleted files */
	uint64_t new_dense_bytes;	 /* new files of a recognised dense type (archives) */
	uint64_t stored_raw;		 /* bytes of chunks new to the repository, before zstd */
	uint64_t stored_dense;	  /* of which zstd could not shrink by 2 % (reported, not scored) */
	uint64_t note_dirs_named; /* directories holding a note with a listed name */
	uint64_t note_dirs_shape; /* the most directories one unlisted note name is new in */
	double cusum;		  /* the accumulator before this backup */
	uint64_t accepted_files;  /* of content_files, those an acceptance weighs at a tenth */
	uint64_t accepted_new;	  /* of counts[KURA_SIG_NEW_NOISE], likewise (accept.h) */
} kura_detect_tally;

typedef struct {
	kura_verdict verdict;
	int score;		    /* 0..100 */
	int points[KURA_SIG_COUNT]; /* what each signal gave */
	double share;		    /* content_files over the tree, percent */
	double cusum;		    /* the accumulator after this backup */
} kura_detect_outcome;

/* Lines the scores are held against (docs/DETECTION.md). */
#define KURA_DETECT_SUSPECT_SCORE 50
#define KURA_DETECT_CUSUM_SLACK 0.5 /* percent of files a day that is noise, not attack */
#define KURA_DETECT_CUSUM_LINE 4.0  /* accumulated percent that is an attack */

void kura_detect_judge(const kura_detect_tally *t, kura_detect_outcome *out);

#endif
