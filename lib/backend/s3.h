/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3.h - what the S3 backend's files share (private to lib/backend):
 * s3.c (the slots), s3_http.c (one signed request, with retries), s3_url.c
 * (locations, keys, query strings, dates), s3_xml.c (the store's XML
 * answers), s3_lock.c (Object Lock: buckets, retention, extension) and
 * s3_versions.c (versions: seeing through overwrites and delete markers).
 */
#ifndef KURA_S3_H
#define KURA_S3_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "kura/sys/backend.h"

#define S3_POOL_MAX 16
#define S3_BUCKET_MAX 63
#define S3_PREFIX_MAX 512
#define S3_TEXT_MAX 1024 /* the longest XML text or header value we keep */
/*
 * The largest file kura writes: a pack of the largest pack size (1 GiB)
 * plus its last chunk (at most 64 MiB) and its header and trailer, with
 * room to spare; far under the 5 GiB one PUT may carry on AWS and Ceph.
 */
#define S3_FILE_MAX (((size_t)1 << 30) + ((size_t)128 << 20))

/* An attacked key and, once found, the version whose bytes hash to its name. */
typedef struct {
	char *key;
	char *version_id; /* NULL until a read looked for it */
} s3_pin;

/* A parsed location: where the bucket is and how to address it. */
typedef struct {
	char scheme[8]; /* "http" or "https" */
	char host[256]; /* "HOST" or "HOST:PORT" */
	char bucket[S3_BUCKET_MAX + 1];
	char prefix[S3_PREFIX_MAX + 1]; /* "" or "a/b/" (always ends with '/') */
	bool virtual_host;		/* BUCKET.HOST/KEY instead of HOST/BUCKET/KEY */
} s3_location;

/* One opened repository on S3. */
typedef struct {
	kura_backend parent;
	s3_location loc;
	char *display;	 /* "s3:http://HOST/BUCKET/PREFIX", for messages */
	char *userpwd;	 /* "ACCESS:SECRET" for CURLOPT_USERPWD (wiped on free) */
	char *sigv4;	 /* "aws:amz:REGION:s3" */
	char *token_hdr; /* "x-amz-security-token: ..." or NULL */
	bool locking;	 /* every file gets COMPLIANCE retention */
	uint32_t lock_days;
	pthread_mutex_t lock; /* protects pool and pooled */
	CURL *pool[S3_POOL_MAX];
	size_t pooled;
	pthread_mutex_t pin_lock; /* protects pins, npins, scanned */
	s3_pin *pins;
	size_t npins;
	bool scanned[KURA_FILE_TYPES]; /* a version listing of the type noted its attacked keys */
} s3_backend;

/* One request. */
typedef struct {
	const char *method;  /* GET HEAD PUT POST DELETE */
	const char *key;     /* object key below the bucket, or NULL for the bucket */
	const char *query;   /* canonical query (sorted, k=v, encoded) or NULL */
	const uint8_t *body; /* PUT/POST body or NULL */
	size_t body_len;
	const char *body_sha256;    /* hex SHA-256 of body if known (else computed) */
	bool content_md5;	    /* send Content-MD5 of the body */
	bool checksum_sha256;	    /* send x-amz-checksum-sha256 from body_sha256 (no rehash) */
	const char *const *headers; /* extra "Name: value" headers, NULL-terminated, or NULL */
	const char *range;	    /* "A-B" or NULL */
	uint8_t *fixed;		    /* a 206 body goes here (get_range) ... */
	size_t fixed_len;	    /* ... of this size */
	size_t max;		    /* the most body taken into `body` of the response */
} s3_request;

typedef struct {
	long status;
	kura_buf body; /* the answer's body (bounded by max; errors: their XML) */
	size_t fixed_got;
	bool too_long;
	char version_id[S3_TEXT_MAX];
	char lock_mode[64];
	char retain_until[128];
	char last_modified[128];
	CURL *h; /* during the request */
	bool decided, to_fixed;
	int alloc_err;
} s3_response;

/* s3_http.c */
int s3_http_ready(void);
/* 0 whenever the store answered (rs->status says what); a negative code
 * when no answer came after the retries (transport) or memory ran out. */
int s3_http_perform(s3_backend *sb, const s3_request *rq, s3_response *rs);
void s3_response_free(s3_response *rs);
/* The store's answer as a KURA_E* code and a message naming `what`. */
int s3_http_error(const s3_backend *sb, const s3_response *rs, const char *method,
		  const char *what);
/*
 * `method` on one version of `key` (version_id NULL, "" or "null": the
 * key itself, an unversioned bucket's only version), taking at most `max`
 * bytes of body; as s3_http_perform.
 */
int s3_http_on_version(s3_backend *sb, const char *method, const char *key, const char *version_id,
		       size_t max, s3_response *rs);

/* s3_url.c */
int s3_url_parse(s3_location *out, const char *url, const char *endpoint, bool virtual_host);
bool s3_url_is_s3(const char *url);
/* "PREFIX" + "TYPE/NAME", malloc'd; NULL when out of memory. */
char *s3_url_key(const s3_backend *sb, kura_file_type type, const char *name);
/* The request URL of `key` (NULL: the bucket) with `query`; malloc'd. */
char *s3_url_for(const s3_location *loc, const char *key, const char *query);
/* AWS URI encoding of `in` (everything but A-Za-z0-9-_.~); malloc'd. */
char *s3_url_encode(const char *in);
/* The query "versionId=V" (V URI-encoded) naming one version; *out malloc'd.  KURA_ENOMEM. */
int s3_url_version_query(const char *version_id, char **out);
/* "YYYY-MM-DDTHH:MM:SSZ" for the epoch second t. */
void s3_url_iso8601(char out[32], int64_t t);
/* An ISO 8601 UTC date with any fraction ("...T..:..:..[.nnn]Z") as epoch
 * seconds (fraction dropped); -1 if it is not one. */
int64_t s3_url_parse_iso8601(const char *s);
/* An HTTP date ("Wed, 02 Dec 2026 13:00:00 GMT") as epoch seconds; -1 if not. */
int64_t s3_url_parse_http_date(const char *s);

/* s3_xml.c */
typedef struct {
	char *key;
	uint64_t size;
	int64_t modified; /* LastModified, epoch seconds; -1 if not sent */
} s3_xml_object;

typedef struct {
	s3_xml_object *objects;
	size_t count, cap;
	bool truncated;
	char *next_token; /* NextContinuationToken, or NULL */
} s3_xml_listing;

/* One entry of a ListObjectVersions page: a version or a delete marker. */
typedef struct {
	char *key;
	char *version_id;
	char etag[80]; /* as sent, quotes included; "" for a delete marker */
	uint64_t size;
	int64_t modified; /* LastModified, epoch seconds */
	bool latest;
	bool marker; /* a delete marker: no bytes, hides the versions below it */
} s3_xml_version;

typedef struct {
	s3_xml_version *items;
	size_t count, cap;
	bool truncated;
	char *next_key;	    /* NextKeyMarker, or NULL */
	char *next_version; /* NextVersionIdMarker, or NULL */
} s3_xml_versions;

/* A ListObjectVersions page, entries in the store's order (per key newest
 * first); KURA_ECORRUPT naming what is wrong. */
int s3_xml_versions_parse(s3_xml_versions *out, const char *xml, size_t len);
void s3_xml_versions_free(s3_xml_versions *v);

/* A ListObjectsV2 answer; KURA_ECORRUPT naming what is wrong. */
int s3_xml_listing_parse(s3_xml_listing *out, const char *xml, size_t len);
void s3_xml_listing_free(s3_xml_listing *l);
/*
 * The text of the first element at `path` ("Error/Code", root element
 * first) into out (NUL-terminated, cut at out_size - 1).  0 if found,
 * KURA_ENOTFOUND if not, KURA_ECORRUPT if the XML is not well-formed.
 */
int s3_xml_find(char *out, size_t out_size, const char *xml, size_t len, const char *path);

/* s3_lock.c */
/* PUT with COMPLIANCE retention was done; confirm it by a separate request. */
int s3_lock_confirm(s3_backend *sb, const char *key, const char *version_id, int64_t until,
		    const char *what);
/* Create the bucket with Object Lock (or check an existing one). */
int s3_lock_prepare_bucket(s3_backend *sb, bool want_lock);
/* Read or write the repository's lock settings object (PREFIX/kura-s3.json). */
int s3_lock_load_settings(s3_backend *sb);
int s3_lock_store_settings(s3_backend *sb);
/* After the settings: a bucket with Object Lock always locks, and for no
 * less than its default COMPLIANCE retention. */
int s3_lock_bucket_floor(s3_backend *sb);
/* Set COMPLIANCE retention until `until` on the current version of `key`, confirm it. */
int s3_lock_extend(s3_backend *sb, const char *key, int64_t until, const char *what,
		   int64_t *out_until);

/* s3_versions.c */
/* One key's versions and delete markers, newest first. */
typedef struct {
	const char *key;
	s3_xml_version *v;
	size_t n;
} s3_key_versions;

#define S3_KEY_HIDDEN 1u      /* the current version is a delete marker */
#define S3_KEY_OVERWRITTEN 2u /* the newest stored version has other bytes than the oldest */

typedef int (*s3_versions_fn)(const s3_key_versions *kv, void *ctx);
/* ListObjectVersions of everything under `prefix`, one call of fn per key
 * (non-zero stops; negative is passed back). */
int s3_versions_walk(s3_backend *sb, const char *prefix, s3_versions_fn fn, void *ctx);
/* S3_KEY_* flags of what was done to the key; 0: as kura wrote it. */
unsigned s3_key_attacks(const s3_key_versions *kv);
/* The oldest stored version (not a marker), or NULL. */
const s3_xml_version *s3_key_oldest(const s3_key_versions *kv);
/* The versions of exactly `key` (*out: s3_key_versions_free); KURA_ENOTFOUND if none. */
int s3_versions_of(s3_backend *sb, const char *key, s3_key_versions **out);
s3_key_versions *s3_key_versions_dup(const s3_key_versions *kv);
void s3_key_versions_free(s3_key_versions *kv);
/*
 * The oldest version of kv whose bytes hash to `name`: its id (*out_id,
 * malloc'd) and, if out is not NULL, its bytes.  KURA_ECORRUPT if none does.
 */
int s3_versions_good(s3_backend *sb, const s3_key_versions *kv, const char *name, char **out_id,
		     uint8_t **out, size_t *out_len);
/* Remember kv's key as attacked (if it is), so that reads pin it. */
int s3_versions_note(s3_backend *sb, const s3_key_versions *kv);
/* Note the attacked keys of `type` by one version listing, once per opening. */
int s3_versions_scan(s3_backend *sb, kura_file_type type);
/* For an attacked key: the id of its version that hashes to `name`
 * (*out_id malloc'd); *out_id NULL for a key not known to be attacked. */
int s3_versions_pin(s3_backend *sb, const char *key, const char *name, char **out_id);
void s3_versions_free_pins(s3_backend *sb);

/* s3_repolock.c: the lock slots (docs/FORMAT.md, "Backups and prunes") */
int s3_repolock_take(kura_backend *b, kura_lock_mode mode, int64_t wait_ms,
		     kura_backend_lock **out);
void s3_repolock_release(kura_backend *b, kura_backend_lock *lock);

/* s3.c */
bool s3_backend_is(const kura_backend *b);

#endif
