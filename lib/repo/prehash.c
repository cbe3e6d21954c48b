/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prehash.c - hash packs against their names while the restore key opens
 * (see prehash.h for why and when).
 *
 * The thread reads each pack in pieces into one reusable buffer, so its
 * memory is one piece whatever the pack sizes, and it looks at the stop
 * flag between pieces, so stopping waits for one piece at most.  The
 * listing and the results are written by the thread alone and read only
 * after it is joined.
 */
#include "repo/prehash.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "format/pack.h"
#include "kura/keyless.h"

#define PIECE ((size_t)4 << 20)

typedef struct {
	uint8_t name[KURA_HASH_SIZE];
	uint64_t size;
	bool hashed, match;
} ph_pack;

struct kura_prehash {
	kura_backend *backend;
	kura_listed_file *listed;
	ph_pack *packs; /* as listed: sorted by name */
	size_t npacks;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	uint64_t hashed_packs, hashed_bytes;
};

/* Hash pack `p` whole; false when stopped or the pack cannot be read as listed. */
static bool hash_pack(kura_prehash *ph, const kura_listed_file *f, ph_pack *p, uint8_t *buf,
		      kura_sha256_ctx *h)
{
	uint8_t sum[KURA_HASH_SIZE];

	for (uint64_t off = 0; off < f->size; off += PIECE) {
		size_t n = f->size - off < PIECE ? (size_t)(f->size - off) : PIECE;

		if (atomic_load(&ph->stop))
			return false;
		/* Damage (a short pack) is the check's to report, from its own read. */
		if (ph->backend->get_range(ph->backend, KURA_FILE_PACK, f->name, off, n, buf) < 0)
			return false;
		kura_sha256_update(h, buf, n);
	}
	kura_sha256_final(h, sum);
	p->size = f->size;
	p->match = memcmp(sum, p->name, KURA_HASH_SIZE) == 0;
	return true;
}

/* The listing too is done here: it is key-less work, and long on a large repository. */
static bool list_packs(kura_prehash *ph)
{
	if (kura_list_files(&ph->listed, &ph->npacks, ph->backend, KURA_FILE_PACK) < 0 ||
	    (ph->npacks && !(ph->packs = calloc(ph->npacks, sizeof(*ph->packs))))) {
		ph->npacks = 0;
		return false;
	}
	for (size_t i = 0; i < ph->npacks; i++)
		if (kura_unhex(ph->packs[i].name, ph->listed[i].name, KURA_HASH_SIZE) < 0)
			ph->listed[i].size = UINT64_MAX; /* never hashed, so never found */
	return true;
}

static void *prehash_main(void *arg)
{
	kura_prehash *ph = arg;
	uint8_t *buf;

	if (!list_packs(ph))
		return NULL;
	buf = malloc(PIECE);

	for (size_t i = 0; buf && i < ph->npacks && !atomic_load(&ph->stop); i++) {
		kura_sha256_ctx *h = NULL;

		if (ph->listed[i].size > KURA_PACK_MAX_SIZE || kura_sha256_new(&h) < 0)
			continue;
		if (hash_pack(ph, &ph->listed[i], &ph->packs[i], buf, h)) {
			ph->packs[i].hashed = true;
			ph->hashed_packs++;
			ph->hashed_bytes += ph->listed[i].size;
		}
		kura_sha256_free(h);
	}
	free(buf);
	return NULL;
}

int kura_prehash_start(kura_prehash **out, kura_backend *b)
{
	kura_prehash *ph;

	*out = NULL;
	if (!(ph = calloc(1, sizeof(*ph))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	ph->backend = b;
	atomic_init(&ph->stop, false);
	if (pthread_create(&ph->thread, NULL, prehash_main, ph) != 0) {
		free(ph);
		return kura_error_set(KURA_EIO, "cannot start the pack hashing thread");
	}
	pthread_setname_np(ph->thread, "kura-prehash"); /* named in perf and top */
	ph->running = true;
	*out = ph;
	return 0;
}

/*
 * Once joined, keep only the packs hashed (those the Argon2id time
 * allowed: tens in a listing that may hold millions), in name order.
 */
static void keep_hashed(kura_prehash *ph)
{
	size_t n = 0;

	for (size_t i = 0; i < ph->npacks; i++)
		if (ph->packs[i].hashed)
			ph->packs[n++] = ph->packs[i];
	ph->npacks = n;
	free(ph->listed);
	ph->listed = NULL;
	if (n == 0) {
		free(ph->packs);
		ph->packs = NULL;
	} else {
		ph_pack *small = realloc(ph->packs, n * sizeof(*small));

		if (small) /* else the larger array still serves */
			ph->packs = small;
	}
}

void kura_prehash_stop(kura_prehash *ph)
{
	if (!ph || !ph->running)
		return;
	atomic_store(&ph->stop, true);
	pthread_join(ph->thread, NULL);
	ph->running = false;
	keep_hashed(ph);
}

void kura_prehash_finish(kura_prehash *ph)
{
	if (!ph || !ph->running)
		return;
	pthread_join(ph->thread, NULL);
	ph->running = false;
	keep_hashed(ph);
}

static int cmp_name(const void *key, const void *elem)
{
	return memcmp(key, ((const ph_pack *)elem)->name, KURA_HASH_SIZE);
}

bool kura_prehash_lookup(const kura_prehash *ph, const uint8_t name[KURA_HASH_SIZE], uint64_t size,
			 bool *match)
{
	const ph_pack *p;

	*match = false;
	if (!ph || ph->running || !ph->npacks)
		return false;
	/* hex order of the listing is byte order of the names */
	p = bsearch(name, ph->packs, ph->npacks, sizeof(*ph->packs), cmp_name);
	if (!p || !p->hashed || p->size != size)
		return false;
	*match = p->match;
	return true;
}

void kura_prehash_counts(const kura_prehash *ph, uint64_t *packs, uint64_t *bytes)
{
	*packs = ph && !ph->running ? ph->hashed_packs : 0;
	*bytes = ph && !ph->running ? ph->hashed_bytes : 0;
}

void kura_prehash_free(kura_prehash *ph)
{
	if (!ph)
		return;
	kura_prehash_stop(ph);
	free(ph->listed);
	free(ph->packs);
	free(ph);
}
