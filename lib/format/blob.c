/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blob.c - one blob's stored form (docs/FORMAT.md, "Blobs"): compress,
 * encrypt, and the reverse, which trusts nothing it reads.
 *
 * A reader checks every length against the entry before it allocates,
 * bounds what a zstd frame may produce by the recorded raw length, and
 * accepts a plaintext only when it hashes back to the blob's id.  A blob
 * stored against another (KURA_BLOB_FLAG_REF) names that blob inside its
 * payload; the caller's kura_blob_refs supplies its plaintext, already
 * verified, and the frame is decompressed with it as zstd's prefix.
 * Plaintext is wiped before it is freed.
 */
#include "format/pack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "common/buf.h"
#include "common/error.h"

void kura_blob__aad(uint8_t aad[KURA_BLOB_AAD_SIZE], uint8_t type, const uint8_t id[KURA_HASH_SIZE])
{
	aad[0] = type;
	memcpy(aad + 1, id, KURA_HASH_SIZE);
}

int kura_blob_encode(uint8_t **out, size_t *out_len, uint8_t *out_flags,
		     const uint8_t data_key[KURA_KEY_SIZE], uint8_t type,
		     const uint8_t id[KURA_HASH_SIZE], const void *plain, size_t plain_len,
		     int level)
{
	uint8_t aad[KURA_BLOB_AAD_SIZE];
	uint8_t *comp = NULL, *stored = NULL;
	size_t comp_cap = 0;
	const void *payload = plain;
	size_t payload_len = plain_len;
	uint8_t flags = 0;
	int err = 0;

	*out = NULL;
	*out_len = 0;
	*out_flags = 0;
	if (type != KURA_BLOB_DATA && type != KURA_BLOB_TREE)
		return kura_error_set(KURA_EINVAL, "blob: unknown type %u", type);
	if (plain_len > KURA_BLOB_MAX_RAW)
		return kura_error_set(KURA_EINVAL, "blob: %zu bytes exceeds the limit %u",
				      plain_len, KURA_BLOB_MAX_RAW);

	if (level > 0 && plain_len > 0) {
		size_t n;

		comp_cap = ZSTD_compressBound(plain_len);
		if (!(comp = malloc(comp_cap))) {
			err = kura_error_set(KURA_ENOMEM, "blob: out of memory (%zu bytes)",
					     comp_cap);
			goto done;
		}
		if (level > ZSTD_maxCLevel())
			level = ZSTD_maxCLevel();
		n = ZSTD_compress(comp, comp_cap, plain, plain_len, level);
		/* A failed compression only costs space: store the plaintext. */
		if (!ZSTD_isError(n) && n < plain_len) {
			payload = comp;
			payload_len = n;
			flags = KURA_BLOB_FLAG_ZSTD;
		}
	}

	if (!(stored = malloc(payload_len + KURA_AEAD_OVERHEAD))) {
		err = kura_error_set(KURA_ENOMEM, "blob: out of memory (%zu bytes)",
				     payload_len + KURA_AEAD_OVERHEAD);
		goto done;
	}
	kura_blob__aad(aad, type, id);
	if ((err = kura_aead_seal(stored, data_key, aad, sizeof(aad), payload, payload_len)) < 0)
		goto done;
	*out = stored;
	*out_len = payload_len + KURA_AEAD_OVERHEAD;
	*out_flags = flags;
	stored = NULL;
done:
	if (comp) {
		kura_wipe(comp, comp_cap);
		free(comp);
	}
	free(stored);
	return err;
}

int kura_blob_sizes(const kura_pack_entry *e, size_t *payload_len, size_t *plain_len)
{
	char where[2 * KURA_HASH_SIZE + 8], hex[2 * KURA_HASH_SIZE + 1];
	int err;

	kura_hex(hex, e->id, KURA_HASH_SIZE);
	snprintf(where, sizeof(where), "blob %s", hex);
	if ((err = kura_pack__entry_check(e, where)) < 0)
		return err;
	*payload_len = e->stored_len - KURA_AEAD_OVERHEAD;
	*plain_len = e->flags ? e->raw_len : 0;
	return 0;
}

int kura_blob_ref_id(const uint8_t *payload, size_t payload_len, uint8_t out[KURA_HASH_SIZE])
{
	if (payload_len <= KURA_HASH_SIZE)
		return kura_error_set(KURA_ECORRUPT,
				      "blob stored against another: payload of %zu bytes holds no "
				      "frame after the reference id",
				      payload_len);
	memcpy(out, payload, KURA_HASH_SIZE);
	return 0;
}

/* Check a frame of `len` bytes before decompressing it into raw_len bytes. */
static int frame_check(const char *hex, const uint8_t *frame, size_t len, uint32_t raw_len)
{
	unsigned long long size = ZSTD_getFrameContentSize(frame, len);

	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
		return kura_error_set(KURA_ECORRUPT,
				      "blob %s: payload is not a zstd frame of known size", hex);
	if (size != raw_len)
		return kura_error_set(KURA_ECORRUPT,
				      "blob %s: zstd frame holds %llu bytes but raw length is %u",
				      hex, size, raw_len);
	return 0;
}

/* What ZSTD_decompress*() returned, as an error unless it is exactly raw_len bytes. */
static int frame_result(const char *hex, size_t n, uint32_t raw_len)
{
	if (ZSTD_isError(n))
		return kura_error_set(KURA_ECORRUPT, "blob %s: zstd: %s", hex,
				      ZSTD_getErrorName(n));
	if (n != raw_len)
		return kura_error_set(KURA_ECORRUPT,
				      "blob %s: decompressed to %zu bytes but raw length is %u", hex,
				      n, raw_len);
	return 0;
}

/*
 * Decompress a payload stored against another blob into plain: fetch the
 * reference (verified by the caller's fetch) and use it as zstd's prefix.
 */
static int decode_against(uint8_t *plain, struct ZSTD_DCtx_s *dctx, const kura_pack_entry *e,
			  const uint8_t *payload, size_t payload_len, const kura_blob_refs *refs,
			  const char *hex)
{
	uint8_t ref_id[KURA_HASH_SIZE], *ref = NULL;
	char ref_hex[2 * KURA_HASH_SIZE + 1];
	ZSTD_DCtx *own = NULL;
	size_t ref_len = 0, n;
	int err;

	if ((err = kura_blob_ref_id(payload, payload_len, ref_id)) < 0)
		return kura_error_wrap(err, "blob %s", hex);
	kura_hex(ref_hex, ref_id, KURA_HASH_SIZE);
	if ((err = frame_check(hex, payload + KURA_HASH_SIZE, payload_len - KURA_HASH_SIZE,
			       e->raw_len)) < 0)
		return err;
	if (!refs)
		return kura_error_set(KURA_EUNSUPPORTED,
				      "blob %s is stored against blob %s, which this reader cannot "
				      "fetch",
				      hex, ref_hex);
	if ((err = refs->fetch(refs->ctx, ref_id, &ref, &ref_len)) < 0)
		return kura_error_wrap(err, "blob %s is stored against blob %s", hex, ref_hex);
	if (!dctx && !(dctx = own = ZSTD_createDCtx())) {
		err = kura_error_set(KURA_ENOMEM, "blob: cannot create a zstd context");
		goto done;
	}
	/* the prefix is used for this one frame only, and read as raw content */
	n = ZSTD_DCtx_refPrefix(dctx, ref, ref_len);
	if (!ZSTD_isError(n))
		n = ZSTD_decompressDCtx(dctx, plain, e->raw_len, payload + KURA_HASH_SIZE,
					payload_len - KURA_HASH_SIZE);
	else
		ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
	err = frame_result(hex, n, e->raw_len);
done:
	ZSTD_freeDCtx(own);
	if (ref) {
		kura_wipe(ref, ref_len);
		free(ref);
	}
	return err;
}

int kura_blob_decode_into(const uint8_t **out, uint8_t *payload, uint8_t *plain,
			  struct ZSTD_DCtx_s *dctx, const uint8_t data_key[KURA_KEY_SIZE],
			  const struct kura_mac *mac, const kura_pack_entry *e,
			  const uint8_t *stored, size_t stored_len)
{
	return kura_blob_decode_refs(out, payload, plain, dctx, data_key, mac, e, stored,
				     stored_len, NULL);
}

int kura_blob_decode_refs(const uint8_t **out, uint8_t *payload, uint8_t *plain,
			  struct ZSTD_DCtx_s *dctx, const uint8_t data_key[KURA_KEY_SIZE],
			  const struct kura_mac *mac, const kura_pack_entry *e,
			  const uint8_t *stored, size_t stored_len, const kura_blob_refs *refs)
{
	char hex[2 * KURA_HASH_SIZE + 1];
	uint8_t aad[KURA_BLOB_AAD_SIZE];
	uint8_t id[KURA_HASH_SIZE];
	size_t payload_len, plain_len;
	int err;

	*out = NULL;
	kura_hex(hex, e->id, KURA_HASH_SIZE);
	if ((err = kura_blob_sizes(e, &payload_len, &plain_len)) < 0)
		return err;
	if (stored_len != e->stored_len)
		return kura_error_set(KURA_ECORRUPT,
				      "blob %s: %zu stored bytes but the entry says %u", hex,
				      stored_len, e->stored_len);
	kura_blob__aad(aad, e->type, e->id);
	if ((err = kura_aead_open(payload, data_key, aad, sizeof(aad), stored, stored_len)) < 0)
		return kura_error_wrap(err, "blob %s", hex);

	if (!e->flags) {
		plain = payload; /* entry_check guaranteed payload_len == raw_len */
	} else if (e->flags & KURA_BLOB_FLAG_REF) {
		if ((err = decode_against(plain, dctx, e, payload, payload_len, refs, hex)) < 0)
			return err;
	} else {
		if ((err = frame_check(hex, payload, payload_len, e->raw_len)) < 0)
			return err;
		/* The output buffer bounds what a hostile frame can produce. */
		if ((err = frame_result(hex,
					dctx ? ZSTD_decompressDCtx(dctx, plain, e->raw_len, payload,
								   payload_len)
					     : ZSTD_decompress(plain, e->raw_len, payload,
							       payload_len),
					e->raw_len)) < 0)
			return err;
	}
	if (mac) {
		if ((err = kura_mac_compute(mac, id, plain, e->raw_len)) < 0)
			return err;
		if (!kura_ct_equal(id, e->id, KURA_HASH_SIZE))
			return kura_error_set(KURA_ECORRUPT,
					      "blob %s: content does not match its id", hex);
	}
	*out = plain;
	return 0;
}

int kura_blob_decode(uint8_t **out, const uint8_t data_key[KURA_KEY_SIZE],
		     const struct kura_mac *mac, const kura_pack_entry *e, const uint8_t *stored,
		     size_t stored_len)
{
	return kura_blob_decode_with(out, data_key, mac, e, stored, stored_len, NULL);
}

int kura_blob_decode_with(uint8_t **out, const uint8_t data_key[KURA_KEY_SIZE],
			  const struct kura_mac *mac, const kura_pack_entry *e,
			  const uint8_t *stored, size_t stored_len, const kura_blob_refs *refs)
{
	uint8_t *payload = NULL, *plain = NULL;
	const uint8_t *result;
	size_t payload_len = 0, plain_len = 0;
	int err;

	*out = NULL;
	if ((err = kura_blob_sizes(e, &payload_len, &plain_len)) < 0)
		return err;
	if (!(payload = malloc(payload_len ? payload_len : 1)) ||
	    (plain_len && !(plain = malloc(plain_len)))) {
		err = kura_error_set(KURA_ENOMEM, "blob: out of memory (%zu bytes)",
				     payload_len + plain_len);
		goto done;
	}
	if ((err = kura_blob_decode_refs(&result, payload, plain, NULL, data_key, mac, e, stored,
					 stored_len, refs)) < 0)
		goto done;
	if (result == payload) {
		*out = payload;
		payload = NULL;
	} else {
		*out = plain;
		plain = NULL;
	}
done:
	if (payload) {
		kura_wipe(payload, payload_len);
		free(payload);
	}
	if (plain) {
		kura_wipe(plain, plain_len);
		free(plain);
	}
	return err;
}
