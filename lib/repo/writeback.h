/* SPDX-License-Identifier: Apache-2.0 */
/*
 * writeback.h - keep what a restore writes from piling up in the page
 * cache.
 *
 * Each range handed in is sent to disk at once (sync_file_range WRITE, no
 * waiting) and queued.  When more than the queue's limit of bytes (or of
 * ranges) is waiting, the oldest ranges are waited for and dropped from
 * the page cache (POSIX_FADV_DONTNEED): by then their writeback has
 * usually finished, so the wait is short.  The page frames so freed are
 * the next the kernel hands out, and reusing warm frames is much cheaper
 * than touching fresh ones, on virtual machines above all (where the
 * first touch of a frame is a fault on the host).  A restore thus keeps a
 * bounded amount of dirty and cached data, its disk stays busy, and a
 * `sync` afterwards has little left to do.
 *
 * Everything here is advice to the kernel: a failure (of dup, of the
 * calls) leaves data where it was, written, and is not reported.
 * Thread-safe.
 */
#ifndef KURA_REPO_WRITEBACK_H
#define KURA_REPO_WRITEBACK_H

#include <stdint.h>

typedef struct kura_writeback kura_writeback;

/* A queue holding at most `limit_bytes` and `limit_ranges` before it drops. */
int kura_writeback_new(kura_writeback **out, uint64_t limit_bytes, uint32_t limit_ranges);

/*
 * Start writing back [off, off + len) of `fd` and queue it (with a dup of
 * fd: the caller may close its own).  May wait for older ranges first.
 */
void kura_writeback_add(kura_writeback *wb, int fd, uint64_t off, uint64_t len);

/* Wait for and drop everything queued. */
void kura_writeback_drain(kura_writeback *wb);

/* Bytes and ranges queued now (for tests). */
void kura_writeback_queued(kura_writeback *wb, uint64_t *bytes, uint32_t *ranges);

/* Drain, then free; NULL is fine. */
void kura_writeback_free(kura_writeback *wb);

#endif
