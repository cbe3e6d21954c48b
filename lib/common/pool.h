/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pool.h - a fixed set of worker threads fed by a bounded job queue.
 *
 * kura_pool_add() blocks while the queue is full, which is what bounds the
 * memory of a pipeline: a producer can never get more than `queue_size`
 * jobs ahead of the workers.  A job is owned by the worker that runs it.
 */
#ifndef KURA_COMMON_POOL_H
#define KURA_COMMON_POOL_H

#include <stddef.h>

typedef struct kura_pool kura_pool;
typedef void (*kura_pool_fn)(void *job, void *ctx);

/* Start `threads` workers (at least 1) with room for `queue_size` waiting jobs. */
int kura_pool_new(kura_pool **out, int threads, size_t queue_size);

/* Queue fn(job, ctx); blocks while the queue is full. */
int kura_pool_add(kura_pool *pool, kura_pool_fn fn, void *job, void *ctx);

/* Block until every queued job has finished. */
void kura_pool_wait(kura_pool *pool);

/* Wait for all jobs, stop the workers and free the pool; NULL is fine. */
void kura_pool_free(kura_pool *pool);

/* The number of online CPUs (at least 1). */
int kura_cpu_count(void);

#endif
