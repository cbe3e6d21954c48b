/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drillrec.c - encoding and decoding of drill records (drillrec.h,
 * docs/FORMAT.md "Drill records").  The summary is a fixed little-endian
 * layout so that a store parses it without a JSON parser and a fuzzer can
 * reach every branch; the details box is the same sealed-key AEAD as a
 * snapshot's body, with the whole summary as its associated data.
 */
#include "format/drillrec.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"

#define DRILL_MAGIC "KURADRIL"
#define OFF_VERSION 8
#define OFF_MODE 9
#define OFF_RESULT 10
#define OFF_RESERVED 11
#define OFF_FLAGS 12
#define OFF_TIME 16
#define OFF_SNAPSHOT 24
#define OFF_SAMPLE 56
#define OFF_VERIFY 60
#define OFF_FILES 64
#define OFF_BYTES 72
#define OFF_FAILED 80
#define OFF_SNAP_FILES 88
#define OFF_SNAP_BYTES 96
#define OFF_RESTORE_NS 104
#define OFF_RTO 112
#define OFF_SEALED 120

/* 2000-01-01 .. 2200-01-01: anything else is a broken clock or a forgery. */
#define TIME_MIN 946684800000000000LL
#define TIME_MAX 7258118400000000000LL

/* The invariants of the summary, shared by the encoder and the decoder. */
static int summary_ok(const kura_drillrec *r, int code)
{
	if (r->mode != KURA_DRILL_MODE_FULL && r->mode != KURA_DRILL_MODE_SAMPLE)
		return kura_error_set(code, "drill record: mode %u unknown (1 full, 2 sample)",
				      r->mode);
	if (r->sample_bp < 1 || r->sample_bp > 10000)
		return kura_error_set(code, "drill record: sample %u out of range (1..10000)",
				      r->sample_bp);
	if ((r->mode == KURA_DRILL_MODE_FULL) != (r->sample_bp == 10000))
		return kura_error_set(code, "drill record: mode %u does not fit sample %u", r->mode,
				      r->sample_bp);
	if (r->fail_flags & ~(uint32_t)KURA_DRILL_FAIL_ALL)
		return kura_error_set(code, "drill record: unknown failure flags 0x%x",
				      r->fail_flags);
	if (r->passed && (r->fail_flags || r->files_failed))
		return kura_error_set(code, "drill record: passed with failures recorded");
	if (!r->passed && !r->fail_flags)
		return kura_error_set(code, "drill record: failed without a cause");
	if (r->time_ns < TIME_MIN || r->time_ns > TIME_MAX)
		return kura_error_set(code, "drill record: time %lld out of range",
				      (long long)r->time_ns);
	if (r->verify_status < -1 || r->verify_status > 256 + 64)
		return kura_error_set(code, "drill record: verify status %d out of range",
				      (int)r->verify_status);
	if (r->passed && r->verify_status > 0)
		return kura_error_set(code, "drill record: passed but the verify command failed");
	return 0;
}

int kura_drillrec_encode(uint8_t **out, size_t *out_len, uint8_t out_name[KURA_HASH_SIZE],
			 const uint8_t repo_pk[KURA_PUBKEY_SIZE], const kura_drillrec *r)
{
	const char *details = r->details ? r->details : "";
	size_t dlen = strlen(details), total = KURA_DRILLREC_HEAD + dlen + KURA_AEAD_OVERHEAD;
	uint8_t data_key[KURA_KEY_SIZE];
	uint8_t *b;
	int err;

	*out = NULL;
	*out_len = 0;
	if ((err = summary_ok(r, KURA_EINVAL)) < 0)
		return err;
	if (dlen > KURA_DRILLREC_DETAILS_MAX)
		return kura_error_set(KURA_EINVAL, "drill record: details of %zu bytes (at most %u)",
				      dlen, KURA_DRILLREC_DETAILS_MAX);
	if (!(b = calloc(1, total)))
		return kura_error_set(KURA_ENOMEM, "drill record: out of memory");
	memcpy(b, DRILL_MAGIC, 8);
	b[OFF_VERSION] = KURA_DRILLREC_VERSION;
	b[OFF_MODE] = r->mode;
	b[OFF_RESULT] = r->passed ? 0 : 1;
	b[OFF_RESERVED] = 0;
	kura_le32(b + OFF_FLAGS, r->fail_flags);
	kura_le64(b + OFF_TIME, (uint64_t)r->time_ns);
	memcpy(b + OFF_SNAPSHOT, r->snapshot, KURA_HASH_SIZE);
	kura_le32(b + OFF_SAMPLE, r->sample_bp);
	kura_le32(b + OFF_VERIFY, (uint32_t)r->verify_status);
	kura_le64(b + OFF_FILES, r->files_verified);
	kura_le64(b + OFF_BYTES, r->bytes_verified);
	kura_le64(b + OFF_FAILED, r->files_failed);
	kura_le64(b + OFF_SNAP_FILES, r->snapshot_files);
	kura_le64(b + OFF_SNAP_BYTES, r->snapshot_bytes);
	kura_le64(b + OFF_RESTORE_NS, r->restore_ns);
	kura_le64(b + OFF_RTO, r->rto_ms);
	kura_random(data_key, sizeof(data_key));
	if ((err = kura_seal_key(b + OFF_SEALED, data_key, repo_pk)) < 0 ||
	    (err = kura_aead_seal(b + KURA_DRILLREC_HEAD, data_key, b, KURA_DRILLREC_HEAD, details,
				  dlen)) < 0) {
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

int kura_drillrec_decode(kura_drillrec *out, const kura_keys *keys, const uint8_t *data,
			 size_t len)
{
	uint8_t data_key[KURA_KEY_SIZE];
	size_t box;
	char *details = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if (len < KURA_DRILLREC_HEAD + KURA_AEAD_OVERHEAD)
		return kura_error_set(KURA_ECORRUPT, "drill record: %zu bytes is too short (at least %u)",
				      len, KURA_DRILLREC_HEAD + KURA_AEAD_OVERHEAD);
	if (memcmp(data, DRILL_MAGIC, 8) != 0)
		return kura_error_set(KURA_ECORRUPT, "drill record: bad magic");
	if (data[OFF_VERSION] != KURA_DRILLREC_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED, "drill record: version %u not supported",
				      data[OFF_VERSION]);
	box = len - KURA_DRILLREC_HEAD;
	if (box > KURA_DRILLREC_DETAILS_MAX + KURA_AEAD_OVERHEAD)
		return kura_error_set(KURA_ECORRUPT, "drill record: details box of %zu bytes (at most %u)",
				      box, KURA_DRILLREC_DETAILS_MAX + KURA_AEAD_OVERHEAD);
	if (data[OFF_RESULT] > 1)
		return kura_error_set(KURA_ECORRUPT, "drill record: result %u unknown (0 passed, 1 failed)",
				      data[OFF_RESULT]);
	if (data[OFF_RESERVED] != 0)
		return kura_error_set(KURA_ECORRUPT, "drill record: reserved byte is %u, not 0",
				      data[OFF_RESERVED]);
	out->mode = data[OFF_MODE];
	out->passed = data[OFF_RESULT] == 0;
	out->fail_flags = kura_get_le32(data + OFF_FLAGS);
	out->time_ns = (int64_t)kura_get_le64(data + OFF_TIME);
	memcpy(out->snapshot, data + OFF_SNAPSHOT, KURA_HASH_SIZE);
	out->sample_bp = kura_get_le32(data + OFF_SAMPLE);
	out->verify_status = (int32_t)kura_get_le32(data + OFF_VERIFY);
	out->files_verified = kura_get_le64(data + OFF_FILES);
	out->bytes_verified = kura_get_le64(data + OFF_BYTES);
	out->files_failed = kura_get_le64(data + OFF_FAILED);
	out->snapshot_files = kura_get_le64(data + OFF_SNAP_FILES);
	out->snapshot_bytes = kura_get_le64(data + OFF_SNAP_BYTES);
	out->restore_ns = kura_get_le64(data + OFF_RESTORE_NS);
	out->rto_ms = kura_get_le64(data + OFF_RTO);
	if ((err = summary_ok(out, KURA_ECORRUPT)) < 0)
		goto fail;
	if (!keys)
		return 0;
	if (!(details = malloc(box - KURA_AEAD_OVERHEAD + 1))) {
		err = kura_error_set(KURA_ENOMEM, "drill record: out of memory");
		goto fail;
	}
	if ((err = kura_unseal_key(data_key, data + OFF_SEALED, keys->repo_pk, keys->repo_sk)) < 0) {
		err = kura_error_set(KURA_EAUTH, "drill record: the details key does not open");
		goto fail;
	}
	err = kura_aead_open((uint8_t *)details, data_key, data, KURA_DRILLREC_HEAD,
			     data + KURA_DRILLREC_HEAD, box);
	kura_wipe(data_key, sizeof(data_key));
	if (err < 0) {
		err = kura_error_set(KURA_EAUTH, "drill record: the details do not authenticate");
		goto fail;
	}
	details[box - KURA_AEAD_OVERHEAD] = '\0';
	if (memchr(details, '\0', box - KURA_AEAD_OVERHEAD)) {
		err = kura_error_set(KURA_ECORRUPT, "drill record: details hold a NUL byte");
		goto fail;
	}
	out->details = details;
	return 0;
fail:
	free(details);
	memset(out, 0, sizeof(*out));
	return err;
}

int kura_drillrec_check(const uint8_t *data, size_t len)
{
	kura_drillrec r;

	return kura_drillrec_decode(&r, NULL, data, len);
}

void kura_drillrec_clear(kura_drillrec *r)
{
	if (!r)
		return;
	free(r->details);
	r->details = NULL;
}
