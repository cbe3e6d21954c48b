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
 * request (s3_lock.c).  get() hashes what it read and refuses bytes that
 * are not the SHA-256 of the name.  list() pages through ListObjectsV2
 * with continuation tokens and reports only names kura could have
 * written.
 *
 * remove() deletes a file's version for good, but only once its lock has
 * run out: a locked file is kept and the call answers KURA_EBUSY with the
 * date its lock ends.  There is no repository lock (S3 has no atomic
 * lock primitive); prune keeps packs younger than its grace (mtime).
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

/*
 * The largest file kura writes: a pack of the largest pack size (1 GiB)
 * plus its last chunk (at most 64 MiB) and its header and trailer, with
 * room to spare; far under the 5 GiB one PUT may carry on AWS and Ceph.
 */
#define FILE_MAX (((size_t)1 << 30) + ((size_t)128 << 20))
#define LIST_PAGE_MAX ((size_t)16 << 20)

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
			 .content_md5 = true,
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
	if (rs.status != 200) {
		err = s3_http_error(sb, &rs, "GET", what);
		goto done;
	}
	kura_sha256(hash, rs.body.data ? rs.body.data : (const uint8_t *)"", rs.body.len);
	kura_hex(hex, hash, sizeof(hash));
	if (strcmp(hex, name) != 0) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: %s: the %zu bytes the store sent do not hash to the name",
				     sb->display, what, rs.body.len);
		goto done;
	}
	if (!rs.body.data && (err = kura_buf_reserve(&rs.body, 1)) < 0)
		goto done;
	*out = kura_buf_detach(&rs.body, out_len);
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
	char *key = NULL;
	int err;

	if ((err = check_args(type, name)) < 0)
		return err;
	if (offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - offset)
		return kura_error_set(KURA_EINVAL, "%s %s: range %llu+%zu is out of bounds",
				      kura_file_type_what(type), name, (unsigned long long)offset,
				      len);
	if (len == 0)
		return 0;
	what_of(what, type, name);
	snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)offset,
		 (unsigned long long)(offset + len - 1));
	if (!(key = s3_url_key(sb, type, name)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
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
	free(key);
	return err;
}

/* ListObjectsV2 of PREFIX/TYPE/, page by page; fn for each valid name. */
static int s3_list(kura_backend *b, kura_file_type type, kura_backend_list_fn fn, void *ctx)
{
	s3_backend *sb = (s3_backend *)b;
	s3_xml_listing page = {0};
	char *dir = NULL, *enc_dir = NULL, *token = NULL, *enc_tok = NULL, *query = NULL;
	size_t dlen;
	int err = 0;

	if ((unsigned)type >= KURA_FILE_TYPES)
		return kura_error_set(KURA_EINVAL, "S3 backend: bad file type %d", (int)type);
	if (asprintf(&dir, "%s%s/", sb->loc.prefix, kura_file_type_name(type)) < 0 ||
	    !(enc_dir = s3_url_encode(dir))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	dlen = strlen(dir);
	for (;;) {
		s3_request rq = {.method = "GET", .max = LIST_PAGE_MAX};
		s3_response rs = {0};
		int rc;

		free(query);
		query = NULL;
		/* canonical order: continuation-token < list-type < prefix */
		rc = token ? asprintf(&query, "continuation-token=%s&list-type=2&prefix=%s",
				      enc_tok, enc_dir)
			   : asprintf(&query, "list-type=2&prefix=%s", enc_dir);
		if (rc < 0) {
			query = NULL;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		rq.query = query;
		if ((err = s3_http_perform(sb, &rq, &rs)) == 0 && rs.status != 200)
			err = s3_http_error(sb, &rs, "GET", "the object listing");
		if (err == 0 && (err = s3_xml_listing_parse(&page, (const char *)rs.body.data,
							    rs.body.len)) < 0)
			kura_error_wrap(err, "%s: listing of %s", sb->display, dir);
		s3_response_free(&rs);
		if (err < 0)
			goto done;
		for (size_t i = 0; i < page.count; i++) {
			const char *k = page.objects[i].key;

			if (strncmp(k, dir, dlen) != 0 || !kura_file_name_is_valid(k + dlen))
				continue; /* not a file kura wrote */
			if ((rc = fn(k + dlen, page.objects[i].size, ctx)) != 0) {
				err = rc < 0 ? rc : 0;
				goto done;
			}
		}
		if (!page.truncated)
			break;
		free(token);
		free(enc_tok);
		token = page.next_token;
		page.next_token = NULL;
		if (!(enc_tok = s3_url_encode(token))) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		s3_xml_listing_free(&page);
	}
done:
	s3_xml_listing_free(&page);
	free(query);
	free(token);
	free(enc_tok);
	free(enc_dir);
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
		if (rs.status != 200)
			err = s3_http_error(sb, &rs, "HEAD", what);
		else if ((t = s3_url_parse_http_date(rs.last_modified)) < 0)
			err = kura_error_set(KURA_ECORRUPT,
					     "%s: %s: Last-Modified \"%.60s\" is not a "
					     "date",
					     sb->display, what, rs.last_modified);
		else
			*out_ns = t * 1000000000;
	}
	s3_response_free(&rs);
	free(key);
	return err;
}

/* Delete the current version for good, if its lock has run out. */
static int s3_remove(kura_backend *b, kura_file_type type, const char *name)
{
	s3_backend *sb = (s3_backend *)b;
	s3_request rq = {.method = "DELETE", .max = 1 << 20};
	s3_response rs = {0};
	char what[96], *key, *enc = NULL, *query = NULL;
	int64_t until;
	int err;

	if ((err = check_args(type, name)) < 0)
		return err;
	what_of(what, type, name);
	if (!(key = s3_url_key(sb, type, name)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = head(sb, key, &rs)) < 0)
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
	if (rs.version_id[0] && strcmp(rs.version_id, "null") != 0) {
		if (!(enc = s3_url_encode(rs.version_id)) ||
		    asprintf(&query, "versionId=%s", enc) < 0) {
			query = NULL;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		rq.query = query;
	}
	rq.key = key;
	if ((err = s3_http_perform(sb, &rq, &rs)) == 0 && rs.status != 204 && rs.status != 200)
		err = s3_http_error(sb, &rs, "DELETE", what);
done:
	s3_response_free(&rs);
	free(query);
	free(enc);
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
	sb->parent.list = s3_list;
	sb->parent.free = s3_free;
	sb->parent.remove = s3_remove;
	sb->parent.mtime = s3_mtime;
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
