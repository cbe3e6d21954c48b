/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quarantine.c - making quarantine records, listing them, filing and
 * carrying out the requests that end them, and the serve tick that logs
 * them (quarantine.h).
 *
 * Every doubt resolves to hiding and keeping: a record that cannot be
 * read stops the hidden table from shrinking, a removal that fails leaves
 * its record quarantined, and nothing is removed before its audit entry
 * is written.
 */
#include "quarantine.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/error.h"
#include "files.h"
#include "format/indexfile.h"
#include "kura/keyless.h"
#include "provenance.h"
#include "store_stat.h"

/* ------------------------------------------------------------------ */
/* Making a record                                                     */

typedef struct {
	char name[KURA_ID_HEX];
	kura_file_type type;
	int64_t received_ns;
	size_t seq;  /* line order: the first line of a name counts */
	bool theirs; /* uploaded by the revoked client */
} upload;

typedef struct {
	const char *client;
	upload *u;
	size_t n, cap;
} uploads;

static int collect_upload(const provenance_entry *e, void *ctx)
{
	uploads *us = ctx;

	if (us->n == us->cap) {
		size_t cap = us->cap ? us->cap * 2 : 1024;
		upload *grown = realloc(us->u, cap * sizeof(*grown));

		if (!grown)
			return kura_error_set(KURA_ENOMEM,
					      "out of memory reading the upload record");
		us->u = grown;
		us->cap = cap;
	}
	memcpy(us->u[us->n].name, e->name, KURA_ID_HEX);
	us->u[us->n].type = e->type;
	us->u[us->n].received_ns = e->received_ns;
	us->u[us->n].seq = us->n;
	us->u[us->n].theirs = strcmp(e->client, us->client) == 0;
	us->n++;
	return 0;
}

static int cmp_upload(const void *a, const void *b)
{
	const upload *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The stored size of a file, or -1 when it is not stored. */
static int64_t stored_size(const char *dir, const char *repo, kura_file_type type, const char *name)
{
	char path[4096];
	struct stat st;

	if (type == KURA_FILE_PACK)
		snprintf(path, sizeof(path), "%s/repos/%s/data/%.2s/%s", dir, repo, name, name);
	else
		snprintf(path, sizeof(path), "%s/repos/%s/%s/%s", dir, repo,
			 kura_file_type_name(type), name);
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	return (int64_t)st.st_size;
}

/* Names held by any record of `repo` (sorted): never quarantined twice. */
typedef struct {
	char (*names)[KURA_ID_HEX];
	size_t n;
} name_set;

static bool in_set(const name_set *s, const char *name)
{
	return s->n && bsearch(name, s->names, s->n, sizeof(*s->names), cmp_name);
}

static int records_of(const quarantine_rec *rs, size_t nrs, const char *repo, bool held_only,
		      name_set *out)
{
	size_t cap = 0;

	out->names = NULL;
	out->n = 0;
	for (size_t i = 0; i < nrs; i++)
		if (strcmp(rs[i].repo, repo) == 0 && (!held_only || rs[i].state == QUARANTINE_HELD))
			cap += rs[i].nfiles;
	if (cap && !(out->names = malloc(cap * sizeof(*out->names))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	for (size_t i = 0; i < nrs; i++)
		if (strcmp(rs[i].repo, repo) == 0 && (!held_only || rs[i].state == QUARANTINE_HELD))
			for (size_t j = 0; j < rs[i].nfiles; j++)
				memcpy(out->names[out->n++], rs[i].files[j].name, KURA_ID_HEX);
	if (out->n)
		qsort(out->names, out->n, sizeof(*out->names), cmp_name);
	return 0;
}

typedef struct {
	char (*names)[KURA_ID_HEX];
	size_t n, cap;
	int err;
} name_list;

static int collect_name(const char *name, uint64_t size, void *ctx)
{
	name_list *l = ctx;

	if (!kura_file_name_is_valid(name))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char(*grown)[KURA_ID_HEX] = realloc(l->names, cap * sizeof(*grown));

		if (!grown)
			return l->err = kura_error_set(KURA_ENOMEM, "out of memory");
		l->names = grown;
		l->cap = cap;
	}
	memcpy(l->names[l->n++], name, KURA_ID_HEX);
	return 0;
}

/*
 * Mark in keep[] the packs among `files` that a visible snapshot (stored,
 * not among `files`, not in a quarantined record) names: they stay visible.
 * A snapshot that cannot be read or is not a snapshot names nothing.
 */
static int mark_kept(kura_backend *b, const quarantine_file *files, size_t n, const name_set *held,
		     bool *keep)
{
	name_list snaps = {0};
	quarantine_file key;
	int err;

	if ((err = b->list(b, KURA_FILE_SNAPSHOT, collect_name, &snaps)) < 0 ||
	    (err = snaps.err) < 0)
		goto done;
	for (size_t i = 0; i < snaps.n; i++) {
		char(*packs)[KURA_ID_HEX] = NULL;
		size_t npacks = 0, len = 0;
		uint8_t *data = NULL;
		int64_t claimed;

		memcpy(key.name, snaps.names[i], KURA_ID_HEX);
		if (bsearch(&key, files, n, sizeof(*files), quarantine_file_cmp) ||
		    in_set(held, snaps.names[i]))
			continue;
		if (b->get(b, KURA_FILE_SNAPSHOT, snaps.names[i], &data, &len) < 0 ||
		    kura_snapshot_peek(data, len, &claimed, &packs, &npacks) < 0) {
			kura_error_clear();
			free(data);
			continue;
		}
		for (size_t j = 0; j < npacks; j++) {
			const quarantine_file *hit;

			memcpy(key.name, packs[j], KURA_ID_HEX);
			hit = bsearch(&key, files, n, sizeof(*files), quarantine_file_cmp);
			if (hit && hit->type == KURA_FILE_PACK)
				keep[hit - files] = true;
		}
		free(packs);
		free(data);
	}
done:
	free(snaps.names);
	return err;
}

/*
 * Mark in keep[] the index files among `files` that describe a pack kept
 * visible: without them a reader would find the blobs of a visible
 * snapshot in no index.  Index entries are only hints a reader checks
 * against the data (docs/FORMAT.md), so one that lies costs it a retry,
 * never a wrong byte.
 */
static int mark_kept_indexes(kura_backend *b, const quarantine_file *files, size_t n, bool *keep)
{
	char hex[KURA_ID_HEX];

	for (size_t i = 0; i < n; i++) {
		uint8_t(*packs)[KURA_HASH_SIZE] = NULL, *data = NULL;
		size_t npacks = 0, len = 0;

		if (files[i].type != KURA_FILE_INDEX)
			continue;
		if (b->get(b, KURA_FILE_INDEX, files[i].name, &data, &len) < 0 ||
		    kura_indexfile_packs(&packs, &npacks, data, len) < 0) {
			kura_error_clear();
			free(data);
			continue;
		}
		for (size_t j = 0; j < npacks && !keep[i]; j++) {
			const quarantine_file *hit;
			quarantine_file key;

			kura_hex(hex, packs[j], KURA_HASH_SIZE);
			memcpy(key.name, hex, KURA_ID_HEX);
			hit = bsearch(&key, files, n, sizeof(*files), quarantine_file_cmp);
			keep[i] = hit && hit->type == KURA_FILE_PACK && keep[hit - files];
		}
		free(packs);
		free(data);
	}
	return 0;
}

/* The client `name` of v, which must be one that uploads (a writer or a reader). */
static int uploader(const vault *v, const char *name, const vault_client **out)
{
	if (!(*out = vault_client_named(v, name)))
		return kura_error_set(KURA_ENOTFOUND, "no client '%s' in this vault", name);
	if (!(*out)->repo[0])
		return kura_error_set(KURA_EINVAL, "client '%s' is an auditor: it uploads nothing",
				      name);
	return 0;
}

typedef struct {
	const char *id;
	size_t len;
	provenance_entry found;
	bool ambiguous;
} snapshot_match;

static int match_snapshot(const provenance_entry *e, void *ctx)
{
	snapshot_match *m = ctx;

	if (e->type != KURA_FILE_SNAPSHOT || strncmp(e->name, m->id, m->len) != 0)
		return 0;
	if (!m->found.name[0])
		m->found = *e; /* the first line of a name is the one that counts */
	else if (strcmp(m->found.name, e->name) != 0)
		m->ambiguous = true;
	return 0;
}

int quarantine_after_snapshot(const char *dir, const char *name, const char *id, int64_t *since_ns)
{
	snapshot_match m = {.id = id, .len = strlen(id)};
	const vault_client *c;
	vault *v = NULL;
	int err;

	if (m.len < 8 || m.len > KURA_ID_HEX - 1 || strspn(id, "0123456789abcdef") != m.len)
		return kura_error_set(
		    KURA_EINVAL, "'%s' is not a snapshot id (8 to 64 lowercase hex digits)", id);
	if ((err = vault_open_readonly(&v, dir)) < 0)
		return err;
	if ((err = uploader(v, name, &c)) < 0 ||
	    (err = provenance_each(dir, c->repo, match_snapshot, &m)) < 0)
		goto done;
	if (m.ambiguous)
		err = kura_error_set(KURA_EINVAL,
				     "snapshot id '%s' is ambiguous in repository %s: give more "
				     "digits",
				     id, c->repo);
	else if (!m.found.name[0])
		err = kura_error_set(KURA_ENOTFOUND,
				     "repository %s has no snapshot %s on record as received",
				     c->repo, id);
	else
		*since_ns = m.found.received_ns + 1;
done:
	vault_free(v);
	return err;
}

int quarantine_make(const char *dir, const char *name, int64_t since_ns, int64_t now_ns,
		    quarantine_rec *out)
{
	uploads us = {.client = name};
	quarantine_rec *rs = NULL;
	name_set all = {0}, held = {0};
	const vault_client *c;
	quarantine_file *files = NULL;
	bool *keep = NULL;
	size_t nrs = 0, nfiles = 0, nkept = 0, i;
	char *ddir = NULL;
	kura_backend *b;
	store_stat *ss = NULL; /* sizes on a store without local files (S3) */
	vault *v = NULL;
	int fd = -1, err;

	memset(out, 0, sizeof(*out));
	if ((err = vault_open_readonly(&v, dir)) < 0)
		return err;
	if ((err = uploader(v, name, &c)) < 0 || (err = vault_repo(v, c->repo, &b)) < 0 ||
	    (!vault_on_disk(v) && (err = store_stat_new(&ss, b)) < 0))
		goto done;
	/* The deletion lock also guards the records: ids and "held already" stay true. */
	if ((err = deletion_store_lock(dir, &fd, &ddir)) < 0 ||
	    (err = quarantine_rec_load_all(dir, &rs, &nrs)) < 0 ||
	    (err = records_of(rs, nrs, c->repo, false, &all)) < 0 ||
	    (err = records_of(rs, nrs, c->repo, true, &held)) < 0 ||
	    (err = provenance_each(dir, c->repo, collect_upload, &us)) < 0)
		goto done;
	if (us.n)
		qsort(us.u, us.n, sizeof(*us.u), cmp_upload);
	if (us.n && !(files = calloc(us.n, sizeof(*files)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < us.n; i++) {
		const upload *u = &us.u[i];
		int64_t size;

		/* Only the first line of a name counts: a file is never re-attributed. */
		if (i > 0 && strcmp(us.u[i - 1].name, u->name) == 0)
			continue;
		if (!u->theirs || u->received_ns < since_ns || in_set(&all, u->name))
			continue;
		size = ss ? store_stat_size(ss, u->type, u->name)
			  : stored_size(dir, c->repo, u->type, u->name);
		if (size < 0)
			continue; /* refused, removed, or never committed */
		files[nfiles].type = u->type;
		memcpy(files[nfiles].name, u->name, KURA_ID_HEX);
		files[nfiles].received_ns = u->received_ns;
		files[nfiles].size = (uint64_t)size;
		nfiles++;
	}
	if (nfiles && !(keep = calloc(nfiles, sizeof(*keep)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (nfiles && ((err = mark_kept(b, files, nfiles, &held, keep)) < 0 ||
		       (err = mark_kept_indexes(b, files, nfiles, keep)) < 0))
		goto done;
	for (i = 0; i < nfiles; i++)
		nkept += keep[i];
	strcpy(out->repo, c->repo);
	strcpy(out->client, name);
	out->since_ns = since_ns;
	out->made_ns = now_ns;
	out->state = QUARANTINE_HELD;
	if (nfiles == nkept) {
		out->nkept = nkept; /* nothing to hide: no record */
		goto done;
	}
	if ((nkept && !(out->kept = calloc(nkept, sizeof(*out->kept)))) ||
	    !(out->files = calloc(nfiles - nkept, sizeof(*out->files)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < nfiles; i++) {
		if (keep[i])
			memcpy(out->kept[out->nkept++], files[i].name, KURA_ID_HEX);
		else
			out->files[out->nfiles++] = files[i];
	}
	out->id = 1;
	for (i = 0; i < nrs; i++)
		if (rs[i].id >= out->id)
			out->id = rs[i].id + 1;
	if (out->id > QUARANTINE_ID_MAX) {
		err = kura_error_set(KURA_EINVAL, "no quarantine record ids left");
		goto done;
	}
	err = quarantine_rec_save(dir, out, true);
done:
	if (err < 0)
		quarantine_rec_free(out);
	deletion_store_unlock(fd);
	quarantine_recs_free(rs, nrs);
	free(all.names);
	free(held.names);
	free(us.u);
	free(files);
	free(keep);
	free(ddir);
	store_stat_free(ss); /* before the vault: it borrows the vault's backend */
	vault_free(v);
	return err;
}

/* ------------------------------------------------------------------ */
/* Listing                                                             */

static int add_time(json_t *o, const char *key, int64_t ns)
{
	char when[40];

	if (!ns)
		return json_object_set_new(o, key, json_null());
	files_format_time(when, ns);
	return json_object_set_new(o, key, json_string(when));
}

/* The record as listed: its file's object, readable times and counts per type. */
static json_t *listed(const quarantine_rec *r)
{
	json_t *o = quarantine_rec_json(r), *counts = json_object(), *f;
	size_t n[KURA_FILE_TYPES] = {0}, i;

	if (!o || !counts)
		goto fail;
	json_array_foreach(json_object_get(o, "files"), i, f)
	{
		n[r->files[i].type]++;
		if (add_time(f, "received", r->files[i].received_ns) < 0)
			goto fail;
	}
	for (int t = 0; t < KURA_FILE_TYPES; t++)
		if (json_object_set_new(counts, kura_file_type_name((kura_file_type)t),
					json_integer((json_int_t)n[t])) < 0)
			goto fail;
	if (add_time(o, "since", r->since_ns) < 0 || add_time(o, "made", r->made_ns) < 0 ||
	    add_time(o, "done", r->done_ns) < 0 || json_object_set_new(o, "counts", counts) < 0)
		goto fail_o;
	json_object_del(o, "logged"); /* the vault's bookkeeping, not the answer's */
	return o;
fail:
	json_decref(counts);
fail_o:
	json_decref(o);
	return NULL;
}

int quarantine_list_json(const char *dir, const char *repo, json_t **out)
{
	quarantine_rec *rs = NULL;
	json_t *arr = json_array(), *o;
	size_t n = 0;
	int err;

	*out = NULL;
	if (!arr)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = quarantine_rec_load_all(dir, &rs, &n)) < 0) {
		json_decref(arr);
		return err;
	}
	for (size_t i = 0; i < n; i++) {
		if (repo && strcmp(rs[i].repo, repo) != 0)
			continue;
		if (!(o = listed(&rs[i])) || json_array_append_new(arr, o) < 0) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			break;
		}
	}
	quarantine_recs_free(rs, n);
	if (err < 0)
		json_decref(arr);
	else
		*out = arr;
	return err;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

int quarantine_request(const char *dir, unsigned long qid, deletion_kind kind, const char *by,
		       int64_t now_ns, unsigned long *out_id)
{
	deletion_req r = {0}, *all = NULL;
	quarantine_rec q = {0};
	size_t nall = 0, i;
	unsigned long last = 0;
	char *ddir = NULL;
	int fd = -1, err;

	*out_id = 0;
	if (kind == DELETION_KIND_DELETE || !vault_name_ok(by))
		return kura_error_set(KURA_EINVAL, "not a quarantine request");
	if ((err = deletion_store_lock(dir, &fd, &ddir)) < 0 ||
	    (err = quarantine_rec_load(dir, qid, &q)) < 0 ||
	    (err = deletion_store_load_all(dir, &all, &nall)) < 0)
		goto done;
	if (q.state != QUARANTINE_HELD) {
		err = kura_error_set(KURA_EINVAL, "quarantine record %lu is %s already", qid,
				     quarantine_state_name(q.state));
		goto done;
	}
	for (i = 0; i < nall; i++) {
		if (all[i].id > last)
			last = all[i].id;
		if (!all[i].corrupt && all[i].state == DELETION_PENDING &&
		    all[i].kind != DELETION_KIND_DELETE && all[i].quarantine_id == qid) {
			err =
			    kura_error_set(KURA_EEXISTS,
					   "request %lu (%s) is pending for quarantine record %lu "
					   "already: approve or cancel it first",
					   all[i].id, deletion_store_kind_name(all[i].kind), qid);
			goto done;
		}
	}
	if (last >= DELETION_ID_MAX) {
		err = kura_error_set(KURA_EINVAL, "no deletion request ids left");
		goto done;
	}
	if (!(r.snaps = calloc(q.nfiles, sizeof(*r.snaps)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < q.nfiles; i++) /* sorted and unique, as a request's names must be */
		memcpy(r.snaps[i], q.files[i].name, KURA_ID_HEX);
	r.nsnaps = q.nfiles;
	r.id = last + 1;
	r.kind = kind;
	r.quarantine_id = qid;
	strcpy(r.repo, q.repo);
	strcpy(r.requested_by, by);
	r.requested_ns = now_ns;
	r.state = DELETION_PENDING;
	if ((err = deletion_store_save(ddir, &r, true)) == 0)
		*out_id = r.id;
done:
	deletion_store_unlock(fd);
	deletion_store_reqs_free(all, nall);
	deletion_store_req_free(&r);
	quarantine_rec_free(&q);
	free(ddir);
	return err;
}

/* Remove the files of `q` that `r` names; *failed counts those that stay. */
static int remove_files(vault_audit *a, kura_backend *b, const quarantine_rec *q,
			const deletion_req *r, size_t *removed, uint64_t *bytes, size_t *failed)
{
	char path[200];
	int err;

	for (size_t i = 0; i < q->nfiles; i++) {
		const quarantine_file *f = &q->files[i];

		if (!bsearch(f->name, r->snaps, r->nsnaps, sizeof(*r->snaps), cmp_name))
			continue; /* added to the record after the request was signed */
		snprintf(path, sizeof(path), "/v1/repos/%s/%s/%s", q->repo,
			 kura_file_type_name(f->type), f->name);
		if ((err = audit_local(a, "kurad", "vault", "DELETE", path, 200, f->size)) < 0)
			return kura_error_wrap(err,
					       "cannot log the removal of %s, so it is not "
					       "removed",
					       path);
		err = kura_backend_remove(b, f->type, f->name);
		if (err == 0) {
			(*removed)++;
			*bytes += f->size;
		} else if (err != KURA_ENOTFOUND) {
			(*failed)++;
			if ((err = audit_local(a, "kurad", "vault", "DELETE", path, 500, 0)) < 0)
				return err;
		}
	}
	return 0;
}

int quarantine_carry_out(vault *v, vault_audit *a, deletion_req *r, int64_t now_ns)
{
	const char *dir = vault_dir(v);
	bool release = r->kind == DELETION_KIND_QUARANTINE_RELEASE;
	quarantine_rec q = {0};
	json_t *result = NULL;
	size_t removed = 0, failed = 0;
	uint64_t bytes = 0;
	kura_backend *b;
	char path[160];
	int err;

	if ((err = quarantine_rec_load(dir, r->quarantine_id, &q)) < 0 && err != KURA_ENOTFOUND)
		return err;
	if (err == KURA_ENOTFOUND || strcmp(q.repo, r->repo) != 0 || q.state != QUARANTINE_HELD) {
		result = json_pack("{s:s}", "error",
				   err == KURA_ENOTFOUND ? "no such quarantine record"
				   : q.state != QUARANTINE_HELD
				       ? "the quarantine record was released or removed already"
				       : "the quarantine record is of another repository");
		err = 0;
		goto finish;
	}
	snprintf(path, sizeof(path), "/v1/repos/%s/quarantine/%lu", q.repo, q.id);
	for (size_t i = 0; i < q.nfiles; i++)
		bytes += q.files[i].size;
	if (release) {
		if ((err = audit_local(a, "kurad", "vault", "QUARANTINE-RELEASE", path, 200,
				       bytes)) < 0)
			goto done;
		q.state = QUARANTINE_RELEASED;
		result = json_pack("{s:I}", "files_released", (json_int_t)q.nfiles);
	} else {
		bytes = 0;
		if ((err = vault_repo(v, q.repo, &b)) < 0 ||
		    (err = vault_repo_lock_exclusive(v, q.repo)) < 0)
			goto done;
		err = remove_files(a, b, &q, r, &removed, &bytes, &failed);
		vault_repo_unlock(v, q.repo);
		if (err < 0)
			goto done;
		if ((err = audit_local(a, "kurad", "vault", "QUARANTINE-REMOVE", path,
				       failed ? 500 : 200, bytes)) < 0)
			goto done;
		/* What could not be removed stays hidden: the record stays quarantined. */
		if (!failed)
			q.state = QUARANTINE_REMOVED;
		result = json_pack("{s:I, s:I, s:I}", "files_removed", (json_int_t)removed,
				   "bytes_removed", (json_int_t)bytes, "files_failed",
				   (json_int_t)failed);
	}
	if (q.state != QUARANTINE_HELD) {
		q.request = r->id;
		q.done_ns = now_ns;
		if ((err = quarantine_rec_save(dir, &q, false)) < 0)
			goto done;
	}
finish:
	if (!result) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	json_decref(r->result);
	r->result = result;
	result = NULL;
	r->state = DELETION_DONE;
	r->done_ns = now_ns;
done:
	json_decref(result);
	quarantine_rec_free(&q);
	return err;
}

/* ------------------------------------------------------------------ */
/* The serve tick                                                      */

int quarantine_tick(vault *v, quarantine_view *q)
{
	const char *dir = vault_dir(v);
	vault_audit *a = vault_get_audit(v);
	quarantine_rec *rs = NULL;
	size_t n = 0;
	char *ddir = NULL, path[160];
	int fd = -1, err, first = 0;

	if (a && (err = deletion_store_lock(dir, &fd, &ddir)) == 0 &&
	    (err = quarantine_rec_load_all(dir, &rs, &n)) == 0) {
		for (size_t i = 0; i < n && !first; i++) {
			uint64_t bytes = 0;

			if (rs[i].logged)
				continue;
			for (size_t j = 0; j < rs[i].nfiles; j++)
				bytes += rs[i].files[j].size;
			snprintf(path, sizeof(path), "/v1/repos/%s/quarantine/%lu", rs[i].repo,
				 rs[i].id);
			rs[i].logged = true;
			if ((err = audit_local(a, rs[i].client, "revoked", "QUARANTINE", path, 200,
					       bytes)) < 0 ||
			    (err = quarantine_rec_save(dir, &rs[i], false)) < 0)
				first = err;
		}
	} else if (a) {
		first = err;
	}
	deletion_store_unlock(fd);
	quarantine_recs_free(rs, n);
	free(ddir);
	/* The table follows the records even when logging failed. */
	if ((err = quarantine_view_refresh(q, dir, false)) < 0 && !first)
		first = err;
	return first;
}
