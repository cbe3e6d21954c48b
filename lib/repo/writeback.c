/* SPDX-License-Identifier: Apache-2.0 */
/*
 * writeback.c - the restore's write-behind queue (see writeback.h).
 *
 * A ring of (dup'd fd, offset, length) under a mutex.  The thread whose
 * range pushes the queue over a limit takes the oldest ranges out under
 * the lock and waits for them outside it, so the other workers go on.
 * Ranges are ≥ 64 KiB in practice, so the lock is taken rarely.
 */
#include "repo/writeback.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/error.h"

/* Ranges one thread takes out at a time, so that no one waits for long holding many. */
#define DROP_BATCH 8

typedef struct {
	int fd;
	uint64_t off, len;
} wb_range;

struct kura_writeback {
	pthread_mutex_t lock;
	wb_range *ring;
	uint32_t cap, head, count; /* oldest at ring[head] */
	uint64_t bytes, limit;
};

int kura_writeback_new(kura_writeback **out, uint64_t limit_bytes, uint32_t limit_ranges)
{
	kura_writeback *wb = calloc(1, sizeof(*wb));

	*out = NULL;
	if (!wb || !(wb->ring = calloc(limit_ranges ? limit_ranges : 1, sizeof(*wb->ring)))) {
		free(wb);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	wb->cap = limit_ranges ? limit_ranges : 1;
	wb->limit = limit_bytes;
	pthread_mutex_init(&wb->lock, NULL);
	*out = wb;
	return 0;
}

/* Wait for the range's writeback, drop its pages, close its fd. */
static void drop_range(const wb_range *r)
{
	sync_file_range(r->fd, (off_t)r->off, (off_t)r->len,
			SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			    SYNC_FILE_RANGE_WAIT_AFTER);
	(void)posix_fadvise(r->fd, (off_t)r->off, (off_t)r->len, POSIX_FADV_DONTNEED);
	close(r->fd);
}

/* With the lock held: take out up to DROP_BATCH of the oldest ranges. */
static uint32_t take_oldest(kura_writeback *wb, wb_range out[DROP_BATCH], bool all)
{
	uint32_t n = 0;

	while (n < DROP_BATCH && wb->count > 0 &&
	       (all || wb->bytes > wb->limit || wb->count == wb->cap)) {
		out[n] = wb->ring[wb->head];
		wb->head = (wb->head + 1) % wb->cap;
		wb->count--;
		wb->bytes -= out[n].len;
		n++;
	}
	return n;
}

void kura_writeback_add(kura_writeback *wb, int fd, uint64_t off, uint64_t len)
{
	wb_range batch[DROP_BATCH], r = {.off = off, .len = len};
	uint32_t n;

	if (len == 0)
		return;
	sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
	if ((r.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return; /* out of fds: written all the same, just not dropped */
	pthread_mutex_lock(&wb->lock);
	/* make room first: a full ring gives up its oldest before taking more */
	while (wb->count == wb->cap) {
		n = take_oldest(wb, batch, false);
		pthread_mutex_unlock(&wb->lock);
		for (uint32_t i = 0; i < n; i++)
			drop_range(&batch[i]);
		pthread_mutex_lock(&wb->lock);
	}
	wb->ring[(wb->head + wb->count) % wb->cap] = r;
	wb->count++;
	wb->bytes += len;
	n = take_oldest(wb, batch, false);
	pthread_mutex_unlock(&wb->lock);
	for (uint32_t i = 0; i < n; i++)
		drop_range(&batch[i]);
}

void kura_writeback_drain(kura_writeback *wb)
{
	wb_range batch[DROP_BATCH];
	uint32_t n;

	do {
		pthread_mutex_lock(&wb->lock);
		n = take_oldest(wb, batch, true);
		pthread_mutex_unlock(&wb->lock);
		for (uint32_t i = 0; i < n; i++)
			drop_range(&batch[i]);
	} while (n > 0);
}

void kura_writeback_queued(kura_writeback *wb, uint64_t *bytes, uint32_t *ranges)
{
	pthread_mutex_lock(&wb->lock);
	*bytes = wb->bytes;
	*ranges = wb->count;
	pthread_mutex_unlock(&wb->lock);
}

void kura_writeback_free(kura_writeback *wb)
{
	if (!wb)
		return;
	kura_writeback_drain(wb);
	pthread_mutex_destroy(&wb->lock);
	free(wb->ring);
	free(wb);
}
