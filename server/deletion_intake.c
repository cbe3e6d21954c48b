/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion_intake.c - deletion requests as clients see them
 * (deletion_intake.h): filing one (POST /v1/repos/REPO/deletions) and
 * listing them (GET, and `kurad status`), with what each means now:
 * quorum, valid approvals, when it takes effect.
 *
 * Filing checks what it can at once (every snapshot stored, none
 * protected by retention now, room for another pending request) so that a
 * client hears "no" immediately; the same retention check runs again when
 * the request is carried out (deletion_run.c), since time passes between.
 */
#include "deletion_intake.h"

#include <dirent.h>
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
#include "deletion_sign.h"
#include "hold.h"
#include "kura/keyless.h"

/* The request as GET .../deletions shows it: the file plus what it means now. */
json_t *deletion_intake_listing(const char *dir, const char *vkey, const vault_policy *p,
				const deletion_req *r)
{
	bool valid[DELETION_APPROVALS_MAX];
	int64_t complete = 0, effective = 0;
	json_t *o, *apps;
	size_t n, i;

	if (r->corrupt)
		return json_pack("{s:I, s:s, s:s}", "id", (json_int_t)r->id, "state", "corrupt",
				 "error", r->corrupt);
	if (!(o = deletion_store_req_json(r)))
		return NULL;
	n = deletion_sig_count_valid(dir, vkey, r, p->quorum, valid, &complete);
	apps = json_object_get(o, "approvals");
	for (i = 0; i < r->napprovals; i++)
		json_object_set_new(json_array_get(apps, i), "valid", json_boolean(valid[i]));
	if (r->has_cancel)
		json_object_set_new(json_object_get(o, "cancellation"), "valid",
				    json_boolean(deletion_sig_ok(dir, vkey, r, &r->cancel, true)));
	if (r->state == DELETION_PENDING && complete)
		effective = (r->quorum_ns ? r->quorum_ns : complete) + p->delay_s * DELETION_NS;
	if (json_object_set_new(o, "quorum", json_integer(p->quorum)) < 0 ||
	    json_object_set_new(o, "approvals_valid", json_integer((json_int_t)n)) < 0 ||
	    json_object_set_new(o, "delay_s", json_integer(p->delay_s)) < 0 ||
	    json_object_set_new(o, "effective_ns", deletion_store_opt_int(effective)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int deletion_intake_list(vault *v, const char *repo, json_t **out)
{
	const char *dir = vault_dir(v);
	char vkey[VAULT_SIGNING_KEY_B64];
	vault_policy p;
	deletion_req *rs = NULL;
	size_t n = 0;
	json_t *arr = NULL;
	int err;

	*out = NULL;
	if ((err = policy_load(dir, &p)) < 0 || (err = vault_signing_key_b64(dir, vkey)) < 0 ||
	    (err = deletion_store_load_all(dir, &rs, &n)) < 0)
		return err;
	if (!(arr = json_array())) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (repo && (rs[i].corrupt || strcmp(rs[i].repo, repo) != 0))
			continue;
		if (json_array_append_new(arr, deletion_intake_listing(dir, vkey, &p, &rs[i])) < 0) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
	}
	*out = arr;
	arr = NULL;
done:
	json_decref(arr);
	deletion_store_reqs_free(rs, n);
	return err;
}

/* ------------------------------------------------------------------ */
/* Filing a request                                                    */

typedef struct {
	const char *name;
	size_t index; /* into the policy_snapshot_times array */
} time_ref;

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(((const time_ref *)a)->name, ((const time_ref *)b)->name);
}

/*
 * The retention reasons for each of `names` at now_ns (reasons[i]; a
 * snapshot with no receive time on record counts as protected, with
 * UINT_MAX), and each one's receive time (received[i]).
 */
int deletion_retention(vault *v, const char *repo, kura_backend *b, const vault_policy *p,
		       const char (*names)[KURA_ID_HEX], size_t n, int64_t now_ns,
		       unsigned *reasons, int64_t *received)
{
	vault_snapshot_time *times = NULL;
	time_ref *refs = NULL;
	unsigned *all = NULL;
	size_t nt = 0;
	int err;

	if ((err = policy_snapshot_times(vault_dir(v), repo, b, &times, &nt)) < 0)
		return err;
	if (nt && (!(all = calloc(nt, sizeof(*all))) || !(refs = calloc(nt, sizeof(*refs))))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (nt) {
		policy_retention(p, times, nt, now_ns, all);
		/* An open alert's hold keeps more (hold.h); failing to tell, it keeps all. */
		if ((err = hold_mark(vault_dir(v), repo, p, times, nt, all, NULL)) < 0)
			goto done;
		for (size_t i = 0; i < nt; i++)
			refs[i] = (time_ref){times[i].name, i};
		qsort(refs, nt, sizeof(*refs), cmp_ref);
	}
	for (size_t i = 0; i < n; i++) {
		time_ref key = {names[i], 0}, *hit = NULL;

		if (nt)
			hit = bsearch(&key, refs, nt, sizeof(*refs), cmp_ref);
		reasons[i] = hit ? all[hit->index] : UINT_MAX;
		received[i] = hit ? times[hit->index].received_ns : 0;
	}
done:
	free(refs);
	free(all);
	policy_snapshot_times_free(times, nt);
	return err;
}

void deletion_explain(unsigned reasons, const vault_policy *p, int64_t received, int64_t now,
		      char *out, size_t len)
{
	size_t used;

	if (reasons == UINT_MAX) {
		snprintf(out, len, "the vault has no receive time on record for it");
		return;
	}
	if (!(reasons & HOLD_KEEP_MASK)) {
		policy_retention_explain(reasons, p, received, now, out, len);
		return;
	}
	hold_explain(reasons, out, len);
	used = strlen(out);
	if ((reasons & ~(unsigned)HOLD_KEEP_MASK) && used + 2 < len) {
		snprintf(out + used, len - used, "; ");
		policy_retention_explain(reasons & ~(unsigned)HOLD_KEEP_MASK, p, received, now,
					 out + used + 2, len - used - 2);
	}
}

static bool stored(kura_backend *b, kura_file_type type, const char *name)
{
	uint8_t none;

	return b->get_range(b, type, name, 0, 0, &none) == 0;
}

int deletion_intake_file(vault *v, const char *repo, const char *client,
			 const char (*snapshots)[KURA_ID_HEX], size_t n, bool prune, int64_t now_ns,
			 json_t **out, json_t **out_protected)
{
	const char *dir = vault_dir(v);
	char vkey[VAULT_SIGNING_KEY_B64], *ddir = NULL;
	deletion_req r = {0}, *all = NULL;
	size_t nall = 0, pending = 0, i;
	unsigned long id = 0;
	unsigned *reasons = NULL;
	int64_t *received = NULL;
	json_t *prot = NULL;
	kura_backend *b;
	vault_policy p;
	int fd = -1, err;

	*out = NULL;
	if (out_protected)
		*out_protected = NULL;
	if (!vault_name_ok(client))
		return kura_error_set(KURA_EINVAL, "bad client name");
	if (n == 0 && !prune)
		return kura_error_set(KURA_EINVAL, "the request names no snapshot and no prune");
	if (n > DELETION_SNAPSHOTS_MAX)
		return kura_error_set(KURA_EINVAL, "at most %d snapshots per request",
				      DELETION_SNAPSHOTS_MAX);
	if ((err = vault_repo(v, repo, &b)) < 0 || (err = policy_load(dir, &p)) < 0 ||
	    (err = vault_signing_key_b64(dir, vkey)) < 0)
		return err;
	strcpy(r.repo, repo);
	strcpy(r.requested_by, client);
	r.requested_ns = now_ns;
	r.prune = prune;
	r.state = DELETION_PENDING;
	r.nsnaps = n;
	if (n && !(r.snaps = calloc(n, sizeof(*r.snaps)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (!kura_file_name_is_valid(snapshots[i])) {
			err = kura_error_set(KURA_EINVAL,
					     "snapshot %zu is not a snapshot name (64 "
					     "lowercase hex digits)",
					     i);
			goto done;
		}
		memcpy(r.snaps[i], snapshots[i], KURA_ID_HEX);
	}
	if (n)
		qsort(r.snaps, n, sizeof(*r.snaps), deletion_store_cmp_name);
	for (i = 1; i < n; i++)
		if (strcmp(r.snaps[i - 1], r.snaps[i]) == 0) {
			err = kura_error_set(KURA_EINVAL, "snapshot %s is named twice", r.snaps[i]);
			goto done;
		}
	for (i = 0; i < n; i++)
		if (!stored(b, KURA_FILE_SNAPSHOT, r.snaps[i])) {
			err = kura_error_set(KURA_ENOTFOUND, "no snapshot %s in repository %s",
					     r.snaps[i], repo);
			goto done;
		}
	if (n && (!(reasons = calloc(n, sizeof(*reasons))) ||
		  !(received = calloc(n, sizeof(*received))))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (n && (err = deletion_retention(v, repo, b, &p, (const char(*)[KURA_ID_HEX])r.snaps, n,
					   now_ns, reasons, received)) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		char why[256];
		json_t *item;

		if (!reasons[i])
			continue;
		deletion_explain(reasons[i], &p, received[i], now_ns, why, sizeof(why));
		if ((!prot && !(prot = json_array())) ||
		    !(item = json_pack("{s:s, s:s}", "snapshot", r.snaps[i], "reason", why)) ||
		    json_array_append_new(prot, item) < 0) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
	}
	if (prot) {
		err =
		    kura_error_set(DELETION_EPROTECTED,
				   "retention or an open alert's hold protects %zu of the snapshots; "
				   "nothing was requested",
				   json_array_size(prot));
		if (out_protected) {
			*out_protected = prot;
			prot = NULL;
		}
		goto done;
	}

	if ((err = deletion_store_lock(dir, &fd, &ddir)) < 0 ||
	    (err = deletion_store_load_all(dir, &all, &nall)) < 0)
		goto done;
	for (i = 0; i < nall; i++) {
		if (all[i].id > id)
			id = all[i].id;
		if (!all[i].corrupt && all[i].state == DELETION_PENDING &&
		    strcmp(all[i].repo, repo) == 0)
			pending++;
	}
	if (pending >= VAULT_PENDING_MAX) {
		err = kura_error_set(DELETION_ETOOMANY,
				     "repository %s has %zu pending deletion requests already (the "
				     "limit); approvers must decide on those first",
				     repo, pending);
		goto done;
	}
	if (id >= DELETION_ID_MAX) {
		err = kura_error_set(DELETION_ETOOMANY, "no deletion request ids left");
		goto done;
	}
	r.id = id + 1;
	if ((err = deletion_store_save(ddir, &r, true)) < 0)
		goto done;
	if (!(*out = deletion_intake_listing(dir, vkey, &p, &r)))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
done:
	deletion_store_unlock(fd);
	deletion_store_reqs_free(all, nall);
	deletion_store_req_free(&r);
	json_decref(prot);
	free(reasons);
	free(received);
	free(ddir);
	return err;
}
