/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fscache.c - the mount's bounded cache of decoded chunks (fscache.h).
 *
 * One lock guards the hash table, the LRU list and the byte count; the
 * fetch and decryption of a chunk run outside it.  The LRU list holds
 * only entries nobody holds (refs == 0) and that are loaded, so eviction
 * takes from its tail without looking at anything else.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "mount/fscache.h"

#define NBUCKETS 4096 /* a 64 MiB budget of 1 MiB chunks fills 64 of them */

struct kura_fschunk {
	uint8_t id[KURA_HASH_SIZE];
	uint8_t *data;
	uint64_t len;
	unsigned refs;
	bool loading;		   /* a reader is fetching it; others wait */
	bool linked;		   /* in the hash table (else freed when the last reader puts it) */
	kura_fschunk *hnext;	   /* hash chain */
	kura_fschunk *prev, *next; /* LRU list, only while refs == 0 and loaded */
};

struct kura_fscache {
	kura_repo *repo;
	uint64_t budget, bytes, peak;
	pthread_mutex_t lock;
	pthread_cond_t loaded; /* broadcast when a loading entry is done or gone */
	kura_fschunk *buckets[NBUCKETS];
	kura_fschunk *lru_head, *lru_tail; /* head: most recently used */
};

static size_t bucket_of(const uint8_t id[KURA_HASH_SIZE])
{
	/* ids are MACs: any of their bits are as good as a hash */
	return (size_t)(kura_get_le32(id) % NBUCKETS);
}

static void chunk_free(kura_fschunk *ch)
{
	if (!ch)
		return;
	if (ch->data) {
		kura_wipe(ch->data, (size_t)ch->len);
		free(ch->data);
	}
	free(ch);
}

static void lru_unlink(kura_fscache *c, kura_fschunk *ch)
{
	if (ch->prev)
		ch->prev->next = ch->next;
	else
		c->lru_head = ch->next;
	if (ch->next)
		ch->next->prev = ch->prev;
	else
		c->lru_tail = ch->prev;
	ch->prev = ch->next = NULL;
}

static void lru_push(kura_fscache *c, kura_fschunk *ch)
{
	ch->prev = NULL;
	ch->next = c->lru_head;
	if (c->lru_head)
		c->lru_head->prev = ch;
	c->lru_head = ch;
	if (!c->lru_tail)
		c->lru_tail = ch;
}

/* Take ch out of the hash table (with the lock held); its bytes stop counting. */
static void unhash(kura_fscache *c, kura_fschunk *ch)
{
	kura_fschunk **p = &c->buckets[bucket_of(ch->id)];

	while (*p && *p != ch)
		p = &(*p)->hnext;
	if (*p)
		*p = ch->hnext;
	ch->linked = false;
	c->bytes -= ch->data ? ch->len : 0;
}

/* Free the least recently used idle entries until the budget holds (lock held). */
static void evict(kura_fscache *c)
{
	while (c->bytes > c->budget && c->lru_tail) {
		kura_fschunk *ch = c->lru_tail;

		lru_unlink(c, ch);
		unhash(c, ch);
		chunk_free(ch);
	}
}

static kura_fschunk *find(kura_fscache *c, const uint8_t id[KURA_HASH_SIZE])
{
	kura_fschunk *ch = c->buckets[bucket_of(id)];

	while (ch && memcmp(ch->id, id, KURA_HASH_SIZE) != 0)
		ch = ch->hnext;
	return ch;
}

int kura_fscache_new(kura_fscache **out, kura_repo *repo, uint64_t budget)
{
	kura_fscache *c;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	c->repo = repo;
	c->budget = budget;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->loaded, NULL);
	*out = c;
	return 0;
}

void kura_fscache_free(kura_fscache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		while (c->buckets[i]) {
			kura_fschunk *ch = c->buckets[i];

			c->buckets[i] = ch->hnext;
			chunk_free(ch);
		}
	}
	pthread_cond_destroy(&c->loaded);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Fetch and decode ch's chunk (lock not held); checks the length the tree gave. */
static int load(kura_fscache *c, kura_fschunk *ch)
{
	char hex[KURA_ID_HEX];
	uint8_t *data = NULL;
	size_t len = 0;
	int err;

	if ((err = kura_repo__read_blob(c->repo, ch->id, &data, &len)) < 0)
		return err;
	if ((uint64_t)len != ch->len) {
		kura_hex(hex, ch->id, KURA_HASH_SIZE);
		kura_wipe(data, len);
		free(data);
		return kura_error_set(KURA_ECORRUPT,
				      "chunk %s holds %zu bytes where its file's tree says %llu",
				      hex, len, (unsigned long long)ch->len);
	}
	ch->data = data;
	return 0;
}

int kura_fscache_get(kura_fscache *c, const uint8_t id[KURA_HASH_SIZE], uint64_t len,
		     kura_fschunk **out)
{
	kura_fschunk *ch;
	int err;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		if (!(ch = find(c, id)))
			break;
		if (!ch->loading && ch->len == len) {
			if (ch->refs++ == 0)
				lru_unlink(c, ch);
			pthread_mutex_unlock(&c->lock);
			*out = ch;
			return 0;
		}
		if (!ch->loading) {
			/* another tree gives this chunk another length: read it for this one */
			ch = NULL;
			break;
		}
		pthread_cond_wait(&c->loaded, &c->lock);
	}
	if (!(ch = calloc(1, sizeof(*ch)))) {
		pthread_mutex_unlock(&c->lock);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	memcpy(ch->id, id, KURA_HASH_SIZE);
	ch->len = len;
	ch->refs = 1;
	ch->loading = true;
	/* a chunk larger than the whole budget is read for this reader alone */
	if (len <= c->budget && !find(c, id)) {
		size_t b = bucket_of(id);

		ch->hnext = c->buckets[b];
		c->buckets[b] = ch;
		ch->linked = true;
	}
	pthread_mutex_unlock(&c->lock);

	err = load(c, ch);

	pthread_mutex_lock(&c->lock);
	ch->loading = false;
	if (err < 0) {
		if (ch->linked)
			unhash(c, ch);
		chunk_free(ch);
		ch = NULL;
	} else if (ch->linked) {
		c->bytes += ch->len;
		if (c->bytes > c->peak)
			c->peak = c->bytes;
		evict(c);
	}
	pthread_cond_broadcast(&c->loaded);
	pthread_mutex_unlock(&c->lock);
	*out = ch;
	return err;
}

const uint8_t *kura_fschunk_data(const kura_fschunk *ch)
{
	return ch->data;
}

void kura_fscache_put(kura_fscache *c, kura_fschunk *ch)
{
	if (!ch)
		return;
	pthread_mutex_lock(&c->lock);
	if (--ch->refs == 0) {
		if (!ch->linked) {
			chunk_free(ch);
		} else {
			lru_push(c, ch);
			evict(c);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

void kura_fscache_usage(kura_fscache *c, uint64_t *out_now, uint64_t *out_peak)
{
	pthread_mutex_lock(&c->lock);
	*out_now = c->bytes;
	*out_peak = c->peak;
	pthread_mutex_unlock(&c->lock);
}
