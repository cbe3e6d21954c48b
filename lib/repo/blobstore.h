/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blobstore.h - the write side of a backup: deduplicate, compress,
 * encrypt, pack and upload blobs, and write index files for the new packs.
 *
 * Thread-safe: many pipeline workers add blobs at once.  Each worker takes
 * a pack writer of its own from a free list, so encryption and compression
 * run in parallel and only the index lookup is serialised.  A blob is
 * claimed in the index (as pending) before it is encoded, so two workers
 * never store the same blob twice.  The store also records which packs the
 * backup references, for the snapshot's plaintext pack list.
 */
#ifndef KURA_REPO_BLOBSTORE_H
#define KURA_REPO_BLOBSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "format/compchoice.h"
#include "repo/repo.h"

typedef struct kura_blobstore kura_blobstore;

typedef struct {
	uint64_t blobs_new;
	uint64_t bytes_new_raw;
	uint64_t bytes_new_stored;
	uint64_t packs_written;
} kura_blobstore_stats;

/* The index must be loaded (kura_repo__load_index). */
int kura_blobstore_new(kura_blobstore **out, kura_repo *repo);

/* Store `data` as a blob of `type` unless it is already stored; its id goes to out_id. */
int kura_blobstore_add(kura_blobstore *s, uint8_t type, const uint8_t *data, size_t len,
		       uint8_t out_id[KURA_HASH_SIZE]);

/*
 * The same, also saying what storing it cost: *out_stored bytes after
 * compression, 0 if known.  hint (may be NULL): what the caller already
 * knows of the bytes, for the compression choice (format/compchoice.h).
 */
int kura_blobstore_add_sized(kura_blobstore *s, uint8_t type, const uint8_t *data, size_t len,
			     const kura_comp_hint *hint, uint8_t out_id[KURA_HASH_SIZE],
			     size_t *out_stored);

/*
 * A blob the caller would store a new one against (docs/FORMAT.md, "Blobs
 * stored against another"): its id and plaintext, which the caller has
 * verified (plain may be NULL: then a new blob is stored on its own, and
 * only the reuse below applies); the most the new blob's payload may weigh
 * that way (SIZE_MAX: no more than kura_pack_writer_add_ref() allows); and
 * what the caller stored at the same place last time: `last_id`, stored
 * against this same reference if `last_against`.
 */
typedef struct {
	uint8_t id[KURA_HASH_SIZE];
	const uint8_t *plain;
	size_t len;
	size_t max_payload;
	size_t alone_estimate; /* what the blob may weigh compressed alone; 0: unknown */
	uint8_t last_id[KURA_HASH_SIZE];
	int last_against;
} kura_blobstore_ref;

/*
 * kura_blobstore_add_sized() for a data blob that may be stored against
 * `ref` (may be NULL).  *out_used_ref is 1 when the backup now needs ref
 * to read the blob: the blob is new and was stored against it, or it is
 * the caller's last blob there, already stored against ref.  Then ref's
 * packs join the snapshot's pack list, and the caller's tree must name
 * ref beside the blob.  A blob the index holds only stored against another
 * is otherwise stored again on its own: an index entry does not say which
 * other, and the snapshot must keep it.  ref is not used unless the index
 * holds it stored on its own.  id_known: out_id already holds the blob's
 * id (the caller computed it), so it is not computed again.  out_frame
 * (may be NULL) gets the zstd frame of the plaintext when the blob was
 * stored now, on its own and compressed; else it is left empty.
 */
int kura_blobstore_add_ref(kura_blobstore *s, uint8_t type, const uint8_t *data, size_t len,
			   const kura_comp_hint *hint, const kura_blobstore_ref *ref,
			   uint8_t out_id[KURA_HASH_SIZE], int id_known, size_t *out_stored,
			   int *out_used_ref, kura_buf *out_frame);

/*
 * Note that the backup references an existing blob. KURA_ENOTFOUND if it
 * is not indexed, or indexed only stored against another.
 */
int kura_blobstore_use(kura_blobstore *s, const uint8_t id[KURA_HASH_SIZE]);

/*
 * The same for a blob the caller's tree names with the blob it is stored
 * against, `ref` (NULL: none): ref must be indexed stored on its own, and
 * its packs join the snapshot's too.  KURA_ENOTFOUND.
 */
int kura_blobstore_use_ref(kura_blobstore *s, const uint8_t id[KURA_HASH_SIZE],
			   const uint8_t *ref);

/* Upload the partly filled packs and the last index file. */
int kura_blobstore_flush(kura_blobstore *s);

/* The sorted names of every pack the backup references (after flush). *out is malloc'd. */
int kura_blobstore_packs(kura_blobstore *s, uint8_t (**out)[KURA_HASH_SIZE], size_t *out_count);

void kura_blobstore_stats_get(kura_blobstore *s, kura_blobstore_stats *out);

void kura_blobstore_free(kura_blobstore *s);

#endif
