/* SPDX-License-Identifier: Apache-2.0 */
/*
 * detect.h - ransomware detection inside `kura backup`: the collector the
 * backup pipeline feeds with what it already holds (each chunk's bytes and
 * how they compressed, each file's name), and that judges the backup
 * against the previous backup of the same source (docs/DETECTION.md).
 *
 * The pipeline calls, per file: _file_begin (walker), _chunk (workers, any
 * order, concurrently), _file_end (whoever completes the file); per file
 * the file cache kept unread: _unchanged (walker); then once _finish
 * (verdict, record and summary) and, after the snapshot is written,
 * _commit (the history for next time).  All calls are thread-safe.  The
 * collector never fails the backup: a file it cannot follow (out of
 * memory) is left out of the judgement and counted.
 */
#ifndef KURA_DETECT_DETECT_H
#define KURA_DETECT_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "detect/accept.h"
#include "detect/blockstat.h"
#include "detect/judge.h"
#include "detect/state.h"

typedef struct kura_detect kura_detect;
typedef struct kura_detect_file kura_detect_file;

typedef struct {
	const char *cache_dir;	 /* the client's cache directory; NULL: no history */
	const char *repo_id_hex; /* the repository: its cache directory */
	const char *source;	 /* what names the history: host and paths backed up */
	const kura_detect_accepts *accepts; /* the operator's acceptances for it, or NULL (borrowed) */
} kura_detect_config;

typedef struct {
	kura_verdict verdict;
	int score;
	char *record;  /* JSON object for the snapshot's encrypted body (malloc'd) */
	char *summary; /* JSON object without names, for the plaintext header (malloc'd) */
} kura_detect_report;

/* A collector; its history is loaded now (missing or damaged: judged without, `partial`). */
int kura_detect_open(kura_detect **out, const kura_detect_config *cfg);

/*
 * A collector judged against `history` held in memory rather than the
 * cache (kura scan builds it from the previous snapshot's tree); NULL:
 * judged without history.  The entries are copied.  The record names up
 * to `max_files` suspect files (never fewer than the backup's 100).
 */
int kura_detect_open_history(kura_detect **out, const kura_detect_state *history,
			     size_t max_files);

/* A file about to be read (`path` absolute, `size` as the walk saw it); NULL: not followed. */
/*
 * Apply `a` (borrowed; NULL: none) to the collector opened with
 * kura_detect_open_history, before any file; `restart`: the predecessor
 * was accepted, so the accumulator starts afresh (kura scan).
 */
void kura_detect_set_accepts(kura_detect *d, const kura_detect_accepts *a, int restart);

kura_detect_file *kura_detect_file_begin(kura_detect *d, const char *path, uint64_t size);

/*
 * A chunk of the file at `offset`: its bytes, and what storing it cost
 * (`stored` bytes after compression; 0 when it was already in the
 * repository).  f may be NULL.
 */
void kura_detect_chunk(kura_detect *d, kura_detect_file *f, uint64_t offset, const uint8_t *data,
		       size_t len, size_t stored);

/*
 * kura_detect_chunk() with the chunk's scan already made by the caller
 * (kura_detect_scan(data, len, offset, scan)), who used it first to choose
 * the chunk's compression: the bytes are scanned once.
 */
void kura_detect_chunk_scanned(kura_detect *d, kura_detect_file *f, uint64_t offset,
			       const uint8_t *data, size_t len, size_t stored,
			       const kura_blockscan *scan);

/* The file is complete (`ok` = 0: it could not be read and is not in the backup). Frees f. */
void kura_detect_file_end(kura_detect *d, kura_detect_file *f, int ok);

/* A file kept unread through the file cache: unchanged since the previous backup. */
void kura_detect_unchanged(kura_detect *d, const char *path);

/* Judge the backup.  out->record and out->summary are the caller's (free both). */
int kura_detect_finish(kura_detect *d, kura_detect_report *out);

/* Write the history for the next backup of this source (after the snapshot is written). */
int kura_detect_commit(kura_detect *d);

/*
 * After _finish: the state the next judgement of this source starts from
 * (what _commit would write), moved into *out (the caller's: clear it).
 * The collector is spent afterwards: only _free may follow.
 */
int kura_detect_take_state(kura_detect *d, kura_detect_state *out);

void kura_detect_free(kura_detect *d);

#endif
