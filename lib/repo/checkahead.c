/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checkahead.c - check's trees read ahead on a remote store.  The walk of
 * the snapshots (checkwalk.c) reads one tree copy at a time, a round trip
 * each on S3 or a vault; before it starts, every tree copy the index
 * records in a present pack is read here, the backend's read_parallel at
 * a time, and kept as stored (still encrypted: the walk authenticates
 * and reports as it always did).  Copies near each other in one pack (the
 * backup writes trees in packs of their own) are read in one ranged
 * request (a span) and cut apart.  Memory: at most KURA_CHECKAHEAD_BYTES
 * of stored trees, plus read_parallel spans of CK_SPAN_MAX in flight;
 * copies beyond, and those whose read failed, are read by the walk itself.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/pool.h"
#include "repo/checker.h"

#define KURA_CHECKAHEAD_BYTES (256u << 20)
/* unneeded bytes worth reading to save a round trip; the most one span reads */
#define CK_SPAN_GAP (1u << 20)
#define CK_SPAN_MAX (4u << 20)

typedef struct {
	uint32_t copy;	/* into ck->copies */
	uint8_t *bytes; /* its stored bytes; NULL: not read */
} ahead_copy;

struct ck_ahead {
	ahead_copy *v; /* sorted by copy (while reading: by pack and offset) */
	size_t n;
};

/* One ranged read of ck->ahead->v[first, end): copies of one pack, by offset. */
typedef struct {
	size_t first, end;
	uint64_t start;
	size_t len;
} ck_span;

static int by_copy(const void *a, const void *b)
{
	uint32_t x = ((const ahead_copy *)a)->copy, y = ((const ahead_copy *)b)->copy;

	return x < y ? -1 : x > y;
}

static int by_place(const void *a, const void *b, void *arg)
{
	const checker *ck = arg;
	const ck_copy *x = &ck->copies[((const ahead_copy *)a)->copy];
	const ck_copy *y = &ck->copies[((const ahead_copy *)b)->copy];

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->e.offset < y->e.offset ? -1 : x->e.offset > y->e.offset;
}

typedef struct {
	checker *ck;
	ck_span sp;
} span_job;

static void read_span(void *arg, void *ctx)
{
	span_job *j = arg;
	checker *ck = j->ck;
	ahead_copy *v = ck->ahead->v;
	kura_backend *b = ck->repo->backend;
	char name[KURA_ID_HEX];
	uint8_t *buf;

	(void)ctx;
	if (!(buf = malloc(j->sp.len ? j->sp.len : 1)))
		return;
	kura_hex(name, ck->packs[ck->copies[v[j->sp.first].copy].pack].name, KURA_HASH_SIZE);
	if (b->get_range(b, KURA_FILE_PACK, name, j->sp.start, j->sp.len, buf) < 0) {
		free(buf);
		return; /* the walk reads each again and says what went wrong */
	}
	for (size_t i = j->sp.first; i < j->sp.end; i++) {
		const ck_copy *cp = &ck->copies[v[i].copy];

		if ((v[i].bytes = malloc(cp->e.stored_len ? cp->e.stored_len : 1)))
			memcpy(v[i].bytes, buf + (cp->e.offset - j->sp.start), cp->e.stored_len);
	}
	free(buf);
}

/* Cut ah->v (sorted by place) into spans; *out malloc'd. */
static int make_spans(const checker *ck, const struct ck_ahead *ah, span_job **out, size_t *out_n)
{
	span_job *jobs = calloc(ah->n ? ah->n : 1, sizeof(*jobs));
	size_t n = 0;

	if (!jobs)
		return kura_error_set(KURA_ENOMEM, "check: out of memory");
	for (size_t i = 0, j; i < ah->n; i = j) {
		const ck_copy *first = &ck->copies[ah->v[i].copy];
		uint64_t start = first->e.offset, end = start + first->e.stored_len;

		for (j = i + 1; j < ah->n; j++) {
			const ck_copy *cp = &ck->copies[ah->v[j].copy];
			uint64_t e = (uint64_t)cp->e.offset + cp->e.stored_len;

			if (cp->pack != first->pack || cp->e.offset > end + CK_SPAN_GAP ||
			    (e > end ? e : end) - start > CK_SPAN_MAX)
				break;
			if (e > end)
				end = e;
		}
		jobs[n].sp.first = i;
		jobs[n].sp.end = j;
		jobs[n].sp.start = start;
		jobs[n++].sp.len = (size_t)(end - start);
	}
	*out = jobs;
	*out_n = n;
	return 0;
}

int kura_check__trees_ahead(checker *ck)
{
	unsigned parallel = ck->repo->backend->read_parallel;
	struct ck_ahead *ah;
	kura_pool *pool = NULL;
	span_job *jobs = NULL;
	size_t njobs = 0;
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
	if (ah->n)
		qsort_r(ah->v, ah->n, sizeof(*ah->v), by_place, ck);
	if ((err = make_spans(ck, ah, &jobs, &njobs)) < 0 ||
	    (err = kura_pool_new(&pool, (int)parallel, (size_t)parallel * 2)) < 0)
		goto done;
	for (size_t i = 0; i < njobs && err == 0; i++) {
		jobs[i].ck = ck;
		err = kura_pool_add(pool, read_span, &jobs[i], NULL);
	}
	kura_pool_free(pool); /* waits for the reads */
done:
	free(jobs);
	if (ah->n)
		qsort(ah->v, ah->n, sizeof(*ah->v), by_copy);
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
