/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pack.h - pack files and the blobs inside them (docs/FORMAT.md, "Pack
 * files").
 *
 * A pack holds encrypted blobs (chunks of file data, or trees).  Every pack
 * has its own random data key, sealed to the repository public key in the
 * header, so a backup key can write packs but never read one back.  The
 * pack's trailer lists its blobs, encrypted under a subkey of the index key
 * so that indexes can be rebuilt from packs by either key.
 *
 * A blob's id is HMAC-SHA256(id_key, plaintext): the stored bytes are
 * AES-256-GCM(nonce, data_key, payload, aad = type || id) where payload is
 * the plaintext, zstd-compressed when that makes it smaller.
 */
#ifndef KURA_FORMAT_PACK_H
#define KURA_FORMAT_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/keyfile.h"
#include "format/compchoice.h"

enum { KURA_BLOB_DATA = 1, KURA_BLOB_TREE = 2 };
#define KURA_BLOB_FLAG_ZSTD 0x01
/*
 * Stored against another blob (its *reference*): the payload is the
 * reference's id and then a zstd frame made with the reference's plaintext
 * as prefix.  Data blobs only; the reference is a data blob stored without
 * this flag, so there are no chains.  Never together with FLAG_ZSTD.
 */
#define KURA_BLOB_FLAG_REF 0x02
#define KURA_BLOB_FLAGS_KNOWN (KURA_BLOB_FLAG_ZSTD | KURA_BLOB_FLAG_REF)
#define KURA_BLOB_AAD_SIZE (1 + KURA_HASH_SIZE)

#define KURA_PACK_HEADER_SIZE 124
#define KURA_PACK_MAX_SIZE 0xFFFFFFFFu
#define KURA_BLOB_MAX_RAW (64u * 1024 * 1024) /* no blob decompresses larger */
#define KURA_PACK_ENTRY_SIZE 48                /* one entry in a trailer or index record */
#define KURA_PACK_FOOTER_SIZE 12               /* trailer length and "KURAPEND" */

typedef struct {
	uint8_t type;                   /* KURA_BLOB_* */
	uint8_t flags;                  /* KURA_BLOB_FLAG_* */
	uint8_t id[KURA_HASH_SIZE];
	uint32_t offset;                /* of the stored bytes, from the start of the pack */
	uint32_t stored_len;            /* nonce + ciphertext + tag */
	uint32_t raw_len;               /* plaintext length */
} kura_pack_entry;

/*
 * Compress (at `level`, 0 = never) and encrypt one blob's plaintext.  The
 * id must already be computed.  *out is malloc'd, stored form; *out_flags
 * says whether zstd was used.
 */
int kura_blob_encode(uint8_t **out, size_t *out_len, uint8_t *out_flags,
		     const uint8_t data_key[KURA_KEY_SIZE], uint8_t type,
		     const uint8_t id[KURA_HASH_SIZE], const void *plain, size_t plain_len,
		     int level);

/*
 * Where a reader gets the plaintext of a blob that another was stored
 * against: fetch() puts in *out (malloc'd, *out_len bytes) the plaintext
 * of blob `id`, read from a location not stored against another and
 * verified against its id, or fails with the reason (its message names
 * the reference).  A reader that cannot fetch passes NULL: such blobs then
 * fail with KURA_EUNSUPPORTED.
 */
typedef struct kura_blob_refs {
	int (*fetch)(void *ctx, const uint8_t id[KURA_HASH_SIZE], uint8_t **out, size_t *out_len);
	void *ctx;
} kura_blob_refs;

/*
 * For callers that decode many blobs into buffers they reuse (check
 * --read-data): kura_blob_sizes() validates the entry and says how large
 * the buffers must be (plain_len 0: the blob is stored uncompressed and
 * decodes in place in the payload buffer); kura_blob_decode_into() then
 * makes every check kura_blob_decode() makes, and *out points at the
 * plaintext, in `payload` or `plain`.  dctx may be NULL.
 */
struct ZSTD_DCtx_s;
int kura_blob_sizes(const kura_pack_entry *e, size_t *payload_len, size_t *plain_len);
__attribute__((warn_unused_result)) int
kura_blob_decode_into(const uint8_t **out, uint8_t *payload, uint8_t *plain,
		      struct ZSTD_DCtx_s *dctx, const uint8_t data_key[KURA_KEY_SIZE],
		      const struct kura_mac *mac, const kura_pack_entry *e, const uint8_t *stored,
		      size_t stored_len);

/* kura_blob_decode_into(), reading blobs stored against another through `refs` (may be NULL). */
__attribute__((warn_unused_result)) int
kura_blob_decode_refs(const uint8_t **out, uint8_t *payload, uint8_t *plain,
		      struct ZSTD_DCtx_s *dctx, const uint8_t data_key[KURA_KEY_SIZE],
		      const struct kura_mac *mac, const kura_pack_entry *e, const uint8_t *stored,
		      size_t stored_len, const kura_blob_refs *refs);

/*
 * The id of the blob that a blob stored against another names, from its
 * decrypted payload (kura_blob_decode_refs() checks the rest).  KURA_ECORRUPT
 * if the payload is too short to hold one.
 */
int kura_blob_ref_id(const uint8_t *payload, size_t payload_len, uint8_t out[KURA_HASH_SIZE]);

/*
 * Decrypt and decompress one blob; checks the tag, the raw length, and that
 * HMAC(id_key, plaintext) == e->id (unless mac is NULL).  *out is malloc'd
 * with e->raw_len bytes.  KURA_EAUTH, KURA_ECORRUPT.
 */
__attribute__((warn_unused_result)) int
kura_blob_decode(uint8_t **out, const uint8_t data_key[KURA_KEY_SIZE], const struct kura_mac *mac,
		 const kura_pack_entry *e, const uint8_t *stored, size_t stored_len);

/* kura_blob_decode() through `refs` (may be NULL) for blobs stored against another. */
__attribute__((warn_unused_result)) int
kura_blob_decode_with(uint8_t **out, const uint8_t data_key[KURA_KEY_SIZE],
		      const struct kura_mac *mac, const kura_pack_entry *e, const uint8_t *stored,
		      size_t stored_len, const kura_blob_refs *refs);

typedef struct kura_pack_writer kura_pack_writer;

/* Start a pack with a fresh data key sealed to keys->repo_pk. */
int kura_pack_writer_new(kura_pack_writer **out, const kura_keys *keys);

/*
 * Make w an empty new pack with a fresh data key and salt, keeping its
 * buffers and compression contexts (cheaper than _free and _new).  `keys`
 * given to _new must still be valid.
 */
int kura_pack_writer_reset(kura_pack_writer *w);

/*
 * Make room for `bytes` pending bytes in all (see below), so that adding
 * blobs never moves the buffer while fewer are pending.
 */
int kura_pack_writer_reserve(kura_pack_writer *w, size_t bytes);

/*
 * Streaming a pack out as it is built.  _pending() returns the bytes the
 * caller has not taken yet (borrowed, valid until the next call on w):
 * they start at pack offset kura_pack_writer_size(w) - *out_len.
 * _consume() tells the writer the caller has stored them, so it may forget
 * them and reuse its buffer.  Taking the pending bytes after every few
 * blobs and once more after _finish yields, end to end, exactly the file a
 * writer that was never drained returns from _finish, with the same name;
 * only the entries (48 bytes a blob) and the header stay in memory.
 */
const uint8_t *kura_pack_writer_pending(const kura_pack_writer *w, size_t *out_len);
void kura_pack_writer_consume(kura_pack_writer *w);

/* This pack's data key, to encrypt blobs with kura_blob_encode(); borrowed. */
const uint8_t *kura_pack_writer_key(const kura_pack_writer *w);

/* Append an encoded blob (the output of kura_blob_encode). */
int kura_pack_writer_add(kura_pack_writer *w, uint8_t type, uint8_t flags,
			 const uint8_t id[KURA_HASH_SIZE], const uint8_t *stored, size_t stored_len,
			 uint32_t raw_len);

/*
 * kura_blob_encode() and kura_pack_writer_add() in one step, without the
 * intermediate copy: compress `plain` (at `level`, 0 = never; also not when
 * a sample shows it does not compress, see pack.c) with the writer's
 * reused zstd context and encrypt it straight into the pack (the level
 * may be lowered, see kura_pack_writer_add_hinted).  The stored
 * length goes to *out_stored_len.
 */
int kura_pack_writer_add_plain(kura_pack_writer *w, uint8_t type, const uint8_t id[KURA_HASH_SIZE],
			       const void *plain, size_t plain_len, int level,
			       size_t *out_stored_len);

/*
 * kura_pack_writer_add_plain() with what the caller knows of the bytes
 * (hint may be NULL): the level is then chosen by kura_comp_choose()
 * (compchoice.h), which may store the blob uncompressed or at a cheaper
 * level without sampling it.
 */
int kura_pack_writer_add_hinted(kura_pack_writer *w, uint8_t type, const uint8_t id[KURA_HASH_SIZE],
				const void *plain, size_t plain_len, int level,
				const kura_comp_hint *hint, size_t *out_stored_len);

/*
 * The blob a new one may be stored against, for kura_pack_writer_add_ref():
 * its id and plaintext (the caller vouches that plain hashes to id and that
 * id is stored without FLAG_REF), the most the new blob's payload may weigh
 * that way (SIZE_MAX: no bound of the caller's), and what the new blob
 * would weigh compressed on its own, if the caller can tell (0: it is
 * compressed to find out, when that matters).
 */
typedef struct {
	const uint8_t *id;
	const void *plain;
	size_t len;
	size_t max_payload;
	size_t alone_estimate;
} kura_pack_ref;

/*
 * Store a data blob against `ref` when that pays: the payload (ref id
 * included) is smaller than the plaintext and at most ref->max_payload
 * bytes, and either at most a sixteenth of the plaintext or at most half
 * of the blob compressed alone (ref->alone_estimate, or measured).
 * Otherwise it is stored on its own (compressed, if that is smaller) and
 * *out_used_ref is 0.  Either way *out_stored_len is set.
 */
int kura_pack_writer_add_ref(kura_pack_writer *w, const uint8_t id[KURA_HASH_SIZE],
			     const void *plain, size_t plain_len, const kura_pack_ref *ref,
			     int level, const kura_comp_hint *hint, size_t *out_stored_len,
			     int *out_used_ref);

/*
 * The zstd frame of the plaintext of the blob just added, when it was
 * added on its own and compressed (else NULL): borrowed until the next
 * call on w.  A caller that keeps a copy of the plaintext compressed
 * (basestore.h) need not compress it again.
 */
const uint8_t *kura_pack_writer_last_frame(const kura_pack_writer *w, size_t *out_len);

/* Bytes so far (taken or pending) and blobs so far. */
size_t kura_pack_writer_size(const kura_pack_writer *w);
size_t kura_pack_writer_count(const kura_pack_writer *w);

/*
 * Write the trailer and footer.  Returns the pending bytes, trailer and
 * footer included (the whole file if nothing was ever consumed; borrowed
 * until the next call on w), the pack's name (SHA-256 of all its bytes)
 * and its blob entries (borrowed).  Calling it again returns the same,
 * less what was consumed since.
 */
int kura_pack_writer_finish(kura_pack_writer *w, const uint8_t **out_data, size_t *out_len,
			    uint8_t out_name[KURA_HASH_SIZE], const kura_pack_entry **out_entries,
			    size_t *out_count);
void kura_pack_writer_free(kura_pack_writer *w);

/*
 * Parse a pack's header and decrypt its trailer (needs only the index key).
 * Validates every entry lies within the blob area, in order, without
 * overlap.  *out is malloc'd.
 */
int kura_pack_read_entries(kura_pack_entry **out, size_t *out_count, const kura_keys *keys,
			   const uint8_t *file, size_t len);

/*
 * kura_pack_read_entries() from parts of the pack, for readers that fetch byte ranges: its
 * first KURA_PACK_HEADER_SIZE bytes, and its last tail_len bytes (the
 * footer and the whole trailer: read the footer first to learn how much).
 * len is the pack's size.  KURA_EINVAL if the tail is too short.
 */
int kura_pack_read_trailer(kura_pack_entry **out, size_t *out_count, const kura_keys *keys,
			   const uint8_t *header, const uint8_t *tail, size_t tail_len,
			   uint64_t len);

/*
 * The checks a store without a key can make on a whole pack file: its size
 * (at most 4 GiB - 1), the header's magic, version and reserved bytes, the
 * footer's end magic, a trailer length that fits the file and holds a
 * whole number of entries, and a blob area those entries could tile (each
 * blob takes 28 .. 64 MiB + 28 bytes).  Reads only the first
 * KURA_PACK_HEADER_SIZE and the last KURA_PACK_FOOTER_SIZE bytes.
 * KURA_ECORRUPT or KURA_EUNSUPPORTED with a message naming the field.
 */
int kura_pack_check(const uint8_t *file, size_t len);

/*
 * Open the pack's data key from its header (needs the restore key:
 * KURA_ENEEDKEY with a backup key).  `header` is the first
 * KURA_PACK_HEADER_SIZE bytes.
 */
__attribute__((warn_unused_result)) int kura_pack_open_key(uint8_t out[KURA_KEY_SIZE],
							   const kura_keys *keys,
							   const uint8_t *header, size_t len);

/*
 * Semi-private, shared with indexfile.c: the 48-byte entry layout of pack
 * trailers and index records.  _decode validates the fields that do not
 * depend on the surrounding file (type, flags, reserved, lengths) and names
 * `where` ("pack: entry 3") in its error.  KURA_ECORRUPT.
 */
void kura_pack__entry_encode(uint8_t out[KURA_PACK_ENTRY_SIZE], const kura_pack_entry *e);
int kura_pack__entry_decode(kura_pack_entry *out, const uint8_t in[KURA_PACK_ENTRY_SIZE],
			    const char *where);
/* The same checks on an entry already in memory. */
int kura_pack__entry_check(const kura_pack_entry *e, const char *where);

/* A blob's associated data: its type and id (blob.c, shared with the pack writer). */
void kura_blob__aad(uint8_t aad[KURA_BLOB_AAD_SIZE], uint8_t type, const uint8_t id[KURA_HASH_SIZE]);

#endif
