/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_url.c - S3 locations and the strings requests are made of.
 *
 * A location is "s3://BUCKET[/PREFIX]" (the endpoint comes from the
 * caller: AWS_ENDPOINT_URL for the command line) or, as restic writes it,
 * "s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX]".  The bucket follows S3's
 * naming rules (3-63 of a-z 0-9 . -); the prefix takes only A-Z a-z 0-9
 * . _ - and '/' between non-empty parts, so that every object key kura
 * builds needs no escaping and no ".." ever reaches a URL.  Addressing is
 * path-style (HOST/BUCKET/KEY, what Ceph RGW and MinIO expect) unless
 * virtual-host style (BUCKET.HOST/KEY) is asked for.
 *
 * Also here: AWS URI encoding for query values (libcurl signs the query
 * as it is sent, so it must already be canonical) and the two date forms
 * S3 uses (ISO 8601 with a fraction of any length, as Ceph sends
 * nanoseconds; HTTP dates for Last-Modified).
 */
#include "s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"

bool s3_url_is_s3(const char *url)
{
	return url && (strncmp(url, "s3://", 5) == 0 || strncmp(url, "s3:http://", 10) == 0 ||
		       strncmp(url, "s3:https://", 11) == 0);
}

static bool bucket_ok(const char *b, size_t n)
{
	if (n < 3 || n > S3_BUCKET_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return b[0] != '.' && b[0] != '-' && b[n - 1] != '.' && b[n - 1] != '-';
}

/* A prefix "a/b" (slashes at either end are dropped) into "a/b/". */
static int prefix_set(s3_location *out, const char *p, const char *url)
{
	size_t n, part = 0;

	while (*p == '/')
		p++;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n == 0)
		return 0;
	if (n + 1 > S3_PREFIX_MAX)
		return kura_error_set(KURA_EINVAL, "%s: the prefix is longer than %d characters",
				      url, S3_PREFIX_MAX - 1);
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? p[i] : '/';

		if (c == '/') {
			if (part == 0 || (part == 1 && p[i - 1] == '.') ||
			    (part == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
				return kura_error_set(
				    KURA_EINVAL, "%s: the prefix has an empty, '.' or '..' part",
				    url);
			part = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return kura_error_set(KURA_EINVAL,
					      "%s: the prefix may hold only letters, digits, '.', "
					      "'_', '-' and '/'",
					      url);
		part++;
	}
	memcpy(out->prefix, p, n);
	out->prefix[n] = '/';
	out->prefix[n + 1] = '\0';
	return 0;
}

/* "http(s)://HOST[:PORT][/]" into scheme and host. */
static int endpoint_set(s3_location *out, const char *ep, size_t len, const char *url)
{
	const char *h;
	size_t hn;

	if (len >= 7 && strncmp(ep, "http://", 7) == 0) {
		strcpy(out->scheme, "http");
		h = ep + 7;
	} else if (len >= 8 && strncmp(ep, "https://", 8) == 0) {
		strcpy(out->scheme, "https");
		h = ep + 8;
	} else
		return kura_error_set(
		    KURA_EINVAL, "%s: the S3 endpoint must start with http:// or https://", url);
	hn = len - (size_t)(h - ep);
	while (hn > 0 && h[hn - 1] == '/')
		hn--;
	if (hn == 0 || hn >= sizeof(out->host))
		return kura_error_set(KURA_EINVAL, "%s: the S3 endpoint has no usable host", url);
	for (size_t i = 0; i < hn; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
			return kura_error_set(
			    KURA_EINVAL,
			    "%s: the S3 endpoint's host \"%.*s\" holds a character "
			    "a host name cannot",
			    url, (int)hn, h);
	}
	memcpy(out->host, h, hn);
	out->host[hn] = '\0';
	return 0;
}

int s3_url_parse(s3_location *out, const char *url, const char *endpoint, bool virtual_host)
{
	const char *rest, *slash;
	int err;

	memset(out, 0, sizeof(*out));
	out->virtual_host = virtual_host;
	if (!url)
		return kura_error_set(KURA_EINVAL, "no S3 location given");
	if (strncmp(url, "s3://", 5) == 0) {
		if (!endpoint || !*endpoint)
			return kura_error_set(
			    KURA_EINVAL,
			    "%s: no S3 endpoint given (set AWS_ENDPOINT_URL, or "
			    "write the location as s3:https://HOST/BUCKET/PREFIX)",
			    url);
		if ((err = endpoint_set(out, endpoint, strlen(endpoint), url)) < 0)
			return err;
		rest = url + 5;
	} else if (strncmp(url, "s3:http://", 10) == 0 || strncmp(url, "s3:https://", 11) == 0) {
		const char *h = url + 3 + (url[7] == 's' ? 8 : 7);

		if (!(slash = strchr(h, '/')))
			return kura_error_set(KURA_EINVAL, "%s: no bucket after the host", url);
		if ((err = endpoint_set(out, url + 3, (size_t)(slash - (url + 3)), url)) < 0)
			return err;
		rest = slash + 1;
	} else
		return kura_error_set(KURA_EINVAL,
				      "%s: not an S3 location (s3://BUCKET/PREFIX or "
				      "s3:https://HOST/BUCKET/PREFIX)",
				      url);
	slash = strchr(rest, '/');
	{
		size_t bn = slash ? (size_t)(slash - rest) : strlen(rest);

		if (!bucket_ok(rest, bn))
			return kura_error_set(KURA_EINVAL,
					      "%s: \"%.*s\" is not a valid bucket name (3-63 of "
					      "a-z, 0-9, '.' and '-')",
					      url, (int)(bn > 80 ? 80 : bn), rest);
		memcpy(out->bucket, rest, bn);
		out->bucket[bn] = '\0';
	}
	return slash ? prefix_set(out, slash + 1, url) : 0;
}

char *s3_url_key(const s3_backend *sb, kura_file_type type, const char *name)
{
	char *k = NULL;

	if (asprintf(&k, "%s%s/%s", sb->loc.prefix, kura_file_type_name(type), name) < 0)
		return NULL;
	return k;
}

char *s3_url_for(const s3_location *loc, const char *key, const char *query)
{
	char *u = NULL;
	const char *q = query && *query ? "?" : "";
	int rc;

	if (!query)
		query = "";
	if (loc->virtual_host)
		rc = asprintf(&u, "%s://%s.%s/%s%s%s", loc->scheme, loc->bucket, loc->host,
			      key ? key : "", q, query);
	else
		rc = asprintf(&u, "%s://%s/%s%s%s%s%s", loc->scheme, loc->host, loc->bucket,
			      key ? "/" : "", key ? key : "", q, query);
	return rc < 0 ? NULL : u;
}

char *s3_url_encode(const char *in)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(in);
	char *out = malloc(n * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		unsigned char c = *p;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

int s3_url_version_query(const char *version_id, char **out)
{
	char *enc = s3_url_encode(version_id);

	if (!enc || asprintf(out, "versionId=%s", enc) < 0) {
		*out = NULL;
		free(enc);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	free(enc);
	return 0;
}

void s3_url_iso8601(char out[32], int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t s3_url_parse_iso8601(const char *s)
{
	struct tm tm = {0};
	const char *p;

	if (!s || !(p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -1;
	return (int64_t)timegm(&tm);
}

int64_t s3_url_parse_http_date(const char *s)
{
	struct tm tm = {0};
	const char *p;

	if (!s || !(p = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm)) || *p)
		return -1;
	return (int64_t)timegm(&tm);
}
