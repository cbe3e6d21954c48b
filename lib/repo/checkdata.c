/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checkdata.c - the --read-data pass of a check.  Packs are read
 * in name order by the calling thread alone, one at a time, into threads + 1
 * reusable slots; workers hash each pack, decrypt and verify every blob right
 * after the hash has passed over it, and compare the trailer with the index.
 * Workers never report: they queue a pack's problems together, and the
 * calling thread reports them, so their order is the same as ever.  Memory
 * is bounded by the slots and one scratch per worker.  A pack the open
 * already hashed whole at the size read here (prehash.h: while Argon2id
 * ran) is not hashed again; its blobs are verified all the same.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <sys/mman.h>
#include <zstd.h>

#include "repo/checker.h"

/* ------------------------------------------------------------------ */
/* --read-data: every pack, read in order, verified by the workers      */

/*
 * A slot holds one pack in flight; there are threads + 1 (one being filled
 * while each worker verifies one).  A scratch is what one worker decrypts
 * and decompresses blobs into; there is one per worker.  Both are allocated
 * once and reused, so the pass neither faults in fresh pages for every pack
 * nor creates a zstd context for every blob, and they bound its memory.
 */
typedef struct ck_slot {
	struct ck_slot *next_free;
	uint8_t *buf; /* the pack, when read into the slot */
	size_t cap;
} ck_slot;

typedef struct ck_scratch {
	struct ck_scratch *next_free;
	uint8_t *payload, *plain; /* one blob, decrypted and decompressed */
	size_t payload_cap, plain_cap;
	ZSTD_DCtx *dctx;
} ck_scratch;

typedef struct {
	uint32_t pack;
	uint8_t *data;
	size_t len;
	uint8_t *owned; /* data, when it did not fit the slot's own buffer */
	ck_slot *slot;
	ck_scratch *scratch; /* the worker's, while it runs the job */
} ck_job;


typedef struct {
	checker *ck;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	ck_slot *slots, *free;
	size_t nslots;
	ck_scratch *scratch, *free_scratch;
	size_t nscratch;
} ck_reader;

/* One problem of a pack, gathered with the others so their order is the same as ever. */
__attribute__((format(printf, 3, 4))) static void ck_plist_add(kura_msglist *l, const char *object,
							       const char *fmt, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	/* out of memory: still counted (lost), so the check cannot pass by running out */
	kura_msglist_add(l, 0, NULL, object, message);
}

static int cmp_entry_offset(const void *key, const void *elem)
{
	uint32_t off = *(const uint32_t *)key;
	const kura_pack_entry *e = elem;

	return off < e->offset ? -1 : off > e->offset;
}

static bool entries_agree(const kura_pack_entry *a, const kura_pack_entry *b)
{
	return a->type == b->type && a->flags == b->flags && a->offset == b->offset &&
	       a->stored_len == b->stored_len && a->raw_len == b->raw_len &&
	       memcmp(a->id, b->id, KURA_HASH_SIZE) == 0;
}

/*
 * The buffers of the pass are mapped, not malloc'd: one that grows gives
 * its old pages back at once instead of leaving them resident in some
 * thread's malloc arena, so peak memory is what the buffers hold now.
 */
static void big_free(uint8_t **buf, size_t *cap, bool wipe)
{
	if (*buf) {
		if (wipe)
			kura_wipe(*buf, *cap);
		munmap(*buf, *cap);
	}
	*buf = NULL;
	*cap = 0;
}

static int big_grow(uint8_t **buf, size_t *cap, size_t need, bool wipe)
{
	void *nb;

	if (need <= *cap)
		return 0;
	big_free(buf, cap, wipe);
	need = (need + 65535) & ~(size_t)65535;
	nb = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (nb == MAP_FAILED)
		return KURA_ENOMEM;
	*buf = nb;
	*cap = need;
	return 0;
}

static int grow_scratch(uint8_t **buf, size_t *cap, size_t need, const char *hex)
{
	if (big_grow(buf, cap, need, true) < 0)
		return kura_error_set(KURA_ENOMEM, "blob %s: out of memory (%zu bytes)", hex, need);
	return 0;
}

/* The repository's reference reader, noting which blob was asked for and whether it failed. */
typedef struct {
	kura_blob_refs repo;
	bool named, failed;
	uint8_t id[KURA_HASH_SIZE];
} ck_refs;

static int ck_fetch_ref(void *ctx, const uint8_t id[KURA_HASH_SIZE], uint8_t **out, size_t *out_len)
{
	ck_refs *r = ctx;
	int err;

	r->named = true;
	memcpy(r->id, id, KURA_HASH_SIZE);
	err = r->repo.fetch(r->repo.ctx, id, out, out_len);

	if (err < 0 && err != KURA_ENOMEM)
		r->failed = true;
	return err;
}

/*
 * Decrypt and verify one blob in memory, into the worker's reused buffers.
 * *r says which blob it names as its reference, if it is stored against
 * another, and r->failed that this one could not be read (its own bytes
 * authenticated before that blob was asked for).
 */
static int ck_blob_verify(ck_scratch *s, const uint8_t key[KURA_KEY_SIZE], kura_repo *repo,
			  const kura_pack_entry *e, const uint8_t *stored, ck_refs *r)
{
	kura_blob_refs refs = {.fetch = ck_fetch_ref, .ctx = r};
	char hex[KURA_ID_HEX];
	const uint8_t *plain;
	size_t payload_len, plain_len;
	int err;

	r->named = r->failed = false;
	kura_hex(hex, e->id, KURA_HASH_SIZE);
	if ((err = kura_blob_sizes(e, &payload_len, &plain_len)) < 0 ||
	    (err = grow_scratch(&s->payload, &s->payload_cap, payload_len ? payload_len : 1, hex)) <
		0 ||
	    (plain_len && (err = grow_scratch(&s->plain, &s->plain_cap, plain_len, hex)) < 0))
		return err;
	if (plain_len && !s->dctx && !(s->dctx = ZSTD_createDCtx()))
		return kura_error_set(KURA_ENOMEM, "blob %s: out of memory", hex);
	/* a blob stored against another is read with that one, from wherever it is stored */
	kura_repo__refs(repo, &r->repo);
	err = kura_blob_decode_refs(&plain, s->payload, s->plain, s->dctx, key, repo->mac, e,
				    stored, e->stored_len, &refs);
	r->failed = err < 0 && r->failed;
	return err;
}

/* Bounds, then the blob itself; 0 or the error (*r as ck_blob_verify says). */
static int verify_blob(checker *ck, const uint8_t key[KURA_KEY_SIZE], const kura_pack_entry *e,
		       const ck_job *job, ck_refs *r)
{
	r->named = r->failed = false;
	if ((uint64_t)e->offset + e->stored_len > job->len) {
		char hex[KURA_ID_HEX];

		kura_hex(hex, e->id, KURA_HASH_SIZE);
		return kura_error_set(KURA_ECORRUPT,
				      "blob %s: %u bytes run past the end of the pack", hex,
				      e->stored_len);
	}
	return ck_blob_verify(job->scratch, key, ck->repo, e, job->data + e->offset, r);
}

/*
 * Hash the pack up to `end` (where the next blob ends), so each blob is
 * decrypted while the hash has just brought it into the cache.  Every byte
 * is hashed once, in order, whatever the records claim.
 */
static void hash_to(kura_sha256_ctx *h, const ck_job *job, size_t *hashed, uint64_t end)
{
	if (end > job->len)
		end = job->len;
	if (end > *hashed) {
		kura_sha256_update(h, job->data + *hashed, (size_t)end - *hashed);
		*hashed = (size_t)end;
	}
}

static void slot_release(ck_reader *rd, ck_slot *s)
{
	pthread_mutex_lock(&rd->lock);
	s->next_free = rd->free;
	rd->free = s;
	pthread_cond_signal(&rd->freed);
	pthread_mutex_unlock(&rd->lock);
}

static void report_lies(checker *ck, kura_msglist *pl, const ck_pack *p, uint32_t *lies, size_t nlies)
{
	char object[96 + KURA_ID_HEX], pack[KURA_ID_HEX], hex[KURA_ID_HEX];

	kura_hex(pack, p->name, KURA_HASH_SIZE);
	for (size_t i = 0; i < nlies; i++) {
		const ck_copy *first;
		size_t count = 0;

		if (lies[i] == UINT32_MAX)
			continue;
		first = &ck->copies[ck->by_pack[p->rec_start + lies[i]]];
		for (size_t j = i; j < nlies; j++)
			if (lies[j] != UINT32_MAX &&
			    ck->copies[ck->by_pack[p->rec_start + lies[j]]].index == first->index) {
				lies[j] = UINT32_MAX;
				count++;
			}
		snprintf(object, sizeof(object), "index %s", ck->index_names.v[first->index].name);
		kura_hex(hex, first->e.id, KURA_HASH_SIZE);
		ck_plist_add(pl, object,
			     "%zu record(s) place blobs in pack %s where its intact trailer has "
			     "other blobs (first: blob %s at offset %u): the index lies",
			     count, pack, hex, first->e.offset);
	}
}

/* Keep what copy cp names as its reference, for the walk to compare with its tree's. */
static void note_ref_named(checker *ck, const ck_copy *cp, const uint8_t ref[KURA_HASH_SIZE])
{
	pthread_mutex_lock(&ck->lock);
	/* one lost is said after the pass: a check cannot pass by running out */
	if (KURA_ARRAY_GROW(ck->refnames, ck->refnames_cap, ck->nrefnames + 1) < 0) {
		ck->refnames_lost = true;
	} else {
		ck->refnames[ck->nrefnames].copy = (uint32_t)(cp - ck->copies);
		memcpy(ck->refnames[ck->nrefnames++].ref, ref, KURA_HASH_SIZE);
	}
	pthread_mutex_unlock(&ck->lock);
}

static int cmp_refname(const void *a, const void *b)
{
	uint32_t x = ((const ck_refname *)a)->copy, y = ((const ck_refname *)b)->copy;

	return x < y ? -1 : x > y;
}

const uint8_t *kura_check__ref_named(const checker *ck, const ck_copy *cp)
{
	ck_refname key = {.copy = (uint32_t)(cp - ck->copies)};
	const ck_refname *hit =
	    ck->nrefnames ? bsearch(&key, ck->refnames, ck->nrefnames, sizeof(key), cmp_refname)
			  : NULL;

	return hit ? hit->ref : NULL;
}

static void pack_job(void *arg, void *ctx)
{
	ck_reader *rd = ctx;
	checker *ck = rd->ck;
	ck_job *job = arg;
	const ck_pack *p = &ck->packs[job->pack];
	kura_pack_entry *entries = NULL;
	kura_sha256_ctx *h = NULL;
	kura_msglist pl = {.tail = &pl.head};
	kura_msglist dl = {.tail = &dl.head}; /* about records: the pack's fault unless it is intact */
	uint32_t *lies = NULL;		  /* records that disagree with the trailer */
	size_t nentries = 0, hashed = 0, nlies = 0;
	uint8_t hash[KURA_HASH_SIZE], key[KURA_KEY_SIZE];
	uint8_t *matched = NULL;
	uint64_t checked = 0;
	bool have_key, prehashed, name_ok;
	ck_refs refs;
	char object[96], hex[KURA_ID_HEX];

	/* At most `threads` jobs run at once, so there is always a scratch. */
	pthread_mutex_lock(&rd->lock);
	job->scratch = rd->free_scratch;
	rd->free_scratch = job->scratch->next_free;
	pthread_mutex_unlock(&rd->lock);
	kura_check__object(object, "pack", p->name);
	/* hashed whole, at this size, while the key was opening (prehash.h) */
	prehashed = kura_prehash_lookup(ck->repo->prehash, p->name, job->len, &name_ok);
	if (prehashed || kura_sha256_new(&h) < 0)
		h = NULL; /* hashed already, or in one go at the end */
	if (kura_pack_read_entries(&entries, &nentries, &ck->repo->keys, job->data, job->len) < 0) {
		ck_plist_add(&pl, object, "trailer: %s", kura_error_message());
		entries = NULL;
		nentries = 0;
	} else {
		if (nentries)
			matched = calloc(nentries, 1);
		if (p->rec_count)
			lies = malloc(p->rec_count * sizeof(*lies));
	}
	have_key = kura_pack_open_key(key, &ck->repo->keys, job->data, job->len) == 0;
	if (!have_key)
		ck_plist_add(&pl, object, "data key: %s (no blob in it can be read)",
			     kura_error_message());

	for (size_t i = 0; i < p->rec_count; i++) {
		ck_copy *cp = &ck->copies[ck->by_pack[p->rec_start + i]];
		const kura_pack_entry *e = NULL;
		bool lie = false;

		kura_hex(hex, cp->e.id, KURA_HASH_SIZE);
		if (entries) {
			e = bsearch(&cp->e.offset, entries, nentries, sizeof(*entries),
				    cmp_entry_offset);
			if (!e)
				ck_plist_add(&dl, object,
					     "blob %s is indexed at offset %u, where the "
					     "pack's trailer has no blob",
					     hex, cp->e.offset);
			else if (!entries_agree(e, &cp->e))
				ck_plist_add(&dl, object,
					     "the index and the pack's trailer disagree "
					     "about the blob at offset %u (%s)",
					     cp->e.offset, hex);
			lie = !e || !entries_agree(e, &cp->e);
			if (lie && lies)
				lies[nlies++] = (uint32_t)i;
			if (e && matched && !lie)
				matched[e - entries] = 1;
		}
		if (cp->state == CK_BAD || !have_key) {
			cp->state = CK_BAD; /* reported already, with the reason */
			continue;
		}
		checked++;
		if (h)
			hash_to(h, job, &hashed, (uint64_t)cp->e.offset + cp->e.stored_len);
		if (verify_blob(ck, key, &cp->e, job, &refs) == 0)
			cp->state = CK_GOOD;
		if (refs.named)
			note_ref_named(ck, cp, refs.id);
		if (cp->state == CK_GOOD) {
			/* verified */
		} else if (refs.failed) {
			/*
			 * Its reference's damage, reported where that is stored (or,
			 * if it is nowhere, by the walk, for the files that need it).
			 */
			cp->state = CK_REFLOST;
		} else {
			/* The decoder's message names the blob. */
			ck_plist_add(lie ? &dl : &pl, object, "at offset %u: %s", cp->e.offset,
				     kura_error_message());
			cp->state = CK_BAD;
		}
	}
	/* Blobs no index mentions are unreachable, but damage is still damage. */
	for (size_t i = 0; have_key && i < nentries; i++) {
		if (matched && matched[i])
			continue;
		checked++;
		if (h)
			hash_to(h, job, &hashed,
				(uint64_t)entries[i].offset + entries[i].stored_len);
		if (verify_blob(ck, key, &entries[i], job, &refs) < 0 && !refs.failed)
			ck_plist_add(&pl, object, "unindexed, at offset %u: %s", entries[i].offset,
				     kura_error_message());
	}
	if (h) {
		hash_to(h, job, &hashed, job->len);
		kura_sha256_final(h, hash);
		kura_sha256_free(h);
	} else if (!prehashed) {
		kura_sha256(hash, job->data, job->len);
	}
	if (!prehashed)
		name_ok = memcmp(hash, p->name, KURA_HASH_SIZE) == 0;
	if (!name_ok || !entries || (p->rec_count && !lies)) {
		/* Reported first, as it always was: it says the most. */
		kura_msglist pre = {.tail = &pre.head};

		if (!name_ok)
			ck_plist_add(&pre, object, "content hash does not match its name");
		if (p->beyond)
			ck_plist_add(&pre, object,
				     "%llu index records lie outside the pack's %llu bytes "
				     "(first at offset %llu)",
				     (unsigned long long)p->beyond, (unsigned long long)p->size,
				     (unsigned long long)p->first_beyond);
		kura_msglist_cat(&pre, &pl);
		kura_msglist_cat(&pre, &dl);
		pl = pre;
		if (!pl.head)
			pl.tail = &pl.head;
	} else {
		/* intact: what disagrees with its trailer is some index file's lie */
		report_lies(ck, &pl, p, lies, nlies);
		kura_msglist_free(&dl);
	}
	kura_wipe(key, sizeof(key));
	kura_msgqueue_put(&ck->pending, &pl); /* the calling thread reports them */
	pthread_mutex_lock(&ck->lock);
	ck->blobs_checked += checked;
	pthread_mutex_unlock(&ck->lock);
	free(matched);
	free(lies);
	free(entries);
	free(job->owned);
	pthread_mutex_lock(&rd->lock);
	job->scratch->next_free = rd->free_scratch;
	rd->free_scratch = job->scratch;
	pthread_mutex_unlock(&rd->lock);
	slot_release(rd, job->slot);
	free(job);
}

static void ck_progress(checker *ck, uint64_t done, uint64_t total, uint64_t packs_done,
			double *last, bool force)
{
	kura_progress pr;
	double now;

	if (!ck->opts->progress)
		return;
	now = kura_check__elapsed(ck);
	if (!force && now - *last < CK_PROGRESS_INTERVAL)
		return;
	*last = now;
	memset(&pr, 0, sizeof(pr));
	pr.files_done = packs_done;
	pr.files_total = ck->npacks;
	pr.bytes_done = done;
	pr.bytes_total = total;
	pr.elapsed = now;
	ck->opts->progress(&pr, ck->opts->progress_ctx);
}

static ck_slot *slot_take(ck_reader *rd)
{
	ck_slot *s;

	pthread_mutex_lock(&rd->lock);
	while (!rd->free)
		pthread_cond_wait(&rd->freed, &rd->lock);
	s = rd->free;
	rd->free = s->next_free;
	pthread_mutex_unlock(&rd->lock);
	return s;
}

/*
 * Read pack `name` into slot `s`: into its own buffer when the listing's
 * size fits (it is the size the pack had when listed), else (the pack
 * changed since, or the slot cannot grow) the backend's whole-file read,
 * which reports exactly what it finds.
 */
static int read_pack(checker *ck, const ck_pack *p, const char *name, ck_slot *s, ck_job *job)
{
	kura_backend *b = ck->repo->backend;
	size_t want = (size_t)p->size;

	if (want > s->cap)
		(void)big_grow(&s->buf, &s->cap, want ? want : 1, false);
	if (s->buf && want <= s->cap &&
	    b->get_range(b, KURA_FILE_PACK, name, 0, want, s->buf) == 0) {
		job->data = s->buf;
		job->len = want;
		return 0;
	}
	if (b->get(b, KURA_FILE_PACK, name, &job->owned, &job->len) < 0)
		return -1;
	job->data = job->owned;
	return 0;
}

int kura_check__read_packs(checker *ck)
{
	ck_reader rd = {.ck = ck};
	kura_pool *pool = NULL;
	uint64_t total = 0, packs_done = 0;
	double last = -1.0;
	int threads = ck->opts->threads > 0 ? ck->opts->threads : kura_cpu_count();
	int err;

	pthread_mutex_init(&rd.lock, NULL);
	pthread_cond_init(&rd.freed, NULL);
	for (size_t i = 0; i < ck->npacks; i++)
		if (ck->packs[i].present)
			total += ck->packs[i].size;
	rd.nslots = (size_t)threads + 1;
	rd.nscratch = (size_t)threads;
	rd.slots = calloc(rd.nslots, sizeof(*rd.slots));
	rd.scratch = calloc(rd.nscratch, sizeof(*rd.scratch));
	if (!rd.slots || !rd.scratch) {
		err = kura_error_set(KURA_ENOMEM, "check: out of memory");
		goto done;
	}
	for (size_t i = 0; i < rd.nslots; i++) {
		rd.slots[i].next_free = rd.free;
		rd.free = &rd.slots[i];
	}
	for (size_t i = 0; i < rd.nscratch; i++) {
		rd.scratch[i].next_free = rd.free_scratch;
		rd.free_scratch = &rd.scratch[i];
	}
	/* The slots bound the packs in flight; the queue needs no more room. */
	if ((err = kura_pool_new(&pool, threads, 1)) < 0)
		goto done;
	ck_progress(ck, 0, total, 0, &last, true);
	for (size_t i = 0; i < ck->npacks; i++) {
		ck_pack *p = &ck->packs[i];
		char object[96], name[KURA_ID_HEX];
		ck_job *job;
		ck_slot *s;

		if (!p->present)
			continue;
		kura_check__object(object, "pack", p->name);
		kura_hex(name, p->name, KURA_HASH_SIZE);
		packs_done++;
		if (p->size > KURA_PACK_MAX_SIZE) {
			kura_check__problem(ck, NULL, NULL, object,
					    "%llu bytes: larger than any pack can be",
					    (unsigned long long)p->size);
			continue;
		}
		if (!(job = calloc(1, sizeof(*job)))) {
			err = kura_error_set(KURA_ENOMEM, "check: out of memory");
			goto done;
		}
		s = slot_take(&rd);
		if (read_pack(ck, p, name, s, job) < 0) {
			kura_check__problem(ck, NULL, NULL, object, "cannot read: %s",
					    kura_error_message());
			slot_release(&rd, s);
			free(job);
			continue;
		}
		ck->files_checked++;
		ck->bytes_read += job->len;
		job->pack = (uint32_t)i;
		job->slot = s;
		kura_pool_add(pool, pack_job, job, &rd); /* blocks while the queue is full */
		kura_check__drain(ck);
		ck_progress(ck, ck->bytes_read, total, packs_done, &last, false);
	}
	kura_pool_wait(pool);
	if (ck->nrefnames)
		qsort(ck->refnames, ck->nrefnames, sizeof(*ck->refnames), cmp_refname);
	if (ck->refnames_lost)
		kura_check__problem(ck, NULL, NULL, "check",
				    "out of memory: not every reference a blob names was compared "
				    "with its tree's");
	ck_progress(ck, ck->bytes_read, total, packs_done, &last, true);
	err = 0;
done:
	kura_pool_free(pool);
	kura_check__drain(ck);
	for (size_t i = 0; rd.slots && i < rd.nslots; i++)
		big_free(&rd.slots[i].buf, &rd.slots[i].cap, false);
	for (size_t i = 0; rd.scratch && i < rd.nscratch; i++) {
		ck_scratch *s = &rd.scratch[i];

		big_free(&s->payload, &s->payload_cap, true);
		big_free(&s->plain, &s->plain_cap, true);
		ZSTD_freeDCtx(s->dctx);
	}
	free(rd.slots);
	free(rd.scratch);
	pthread_cond_destroy(&rd.freed);
	pthread_mutex_destroy(&rd.lock);
	return err;
}
