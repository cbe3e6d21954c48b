/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proofrec.c - encoding and decoding of proof records (proofrec.h,
 * docs/FORMAT.md "Proof records").  A fixed little-endian head, then the
 * label and the target as UTF-8 without control characters; the lengths
 * in the head must add up to the file's size exactly, so there is no room
 * for anything to ride along.
 */
#include "format/proofrec.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/utf8.h"

#define PROOF_MAGIC "KURAPROF"
#define OFF_VERSION 8
#define OFF_KIND 9
#define OFF_RESULT 10
#define OFF_MEDIA 11
#define OFF_SITE 12
#define OFF_HAS_SNAP 13
#define OFF_RESERVED 14 /* 2 bytes */
#define OFF_TIME 16
#define OFF_SNAPSHOT 24
#define OFF_FILES 56
#define OFF_BYTES 64
#define OFF_PROBLEMS 72
#define OFF_DURATION 80
#define OFF_LABEL_LEN 88
#define OFF_TARGET_LEN 90
#define OFF_RESERVED2 92 /* 4 bytes */

#define MEDIA_MAX 5
#define SITE_MAX 2

/* 2000-01-01 .. 2200-01-01, as for drill records. */
#define TIME_MIN 946684800000000000LL
#define TIME_MAX 7258118400000000000LL

/* Text a person reads in `kura status`: valid UTF-8, no control characters. */
static int text_ok(const char *s, size_t len, const char *what, int code)
{
	if (!kura_utf8_valid(s, len))
		return kura_error_set(code, "proof record: %s is not valid UTF-8", what);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return kura_error_set(code, "proof record: %s holds a control character",
					      what);
	return 0;
}

static int record_ok(const kura_proofrec *r, size_t label_len, size_t target_len, int code)
{
	int err;

	if (r->kind != KURA_PROOFREC_COPY && r->kind != KURA_PROOFREC_CHECK)
		return kura_error_set(code, "proof record: kind %u unknown (1 copy, 2 check)",
				      r->kind);
	if (r->time_ns < TIME_MIN || r->time_ns > TIME_MAX)
		return kura_error_set(code, "proof record: time %lld out of range",
				      (long long)r->time_ns);
	if (r->passed && r->problems)
		return kura_error_set(code, "proof record: passed with %llu problem(s)",
				      (unsigned long long)r->problems);
	if (!r->passed && !r->problems)
		return kura_error_set(code, "proof record: failed without a problem counted");
	if (r->kind == KURA_PROOFREC_CHECK) {
		if (r->media || r->site || label_len || target_len)
			return kura_error_set(code, "proof record: a check record has no media, "
						    "site, label or target");
		return 0;
	}
	if (r->media < 1 || r->media > MEDIA_MAX)
		return kura_error_set(code, "proof record: media %u unknown (1..%u)", r->media,
				      MEDIA_MAX);
	if (r->site < 1 || r->site > SITE_MAX)
		return kura_error_set(code, "proof record: site %u unknown (1 on-site, 2 off-site)",
				      r->site);
	if (label_len < 1 || label_len > KURA_PROOFREC_LABEL_MAX)
		return kura_error_set(code, "proof record: label of %zu bytes (1..%u)", label_len,
				      KURA_PROOFREC_LABEL_MAX);
	if (target_len < 1 || target_len > KURA_PROOFREC_TARGET_MAX)
		return kura_error_set(code, "proof record: target of %zu bytes (1..%u)", target_len,
				      KURA_PROOFREC_TARGET_MAX);
	if ((err = text_ok(r->label, label_len, "the label", code)) < 0 ||
	    (err = text_ok(r->target, target_len, "the target", code)) < 0)
		return err;
	return 0;
}

int kura_proofrec_encode(uint8_t **out, size_t *out_len, uint8_t out_name[KURA_HASH_SIZE],
			 const kura_proofrec *r)
{
	size_t ll = strnlen(r->label, sizeof(r->label)), tl = strnlen(r->target, sizeof(r->target));
	size_t total = KURA_PROOFREC_HEAD + ll + tl;
	uint8_t *b;
	int err;

	*out = NULL;
	*out_len = 0;
	if (ll > KURA_PROOFREC_LABEL_MAX || tl > KURA_PROOFREC_TARGET_MAX)
		return kura_error_set(KURA_EINVAL, "proof record: label or target not terminated");
	if ((err = record_ok(r, ll, tl, KURA_EINVAL)) < 0)
		return err;
	if (!(b = calloc(1, total)))
		return kura_error_set(KURA_ENOMEM, "proof record: out of memory");
	memcpy(b, PROOF_MAGIC, 8);
	b[OFF_VERSION] = KURA_PROOFREC_VERSION;
	b[OFF_KIND] = r->kind;
	b[OFF_RESULT] = r->passed ? 0 : 1;
	b[OFF_MEDIA] = r->media;
	b[OFF_SITE] = r->site;
	b[OFF_HAS_SNAP] = r->has_snapshot ? 1 : 0;
	kura_le64(b + OFF_TIME, (uint64_t)r->time_ns);
	if (r->has_snapshot)
		memcpy(b + OFF_SNAPSHOT, r->snapshot, KURA_HASH_SIZE);
	kura_le64(b + OFF_FILES, r->files);
	kura_le64(b + OFF_BYTES, r->bytes);
	kura_le64(b + OFF_PROBLEMS, r->problems);
	kura_le64(b + OFF_DURATION, r->duration_ms);
	kura_le16(b + OFF_LABEL_LEN, (uint16_t)ll);
	kura_le16(b + OFF_TARGET_LEN, (uint16_t)tl);
	memcpy(b + KURA_PROOFREC_HEAD, r->label, ll);
	memcpy(b + KURA_PROOFREC_HEAD + ll, r->target, tl);
	kura_sha256(out_name, b, total);
	*out = b;
	*out_len = total;
	return 0;
}

int kura_proofrec_decode(kura_proofrec *out, const uint8_t *data, size_t len)
{
	size_t ll, tl;
	int err;

	memset(out, 0, sizeof(*out));
	if (len < KURA_PROOFREC_HEAD)
		return kura_error_set(KURA_ECORRUPT,
				      "proof record: %zu bytes is too short (at least %u)", len,
				      KURA_PROOFREC_HEAD);
	if (memcmp(data, PROOF_MAGIC, 8) != 0)
		return kura_error_set(KURA_ECORRUPT, "proof record: bad magic");
	if (data[OFF_VERSION] != KURA_PROOFREC_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED, "proof record: version %u not supported",
				      data[OFF_VERSION]);
	if (data[OFF_RESULT] > 1)
		return kura_error_set(KURA_ECORRUPT,
				      "proof record: result %u unknown (0 passed, 1 failed)",
				      data[OFF_RESULT]);
	if (data[OFF_HAS_SNAP] > 1)
		return kura_error_set(KURA_ECORRUPT,
				      "proof record: snapshot flag %u unknown (0 or 1)",
				      data[OFF_HAS_SNAP]);
	if (data[OFF_RESERVED] || data[OFF_RESERVED + 1] || kura_get_le32(data + OFF_RESERVED2))
		return kura_error_set(KURA_ECORRUPT, "proof record: reserved bytes are not 0");
	ll = kura_get_le16(data + OFF_LABEL_LEN);
	tl = kura_get_le16(data + OFF_TARGET_LEN);
	if (ll > KURA_PROOFREC_LABEL_MAX || tl > KURA_PROOFREC_TARGET_MAX ||
	    len != KURA_PROOFREC_HEAD + ll + tl)
		return kura_error_set(
		    KURA_ECORRUPT,
		    "proof record: label of %zu and target of %zu bytes do not fit "
		    "a file of %zu bytes",
		    ll, tl, len);
	out->kind = data[OFF_KIND];
	out->passed = data[OFF_RESULT] == 0;
	out->media = data[OFF_MEDIA];
	out->site = data[OFF_SITE];
	out->has_snapshot = data[OFF_HAS_SNAP] == 1;
	out->time_ns = (int64_t)kura_get_le64(data + OFF_TIME);
	memcpy(out->snapshot, data + OFF_SNAPSHOT, KURA_HASH_SIZE);
	out->files = kura_get_le64(data + OFF_FILES);
	out->bytes = kura_get_le64(data + OFF_BYTES);
	out->problems = kura_get_le64(data + OFF_PROBLEMS);
	out->duration_ms = kura_get_le64(data + OFF_DURATION);
	memcpy(out->label, data + KURA_PROOFREC_HEAD, ll);
	memcpy(out->target, data + KURA_PROOFREC_HEAD + ll, tl);
	if (!out->has_snapshot) {
		for (size_t i = 0; i < KURA_HASH_SIZE; i++)
			if (out->snapshot[i]) {
				err = kura_error_set(KURA_ECORRUPT, "proof record: a snapshot id "
								    "without the snapshot flag");
				goto fail;
			}
	}
	if ((err = record_ok(out, ll, tl, KURA_ECORRUPT)) < 0)
		goto fail;
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return err;
}

int kura_proofrec_check(const uint8_t *data, size_t len)
{
	kura_proofrec r;

	return kura_proofrec_decode(&r, data, len);
}
