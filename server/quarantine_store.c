/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quarantine_store.c - reading and writing quarantine records
 * (quarantine_store.h).  The parser takes nothing on trust: the vault
 * directory is the operator's, but a record decides what clients can see,
 * so every member is checked and anything unexpected is refused by name.
 */
#include "quarantine_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "files.h"
#include "kura/keyless.h"

#define RECORD_MAX ((size_t)2 << 30) /* ten million files at ~150 bytes each */

const char *quarantine_state_name(quarantine_state s)
{
	return s == QUARANTINE_RELEASED	 ? "released"
	       : s == QUARANTINE_REMOVED ? "removed"
					 : "quarantined";
}

void quarantine_rec_free(quarantine_rec *r)
{
	if (!r)
		return;
	free(r->files);
	free(r->kept);
	memset(r, 0, sizeof(*r));
}

void quarantine_recs_free(quarantine_rec *rs, size_t n)
{
	for (size_t i = 0; rs && i < n; i++)
		quarantine_rec_free(&rs[i]);
	free(rs);
}

int quarantine_file_cmp(const void *a, const void *b)
{
	return strcmp(((const quarantine_file *)a)->name, ((const quarantine_file *)b)->name);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static json_t *opt_int(int64_t v)
{
	return v ? json_integer((json_int_t)v) : json_null();
}

json_t *quarantine_rec_json(const quarantine_rec *r)
{
	json_t *files = json_array(), *kept = json_array(), *item;
	size_t i;

	for (i = 0; files && i < r->nfiles; i++) {
		const quarantine_file *f = &r->files[i];

		item = json_pack("{s:s, s:s, s:I, s:I}", "type", kura_file_type_name(f->type),
				 "name", f->name, "received_ns", (json_int_t)f->received_ns, "size",
				 (json_int_t)f->size);
		if (!item || json_array_append_new(files, item) < 0)
			goto fail;
	}
	for (i = 0; kept && i < r->nkept; i++)
		if (json_array_append_new(kept, json_string(r->kept[i])) < 0)
			goto fail;
	if (!files || !kept)
		goto fail;
	return json_pack("{s:I, s:s, s:s, s:I, s:I, s:o, s:o, s:s, s:o, s:o, s:b}", "id",
			 (json_int_t)r->id, "repo", r->repo, "client", r->client, "since_ns",
			 (json_int_t)r->since_ns, "made_ns", (json_int_t)r->made_ns, "files", files,
			 "kept_visible", kept, "state", quarantine_state_name(r->state), "request",
			 opt_int((int64_t)r->request), "done_ns", opt_int(r->done_ns), "logged",
			 r->logged);
fail:
	json_decref(files);
	json_decref(kept);
	return NULL;
}

static int type_of(const char *s, kura_file_type *out)
{
	for (int t = 0; s && t < KURA_FILE_TYPES; t++)
		if (strcmp(s, kura_file_type_name((kura_file_type)t)) == 0) {
			*out = (kura_file_type)t;
			return 0;
		}
	return -1;
}

static int opt_pos(const json_t *j, int64_t *out)
{
	*out = 0;
	if (json_is_null(j))
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) <= 0)
		return -1;
	*out = (int64_t)json_integer_value(j);
	return 0;
}

int quarantine_rec_parse(quarantine_rec *r, const char *text, size_t len, const char *path,
			 unsigned long id)
{
	json_t *doc, *files, *kept, *req, *done_j, *item;
	const char *repo, *client, *state;
	json_int_t jid, since, made;
	json_error_t jerr;
	int logged, err = 0;
	int64_t reqid;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)))
		return kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
	if (json_unpack_ex(doc, &jerr, JSON_STRICT,
			   "{s:I, s:s, s:s, s:I, s:I, s:o, s:o, s:s, s:o, s:o, s:b}", "id", &jid,
			   "repo", &repo, "client", &client, "since_ns", &since, "made_ns", &made,
			   "files", &files, "kept_visible", &kept, "state", &state, "request", &req,
			   "done_ns", &done_j, "logged", &logged) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: %s", path, jerr.text);
		goto done;
	}
	if (jid <= 0 || (unsigned long long)jid != id || !vault_name_ok(repo) ||
	    !vault_name_ok(client) || since <= 0 || made <= 0) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: bad id (must match the file name), repo, client, "
				     "since_ns or made_ns",
				     path);
		goto done;
	}
	r->id = id;
	strcpy(r->repo, repo);
	strcpy(r->client, client);
	r->since_ns = since;
	r->made_ns = made;
	r->logged = logged != 0;
	r->state = strcmp(state, "quarantined") == 0 ? QUARANTINE_HELD
		   : strcmp(state, "released") == 0  ? QUARANTINE_RELEASED
		   : strcmp(state, "removed") == 0   ? QUARANTINE_REMOVED
						     : 0;
	if (!r->state || opt_pos(req, &reqid) < 0 || opt_pos(done_j, &r->done_ns) < 0 ||
	    (unsigned long long)reqid > QUARANTINE_ID_MAX ||
	    (r->state == QUARANTINE_HELD) != (reqid == 0 && r->done_ns == 0) ||
	    (r->state != QUARANTINE_HELD && (reqid == 0 || r->done_ns == 0))) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: state \"%s\" does not agree with request and done_ns",
				     path, state);
		goto done;
	}
	r->request = (unsigned long)reqid;
	if (!json_is_array(files) || json_array_size(files) > QUARANTINE_FILES_MAX ||
	    !json_is_array(kept) || json_array_size(kept) > QUARANTINE_FILES_MAX) {
		err = kura_error_set(KURA_ECORRUPT, "%s: bad files or kept_visible", path);
		goto done;
	}
	if ((json_array_size(files) &&
	     !(r->files = calloc(json_array_size(files), sizeof(*r->files)))) ||
	    (json_array_size(kept) &&
	     !(r->kept = calloc(json_array_size(kept), sizeof(*r->kept))))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	json_array_foreach(files, i, item)
	{
		quarantine_file *f = &r->files[i];
		const char *type, *name;
		json_int_t rns, size;

		if (json_unpack_ex(item, &jerr, JSON_STRICT, "{s:s, s:s, s:I, s:I}", "type", &type,
				   "name", &name, "received_ns", &rns, "size", &size) < 0 ||
		    type_of(type, &f->type) < 0 || !kura_file_name_is_valid(name) || rns <= 0 ||
		    size < 0) {
			err = kura_error_set(KURA_ECORRUPT,
					     "%s: file %zu is not {type, name, "
					     "received_ns, size}",
					     path, i);
			goto done;
		}
		memcpy(f->name, name, KURA_ID_HEX);
		f->received_ns = rns;
		f->size = (uint64_t)size;
		r->nfiles = i + 1;
	}
	json_array_foreach(kept, i, item)
	{
		if (!kura_file_name_is_valid(json_string_value(item))) {
			err = kura_error_set(KURA_ECORRUPT,
					     "%s: kept_visible %zu is not a file name", path, i);
			goto done;
		}
		memcpy(r->kept[i], json_string_value(item), KURA_ID_HEX);
		r->nkept = i + 1;
	}
	/* Sorted and unique, so that lookups may bsearch and nothing counts twice. */
	for (i = 1; i < r->nfiles; i++)
		if (strcmp(r->files[i - 1].name, r->files[i].name) >= 0) {
			err = kura_error_set(KURA_ECORRUPT, "%s: files are not sorted and unique",
					     path);
			goto done;
		}
	if (r->nkept)
		qsort(r->kept, r->nkept, sizeof(*r->kept), cmp_name);
done:
	json_decref(doc);
	if (err < 0)
		quarantine_rec_free(r);
	return err;
}

int quarantine_rec_load(const char *dir, unsigned long id, quarantine_rec *out)
{
	char path[4096], *text = NULL;
	size_t len;
	int err;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/quarantine/%lu.json", dir, id);
	if ((err = files_read(path, RECORD_MAX, &text, &len)) == 0)
		err = quarantine_rec_parse(out, text, len, path, id);
	else if (err == KURA_ENOTFOUND)
		err = kura_error_set(KURA_ENOTFOUND, "no quarantine record %lu", id);
	free(text);
	return err;
}

int quarantine_rec_load_all(const char *dir, quarantine_rec **out, size_t *out_n)
{
	char path[4096];
	quarantine_rec *rs = NULL;
	unsigned long *ids = NULL;
	size_t n = 0, nids, i;
	int err;

	*out = NULL;
	*out_n = 0;
	snprintf(path, sizeof(path), "%s/quarantine", dir);
	if ((err = files_record_ids(path, &ids, &nids)) < 0 || nids == 0)
		return err;
	if (!(rs = calloc(nids, sizeof(*rs)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < nids; i++, n++)
		if ((err = quarantine_rec_load(dir, ids[i], &rs[n])) < 0)
			goto done;
	*out = rs;
	*out_n = n;
	rs = NULL;
	n = 0;
done:
	free(ids);
	quarantine_recs_free(rs, n);
	return err;
}

int quarantine_rec_save(const char *dir, const quarantine_rec *r, bool fresh)
{
	char name[32], *qdir = NULL, *text;
	json_t *doc = quarantine_rec_json(r);
	int err;

	if (!doc)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	text = files_json_text(doc);
	json_decref(doc);
	if (!text)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	snprintf(name, sizeof(name), "%lu.json", r->id);
	if ((err = files_subdir(dir, "quarantine", &qdir)) == 0)
		err = files_write_atomic(qdir, name, text, fresh);
	free(qdir);
	free(text);
	return err;
}
