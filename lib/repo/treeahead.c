/* SPDX-License-Identifier: Apache-2.0 */
/*
 * treeahead.c - reading a snapshot's trees ahead on a remote store
 * (treeahead.h).  Level by level: every tree of a level is read on a pool
 * of `parallel` threads, each decoded to find its subtrees, which make the
 * next level (each id once).  Trees of a level that lie near each other
 * in one pack (the backup writes trees in packs of their own) are read in
 * one ranged request (a span), each then decoded and authenticated on its
 * own; a tree whose span fails is read alone through the walk's path.
 * Memory: the kept plaintext stops growing at KURA_TREEAHEAD_BYTES (plus
 * the spans in flight when it was reached), and at most `parallel` spans
 * of KURA_SPAN_MAX are read at once; what is beyond is read by the walk.
 */
#include "repo/treeahead.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/error.h"
#include "common/pool.h"
#include "format/tree.h"

typedef struct {
	uint8_t id[KURA_HASH_SIZE];
	uint8_t *data; /* plaintext; NULL: not read (or given out) */
	size_t len;
} ta_tree;

/*
 * A handle's trees read ahead, for the one call that read them: restore, ls
 * and diff may run on one handle at once, and only the thread that claimed
 * it reads into it or drops it (the others walk one tree at a time).
 */
struct kura_treeahead {
	ta_tree *trees; /* sorted by id */
	size_t n;
	pthread_t owner;
};

static void free_trees(ta_tree *t, size_t n);

/*
 * Claim the handle's read-ahead for this thread (dropping what this thread
 * kept before); false if another thread's call holds it.
 */
static bool claim(kura_repo *repo)
{
	struct kura_treeahead *mine = calloc(1, sizeof(*mine)), *old = NULL;
	bool ok;

	if (!mine)
		return false; /* the walk reads one tree at a time */
	mine->owner = pthread_self();
	pthread_mutex_lock(&repo->lock);
	ok = !repo->ahead || pthread_equal(repo->ahead->owner, mine->owner);
	if (ok) {
		old = repo->ahead;
		repo->ahead = mine;
		mine = NULL;
	}
	pthread_mutex_unlock(&repo->lock);
	if (old)
		free_trees(old->trees, old->n);
	free(old);
	free(mine);
	return ok;
}

typedef struct {
	ta_tree tree;
	kura_blob_loc loc;		 /* its index entry; pack KURA_PACK_PENDING: none */
	uint8_t (*kids)[KURA_HASH_SIZE]; /* its subtrees */
	size_t nkids, kids_cap;
} ta_job;

/* One ranged read: trees near each other in one pack, or one tree alone. */
typedef struct {
	kura_repo *repo;
	atomic_size_t *bytes;
	ta_job *jobs; /* n of them, by offset */
	size_t n;
	char pack[KURA_ID_HEX]; /* empty: read each tree alone */
	uint64_t start;
	size_t len;
} ta_span;

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, KURA_HASH_SIZE);
}

/* By pack then offset; those without an entry (KURA_PACK_PENDING) last. */
static int loc_cmp(const void *a, const void *b)
{
	const kura_blob_loc *x = &((const ta_job *)a)->loc, *y = &((const ta_job *)b)->loc;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Keep tree j's plaintext (data, len; now ours) and note its subtrees. */
static void keep_tree(ta_job *j, atomic_size_t *bytes, uint8_t *data, size_t len)
{
	kura_tree *t = NULL;

	if (kura_tree_decode(&t, data, len) < 0) {
		kura_wipe(data, len);
		free(data);
		return;
	}
	for (size_t i = 0; i < t->count; i++) {
		if (t->nodes[i].type != KURA_NODE_DIR)
			continue;
		if (KURA_ARRAY_GROW(j->kids, j->kids_cap, j->nkids + 1) < 0)
			break; /* its subtrees are read by the walk */
		memcpy(j->kids[j->nkids++], t->nodes[i].subtree, KURA_HASH_SIZE);
	}
	kura_tree_free(t);
	j->tree.data = data;
	j->tree.len = len;
	atomic_fetch_add(bytes, len);
}

/* The walk's own read path (index entries are hints, other copies are tried). */
static void read_alone(kura_repo *repo, ta_job *j, atomic_size_t *bytes)
{
	uint8_t *data = NULL;
	size_t len = 0;

	/* a failure is the walk's to say, not ours */
	if (kura_repo__read_blob(repo, j->tree.id, &data, &len) < 0)
		return;
	keep_tree(j, bytes, data, len);
}

static void read_span(void *arg, void *ctx)
{
	ta_span *sp = arg;
	kura_backend *b = sp->repo->backend;
	uint8_t *buf = NULL;

	(void)ctx;
	if (atomic_load(sp->bytes) >= KURA_TREEAHEAD_BYTES)
		return;
	if (sp->pack[0] && (buf = malloc(sp->len ? sp->len : 1)) &&
	    b->get_range(b, KURA_FILE_PACK, sp->pack, sp->start, sp->len, buf) < 0) {
		free(buf);
		buf = NULL;
	}
	for (size_t i = 0; i < sp->n; i++) {
		ta_job *j = &sp->jobs[i];
		uint8_t *data = NULL;

		if (buf && kura_repo__decode_blob(sp->repo, &j->loc,
						  buf + (j->loc.offset - sp->start), &data) == 0)
			keep_tree(j, sp->bytes, data, j->loc.raw_len);
		else
			read_alone(sp->repo, j,
				   sp->bytes); /* no span, or this copy is bad: try them all */
	}
	free(buf);
}

/* Sort ids and drop repeats and those in `seen` (sorted, n_seen). */
static size_t unique_new(uint8_t (*ids)[KURA_HASH_SIZE], size_t n, uint8_t (*seen)[KURA_HASH_SIZE],
			 size_t nseen)
{
	size_t out = 0;

	if (n)
		qsort(ids, n, KURA_HASH_SIZE, id_cmp);
	for (size_t i = 0; i < n; i++) {
		if (out && memcmp(ids[out - 1], ids[i], KURA_HASH_SIZE) == 0)
			continue;
		if (nseen && bsearch(ids[i], seen, nseen, KURA_HASH_SIZE, id_cmp))
			continue;
		memmove(ids[out++], ids[i], KURA_HASH_SIZE);
	}
	return out;
}

/* Add ids (n of them) to seen, kept sorted for unique_new. */
static int add_seen(uint8_t (**seen)[KURA_HASH_SIZE], size_t *nseen, size_t *cap,
		    uint8_t (*ids)[KURA_HASH_SIZE], size_t n)
{
	if (KURA_ARRAY_GROW(*seen, *cap, *nseen + n) < 0)
		return kura_error_set(KURA_ENOMEM, "reading trees ahead: out of memory");
	memcpy(*seen + *nseen, ids, n * KURA_HASH_SIZE);
	*nseen += n;
	qsort(*seen, *nseen, KURA_HASH_SIZE, id_cmp);
	return 0;
}

static void free_trees(ta_tree *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].data) {
			kura_wipe(t[i].data, t[i].len);
			free(t[i].data);
		}
	free(t);
}

/* Each job's index entry, if it has one (with the index loaded). */
static void lookup_all(kura_repo *repo, ta_job *jobs, size_t n)
{
	pthread_mutex_lock(&repo->lock);
	for (size_t i = 0; i < n; i++)
		if (!repo->index || !kura_idmap_get(&jobs[i].loc, repo->index, jobs[i].tree.id) ||
		    jobs[i].loc.pack >= repo->npacks)
			jobs[i].loc.pack = KURA_PACK_PENDING;
	pthread_mutex_unlock(&repo->lock);
}

/*
 * Cut the jobs (sorted by loc_cmp) into spans: trees of one pack whose
 * gaps are at most KURA_SPAN_GAP, KURA_SPAN_MAX at most a span (or one tree);
 * a tree without an entry is a span of its own, read alone.
 */
static int make_spans(kura_repo *repo, atomic_size_t *bytes, ta_job *jobs, size_t n, ta_span **out,
		      size_t *out_n)
{
	ta_span *spans = calloc(n ? n : 1, sizeof(*spans));
	size_t ns = 0;

	if (!spans)
		return kura_error_set(KURA_ENOMEM, "reading trees ahead: out of memory");
	for (size_t i = 0, j; i < n; i = j) {
		const kura_blob_loc *first = &jobs[i].loc;
		uint64_t start = first->offset, end = start + first->stored_len;
		ta_span *sp = &spans[ns++];

		j = i + 1;
		if (first->pack != KURA_PACK_PENDING)
			while (j < n && jobs[j].loc.pack == first->pack &&
			       kura_repo__span_joins(start, &end, &jobs[j].loc))
				j++;
		sp->repo = repo;
		sp->bytes = bytes;
		sp->jobs = &jobs[i];
		sp->n = j - i;
		if (first->pack != KURA_PACK_PENDING) {
			pthread_mutex_lock(&repo->lock);
			kura_hex(sp->pack, repo->packs[first->pack], KURA_HASH_SIZE);
			pthread_mutex_unlock(&repo->lock);
			sp->start = start;
			sp->len = (size_t)(end - start);
		}
	}
	*out = spans;
	*out_n = ns;
	return 0;
}

/*
 * Read the level `ids` (n of them) on `pool`; append what was read to
 * `kept` and the subtrees found to `next`.
 */
static int read_level(kura_repo *repo, kura_pool *pool, atomic_size_t *bytes,
		      uint8_t (*ids)[KURA_HASH_SIZE], size_t n, ta_tree **kept, size_t *nkept,
		      size_t *kept_cap, uint8_t (**next)[KURA_HASH_SIZE], size_t *nnext,
		      size_t *next_cap)
{
	ta_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
	ta_span *spans = NULL;
	size_t nspans = 0;
	int err = 0;

	if (!jobs)
		return kura_error_set(KURA_ENOMEM, "reading trees ahead: out of memory");
	for (size_t i = 0; i < n; i++)
		memcpy(jobs[i].tree.id, ids[i], KURA_HASH_SIZE);
	lookup_all(repo, jobs, n);
	qsort(jobs, n, sizeof(*jobs), loc_cmp);
	if ((err = make_spans(repo, bytes, jobs, n, &spans, &nspans)) == 0) {
		for (size_t i = 0; i < nspans; i++)
			if ((err = kura_pool_add(pool, read_span, &spans[i], NULL)) < 0)
				break;
		kura_pool_wait(pool);
	}
	free(spans);
	for (size_t i = 0; i < n; i++) {
		if (err == 0 && jobs[i].tree.data) {
			if ((err = KURA_ARRAY_GROW(*kept, *kept_cap, *nkept + 1)) < 0 ||
			    (err = KURA_ARRAY_GROW(*next, *next_cap, *nnext + jobs[i].nkids)) < 0) {
				err = kura_error_set(KURA_ENOMEM,
						     "reading trees ahead: out of memory");
			} else {
				(*kept)[(*nkept)++] = jobs[i].tree;
				jobs[i].tree.data = NULL;
				if (jobs[i].nkids) /* a leaf directory has none, and no array */
					memcpy(*next + *nnext, jobs[i].kids,
					       jobs[i].nkids * KURA_HASH_SIZE);
				*nnext += jobs[i].nkids;
			}
		}
		if (jobs[i].tree.data) {
			kura_wipe(jobs[i].tree.data, jobs[i].tree.len);
			free(jobs[i].tree.data);
		}
		free(jobs[i].kids);
	}
	free(jobs);
	return err;
}

/* Keep what was read (kept, nkept) for the walk, unless err; returns err. */
static int install(kura_repo *repo, ta_tree *kept, size_t nkept, int err)
{
	if (err < 0) {
		free_trees(kept, nkept);
		return err;
	}
	if (nkept)
		qsort(kept, nkept, sizeof(*kept), id_cmp); /* the id is the first member */
	pthread_mutex_lock(&repo->lock);
	repo->ahead->trees = kept; /* claimed by this thread: still ours */
	repo->ahead->n = nkept;
	pthread_mutex_unlock(&repo->lock);
	return 0;
}

int kura_repo__treeahead(kura_repo *repo, const uint8_t root[KURA_HASH_SIZE], int parallel)
{
	uint8_t(*level)[KURA_HASH_SIZE] = NULL, (*next)[KURA_HASH_SIZE] = NULL;
	uint8_t(*seen)[KURA_HASH_SIZE] = NULL;
	size_t nlevel = 1, level_cap = 0, nnext = 0, next_cap = 0, nseen = 0, seen_cap = 0;
	ta_tree *kept = NULL;
	size_t nkept = 0, kept_cap = 0;
	atomic_size_t bytes = 0;
	kura_pool *pool = NULL;
	int err;

	if (parallel < 2 || !claim(repo) || kura_repo__need_restore_key(repo, "reading trees") < 0)
		return 0;
	if ((err = kura_repo__load_index(repo)) < 0)
		return 0; /* the walk says why */
	if (KURA_ARRAY_GROW(level, level_cap, 1) < 0)
		return kura_error_set(KURA_ENOMEM, "reading trees ahead: out of memory");
	memcpy(level[0], root, KURA_HASH_SIZE);
	if ((err = kura_pool_new(&pool, parallel, (size_t)parallel * 2)) < 0)
		goto done;
	for (unsigned depth = 0;
	     nlevel && depth <= KURA_TREE_MAX_DEPTH && atomic_load(&bytes) < KURA_TREEAHEAD_BYTES;
	     depth++) {
		void *swap;
		size_t cap;

		nnext = 0;
		if ((err = read_level(repo, pool, &bytes, level, nlevel, &kept, &nkept, &kept_cap,
				      &next, &nnext, &next_cap)) < 0)
			break;
		/* what this level asked for is seen, read or not: a cycle ends here */
		if ((err = add_seen(&seen, &nseen, &seen_cap, level, nlevel)) < 0)
			break;
		nnext = unique_new(next, nnext, seen, nseen);
		swap = level, level = next, next = swap;
		cap = level_cap, level_cap = next_cap, next_cap = cap;
		nlevel = nnext;
	}
done:
	kura_pool_free(pool);
	free(level);
	free(next);
	free(seen);
	return install(repo, kept, nkept, err);
}

/* A pair of directories diff compares; either may be absent (bit 0: old, bit 1: new). */
typedef struct {
	uint8_t o[KURA_HASH_SIZE], n[KURA_HASH_SIZE];
	uint8_t has;
} ta_pair;

/* The decoded tree `id` among kept[from, to) (sorted by id), or NULL. */
static kura_tree *find_kept(const ta_tree *kept, size_t from, size_t to, const uint8_t *id)
{
	const ta_tree *t = bsearch(id, kept + from, to - from, sizeof(*kept), id_cmp);
	kura_tree *tree = NULL;

	if (!t || !t->data || kura_tree_decode(&tree, t->data, t->len) < 0)
		return NULL;
	return tree;
}

/* The pair of what is below two nodes of one name (either NULL), as diff descends. */
static void child_pair(const kura_node *o, const kura_node *n, ta_pair **next, size_t *nnext,
		       size_t *cap, int *err)
{
	ta_pair p = {0};

	if (o && o->type == KURA_NODE_DIR) {
		memcpy(p.o, o->subtree, KURA_HASH_SIZE);
		p.has |= 1;
	}
	if (n && n->type == KURA_NODE_DIR) {
		memcpy(p.n, n->subtree, KURA_HASH_SIZE);
		p.has |= 2;
	}
	/* equal ids: equal all the way down, diff does not go there */
	if (!p.has || (p.has == 3 && memcmp(p.o, p.n, KURA_HASH_SIZE) == 0) || *err < 0)
		return;
	if ((*err = KURA_ARRAY_GROW(*next, *cap, *nnext + 1)) == 0)
		(*next)[(*nnext)++] = p;
}

/* Merge the names of ot and nt (either NULL) as diff does, and note the pairs below. */
static int child_pairs(const kura_tree *ot, const kura_tree *nt, ta_pair **next, size_t *nnext,
		       size_t *cap)
{
	size_t i = 0, j = 0, oc = ot ? ot->count : 0, nc = nt ? nt->count : 0;
	int err = 0;

	while (err == 0 && (i < oc || j < nc)) {
		const kura_node *o = i < oc ? &ot->nodes[i] : NULL,
				*n = j < nc ? &nt->nodes[j] : NULL;
		int c = !o ? 1 : !n ? -1 : strcmp(o->name, n->name);

		child_pair(c <= 0 ? o : NULL, c >= 0 ? n : NULL, next, nnext, cap, &err);
		i += c <= 0;
		j += c >= 0;
	}
	return err;
}

int kura_repo__treeahead_diff(kura_repo *repo, const uint8_t old_root[KURA_HASH_SIZE],
			      const uint8_t new_root[KURA_HASH_SIZE], int parallel)
{
	ta_pair *level = NULL, *next = NULL;
	size_t nlevel = 0, level_cap = 0, nnext = 0, next_cap = 0;
	uint8_t(*ids)[KURA_HASH_SIZE] = NULL, (*kids)[KURA_HASH_SIZE] = NULL;
	size_t nids = 0, ids_cap = 0, nkids = 0, kids_cap = 0;
	uint8_t(*seen)[KURA_HASH_SIZE] = NULL;
	size_t nseen = 0, seen_cap = 0;
	ta_tree *kept = NULL;
	size_t nkept = 0, kept_cap = 0;
	atomic_size_t bytes = 0;
	kura_pool *pool = NULL;
	ta_pair root = {.has = 3};
	int err = 0;

	if (parallel < 2 || memcmp(old_root, new_root, KURA_HASH_SIZE) == 0 || !claim(repo) ||
	    kura_repo__need_restore_key(repo, "reading trees") < 0)
		return 0;
	if (kura_repo__load_index(repo) < 0)
		return 0; /* the walk says why */
	memcpy(root.o, old_root, KURA_HASH_SIZE);
	memcpy(root.n, new_root, KURA_HASH_SIZE);
	if ((err = KURA_ARRAY_GROW(level, level_cap, 1)) < 0 ||
	    (err = kura_pool_new(&pool, parallel, (size_t)parallel * 2)) < 0)
		goto done;
	level[nlevel++] = root;
	for (unsigned depth = 0;
	     nlevel && depth <= KURA_TREE_MAX_DEPTH && atomic_load(&bytes) < KURA_TREEAHEAD_BYTES;
	     depth++) {
		size_t from = nkept;
		void *swap;
		size_t cap;

		/* the level's trees, each once, none read before (a cycle ends here) */
		nids = 0;
		for (size_t i = 0; i < nlevel && err == 0; i++)
			if ((err = KURA_ARRAY_GROW(ids, ids_cap, nids + 2)) == 0) {
				if (level[i].has & 1)
					memcpy(ids[nids++], level[i].o, KURA_HASH_SIZE);
				if (level[i].has & 2)
					memcpy(ids[nids++], level[i].n, KURA_HASH_SIZE);
			}
		if (err < 0)
			break;
		nids = unique_new(ids, nids, seen, nseen);
		nkids = 0;
		if ((err = read_level(repo, pool, &bytes, ids, nids, &kept, &nkept, &kept_cap,
				      &kids, &nkids, &kids_cap)) < 0 ||
		    (err = add_seen(&seen, &nseen, &seen_cap, ids, nids)) < 0)
			break;
		qsort(kept + from, nkept - from, sizeof(*kept), id_cmp);
		nnext = 0;
		for (size_t i = 0; i < nlevel && err == 0; i++) {
			kura_tree *ot = NULL, *nt = NULL;

			/* a side not read (failed, or read at an earlier level): the walk reads it
			 */
			if (((level[i].has & 1) &&
			     !(ot = find_kept(kept, from, nkept, level[i].o))) ||
			    ((level[i].has & 2) &&
			     !(nt = find_kept(kept, from, nkept, level[i].n)))) {
				kura_tree_free(ot);
				continue;
			}
			err = child_pairs(ot, nt, &next, &nnext, &next_cap);
			kura_tree_free(ot);
			kura_tree_free(nt);
		}
		swap = level, level = next, next = swap;
		cap = level_cap, level_cap = next_cap, next_cap = cap;
		nlevel = nnext;
	}
done:
	kura_pool_free(pool);
	free(level);
	free(next);
	free(ids);
	free(kids);
	free(seen);
	return install(repo, kept, nkept, err);
}

bool kura_repo__treeahead_take(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], uint8_t **out,
			       size_t *out_len)
{
	ta_tree *t = NULL;

	pthread_mutex_lock(&repo->lock);
	if (repo->ahead)
		t = bsearch(id, repo->ahead->trees, repo->ahead->n, sizeof(*t), id_cmp);
	if (t && t->data) {
		*out = t->data;
		*out_len = t->len;
		t->data = NULL;
	} else {
		t = NULL;
	}
	pthread_mutex_unlock(&repo->lock);
	return t != NULL;
}

/* Free what is kept if `all`, or if this thread's call kept it. */
static void drop(kura_repo *repo, bool all)
{
	struct kura_treeahead *a = NULL;

	pthread_mutex_lock(&repo->lock);
	if (repo->ahead && (all || pthread_equal(repo->ahead->owner, pthread_self()))) {
		a = repo->ahead;
		repo->ahead = NULL;
	}
	pthread_mutex_unlock(&repo->lock);
	if (!a)
		return;
	free_trees(a->trees, a->n);
	free(a);
}

void kura_repo__treeahead_drop(kura_repo *repo)
{
	drop(repo, false);
}

void kura_repo__treeahead_free(kura_repo *repo)
{
	drop(repo, true);
}
