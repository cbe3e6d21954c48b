/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pack.c - blobs and pack files (docs/FORMAT.md, "Blobs" and "Pack files").
 *
 * A kura_pack_writer builds a pack: a 124-byte header (magic, version,
 * trailer salt, the pack's data key sealed to the repository public key),
 * the stored blobs back to back, then the trailer (the entry table, AES-GCM
 * under HKDF(index_key, salt) with the header as AAD) and a 12-byte footer
 * giving the trailer's length.  Binding the header into the trailer's AAD
 * means a header cannot be swapped onto another pack's blobs unnoticed.
 *
 * Memory: the writer holds only the bytes its caller has not taken yet
 * (kura_pack_writer_pending/_consume), a copy of the header for the
 * trailer's AAD, and the trailer's entries (48 bytes a blob).  A caller
 * that writes the pending bytes to a file every MiB or so streams a pack of
 * any size through a buffer of about one blob; one that never takes them
 * gets the whole file from _finish (the vault, whose upload needs the name
 * before the first byte).  Either way the bytes are the same: the name
 * (SHA-256) is computed as bytes are appended, and every offset counts
 * from the start of the pack, not of the buffer.
 *
 * Readers trust nothing: every length is checked against the bytes actually
 * present before anything is allocated from it, entries must tile the blob
 * area exactly (no gaps, no overlaps), and a decoded blob is accepted only if
 * its plaintext hashes to its id.  Plaintext and keys are wiped before they
 * are freed.
 */
#include "format/pack.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "common/buf.h"
#include "common/array.h"
#include "common/error.h"
#include "format/compchoice.h"

#define PACK_MAGIC "KURAPACK"
#define PACK_END_MAGIC "KURAPEND"
#define PACK_VERSION 1
#define PACK_SALT_OFFSET 12
#define PACK_SEALED_OFFSET 44
#define TRAILER_INFO "kura pack trailer v1"
_Static_assert(PACK_SEALED_OFFSET == PACK_SALT_OFFSET + 32 &&
		   PACK_SEALED_OFFSET + KURA_SEALED_KEY_SIZE == KURA_PACK_HEADER_SIZE,
	       "pack header layout");

/*
 * How a blob is compressed is chosen by kura_comp_choose (compchoice.c);
 * the writer only takes the sample it asks for.
 */

struct kura_pack_writer {
	const kura_keys *keys;
	/*
	 * The bytes from pack offset `taken` on that the caller has not taken
	 * yet: at first the header and blobs, after finish also the trailer.
	 */
	kura_buf buf;
	size_t taken;
	uint8_t header[KURA_PACK_HEADER_SIZE]; /* the trailer's AAD */
	kura_pack_entry *entries;
	size_t count;
	size_t cap;
	uint8_t data_key[KURA_KEY_SIZE];
	uint8_t index_key[KURA_KEY_SIZE];
	uint8_t salt[32];
	bool finished;
	uint8_t name[KURA_HASH_SIZE];
	/*
	 * The pack's SHA-256 (its name) is computed as bytes are appended,
	 * while they are still in cache, not in a second pass at the end.
	 */
	kura_sha256_ctx *sha;
	/*
	 * Reused from blob to blob and pack to pack (see _reset): a zstd
	 * context costs megabytes of tables to set up, and fresh buffers cost
	 * page faults.  `comp` holds compressed plaintext: wiped on free.
	 */
	ZSTD_CCtx *cctx, *sample_cctx;
	uint8_t *comp;
	size_t comp_cap;
	/* the zstd frame of the last blob added on its own, in comp (kura_pack_writer_last_frame) */
	const uint8_t *last_frame;
	size_t last_frame_len;
};

/* -------------------------------------------------------------------- */
/* Entries                                                               */

void kura_pack__entry_encode(uint8_t out[KURA_PACK_ENTRY_SIZE], const kura_pack_entry *e)
{
	out[0] = e->type;
	out[1] = e->flags;
	out[2] = 0;
	out[3] = 0;
	memcpy(out + 4, e->id, KURA_HASH_SIZE);
	kura_le32(out + 36, e->offset);
	kura_le32(out + 40, e->stored_len);
	kura_le32(out + 44, e->raw_len);
}

int kura_pack__entry_check(const kura_pack_entry *e, const char *where)
{
	if (e->type != KURA_BLOB_DATA && e->type != KURA_BLOB_TREE)
		return kura_error_set(KURA_ECORRUPT, "%s: unknown blob type %u", where, e->type);
	if ((e->flags & ~KURA_BLOB_FLAGS_KNOWN) || e->flags == KURA_BLOB_FLAGS_KNOWN)
		return kura_error_set(KURA_ECORRUPT, "%s: unknown flags 0x%02x", where, e->flags);
	if ((e->flags & KURA_BLOB_FLAG_REF) && e->type != KURA_BLOB_DATA)
		return kura_error_set(KURA_ECORRUPT,
				      "%s: a blob of type %u is stored against another (only data "
				      "blobs may be)",
				      where, e->type);
	if (e->stored_len < KURA_AEAD_OVERHEAD)
		return kura_error_set(KURA_ECORRUPT, "%s: stored length %u is below the minimum %d",
				      where, e->stored_len, KURA_AEAD_OVERHEAD);
	if (e->raw_len > KURA_BLOB_MAX_RAW)
		return kura_error_set(KURA_ECORRUPT, "%s: raw length %u exceeds the limit %u",
				      where, e->raw_len, KURA_BLOB_MAX_RAW);
	/* The payload is the plaintext itself unless zstd made it strictly smaller. */
	if (!e->flags &&
	    (uint64_t)e->stored_len != (uint64_t)e->raw_len + KURA_AEAD_OVERHEAD)
		return kura_error_set(
		    KURA_ECORRUPT, "%s: uncompressed blob stored in %u bytes but raw length is %u",
		    where, e->stored_len, e->raw_len);
	if ((e->flags & KURA_BLOB_FLAG_ZSTD) && e->stored_len - KURA_AEAD_OVERHEAD >= e->raw_len)
		return kura_error_set(
		    KURA_ECORRUPT,
		    "%s: compressed payload of %u bytes is not smaller than raw length %u", where,
		    e->stored_len - KURA_AEAD_OVERHEAD, e->raw_len);
	/* a reference id and a frame, kept only when smaller than the plaintext */
	if ((e->flags & KURA_BLOB_FLAG_REF) &&
	    (e->stored_len - KURA_AEAD_OVERHEAD <= KURA_HASH_SIZE ||
	     e->stored_len - KURA_AEAD_OVERHEAD >= e->raw_len))
		return kura_error_set(KURA_ECORRUPT,
				      "%s: payload of %u bytes stored against another blob is not "
				      "between a reference id and the raw length %u",
				      where, e->stored_len - KURA_AEAD_OVERHEAD, e->raw_len);
	return 0;
}

int kura_pack__entry_decode(kura_pack_entry *out, const uint8_t in[KURA_PACK_ENTRY_SIZE],
			    const char *where)
{
	memset(out, 0, sizeof(*out));
	out->type = in[0];
	out->flags = in[1];
	if (in[2] || in[3])
		return kura_error_set(KURA_ECORRUPT, "%s: reserved bytes are not zero", where);
	memcpy(out->id, in + 4, KURA_HASH_SIZE);
	out->offset = kura_get_le32(in + 36);
	out->stored_len = kura_get_le32(in + 40);
	out->raw_len = kura_get_le32(in + 44);
	return kura_pack__entry_check(out, where);
}

/* -------------------------------------------------------------------- */
/* Writing                                                               */

/* Begin a new pack in w: fresh data key and salt, header, running hash. */
static int writer_begin(kura_pack_writer *w)
{
	uint8_t head[PACK_SALT_OFFSET] = PACK_MAGIC;
	uint8_t sealed[KURA_SEALED_KEY_SIZE];
	int err;

	w->buf.len = 0;
	w->taken = 0;
	w->count = 0;
	w->finished = false;
	w->last_frame = NULL;
	w->last_frame_len = 0;
	kura_random(w->data_key, sizeof(w->data_key));
	kura_random(w->salt, sizeof(w->salt));
	head[8] = PACK_VERSION;
	if ((err = kura_seal_key(sealed, w->data_key, w->keys->repo_pk)) < 0)
		return err;
	memcpy(w->header, head, sizeof(head));
	memcpy(w->header + PACK_SALT_OFFSET, w->salt, sizeof(w->salt));
	memcpy(w->header + PACK_SEALED_OFFSET, sealed, sizeof(sealed));
	if ((err = kura_buf_put(&w->buf, w->header, sizeof(w->header))) < 0)
		return err;
	kura_sha256_free(w->sha);
	w->sha = NULL;
	if ((err = kura_sha256_new(&w->sha)) < 0)
		return err;
	kura_sha256_update(w->sha, w->header, sizeof(w->header));
	return 0;
}

int kura_pack_writer_new(kura_pack_writer **out, const kura_keys *keys)
{
	kura_pack_writer *w;
	int err = 0;

	*out = NULL;
	if (!(w = calloc(1, sizeof(*w))))
		return kura_error_set(KURA_ENOMEM, "pack writer: out of memory");
	w->keys = keys;
	memcpy(w->index_key, keys->index_key, KURA_KEY_SIZE);
	if ((err = writer_begin(w)) < 0)
		goto done;
	*out = w;
	w = NULL;
done:
	kura_pack_writer_free(w);
	return err;
}

int kura_pack_writer_reset(kura_pack_writer *w)
{
	return writer_begin(w);
}

int kura_pack_writer_reserve(kura_pack_writer *w, size_t bytes)
{
	uint8_t *p;

	if (bytes <= w->buf.cap)
		return 0;
	/* exactly `bytes`: kura_buf_reserve() would double to a power of two */
	if (!(p = realloc(w->buf.data, bytes)))
		return kura_error_set(KURA_ENOMEM, "pack writer: out of memory (%zu bytes)", bytes);
	w->buf.data = p;
	w->buf.cap = bytes;
	return 0;
}

const uint8_t *kura_pack_writer_pending(const kura_pack_writer *w, size_t *out_len)
{
	*out_len = w->buf.len;
	return w->buf.data;
}

void kura_pack_writer_consume(kura_pack_writer *w)
{
	w->taken += w->buf.len;
	w->buf.len = 0;
}

const uint8_t *kura_pack_writer_key(const kura_pack_writer *w)
{
	return w->data_key;
}

/* Check and record the entry for stored_len bytes about to be appended at the end. */
static int writer_entry(kura_pack_writer *w, kura_pack_entry *e, uint8_t type, uint8_t flags,
			const uint8_t id[KURA_HASH_SIZE], size_t stored_len, uint32_t raw_len)
{
	char where[32];
	int err;

	if (w->finished)
		return kura_error_set(KURA_EINVAL, "pack writer: add after finish");
	if ((uint64_t)kura_pack_writer_size(w) + stored_len > KURA_PACK_MAX_SIZE)
		return kura_error_set(KURA_EINVAL,
				      "pack writer: blob %zu would pass the 4 GiB limit", w->count);
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->flags = flags;
	memcpy(e->id, id, KURA_HASH_SIZE);
	e->offset = (uint32_t)kura_pack_writer_size(w);
	e->stored_len = (uint32_t)stored_len;
	e->raw_len = raw_len;
	snprintf(where, sizeof(where), "blob %zu", w->count);
	if ((err = kura_pack__entry_check(e, where)) < 0)
		return kura_error_wrap(KURA_EINVAL, "pack writer");
	return KURA_ARRAY_GROW(w->entries, w->cap, w->count + 1);
}

int kura_pack_writer_add(kura_pack_writer *w, uint8_t type, uint8_t flags,
			 const uint8_t id[KURA_HASH_SIZE], const uint8_t *stored, size_t stored_len,
			 uint32_t raw_len)
{
	kura_pack_entry e;
	int err;

	w->last_frame = NULL;
	w->last_frame_len = 0;
	if ((err = writer_entry(w, &e, type, flags, id, stored_len, raw_len)) < 0)
		return err;
	if ((err = kura_buf_put(&w->buf, stored, stored_len)) < 0)
		return err;
	kura_sha256_update(w->sha, stored, stored_len);
	w->entries[w->count++] = e;
	return 0;
}

/*
 * The sample kura_comp_choose asks for (compchoice.h): pieces spread
 * evenly over the blob, each compressed on its own at level 1.  A failure
 * leaves in = out = 0, which compresses.
 */
static void take_sample(kura_pack_writer *w, const uint8_t *plain, kura_comp_facts *f)
{
	uint8_t out[ZSTD_COMPRESSBOUND(KURA_COMP_SAMPLE_SIZE)];
	size_t step = (f->len - KURA_COMP_SAMPLE_SIZE) / (KURA_COMP_SAMPLE_COUNT - 1), total = 0;

	f->sampled = 1;
	f->sample_in = f->sample_out = 0;
	/* a policy that asks for a sample of a short blob gets none (pieces would overlap) */
	if (f->len < (size_t)KURA_COMP_SAMPLE_SIZE * KURA_COMP_SAMPLE_COUNT)
		return;
	if (!w->sample_cctx && !(w->sample_cctx = ZSTD_createCCtx()))
		return;
	for (size_t i = 0; i < KURA_COMP_SAMPLE_COUNT; i++) {
		size_t n = ZSTD_compressCCtx(w->sample_cctx, out, sizeof(out), plain + i * step,
					     KURA_COMP_SAMPLE_SIZE, 1);

		if (ZSTD_isError(n)) {
			total = 0;
			break;
		}
		total += n;
	}
	kura_wipe(out, sizeof(out));
	if (total) {
		f->sample_in = (size_t)KURA_COMP_SAMPLE_SIZE * KURA_COMP_SAMPLE_COUNT;
		f->sample_out = total;
	}
}

/* The level to compress at, 0 for none (kura_comp_choose with the sample it may ask for). */
static int choose_level(kura_pack_writer *w, const uint8_t *plain, size_t plain_len, int level,
			const kura_comp_hint *hint)
{
	kura_comp_facts f = {.level = level, .len = plain_len};
	int chosen;

	if (hint) {
		f.blocks = hint->blocks;
		f.random = hint->random;
	}
	if ((chosen = kura_comp_choose(&f)) != KURA_COMP_SAMPLE)
		return chosen;
	take_sample(w, plain, &f);
	return kura_comp_choose(&f);
}

int kura_pack_writer_add_plain(kura_pack_writer *w, uint8_t type, const uint8_t id[KURA_HASH_SIZE],
			       const void *plain, size_t plain_len, int level,
			       size_t *out_stored_len)
{
	return kura_pack_writer_add_hinted(w, type, id, plain, plain_len, level, NULL,
					   out_stored_len);
}

/* Room for `bound` bytes of compressed output in w->comp, and a zstd context. */
static int comp_room(kura_pack_writer *w, size_t bound)
{
	if (bound > w->comp_cap) {
		kura_wipe(w->comp, w->comp_cap);
		free(w->comp);
		w->comp_cap = 0;
		if (!(w->comp = malloc(bound)))
			return kura_error_set(KURA_ENOMEM, "blob: out of memory (%zu bytes)", bound);
		w->comp_cap = bound;
	}
	if (!w->cctx && !(w->cctx = ZSTD_createCCtx()))
		return kura_error_set(KURA_ENOMEM, "blob: cannot create a zstd context");
	return 0;
}

/* Seal `payload` straight into the pack (no copy of the ciphertext) and record its entry. */
static int append_sealed(kura_pack_writer *w, uint8_t type, uint8_t flags,
			 const uint8_t id[KURA_HASH_SIZE], const void *payload, size_t payload_len,
			 size_t plain_len, size_t *out_stored_len)
{
	uint8_t aad[KURA_BLOB_AAD_SIZE];
	size_t stored_len = payload_len + KURA_AEAD_OVERHEAD;
	kura_pack_entry e;
	int err;

	w->last_frame = flags == KURA_BLOB_FLAG_ZSTD ? payload : NULL;
	w->last_frame_len = flags == KURA_BLOB_FLAG_ZSTD ? payload_len : 0;
	if ((err = writer_entry(w, &e, type, flags, id, stored_len, (uint32_t)plain_len)) < 0 ||
	    (err = kura_buf_reserve(&w->buf, stored_len)) < 0)
		return err;
	kura_blob__aad(aad, type, id);
	if ((err = kura_aead_seal(w->buf.data + w->buf.len, w->data_key, aad, sizeof(aad), payload,
				  payload_len)) < 0)
		return err;
	kura_sha256_update(w->sha, w->buf.data + w->buf.len, stored_len);
	w->buf.len += stored_len;
	w->entries[w->count++] = e;
	*out_stored_len = stored_len;
	return 0;
}

static int check_plain(uint8_t type, size_t plain_len)
{
	if (type != KURA_BLOB_DATA && type != KURA_BLOB_TREE)
		return kura_error_set(KURA_EINVAL, "blob: unknown type %u", type);
	if (plain_len > KURA_BLOB_MAX_RAW)
		return kura_error_set(KURA_EINVAL, "blob: %zu bytes exceeds the limit %u",
				      plain_len, KURA_BLOB_MAX_RAW);
	return 0;
}

int kura_pack_writer_add_hinted(kura_pack_writer *w, uint8_t type, const uint8_t id[KURA_HASH_SIZE],
				const void *plain, size_t plain_len, int level,
				const kura_comp_hint *hint, size_t *out_stored_len)
{
	const void *payload = plain;
	size_t payload_len = plain_len;
	uint8_t flags = 0;
	int err;

	if ((err = check_plain(type, plain_len)) < 0)
		return err;
	if (level > 0 && (level = choose_level(w, plain, plain_len, level, hint)) > 0) {
		size_t n;

		if ((err = comp_room(w, ZSTD_compressBound(plain_len))) < 0)
			return err;
		if (level > ZSTD_maxCLevel())
			level = ZSTD_maxCLevel();
		n = ZSTD_compressCCtx(w->cctx, w->comp, w->comp_cap, plain, plain_len, level);
		/* A failed compression only costs space: store the plaintext. */
		if (!ZSTD_isError(n) && n < plain_len) {
			payload = w->comp;
			payload_len = n;
			flags = KURA_BLOB_FLAG_ZSTD;
		}
	}
	return append_sealed(w, type, flags, id, payload, payload_len, plain_len, out_stored_len);
}

int kura_pack_writer_add_ref(kura_pack_writer *w, const uint8_t id[KURA_HASH_SIZE],
			     const void *plain, size_t plain_len, const kura_pack_ref *ref,
			     int level, const kura_comp_hint *hint, size_t *out_stored_len,
			     int *out_used_ref)
{
	size_t n, alone, bound = ZSTD_compressBound(plain_len);
	int err;

	*out_used_ref = 0;
	if ((err = check_plain(KURA_BLOB_DATA, plain_len)) < 0)
		return err;
	if (ref->len > KURA_BLOB_MAX_RAW)
		return kura_error_set(KURA_EINVAL, "blob: reference of %zu bytes exceeds the limit %u",
				      ref->len, KURA_BLOB_MAX_RAW);
	if (plain_len <= KURA_HASH_SIZE + 1 || level <= 0)
		goto on_its_own;
	/* the frame against the reference after its id, then (maybe) the blob alone after that */
	if ((err = comp_room(w, KURA_HASH_SIZE + 2 * bound)) < 0)
		return err;
	if (level > ZSTD_maxCLevel())
		level = ZSTD_maxCLevel();
	/*
	 * The advanced API: _compressCCtx() would drop the prefix.  The prefix
	 * serves this frame only and is read as raw content whatever its first
	 * bytes are.
	 */
	ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_and_parameters);
	n = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(n))
		n = ZSTD_CCtx_refPrefix(w->cctx, ref->plain, ref->len);
	if (!ZSTD_isError(n))
		n = ZSTD_compress2(w->cctx, w->comp + KURA_HASH_SIZE, bound, plain, plain_len);
	ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_and_parameters);
	if (ZSTD_isError(n) || KURA_HASH_SIZE + n >= plain_len ||
	    KURA_HASH_SIZE + n > ref->max_payload)
		goto on_its_own;
	/*
	 * Worth it when tiny beside the plaintext; otherwise only when at most
	 * half of the blob compressed alone: else the blob does better as the
	 * next version's reference (the caller then makes it so).
	 */
	if (KURA_HASH_SIZE + n > plain_len / 16) {
		uint8_t *other = w->comp + KURA_HASH_SIZE + bound;

		if (ref->alone_estimate) {
			if (2 * (KURA_HASH_SIZE + n) > ref->alone_estimate)
				goto on_its_own;
		} else {
			alone = ZSTD_compressCCtx(w->cctx, other, bound, plain, plain_len, level);
			if (!ZSTD_isError(alone) && 2 * (KURA_HASH_SIZE + n) > alone) {
				if (alone < plain_len)
					return append_sealed(w, KURA_BLOB_DATA, KURA_BLOB_FLAG_ZSTD,
							     id, other, alone, plain_len,
							     out_stored_len);
				goto on_its_own;
			}
		}
	}
	memcpy(w->comp, ref->id, KURA_HASH_SIZE);
	*out_used_ref = 1;
	return append_sealed(w, KURA_BLOB_DATA, KURA_BLOB_FLAG_REF, id, w->comp, KURA_HASH_SIZE + n,
			     plain_len, out_stored_len);
on_its_own:
	return kura_pack_writer_add_hinted(w, KURA_BLOB_DATA, id, plain, plain_len, level, hint,
					   out_stored_len);
}

const uint8_t *kura_pack_writer_last_frame(const kura_pack_writer *w, size_t *out_len)
{
	*out_len = w->last_frame_len;
	return w->last_frame;
}

size_t kura_pack_writer_size(const kura_pack_writer *w)
{
	return w->taken + w->buf.len;
}

size_t kura_pack_writer_count(const kura_pack_writer *w)
{
	return w->count;
}

int kura_pack_writer_finish(kura_pack_writer *w, const uint8_t **out_data, size_t *out_len,
			    uint8_t out_name[KURA_HASH_SIZE], const kura_pack_entry **out_entries,
			    size_t *out_count)
{
	kura_buf plain = KURA_BUF_INIT;
	uint8_t key[KURA_KEY_SIZE];
	uint8_t end[KURA_PACK_FOOTER_SIZE];
	uint64_t total;
	size_t trailer_len;
	int err = 0;

	memset(key, 0, sizeof(key));
	if (w->finished)
		goto out;
	if (w->count > UINT32_MAX / KURA_PACK_ENTRY_SIZE)
		return kura_error_set(KURA_EINVAL, "pack writer: too many blobs (%zu)", w->count);
	trailer_len = 4 + w->count * KURA_PACK_ENTRY_SIZE + KURA_AEAD_OVERHEAD;
	total = (uint64_t)kura_pack_writer_size(w) + trailer_len + KURA_PACK_FOOTER_SIZE;
	if (total > KURA_PACK_MAX_SIZE)
		return kura_error_set(KURA_EINVAL, "pack writer: %llu bytes pass the 4 GiB limit",
				      (unsigned long long)total);

	if ((err = kura_buf_put_u32(&plain, (uint32_t)w->count)) < 0)
		goto done;
	for (size_t i = 0; i < w->count; i++) {
		uint8_t raw[KURA_PACK_ENTRY_SIZE];

		kura_pack__entry_encode(raw, &w->entries[i]);
		if ((err = kura_buf_put(&plain, raw, sizeof(raw))) < 0)
			goto done;
	}
	if ((err = kura_buf_reserve(&w->buf, trailer_len + KURA_PACK_FOOTER_SIZE)) < 0)
		goto done;
	if ((err = kura_hkdf(key, w->index_key, w->salt, TRAILER_INFO)) < 0)
		goto done;
	if ((err = kura_aead_seal(w->buf.data + w->buf.len, key, w->header, sizeof(w->header),
				  plain.data, plain.len)) < 0)
		goto done;
	w->buf.len += trailer_len;
	kura_le32(end, (uint32_t)trailer_len);
	memcpy(end + 4, PACK_END_MAGIC, 8);
	if ((err = kura_buf_put(&w->buf, end, sizeof(end))) < 0)
		goto done;
	kura_sha256_update(w->sha, w->buf.data + w->buf.len - trailer_len - sizeof(end),
			   trailer_len + sizeof(end));
	kura_sha256_final(w->sha, w->name);
	w->finished = true;
out:
	*out_data = w->buf.data;
	*out_len = w->buf.len;
	memcpy(out_name, w->name, KURA_HASH_SIZE);
	if (out_entries)
		*out_entries = w->entries;
	if (out_count)
		*out_count = w->count;
done:
	kura_wipe(key, sizeof(key));
	kura_buf_free(&plain);
	return err;
}

void kura_pack_writer_free(kura_pack_writer *w)
{
	if (!w)
		return;
	kura_buf_free(&w->buf);
	free(w->entries);
	kura_sha256_free(w->sha);
	ZSTD_freeCCtx(w->cctx);
	ZSTD_freeCCtx(w->sample_cctx);
	kura_wipe(w->comp, w->comp_cap);
	free(w->comp);
	kura_wipe(w->data_key, sizeof(w->data_key));
	kura_wipe(w->index_key, sizeof(w->index_key));
	free(w);
}

/* -------------------------------------------------------------------- */
/* Reading                                                               */

static int header_check(const uint8_t *p, size_t len)
{
	if (len < KURA_PACK_HEADER_SIZE)
		return kura_error_set(KURA_ECORRUPT, "pack: %zu bytes is shorter than the header",
				      len);
	if (memcmp(p, PACK_MAGIC, 8) != 0)
		return kura_error_set(KURA_ECORRUPT, "pack: bad magic (not a kura pack file)");
	if (p[8] != PACK_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED, "pack: version %u is not supported", p[8]);
	if (p[9] || p[10] || p[11])
		return kura_error_set(KURA_ECORRUPT, "pack: reserved header bytes are not zero");
	return 0;
}

/*
 * The size, the header and the footer: where the trailer is.  `header` is
 * the pack's first KURA_PACK_HEADER_SIZE bytes, `tail` its last tail_len
 * bytes (tail[i] is the byte at offset len - tail_len + i).  Everything
 * here is plaintext, so kura_pack_check() makes the same checks without a
 * key.
 */
static int frame_check(uint32_t *out_trailer_len, const uint8_t *header, const uint8_t *tail,
		       size_t tail_len, uint64_t len)
{
	uint32_t trailer_len;
	int err;

	if (len < KURA_PACK_HEADER_SIZE + KURA_AEAD_OVERHEAD + 4 + KURA_PACK_FOOTER_SIZE)
		return kura_error_set(KURA_ECORRUPT, "pack: %llu bytes is too short for a pack",
				      (unsigned long long)len);
	if (len > KURA_PACK_MAX_SIZE)
		return kura_error_set(KURA_ECORRUPT, "pack: %llu bytes exceeds the 4 GiB limit",
				      (unsigned long long)len);
	if (tail_len < KURA_PACK_FOOTER_SIZE || tail_len > len)
		return kura_error_set(KURA_EINVAL, "pack: %zu bytes of tail given", tail_len);
	if ((err = header_check(header, KURA_PACK_HEADER_SIZE)) < 0)
		return err;
	if (memcmp(tail + tail_len - 8, PACK_END_MAGIC, 8) != 0)
		return kura_error_set(KURA_ECORRUPT,
				      "pack: bad end magic at offset %llu (truncated?)",
				      (unsigned long long)len - 8);
	trailer_len = kura_get_le32(tail + tail_len - KURA_PACK_FOOTER_SIZE);
	if (trailer_len < KURA_AEAD_OVERHEAD + 4 ||
	    trailer_len > len - KURA_PACK_FOOTER_SIZE - KURA_PACK_HEADER_SIZE)
		return kura_error_set(KURA_ECORRUPT, "pack: trailer length %u out of range",
				      trailer_len);
	*out_trailer_len = trailer_len;
	return 0;
}

int kura_pack_check(const uint8_t *file, size_t len)
{
	uint64_t area, count;
	uint32_t trailer_len = 0;
	int err;

	if ((err = frame_check(&trailer_len, file, file, len, len)) < 0)
		return err;
	if ((trailer_len - KURA_AEAD_OVERHEAD - 4) % KURA_PACK_ENTRY_SIZE != 0)
		return kura_error_set(KURA_ECORRUPT,
				      "pack: trailer length %u does not hold whole %d-byte entries",
				      trailer_len, KURA_PACK_ENTRY_SIZE);
	/* The entries tile the blob area; each blob is 28 .. 64 MiB + 28 bytes. */
	count = (trailer_len - KURA_AEAD_OVERHEAD - 4) / KURA_PACK_ENTRY_SIZE;
	area = len - KURA_PACK_FOOTER_SIZE - trailer_len - KURA_PACK_HEADER_SIZE;
	if (area < count * KURA_AEAD_OVERHEAD ||
	    area > count * ((uint64_t)KURA_BLOB_MAX_RAW + KURA_AEAD_OVERHEAD))
		return kura_error_set(KURA_ECORRUPT,
				      "pack: blob area of %llu bytes cannot hold the trailer's %llu "
				      "blobs",
				      (unsigned long long)area, (unsigned long long)count);
	return 0;
}

int kura_pack_read_trailer(kura_pack_entry **out, size_t *out_count, const kura_keys *keys,
			   const uint8_t *header, const uint8_t *tail, size_t tail_len, uint64_t len)
{
	kura_pack_entry *entries = NULL;
	uint8_t key[KURA_KEY_SIZE];
	uint8_t *plain = NULL;
	size_t plain_len = 0, trailer_start, count;
	uint64_t pos, base;
	uint32_t trailer_len, n;
	char where[48];
	int err = 0;

	*out = NULL;
	*out_count = 0;
	memset(key, 0, sizeof(key));
	if ((err = frame_check(&trailer_len, header, tail, tail_len, len)) < 0)
		return err;
	base = len - tail_len;
	trailer_start = len - KURA_PACK_FOOTER_SIZE - trailer_len;
	if (trailer_start < base)
		return kura_error_set(KURA_EINVAL, "pack: the trailer starts before the tail given");

	/* Bounded by the file's own size, checked above. */
	plain_len = trailer_len - KURA_AEAD_OVERHEAD;
	if (!(plain = malloc(plain_len))) {
		err = kura_error_set(KURA_ENOMEM, "pack: out of memory (%zu bytes)", plain_len);
		goto done;
	}
	if ((err = kura_hkdf(key, keys->index_key, header + PACK_SALT_OFFSET, TRAILER_INFO)) < 0)
		goto done;
	if ((err = kura_aead_open(plain, key, header, KURA_PACK_HEADER_SIZE, tail + (trailer_start - base),
				  trailer_len)) < 0) {
		err = kura_error_wrap(err, "pack: trailer at offset %zu", trailer_start);
		goto done;
	}
	n = kura_get_le32(plain);
	if ((uint64_t)n * KURA_PACK_ENTRY_SIZE != plain_len - 4) {
		err = kura_error_set(KURA_ECORRUPT,
				     "pack: trailer holds %zu bytes of entries, not %u entries",
				     plain_len - 4, n);
		goto done;
	}
	count = n;
	if (!(entries = calloc(count ? count : 1, sizeof(*entries)))) {
		err = kura_error_set(KURA_ENOMEM, "pack: out of memory (%zu entries)", count);
		goto done;
	}
	pos = KURA_PACK_HEADER_SIZE;
	for (size_t i = 0; i < count; i++) {
		kura_pack_entry *e = &entries[i];

		snprintf(where, sizeof(where), "pack: entry %zu", i);
		if ((err = kura_pack__entry_decode(e, plain + 4 + i * KURA_PACK_ENTRY_SIZE,
						   where)) < 0)
			goto done;
		if (e->offset != pos) {
			err = kura_error_set(
			    KURA_ECORRUPT,
			    "pack: entry %zu: offset %u %s previous blob (expected %llu)", i,
			    e->offset, e->offset < pos ? "overlaps" : "leaves a gap after",
			    (unsigned long long)pos);
			goto done;
		}
		pos += e->stored_len;
		if (pos > trailer_start) {
			err = kura_error_set(
			    KURA_ECORRUPT, "pack: entry %zu: ends at %llu, past the trailer at %zu",
			    i, (unsigned long long)pos, trailer_start);
			goto done;
		}
	}
	if (pos != trailer_start) {
		err = kura_error_set(KURA_ECORRUPT,
				     "pack: blobs end at %llu but the trailer starts at %zu",
				     (unsigned long long)pos, trailer_start);
		goto done;
	}
	*out = entries;
	*out_count = count;
	entries = NULL;
done:
	kura_wipe(key, sizeof(key));
	if (plain) {
		kura_wipe(plain, plain_len);
		free(plain);
	}
	free(entries);
	return err;
}

int kura_pack_read_entries(kura_pack_entry **out, size_t *out_count, const kura_keys *keys,
			   const uint8_t *file, size_t len)
{
	/* frame_check() refuses a file too short to hold a header before reading one */
	return kura_pack_read_trailer(out, out_count, keys, file, file, len, len);
}

int kura_pack_open_key(uint8_t out[KURA_KEY_SIZE], const kura_keys *keys, const uint8_t *header,
		       size_t len)
{
	int err;

	memset(out, 0, KURA_KEY_SIZE);
	if (!keys || keys->kind != KURA_KEY_RESTORE)
		return kura_error_set(KURA_ENEEDKEY, "restore key needed to decrypt pack data");
	if ((err = header_check(header, len)) < 0)
		return err;
	if ((err = kura_unseal_key(out, header + PACK_SEALED_OFFSET, keys->repo_pk,
				   keys->repo_sk)) < 0)
		return kura_error_wrap(err, "pack: sealed data key");
	return 0;
}
