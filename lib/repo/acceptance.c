/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acceptance.c - `kura scan --accept` and the acceptance records the
 * backups read (include/kura/accept.h, repo/acceptance.h; the record's
 * bytes are format/acceptrec.c's).
 *
 * What is accepted comes from the scan's judgement of the snapshot, never
 * from the operator's typing: every file it names with content signals
 * only gives its directory and extension.  Notes and onion addresses are
 * never accepted: a file named for one makes no part of the record, and
 * a snapshot with nothing else cannot be accepted at all.
 */
#include "kura/accept.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/array.h"
#include "common/buf.h"
#include "common/error.h"
#include "detect/judge.h"
#include "format/acceptrec.h"
#include "kura/keyless.h"
#include "kura/scan.h"
#include "repo/acceptance.h"

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static size_t sort_unique(uint64_t *v, size_t n)
{
	size_t k = 0;

	if (n > 1)
		qsort(v, n, sizeof(*v), u64_cmp);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || v[i] != v[k - 1])
			v[k++] = v[i];
	return k;
}

static uint32_t signal_bit(const char *name)
{
	for (int s = 0; s < KURA_SIG_COUNT; s++)
		if (name && strcmp(name, kura_detect_signal_name((kura_signal)s)) == 0)
			return 1u << s;
	return 1u << 31; /* unknown: never accepted */
}

/* A line of the details, once per distinct text (the details are for people). */
static int detail_line(kura_buf *b, json_t *seen, const char *kind, const char *text, size_t len)
{
	char *line;
	int err = 0;

	if (asprintf(&line, "%s %.*s\n", kind, (int)len, text) < 0)
		return kura_error_set(KURA_ENOMEM, "accept: out of memory");
	if (!json_object_get(seen, line) && b->len + strlen(line) < KURA_ACCEPTREC_DETAILS_MAX) {
		json_object_set_new(seen, line, json_true());
		err = kura_buf_put(b, line, strlen(line))
			  ? kura_error_set(KURA_ENOMEM, "accept: out of memory")
			  : 0;
	}
	free(line);
	return err;
}

/* Fill *rec's lists and details from the scan's record of the snapshot. */
static int from_record(kura_acceptrec *rec, const uint8_t key[16], const char *record,
		       const char *reason, size_t *out_skipped)
{
	json_t *r = json_loads(record ? record : "{}", 0, NULL), *f, *seen = json_object();
	kura_buf details = KURA_BUF_INIT;
	size_t i, dcap = 0, ecap = 0;
	int err = 0;

	*out_skipped = 0;
	if (!r || !seen) {
		err = kura_error_set(KURA_ENOMEM, "accept: out of memory");
		goto done;
	}
	if (kura_buf_put(&details, "reason ", 7) ||
	    kura_buf_put(&details, reason && *reason ? reason : "(none given)",
			 strlen(reason && *reason ? reason : "(none given)")) ||
	    kura_buf_put(&details, "\n", 1)) {
		err = kura_error_set(KURA_ENOMEM, "accept: out of memory");
		goto done;
	}
	json_array_foreach(json_object_get(r, "files"), i, f)
	{
		const char *path = json_string_value(json_object_get(f, "path")), *slash, *dot;
		uint32_t mask = 0;
		size_t j;
		json_t *why;

		json_array_foreach(json_object_get(f, "reasons"), j, why) mask |=
		    signal_bit(json_string_value(why));
		slash = path ? strrchr(path, '/') : NULL;
		dot = slash ? strrchr(slash, '.') : NULL;
		if (!mask || (mask & ~KURA_ACCEPTREC_SIGNALS) || !dot || dot == slash + 1 ||
		    slash == path) {
			(*out_skipped)++; /* a note, an onion, or a name without an extension */
			continue;
		}
		if ((err = KURA_ARRAY_GROW(rec->dirs, dcap, rec->ndirs + 1)) < 0 ||
		    (err = KURA_ARRAY_GROW(rec->exts, ecap, rec->nexts + 1)) < 0)
			goto done;
		rec->dirs[rec->ndirs++] = kura_acceptrec_hash(key, path, (size_t)(slash - path));
		rec->exts[rec->nexts++] = kura_acceptrec_hash(key, dot, strlen(dot));
		rec->signals |= mask;
		if ((err = detail_line(&details, seen, "dir", path, (size_t)(slash - path))) < 0 ||
		    (err = detail_line(&details, seen, "ext", dot, strlen(dot))) < 0)
			goto done;
	}
	rec->ndirs = sort_unique(rec->dirs, rec->ndirs);
	rec->nexts = sort_unique(rec->exts, rec->nexts);
	if (kura_buf_put(&details, "", 1)) {
		err = kura_error_set(KURA_ENOMEM, "accept: out of memory");
		goto done;
	}
	rec->details = (char *)details.data;
	details.data = NULL;
done:
	kura_buf_free(&details);
	json_decref(r);
	json_decref(seen);
	return err;
}

static void info_from(kura_accept_info *out, const char *id, const kura_acceptrec *rec)
{
	memcpy(out->id, id, KURA_ID_HEX);
	kura_hex(out->snapshot, rec->snapshot, KURA_HASH_SIZE);
	out->time_ns = rec->time_ns;
	out->signals = rec->signals;
	out->ndirs = rec->ndirs;
	out->nexts = rec->nexts;
}

int kura_scan_accept(kura_repo *repo, const char *snapshot, const char *reason,
		     kura_accept_info *out)
{
	kura_scan_result scan = {0};
	kura_snapshot *snap = NULL;
	kura_acceptrec rec = {0};
	uint8_t key[16], name[KURA_HASH_SIZE], *data = NULL;
	char id[KURA_ID_HEX], hex[KURA_ID_HEX], *source = NULL;
	const char *ids[1] = {id};
	struct timespec ts;
	size_t len = 0, skipped = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = kura_repo__need_restore_key(repo, "accepting a snapshot")) < 0 ||
	    (err = kura_snapshot_resolve(repo, snapshot, id)) < 0 ||
	    (err = kura_repo__load_snapshot(repo, id, &snap)) < 0)
		return err;
	if (!(source = kura_scan__source_key(snap))) {
		err = kura_error_set(KURA_ENOMEM, "accept: out of memory");
		goto done;
	}
	if ((err = kura_scan(repo, ids, 1, &scan)) < 0)
		goto done;
	kura_acceptrec_key(key, repo->keys.id_key);
	if ((err = from_record(&rec, key, scan.nsnapshots ? scan.snapshots[0].record : NULL, reason,
			       &skipped)) < 0)
		goto done;
	if (rec.ndirs == 0) {
		err = kura_error_set(KURA_EINVAL,
				     "snapshot %.12s: the scan names no file whose alarm can be "
				     "accepted (%zu named for notes, onion addresses or without an "
				     "extension, which are never accepted)",
				     id, skipped);
		goto done;
	}
	if (rec.ndirs > KURA_ACCEPTREC_MAX_DIRS || rec.nexts > KURA_ACCEPTREC_MAX_EXTS) {
		err = kura_error_set(
		    KURA_EINVAL,
		    "snapshot %.12s: its suspect files are in %zu directories with "
		    "%zu extensions (an acceptance holds at most %d and %d: it is for "
		    "one job's false alarm, not for a tree)",
		    id, rec.ndirs, rec.nexts, KURA_ACCEPTREC_MAX_DIRS, KURA_ACCEPTREC_MAX_EXTS);
		goto done;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	rec.time_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	kura_unhex(rec.snapshot, id, KURA_HASH_SIZE);
	rec.source = kura_acceptrec_hash(key, source, strlen(source));
	if ((err = kura_acceptrec_encode(&data, &len, name, repo->keys.repo_pk, &rec)) < 0)
		goto done;
	kura_hex(hex, name, KURA_HASH_SIZE);
	if ((err = repo->backend->put(repo->backend, KURA_FILE_ACCEPT, hex, data, len)) < 0 &&
	    err != KURA_EEXISTS)
		goto done;
	err = 0;
	info_from(out, hex, &rec);
	out->details = rec.details;
	rec.details = NULL;
done:
	kura_acceptrec_clear(&rec);
	kura_scan_result_clear(&scan);
	kura_snapshot_free(snap);
	free(source);
	free(data);
	kura_wipe(key, sizeof(key));
	return err;
}

/* Read and decode record `id`; 1 if it is damaged (noted), 0, or < 0. */
static int load_record(kura_repo *repo, const char *id, const kura_keys *keys, kura_acceptrec *out,
		       char **damage)
{
	kura_backend *b = repo->backend;
	uint8_t *data = NULL;
	size_t len = 0;
	int e;

	*damage = NULL;
	if ((e = kura_backend_get_verified(b, KURA_FILE_ACCEPT, id, &data, &len)) < 0) {
		if (!kura_repo__is_damage(e))
			return e;
	} else {
		e = kura_acceptrec_decode(out, keys, data, len);
	}
	free(data);
	if (e == 0)
		return 0;
	if (e == KURA_ENOMEM)
		return e;
	*damage = strdup(kura_error_message());
	kura_repo__damaged(repo, KURA_FILE_ACCEPT, id, "%s", kura_error_message());
	return 1;
}

static int info_cmp(const void *x, const void *y)
{
	const kura_accept_info *a = x, *b = y;

	if (a->time_ns != b->time_ns)
		return a->time_ns < b->time_ns ? -1 : 1;
	return strcmp(a->id, b->id);
}

int kura_accepts_list(kura_repo *repo, kura_accept_info **out, size_t *out_count)
{
	kura_backend *b = repo->backend;
	kura_listed_file *names = NULL;
	size_t count = 0;
	kura_accept_info *list = NULL;
	const kura_keys *keys = kura_repo_can_read(repo) ? &repo->keys : NULL;
	int err;

	*out = NULL;
	*out_count = 0;
	if ((err = kura_list_files(&names, &count, b, KURA_FILE_ACCEPT)) < 0)
		goto done;
	if (count && !(list = calloc(count, sizeof(*list)))) {
		err = kura_error_set(KURA_ENOMEM, "acceptances: out of memory");
		goto done;
	}
	for (size_t i = 0; i < count; i++) {
		kura_acceptrec rec = {0};

		memcpy(list[i].id, names[i].name, KURA_ID_HEX);
		if ((err = load_record(repo, names[i].name, keys, &rec, &list[i].damage)) < 0)
			goto done;
		if (err == 0) {
			info_from(&list[i], names[i].name, &rec);
			list[i].details = rec.details;
			rec.details = NULL;
		}
		kura_acceptrec_clear(&rec);
	}
	err = 0;
	if (count > 1)
		qsort(list, count, sizeof(*list), info_cmp);
	*out = list;
	*out_count = count;
	list = NULL;
done:
	if (list)
		kura_accepts_free(list, count);
	free(names);
	return err;
}

void kura_accept_info_clear(kura_accept_info *a)
{
	if (!a)
		return;
	free(a->details);
	free(a->damage);
	memset(a, 0, sizeof(*a));
}

void kura_accepts_free(kura_accept_info *list, size_t count)
{
	for (size_t i = 0; list && i < count; i++)
		kura_accept_info_clear(&list[i]);
	free(list);
}

int kura_repo__accepts_for(kura_repo *repo, const char *source, kura_detect_accepts *out)
{
	kura_listed_file *names = NULL;
	size_t count = 0;
	uint64_t want;
	int err;

	memset(out, 0, sizeof(*out));
	kura_acceptrec_key(out->key, repo->keys.id_key);
	want = kura_acceptrec_hash(out->key, source, strlen(source));
	if ((err = kura_list_files(&names, &count, repo->backend, KURA_FILE_ACCEPT)) < 0)
		goto done;
	for (size_t i = 0; i < count; i++) {
		kura_acceptrec rec = {0};
		char snap[KURA_ID_HEX], *damage = NULL;

		err = load_record(repo, names[i].name, NULL, &rec, &damage);
		free(damage);
		if (err < 0)
			goto done;
		if (err == 0 && rec.source == want) {
			kura_hex(snap, rec.snapshot, KURA_HASH_SIZE);
			err = kura_detect_accepts_add(out, rec.dirs, rec.ndirs, rec.exts, rec.nexts,
						      rec.signals, rec.time_ns, snap);
		}
		kura_acceptrec_clear(&rec);
		if (err < 0)
			goto done;
	}
	err = 0;
done:
	free(names);
	if (err < 0)
		kura_detect_accepts_clear(out);
	return err;
}
