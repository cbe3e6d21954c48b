/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.c - snapshot files (docs/FORMAT.md, "Snapshot files").
 *
 * Layout: magic, version, the client's time, the sorted list of referenced
 * pack names (plaintext, for keyless stores), in version 2 the detection
 * summary (length-prefixed JSON, keyless.h), the snapshot's data key sealed
 * to the repository public key, then the JSON body under AES-GCM with that
 * data key and every preceding byte as AAD.
 *
 * The header is decoded with any key or none; the body only with the restore
 * key.  The body is parsed with jansson, which rejects invalid UTF-8 and NUL
 * in strings and limits nesting depth; we add duplicate-key rejection, the
 * 16 MiB limit, and type checks on every field we use.  Unknown keys are
 * ignored, as the spec allows.
 */
#include "format/snapshot.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/utf8.h"
#include "kura/keyless.h"

#define SNAP_MAGIC "KURASNAP"
#define SNAP_VERSION 1
#define SNAP_VERSION_SUMMARY 2 /* version 1 + the detection summary after the pack names */
#define SNAP_BODY_VERSION 1
#define SNAP_MAX_BODY (16u * 1024 * 1024)

/* -------------------------------------------------------------------- */
/* Encoding                                                              */

/* RFC 3339 UTC with nanoseconds: "2026-11-25T20:31:07.123456789Z". */
static int format_time(char out[40], int64_t ns)
{
	int64_t sec = ns / 1000000000, rem = ns % 1000000000;
	struct tm tm;
	time_t t;

	if (rem < 0) {
		rem += 1000000000;
		sec -= 1;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return kura_error_set(KURA_EINVAL, "snapshot: time %lld out of range",
				      (long long)ns);
	snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
	return 0;
}

/* Takes ownership of `v` (which may be NULL after a failed constructor). */
static int set_new(json_t *obj, const char *key, json_t *v)
{
	if (!v)
		return kura_error_set(KURA_EINVAL,
				      "snapshot: \"%s\" is not valid UTF-8 or out of memory", key);
	if (json_object_set_new(obj, key, v) < 0)
		return kura_error_set(KURA_ENOMEM, "snapshot: out of memory");
	return 0;
}

static int set_string(json_t *obj, const char *key, const char *s)
{
	return set_new(obj, key, json_string(s ? s : ""));
}

static int set_hex(json_t *obj, const char *key, const uint8_t id[KURA_HASH_SIZE])
{
	char hex[2 * KURA_HASH_SIZE + 1];

	kura_hex(hex, id, KURA_HASH_SIZE);
	return set_new(obj, key, json_string(hex));
}

static int set_strings(json_t *obj, const char *key, char *const *list, size_t n)
{
	json_t *a = json_array();
	int err;

	if (!a)
		return kura_error_set(KURA_ENOMEM, "snapshot: out of memory");
	if (n && !list) {
		json_decref(a);
		return kura_error_set(KURA_EINVAL, "snapshot: \"%s\" has %zu items but no list",
				      key, n);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *s = list[i] ? json_string(list[i]) : NULL;

		if (!s || json_array_append_new(a, s) < 0) {
			json_decref(a);
			return kura_error_set(
			    KURA_EINVAL, "snapshot: \"%s\" item %zu is missing or not valid UTF-8",
			    key, i);
		}
	}
	if ((err = set_new(obj, key, a)) < 0)
		return err;
	return 0;
}

static int set_count(json_t *obj, const char *key, uint64_t v)
{
	if (v > INT64_MAX)
		return kura_error_set(KURA_EINVAL, "snapshot: %s %llu too large", key,
				      (unsigned long long)v);
	return set_new(obj, key, json_integer((json_int_t)v));
}

static int build_body(char **out, size_t *out_len, const kura_snapshot *s)
{
	json_t *root = NULL, *stats = NULL;
	char when[40];
	char *text;
	int err = 0;

	*out = NULL;
	if ((err = format_time(when, s->time_ns)) < 0)
		return err;
	if (!(root = json_object()) || !(stats = json_object())) {
		err = kura_error_set(KURA_ENOMEM, "snapshot: out of memory");
		goto done;
	}
	if ((err = set_new(root, "v", json_integer(SNAP_BODY_VERSION))) < 0 ||
	    (err = set_hex(root, "tree", s->tree)) < 0 ||
	    (err = set_string(root, "time", when)) < 0 ||
	    (err = set_strings(root, "paths", s->paths, s->npaths)) < 0 ||
	    (err = set_string(root, "hostname", s->hostname)) < 0 ||
	    (err = set_string(root, "username", s->username)) < 0 ||
	    (err = set_strings(root, "tags", s->tags, s->ntags)) < 0 ||
	    (err = set_strings(root, "excludes", s->excludes, s->nexcludes)) < 0)
		goto done;
	if (s->has_parent && (err = set_hex(root, "parent", s->parent)) < 0)
		goto done;
	if (s->nchanged && (err = set_strings(root, "changed", s->changed, s->nchanged)) < 0)
		goto done;
	if (s->detection) {
		json_t *det = json_loads(s->detection, JSON_REJECT_DUPLICATES, NULL);

		if (!json_is_object(det)) {
			json_decref(det);
			err = kura_error_set(KURA_EINVAL, "snapshot: the detection record is not a JSON object");
			goto done;
		}
		if ((err = set_new(root, "detection", det)) < 0)
			goto done;
	}
	if ((err = set_string(root, "program", s->program)) < 0 ||
	    (err = set_count(stats, "files", s->files)) < 0 ||
	    (err = set_count(stats, "dirs", s->dirs)) < 0 ||
	    (err = set_count(stats, "bytes", s->bytes)) < 0)
		goto done;
	err = set_new(root, "stats", stats);
	stats = NULL;
	if (err < 0)
		goto done;
	if (!(text = json_dumps(root, JSON_COMPACT))) {
		err = kura_error_set(KURA_ENOMEM, "snapshot: cannot serialise the body");
		goto done;
	}
	*out_len = strlen(text);
	if (*out_len > SNAP_MAX_BODY) {
		free(text);
		err =
		    kura_error_set(KURA_EINVAL, "snapshot: body of %zu bytes exceeds the limit %u",
				   *out_len, SNAP_MAX_BODY);
		goto done;
	}
	*out = text;
done:
	json_decref(stats);
	json_decref(root);
	return err;
}

int kura_snapshot_encode(uint8_t **out, size_t *out_len, uint8_t out_name[KURA_HASH_SIZE],
			 const kura_keys *keys, const kura_snapshot *s)
{
	kura_buf b = KURA_BUF_INIT;
	uint8_t head[12] = SNAP_MAGIC;
	uint8_t data_key[KURA_KEY_SIZE];
	uint8_t sealed[KURA_SEALED_KEY_SIZE];
	char *body = NULL;
	size_t body_len = 0, aad_len;
	int err = 0;

	*out = NULL;
	*out_len = 0;
	kura_random(data_key, sizeof(data_key));
	if (s->npacks > KURA_SNAPSHOT_MAX_PACKS) {
		err = kura_error_set(KURA_EINVAL, "snapshot: %zu packs (at most %u)", s->npacks,
				     KURA_SNAPSHOT_MAX_PACKS);
		goto done;
	}
	for (size_t i = 1; i < s->npacks; i++) {
		if (memcmp(s->packs[i - 1], s->packs[i], KURA_HASH_SIZE) >= 0) {
			err = kura_error_set(KURA_EINVAL,
					     "snapshot: pack %zu is not sorted and unique", i);
			goto done;
		}
	}
	if ((err = build_body(&body, &body_len, s)) < 0)
		goto done;
	if ((err = kura_seal_key(sealed, data_key, keys->repo_pk)) < 0)
		goto done;

	if (s->summary) {
		kura_detection_summary check;

		if ((err = kura_detection_summary_parse((const uint8_t *)s->summary,
							strlen(s->summary), &check)) < 0)
			goto done;
	}
	head[8] = s->summary ? SNAP_VERSION_SUMMARY : SNAP_VERSION;
	if ((err = kura_buf_put(&b, head, sizeof(head))) < 0 ||
	    (err = kura_buf_put_u64(&b, (uint64_t)s->time_ns)) < 0 ||
	    (err = kura_buf_put_u32(&b, (uint32_t)s->npacks)) < 0 ||
	    (err = kura_buf_put(&b, s->packs, s->npacks * KURA_HASH_SIZE)) < 0)
		goto done;
	if (s->summary && ((err = kura_buf_put_u32(&b, (uint32_t)strlen(s->summary))) < 0 ||
			   (err = kura_buf_put(&b, s->summary, strlen(s->summary))) < 0))
		goto done;
	if ((err = kura_buf_put(&b, sealed, sizeof(sealed))) < 0)
		goto done;
	aad_len = b.len;
	if ((err = kura_buf_reserve(&b, body_len + KURA_AEAD_OVERHEAD)) < 0)
		goto done;
	if ((err = kura_aead_seal(b.data + b.len, data_key, b.data, aad_len, body, body_len)) < 0)
		goto done;
	b.len += body_len + KURA_AEAD_OVERHEAD;
	kura_sha256(out_name, b.data, b.len);
	*out = kura_buf_detach(&b, out_len);
done:
	kura_wipe(data_key, sizeof(data_key));
	if (body) {
		kura_wipe(body, body_len);
		free(body);
	}
	kura_buf_free(&b);
	return err;
}

/* -------------------------------------------------------------------- */
/* Decoding                                                              */

static int get_field(json_t **out, json_t *obj, const char *key, bool required)
{
	*out = json_object_get(obj, key);
	if (!*out && required)
		return kura_error_set(KURA_ECORRUPT, "snapshot body: \"%s\" is missing", key);
	return 0;
}

static int get_string(char **out, json_t *obj, const char *key)
{
	json_t *v;
	int err;

	if ((err = get_field(&v, obj, key, true)) < 0)
		return err;
	if (!json_is_string(v))
		return kura_error_set(KURA_ECORRUPT, "snapshot body: \"%s\" is not a string", key);
	if (!(*out = strdup(json_string_value(v))))
		return kura_error_set(KURA_ENOMEM, "snapshot: out of memory");
	return 0;
}

static int get_hex(uint8_t out[KURA_HASH_SIZE], json_t *obj, const char *key, bool required,
		   bool *present)
{
	json_t *v;
	int err;

	if (present)
		*present = false;
	if ((err = get_field(&v, obj, key, required)) < 0)
		return err;
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) != 2 * KURA_HASH_SIZE ||
	    kura_unhex(out, json_string_value(v), KURA_HASH_SIZE) < 0)
		return kura_error_set(KURA_ECORRUPT, "snapshot body: \"%s\" is not 64 hex digits",
				      key);
	if (present)
		*present = true;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int get_strings(char ***out, size_t *out_count, json_t *obj, const char *key)
{
	json_t *a, *item;
	char **list;
	size_t n, i;
	int err;

	if ((err = get_field(&a, obj, key, true)) < 0)
		return err;
	if (!json_is_array(a))
		return kura_error_set(KURA_ECORRUPT, "snapshot body: \"%s\" is not an array", key);
	/* n is bounded by the parsed JSON, itself bounded by the body size. */
	n = json_array_size(a);
	if (!(list = calloc(n ? n : 1, sizeof(*list))))
		return kura_error_set(KURA_ENOMEM, "snapshot: out of memory");
	*out = list;
	json_array_foreach(a, i, item)
	{
		if (!json_is_string(item))
			return kura_error_set(KURA_ECORRUPT,
					      "snapshot body: \"%s\" item %zu is not a string", key,
					      i);
		if (!(list[i] = strdup(json_string_value(item))))
			return kura_error_set(KURA_ENOMEM, "snapshot: out of memory");
		*out_count = i + 1;
	}
	return 0;
}

static int get_count(uint64_t *out, json_t *obj, const char *key)
{
	json_t *v;
	int err;

	if ((err = get_field(&v, obj, key, true)) < 0)
		return err;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return kura_error_set(
		    KURA_ECORRUPT, "snapshot body: \"stats\".\"%s\" is not a non-negative integer",
		    key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int parse_body(kura_snapshot *s, const uint8_t *body, size_t len)
{
	json_error_t jerr;
	json_t *root, *v, *stats;
	int err = 0;

	root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return kura_error_set(KURA_ECORRUPT,
				      "snapshot body: invalid JSON at line %d column %d: %s",
				      jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		err = kura_error_set(KURA_ECORRUPT, "snapshot body: not a JSON object");
		goto done;
	}
	if ((err = get_field(&v, root, "v", true)) < 0)
		goto done;
	if (!json_is_integer(v) || json_integer_value(v) != SNAP_BODY_VERSION) {
		err = kura_error_set(KURA_EUNSUPPORTED, "snapshot body: version is not %d",
				     SNAP_BODY_VERSION);
		goto done;
	}
	/* "time" is informational: the header's time is authoritative. */
	if ((err = get_field(&v, root, "time", true)) < 0)
		goto done;
	if (!json_is_string(v)) {
		err = kura_error_set(KURA_ECORRUPT, "snapshot body: \"time\" is not a string");
		goto done;
	}
	if ((err = get_hex(s->tree, root, "tree", true, NULL)) < 0 ||
	    (err = get_hex(s->parent, root, "parent", false, &s->has_parent)) < 0 ||
	    (err = get_strings(&s->paths, &s->npaths, root, "paths")) < 0 ||
	    (err = get_string(&s->hostname, root, "hostname")) < 0 ||
	    (err = get_string(&s->username, root, "username")) < 0 ||
	    (err = get_strings(&s->tags, &s->ntags, root, "tags")) < 0 ||
	    (err = get_strings(&s->excludes, &s->nexcludes, root, "excludes")) < 0 ||
	    (err = get_string(&s->program, root, "program")) < 0 ||
	    (err = get_field(&stats, root, "stats", true)) < 0)
		goto done;
	if (!json_is_object(stats)) {
		err = kura_error_set(KURA_ECORRUPT, "snapshot body: \"stats\" is not an object");
		goto done;
	}
	if ((err = get_count(&s->files, stats, "files")) < 0 ||
	    (err = get_count(&s->dirs, stats, "dirs")) < 0 ||
	    (err = get_count(&s->bytes, stats, "bytes")) < 0)
		goto done;
	/* optional (added in version 1); sorted here, as lookups need it */
	if (json_object_get(root, "changed") &&
	    (err = get_strings(&s->changed, &s->nchanged, root, "changed")) < 0)
		goto done;
	if (s->nchanged > 1)
		qsort(s->changed, s->nchanged, sizeof(char *), str_cmp);
	/* optional: the detection record (version 1 bodies of detecting writers) */
	if ((v = json_object_get(root, "detection"))) {
		if (!json_is_object(v)) {
			err = kura_error_set(KURA_ECORRUPT, "snapshot body: \"detection\" is not an object");
			goto done;
		}
		if (!(s->detection = json_dumps(v, JSON_COMPACT))) {
			err = kura_error_set(KURA_ENOMEM, "snapshot: out of memory");
			goto done;
		}
	}
	s->readable = true;
done:
	json_decref(root);
	return err;
}

/*
 * The plaintext part, which needs no key: after this the reader stands at
 * the AEAD box, *names and *sealed point into the data.
 */
typedef struct {
	const uint8_t *text; /* the detection summary, NULL in version 1 */
	uint32_t len;
	kura_detection_summary parsed;
} header_summary;

static int parse_header(kura_reader *r, uint64_t *time_ns, const uint8_t **names,
			uint32_t *npacks, header_summary *sum, const uint8_t **sealed)
{
	const uint8_t *magic = NULL;
	uint8_t version = 0, reserved[3] = {0};
	size_t box_len;
	int err;

	if ((err = kura_reader_view(r, &magic, 8, "magic")) < 0)
		return err;
	if (memcmp(magic, SNAP_MAGIC, 8) != 0)
		return kura_error_set(KURA_ECORRUPT,
				      "snapshot: bad magic (not a kura snapshot file)");
	if ((err = kura_reader_u8(r, &version, "version")) < 0)
		return err;
	if (version != SNAP_VERSION && version != SNAP_VERSION_SUMMARY)
		return kura_error_set(KURA_EUNSUPPORTED, "snapshot: version %u is not supported",
				      version);
	if ((err = kura_reader_bytes(r, reserved, 3, "reserved")) < 0)
		return err;
	if (reserved[0] || reserved[1] || reserved[2])
		return kura_error_set(KURA_ECORRUPT, "snapshot: reserved header bytes are not zero");
	if ((err = kura_reader_u64(r, time_ns, "time")) < 0 ||
	    (err = kura_reader_u32(r, npacks, "pack count")) < 0)
		return err;
	if (*npacks > KURA_SNAPSHOT_MAX_PACKS)
		return kura_error_set(KURA_ECORRUPT, "snapshot: pack count %u exceeds %u", *npacks,
				      KURA_SNAPSHOT_MAX_PACKS);
	if ((err = kura_reader_view(r, names, (size_t)*npacks * KURA_HASH_SIZE, "pack names")) < 0)
		return err;
	memset(sum, 0, sizeof(*sum));
	if (version == SNAP_VERSION_SUMMARY) {
		if ((err = kura_reader_u32(r, &sum->len, "detection summary length")) < 0)
			return err;
		if (sum->len == 0 || sum->len > KURA_DETECTION_MAX_BYTES)
			return kura_error_set(KURA_ECORRUPT,
					      "snapshot: detection summary of %u bytes (1..%d)",
					      sum->len, KURA_DETECTION_MAX_BYTES);
		if ((err = kura_reader_view(r, &sum->text, sum->len, "detection summary")) < 0)
			return err;
		if ((err = kura_detection_summary_parse(sum->text, sum->len, &sum->parsed)) < 0)
			return kura_error_wrap(err, "snapshot");
	}
	if ((err = kura_reader_view(r, sealed, KURA_SEALED_KEY_SIZE, "sealed key")) < 0)
		return err;
	for (uint32_t i = 1; i < *npacks; i++) {
		if (memcmp(*names + (size_t)(i - 1) * KURA_HASH_SIZE,
			   *names + (size_t)i * KURA_HASH_SIZE, KURA_HASH_SIZE) >= 0)
			return kura_error_set(
			    KURA_ECORRUPT,
			    "snapshot: pack name %u is not sorted after the previous one", i);
	}
	box_len = kura_reader_left(r);
	if (box_len < KURA_AEAD_OVERHEAD || box_len - KURA_AEAD_OVERHEAD > SNAP_MAX_BODY)
		return kura_error_set(KURA_ECORRUPT,
				      "snapshot: encrypted body of %zu bytes out of range", box_len);
	return 0;
}

int kura_snapshot_check(const uint8_t *data, size_t len)
{
	const uint8_t *names = NULL, *sealed = NULL;
	header_summary sum;
	uint64_t time_ns = 0;
	uint32_t npacks = 0;
	kura_reader r;

	kura_reader_init(&r, data, len, "snapshot");
	return parse_header(&r, &time_ns, &names, &npacks, &sum, &sealed);
}

int kura_snapshot_detection(const uint8_t *data, size_t len, kura_detection_summary *out)
{
	const uint8_t *names = NULL, *sealed = NULL;
	header_summary sum;
	uint64_t time_ns = 0;
	uint32_t npacks = 0;
	kura_reader r;
	int err;

	memset(out, 0, sizeof(*out));
	kura_reader_init(&r, data, len, "snapshot");
	if ((err = parse_header(&r, &time_ns, &names, &npacks, &sum, &sealed)) < 0)
		return err;
	*out = sum.parsed;
	return 0;
}

int kura_snapshot_decode(kura_snapshot **out, const kura_keys *keys, const uint8_t *data,
			 size_t len)
{
	const uint8_t *names = NULL, *sealed = NULL;
	header_summary sum;
	uint8_t data_key[KURA_KEY_SIZE];
	kura_snapshot *s = NULL;
	uint8_t *body = NULL;
	size_t aad_len, box_len, body_len = 0;
	uint64_t time_ns = 0;
	uint32_t npacks = 0;
	kura_reader r;
	int err = 0;

	*out = NULL;
	memset(data_key, 0, sizeof(data_key));
	kura_reader_init(&r, data, len, "snapshot");
	if ((err = parse_header(&r, &time_ns, &names, &npacks, &sum, &sealed)) < 0)
		goto done;
	aad_len = r.pos;
	box_len = kura_reader_left(&r);

	if (!(s = calloc(1, sizeof(*s)))) {
		err = kura_error_set(KURA_ENOMEM, "snapshot: out of memory");
		goto done;
	}
	s->time_ns = (int64_t)time_ns;
	if (npacks) {
		if (!(s->packs = malloc((size_t)npacks * KURA_HASH_SIZE))) {
			err = kura_error_set(KURA_ENOMEM, "snapshot: out of memory (%u packs)",
					     npacks);
			goto done;
		}
		memcpy(s->packs, names, (size_t)npacks * KURA_HASH_SIZE);
	}
	s->npacks = npacks;
	if (sum.text) {
		if (!(s->summary = strndup((const char *)sum.text, sum.len))) {
			err = kura_error_set(KURA_ENOMEM, "snapshot: out of memory");
			goto done;
		}
		s->verdict = sum.parsed.verdict;
		s->score = sum.parsed.score;
	}
	if (!keys || keys->kind != KURA_KEY_RESTORE)
		goto out;

	if ((err = kura_unseal_key(data_key, sealed, keys->repo_pk, keys->repo_sk)) < 0) {
		err = kura_error_wrap(err, "snapshot: sealed data key");
		goto done;
	}
	body_len = box_len - KURA_AEAD_OVERHEAD;
	if (!(body = malloc(body_len ? body_len : 1))) {
		err = kura_error_set(KURA_ENOMEM, "snapshot: out of memory (%zu bytes)", body_len);
		goto done;
	}
	if ((err = kura_aead_open(body, data_key, data, aad_len, data + aad_len, box_len)) < 0) {
		err = kura_error_wrap(err, "snapshot: body");
		goto done;
	}
	if ((err = parse_body(s, body, body_len)) < 0)
		goto done;
out:
	*out = s;
	s = NULL;
done:
	kura_wipe(data_key, sizeof(data_key));
	if (body) {
		kura_wipe(body, body_len);
		free(body);
	}
	kura_snapshot_free(s);
	return err;
}

static void free_strings(char **list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void kura_snapshot_free(kura_snapshot *s)
{
	if (!s)
		return;
	free(s->packs);
	free(s->hostname);
	free(s->username);
	free_strings(s->paths, s->npaths);
	free_strings(s->tags, s->ntags);
	free_strings(s->excludes, s->nexcludes);
	free_strings(s->changed, s->nchanged);
	free(s->program);
	free(s->summary);
	free(s->detection);
	free(s);
}

bool kura_snapshot_changed(const kura_snapshot *s, const char *path)
{
	char *clean;
	bool found;

	if (!s || !s->nchanged)
		return false;
	if (!(clean = kura_utf8_sanitize(path)))
		return false; /* out of memory: only a mark is lost */
	found = bsearch(&clean, s->changed, s->nchanged, sizeof(char *), str_cmp) != NULL;
	free(clean);
	return found;
}
