/* SPDX-License-Identifier: Apache-2.0 */
/*
 * repo.h - the open repository, shared by the backup, restore, browse and
 * check code (semi-private: kura_repo__*).
 *
 * A kura_repo holds the backend, the config, the key material and, once
 * loaded, the index of every blob in the repository.  Packs are numbered
 * by ordinal in `packs`; blob locations refer to packs by ordinal.
 * Reading functions are safe from several threads at once (the index and
 * the cache of opened pack keys are guarded by `lock`).
 */
#ifndef KURA_REPO_REPO_H
#define KURA_REPO_REPO_H

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "kura/sys/backend.h"
#include "kura/kura.h"
#include "crypto/keyfile.h"
#include "format/config.h"
#include "format/pack.h"
#include "format/snapshot.h"
#include "format/tree.h"
#include "repo/idmap.h"
#include "repo/prehash.h"

typedef struct {
	uint8_t name[KURA_HASH_SIZE];
	uint8_t key[KURA_KEY_SIZE];
} kura_pack_key_slot;

struct kura_repo {
	kura_backend *backend;
	kura_config config;
	kura_keys keys;
	char id_hex[KURA_ID_HEX];
	kura_mac *mac;                   /* HMAC with keys.id_key */
	uint8_t *keyfile;                /* the wrapped restore key, for export; may be NULL */
	size_t keyfile_len;
	bool local;                      /* a local directory: reading a pack twice is cheap */
	kura_prehash *prehash;           /* packs hashed while the key opened; may be NULL */

	pthread_mutex_t lock;
	bool index_loaded;
	kura_idmap *index;
	uint8_t (*packs)[KURA_HASH_SIZE];/* pack table: ordinal -> name */
	size_t npacks, packs_cap;
	kura_idmap *pack_ordinals;       /* pack name -> ordinal (in .pack), for dedup of names */
	kura_pack_key_slot *key_cache;   /* opened data keys, small direct-mapped cache */
	size_t key_cache_size;

	/*
	 * Index entries are hints (locate.c).  `index` holds one location per
	 * blob; the rare other locations the index files or pack trailers give
	 * for the same id wait here, sorted by id when alts_sorted.
	 */
	kura_blob_loc *alts;
	size_t nalts, alts_cap;
	bool alts_sorted;
	uint64_t *pack_sizes;            /* by ordinal, as listed (0: not known) */
	size_t pack_sizes_cap;
	pthread_mutex_t scan_lock;       /* one trailer scan at a time */
	bool trailers_scanned;

	/* Damaged files seen by this handle, once each (kura_repo_damage). */
	pthread_mutex_t damage_lock;
	kura_damage *damage;
	size_t ndamage, damage_cap;
	/*
	 * Index locations whose blob did not authenticate (locate.c), under
	 * damage_lock: kura_repo_damage() names the index files that gave
	 * them, once the packs' trailers show they lie.  The first `blamed`
	 * were looked at already.
	 */
	kura_blob_loc *suspects;
	size_t nsuspects, suspects_cap, suspects_blamed;

	/* Trees read ahead for a walk on a remote store (treeahead.h), under lock. */
	struct kura_treeahead *ahead;
	/* References read ahead for a restore batch on a remote store (refahead.h), under lock. */
	struct kura_refahead *refs_ahead;
};

/*
 * Note a damaged repository file ("index/<hex>", "pack/<hex>"...) once, with
 * the reason: readers skip what they cannot trust and say so.  Thread-safe;
 * never fails (a note lost to a lack of memory is only a lost warning).
 */
void kura_repo__damaged(kura_repo *repo, kura_file_type type, const char *name, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));

/*
 * Name the index files that gave the locations found lying since the last
 * call: for each location that failed, the pack's own trailer is read, and
 * if it does not put the blob there (the pack is intact, the index lies),
 * every index file with that record is noted as damaged, naming the blob
 * and the pack.  Reads index files and trailers again, only when some
 * location failed.  Never fails, and keeps the calling thread's error.
 */
void kura_repo__blame_indexes(kura_repo *repo);

/* Whether a read error is damage to the file read (skip it) rather than a failure to read. */
bool kura_repo__is_damage(int err);

/* The location of the blob that entry `e` of pack ordinal `pack` describes. */
static inline void kura_repo__loc_from_entry(kura_blob_loc *out, const kura_pack_entry *e,
					     uint32_t pack)
{
	memcpy(out->id, e->id, KURA_HASH_SIZE);
	out->pack = pack;
	out->offset = e->offset;
	out->stored_len = e->stored_len;
	out->raw_len = e->raw_len;
	out->type = e->type;
	out->flags = e->flags;
}

/*
 * Add a location the index files (or a pack trailer) give for a blob:
 * the first becomes the blob's entry, another that differs waits in the
 * side table.  With repo->lock held.
 */
int kura_repo__add_loc(kura_repo *repo, const kura_blob_loc *loc);

/* The other locations of id (with repo->lock held; borrowed until it is released). */
size_t kura_repo__alts(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE],
		       const kura_blob_loc **out);

/*
 * Read one blob by id from the first of its locations that authenticates:
 * its index entry, the other locations the indexes give, then the packs'
 * trailers.  `tried` (or NULL) already failed: it is noted as damage and
 * skipped.  A location that fails is noted; one that works becomes the
 * blob's entry.  *out is malloc'd (*out_len bytes); *out_loc (or NULL)
 * where it was found.
 */
int kura_repo__read_blob_any(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE],
			     const kura_blob_loc *tried, uint8_t **out, size_t *out_len,
			     kura_blob_loc *out_loc);

/*
 * Where readers of this repository get the blobs others are stored
 * against (format/pack.h): read by id like kura_repo__read_blob_any(), but
 * only from locations stored on their own.
 */
void kura_repo__refs(kura_repo *repo, kura_blob_refs *out);

/*
 * A location of id whose type and raw length are as given, from the index,
 * the side table or (once per handle) the packs' trailers.  KURA_ENOTFOUND.
 */
int kura_repo__lookup_fit(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], uint8_t type,
			  uint32_t raw_len, kura_blob_loc *out);

/* Read every pack's trailer (once per handle) and add what the index lacks. */
int kura_repo__scan_trailers(kura_repo *repo);

/* Fetch and decrypt one pack's trailer by ordinal (size from the listing). */
int kura_repo__pack_trailer(kura_repo *repo, uint32_t pack, kura_pack_entry **out,
			    size_t *out_count);

/* Load every index file (once); records of packs that do not exist are dropped. */
int kura_repo__load_index(kura_repo *repo);

/*
 * 0 if every one of the `n` packs is stored in `b` (one listing), else
 * KURA_ENOTFOUND with a message naming the missing ones and the likely
 * cause, a concurrent prune (gc.c).  A backup asks this just before it
 * writes its snapshot.
 */
int kura_gc__packs_stored(kura_backend *b, const uint8_t (*packs)[KURA_HASH_SIZE], size_t n);

/* Ordinal of a pack name, adding it to the table if new. */
int kura_repo__pack_ordinal(kura_repo *repo, const uint8_t name[KURA_HASH_SIZE], uint32_t *out);

/* The data key of a pack (restore key only), through the cache. */
int kura_repo__pack_key(kura_repo *repo, uint32_t pack, uint8_t out[KURA_KEY_SIZE]);

/*
 * Decrypt, decompress and verify one blob whose stored bytes are `stored`.
 * *out is malloc'd with loc->raw_len bytes.
 */
int kura_repo__decode_blob(kura_repo *repo, const kura_blob_loc *loc, const uint8_t *stored,
			   uint8_t **out);

/*
 * kura_repo__decode_blob(), and *out_ref_failed true when the blob is
 * stored against another that could not be read: its own bytes
 * authenticated, and the message names that other blob, whose damage it
 * is (a reader should not count it against this blob's pack).
 */
int kura_repo__decode_blob_noting(kura_repo *repo, const kura_blob_loc *loc, const uint8_t *stored,
				  uint8_t **out, bool *out_ref_failed);

/* Read one blob by id (fetches its byte range from the backend). */
int kura_repo__read_blob(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], uint8_t **out,
			 size_t *out_len);

/*
 * Merged ranged reads (treeahead.c, refahead.c): blobs of one pack read in
 * one request when the bytes between them are at most KURA_SPAN_GAP (worth
 * reading to save a round trip) and the request at most KURA_SPAN_MAX.
 * Given a span [start, *end) and the next location of the same pack (by
 * offset), true and *end extended if it joins the span.  No shortcut for a
 * repeated offset: a lying entry may be longer.
 */
#define KURA_SPAN_GAP (1u << 20)
#define KURA_SPAN_MAX (4u << 20)
static inline bool kura_repo__span_joins(uint64_t start, uint64_t *end, const kura_blob_loc *l)
{
	uint64_t e = (uint64_t)l->offset + l->stored_len;

	if (l->offset > *end + KURA_SPAN_GAP || (e > *end ? e : *end) - start > KURA_SPAN_MAX)
		return false;
	if (e > *end)
		*end = e;
	return true;
}

/*
 * Trees read ahead (treeahead.c): take the plaintext of tree `id` if it
 * was read ahead, true and *out (malloc'd, the caller's) with *out_len
 * bytes, false if not; each is given out once; thread-safe.  _drop frees
 * what is still kept if the calling thread's call read it (one call at a
 * time reads ahead on a handle); _free frees it whoever read it (the
 * handle's end); a repository without any is fine.
 */
bool kura_repo__treeahead_take(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], uint8_t **out,
			       size_t *out_len);
void kura_repo__treeahead_drop(kura_repo *repo);
void kura_repo__treeahead_free(kura_repo *repo);

/*
 * References read ahead (refahead.c), as trees are: take the plaintext of
 * blob `id` if it was read ahead as a reference (a copy while later chunks
 * of the batch still name it), true and *out (malloc'd, the caller's) with
 * *out_len bytes, false if not; thread-safe.  _drop frees what is still
 * kept if the calling thread's call read it; _free whoever read it.
 */
bool kura_repo__refahead_take(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], uint8_t **out,
			      size_t *out_len);
void kura_repo__refahead_drop(kura_repo *repo);
void kura_repo__refahead_free(kura_repo *repo);

/* Read and decode a tree blob. */
int kura_repo__load_tree(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], kura_tree **out);

/* Read and decode a snapshot by full hex name. */
int kura_repo__load_snapshot(kura_repo *repo, const char *id_hex, kura_snapshot **out);

/* KURA_ENEEDKEY with a clear message unless the repository was opened with the restore key. */
int kura_repo__need_restore_key(const kura_repo *repo, const char *what);

#endif
