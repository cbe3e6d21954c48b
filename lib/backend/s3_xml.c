/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_xml.c - the XML an S3 store answers with, parsed with expat: a
 * ListObjectsV2 page (keys, sizes, the continuation token), a
 * ListObjectVersions page (versions and delete markers, the markers of
 * the next page) and the one
 * text a caller wants from anything else (an error's Code and Message, a
 * retention's Mode and RetainUntilDate, a bucket's ObjectLockEnabled).
 *
 * The answer is hostile input: a document with a DOCTYPE is refused
 * (no entity may expand), every text kept is bounded (S3_TEXT_MAX), the
 * nesting is bounded, and a listing entry without a key or with a size
 * that is not a number makes the page KURA_ECORRUPT rather than a guess.
 * Namespaces are ignored: AWS sends one, Ceph sends the same, a test
 * server may send none, and the element names are what matters.
 */
#include "s3.h"

#include <expat.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define DEPTH_MAX 16

typedef struct {
	XML_Parser p;
	const char *names[DEPTH_MAX]; /* element names from the root, borrowed from expat */
	char *owned[DEPTH_MAX];
	int depth; /* may pass DEPTH_MAX: deeper elements are ignored */
	char text[S3_TEXT_MAX + 1];
	size_t text_len;
	bool text_long;
	const char *problem;
	/* s3_xml_find */
	const char *path;
	bool found;
	char *out;
	size_t out_size;
	/* listing */
	s3_xml_listing *listing;
	char *cur_key;
	uint64_t cur_size;
	int64_t cur_modified;
	bool cur_has_size;
	/* versions */
	s3_xml_versions *versions;
	s3_xml_version cur_v;
	bool cur_v_has_key, cur_v_has_id;
} xml_state;

/* The local part of "ns name" (expat with a namespace separator) or "p:name". */
static const char *local_name(const char *name)
{
	const char *s = strrchr(name, ' ');

	if (s)
		return s + 1;
	s = strchr(name, ':');
	return s ? s + 1 : name;
}

static void stop(xml_state *st, const char *why)
{
	if (!st->problem)
		st->problem = why;
	XML_StopParser(st->p, XML_FALSE);
}

/* Is the element stack exactly `path` ("A/B/C")? */
static bool at_path(const xml_state *st, const char *path)
{
	const char *p = path;

	if (st->depth > DEPTH_MAX)
		return false;
	for (int i = 0; i < st->depth; i++) {
		size_t n = strlen(st->names[i]);

		if (strncmp(p, st->names[i], n) != 0)
			return false;
		p += n;
		if (i + 1 < st->depth) {
			if (*p != '/')
				return false;
			p++;
		}
	}
	return *p == '\0';
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	xml_state *st = ud;

	if (st->depth < DEPTH_MAX) {
		st->owned[st->depth] = strdup(local_name(name));
		if (!st->owned[st->depth]) {
			stop(st, "out of memory");
			return;
		}
		st->names[st->depth] = st->owned[st->depth];
	}
	st->depth++;
	st->text_len = 0;
	st->text_long = false;
	if (st->listing && at_path(st, "ListBucketResult/Contents")) {
		free(st->cur_key);
		st->cur_key = NULL;
		st->cur_has_size = false;
		st->cur_modified = -1;
	}
	if (st->versions && (at_path(st, "ListVersionsResult/Version") ||
			     at_path(st, "ListVersionsResult/DeleteMarker"))) {
		free(st->cur_v.key);
		free(st->cur_v.version_id);
		memset(&st->cur_v, 0, sizeof(st->cur_v));
		st->cur_v.modified = -1;
		st->cur_v.marker = at_path(st, "ListVersionsResult/DeleteMarker");
	}
}

static int parse_u64(uint64_t *out, const char *s)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	*out = strtoull(s, &end, 10);
	return *end == '\0' ? 0 : -1;
}

static void listing_end(xml_state *st)
{
	s3_xml_listing *l = st->listing;

	if (at_path(st, "ListBucketResult/Contents/Key")) {
		if (st->text_long)
			return stop(st, "a listed key is too long");
		free(st->cur_key);
		if (!(st->cur_key = strdup(st->text)))
			stop(st, "out of memory");
	} else if (at_path(st, "ListBucketResult/Contents/Size")) {
		if (parse_u64(&st->cur_size, st->text) < 0)
			return stop(st, "a listed size is not a number");
		st->cur_has_size = true;
	} else if (at_path(st, "ListBucketResult/Contents/LastModified")) {
		if ((st->cur_modified = s3_url_parse_iso8601(st->text)) < 0)
			return stop(st, "a listed LastModified is not a date");
	} else if (at_path(st, "ListBucketResult/Contents")) {
		if (!st->cur_key || !st->cur_has_size)
			return stop(st, "a listed object has no Key or no Size");
		if (l->count == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 256;
			s3_xml_object *v = realloc(l->objects, cap * sizeof(*v));

			if (!v)
				return stop(st, "out of memory");
			l->objects = v;
			l->cap = cap;
		}
		l->objects[l->count].key = st->cur_key;
		l->objects[l->count].size = st->cur_size;
		l->objects[l->count].modified = st->cur_modified;
		l->count++;
		st->cur_key = NULL;
	} else if (at_path(st, "ListBucketResult/IsTruncated")) {
		if (strcmp(st->text, "true") == 0)
			l->truncated = true;
		else if (strcmp(st->text, "false") == 0)
			l->truncated = false;
		else
			stop(st, "IsTruncated is neither true nor false");
	} else if (at_path(st, "ListBucketResult/NextContinuationToken")) {
		if (st->text_long || !st->text[0])
			return stop(st, "NextContinuationToken is empty or too long");
		free(l->next_token);
		if (!(l->next_token = strdup(st->text)))
			stop(st, "out of memory");
	}
}

static int take_text(xml_state *st, char **out, const char *what)
{
	if (st->text_long || !st->text[0]) {
		stop(st, what);
		return -1;
	}
	free(*out);
	if (!(*out = strdup(st->text))) {
		stop(st, "out of memory");
		return -1;
	}
	return 0;
}

static void versions_entry_end(xml_state *st)
{
	s3_xml_versions *l = st->versions;
	s3_xml_version *v = &st->cur_v;

	if (!v->key || !v->version_id || v->modified < 0)
		return stop(st, "a listed version has no Key, VersionId or LastModified");
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		s3_xml_version *n = realloc(l->items, cap * sizeof(*n));

		if (!n)
			return stop(st, "out of memory");
		l->items = n;
		l->cap = cap;
	}
	l->items[l->count++] = *v;
	memset(v, 0, sizeof(*v));
}

static void versions_end(xml_state *st)
{
	s3_xml_versions *l = st->versions;
	const char *field;
	bool in_v = at_path(st, "ListVersionsResult/Version/Key") ||
		    at_path(st, "ListVersionsResult/Version/VersionId") ||
		    at_path(st, "ListVersionsResult/Version/IsLatest") ||
		    at_path(st, "ListVersionsResult/Version/LastModified") ||
		    at_path(st, "ListVersionsResult/Version/ETag") ||
		    at_path(st, "ListVersionsResult/Version/Size");
	bool in_m = at_path(st, "ListVersionsResult/DeleteMarker/Key") ||
		    at_path(st, "ListVersionsResult/DeleteMarker/VersionId") ||
		    at_path(st, "ListVersionsResult/DeleteMarker/IsLatest") ||
		    at_path(st, "ListVersionsResult/DeleteMarker/LastModified");

	if (in_v || in_m) {
		field = st->names[2];
		if (strcmp(field, "Key") == 0)
			(void)take_text(st, &st->cur_v.key, "a listed key is empty or too long");
		else if (strcmp(field, "VersionId") == 0)
			(void)take_text(st, &st->cur_v.version_id,
					"a listed VersionId is empty or too long");
		else if (strcmp(field, "IsLatest") == 0)
			st->cur_v.latest = strcmp(st->text, "true") == 0;
		else if (strcmp(field, "LastModified") == 0) {
			if ((st->cur_v.modified = s3_url_parse_iso8601(st->text)) < 0)
				stop(st, "a listed LastModified is not a date");
		} else if (strcmp(field, "ETag") == 0) {
			if (st->text_len >= sizeof(st->cur_v.etag))
				return stop(st, "a listed ETag is too long");
			memcpy(st->cur_v.etag, st->text, st->text_len + 1);
		} else if (strcmp(field, "Size") == 0 && parse_u64(&st->cur_v.size, st->text) < 0)
			stop(st, "a listed size is not a number");
	} else if (at_path(st, "ListVersionsResult/Version") ||
		   at_path(st, "ListVersionsResult/DeleteMarker")) {
		versions_entry_end(st);
	} else if (at_path(st, "ListVersionsResult/IsTruncated")) {
		if (strcmp(st->text, "true") == 0)
			l->truncated = true;
		else if (strcmp(st->text, "false") == 0)
			l->truncated = false;
		else
			stop(st, "IsTruncated is neither true nor false");
	} else if (at_path(st, "ListVersionsResult/NextKeyMarker")) {
		(void)take_text(st, &l->next_key, "NextKeyMarker is empty or too long");
	} else if (at_path(st, "ListVersionsResult/NextVersionIdMarker")) {
		(void)take_text(st, &l->next_version, "NextVersionIdMarker is empty or too long");
	}
}

static void on_end(void *ud, const XML_Char *name)
{
	xml_state *st = ud;

	(void)name;
	if (st->listing)
		listing_end(st);
	else if (st->versions)
		versions_end(st);
	else if (!st->found && at_path(st, st->path)) {
		size_t n = st->text_len < st->out_size - 1 ? st->text_len : st->out_size - 1;

		memcpy(st->out, st->text, n);
		st->out[n] = '\0';
		st->found = true;
	}
	st->depth--;
	if (st->depth < DEPTH_MAX) {
		free(st->owned[st->depth]);
		st->owned[st->depth] = NULL;
	}
	st->text_len = 0;
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	xml_state *st = ud;
	size_t room = S3_TEXT_MAX - st->text_len;
	size_t n = (size_t)len;

	if (n > room) {
		n = room;
		st->text_long = true;
	}
	memcpy(st->text + st->text_len, s, n);
	st->text_len += n;
	st->text[st->text_len] = '\0';
}

/* No DOCTYPE: nothing an S3 store sends needs one, and entities are how XML attacks. */
static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
		       int has_internal)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	stop(ud, "the answer has a DOCTYPE");
}

static int run(xml_state *st, const char *xml, size_t len, const char *what)
{
	int err = 0;

	if (len > INT32_MAX)
		return kura_error_set(KURA_ECORRUPT, "%s: the answer is too large", what);
	if (!(st->p = XML_ParserCreate(NULL)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	XML_SetUserData(st->p, st);
	XML_SetElementHandler(st->p, on_start, on_end);
	XML_SetCharacterDataHandler(st->p, on_text);
	XML_SetStartDoctypeDeclHandler(st->p, on_doctype);
	if (XML_Parse(st->p, xml, (int)len, XML_TRUE) == XML_STATUS_ERROR || st->problem) {
		if (st->problem && strcmp(st->problem, "out of memory") == 0)
			err = kura_error_set(KURA_ENOMEM, "out of memory");
		else
			err = kura_error_set(KURA_ECORRUPT, "%s: %s (line %lu)", what,
					     st->problem ? st->problem
							 : XML_ErrorString(XML_GetErrorCode(st->p)),
					     (unsigned long)XML_GetCurrentLineNumber(st->p));
	}
	for (int i = 0; i < DEPTH_MAX; i++)
		free(st->owned[i]);
	free(st->cur_key);
	free(st->cur_v.key);
	free(st->cur_v.version_id);
	XML_ParserFree(st->p);
	return err;
}

int s3_xml_listing_parse(s3_xml_listing *out, const char *xml, size_t len)
{
	xml_state st = {0};
	int err;

	memset(out, 0, sizeof(*out));
	st.listing = out;
	if ((err = run(&st, xml, len, "object listing")) < 0) {
		s3_xml_listing_free(out);
		return err;
	}
	if (out->truncated && !out->next_token) {
		s3_xml_listing_free(out);
		return kura_error_set(KURA_ECORRUPT, "object listing: truncated but without "
						     "NextContinuationToken");
	}
	return 0;
}

void s3_xml_listing_free(s3_xml_listing *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		free(l->objects[i].key);
	free(l->objects);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

int s3_xml_versions_parse(s3_xml_versions *out, const char *xml, size_t len)
{
	xml_state st = {0};
	int err;

	memset(out, 0, sizeof(*out));
	st.versions = out;
	if ((err = run(&st, xml, len, "version listing")) < 0) {
		s3_xml_versions_free(out);
		return err;
	}
	if (out->truncated && !out->next_key) {
		s3_xml_versions_free(out);
		return kura_error_set(KURA_ECORRUPT,
				      "version listing: truncated but without NextKeyMarker");
	}
	return 0;
}

void s3_xml_versions_free(s3_xml_versions *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->count; i++) {
		free(v->items[i].key);
		free(v->items[i].version_id);
	}
	free(v->items);
	free(v->next_key);
	free(v->next_version);
	memset(v, 0, sizeof(*v));
}

int s3_xml_find(char *out, size_t out_size, const char *xml, size_t len, const char *path)
{
	xml_state st = {0};
	int err;

	if (out_size == 0)
		return kura_error_set(KURA_EINVAL, "s3_xml_find: no room");
	out[0] = '\0';
	st.path = path;
	st.out = out;
	st.out_size = out_size;
	if ((err = run(&st, xml, len, "the store's XML answer")) < 0)
		return err;
	return st.found ? 0 : KURA_ENOTFOUND;
}
