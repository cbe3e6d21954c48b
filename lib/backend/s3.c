/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3.c - the S3 backend: a repository in an S3 bucket (AWS S3, Ceph RGW,
 * MinIO), as the slots of kura/sys/backend.h.  Layout and lock semantics:
 * docs/FORMAT.md, "S3 layout and Object Lock".
 *
 * Each repository file is one object, PREFIX/TYPE/NAME (config/, keys/,
 * snapshots/, index/, data/, drills/, proofs/, accepts/), written by a single PUT (kura's
 * largest file, a pack, is bounded by the 1 GiB pack size limit, far
 * under S3's 5 GiB for one PUT), so no multipart upload ever needs its
 * lock set afterwards.  put() never replaces a file: it asks first (HEAD)
 * and writes only a name that is not there; on a bucket with Object Lock
 * it sends COMPLIANCE retention with the PUT and confirms it by a second
 * request (s3_lock.c).  get() hashes what it read; bytes that are not the
 * SHA-256 of the name, or a name whose current version is a delete
 * marker, send it to the key's older versions for the one that hashes
 * right (s3_versions.c: a thief with the writer's keys may overwrite or
 * hide, never destroy, a locked version).  list() pages through
 * ListObjectVersions, so a name hidden by a delete marker is listed, and
 * reports only names kura could have written; get_range() of an attacked
 * name reads the version that hashes right.
 *
 * remove() deletes every version of a file (and any delete marker over
 * it) for good, but only once no version is locked any more: a locked
 * file is kept and the call answers KURA_EBUSY with the date its lock
 * ends.  Backups and prunes are kept apart by lock objects
 * under PREFIX/locks/ (s3_repolock.c), and prune keeps packs younger than
 * its grace (mtime) besides.
 *
 * Threads: put/get/get_range/list may run concurrently; the backend
 * changes after open only in its pool of easy handles (s3_http.c).
 */
#include "s3.h"

#include "kura/backend.h"
#include "kura/keyless.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "kura/kura.h"

#define FILE_MAX S3_FILE_MAX

static int check_args(kura_file_type type, const char *name)
{
	return kura_backend_check_name("S3 backend", type, name);
}

static void what_of(char out[96], kura_file_type type, const char *name)
{
	snprintf(out, 96, "%s %s", kura_file_type_what(type), name);
}

static int head(s3_backend *sb, const char *key, s3_response *rs)
{
	s3_request rq = {.method = "HEAD", .key = key};

	return s3_http_perform(sb, &rq, rs);
}

static int s3_put(kura_backend *b, kura_file_type type, const char *name, const void *data,
		  size_t len)
{
	s3_backend *sb = (s3_backend *)b;
	char until_s[32], hdr_until[80], what[96];
	const char *lock_hdrs[] = {"x-amz-object-lock-mode: COMPLIANCE", hdr_until, NULL};
	s3_request rq = {.method = "PUT",
			 .body = data,
			 .body_len = len,
			 .body_sha256 = name,
			 .checksum_sha256 = true,
			 .max = 1 << 20};
	s3_response rs = {0};
	char *key = NULL;
	int64_t until = (int64_t)time(NULL) + (int64_t)sb->lock_days * 86400;
	int err;

	if ((err = check_args(type, name)) < 0)
		return err;
	if (!data && len > 0)
		return kura_error_set(KURA_EINVAL, "S3 backend: put of %zu bytes from NULL", len);
	if (len > FILE_MAX)
		return kura_error_set(KURA_EINVAL,
				      "%s %s: %zu bytes is more than one PUT takes here",
				      kura_file_type_what(type), name, len);
	what_of(what, type, name);
	if (!(key = s3_url_key(sb, type, name)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = head(sb, key, &rs)) < 0)
		goto done;
	if (rs.status == 200) {
		/* the same name is the same bytes; an existing file must be locked too */
		if (sb->locking && (strcmp(rs.lock_mode, "COMPLIANCE") != 0 ||
				    s3_url_parse_iso8601(rs.retain_until) < until - 86400)) {
			int64_t got;

			err = s3_lock_extend(sb, key, until, what, &got);
		}
		goto done;
	}
	if (rs.status != 404) {
		err = s3_http_error(sb, &rs, "HEAD", what);
		goto done;
	}
	rq.key = key;
	if (sb->locking) {
		s3_url_iso8601(until_s, until);
		snprintf(hdr_until, sizeof(hdr_until), "x-amz-object-lock-retain-until-date: %s",
			 until_s);
		rq.headers = lock_hdrs;
	}
	if ((err = s3_http_perform(sb, &rq, &rs)) < 0)
		goto done;
	if (rs.status != 200) {
		err = s3_http_error(sb, &rs, "PUT", what);
		goto done;
	}
	if (sb->locking)
		err = s3_lock_confirm(sb, key, rs.version_id, until, what);
done:
	s3_response_free(&rs);
	free(key);
	return err;
}

/*
 * The current version of `key` was missing (404) or not the file: the
 * oldest stored version whose bytes hash to `name`, remembered for
 * get_range.  A name with no version at all stays KURA_ENOTFOUND.
 */
static int from_versions(s3_backend *sb, const char *key, const char *name, const char *what,
			 long status, size_t got, uint8_t **out, size_t *out_len)
{
	s3_key_versions *kv = NULL;
	char *id = NULL;
	int err;

	if ((err = s3_versions_of(sb, key, &kv)) == KURA_ENOTFOUND ||
	    (err == 0 && !s3_key_oldest(kv))) {
		kura_error_clear();
		err =
		    kura_error_set(KURA_ENOTFOUND, "%s: %s: not found (no version of it is stored)",
				   sb->display, what);
		goto done;
	}
	if (err < 0)
		goto done;
	if ((err = s3_versions_good(sb, kv, name, &id, out, out_len)) < 0) {
		kura_error_clear();
		err = kura_error_set(
		    KURA_ECORRUPT,
		    status == 200 ? "%s: %s: the %zu bytes the store sent do not hash to the "
				    "name, and no older version does"
				  : "%s: %s: hidden by a delete marker (%zu bytes), and no "
				    "stored version hashes to the name",
		    sb->display, what, got);
		goto done;
	}
	err = s3_versions_note(sb, kv);
done:
	s3_key_versions_free(kv);
	free(id);
	return err;
}

static int s3_get(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
		  size_t *out_len)
{
	s3_backend *sb = (s3_backend *)b;
	s3_request rq = {.method = "GET", .max = FILE_MAX};
	s3_response rs = {0};
	uint8_t hash[KURA_HASH_SIZE];
	char hex[KURA_HASH_SIZE * 2 + 1], what[96];
	char *key = NULL;
	int err;

	*out = NULL;
	*out_len = 0;
	if ((err = check_args(type, name)) < 0)
		return err;
	what_of(what, type, name);
	if (!(key = s3_url_key(sb, type, name)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	rq.key = key;
	if ((err = s3_http_perform(sb, &rq, &rs)) < 0)
		goto done;
	if (rs.status != 200 && rs.status != 404) {
		err = s3_http_error(sb, &rs, "GET", what);
		goto done;
	}
	if (rs.status == 200) {
		kura_sha256(hash, rs.body.data ? rs.body.data : (const uint8_t *)"", rs.body.len);
		kura_hex(hex, hash, sizeof(hash));
		if (strcmp(hex, name) == 0) {
			if (!rs.body.data && (err = kura_buf_reserve(&rs.body, 1)) < 0)
				goto done;
			*out = kura_buf_detach(&rs.body, out_len);
			goto done;
		}
	}
	/* junk over the name, or a delete marker: the older versions may hold it */
	err = from_versions(sb, key, name, what, rs.status, rs.body.len, out, out_len);
done:
	s3_response_free(&rs);
	free(key);
	return err;
}

static int s3_get_range(kura_backend *b, kura_file_type type, const char *name, uint64_t offset,
			size_t len, uint8_t *buf)
{
	s3_backend *sb = (s3_backend *)b;
	s3_request rq = {.method = "GET", .fixed = buf, .fixed_len = len, .max = 0};
	s3_response rs = {0};
	char range[48], what[96];
	char *key = NULL, *vid = NULL, *query = NULL;
	int err;

	if ((err = check_args(type, name)) < 0)
		return err;
	if ((err = kura_backend_check_range(type, name, offset, len)) < 0)
		return err;
	if (len == 0)
		return 0;
	what_of(what, type, name);
	snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)offset,
		 (unsigned long long)(offset + len - 1));
	if (!(key = s3_url_key(sb, type, name)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	/* an attacked name is read from the version that hashes right */
	if ((err = s3_versions_scan(sb, type)) < 0 ||
	    (err = s3_versions_pin(sb, key, name, &vid)) < 0)
		goto done;
	if (vid && (err = s3_url_version_query(vid, &query)) < 0)
		goto done;
	rq.query = query;
	rq.key = key;
	rq.range = range;
	if ((err = s3_http_perform(sb, &rq, &rs)) < 0)
		goto done;
	if (rs.status == 416 || rs.status == 200) {
		err = kura_error_set(KURA_ECORRUPT, "%s: %s: range %s is beyond the file (%ld)",
				     sb->display, what, range, rs.status);
		goto done;
	}
	if (rs.status != 206) {
		err = s3_http_error(sb, &rs, "GET", what);
		goto done;
	}
	if (rs.fixed_got != len)
		err = kura_error_set(KURA_ECORRUPT, "%s: %s: wanted %zu bytes at %llu, got %zu",
				     sb->display, what, len, (unsigned long long)offset,
				     rs.fixed_got);
done:
	s3_response_free(&rs);
	free(query);
	free(vid);
	free(key);
	return err;
}

typedef struct {
	s3_backend *sb;
	size_t dlen;
	kura_backend_list_fn fn;
	void *ctx;
} list_walk;

static int list_one(const s3_key_versions *kv, void *ctx)
{
	list_walk *w = ctx;
	const s3_xml_version *oldest = s3_key_oldest(kv);
	int err;

	if (!oldest || !kura_file_name_is_valid(kv->key + w->dlen))
		return 0; /* only markers, or not a file kura wrote */
	if ((err = s3_versions_note(w->sb, kv)) < 0)
		return err;
	return w->fn(kv->key + w->dlen, oldest->size, w->ctx);
}

/*
 * Every name of PREFIX/TYPE/ with a stored version, delete markers or not
 * (ListObjectVersions, page by page); its size is its oldest version's,
 * the one kura wrote.  Attacked names are noted for reads.
 */
static int s3_list(kura_backend *b, kura_file_type type, kura_backend_list_fn fn, void *ctx)
{
	s3_backend *sb = (s3_backend *)b;
	list_walk w = {.sb = sb, .fn = fn, .ctx = ctx};
	char *dir = NULL;
	int err;

	if ((unsigned)type >= KURA_FILE_TYPES)
		return kura_error_set(KURA_EINVAL, "S3 backend: bad file type %d", (int)type);
	if (asprintf(&dir, "%s%s/", sb->loc.prefix, kura_file_type_name(type)) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	w.dlen = strlen(dir);
	err = s3_versions_walk(sb, dir, list_one, &w);
	if (err > 0)
		err = 0;
	free(dir);
	return err;
}

static int s3_mtime(kura_backend *b, kura_file_type type, const char *name, int64_t *out_ns)
{
	s3_backend *sb = (s3_backend *)b;
	s3_response rs = {0};
	char what[96], *key;
	int64_t t;
	int err;

	*out_ns = 0;
	if ((err = check_args(type, name)) < 0)
		return err;
	what_of(what, type, name);
	if (!(key = s3_url_key(sb, type, name)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = head(sb, key, &rs)) == 0) {
		s3_key_versions *kv = NULL;
		const s3_xml_version *oldest;

		if (rs.status == 404 && s3_versions_of(sb, key, &kv) == 0 &&
		    (oldest = s3_key_oldest(kv))) {
			/* hidden by a delete marker: when kura wrote it */
			kura_error_clear();
			*out_ns = oldest->modified * 1000000000;
		} else if (rs.status != 200)
			err = s3_http_error(sb, &rs, "HEAD", what);
		else if ((t = s3_url_parse_http_date(rs.last_modified)) < 0)
			err = kura_error_set(KURA_ECORRUPT,
					     "%s: %s: Last-Modified \"%.60s\" is not a "
					     "date",
					     sb->display, what, rs.last_modified);
		else
			*out_ns = t * 1000000000;
		s3_key_versions_free(kv);
	}
	s3_response_free(&rs);
	free(key);
	return err;
}

/*
 * Delete every version of the file for good, and any delete marker over
 * it, once no version is locked any more: junk a thief put on top goes
 * with it.  A locked version keeps them all (KURA_EBUSY with its date).
 */
static int s3_remove(kura_backend *b, kura_file_type type, const char *name)
{
	s3_backend *sb = (s3_backend *)b;
	s3_key_versions *kv = NULL;
	s3_response rs = {0};
	char what[96], *key;
	int64_t until;
	int err;

	if ((err = check_args(type, name)) < 0)
		return err;
	what_of(what, type, name);
	if (!(key = s3_url_key(sb, type, name)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = s3_versions_of(sb, key, &kv)) == KURA_ENOTFOUND ||
	    (err == 0 && !s3_key_oldest(kv))) {
		kura_error_clear();
		err = kura_error_set(KURA_ENOTFOUND, "%s: %s: not found", sb->display, what);
		goto done;
	}
	if (err < 0)
		goto done;
	for (size_t i = 0; i < kv->n; i++) {
		if (kv->v[i].marker)
			continue;
		if ((err = s3_http_on_version(sb, "HEAD", key, kv->v[i].version_id, 1 << 20, &rs)) <
		    0)
			goto done;
		if (rs.status != 200) {
			err = s3_http_error(sb, &rs, "HEAD", what);
			goto done;
		}
		until = s3_url_parse_iso8601(rs.retain_until);
		if (rs.lock_mode[0] && until > (int64_t)time(NULL)) {
			err = kura_error_set(KURA_EBUSY, "%s: %s is locked (%s) until %s: kept",
					     sb->display, what, rs.lock_mode, rs.retain_until);
			goto done;
		}
	}
	for (size_t i = 0; i < kv->n; i++) {
		if ((err = s3_http_on_version(sb, "DELETE", key, kv->v[i].version_id, 1 << 20,
					      &rs)) < 0)
			goto done;
		if (rs.status != 204 && rs.status != 200) {
			err = s3_http_error(sb, &rs, "DELETE", what);
			goto done;
		}
	}
done:
	s3_response_free(&rs);
	s3_key_versions_free(kv);
	free(key);
	return err;
}

static void s3_free(kura_backend *b)
{
	s3_backend *sb = (s3_backend *)b;

	if (!sb)
		return;
	for (size_t i = 0; i < sb->pooled; i++)
		curl_easy_cleanup(sb->pool[i]);
	if (sb->userpwd) {
		kura_wipe(sb->userpwd, strlen(sb->userpwd));
		free(sb->userpwd);
	}
	if (sb->token_hdr) {
		kura_wipe(sb->token_hdr, strlen(sb->token_hdr));
		free(sb->token_hdr);
	}
	s3_versions_free_pins(sb);
	pthread_mutex_destroy(&sb->pin_lock);
	pthread_mutex_destroy(&sb->lock);
	free(sb->sigv4);
	free(sb->display);
	free(sb);
}

bool s3_backend_is(const kura_backend *b)
{
	return b && b->put == s3_put;
}

bool kura_location_is_s3(const char *location)
{
	return s3_url_is_s3(location);
}

static int s3_new(s3_backend **out, const char *url, const kura_s3_options *o)
{
	s3_backend *sb;
	const char *region;
	int err;

	*out = NULL;
	if (!o || o->version != KURA_S3_OPTIONS_VERSION)
		return kura_error_set(KURA_EINVAL, "%s: S3 options of an unknown version", url);
	if (!o->access_key || !*o->access_key || !o->secret_key || !*o->secret_key)
		return kura_error_set(KURA_EAUTH,
				      "%s: no S3 credentials (set AWS_ACCESS_KEY_ID and "
				      "AWS_SECRET_ACCESS_KEY)",
				      url);
	if (strchr(o->access_key, ':'))
		return kura_error_set(KURA_EINVAL, "%s: the S3 access key holds a ':'", url);
	/* they end up in request headers: no control characters may split one */
	for (const char *p = o->session_token; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return kura_error_set(
			    KURA_EINVAL, "%s: the S3 session token holds a control character", url);
	region = o->region && *o->region ? o->region : "us-east-1";
	for (const char *p = region; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return kura_error_set(KURA_EINVAL, "%s: \"%.40s\" is not an S3 region", url,
					      region);
	if ((err = s3_http_ready()) < 0)
		return err;
	if (!(sb = calloc(1, sizeof(*sb))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	pthread_mutex_init(&sb->lock, NULL);
	pthread_mutex_init(&sb->pin_lock, NULL);
	if ((err = s3_url_parse(&sb->loc, url, o->endpoint, o->virtual_host)) < 0)
		goto fail;
	if (asprintf(&sb->display, "s3:%s://%s/%s%s%.*s", sb->loc.scheme, sb->loc.host,
		     sb->loc.bucket, sb->loc.prefix[0] ? "/" : "",
		     (int)(sb->loc.prefix[0] ? strlen(sb->loc.prefix) - 1 : 0),
		     sb->loc.prefix) < 0 ||
	    asprintf(&sb->userpwd, "%s:%s", o->access_key, o->secret_key) < 0 ||
	    asprintf(&sb->sigv4, "aws:amz:%s:s3", region) < 0 ||
	    (o->session_token && *o->session_token &&
	     asprintf(&sb->token_hdr, "x-amz-security-token: %s", o->session_token) < 0)) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto fail;
	}
	kura_backend_init(&sb->parent, KURA_BACKEND_VERSION);
	sb->parent.put = s3_put;
	sb->parent.get = s3_get;
	sb->parent.get_range = s3_get_range;
	sb->parent.read_parallel = S3_POOL_MAX; /* a round trip each: keep the pool's handles busy */
	sb->parent.list = s3_list;
	sb->parent.free = s3_free;
	sb->parent.remove = s3_remove;
	sb->parent.mtime = s3_mtime;
	sb->parent.lock = s3_repolock_take;
	sb->parent.unlock = s3_repolock_release;
	*out = sb;
	return 0;
fail:
	s3_free(&sb->parent);
	return err;
}

int kura_backend_s3_open(kura_backend **out, const char *url, const kura_s3_options *o)
{
	s3_backend *sb;
	int err;

	*out = NULL;
	if ((err = s3_new(&sb, url, o)) < 0)
		return err;
	if ((err = s3_lock_load_settings(sb)) < 0 || (err = s3_lock_bucket_floor(sb)) < 0) {
		s3_free(&sb->parent);
		return err;
	}
	*out = &sb->parent;
	return 0;
}

static int seen(const char *name, uint64_t size, void *ctx)
{
	(void)name, (void)size;
	*(bool *)ctx = true;
	return 1;
}

int kura_backend_s3_create(kura_backend **out, const char *url, const kura_s3_options *o)
{
	s3_backend *sb;
	bool has_config = false;
	int err;

	*out = NULL;
	if ((err = s3_new(&sb, url, o)) < 0)
		return err;
	sb->lock_days = o->lock_days ? o->lock_days : KURA_S3_LOCK_DAYS_DEFAULT;
	if (sb->lock_days > 36500) {
		err = kura_error_set(KURA_EINVAL, "%s: a lock of %u days is more than 100 years",
				     url, sb->lock_days);
		goto done;
	}
	if ((err = s3_lock_prepare_bucket(sb, !o->no_object_lock)) < 0)
		goto done;
	if ((err = s3_list(&sb->parent, KURA_FILE_CONFIG, seen, &has_config)) < 0)
		goto done;
	if (has_config) {
		err = kura_error_set(KURA_EEXISTS, "%s already holds a repository", sb->display);
		goto done;
	}
	err = s3_lock_store_settings(sb);
done:
	if (err < 0)
		s3_free(&sb->parent);
	else
		*out = &sb->parent;
	return err;
}

int kura_s3_lock_info(kura_backend *b, bool *out_locking, uint32_t *out_days)
{
	if (!s3_backend_is(b))
		return kura_error_set(KURA_EINVAL, "this repository is not on S3");
	*out_locking = ((s3_backend *)b)->locking;
	*out_days = ((s3_backend *)b)->lock_days;
	return 0;
}
