/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion_store.c - the deletion request files, DIR/deletions/ID.json
 * (deletion_store.h): parsing, writing and the lock.
 *
 * The request files are the whole state.  Every change is a
 * read-modify-write under an exclusive flock on DIR/deletions/.lock
 * (held by `kurad serve`'s request threads and its tick, and by `kurad
 * approve` / `kurad cancel` in their own processes), written to a
 * temporary file, fsynced, renamed into place and the directory fsynced:
 * a reader without the lock sees the old file or the new one, whole.
 *
 * Nothing in a request file is trusted.  It is parsed strictly each time
 * it is read; a file that does not parse is loaded as "corrupt" with the
 * reason, and nothing is ever carried out for it.
 */
#include "deletion_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "approvers.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "files.h"
#include "kura/keyless.h"

#define REQUEST_MAX (8 << 20) /* one request file (a 1 MiB body makes about 1.2 MiB) */
#define SIG_B64 KURA_BASE64_SIZE(KURA_SIGNATURE_SIZE)

const char *deletion_store_state_name(deletion_state s)
{
	return s == DELETION_PENDING ? "pending" : s == DELETION_CANCELLED ? "cancelled" : "done";
}

const char *deletion_store_kind_name(deletion_kind k)
{
	return k == DELETION_KIND_QUARANTINE_RELEASE  ? "quarantine-release"
	       : k == DELETION_KIND_QUARANTINE_REMOVE ? "quarantine-remove"
						      : "delete";
}

int deletion_store_kind_parse(const char *s, deletion_kind *out)
{
	if (strcmp(s, "quarantine-release") == 0)
		*out = DELETION_KIND_QUARANTINE_RELEASE;
	else if (strcmp(s, "quarantine-remove") == 0)
		*out = DELETION_KIND_QUARANTINE_REMOVE;
	else
		return -1;
	return 0;
}

void deletion_store_req_free(deletion_req *r)
{
	if (!r)
		return;
	free(r->corrupt);
	free(r->snaps);
	free(r->approvals);
	json_decref(r->result);
	memset(r, 0, sizeof(*r));
}

void deletion_store_reqs_free(deletion_req *rs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		deletion_store_req_free(&rs[i]);
	free(rs);
}

/* ------------------------------------------------------------------ */
/* Request files                                                       */

int deletion_store_cmp_name(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int sig_parse(const json_t *o, const char *path, const char *what, deletion_sig *out)
{
	const char *approver, *sig;
	json_int_t t;
	json_error_t jerr;
	int logged;

	memset(out, 0, sizeof(*out));
	if (json_unpack_ex((json_t *)o, &jerr, JSON_STRICT, "{s:s, s:I, s:s, s:b}", "approver",
			   &approver, "time_ns", &t, "sig", &sig, "logged", &logged) < 0)
		return kura_error_set(KURA_ECORRUPT, "%s: %s: %s", path, what, jerr.text);
	if (!vault_name_ok(approver) || t <= 0 ||
	    kura_unbase64(out->sig, sizeof(out->sig), sig) < 0)
		return kura_error_set(KURA_ECORRUPT, "%s: %s: bad approver, time_ns or sig", path,
				      what);
	strcpy(out->approver, approver);
	out->time_ns = (int64_t)t;
	out->logged = logged != 0;
	return 0;
}

/* null, or an integer > 0, into *out (0 for null). */
static int opt_time(const json_t *j, int64_t *out)
{
	*out = 0;
	if (json_is_null(j))
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) <= 0)
		return -1;
	*out = (int64_t)json_integer_value(j);
	return 0;
}

static int req_parse(deletion_req *r, const char *text, size_t len, const char *path,
		     unsigned long id)
{
	json_t *doc = NULL, *snaps = NULL, *files = NULL, *apps, *cancel, *quorum, *done_j, *result,
	       *item;
	const char *repo, *by, *state, *kind = NULL;
	json_int_t jid, rns, qid = 0;
	json_error_t jerr;
	int prune, err = 0;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->id = id;
	if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)))
		return kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
	if (json_unpack_ex(doc, &jerr, JSON_STRICT,
			   "{s:I, s:s, s:s, s:I, s?o, s?s, s?I, s?o, s:b, s:s, s:o, s:o, s:o, s:o, "
			   "s:o}",
			   "id", &jid, "repo", &repo, "requested_by", &by, "requested_ns", &rns,
			   "snapshots", &snaps, "kind", &kind, "quarantine", &qid, "files", &files,
			   "prune", &prune, "state", &state, "approvals", &apps, "cancellation",
			   &cancel, "quorum_ns", &quorum, "done_ns", &done_j, "result",
			   &result) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: %s", path, jerr.text);
		goto done;
	}
	/* A deletion names snapshots; a quarantine request its kind, record and files. */
	if (kind ? (snaps || !files || deletion_store_kind_parse(kind, &r->kind) < 0 || qid <= 0 ||
		    (unsigned long long)qid > DELETION_ID_MAX || prune)
		 : (!snaps || files || qid)) {
		err =
		    kura_error_set(KURA_ECORRUPT,
				   "%s: a request has \"snapshots\", or \"kind\" "
				   "(quarantine-release or quarantine-remove), \"quarantine\" and "
				   "\"files\" without prune",
				   path);
		goto done;
	}
	r->quarantine_id = (unsigned long)qid;
	if (kind)
		snaps = files;
	if (jid < 0 || (unsigned long)jid != id || !vault_name_ok(repo) || !vault_name_ok(by) ||
	    rns <= 0) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: bad id (must match the file name), repo, requested_by or "
				     "requested_ns",
				     path);
		goto done;
	}
	strcpy(r->repo, repo);
	strcpy(r->requested_by, by);
	r->requested_ns = (int64_t)rns;
	r->prune = prune != 0;
	if (!json_is_array(snaps) || json_array_size(snaps) > DELETION_SNAPSHOTS_MAX ||
	    !json_is_array(apps) || json_array_size(apps) > DELETION_APPROVALS_MAX) {
		err = kura_error_set(KURA_ECORRUPT, "%s: bad snapshots or approvals", path);
		goto done;
	}
	if (json_array_size(snaps) &&
	    !(r->snaps = calloc(json_array_size(snaps), sizeof(*r->snaps)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	json_array_foreach(snaps, i, item)
	{
		if (!kura_file_name_is_valid(json_string_value(item))) {
			err = kura_error_set(KURA_ECORRUPT, "%s: snapshot %zu is not a file name",
					     path, i);
			goto done;
		}
		memcpy(r->snaps[i], json_string_value(item), KURA_ID_HEX);
	}
	r->nsnaps = json_array_size(snaps);
	if (r->nsnaps)
		qsort(r->snaps, r->nsnaps, sizeof(*r->snaps), deletion_store_cmp_name);
	for (i = 1; i < r->nsnaps; i++)
		if (strcmp(r->snaps[i - 1], r->snaps[i]) == 0) {
			err = kura_error_set(KURA_ECORRUPT, "%s: snapshot %s named twice", path,
					     r->snaps[i]);
			goto done;
		}
	if (r->nsnaps == 0 && !r->prune) {
		err = kura_error_set(KURA_ECORRUPT, "%s: requests nothing", path);
		goto done;
	}
	if (json_array_size(apps) &&
	    !(r->approvals = calloc(json_array_size(apps), sizeof(*r->approvals)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	json_array_foreach(apps, i, item)
	{
		if ((err = sig_parse(item, path, "approval", &r->approvals[i])) < 0)
			goto done;
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->approvals[j].approver, r->approvals[i].approver) == 0) {
				err = kura_error_set(KURA_ECORRUPT, "%s: approver %s listed twice",
						     path, r->approvals[i].approver);
				goto done;
			}
		r->napprovals = i + 1;
	}
	if (!json_is_null(cancel)) {
		if ((err = sig_parse(cancel, path, "cancellation", &r->cancel)) < 0)
			goto done;
		r->has_cancel = true;
	}
	if (opt_time(quorum, &r->quorum_ns) < 0 || opt_time(done_j, &r->done_ns) < 0 ||
	    !(json_is_null(result) || json_is_object(result))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: bad quorum_ns, done_ns or result", path);
		goto done;
	}
	if (json_is_object(result))
		r->result = json_incref(result);
	r->state = strcmp(state, "pending") == 0     ? DELETION_PENDING
		   : strcmp(state, "cancelled") == 0 ? DELETION_CANCELLED
		   : strcmp(state, "done") == 0	     ? DELETION_DONE
						     : 0;
	/* A state that contradicts the rest is a sign of editing: refuse it. */
	if (!r->state || (r->state == DELETION_CANCELLED) != r->has_cancel ||
	    (r->state == DELETION_DONE) != (r->done_ns != 0 && r->result != NULL)) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: state \"%s\" does not agree with cancellation, done_ns "
				     "and result",
				     path, state);
		goto done;
	}
done:
	json_decref(doc);
	if (err < 0) {
		deletion_store_req_free(r);
		r->id = id;
	}
	return err;
}

static json_t *sig_json(const deletion_sig *s)
{
	char sig[SIG_B64];

	kura_base64(sig, s->sig, sizeof(s->sig));
	return json_pack("{s:s, s:I, s:s, s:b}", "approver", s->approver, "time_ns",
			 (json_int_t)s->time_ns, "sig", sig, "logged", s->logged);
}

json_t *deletion_store_opt_int(int64_t v)
{
	return v ? json_integer((json_int_t)v) : json_null();
}

/* The request as its file's JSON object. */
json_t *deletion_store_req_json(const deletion_req *r)
{
	json_t *snaps = json_array(), *apps = json_array(), *o;
	bool q = r->kind != DELETION_KIND_DELETE;
	size_t i;

	for (i = 0; snaps && i < r->nsnaps; i++)
		if (json_array_append_new(snaps, json_string(r->snaps[i])) < 0)
			goto fail;
	for (i = 0; apps && i < r->napprovals; i++)
		if (json_array_append_new(apps, sig_json(&r->approvals[i])) < 0)
			goto fail;
	if (!snaps || !apps)
		goto fail;
	o = json_pack("{s:I, s:s, s:s, s:I, s:o, s:b, s:s, s:o, s:o, s:o, s:o, s:o}", "id",
		      (json_int_t)r->id, "repo", r->repo, "requested_by", r->requested_by,
		      "requested_ns", (json_int_t)r->requested_ns, q ? "files" : "snapshots", snaps,
		      "prune", r->prune, "state", deletion_store_state_name(r->state), "approvals",
		      apps, "cancellation", r->has_cancel ? sig_json(&r->cancel) : json_null(),
		      "quorum_ns", deletion_store_opt_int(r->quorum_ns), "done_ns",
		      deletion_store_opt_int(r->done_ns), "result",
		      r->result ? json_incref(r->result) : json_null());
	/* json_pack's "o" took the references, even when it failed */
	if (o && q &&
	    (json_object_set_new(o, "kind", json_string(deletion_store_kind_name(r->kind))) < 0 ||
	     json_object_set_new(o, "quarantine", json_integer((json_int_t)r->quarantine_id)) <
		 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
fail:
	json_decref(snaps);
	json_decref(apps);
	return NULL;
}

int deletion_store_save(const char *ddir, const deletion_req *r, bool fresh)
{
	char name[32], *text;
	json_t *doc = deletion_store_req_json(r);
	int err;

	snprintf(name, sizeof(name), "%lu.json", r->id);
	text = doc ? files_json_text(doc) : NULL;
	json_decref(doc);
	if (!text)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	err = files_write_atomic(ddir, name, text, fresh);
	free(text);
	return err;
}

int deletion_store_load_one(const char *ddir, unsigned long id, deletion_req *out)
{
	char *path = NULL, *text = NULL;
	size_t len;
	int err;

	memset(out, 0, sizeof(*out));
	out->id = id;
	if (asprintf(&path, "%s/%lu.json", ddir, id) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_read(path, REQUEST_MAX, &text, &len)) == 0)
		err = req_parse(out, text, len, path, id);
	else if (err == KURA_ENOTFOUND)
		err = kura_error_set(KURA_ENOTFOUND, "no deletion request %lu", id);
	free(text);
	free(path);
	return err;
}

/*
 * Every request in DIR/deletions, by id; one that cannot be read is
 * returned with `corrupt` set to why.  Other names in the directory are
 * ignored (temporary files start with a dot).
 */
int deletion_store_load_all(const char *dir, deletion_req **out, size_t *out_n)
{
	char *ddir = NULL;
	deletion_req *rs = NULL;
	unsigned long *ids = NULL;
	size_t n = 0, nids, i;
	int err;

	*out = NULL;
	*out_n = 0;
	if (asprintf(&ddir, "%s/deletions", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_record_ids(ddir, &ids, &nids)) < 0 || nids == 0)
		goto done;
	if (!(rs = calloc(nids, sizeof(*rs)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < nids; i++, n++) {
		if ((err = deletion_store_load_one(ddir, ids[i], &rs[n])) < 0) {
			if (err == KURA_ENOMEM)
				goto done;
			if (!(rs[n].corrupt = strdup(kura_error_message()))) {
				err = kura_error_set(KURA_ENOMEM, "out of memory");
				goto done;
			}
			err = 0;
		}
	}
	*out = rs;
	*out_n = n;
	rs = NULL;
	n = 0;
done:
	free(ids);
	deletion_store_reqs_free(rs, n);
	free(ddir);
	return err;
}

/* The exclusive lock on DIR/deletions/.lock (the directory made if missing). */
int deletion_store_lock(const char *dir, int *out_fd, char **out_ddir)
{
	char *path = NULL;
	int fd, err;

	*out_fd = -1;
	if ((err = files_subdir(dir, "deletions", out_ddir)) < 0)
		return err;
	if (asprintf(&path, "%s/.lock", *out_ddir) < 0) {
		free(*out_ddir);
		*out_ddir = NULL;
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s", path);
	} else {
		while ((err = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
			;
		if (err < 0) {
			err = kura_error_errno(KURA_EIO, errno, "%s: flock", path);
			close(fd);
			fd = -1;
		}
	}
	free(path);
	if (err < 0) {
		free(*out_ddir);
		*out_ddir = NULL;
		return err;
	}
	*out_fd = fd;
	return 0;
}

void deletion_store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

int deletion_store_last_id(const char *dir, unsigned long *out)
{
	deletion_req *all = NULL;
	size_t n = 0;
	int err;

	*out = 0;
	if ((err = deletion_store_load_all(dir, &all, &n)) < 0)
		return err;
	for (size_t i = 0; i < n; i++)
		if (all[i].id > *out)
			*out = all[i].id;
	deletion_store_reqs_free(all, n);
	return 0;
}

int deletion_store_update_all(const char *dir, deletion_store_visit_fn fn, void *ctx)
{
	deletion_req *rs = NULL;
	char *ddir = NULL;
	size_t n = 0;
	int fd = -1, err, first = 0;

	if ((err = deletion_store_lock(dir, &fd, &ddir)) < 0 ||
	    (err = deletion_store_load_all(dir, &rs, &n)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		bool dirty = false;

		err = fn(&rs[i], &dirty, ctx);
		if (err < 0 && !first)
			first = kura_error_wrap(err, "deletion request %lu", rs[i].id);
		if (dirty && !rs[i].corrupt &&
		    (err = deletion_store_save(ddir, &rs[i], false)) < 0 && !first)
			first = kura_error_wrap(err, "deletion request %lu", rs[i].id);
	}
	err = first;
done:
	deletion_store_unlock(fd);
	deletion_store_reqs_free(rs, n);
	free(ddir);
	return err;
}
