/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion_run.c - carrying deletion requests out (deletion_run.h):
 * `kurad serve`'s once-a-second pass over DIR/deletions/.
 *
 * Every doubt resolves to keeping data: a request with a cancellation, a
 * file that does not parse, a snapshot without a recorded receive time,
 * a garbage-collection plan that cannot be made, an audit entry that
 * cannot be written - each means nothing (more) is removed.  Each removal
 * is written to the audit log before the file is removed.
 *
 * Packs are removed by the library's one prune (kura_prune), the same
 * code `kura prune` runs on a local repository, with a callback that
 * writes each removal's audit entry first.
 */
#include "deletion_run.h"

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
#include "deletion_intake.h"
#include "deletion_sign.h"
#include "kura/keyless.h"
#include "quarantine.h"

/* The stored snapshots, sorted by name (kura_list_files). */
typedef struct {
	kura_listed_file *v;
	size_t n;
} sizes_t;

/* The size of stored snapshot `name`, or -1 when it is not stored. */
static int64_t size_of(const sizes_t *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return (int64_t)s->v[i].size;
	return -1;
}

/*
 * Audit, then remove; a failed removal is audited too.  <0 only if the log
 * fails; 1 when the removal failed, 2 when the file is still under its
 * Object Lock (S3: kept until the lock runs out, then retried).
 */
static int remove_logged(vault_audit *a, kura_backend *b, const char *repo, kura_file_type type,
			 const char *name, uint64_t size, char *why, size_t why_len)
{
	char path[160];
	int err;

	why[0] = '\0';
	snprintf(path, sizeof(path), "/v1/repos/%s/%s/%s", repo, kura_file_type_name(type), name);
	if ((err = audit_local(a, "kurad", "vault", "DELETE", path, 200, size)) < 0)
		return kura_error_wrap(err, "cannot log the removal of %s, so it is not removed",
				       path);
	if ((err = kura_backend_remove(b, type, name)) < 0) {
		/* On S3 a file still under Object Lock stays until its lock ends (423). */
		bool locked = err == KURA_EBUSY;

		snprintf(why, why_len, "%s: %s", locked ? "locked in the store" : "removal failed",
			 kura_error_message());
		if ((err = audit_local(a, "kurad", "vault", "DELETE", path, locked ? 423 : 500,
				       0)) < 0)
			return err;
		return locked ? 2 : 1;
	}
	return 0;
}

typedef struct {
	vault_audit *a;
	const char *repo;
	char removing[KURA_ID_HEX]; /* the pack whose removal was just logged */
	char why[512];		    /* the first failure, for result.prune_error */
	char why_locked[512];	    /* the first pack kept by its lock (S3) */
	uint64_t locked;	    /* packs kept because their lock has not run out */
	bool log_failed;	    /* an audit entry could not be written: stop */
} prune_ctx;

/*
 * kura_prune()'s callback: every removal is logged before it happens, and
 * a removal that then fails is logged again with status 500.  A pack whose
 * time could not be read was never tried, so nothing is logged for it.
 */
static int prune_event(const kura_prune_event *ev, void *ctx)
{
	prune_ctx *c = ctx;
	char path[160];
	int err;

	if (ev->type != KURA_PRUNE_REMOVING && ev->type != KURA_PRUNE_FAILED)
		return 0;
	snprintf(path, sizeof(path), "/v1/repos/%s/data/%s", c->repo, ev->name);
	if (ev->type == KURA_PRUNE_REMOVING) {
		snprintf(c->removing, sizeof(c->removing), "%s", ev->name);
		err = audit_local(c->a, "kurad", "vault", "DELETE", path, 200, ev->size);
	} else if (ev->error == KURA_EBUSY && strcmp(c->removing, ev->name) == 0) {
		/* Still under Object Lock (S3): kept, not failed; removable once it ends. */
		if (!c->locked++)
			snprintf(c->why_locked, sizeof(c->why_locked), "%s", ev->message);
		err = audit_local(c->a, "kurad", "vault", "DELETE", path, 423, 0);
	} else {
		if (!c->why[0])
			snprintf(c->why, sizeof(c->why), "%s", ev->message);
		if (strcmp(c->removing, ev->name) != 0)
			return 0;
		err = audit_local(c->a, "kurad", "vault", "DELETE", path, 500, 0);
	}
	if (err < 0) {
		c->log_failed = true;
		return kura_error_wrap(err, "cannot log the removal of %s, so it is not removed",
				       path);
	}
	return 0;
}

/* With the library's one prune (lib/repo/prune.c): deletion_run.h. */
int deletion_prune_packs(vault_audit *a, kura_backend *b, const deletion_req *r, json_t *result,
			 uint64_t *bytes)
{
	kura_prune_options o = KURA_PRUNE_OPTIONS_INIT;
	prune_ctx c = {.a = a, .repo = r->repo};
	kura_prune_result res = {0};
	int err;

	/* Stored at or after the request: maybe part of a backup in progress. */
	o.cutoff_ns = r->requested_ns;
	o.fn = prune_event;
	o.ctx = &c;
	err = kura_prune(b, &o, &res);
	if (err < 0 && c.log_failed)
		return err;
	if (err < 0) /* a snapshot that cannot be read hides which packs it needs: all kept */
		json_object_set_new(result, "prune_error", json_string(kura_error_message()));
	else if (res.failed > c.locked)
		json_object_set_new(result, "prune_error", json_string(c.why));
	json_object_set_new(result, "packs_removed", json_integer((json_int_t)res.removed));
	json_object_set_new(result, "packs_kept_recent", json_integer((json_int_t)res.young));
	json_object_set_new(result, "packs_failed",
			    json_integer((json_int_t)(res.failed - c.locked)));
	if (c.locked) {
		json_object_set_new(result, "packs_kept_locked",
				    json_integer((json_int_t)c.locked));
		json_object_set_new(result, "packs_locked_example", json_string(c.why_locked));
	}
	*bytes += res.removed_bytes;
	return 0;
}

int deletion_remove_snapshots(vault *v, vault_audit *a, const vault_policy *p,
			      const deletion_req *r, kura_backend *b,
			      const char (*snaps)[KURA_ID_HEX], size_t n, int64_t now_ns,
			      json_t *result, json_t *locked, uint64_t *bytes)
{
	json_t *removed = json_object_get(result, "snapshots_removed"),
	       *kept = json_object_get(result, "snapshots_kept");
	sizes_t sizes = {0};
	unsigned *reasons = NULL;
	int64_t *received = NULL;
	char why[512];
	int err = 0, rc;

	if (!n)
		return 0;
	if (!(reasons = calloc(n, sizeof(*reasons))) ||
	    !(received = calloc(n, sizeof(*received)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = kura_list_files(&sizes.v, &sizes.n, b, KURA_FILE_SNAPSHOT)) < 0)
		goto done;
	/* Retention at this moment: a hold placed since the approval still protects. */
	if ((err = deletion_retention(v, r->repo, b, p, snaps, n, now_ns, reasons, received)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		int64_t size = size_of(&sizes, snaps[i]);

		if (size < 0) {
			snprintf(why, sizeof(why), "not stored any more");
		} else if (reasons[i]) {
			deletion_explain(reasons[i], p, received[i], now_ns, why, sizeof(why));
		} else {
			rc = remove_logged(a, b, r->repo, KURA_FILE_SNAPSHOT, snaps[i],
					   (uint64_t)size, why, sizeof(why));
			if (rc < 0) {
				err = rc;
				goto done;
			}
			if (rc == 0) {
				json_array_append_new(removed, json_string(snaps[i]));
				*bytes += (uint64_t)size;
				continue;
			}
			if (rc == 2)
				json_array_append_new(locked, json_string(snaps[i]));
		}
		json_array_append_new(kept,
				      json_pack("{s:s, s:s}", "snapshot", snaps[i], "reason", why));
	}
done:
	free(sizes.v);
	free(reasons);
	free(received);
	return err;
}

json_t *deletion_result_new(void)
{
	return json_pack("{s:[], s:[], s:i, s:i, s:i, s:i, s:n}", "snapshots_removed",
			 "snapshots_kept", "packs_removed", 0, "bytes_removed", 0,
			 "packs_kept_recent", 0, "packs_failed", 0, "prune_error");
}

/* Carry out `r` now: its snapshots that retention allows, then prune. */
static int execute(vault *v, vault_audit *a, const vault_policy *p, deletion_req *r, int64_t now_ns)
{
	json_t *result = NULL, *locked = NULL;
	uint64_t bytes = 0;
	kura_backend *b;
	bool repo_locked = false;
	int err;

	/* Quarantine requests skip retention: junk must not pin itself (quarantine.h). */
	if (r->kind != DELETION_KIND_DELETE)
		return quarantine_carry_out(v, a, r, now_ns);
	if ((err = vault_repo(v, r->repo, &b)) < 0)
		return err;
	if ((err = vault_repo_lock_exclusive(v, r->repo)) < 0)
		return err;
	repo_locked = true;
	if (!(result = deletion_result_new()) || !(locked = json_array())) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = deletion_remove_snapshots(v, a, p, r, b, (const char(*)[KURA_ID_HEX])r->snaps,
					     r->nsnaps, now_ns, result, locked, &bytes)) < 0)
		goto done;
	if (r->prune && (err = deletion_prune_packs(a, b, r, result, &bytes)) < 0)
		goto done;
	json_object_set_new(result, "bytes_removed", json_integer((json_int_t)bytes));
	/*
	 * What the store's lock kept is removed once the lock runs out
	 * (deletion_sweep.h); the packs only a kept snapshot needs become
	 * garbage then, so the prune is retried with it.
	 */
	if (json_array_size(locked) || json_object_get(result, "packs_kept_locked"))
		json_object_set_new(
		    result, "locked_retry",
		    json_pack("{s:O, s:b, s:i}", "snapshots", locked, "packs",
			      r->prune && (json_array_size(locked) ||
					   json_object_get(result, "packs_kept_locked") != NULL),
			      "tries", 0));
	json_decref(r->result);
	r->result = result;
	result = NULL;
	r->state = DELETION_DONE;
	r->done_ns = now_ns;
done:
	if (repo_locked)
		vault_repo_unlock(v, r->repo);
	json_decref(result);
	json_decref(locked);
	return err;
}

/* One request's tick; *dirty when it must be written back. */
static int tick_one(vault *v, vault_audit *a, const char *vkey, const vault_policy *p,
		    deletion_req *r, int64_t now_ns, bool *dirty)
{
	const char *dir = vault_dir(v);
	char path[48];
	int64_t complete = 0;
	size_t valid;
	int err;

	snprintf(path, sizeof(path), "/v1/deletions/%lu", r->id);
	for (size_t i = 0; i < r->napprovals; i++) {
		deletion_sig *s = &r->approvals[i];

		if (s->logged)
			continue;
		/* An approval that does not verify is logged as refused. */
		if ((err = audit_local(a, s->approver, "approver", "APPROVE", path,
				       deletion_sig_ok(dir, vkey, r, s, false) ? 200 : 403, 0)) < 0)
			return err;
		s->logged = *dirty = true;
	}
	if (r->has_cancel && !r->cancel.logged) {
		if ((err = audit_local(a, r->cancel.approver, "approver", "CANCEL", path,
				       deletion_sig_ok(dir, vkey, r, &r->cancel, true) ? 200 : 403,
				       0)) < 0)
			return err;
		r->cancel.logged = *dirty = true;
	}
	if (r->state != DELETION_PENDING || r->has_cancel)
		return 0;
	valid = deletion_sig_count_valid(dir, vkey, r, p->quorum, NULL, &complete);
	if (valid < p->quorum || !complete) {
		/* A voided approval (key replaced, file edited) restarts the wait. */
		if (r->quorum_ns) {
			r->quorum_ns = 0;
			*dirty = true;
		}
		return 0;
	}
	if (!r->quorum_ns) {
		/* The delay runs from when the vault saw the quorum, at the earliest. */
		r->quorum_ns = now_ns > complete ? now_ns : complete;
		*dirty = true;
	}
	if (now_ns < r->quorum_ns + p->delay_s * DELETION_NS)
		return 0;
	if ((err = execute(v, a, p, r, now_ns)) < 0)
		return err;
	*dirty = true;
	return 0;
}

typedef struct {
	vault *v;
	vault_audit *a;
	const char *vkey;
	const vault_policy *p;
	int64_t now_ns;
} run_ctx;

static int run_one(deletion_req *r, bool *dirty, void *ctx)
{
	run_ctx *c = ctx;

	if (r->corrupt)
		return kura_error_set(KURA_ECORRUPT, "not carried out: %s", r->corrupt);
	return tick_one(c->v, c->a, c->vkey, c->p, r, c->now_ns, dirty);
}

int deletion_run(vault *v, int64_t now_ns)
{
	const char *dir = vault_dir(v);
	char vkey[VAULT_SIGNING_KEY_B64];
	vault_policy p;
	run_ctx c = {.v = v, .a = vault_get_audit(v), .vkey = vkey, .p = &p, .now_ns = now_ns};
	int err;

	if (!c.a)
		return kura_error_set(KURA_EINVAL, "deletions run only in a vault opened for "
						   "serving (with its audit log)");
	if ((err = policy_load(dir, &p)) < 0 || (err = vault_signing_key_b64(dir, vkey)) < 0)
		return err;
	return deletion_store_update_all(dir, run_one, &c);
}
