/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prune.c - kura_prune: remove the packs no snapshot needs (keyless.h).
 *
 * This is the code that deletes backups' data, so it exists once: `kura
 * prune`, `kura forget --prune` and the vault's garbage collection all
 * call it, and differ only in the cutoff they give (the CLI: now minus its
 * grace; the vault: the time the deletion request was made) and in what
 * their callback does (the CLI shows progress and names; the vault writes
 * its audit entry before each removal, and stops if it cannot).
 *
 * Invariants:
 *  - a backup never loses data to a prune beside it: the repository lock
 *    is held exclusive from before the plan until the last removal, and a
 *    backup holds it shared from before it loads the index until its
 *    snapshot is written (archiver.c); where there is no lock, the
 *    backup's check before its snapshot (gc.c) makes it fail instead;
 *  - a pack written at or after the cutoff is never removed: a backup
 *    writes its packs before the snapshot that lists them;
 *  - one rule on errors: a pack that cannot be examined or removed is
 *    skipped, counted and reported, and the others are still pruned; a
 *    plan that cannot be made removes nothing.
 */
#include "kura/sys/backend.h"
#include "kura/keyless.h"

#include <string.h>

#include "common/error.h"

/* Tell the callback: <0 stops the prune; >0 matters only for KURA_PRUNE_REMOVING. */
static int tell(const kura_prune_options *o, kura_prune_event *ev, kura_prune_event_type type)
{
	ev->type = type;
	return o->fn ? o->fn(ev, o->ctx) : 0;
}

/* Count and report a pack that cannot be examined or removed; the prune goes on. */
static int failed(const kura_prune_options *o, kura_prune_event *ev, kura_prune_result *r, int err)
{
	int rc;

	r->failed++;
	ev->error = err;
	ev->message = kura_error_message();
	rc = tell(o, ev, KURA_PRUNE_FAILED);
	ev->error = 0;
	ev->message = NULL;
	if (rc < 0)
		return rc;
	kura_error_clear();
	return 0;
}

/* Decide and (unless a dry run) remove one pack of the plan. */
static int prune_one(struct kura_backend *b, const kura_prune_options *o, kura_prune_event *ev,
		     kura_prune_result *r)
{
	int err, rc;

	err = b->mtime(b, KURA_FILE_PACK, ev->name, &ev->mtime_ns);
	if (err == KURA_ENOTFOUND) {
		r->gone++;
		return tell(o, ev, KURA_PRUNE_GONE);
	}
	if (err < 0)
		return failed(o, ev, r, err);
	/* a pack from the future (a clock set back) counts as young */
	if (ev->mtime_ns >= o->cutoff_ns) {
		r->young++;
		r->young_bytes += ev->size;
		return tell(o, ev, KURA_PRUNE_YOUNG);
	}
	if ((rc = tell(o, ev, KURA_PRUNE_REMOVING)) < 0)
		return rc;
	if (rc > 0) {
		r->kept++;
		return tell(o, ev, KURA_PRUNE_KEPT);
	}
	if (!o->dry_run && (err = b->remove(b, KURA_FILE_PACK, ev->name)) < 0) {
		if (err != KURA_ENOTFOUND)
			return failed(o, ev, r, err);
		r->gone++;
		return tell(o, ev, KURA_PRUNE_GONE);
	}
	r->removed++;
	r->removed_bytes += ev->size;
	return tell(o, ev, KURA_PRUNE_REMOVED);
}

/* Take the repository exclusive, telling the callback before waiting. */
static int lock_exclusive(struct kura_backend *b, const kura_prune_options *o,
			  kura_backend_lock **out)
{
	kura_prune_event ev = {0};
	int err;

	if (!b->lock)
		return 0;
	if ((err = b->lock(b, KURA_LOCK_EXCLUSIVE, 0, out)) != KURA_EBUSY || o->lock_wait_ms <= 0)
		return err;
	ev.message = kura_error_message(); /* who holds it */
	if ((err = tell(o, &ev, KURA_PRUNE_WAITING)) < 0)
		return err;
	return b->lock(b, KURA_LOCK_EXCLUSIVE, o->lock_wait_ms, out);
}

int kura_prune(struct kura_backend *b, const kura_prune_options *o, kura_prune_result *out)
{
	kura_pack_list plan = {0};
	kura_backend_lock *lock = NULL;
	kura_prune_event ev = {0};
	int err;

	memset(out, 0, sizeof(*out));
	if (!o || o->version != KURA_PRUNE_OPTIONS_VERSION)
		return kura_error_set(KURA_EINVAL, "prune: options of an unknown version");
	/* Removing needs both: mtime keeps what a backup beside us just wrote. */
	if (!b->remove || !b->mtime)
		return kura_error_set(KURA_EINVAL, "prune: this repository's store cannot remove "
						   "files here%s",
				      b->request_deletion ? " (on a vault, request a deletion)" : "");
	if (!o->dry_run && (err = lock_exclusive(b, o, &lock)) < 0) {
		kura_error_wrap(err, "prune: nothing was removed");
		goto done;
	}
	if ((err = kura_gc_unreferenced(b, o->gone, o->ngone, &plan)) < 0)
		goto done;
	out->unreferenced = plan.count;
	for (size_t i = 0; i < plan.count; i++)
		out->unreferenced_bytes += plan.sizes[i];
	ev.total = plan.count;
	for (size_t i = 0; i < plan.count; i++) {
		ev.name = plan.names[i];
		ev.size = plan.sizes[i];
		ev.mtime_ns = 0;
		ev.done = i + 1;
		if ((err = prune_one(b, o, &ev, out)) < 0)
			goto done;
	}
	err = 0; /* a callback's >0 beyond REMOVING means nothing */
done:
	if (lock)
		b->unlock(b, lock);
	kura_pack_list_free(&plan);
	return err;
}
