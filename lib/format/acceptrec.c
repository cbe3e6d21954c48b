/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acceptrec.c - encoding and decoding of acceptance records (acceptrec.h,
 * docs/FORMAT.md "Acceptance records").  A fixed little-endian header, the
 * sorted hash lists, then the details box: the same sealed-key AEAD as a
 * drill record's, with every byte before it as associated data.
 */
#include "format/acceptrec.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "kura/keyless.h"

#define ACCEPT_MAGIC "KURAACPT"
#define OFF_VERSION 8
#define OFF_RESERVED 9
#define OFF_TIME 12
#define OFF_SNAPSHOT KURA_ACCEPTREC_SNAPSHOT_OFFSET
#define OFF_SOURCE 52
#define OFF_SIGNALS 60
#define OFF_NDIRS 64
#define OFF_NEXTS 66
#define OFF_RESERVED2 68

/* 2000-01-01 .. 2200-01-01, as drill records. */
#define TIME_MIN 946684800000000000LL
#define TIME_MAX 7258118400000000000LL

void kura_acceptrec_key(uint8_t out[16], const uint8_t id_key[KURA_KEY_SIZE])
{
	static const uint8_t salt[KURA_KEY_SIZE];
	uint8_t k[KURA_KEY_SIZE];

	/* a subkey, so that these hashes say nothing about blob ids */
	if (kura_hkdf(k, id_key, salt, "kura acceptance hash") < 0)
		memset(k, 0, sizeof(k)); /* cannot fail with these sizes; never a random key */
	memcpy(out, k, 16);
	kura_wipe(k, sizeof(k));
}

uint64_t kura_acceptrec_hash(const uint8_t key[16], const char *s, size_t len)
{
	uint8_t out[crypto_shorthash_BYTES];

	crypto_shorthash(out, (const uint8_t *)s, len, key);
	return kura_get_le64(out);
}

static size_t head_len(size_t ndirs, size_t nexts)
{
	return KURA_ACCEPTREC_FIXED + 8 * (ndirs + nexts);
}

static int sorted_unique(const uint64_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (v[i] <= v[i - 1])
			return 0;
	return 1;
}

static int fields_ok(const kura_acceptrec *r, int code)
{
	if (r->time_ns < TIME_MIN || r->time_ns > TIME_MAX)
		return kura_error_set(code, "acceptance record: time %lld out of range",
				      (long long)r->time_ns);
	if (!r->signals || (r->signals & ~KURA_ACCEPTREC_SIGNALS))
		return kura_error_set(code,
				      "acceptance record: signals 0x%x (want a non-empty subset of "
				      "0x%x: content signals and new-noise)",
				      r->signals, KURA_ACCEPTREC_SIGNALS);
	if (r->ndirs > KURA_ACCEPTREC_MAX_DIRS || r->nexts > KURA_ACCEPTREC_MAX_EXTS)
		return kura_error_set(code,
				      "acceptance record: %zu directories and %zu extensions (at "
				      "most %d and %d)",
				      r->ndirs, r->nexts, KURA_ACCEPTREC_MAX_DIRS,
				      KURA_ACCEPTREC_MAX_EXTS);
	if (r->ndirs == 0 || r->nexts == 0)
		return kura_error_set(code, "acceptance record: no directory or no extension");
	if (!sorted_unique(r->dirs, r->ndirs) || !sorted_unique(r->exts, r->nexts))
		return kura_error_set(code, "acceptance record: hashes not sorted and unique");
	return 0;
}

int kura_acceptrec_encode(uint8_t **out, size_t *out_len, uint8_t out_name[KURA_HASH_SIZE],
			  const uint8_t repo_pk[KURA_PUBKEY_SIZE], const kura_acceptrec *r)
{
	const char *details = r->details ? r->details : "";
	size_t dlen = strlen(details), head, total;
	uint8_t data_key[KURA_KEY_SIZE];
	uint8_t *b, *p;
	int err;

	*out = NULL;
	*out_len = 0;
	if ((err = fields_ok(r, KURA_EINVAL)) < 0)
		return err;
	if (dlen > KURA_ACCEPTREC_DETAILS_MAX)
		return kura_error_set(KURA_EINVAL,
				      "acceptance record: details of %zu bytes (at most %u)", dlen,
				      KURA_ACCEPTREC_DETAILS_MAX);
	head = head_len(r->ndirs, r->nexts);
	total = head + KURA_SEALED_KEY_SIZE + dlen + KURA_AEAD_OVERHEAD;
	if (!(b = calloc(1, total)))
		return kura_error_set(KURA_ENOMEM, "acceptance record: out of memory");
	memcpy(b, ACCEPT_MAGIC, 8);
	b[OFF_VERSION] = KURA_ACCEPTREC_VERSION;
	kura_le64(b + OFF_TIME, (uint64_t)r->time_ns);
	memcpy(b + OFF_SNAPSHOT, r->snapshot, KURA_HASH_SIZE);
	kura_le64(b + OFF_SOURCE, r->source);
	kura_le32(b + OFF_SIGNALS, r->signals);
	b[OFF_NDIRS] = (uint8_t)(r->ndirs & 0xff);
	b[OFF_NDIRS + 1] = (uint8_t)(r->ndirs >> 8);
	b[OFF_NEXTS] = (uint8_t)(r->nexts & 0xff);
	b[OFF_NEXTS + 1] = (uint8_t)(r->nexts >> 8);
	p = b + KURA_ACCEPTREC_FIXED;
	for (size_t i = 0; i < r->ndirs; i++, p += 8)
		kura_le64(p, r->dirs[i]);
	for (size_t i = 0; i < r->nexts; i++, p += 8)
		kura_le64(p, r->exts[i]);
	kura_random(data_key, sizeof(data_key));
	if ((err = kura_seal_key(b + head, data_key, repo_pk)) < 0 ||
	    (err = kura_aead_seal(b + head + KURA_SEALED_KEY_SIZE, data_key, b,
				  head + KURA_SEALED_KEY_SIZE, details, dlen)) < 0) {
		free(b);
		goto done;
	}
	kura_sha256(out_name, b, total);
	*out = b;
	*out_len = total;
done:
	kura_wipe(data_key, sizeof(data_key));
	return err;
}

static int get_hashes(uint64_t **out, const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	if (!(*out = calloc(n, sizeof(**out))))
		return kura_error_set(KURA_ENOMEM, "acceptance record: out of memory");
	for (size_t i = 0; i < n; i++)
		(*out)[i] = kura_get_le64(p + 8 * i);
	return 0;
}

int kura_acceptrec_decode(kura_acceptrec *out, const kura_keys *keys, const uint8_t *data,
			  size_t len)
{
	uint8_t data_key[KURA_KEY_SIZE];
	size_t head, box;
	char *details = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if (len < KURA_ACCEPTREC_FIXED)
		return kura_error_set(
		    KURA_ECORRUPT, "acceptance record: %zu bytes is too short (at least %u)", len,
		    KURA_ACCEPTREC_FIXED + KURA_SEALED_KEY_SIZE + KURA_AEAD_OVERHEAD);
	if (memcmp(data, ACCEPT_MAGIC, 8) != 0)
		return kura_error_set(KURA_ECORRUPT, "acceptance record: bad magic");
	if (data[OFF_VERSION] != KURA_ACCEPTREC_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED,
				      "acceptance record: version %u not supported",
				      data[OFF_VERSION]);
	if (data[OFF_RESERVED] || data[OFF_RESERVED + 1] || data[OFF_RESERVED + 2] ||
	    kura_get_le32(data + OFF_RESERVED2))
		return kura_error_set(KURA_ECORRUPT, "acceptance record: reserved bytes are not 0");
	out->time_ns = (int64_t)kura_get_le64(data + OFF_TIME);
	memcpy(out->snapshot, data + OFF_SNAPSHOT, KURA_HASH_SIZE);
	out->source = kura_get_le64(data + OFF_SOURCE);
	out->signals = kura_get_le32(data + OFF_SIGNALS);
	out->ndirs = (size_t)data[OFF_NDIRS] | (size_t)data[OFF_NDIRS + 1] << 8;
	out->nexts = (size_t)data[OFF_NEXTS] | (size_t)data[OFF_NEXTS + 1] << 8;
	head = head_len(out->ndirs, out->nexts);
	if (out->ndirs > KURA_ACCEPTREC_MAX_DIRS || out->nexts > KURA_ACCEPTREC_MAX_EXTS ||
	    len < head + KURA_SEALED_KEY_SIZE + KURA_AEAD_OVERHEAD) {
		err = kura_error_set(KURA_ECORRUPT,
				     "acceptance record: %zu directories and %zu extensions do not "
				     "fit %zu bytes (or exceed %d and %d)",
				     out->ndirs, out->nexts, len, KURA_ACCEPTREC_MAX_DIRS,
				     KURA_ACCEPTREC_MAX_EXTS);
		goto fail;
	}
	box = len - head - KURA_SEALED_KEY_SIZE;
	if (box > KURA_ACCEPTREC_DETAILS_MAX + KURA_AEAD_OVERHEAD) {
		err = kura_error_set(KURA_ECORRUPT,
				     "acceptance record: details box of %zu bytes (at most %u)",
				     box, KURA_ACCEPTREC_DETAILS_MAX + KURA_AEAD_OVERHEAD);
		goto fail;
	}
	if ((err = get_hashes(&out->dirs, data + KURA_ACCEPTREC_FIXED, out->ndirs)) < 0 ||
	    (err = get_hashes(&out->exts, data + KURA_ACCEPTREC_FIXED + 8 * out->ndirs,
			      out->nexts)) < 0 ||
	    (err = fields_ok(out, KURA_ECORRUPT)) < 0)
		goto fail;
	if (!keys)
		return 0;
	if (!(details = malloc(box - KURA_AEAD_OVERHEAD + 1))) {
		err = kura_error_set(KURA_ENOMEM, "acceptance record: out of memory");
		goto fail;
	}
	if (kura_unseal_key(data_key, data + head, keys->repo_pk, keys->repo_sk) < 0) {
		err =
		    kura_error_set(KURA_EAUTH, "acceptance record: the details key does not open");
		goto fail;
	}
	err = kura_aead_open((uint8_t *)details, data_key, data, head + KURA_SEALED_KEY_SIZE,
			     data + head + KURA_SEALED_KEY_SIZE, box);
	kura_wipe(data_key, sizeof(data_key));
	if (err < 0) {
		err = kura_error_set(KURA_EAUTH,
				     "acceptance record: the details do not authenticate");
		goto fail;
	}
	details[box - KURA_AEAD_OVERHEAD] = '\0';
	if (memchr(details, '\0', box - KURA_AEAD_OVERHEAD)) {
		err = kura_error_set(KURA_ECORRUPT, "acceptance record: details hold a NUL byte");
		goto fail;
	}
	out->details = details;
	return 0;
fail:
	free(details);
	kura_acceptrec_clear(out);
	return err;
}

int kura_acceptrec_check(const uint8_t *data, size_t len)
{
	kura_acceptrec r;
	int err = kura_acceptrec_decode(&r, NULL, data, len);

	kura_acceptrec_clear(&r);
	return err;
}

int kura_accept_peek(const uint8_t *data, size_t len, char out_snapshot[KURA_ID_HEX],
		     int64_t *out_time_ns)
{
	kura_acceptrec r;
	int err = kura_acceptrec_decode(&r, NULL, data, len);

	if (err == 0) {
		kura_hex(out_snapshot, r.snapshot, KURA_HASH_SIZE);
		*out_time_ns = r.time_ns;
	}
	kura_acceptrec_clear(&r);
	return err;
}

void kura_acceptrec_clear(kura_acceptrec *r)
{
	if (!r)
		return;
	free(r->dirs);
	free(r->exts);
	free(r->details);
	memset(r, 0, sizeof(*r));
}
