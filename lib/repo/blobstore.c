/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blobstore.c - deduplicating blob writer (see blobstore.h).
 *
 * Locks: repo->lock guards the index and the used-pack marks; s->lock
 * guards the free list of pack writers and the index file being gathered.
 * Neither is held while compressing, encrypting or uploading.
 *
 * Durability order: a pack is uploaded (durable) before it is added to an
 * index file, and index files are uploaded before the snapshot that needs
 * them, so a crash leaves only unreferenced files behind.
 *
 * Memory: each worker fills a pack of its own (a pack_slot).  Where the
 * backend has the stream slots (a local repository) a pack streams to a
 * temporary file as blobs are sealed, so a slot holds about one blob
 * (STREAM_PIECE or the largest chunk, whichever is more) plus 48 bytes a
 * blob for the trailer; the backend makes the file durable and visible
 * under its name only when the pack is finished (stream_commit), and drops
 * it if the backup fails first.  Without them (a vault: the upload's URL
 * carries the pack's name, known only when the last byte is written) a
 * slot buffers the whole pack (pack_size plus a chunk) and put() sends it.
 *
 * Trees go in packs of their own (a writer's policy; readers take any mix):
 * a restore, ls or check then reads a snapshot's trees from few packs in
 * few ranged reads instead of one read per tree scattered among the data.
 * At most the tree slots in use at once (about one a worker) more packs
 * are left unfilled at the end.
 */
#include "repo/blobstore.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/array.h"
#include "common/error.h"
#include "common/pool.h"
#include "format/indexfile.h"

#define INDEX_PACKS_PER_FILE 64
/* and at most this many records, which wait in memory (~52 bytes each) until written */
#define INDEX_RECORDS_PER_FILE 65536
/* also write an index at least this often, so an interrupted backup keeps its progress */
#define INDEX_SECONDS 30
/* a streamed pack is written out in pieces of about this much (or one blob, if larger) */
#define STREAM_PIECE (1u << 20)

/* packs of data blobs, packs of tree blobs */
#define SLOT_KINDS 2

static int slot_kind(uint8_t type)
{
	return type == KURA_BLOB_TREE;
}

/* A pack in the making, used by one worker at a time. */
typedef struct {
	kura_pack_writer *w;
	kura_backend_stream *stream; /* streamed: NULL until the first piece */
} pack_slot;

struct kura_blobstore {
	kura_repo *repo;
	bool stream;                  /* packs are streamed (the backend has stream slots) */
	pthread_mutex_t lock;
	pack_slot **free_slots[SLOT_KINDS]; /* by slot_kind() */
	size_t nfree[SLOT_KINDS], free_cap[SLOT_KINDS];

	kura_indexfile pending;       /* new packs not yet in an index file */
	size_t pending_cap_packs, pending_cap_records;

	uint8_t *used;                /* by pack ordinal: referenced by this backup */
	size_t used_cap;

	kura_blobstore_stats stats;
	time_t last_index;
};

/* Drop a slot and its unfinished pack: the temporary file goes too. */
static void slot_free(kura_blobstore *s, pack_slot *p)
{
	if (!p)
		return;
	if (p->stream)
		s->repo->backend->stream_free(p->stream);
	kura_pack_writer_free(p->w);
	free(p);
}

int kura_blobstore_new(kura_blobstore **out, kura_repo *repo)
{
	kura_blobstore *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	s->repo = repo;
	s->stream = repo->backend->stream_open != NULL;
	s->last_index = time(NULL);
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void kura_blobstore_free(kura_blobstore *s)
{
	if (!s)
		return;
	for (int k = 0; k < SLOT_KINDS; k++) {
		for (size_t i = 0; i < s->nfree[k]; i++)
			slot_free(s, s->free_slots[k][i]);
		free(s->free_slots[k]);
	}
	free(s->pending.packs);
	free(s->pending.records);
	free(s->used);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int mark_used(kura_blobstore *s, uint32_t pack);

/*
 * With repo->lock held: a deduplicated blob's packs.  Its entry is a hint
 * (a writer may have lied about it), so every pack an index names for it
 * goes in the snapshot's pack list, and garbage collection keeps the one
 * that really holds it.
 */
static int mark_used_all(kura_blobstore *s, const kura_blob_loc *found)
{
	const kura_blob_loc *alts;
	size_t n;
	int err;

	if (found->pack == KURA_PACK_PENDING)
		return 0;
	if ((err = mark_used(s, found->pack)) < 0)
		return err;
	n = kura_repo__alts(s->repo, found->id, &alts);
	for (size_t i = 0; i < n && err == 0; i++)
		err = mark_used(s, alts[i].pack);
	return err;
}

/* With repo->lock held. */
static int mark_used(kura_blobstore *s, uint32_t pack)
{
	if (pack >= s->used_cap) {
		size_t cap = s->used_cap ? s->used_cap : 256;
		uint8_t *p;

		while (cap <= pack)
			cap *= 2;
		if (!(p = realloc(s->used, cap)))
			return kura_error_set(KURA_ENOMEM, "out of memory");
		memset(p + s->used_cap, 0, cap - s->used_cap);
		s->used = p;
		s->used_cap = cap;
	}
	s->used[pack] = 1;
	return 0;
}

static int write_index_file(kura_blobstore *s)
{
	uint8_t *data = NULL, name[KURA_HASH_SIZE];
	char hex[KURA_ID_HEX];
	size_t len;
	int err;

	if (s->pending.npacks == 0)
		return 0;
	if ((err = kura_indexfile_encode(&data, &len, name, &s->repo->keys, &s->pending)) < 0)
		return err;
	kura_hex(hex, name, sizeof(name));
	err = s->repo->backend->put(s->repo->backend, KURA_FILE_INDEX, hex, data, len);
	free(data);
	if (err < 0)
		return kura_error_wrap(err, "writing index %s", hex);
	s->pending.npacks = 0;
	s->pending.nrecords = 0;
	s->last_index = time(NULL);
	return 0;
}

/* Record an uploaded pack: index entries, the pending index file, the pack lists. */
static int register_pack(kura_blobstore *s, const uint8_t name[KURA_HASH_SIZE],
			 const kura_pack_entry *entries, size_t count)
{
	kura_repo *repo = s->repo;
	uint32_t ordinal;
	int err = 0;

	pthread_mutex_lock(&repo->lock);
	if ((err = kura_repo__pack_ordinal(repo, name, &ordinal)) < 0 || (err = mark_used(s, ordinal)) < 0)
		goto unlock_repo;
	for (size_t i = 0; i < count; i++) {
		kura_blob_loc loc;

		kura_repo__loc_from_entry(&loc, &entries[i], ordinal);
		if ((err = kura_idmap_put(repo->index, &loc)) < 0)
			goto unlock_repo;
	}
unlock_repo:
	pthread_mutex_unlock(&repo->lock);
	if (err < 0)
		return err;

	pthread_mutex_lock(&s->lock);
	if ((err = KURA_ARRAY_GROW(s->pending.packs, s->pending_cap_packs, s->pending.npacks + 1)) < 0 ||
	    (err = KURA_ARRAY_GROW(s->pending.records, s->pending_cap_records,
				   s->pending.nrecords + count)) < 0)
		goto unlock;
	memcpy(s->pending.packs[s->pending.npacks], name, KURA_HASH_SIZE);
	for (size_t i = 0; i < count; i++) {
		s->pending.records[s->pending.nrecords].pack = (uint32_t)s->pending.npacks;
		s->pending.records[s->pending.nrecords++].blob = entries[i];
	}
	s->pending.npacks++;
	s->stats.packs_written++;
	if (s->pending.npacks >= INDEX_PACKS_PER_FILE ||
	    s->pending.nrecords >= INDEX_RECORDS_PER_FILE ||
	    time(NULL) - s->last_index >= INDEX_SECONDS)
		err = write_index_file(s);
unlock:
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* Streaming: append the writer's pending bytes to the pack's temporary file. */
static int write_pending(kura_blobstore *s, pack_slot *p)
{
	kura_backend *b = s->repo->backend;
	const uint8_t *data;
	size_t len;
	int err;

	data = kura_pack_writer_pending(p->w, &len);
	if (len == 0)
		return 0;
	if (!p->stream && (err = b->stream_open(b, &p->stream)) < 0)
		return kura_error_wrap(err, "writing a new pack");
	if ((err = b->stream_append(p->stream, data, len)) < 0)
		return kura_error_wrap(err, "writing a new pack (%zu bytes so far)",
				       kura_pack_writer_size(p->w) - len);
	kura_pack_writer_consume(p->w);
	return 0;
}

/*
 * Streaming: keep the buffer to about one blob by writing out what is
 * pending before a blob of `len` bytes could take it past STREAM_PIECE.
 */
static int make_room(kura_blobstore *s, pack_slot *p, size_t len)
{
	size_t pending;

	kura_pack_writer_pending(p->w, &pending);
	if (pending + len + KURA_AEAD_OVERHEAD <= STREAM_PIECE)
		return 0;
	return write_pending(s, p);
}

/* Streaming: the rest of the pack, then make it durable and visible as `hex`. */
static int commit_streamed(kura_blobstore *s, pack_slot *p, const char *hex)
{
	kura_backend *b = s->repo->backend;
	int err;

	if ((err = write_pending(s, p)) < 0)
		return err;
	err = b->stream_commit(p->stream, KURA_FILE_PACK, hex, NULL);
	/* whatever the outcome, the stream is finished now */
	b->stream_free(p->stream);
	p->stream = NULL;
	if (err < 0)
		return kura_error_wrap(err, "writing pack %s", hex);
	return 0;
}

/* Finish the slot's pack, make it durable, then index it. */
static int upload_pack(kura_blobstore *s, pack_slot *p)
{
	const kura_pack_entry *entries;
	const uint8_t *data;
	uint8_t name[KURA_HASH_SIZE];
	char hex[KURA_ID_HEX];
	size_t len, count;
	int err;

	/* streamed: the trailer then starts in an empty buffer */
	if (s->stream && (err = write_pending(s, p)) < 0)
		return err;
	if ((err = kura_pack_writer_finish(p->w, &data, &len, name, &entries, &count)) < 0)
		return err;
	kura_hex(hex, name, sizeof(name));
	if (s->stream)
		err = commit_streamed(s, p, hex);
	else if ((err = s->repo->backend->put(s->repo->backend, KURA_FILE_PACK, hex, data,
					      len)) < 0)
		err = kura_error_wrap(err, "writing pack %s", hex);
	if (err < 0)
		return err;
	return register_pack(s, name, entries, count);
}

static int take_slot(kura_blobstore *s, int kind, pack_slot **out)
{
	kura_repo *repo = s->repo;
	pack_slot *p;
	size_t room;
	int err;

	pthread_mutex_lock(&s->lock);
	*out = s->nfree[kind] ? s->free_slots[kind][--s->nfree[kind]] : NULL;
	pthread_mutex_unlock(&s->lock);
	if (*out)
		return 0;
	if (!(p = calloc(1, sizeof(*p))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = kura_pack_writer_new(&p->w, &repo->keys)) < 0)
		goto done;
	/*
	 * Room for what the writer holds at most (streamed: a piece or the
	 * largest chunk, and later the trailer alone; buffered: a full pack,
	 * the blob that passes pack_size and the trailer), so that the buffer
	 * rarely moves.
	 */
	room = (size_t)repo->config.chunker.max + KURA_AEAD_OVERHEAD + 65536;
	if (kind == slot_kind(KURA_BLOB_TREE))
		room = 65536; /* trees are small; a tree pack's buffer grows as it needs */
	else if (s->stream)
		room += room < STREAM_PIECE ? STREAM_PIECE - room : 0;
	else
		room += repo->config.pack_size;
	if ((err = kura_pack_writer_reserve(p->w, room)) < 0)
		goto done;
	*out = p;
	p = NULL;
done:
	slot_free(s, p);
	return err;
}

static int return_slot(kura_blobstore *s, int kind, pack_slot *p)
{
	int err = 0;

	pthread_mutex_lock(&s->lock);
	if ((err = KURA_ARRAY_GROW(s->free_slots[kind], s->free_cap[kind], s->nfree[kind] + 1)) < 0)
		goto done;
	s->free_slots[kind][s->nfree[kind]++] = p;
	p = NULL;
done:
	pthread_mutex_unlock(&s->lock);
	slot_free(s, p);
	return err;
}

int kura_blobstore_add(kura_blobstore *s, uint8_t type, const uint8_t *data, size_t len,
		       uint8_t out_id[KURA_HASH_SIZE])
{
	size_t stored;

	return kura_blobstore_add_sized(s, type, data, len, NULL, out_id, &stored);
}

/* With repo->lock held: whether some location of id holds it stored on its own. */
static bool stored_alone(kura_blobstore *s, const kura_blob_loc *found)
{
	const kura_blob_loc *alts;
	size_t n;

	if (!(found->flags & KURA_BLOB_FLAG_REF))
		return true;
	n = kura_repo__alts(s->repo, found->id, &alts);
	for (size_t i = 0; i < n; i++)
		if (!(alts[i].flags & KURA_BLOB_FLAG_REF))
			return true;
	return false;
}

/*
 * With repo->lock held: whether the backup may reference `found` as it is.
 * A blob stored only against another needs that other to be kept too, and
 * only a caller that stored it so itself knows which (`ref`); to anyone
 * else it is as good as absent, and is stored again on its own.  *out_ref
 * says whether the reference is then needed.
 */
static int reuse(kura_blobstore *s, const kura_blob_loc *found, const kura_blobstore_ref *ref,
		 bool *out_ok, int *out_ref)
{
	kura_blob_loc r;
	int err;

	*out_ok = false;
	*out_ref = 0;
	if (stored_alone(s, found)) {
		*out_ok = true;
		return mark_used_all(s, found);
	}
	if (found->pack == KURA_PACK_PENDING || !ref || !ref->last_against ||
	    memcmp(ref->last_id, found->id, KURA_HASH_SIZE) != 0 ||
	    !kura_idmap_get(&r, s->repo->index, ref->id) || !stored_alone(s, &r))
		return 0;
	*out_ok = true;
	*out_ref = 1;
	if ((err = mark_used_all(s, found)) < 0)
		return err;
	return mark_used_all(s, &r);
}

int kura_blobstore_add_sized(kura_blobstore *s, uint8_t type, const uint8_t *data, size_t len,
			     const kura_comp_hint *hint, uint8_t out_id[KURA_HASH_SIZE],
			     size_t *out_stored)
{
	int used_ref;

	return kura_blobstore_add_ref(s, type, data, len, hint, NULL, out_id, 0, out_stored,
				      &used_ref, NULL);
}

int kura_blobstore_add_ref(kura_blobstore *s, uint8_t type, const uint8_t *data, size_t len,
			   const kura_comp_hint *hint, const kura_blobstore_ref *ref,
			   uint8_t out_id[KURA_HASH_SIZE], int id_known, size_t *out_stored,
			   int *out_used_ref, kura_buf *out_frame)
{
	kura_repo *repo = s->repo;
	pack_slot *p = NULL;
	kura_blob_loc found, base, claim = {0};
	size_t stored_len = 0;
	int level = repo->config.compression ? repo->config.level : 0;
	bool ok, against = false;
	int err;

	*out_stored = 0;
	*out_used_ref = 0;
	if (out_frame)
		out_frame->len = 0;
	if (ref && type != KURA_BLOB_DATA)
		return kura_error_set(KURA_EINVAL, "blobstore: only data blobs are stored against "
						   "another");
	if (!id_known && (err = kura_mac_compute(repo->mac, out_id, data, len)) < 0)
		return err;
	pthread_mutex_lock(&repo->lock);
	if (kura_idmap_get(&found, repo->index, out_id)) {
		err = reuse(s, &found, ref, &ok, out_used_ref);
		if (err < 0 || ok) {
			pthread_mutex_unlock(&repo->lock);
			return err;
		}
	}
	/* the reference must be stored on its own: one level, no chains */
	against = ref && ref->plain && memcmp(ref->id, out_id, KURA_HASH_SIZE) != 0 &&
		  kura_idmap_get(&base, repo->index, ref->id) && base.pack != KURA_PACK_PENDING &&
		  stored_alone(s, &base);
	memcpy(claim.id, out_id, KURA_HASH_SIZE);
	claim.pack = KURA_PACK_PENDING;
	err = kura_idmap_put(repo->index, &claim);
	pthread_mutex_unlock(&repo->lock);
	if (err < 0)
		return err;

	if ((err = take_slot(s, slot_kind(type), &p)) < 0)
		return err;
	if (s->stream && (err = make_room(s, p, len)) < 0)
		goto done;
	if (against) {
		kura_pack_ref pr = {ref->id, ref->plain, ref->len, ref->max_payload,
				    ref->alone_estimate};

		err = kura_pack_writer_add_ref(p->w, out_id, data, len, &pr, level, hint,
					       &stored_len, out_used_ref);
	}
	else
		err = kura_pack_writer_add_hinted(p->w, type, out_id, data, len, level, hint,
						  &stored_len);
	if (err < 0)
		goto done;
	if (out_frame) {
		size_t frame_len;
		const uint8_t *frame = kura_pack_writer_last_frame(p->w, &frame_len);

		if (frame && (err = kura_buf_put(out_frame, frame, frame_len)) < 0)
			goto done;
	}
	if (*out_used_ref) {
		pthread_mutex_lock(&repo->lock);
		err = mark_used_all(s, &base);
		pthread_mutex_unlock(&repo->lock);
		if (err < 0)
			goto done;
	}
	pthread_mutex_lock(&s->lock);
	s->stats.blobs_new++;
	s->stats.bytes_new_raw += len;
	s->stats.bytes_new_stored += stored_len;
	pthread_mutex_unlock(&s->lock);
	*out_stored = stored_len;
	/* the writer, its buffers and zstd context go on to the next pack */
	if (kura_pack_writer_size(p->w) >= repo->config.pack_size &&
	    (err = upload_pack(s, p)) == 0)
		err = kura_pack_writer_reset(p->w);
done:
	/* a failed pack is never finished later: the backup fails, its file goes */
	if (err < 0) {
		slot_free(s, p);
		return err;
	}
	return return_slot(s, slot_kind(type), p);
}

int kura_blobstore_use(kura_blobstore *s, const uint8_t id[KURA_HASH_SIZE])
{
	return kura_blobstore_use_ref(s, id, NULL);
}

int kura_blobstore_use_ref(kura_blobstore *s, const uint8_t id[KURA_HASH_SIZE],
			   const uint8_t *ref)
{
	kura_blob_loc found, r;
	int err = 0;

	pthread_mutex_lock(&s->repo->lock);
	if (!kura_idmap_get(&found, s->repo->index, id))
		err = KURA_ENOTFOUND;
	/* stored only against a blob nobody named: the snapshot could not keep that one */
	else if (!ref && !stored_alone(s, &found))
		err = KURA_ENOTFOUND;
	else if (ref && (!kura_idmap_get(&r, s->repo->index, ref) || !stored_alone(s, &r)))
		err = KURA_ENOTFOUND;
	else if ((err = mark_used_all(s, &found)) == 0 && ref)
		err = mark_used_all(s, &r);
	pthread_mutex_unlock(&s->repo->lock);
	return err;
}

typedef struct {
	kura_blobstore *s;
	pack_slot *p;
	int err;
	char msg[512]; /* a pool thread's error message (they are per thread) */
} flush_job;

static void flush_one(void *arg, void *ctx)
{
	flush_job *j = arg;

	(void)ctx;
	if ((j->err = upload_pack(j->s, j->p)) < 0)
		snprintf(j->msg, sizeof(j->msg), "%s", kura_error_message());
}

/*
 * Upload the unfinished packs (a data and a tree pack a worker, or so):
 * on a remote store, where each is a round trip, several at once.
 */
static int upload_rest(kura_blobstore *s, flush_job *jobs, size_t n)
{
	unsigned parallel = s->repo->backend->read_parallel;
	kura_pool *pool = NULL;
	int err = 0;

	if (n > 1 && parallel > 1 &&
	    kura_pool_new(&pool, (int)(n < parallel ? n : parallel), n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (kura_pool_add(pool, flush_one, &jobs[i], NULL) < 0)
				flush_one(&jobs[i], NULL);
		kura_pool_free(pool); /* waits for the uploads */
		for (size_t i = 0; i < n; i++)
			if (jobs[i].err < 0)
				return kura_error_set(jobs[i].err, "%s", jobs[i].msg);
		return 0;
	}
	for (size_t i = 0; i < n && err == 0; i++)
		err = upload_pack(s, jobs[i].p);
	return err;
}

int kura_blobstore_flush(kura_blobstore *s)
{
	flush_job *jobs;
	size_t n = 0, total = 0;
	int err = 0;

	/* no worker runs any more: the free lists are ours */
	for (int k = 0; k < SLOT_KINDS; k++)
		total += s->nfree[k];
	if (!(jobs = calloc(total ? total : 1, sizeof(*jobs))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	for (int k = 0; k < SLOT_KINDS; k++)
		for (size_t i = 0; i < s->nfree[k]; i++)
			if (kura_pack_writer_count(s->free_slots[k][i]->w) > 0) {
				jobs[n].s = s;
				jobs[n++].p = s->free_slots[k][i];
			}
	err = upload_rest(s, jobs, n);
	free(jobs);
	for (int k = 0; k < SLOT_KINDS; k++) {
		while (s->nfree[k] > 0)
			slot_free(s, s->free_slots[k][--s->nfree[k]]);
	}
	if (err < 0)
		return err;
	pthread_mutex_lock(&s->lock);
	err = write_index_file(s);
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int name_cmp(const void *a, const void *b) { return memcmp(a, b, KURA_HASH_SIZE); }

int kura_blobstore_packs(kura_blobstore *s, uint8_t (**out)[KURA_HASH_SIZE], size_t *out_count)
{
	uint8_t (*list)[KURA_HASH_SIZE];
	size_t n = 0;

	pthread_mutex_lock(&s->repo->lock);
	list = malloc((s->used_cap + 1) * sizeof(*list));
	if (!list) {
		pthread_mutex_unlock(&s->repo->lock);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < s->used_cap && i < s->repo->npacks; i++)
		if (s->used[i])
			memcpy(list[n++], s->repo->packs[i], KURA_HASH_SIZE);
	pthread_mutex_unlock(&s->repo->lock);
	qsort(list, n, KURA_HASH_SIZE, name_cmp);
	*out = list;
	*out_count = n;
	return 0;
}

void kura_blobstore_stats_get(kura_blobstore *s, kura_blobstore_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}
