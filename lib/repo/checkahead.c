/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checkahead.c - check's trees read ahead on a remote store.  The walk of
 * the snapshots (checkwalk.c) reads one tree copy at a time, a round trip
 * each on S3 or a vault; before it starts, every tree copy the index
 * records in a present pack is read here, the backend's read_parallel at
 * a time, and kept as stored (still encrypted: the walk authenticates
 * and reports as it always did).  Memory: at most KURA_CHECKAHEAD_BYTES
 * of stored trees; copies beyond, and those whose read failed, are read
 * by the walk itself.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/pool.h"
#include "repo/checker.h"

#define KURA_CHECKAHEAD_BYTES (256u << 20)

typedef struct {
	uint32_t copy;	/* into ck->copies */
	uint8_t *bytes; /* its stored bytes; NULL: not read */
} ahead_copy;

struct ck_ahead {
	ahead_copy *v; /* sorted by copy */
	size_t n;
};

static void read_copy(void *arg, void *ctx)
{
	ahead_copy *a = arg;
	checker *ck = ctx;
	const ck_copy *cp = &ck->copies[a->copy];
	kura_backend *b = ck->repo->backend;
	char name[KURA_ID_HEX];
	uint8_t *buf = malloc(cp->e.stored_len ? cp->e.stored_len : 1);

	if (!buf)
		return;
	kura_hex(name, ck->packs[cp->pack].name, KURA_HASH_SIZE);
	if (b->get_range(b, KURA_FILE_PACK, name, cp->e.offset, cp->e.stored_len, buf) < 0) {
		free(buf);
		return; /* the walk reads it again and says what went wrong */
	}
	a->bytes = buf;
}

int kura_check__trees_ahead(checker *ck)
{
	unsigned parallel = ck->repo->backend->read_parallel;
	struct ck_ahead *ah;
	kura_pool *pool = NULL;
	uint64_t budget = 0;
	int err;

	if (parallel < 2 || ck->ahead)
		return 0;
	if (!(ah = calloc(1, sizeof(*ah))) || !(ah->v = calloc(ck->ncopies + 1, sizeof(*ah->v)))) {
		free(ah);
		return kura_error_set(KURA_ENOMEM, "check: out of memory");
	}
	/* in copy order, which is by id: the walk's order is unknown here */
	for (size_t i = 0; i < ck->ncopies && budget < KURA_CHECKAHEAD_BYTES; i++) {
		const ck_copy *cp = &ck->copies[i];

		if (cp->e.type != KURA_BLOB_TREE || !ck->packs[cp->pack].present)
			continue;
		ah->v[ah->n++].copy = (uint32_t)i;
		budget += cp->e.stored_len;
	}
	ck->ahead = ah;
	if ((err = kura_pool_new(&pool, (int)parallel, (size_t)parallel * 2)) < 0)
		return err;
	for (size_t i = 0; i < ah->n && err == 0; i++)
		err = kura_pool_add(pool, read_copy, &ah->v[i], ck);
	kura_pool_free(pool);
	return err;
}

bool kura_check__tree_ahead(checker *ck, const ck_copy *cp, uint8_t **out)
{
	uint32_t copy = (uint32_t)(cp - ck->copies);
	size_t lo = 0, hi;
	ahead_copy *a;

	if (!ck->ahead)
		return false;
	for (hi = ck->ahead->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (ck->ahead->v[mid].copy < copy)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == ck->ahead->n || (a = &ck->ahead->v[lo])->copy != copy || !a->bytes)
		return false;
	*out = a->bytes;
	a->bytes = NULL;
	return true;
}

void kura_check__trees_ahead_free(checker *ck)
{
	if (!ck->ahead)
		return;
	for (size_t i = 0; i < ck->ahead->n; i++)
		free(ck->ahead->v[i].bytes);
	free(ck->ahead->v);
	free(ck->ahead);
	ck->ahead = NULL;
}
