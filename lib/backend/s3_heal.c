/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_heal.c - `kura check` and `kura s3 heal` on S3: find the repository
 * files a thief with the writer's keys overwrote or hid behind a delete
 * marker (s3_versions.c says what counts), and put the store's view right.
 *
 * Healing never deletes a version that holds bytes: it deletes delete
 * markers (a marker has no lock and no content; S3 lets anyone with delete
 * rights remove one) and copies the intact version back on top (a
 * server-side CopyObject of that version id, whose COMPLIANCE retention is
 * then set to now + the lock period and read back).  The junk
 * versions stay until their own lock runs out; reads skip them.  Every
 * healed name is read back and hashed before it counts as healed.
 */
#include "s3.h"

#include "kura/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "kura/keyless.h"
#include "kura/kura.h"

static const kura_file_type audited[] = {KURA_FILE_CONFIG, KURA_FILE_KEY,   KURA_FILE_SNAPSHOT,
					 KURA_FILE_INDEX,  KURA_FILE_PACK,  KURA_FILE_DRILL,
					 KURA_FILE_PROOF,  KURA_FILE_ACCEPT};

typedef struct {
	s3_backend *sb;
	kura_file_type type;
	size_t dlen;
	bool heal;
	kura_s3_attack_fn fn;
	void *ctx;
	uint64_t count;
} audit;

static int delete_version(s3_backend *sb, const char *key, const char *version_id, const char *what)
{
	s3_response rs = {0};
	int err;

	if ((err = s3_http_on_version(sb, "DELETE", key, version_id, 1 << 20, &rs)) == 0 &&
	    rs.status != 204 && rs.status != 200)
		err = s3_http_error(sb, &rs, "DELETE (a delete marker)", what);
	s3_response_free(&rs);
	return err;
}

/* CopyObject of version `good` onto `key`, locked like a new upload. */
static int copy_on_top(s3_backend *sb, const char *key, const char *good, const char *what)
{
	char src[1400], until_s[32], hdr_until[80], *enc_key = NULL, *enc_ver = NULL;
	const char *hdrs[] = {src, "x-amz-metadata-directive: COPY",
			      "x-amz-object-lock-mode: COMPLIANCE", hdr_until, NULL};
	s3_request rq = {.method = "PUT", .key = key, .headers = hdrs, .max = 1 << 20};
	s3_response rs = {0};
	int64_t until = (int64_t)time(NULL) + (int64_t)sb->lock_days * 86400;
	int err;

	if (!(enc_key = s3_url_encode(key)) || !(enc_ver = s3_url_encode(good))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	snprintf(src, sizeof(src), "x-amz-copy-source: /%s/%s?versionId=%s", sb->loc.bucket,
		 enc_key, enc_ver);
	s3_url_iso8601(until_s, until);
	snprintf(hdr_until, sizeof(hdr_until), "x-amz-object-lock-retain-until-date: %s", until_s);
	if (!sb->locking)
		hdrs[2] = NULL;
	if ((err = s3_http_perform(sb, &rq, &rs)) < 0)
		goto done;
	if (rs.status != 200) {
		err = s3_http_error(sb, &rs, "PUT (copy of the intact version)", what);
		goto done;
	}
	/* Ceph 16.2 gives a copy its source's retention, whatever the headers
	 * say: set the lock on the copy (now current) and read it back */
	if (sb->locking) {
		int64_t got;

		err = s3_lock_extend(sb, key, until, what, &got);
	}
done:
	s3_response_free(&rs);
	free(enc_key);
	free(enc_ver);
	return err;
}

/* Read the name back as a plain GET does, and hash it. */
static int current_is_good(s3_backend *sb, const char *key, const char *name, bool *out)
{
	s3_request rq = {.method = "GET", .key = key, .max = S3_FILE_MAX};
	s3_response rs = {0};
	uint8_t hash[KURA_HASH_SIZE];
	char hex[KURA_HASH_SIZE * 2 + 1];
	int err;

	*out = false;
	if ((err = s3_http_perform(sb, &rq, &rs)) == 0 && rs.status == 200) {
		kura_sha256(hash, rs.body.data ? rs.body.data : (const uint8_t *)"", rs.body.len);
		kura_hex(hex, hash, sizeof(hash));
		*out = strcmp(hex, name) == 0;
	}
	s3_response_free(&rs);
	return err;
}

static int heal_one(s3_backend *sb, const s3_key_versions *kv, const char *name, const char *good,
		    const char *what)
{
	bool ok;
	int err;

	for (size_t i = 0; i < kv->n; i++)
		if (kv->v[i].marker &&
		    (err = delete_version(sb, kv->key, kv->v[i].version_id, what)) < 0)
			return err;
	if ((err = current_is_good(sb, kv->key, name, &ok)) < 0)
		return err;
	if (!ok && ((err = copy_on_top(sb, kv->key, good, what)) < 0 ||
		    (err = current_is_good(sb, kv->key, name, &ok)) < 0))
		return err;
	if (!ok)
		return kura_error_set(KURA_EIO, "%s: %s: still not the right bytes after healing",
				      sb->display, what);
	return 0;
}

static int audit_one(const s3_key_versions *kv, void *ctx)
{
	audit *a = ctx;
	const char *name = kv->key + a->dlen;
	unsigned flags = s3_key_attacks(kv);
	kura_s3_attack ev = {.type = a->type, .name = name};
	char what[96], *good = NULL;
	int err = 0;

	if (!flags || !kura_file_name_is_valid(name))
		return 0;
	a->count++;
	ev.overwritten = flags & S3_KEY_OVERWRITTEN;
	ev.hidden = flags & S3_KEY_HIDDEN;
	snprintf(what, sizeof(what), "%s/%s", kura_file_type_name(a->type), name);
	err = s3_versions_good(a->sb, kv, name, &good, NULL, NULL);
	if (err == KURA_ECORRUPT) {
		ev.problem = "no stored version hashes to the name";
		err = 0;
	} else if (err < 0)
		return err;
	ev.intact = good != NULL;
	if (a->heal && good) {
		if ((err = heal_one(a->sb, kv, name, good, what)) < 0) {
			if (err == KURA_ENOMEM)
				goto done;
			ev.problem = kura_error_message();
			err = 0;
		} else
			ev.healed = true;
	}
	if (a->fn)
		err = a->fn(&ev, a->ctx);
	kura_error_clear();
done:
	free(good);
	return err < 0 ? err : 0;
}

int kura_s3_audit(kura_backend *b, bool heal, kura_s3_attack_fn fn, void *ctx, uint64_t *out_count)
{
	s3_backend *sb = (s3_backend *)b;
	audit a = {.sb = sb, .heal = heal, .fn = fn, .ctx = ctx};
	int err = 0;

	*out_count = 0;
	if (!s3_backend_is(b))
		return kura_error_set(KURA_EINVAL, "this repository is not on S3");
	for (size_t t = 0; t < sizeof(audited) / sizeof(audited[0]) && err == 0; t++) {
		char *dir = NULL;

		a.type = audited[t];
		if (asprintf(&dir, "%s%s/", sb->loc.prefix, kura_file_type_name(a.type)) < 0)
			return kura_error_set(KURA_ENOMEM, "out of memory");
		a.dlen = strlen(dir);
		err = s3_versions_walk(sb, dir, audit_one, &a);
		free(dir);
	}
	*out_count = a.count;
	return err;
}
