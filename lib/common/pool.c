/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pool.c - bounded thread pool (see pool.h).  One mutex guards a ring of
 * jobs; `not_full` wakes producers, `not_empty` wakes workers, `idle` wakes
 * kura_pool_wait() when the ring is empty and no worker is busy.
 */
#include "common/pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/error.h"

typedef struct {
	kura_pool_fn fn;
	void *job;
	void *ctx;
} pool_job;

struct kura_pool {
	pthread_mutex_t lock;
	pthread_cond_t not_full, not_empty, idle;
	pool_job *ring;
	size_t cap, head, count;
	int busy;
	int stopping;
	int nthreads;
	pthread_t *threads;
};

static void *pool_worker(void *arg)
{
	kura_pool *pool = arg;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		pool_job j;

		while (pool->count == 0 && !pool->stopping)
			pthread_cond_wait(&pool->not_empty, &pool->lock);
		if (pool->count == 0 && pool->stopping)
			break;
		j = pool->ring[pool->head];
		pool->head = (pool->head + 1) % pool->cap;
		pool->count--;
		pool->busy++;
		pthread_cond_signal(&pool->not_full);
		pthread_mutex_unlock(&pool->lock);

		j.fn(j.job, j.ctx);

		pthread_mutex_lock(&pool->lock);
		pool->busy--;
		if (pool->count == 0 && pool->busy == 0)
			pthread_cond_broadcast(&pool->idle);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

int kura_pool_new(kura_pool **out, int threads, size_t queue_size)
{
	kura_pool *pool;

	*out = NULL;
	if (threads < 1)
		threads = 1;
	if (queue_size < 1)
		queue_size = 1;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	pool->ring = calloc(queue_size, sizeof(*pool->ring));
	pool->threads = calloc((size_t)threads, sizeof(*pool->threads));
	if (!pool->ring || !pool->threads) {
		free(pool->ring);
		free(pool->threads);
		free(pool);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	pool->cap = queue_size;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->not_full, NULL);
	pthread_cond_init(&pool->not_empty, NULL);
	pthread_cond_init(&pool->idle, NULL);
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&pool->threads[i], NULL, pool_worker, pool) != 0) {
			pool->nthreads = i;
			kura_pool_free(pool);
			return kura_error_set(KURA_ERROR, "cannot start worker thread %d", i);
		}
	}
	pool->nthreads = threads;
	*out = pool;
	return 0;
}

int kura_pool_add(kura_pool *pool, kura_pool_fn fn, void *job, void *ctx)
{
	pthread_mutex_lock(&pool->lock);
	while (pool->count == pool->cap)
		pthread_cond_wait(&pool->not_full, &pool->lock);
	pool->ring[(pool->head + pool->count) % pool->cap] = (pool_job){fn, job, ctx};
	pool->count++;
	pthread_cond_signal(&pool->not_empty);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

void kura_pool_wait(kura_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	while (pool->count > 0 || pool->busy > 0)
		pthread_cond_wait(&pool->idle, &pool->lock);
	pthread_mutex_unlock(&pool->lock);
}

void kura_pool_free(kura_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->not_empty);
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->not_full);
	pthread_cond_destroy(&pool->not_empty);
	pthread_cond_destroy(&pool->idle);
	free(pool->ring);
	free(pool->threads);
	free(pool);
}

int kura_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (int)n;
}
