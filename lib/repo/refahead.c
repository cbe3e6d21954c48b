/* SPDX-License-Identifier: Apache-2.0 */
/*
 * refahead.c - reading a restore batch's references ahead on a remote
 * store (refahead.h).  The ids are counted (a reference several chunks
 * name is read once and given out as often), looked up in the index (only
 * an entry stored on its own: a reference is never itself stored against
 * another), and those of one pack whose gaps are small are read in one
 * ranged request (a span) on a pool of `parallel` threads; each is then
 * decoded and authenticated on its own.  Nothing here says what failed: a
 * reference not kept is fetched by the decoder, which says it.
 * Memory: only references whose plaintext adds up to KURA_REFAHEAD_BYTES
 * are planned, and at most `parallel` spans of KURA_SPAN_MAX are read at once.
 */
#include "repo/refahead.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/error.h"
#include "common/pool.h"

typedef struct {
	uint8_t id[KURA_HASH_SIZE];
	uint8_t *data; /* plaintext; NULL: not read (or given out) */
	size_t len;
	uint32_t uses;	   /* takes left: the last one hands data over */
	kura_blob_loc loc; /* while reading: its index entry */
} ra_ref;

/* A handle's references read ahead, for the one call (thread) that read them. */
struct kura_refahead {
	ra_ref *refs; /* sorted by id */
	size_t n;
	pthread_t owner;
};

/* One ranged read: references near each other in one pack (refs[0, n), by offset). */
typedef struct {
	kura_repo *repo;
	ra_ref **refs;
	size_t n;
	char pack[KURA_ID_HEX];
	uint64_t start;
	size_t len;
} ra_span;

static void free_refs(ra_ref *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].data) {
			kura_wipe(r[i].data, r[i].len);
			free(r[i].data);
		}
	free(r);
}

/* Free what is kept if `all`, or if this thread's call kept it. */
static void drop(kura_repo *repo, bool all)
{
	struct kura_refahead *a = NULL;

	pthread_mutex_lock(&repo->lock);
	if (repo->refs_ahead && (all || pthread_equal(repo->refs_ahead->owner, pthread_self()))) {
		a = repo->refs_ahead;
		repo->refs_ahead = NULL;
	}
	pthread_mutex_unlock(&repo->lock);
	if (!a)
		return;
	free_refs(a->refs, a->n);
	free(a);
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, KURA_HASH_SIZE);
}

/* By pack then offset. */
static int loc_cmp(const void *a, const void *b)
{
	const kura_blob_loc *x = &(*(ra_ref *const *)a)->loc, *y = &(*(ra_ref *const *)b)->loc;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The ids, each once, sorted, with how many times each was named. */
static int count_ids(const uint8_t (*ids)[KURA_HASH_SIZE], size_t n, ra_ref **out, size_t *out_n)
{
	uint8_t(*sorted)[KURA_HASH_SIZE] = malloc(n * KURA_HASH_SIZE);
	ra_ref *r = calloc(n, sizeof(*r));
	size_t m = 0;

	if (!sorted || !r) {
		free(sorted);
		free(r);
		return kura_error_set(KURA_ENOMEM, "reading references ahead: out of memory");
	}
	memcpy(sorted, ids, n * KURA_HASH_SIZE);
	qsort(sorted, n, KURA_HASH_SIZE, id_cmp);
	for (size_t i = 0; i < n; i++) {
		if (m && memcmp(r[m - 1].id, sorted[i], KURA_HASH_SIZE) == 0) {
			r[m - 1].uses++;
			continue;
		}
		memcpy(r[m].id, sorted[i], KURA_HASH_SIZE);
		r[m++].uses = 1;
	}
	free(sorted);
	*out = r;
	*out_n = m;
	return 0;
}

/*
 * The references worth reading (pointers into refs, by pack and offset):
 * those with an index entry stored on its own, until their plaintext adds
 * up to KURA_REFAHEAD_BYTES.  The others are the fetch's.
 */
static int plan(kura_repo *repo, ra_ref *refs, size_t n, ra_ref ***out, size_t *out_n)
{
	ra_ref **p = malloc(n * sizeof(*p));
	uint64_t bytes = 0;
	size_t m = 0;

	if (!p)
		return kura_error_set(KURA_ENOMEM, "reading references ahead: out of memory");
	pthread_mutex_lock(&repo->lock);
	for (size_t i = 0; i < n; i++) {
		kura_blob_loc *l = &refs[i].loc;

		if (!repo->index || !kura_idmap_get(l, repo->index, refs[i].id) ||
		    l->pack == KURA_PACK_PENDING || l->pack >= repo->npacks ||
		    (l->flags & KURA_BLOB_FLAG_REF) || l->type != KURA_BLOB_DATA ||
		    l->stored_len > KURA_SPAN_MAX || l->raw_len > KURA_BLOB_MAX_RAW)
			continue; /* a lying entry costs no more than the fetch's own read */
		if (bytes + l->raw_len > KURA_REFAHEAD_BYTES)
			break;
		bytes += l->raw_len;
		p[m++] = &refs[i];
	}
	pthread_mutex_unlock(&repo->lock);
	if (m)
		qsort(p, m, sizeof(*p), loc_cmp);
	*out = p;
	*out_n = m;
	return 0;
}

/* Cut the planned references (by pack and offset) into spans (kura_repo__span_joins). */
static int make_spans(kura_repo *repo, ra_ref **p, size_t n, ra_span **out, size_t *out_n)
{
	ra_span *spans = calloc(n ? n : 1, sizeof(*spans));
	size_t ns = 0;

	if (!spans)
		return kura_error_set(KURA_ENOMEM, "reading references ahead: out of memory");
	for (size_t i = 0, j; i < n; i = j) {
		const kura_blob_loc *first = &p[i]->loc;
		uint64_t start = first->offset, end = start + first->stored_len;
		ra_span *sp = &spans[ns++];

		j = i + 1;
		while (j < n && p[j]->loc.pack == first->pack &&
		       kura_repo__span_joins(start, &end, &p[j]->loc))
			j++;
		sp->repo = repo;
		sp->refs = &p[i];
		sp->n = j - i;
		pthread_mutex_lock(&repo->lock);
		kura_hex(sp->pack, repo->packs[first->pack], KURA_HASH_SIZE);
		pthread_mutex_unlock(&repo->lock);
		sp->start = start;
		sp->len = (size_t)(end - start);
	}
	*out = spans;
	*out_n = ns;
	return 0;
}

/* Read one span and keep each reference in it that authenticates. */
static void read_span(void *arg, void *ctx)
{
	ra_span *sp = arg;
	kura_backend *b = sp->repo->backend;
	uint8_t *buf = malloc(sp->len ? sp->len : 1);

	(void)ctx;
	if (!buf || b->get_range(b, KURA_FILE_PACK, sp->pack, sp->start, sp->len, buf) < 0) {
		free(buf);
		return; /* the fetch reads them, and says why it could not */
	}
	for (size_t i = 0; i < sp->n; i++) {
		ra_ref *r = sp->refs[i];
		uint8_t *data = NULL;

		/* a location stored against another was not planned: no chains */
		if (kura_repo__decode_blob(sp->repo, &r->loc, buf + (r->loc.offset - sp->start),
					   &data) == 0) {
			r->data = data;
			r->len = r->loc.raw_len;
		}
	}
	free(buf);
}

/* Claim the handle's read-ahead for this thread; false if another thread's call holds it. */
static bool claim(kura_repo *repo, struct kura_refahead *mine)
{
	bool ok;

	drop(repo, false);
	mine->owner = pthread_self();
	pthread_mutex_lock(&repo->lock);
	ok = !repo->refs_ahead;
	if (ok)
		repo->refs_ahead = mine;
	pthread_mutex_unlock(&repo->lock);
	return ok;
}

int kura_repo__refahead(kura_repo *repo, const uint8_t (*ids)[KURA_HASH_SIZE], size_t n,
			int parallel)
{
	struct kura_refahead *mine;
	ra_ref *refs = NULL, **planned = NULL;
	ra_span *spans = NULL;
	size_t nrefs = 0, nplanned = 0, nspans = 0;
	kura_pool *pool = NULL;
	int err;

	drop(repo, false);
	pthread_mutex_lock(&repo->lock);
	mine = repo->refs_ahead; /* another thread's: its batch is read ahead, not ours */
	pthread_mutex_unlock(&repo->lock);
	if (mine || parallel < 2 || n == 0 || kura_repo__load_index(repo) < 0)
		return 0; /* the fetch says why */
	if ((err = count_ids(ids, n, &refs, &nrefs)) < 0 ||
	    (err = plan(repo, refs, nrefs, &planned, &nplanned)) < 0 ||
	    (err = make_spans(repo, planned, nplanned, &spans, &nspans)) < 0 ||
	    (err = kura_pool_new(&pool, parallel, (size_t)parallel * 2)) < 0)
		goto fail;
	for (size_t i = 0; i < nspans; i++)
		if ((err = kura_pool_add(pool, read_span, &spans[i], NULL)) < 0)
			break;
	kura_pool_wait(pool);
	kura_pool_free(pool);
	free(spans);
	free(planned);
	if (err < 0 || !(mine = calloc(1, sizeof(*mine)))) {
		free_refs(refs, nrefs);
		return err < 0
			   ? err
			   : kura_error_set(KURA_ENOMEM, "reading references ahead: out of memory");
	}
	mine->refs = refs; /* sorted by id: the id is the first member */
	mine->n = nrefs;
	if (!claim(repo, mine)) {
		free_refs(refs, nrefs);
		free(mine);
	}
	return 0;
fail:
	kura_pool_free(pool);
	free(spans);
	free(planned);
	free(refs);
	return err;
}

bool kura_repo__refahead_take(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], uint8_t **out,
			      size_t *out_len)
{
	ra_ref *r = NULL;
	bool got = false;

	pthread_mutex_lock(&repo->lock);
	if (repo->refs_ahead)
		r = bsearch(id, repo->refs_ahead->refs, repo->refs_ahead->n, sizeof(*r), id_cmp);
	if (r && r->data && r->uses > 1) {
		/* named again later in the batch: a copy now, the plaintext last */
		if ((*out = malloc(r->len ? r->len : 1))) {
			memcpy(*out, r->data, r->len);
			*out_len = r->len;
			r->uses--;
			got = true;
		}
	} else if (r && r->data) {
		*out = r->data;
		*out_len = r->len;
		r->data = NULL;
		got = true;
	}
	pthread_mutex_unlock(&repo->lock);
	return got;
}

void kura_repo__refahead_drop(kura_repo *repo)
{
	drop(repo, false);
}

void kura_repo__refahead_free(kura_repo *repo)
{
	drop(repo, true);
}
