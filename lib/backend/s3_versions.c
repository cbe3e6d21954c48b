/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_versions.c - seeing through what a thief with the writer's S3 keys
 * can do to a versioned bucket: PUT junk as a new version over a name, or
 * place a delete marker over it.  Object Lock keeps the locked version,
 * but a plain GET or ListObjectsV2 then shows the junk, or nothing.
 *
 * The rule (docs/FORMAT.md, "S3 layout and Object Lock"): a repository
 * file is the oldest stored version of its key whose bytes hash to its
 * name.  Listings come from ListObjectVersions, so a name hidden by a
 * delete marker is still listed; a key is "attacked" when its current
 * version is a delete marker, or when its newest stored version has
 * another ETag than its oldest (kura writes a name once, and the same
 * name is the same bytes, so a second version with other bytes is never
 * kura's).  Reads of an attacked key are pinned to the version that
 * hashes right (s3_versions_pin), found once per key and remembered.
 *
 * Threads: the pin table is guarded by sb->pin_lock.
 */
#include "s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "kura/kura.h"

#define PAGE_MAX ((size_t)16 << 20)

/* Entries of one key, newest first, owned (moved out of their pages). */
typedef struct {
	s3_xml_version *v;
	size_t n, cap;
} group;

static void group_clear(group *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].key);
		free(g->v[i].version_id);
	}
	g->n = 0;
}

static int group_add(group *g, s3_xml_version *e)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 8;
		s3_xml_version *n = realloc(g->v, cap * sizeof(*n));

		if (!n)
			return kura_error_set(KURA_ENOMEM, "out of memory");
		g->v = n;
		g->cap = cap;
	}
	g->v[g->n++] = *e;
	e->key = e->version_id = NULL; /* moved */
	return 0;
}

static int emit(group *g, s3_versions_fn fn, void *ctx)
{
	s3_key_versions kv;
	int rc;

	if (!g->n)
		return 0;
	kv.key = g->v[0].key;
	kv.v = g->v;
	kv.n = g->n;
	rc = fn(&kv, ctx);
	group_clear(g);
	return rc;
}

int s3_versions_walk(s3_backend *sb, const char *prefix, s3_versions_fn fn, void *ctx)
{
	s3_xml_versions page = {0};
	group g = {0};
	char *enc_prefix = NULL, *enc_key = NULL, *enc_ver = NULL, *query = NULL;
	int err = 0, rc;

	if (!(enc_prefix = s3_url_encode(prefix)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	for (;;) {
		s3_request rq = {.method = "GET", .max = PAGE_MAX};
		s3_response rs = {0};

		free(query);
		query = NULL;
		/* canonical order: key-marker < prefix < version-id-marker < versions */
		if (enc_key)
			rc = asprintf(&query, "key-marker=%s&prefix=%s%s%s&versions=", enc_key,
				      enc_prefix, enc_ver ? "&version-id-marker=" : "",
				      enc_ver ? enc_ver : "");
		else
			rc = asprintf(&query, "prefix=%s&versions=", enc_prefix);
		if (rc < 0) {
			query = NULL;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		rq.query = query;
		if ((err = s3_http_perform(sb, &rq, &rs)) == 0 && rs.status != 200)
			err = s3_http_error(sb, &rs, "GET", "the version listing");
		if (err == 0 && (err = s3_xml_versions_parse(&page, (const char *)rs.body.data,
							     rs.body.len)) < 0)
			kura_error_wrap(err, "%s: version listing of %s", sb->display, prefix);
		s3_response_free(&rs);
		if (err < 0)
			goto done;
		for (size_t i = 0; i < page.count; i++) {
			s3_xml_version *e = &page.items[i];

			if (strncmp(e->key, prefix, strlen(prefix)) != 0)
				continue; /* not asked for: a store that ignores the prefix */
			if (g.n && strcmp(g.v[0].key, e->key) != 0 &&
			    (rc = emit(&g, fn, ctx)) != 0) {
				err = rc < 0 ? rc : 0;
				goto done;
			}
			if ((err = group_add(&g, e)) < 0)
				goto done;
		}
		if (!page.truncated)
			break;
		free(enc_key);
		free(enc_ver);
		enc_ver = NULL;
		if (!(enc_key = s3_url_encode(page.next_key)) ||
		    (page.next_version && !(enc_ver = s3_url_encode(page.next_version)))) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		s3_xml_versions_free(&page);
	}
	if ((rc = emit(&g, fn, ctx)) < 0)
		err = rc;
done:
	group_clear(&g);
	free(g.v);
	s3_xml_versions_free(&page);
	free(query);
	free(enc_key);
	free(enc_ver);
	free(enc_prefix);
	return err;
}

const s3_xml_version *s3_key_oldest(const s3_key_versions *kv)
{
	for (size_t i = kv->n; i-- > 0;)
		if (!kv->v[i].marker)
			return &kv->v[i];
	return NULL;
}

unsigned s3_key_attacks(const s3_key_versions *kv)
{
	const s3_xml_version *oldest = s3_key_oldest(kv), *newest = NULL;
	unsigned a = 0;

	if (!oldest)
		return 0; /* nothing stored: only markers */
	for (size_t i = 0; i < kv->n && !newest; i++)
		if (!kv->v[i].marker)
			newest = &kv->v[i];
	if (kv->v[0].marker)
		a |= S3_KEY_HIDDEN;
	if (strcmp(newest->etag, oldest->etag) != 0)
		a |= S3_KEY_OVERWRITTEN;
	return a;
}

/* GET one version; its bytes if they hash to `name`. */
static int get_version(s3_backend *sb, const char *key, const char *version_id, const char *name,
		       uint8_t **out, size_t *out_len, bool *out_match)
{
	s3_response rs = {0};
	uint8_t hash[KURA_HASH_SIZE];
	char hex[KURA_HASH_SIZE * 2 + 1];
	int err;

	*out_match = false;
	if ((err = s3_http_on_version(sb, "GET", key, version_id, S3_FILE_MAX, &rs)) < 0)
		goto done;
	if (rs.status != 200) {
		err = s3_http_error(sb, &rs, "GET (a version)", key);
		goto done;
	}
	kura_sha256(hash, rs.body.data ? rs.body.data : (const uint8_t *)"", rs.body.len);
	kura_hex(hex, hash, sizeof(hash));
	if (strcmp(hex, name) != 0)
		goto done;
	*out_match = true;
	if (out) {
		if (!rs.body.data && (err = kura_buf_reserve(&rs.body, 1)) < 0)
			goto done;
		*out = kura_buf_detach(&rs.body, out_len);
	}
done:
	s3_response_free(&rs);
	return err;
}

typedef struct {
	const char *key;
	s3_key_versions *copy; /* the exact key's entries, deep-copied */
} exact;

static int take_exact(const s3_key_versions *kv, void *ctx)
{
	exact *x = ctx;

	if (strcmp(kv->key, x->key) != 0)
		return 0;
	if (!(x->copy = s3_key_versions_dup(kv)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	return 1;
}

s3_key_versions *s3_key_versions_dup(const s3_key_versions *kv)
{
	s3_key_versions *c = calloc(1, sizeof(*c));

	if (!c || !(c->v = calloc(kv->n ? kv->n : 1, sizeof(*c->v))))
		goto fail;
	for (size_t i = 0; i < kv->n; i++) {
		c->v[i] = kv->v[i];
		c->v[i].key = strdup(kv->v[i].key);
		c->v[i].version_id = strdup(kv->v[i].version_id);
		c->n = i + 1;
		if (!c->v[i].key || !c->v[i].version_id)
			goto fail;
	}
	c->key = c->n ? c->v[0].key : NULL;
	return c;
fail:
	s3_key_versions_free(c);
	return NULL;
}

void s3_key_versions_free(s3_key_versions *kv)
{
	if (!kv)
		return;
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->v[i].key);
		free(kv->v[i].version_id);
	}
	free(kv->v);
	free(kv);
}

int s3_versions_of(s3_backend *sb, const char *key, s3_key_versions **out)
{
	exact x = {.key = key};
	int err;

	*out = NULL;
	if ((err = s3_versions_walk(sb, key, take_exact, &x)) < 0) {
		s3_key_versions_free(x.copy);
		return err;
	}
	if (!x.copy)
		return kura_error_set(KURA_ENOTFOUND, "%s: %s: no version of it is stored",
				      sb->display, key);
	*out = x.copy;
	return 0;
}

int s3_versions_good(s3_backend *sb, const s3_key_versions *kv, const char *name, char **out_id,
		     uint8_t **out, size_t *out_len)
{
	size_t tried = 0;
	int err;

	*out_id = NULL;
	if (out)
		*out = NULL;
	for (size_t i = kv->n; i-- > 0;) {
		bool match;

		if (kv->v[i].marker)
			continue;
		tried++;
		if ((err = get_version(sb, kv->key, kv->v[i].version_id, name, out, out_len,
				       &match)) < 0)
			return err;
		if (match) {
			if (!(*out_id = strdup(kv->v[i].version_id))) {
				if (out) {
					free(*out);
					*out = NULL;
				}
				return kura_error_set(KURA_ENOMEM, "out of memory");
			}
			return 0;
		}
	}
	return kura_error_set(KURA_ECORRUPT,
			      "%s: %s: none of its %zu stored version%s hashes to its name",
			      sb->display, kv->key, tried, tried == 1 ? "" : "s");
}

/* ---- the pin table: attacked keys and the version that hashes right ---- */

static s3_pin *pin_find(s3_backend *sb, const char *key)
{
	for (size_t i = 0; i < sb->npins; i++)
		if (strcmp(sb->pins[i].key, key) == 0)
			return &sb->pins[i];
	return NULL;
}

int s3_versions_note(s3_backend *sb, const s3_key_versions *kv)
{
	int err = 0;

	if (!s3_key_attacks(kv))
		return 0;
	pthread_mutex_lock(&sb->pin_lock);
	if (!pin_find(sb, kv->key)) {
		s3_pin *n = realloc(sb->pins, (sb->npins + 1) * sizeof(*n));

		if (!n || !(n[sb->npins].key = strdup(kv->key))) {
			if (n)
				sb->pins = n;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
		} else {
			sb->pins = n;
			n[sb->npins].version_id = NULL;
			sb->npins++;
		}
	}
	pthread_mutex_unlock(&sb->pin_lock);
	return err;
}

static int note_each(const s3_key_versions *kv, void *ctx)
{
	return s3_versions_note(ctx, kv);
}

int s3_versions_scan(s3_backend *sb, kura_file_type type)
{
	char *dir = NULL;
	bool done;
	int err;

	pthread_mutex_lock(&sb->pin_lock);
	done = sb->scanned[type];
	pthread_mutex_unlock(&sb->pin_lock);
	if (done)
		return 0;
	if (asprintf(&dir, "%s%s/", sb->loc.prefix, kura_file_type_name(type)) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	err = s3_versions_walk(sb, dir, note_each, sb);
	free(dir);
	if (err == 0) {
		pthread_mutex_lock(&sb->pin_lock);
		sb->scanned[type] = true;
		pthread_mutex_unlock(&sb->pin_lock);
	}
	return err;
}

int s3_versions_pin(s3_backend *sb, const char *key, const char *name, char **out_id)
{
	s3_key_versions *kv = NULL;
	s3_pin *p;
	char *id = NULL;
	int err;

	*out_id = NULL;
	pthread_mutex_lock(&sb->pin_lock);
	p = pin_find(sb, key);
	if (p && p->version_id && !(*out_id = strdup(p->version_id)))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	else
		err = p ? 0 : KURA_ENOTFOUND;
	pthread_mutex_unlock(&sb->pin_lock);
	if (err == KURA_ENOTFOUND || *out_id || err < 0)
		return err == KURA_ENOTFOUND ? 0 : err; /* not attacked, or known */
	if ((err = s3_versions_of(sb, key, &kv)) < 0 ||
	    (err = s3_versions_good(sb, kv, name, &id, NULL, NULL)) < 0)
		goto done;
	pthread_mutex_lock(&sb->pin_lock);
	if ((p = pin_find(sb, key)) && !p->version_id)
		p->version_id = strdup(id);
	pthread_mutex_unlock(&sb->pin_lock);
	*out_id = id;
	id = NULL;
done:
	s3_key_versions_free(kv);
	free(id);
	return err;
}

void s3_versions_free_pins(s3_backend *sb)
{
	for (size_t i = 0; i < sb->npins; i++) {
		free(sb->pins[i].key);
		free(sb->pins[i].version_id);
	}
	free(sb->pins);
	sb->pins = NULL;
	sb->npins = 0;
}
