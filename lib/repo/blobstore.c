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
 */
#include "repo/blobstore.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/array.h"
#include "common/error.h"
#include "format/indexfile.h"

#define INDEX_PACKS_PER_FILE 64
/* also write an index at least this often, so an interrupted backup keeps its progress */
#define INDEX_SECONDS 30

struct kura_blobstore {
	kura_repo *repo;
	pthread_mutex_t lock;
	kura_pack_writer **free_writers;
	size_t nfree, free_cap;

	kura_indexfile pending;       /* new packs not yet in an index file */
	size_t pending_cap_packs, pending_cap_records;

	uint8_t *used;                /* by pack ordinal: referenced by this backup */
	size_t used_cap;

	kura_blobstore_stats stats;
	time_t last_index;
};

int kura_blobstore_new(kura_blobstore **out, kura_repo *repo)
{
	kura_blobstore *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	s->repo = repo;
	s->last_index = time(NULL);
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void kura_blobstore_free(kura_blobstore *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfree; i++)
		kura_pack_writer_free(s->free_writers[i]);
	free(s->free_writers);
	free(s->pending.packs);
	free(s->pending.records);
	free(s->used);
	pthread_mutex_destroy(&s->lock);
	free(s);
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

		memcpy(loc.id, entries[i].id, KURA_HASH_SIZE);
		loc.pack = ordinal;
		loc.offset = entries[i].offset;
		loc.stored_len = entries[i].stored_len;
		loc.raw_len = entries[i].raw_len;
		loc.type = entries[i].type;
		loc.flags = entries[i].flags;
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
	if (s->pending.npacks >= INDEX_PACKS_PER_FILE || time(NULL) - s->last_index >= INDEX_SECONDS)
		err = write_index_file(s);
unlock:
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int upload_pack(kura_blobstore *s, kura_pack_writer *w)
{
	const kura_pack_entry *entries;
	const uint8_t *data;
	uint8_t name[KURA_HASH_SIZE];
	char hex[KURA_ID_HEX];
	size_t len, count;
	int err;

	if ((err = kura_pack_writer_finish(w, &data, &len, name, &entries, &count)) < 0)
		return err;
	kura_hex(hex, name, sizeof(name));
	if ((err = s->repo->backend->put(s->repo->backend, KURA_FILE_PACK, hex, data, len)) < 0)
		return kura_error_wrap(err, "writing pack %s", hex);
	return register_pack(s, name, entries, count);
}

static int take_writer(kura_blobstore *s, kura_pack_writer **out)
{
	kura_repo *repo = s->repo;
	int err;

	pthread_mutex_lock(&s->lock);
	*out = s->nfree ? s->free_writers[--s->nfree] : NULL;
	pthread_mutex_unlock(&s->lock);
	if (*out)
		return 0;
	if ((err = kura_pack_writer_new(out, &repo->keys)) < 0)
		return err;
	/*
	 * Room for a full pack, the blob that passes pack_size and the
	 * trailer, so that the buffer never moves while blobs are sealed into it.
	 */
	if ((err = kura_pack_writer_reserve(*out, (size_t)repo->config.pack_size +
						      repo->config.chunker.max + 65536)) < 0) {
		kura_pack_writer_free(*out);
		*out = NULL;
	}
	return err;
}

static int return_writer(kura_blobstore *s, kura_pack_writer *w)
{
	int err = 0;

	pthread_mutex_lock(&s->lock);
	if ((err = KURA_ARRAY_GROW(s->free_writers, s->free_cap, s->nfree + 1)) < 0)
		goto done;
	s->free_writers[s->nfree++] = w;
	w = NULL;
done:
	pthread_mutex_unlock(&s->lock);
	kura_pack_writer_free(w);
	return err;
}

int kura_blobstore_add(kura_blobstore *s, uint8_t type, const uint8_t *data, size_t len,
		       uint8_t out_id[KURA_HASH_SIZE])
{
	kura_repo *repo = s->repo;
	kura_pack_writer *w = NULL;
	kura_blob_loc found, claim = {0};
	size_t stored_len;
	int err;

	if ((err = kura_mac_compute(repo->mac, out_id, data, len)) < 0)
		return err;
	pthread_mutex_lock(&repo->lock);
	if (kura_idmap_get(&found, repo->index, out_id)) {
		err = found.pack == KURA_PACK_PENDING ? 0 : mark_used(s, found.pack);
		pthread_mutex_unlock(&repo->lock);
		return err;
	}
	memcpy(claim.id, out_id, KURA_HASH_SIZE);
	claim.pack = KURA_PACK_PENDING;
	err = kura_idmap_put(repo->index, &claim);
	pthread_mutex_unlock(&repo->lock);
	if (err < 0)
		return err;

	if ((err = take_writer(s, &w)) < 0)
		return err;
	if ((err = kura_pack_writer_add_plain(w, type, out_id, data, len,
					      repo->config.compression ? repo->config.level : 0,
					      &stored_len)) < 0)
		goto done;
	pthread_mutex_lock(&s->lock);
	s->stats.blobs_new++;
	s->stats.bytes_new_raw += len;
	s->stats.bytes_new_stored += stored_len;
	pthread_mutex_unlock(&s->lock);
	/* the writer, its buffers and zstd context go on to the next pack */
	if (kura_pack_writer_size(w) >= repo->config.pack_size &&
	    (err = upload_pack(s, w)) == 0)
		err = kura_pack_writer_reset(w);
done:
	if (w) {
		int rc = return_writer(s, w);
		if (!err)
			err = rc;
	}
	return err;
}

int kura_blobstore_use(kura_blobstore *s, const uint8_t id[KURA_HASH_SIZE])
{
	kura_blob_loc found;
	int err = 0;

	pthread_mutex_lock(&s->repo->lock);
	if (!kura_idmap_get(&found, s->repo->index, id))
		err = KURA_ENOTFOUND;
	else if (found.pack != KURA_PACK_PENDING)
		err = mark_used(s, found.pack);
	pthread_mutex_unlock(&s->repo->lock);
	return err;
}

int kura_blobstore_flush(kura_blobstore *s)
{
	int err = 0;

	/* no worker runs any more: the free list is ours */
	while (s->nfree > 0) {
		kura_pack_writer *w = s->free_writers[--s->nfree];

		if (!err && kura_pack_writer_count(w) > 0)
			err = upload_pack(s, w);
		kura_pack_writer_free(w);
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
