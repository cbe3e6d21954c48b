/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion_sweep.c - retrying what the store's lock kept from approved
 * deletions (deletion_sweep.h), with deletion_run's own removal and prune.
 */
#include "deletion_sweep.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "deletion_run.h"
#include "deletion_store.h"
#include "policy.h"

/* The retry list's names, checked: the request file is input like any other. */
static int retry_names(const deletion_req *r, json_t *names, char (**out)[KURA_ID_HEX],
		       size_t *out_n)
{
	size_t i, n = json_array_size(names);
	json_t *e;

	*out = NULL;
	*out_n = 0;
	if (!json_is_array(names) || n > DELETION_SNAPSHOTS_MAX)
		return kura_error_set(KURA_ECORRUPT,
				      "deletion request %lu: locked_retry.snapshots is not a list",
				      r->id);
	if (n && !(*out = calloc(n, sizeof(**out))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	json_array_foreach(names, i, e)
	{
		const char *s = json_string_value(e);

		if (!s || strlen(s) != KURA_ID_HEX - 1 ||
		    strspn(s, "0123456789abcdef") != KURA_ID_HEX - 1) {
			free(*out);
			*out = NULL;
			return kura_error_set(KURA_ECORRUPT,
					      "deletion request %lu: locked_retry.snapshots[%zu] "
					      "is not a snapshot id",
					      r->id, i);
		}
		memcpy((*out)[i], s, KURA_ID_HEX);
	}
	*out_n = n;
	return 0;
}

static void add_int(json_t *o, const char *key, json_int_t v)
{
	json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + v));
}

/* Fold a retry's result `t` into the request's result `res`. */
static void merge(json_t *res, json_t *t)
{
	json_t *kept = json_object_get(res, "snapshots_kept"), *e, *k;
	size_t i, j;

	if (!json_is_array(kept)) {
		json_object_set_new(res, "snapshots_kept", json_array());
		kept = json_object_get(res, "snapshots_kept");
	}
	if (!json_is_array(json_object_get(res, "snapshots_removed")))
		json_object_set_new(res, "snapshots_removed", json_array());
	json_array_foreach(json_object_get(t, "snapshots_removed"), i, e)
	{
		json_array_append(json_object_get(res, "snapshots_removed"), e);
		for (j = json_array_size(kept); j-- > 0;)
			if (json_equal(json_object_get(json_array_get(kept, j), "snapshot"), e))
				json_array_remove(kept, j);
	}
	/* Still kept: the newest reason (still locked, or retention now). */
	json_array_foreach(json_object_get(t, "snapshots_kept"), i, e)
	{
		json_array_foreach(kept, j, k) if (json_equal(json_object_get(k, "snapshot"),
							      json_object_get(e, "snapshot")))
		    json_object_set(k, "reason", json_object_get(e, "reason"));
	}
	add_int(res, "packs_removed", json_integer_value(json_object_get(t, "packs_removed")));
	add_int(res, "bytes_removed", json_integer_value(json_object_get(t, "bytes_removed")));
	if (json_object_get(t, "packs_kept_locked")) {
		json_object_set(res, "packs_kept_locked", json_object_get(t, "packs_kept_locked"));
		json_object_set(res, "packs_locked_example",
				json_object_get(t, "packs_locked_example"));
	} else {
		json_object_del(res, "packs_kept_locked");
		json_object_del(res, "packs_locked_example");
	}
	if (json_is_string(json_object_get(t, "prune_error")))
		json_object_set(res, "prune_error", json_object_get(t, "prune_error"));
}

/* Retry request `r`'s locked files; *dirty when its record changed. */
static int sweep_one(vault *v, vault_audit *a, const vault_policy *p, deletion_req *r,
		     int64_t now_ns, json_t *report, bool *dirty)
{
	json_t *retry = json_object_get(r->result, "locked_retry"), *t = NULL, *locked = NULL;
	char(*snaps)[KURA_ID_HEX] = NULL;
	bool packs, repo_locked = false, packs_left;
	uint64_t bytes = 0;
	kura_backend *b;
	size_t n = 0;
	int err;

	if (!json_is_object(retry))
		return kura_error_set(KURA_ECORRUPT,
				      "deletion request %lu: locked_retry is not an object", r->id);
	packs = json_is_true(json_object_get(retry, "packs"));
	if ((err = retry_names(r, json_object_get(retry, "snapshots"), &snaps, &n)) < 0)
		return err;
	if ((err = vault_repo(v, r->repo, &b)) < 0 ||
	    (err = vault_repo_lock_exclusive(v, r->repo)) < 0)
		goto done;
	repo_locked = true;
	if (!(t = deletion_result_new()) || !(locked = json_array())) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = deletion_remove_snapshots(v, a, p, r, b, (const char(*)[KURA_ID_HEX])snaps, n,
					     now_ns, t, locked, &bytes)) < 0)
		goto done;
	if (packs && (err = deletion_prune_packs(a, b, r, t, &bytes)) < 0)
		goto done;
	json_object_set_new(t, "bytes_removed", json_integer((json_int_t)bytes));
	packs_left = packs && (json_object_get(t, "packs_kept_locked") || json_array_size(locked));
	json_array_append_new(
	    report,
	    json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:b}", "id", (json_int_t)r->id, "repo",
		      r->repo, "snapshots_removed",
		      (json_int_t)json_array_size(json_object_get(t, "snapshots_removed")),
		      "snapshots_locked", (json_int_t)json_array_size(locked), "packs_removed",
		      json_integer_value(json_object_get(t, "packs_removed")), "packs_locked",
		      json_integer_value(json_object_get(t, "packs_kept_locked")), "done",
		      !json_array_size(locked) && !packs_left));
	merge(r->result, t);
	if (!json_array_size(locked) && !packs_left) {
		json_object_del(r->result, "locked_retry");
	} else {
		json_object_set(retry, "snapshots", locked);
		json_object_set_new(retry, "packs", json_boolean(packs_left));
		add_int(retry, "tries", 1);
		json_object_set_new(retry, "last_ns", json_integer((json_int_t)now_ns));
	}
	*dirty = true;
done:
	if (repo_locked)
		vault_repo_unlock(v, r->repo);
	json_decref(t);
	json_decref(locked);
	free(snaps);
	return err;
}

typedef struct {
	vault *v;
	vault_audit *a;
	const vault_policy *p;
	int64_t now_ns;
	json_t *list;
} sweep_ctx;

static int sweep_visit(deletion_req *r, bool *dirty, void *ctx)
{
	sweep_ctx *c = ctx;

	if (r->corrupt || r->kind != DELETION_KIND_DELETE || r->state != DELETION_DONE ||
	    !r->result || !json_object_get(r->result, "locked_retry"))
		return 0;
	return sweep_one(c->v, c->a, c->p, r, c->now_ns, c->list, dirty);
}

int deletion_sweep(vault *v, int64_t now_ns, json_t **out)
{
	vault_policy p;
	sweep_ctx c = {.v = v, .a = vault_get_audit(v), .p = &p, .now_ns = now_ns};
	json_t *doc;
	int err;

	if (out)
		*out = NULL;
	if (!c.a)
		return kura_error_set(KURA_EINVAL, "the sweep runs only in a vault opened with its "
						   "audit log (is 'kurad serve' running? it sweeps "
						   "by itself)");
	if ((err = policy_load(vault_dir(v), &p)) < 0)
		return err;
	if (!(doc = json_pack("{s:[]}", "requests")))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	c.list = json_object_get(doc, "requests");
	err = deletion_store_update_all(vault_dir(v), sweep_visit, &c);
	if (out)
		*out = doc;
	else
		json_decref(doc);
	return err;
}
