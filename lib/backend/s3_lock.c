/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_lock.c - S3 Object Lock for a kura repository (docs/FORMAT.md, "S3
 * layout and Object Lock"): the bucket, the repository's lock settings,
 * and the retention of each file.
 *
 * Invariants:
 *  - a repository created with Object Lock lives in a bucket created
 *    with Object Lock (S3 cannot add it later; Ceph 16.2 refuses to), and
 *    a bucket kura creates also gets a default COMPLIANCE retention of the
 *    lock period, so even an object written without lock headers (by a
 *    multipart upload, which Ceph 16.2 leaves unlocked otherwise, or by a
 *    client that lies) is locked;
 *  - every file kura writes carries COMPLIANCE retention until now + the
 *    lock period, and is read back by a separate request that must show
 *    COMPLIANCE and a date no earlier than asked: a file whose lock cannot
 *    be confirmed is an error, never silently unprotected;
 *  - retention is only ever extended (COMPLIANCE cannot be shortened, by
 *    anyone, which is the point).
 *
 * The lock period lives in PREFIX/kura-s3.json, written once by `kura
 * init` (itself locked); every opening reads it.
 */
#include "s3.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"

#define SETTINGS_NAME "kura-s3.json"
#define SETTINGS_MAX 4096
#define LOCK_DAYS_MAX 36500
#define XML_MAX ((size_t)1 << 20)

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

int s3_lock_confirm(s3_backend *sb, const char *key, const char *version_id, int64_t until,
		    const char *what)
{
	s3_response rs = {0};
	int64_t got;
	int err;

	if ((err = s3_http_on_version(sb, "HEAD", key, version_id, 0, &rs)) < 0)
		goto done;
	if (rs.status != 200) {
		err = s3_http_error(sb, &rs, "HEAD (lock check)", what);
		goto done;
	}
	got = s3_url_parse_iso8601(rs.retain_until);
	if (strcmp(rs.lock_mode, "COMPLIANCE") != 0 || got < until - 1)
		err =
		    kura_error_set(KURA_EIO,
				   "%s: %s was stored but its Object Lock could not be confirmed: "
				   "the store says mode \"%s\" until \"%s\", kura asked for "
				   "COMPLIANCE for %u days",
				   sb->display, what, rs.lock_mode, rs.retain_until, sb->lock_days);
done:
	s3_response_free(&rs);
	return err;
}

/* GET ?object-lock: 1 locked bucket, 0 bucket without lock, KURA_ENOTFOUND no bucket. */
/*
 * GET ?object-lock: 1 locked bucket, 0 bucket without lock, KURA_ENOTFOUND
 * no bucket.  *out_days (may be NULL): the bucket's default COMPLIANCE
 * retention in days, 0 if it has none.
 */
static int bucket_lock_state(s3_backend *sb, uint32_t *out_days)
{
	s3_request rq = {.method = "GET", .query = "object-lock=", .max = XML_MAX};
	s3_response rs = {0};
	char code[128] = "", enabled[32] = "", mode[32] = "", num[16] = "";
	int err;

	if (out_days)
		*out_days = 0;

	if ((err = s3_http_perform(sb, &rq, &rs)) < 0)
		goto done;
	if (rs.body.len && s3_xml_find(code, sizeof(code), (const char *)rs.body.data, rs.body.len,
				       "Error/Code") < 0)
		kura_error_clear();
	if (rs.status == 200) {
		(void)s3_xml_find(enabled, sizeof(enabled), (const char *)rs.body.data, rs.body.len,
				  "ObjectLockConfiguration/ObjectLockEnabled");
		err = strcmp(enabled, "Enabled") == 0;
		if (out_days &&
		    s3_xml_find(mode, sizeof(mode), (const char *)rs.body.data, rs.body.len,
				"ObjectLockConfiguration/Rule/DefaultRetention/Mode") == 0 &&
		    strcmp(mode, "COMPLIANCE") == 0) {
			long v = 0;

			if (s3_xml_find(num, sizeof(num), (const char *)rs.body.data, rs.body.len,
					"ObjectLockConfiguration/Rule/DefaultRetention/Days") == 0)
				v = strtol(num, NULL, 10);
			else if (s3_xml_find(
				     num, sizeof(num), (const char *)rs.body.data, rs.body.len,
				     "ObjectLockConfiguration/Rule/DefaultRetention/Years") == 0)
				v = strtol(num, NULL, 10) * 365;
			if (v > 0 && v <= LOCK_DAYS_MAX)
				*out_days = (uint32_t)v;
		}
		kura_error_clear();
	} else if (rs.status == 404 && strcmp(code, "NoSuchBucket") == 0) {
		err = kura_error_set(KURA_ENOTFOUND, "%s: bucket %s does not exist", sb->display,
				     sb->loc.bucket);
	} else if (rs.status == 404) {
		err = 0; /* ObjectLockConfigurationNotFoundError: a bucket without lock */
	} else
		err = s3_http_error(sb, &rs, "GET", "the bucket's Object Lock configuration");
done:
	s3_response_free(&rs);
	return err;
}

static int put_xml(s3_backend *sb, const char *key, const char *query, const char *xml,
		   const char *what)
{
	s3_request rq = {.method = "PUT",
			 .key = key,
			 .query = query,
			 .body = (const uint8_t *)xml,
			 .body_len = strlen(xml),
			 .content_md5 = true,
			 .max = XML_MAX};
	s3_response rs = {0};
	int err;

	if ((err = s3_http_perform(sb, &rq, &rs)) == 0 && rs.status != 200)
		err = s3_http_error(sb, &rs, "PUT", what);
	s3_response_free(&rs);
	return err;
}

static int bucket_create(s3_backend *sb, bool lock)
{
	const char *hdr[] = {"x-amz-bucket-object-lock-enabled: true", NULL};
	s3_request rq = {.method = "PUT", .headers = lock ? hdr : NULL, .max = XML_MAX};
	s3_response rs = {0};
	char xml[256];
	int err;

	if ((err = s3_http_perform(sb, &rq, &rs)) < 0)
		goto done;
	if (rs.status != 200) {
		err = s3_http_error(sb, &rs, "PUT", "the new bucket");
		goto done;
	}
	if (lock) {
		/* the store's own policy: what no client sends a lock for is locked anyway */
		snprintf(
		    xml, sizeof(xml),
		    "<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		    "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
		    "<Mode>COMPLIANCE</Mode><Days>%u</Days></DefaultRetention></Rule>"
		    "</ObjectLockConfiguration>",
		    sb->lock_days);
		err = put_xml(sb, NULL, "object-lock=", xml, "the bucket's default retention");
	}
done:
	s3_response_free(&rs);
	return err;
}

int s3_lock_prepare_bucket(s3_backend *sb, bool want_lock)
{
	int state = bucket_lock_state(sb, NULL);

	if (state == KURA_ENOTFOUND) {
		kura_error_clear();
		if ((state = bucket_create(sb, want_lock)) < 0)
			return state;
		state = bucket_lock_state(sb, NULL);
	}
	if (state < 0)
		return state;
	if (want_lock && state == 0)
		return kura_error_set(
		    KURA_EUNSUPPORTED,
		    "%s: bucket %s has no Object Lock, and S3 cannot add it to an "
		    "existing bucket: name a new bucket (kura creates it with "
		    "Object Lock), or give --no-object-lock to keep backups there "
		    "unprotected",
		    sb->display, sb->loc.bucket);
	sb->locking = state == 1 || want_lock;
	return 0;
}

/* The settings in `body`, into sb; KURA_ECORRUPT (no message) if they are not. */
static int settings_parse(s3_backend *sb, const uint8_t *body, size_t len)
{
	json_error_t jerr;
	json_t *j, *days, *lock;
	int err = 0;

	j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	days = json_object_get(j, "lock_days");
	lock = json_object_get(j, "object_lock");
	if (!json_is_object(j) || json_integer_value(json_object_get(j, "format")) != 1 ||
	    !json_is_boolean(lock) || !json_is_integer(days) || json_integer_value(days) < 1 ||
	    json_integer_value(days) > LOCK_DAYS_MAX)
		err = KURA_ECORRUPT;
	else {
		sb->lock_days = (uint32_t)json_integer_value(days);
		/* a bucket with Object Lock always gets locked files, whatever the file says */
		sb->locking = json_is_true(lock) || sb->locking;
	}
	json_decref(j);
	return err;
}

/*
 * The current settings were missing or junk: a thief with the writer's
 * keys may have hidden or overwritten them.  The oldest version that
 * parses (the one kura init wrote) is used; 0 if one did.
 */
static int settings_from_versions(s3_backend *sb, const char *key)
{
	s3_key_versions *kv = NULL;
	int err = KURA_ENOTFOUND;

	if (s3_versions_of(sb, key, &kv) < 0) {
		kura_error_clear();
		return KURA_ENOTFOUND;
	}
	for (size_t i = kv->n; i-- > 0 && err != 0;) {
		s3_response rs = {0};

		if (kv->v[i].marker)
			continue;
		if (s3_http_on_version(sb, "GET", key, kv->v[i].version_id, SETTINGS_MAX, &rs) ==
			0 &&
		    rs.status == 200 && settings_parse(sb, rs.body.data, rs.body.len) == 0)
			err = 0;
		kura_error_clear();
		s3_response_free(&rs);
	}
	s3_key_versions_free(kv);
	return err;
}

int s3_lock_load_settings(s3_backend *sb)
{
	s3_request rq = {.method = "GET", .max = SETTINGS_MAX};
	s3_response rs = {0};
	char *key = NULL;
	int err;

	if (asprintf(&key, "%s%s", sb->loc.prefix, SETTINGS_NAME) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	rq.key = key;
	if ((err = s3_http_perform(sb, &rq, &rs)) < 0)
		goto done;
	if (rs.status != 200 && rs.status != 404) {
		err = s3_http_error(sb, &rs, "GET", SETTINGS_NAME);
		goto done;
	}
	if (rs.status == 200 && settings_parse(sb, rs.body.data, rs.body.len) == 0)
		goto done;
	if (settings_from_versions(sb, key) == 0)
		goto done;
	if (rs.status == 404)
		err =
		    kura_error_set(KURA_ENOTFOUND, "%s: no kura repository here (%s%s is missing)",
				   sb->display, sb->loc.prefix, SETTINGS_NAME);
	else
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: %s%s is not kura's lock settings (want {\"format\": 1, "
				     "\"object_lock\": true|false, \"lock_days\": 1..%d}), and no "
				     "older version of it is",
				     sb->display, sb->loc.prefix, SETTINGS_NAME, LOCK_DAYS_MAX);
done:
	s3_response_free(&rs);
	free(key);
	return err;
}

int s3_lock_store_settings(s3_backend *sb)
{
	char body[128], until_s[32], hdr_until[80];
	const char *hdrs[] = {"x-amz-object-lock-mode: COMPLIANCE", hdr_until, NULL};
	s3_request rq = {.method = "PUT", .content_md5 = true, .max = XML_MAX};
	s3_response rs = {0};
	char *key = NULL;
	int64_t until = now_s() + (int64_t)sb->lock_days * 86400;
	int err;

	snprintf(body, sizeof(body), "{\"format\": 1, \"object_lock\": %s, \"lock_days\": %u}\n",
		 sb->locking ? "true" : "false", sb->lock_days);
	s3_url_iso8601(until_s, until);
	snprintf(hdr_until, sizeof(hdr_until), "x-amz-object-lock-retain-until-date: %s", until_s);
	if (asprintf(&key, "%s%s", sb->loc.prefix, SETTINGS_NAME) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	rq.key = key;
	rq.body = (const uint8_t *)body;
	rq.body_len = strlen(body);
	rq.headers = sb->locking ? hdrs : NULL;
	if ((err = s3_http_perform(sb, &rq, &rs)) < 0)
		goto done;
	if (rs.status != 200) {
		err = s3_http_error(sb, &rs, "PUT", SETTINGS_NAME);
		goto done;
	}
	if (sb->locking)
		err = s3_lock_confirm(sb, key, rs.version_id, until, SETTINGS_NAME);
done:
	s3_response_free(&rs);
	free(key);
	return err;
}

/* GET ?retention of the current version: its COMPLIANCE date, or -1. */
static int retention_get(s3_backend *sb, const char *key, const char *what, int64_t *out)
{
	s3_request rq = {.method = "GET", .key = key, .query = "retention=", .max = XML_MAX};
	s3_response rs = {0};
	char mode[32] = "", date[128] = "";
	int err;

	*out = -1;
	if ((err = s3_http_perform(sb, &rq, &rs)) < 0)
		goto done;
	if (rs.status != 200) {
		err = s3_http_error(sb, &rs, "GET ?retention", what);
		goto done;
	}
	if ((err = s3_xml_find(mode, sizeof(mode), (const char *)rs.body.data, rs.body.len,
			       "Retention/Mode")) < 0 &&
	    err != KURA_ENOTFOUND)
		goto done;
	if ((err = s3_xml_find(date, sizeof(date), (const char *)rs.body.data, rs.body.len,
			       "Retention/RetainUntilDate")) < 0 &&
	    err != KURA_ENOTFOUND)
		goto done;
	err = 0;
	if (strcmp(mode, "COMPLIANCE") == 0)
		*out = s3_url_parse_iso8601(date);
done:
	s3_response_free(&rs);
	return err;
}

int s3_lock_extend(s3_backend *sb, const char *key, int64_t until, const char *what,
		   int64_t *out_until)
{
	char xml[320], until_s[32];
	int64_t got;
	int err;

	*out_until = -1;
	s3_url_iso8601(until_s, until);
	snprintf(xml, sizeof(xml),
		 "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>COMPLIANCE"
		 "</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>",
		 until_s);
	err = put_xml(sb, key, "retention=", xml, what);
	/* a lock already longer than asked cannot be shortened: that is fine */
	if (err < 0 && err != KURA_EDENIED)
		return err;
	kura_error_clear();
	if ((err = retention_get(sb, key, what, &got)) < 0)
		return err;
	if (got < until - 1)
		return kura_error_set(
		    KURA_EIO,
		    "%s: %s: the lock could not be extended to %s: the store says "
		    "COMPLIANCE until %lld",
		    sb->display, what, until_s, (long long)got);
	*out_until = got;
	return 0;
}

int s3_lock_bucket_floor(s3_backend *sb)
{
	uint32_t days;
	int state = bucket_lock_state(sb, &days);

	if (state == KURA_EDENIED) {
		/* a credential that may not read the bucket's configuration: the file rules */
		kura_error_clear();
		return 0;
	}
	if (state < 0)
		return state;
	if (state == 1)
		sb->locking = true;
	/* a lock settings file rewritten shorter (a new version by any writer)
	 * never undercuts the bucket's own default retention */
	if (days > sb->lock_days)
		sb->lock_days = days;
	return 0;
}
