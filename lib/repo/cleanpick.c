/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cleanpick.c - the plan of `kura restore --clean` and its restore
 * (include/kura/cleanpick.h): per path, the snapshot of its newest clean
 * version, from kura_scan_chain's judgement of when each first turned
 * suspect; then the restorer driven through restpick.h.
 *
 * Invariants: every entry names one path once; a path restored comes from
 * a snapshot of the chain between the window's start and the snapshot
 * asked for, never from one at or after its first suspect snapshot; a
 * path left out says why.  The trees of the window are read once each
 * (names only, no content): the scan has read the content already.
 */
#include "kura/cleanpick.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/error.h"
#include "kura/keyless.h"
#include "kura/scan.h"
#include "repo/restpick.h"
#include "repo/walk.h"

/* A path of a snapshot of the window (not a directory). */
typedef struct {
	char *path;
	size_t snap;
} seen;

/* A path the scan listed: the first snapshot of the window that did, and why. */
typedef struct {
	const char *path; /* borrowed from the records */
	size_t snap;
	char *reasons;
} listed;

typedef struct {
	kura_repo *repo;
	size_t snap;
	seen *v;
	size_t n, cap;
	kura_walk_path path;
} collect;

static const char *const why_names[KURA_CLEAN_NWHY] = {
    "newest", "before-attack", "gone", "attack-output", "renamed-copy", "deleted",
};

const char *kura_clean_why_name(int why)
{
	return why >= 0 && why < KURA_CLEAN_NWHY ? why_names[why] : "?";
}

static int nomem(void)
{
	return kura_error_set(KURA_ENOMEM, "restore --clean: out of memory");
}

static int collect_tree(collect *c, const uint8_t id[KURA_HASH_SIZE], unsigned depth)
{
	kura_tree *tree = NULL;
	int err;

	if (depth > KURA_TREE_MAX_DEPTH)
		return kura_error_set(KURA_ECORRUPT, "restore --clean: %s: nested too deep",
				      c->path.s ? c->path.s : "/");
	if ((err = kura_repo__load_tree(c->repo, id, &tree)) < 0)
		return err;
	for (size_t i = 0; i < tree->count; i++) {
		const kura_node *n = &tree->nodes[i];
		size_t len = c->path.len;

		if ((err = kura_walk__push(&c->path, n->name)) < 0)
			goto done;
		if (n->type == KURA_NODE_DIR) {
			err = collect_tree(c, n->subtree, depth + 1);
		} else if ((err = KURA_ARRAY_GROW(c->v, c->cap, c->n + 1)) == 0) {
			if (!(c->v[c->n].path = strdup(c->path.s)))
				err = nomem();
			else
				c->v[c->n++].snap = c->snap;
		}
		kura_walk__pop(&c->path, len);
		if (err < 0)
			goto done;
	}
	err = 0;
done:
	kura_tree_free(tree);
	return err;
}

static int seen_cmp(const void *x, const void *y)
{
	const seen *a = x, *b = y;
	int c = strcmp(a->path, b->path);

	return c ? c : (a->snap > b->snap) - (a->snap < b->snap);
}

static int listed_cmp(const void *x, const void *y)
{
	const listed *a = x, *b = y;
	int c = strcmp(a->path, b->path);

	return c ? c : (a->snap > b->snap) - (a->snap < b->snap);
}

static const listed *listed_find(const listed *v, size_t n, const char *path)
{
	size_t lo = 0, hi = n;

	while (lo < hi) { /* the first entry of the path: its earliest listing */
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(v[lo].path, path) == 0 ? &v[lo] : NULL;
}

static int entry_cmp(const void *x, const void *y)
{
	return strcmp(((const kura_clean_entry *)x)->path, ((const kura_clean_entry *)y)->path);
}

static kura_clean_entry *entry_find(const kura_clean_plan *p, const char *path)
{
	kura_clean_entry key = {.path = (char *)path};

	return p->nentries ? bsearch(&key, p->entries, p->nentries, sizeof(key), entry_cmp) : NULL;
}

static char *join_reasons(json_t *reasons)
{
	size_t i, len = 0;
	json_t *r;
	char *s;

	json_array_foreach(reasons, i, r) len +=
	    strlen(json_string_value(r) ? json_string_value(r) : "") + 1;
	if (!(s = calloc(1, len + 1)))
		return NULL;
	json_array_foreach(reasons, i, r)
	{
		if (!json_string_value(r))
			continue;
		if (*s)
			strcat(s, ",");
		strcat(s, json_string_value(r));
	}
	return s;
}

static bool lists_files(json_t *rec)
{
	return json_array_size(json_object_get(rec, "files")) > 0;
}

/* The last dot of the name's last component, or NULL. */
static const char *extension(const char *path)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');

	return dot && (!slash || dot > slash + 1) ? dot : NULL;
}

/*
 * Copies the attack renamed: x.docx.locked, whose x.docx is restored from
 * before it went, with an extension the scan gave as a rename to noise.
 * A listed copy (no clean version) names its original; an unlisted new one
 * (the scan cannot judge files under 512 bytes) is left out too; and the
 * original, gone without a listing of its own, is "before-attack".
 */
static int mark_renamed(kura_clean_plan *p, const listed *l, size_t nl, const bool *at_start)
{
	char **exts = NULL;
	size_t nexts = 0, cap = 0;
	int err = 0;

	for (size_t i = 0; i < nl; i++) {
		const char *e =
		    strstr(l[i].reasons, "renamed-to-noise") ? extension(l[i].path) : NULL;
		bool have = false;

		for (size_t j = 0; e && j < nexts && !have; j++)
			have = strcmp(exts[j], e) == 0;
		if (!e || have)
			continue;
		if ((err = KURA_ARRAY_GROW(exts, cap, nexts + 1)) < 0)
			goto done;
		exts[nexts++] = (char *)e;
	}
	for (size_t i = 0; nexts && i < p->nentries; i++) {
		kura_clean_entry *e = &p->entries[i], *orig;
		const char *ext = extension(e->path);
		bool match = false;
		char *base;

		if (!ext ||
		    !(e->why == KURA_CLEAN_ATTACK || (e->why == KURA_CLEAN_NEWEST && !at_start[i])))
			continue;
		for (size_t j = 0; j < nexts && !match; j++)
			match = strcmp(exts[j], ext) == 0;
		if (!match)
			continue;
		if (!(base = strndup(e->path, (size_t)(ext - e->path)))) {
			err = nomem();
			goto done;
		}
		orig = entry_find(p, base);
		if (!orig || orig->from == SIZE_MAX || orig->from == p->nchain - 1) {
			free(base);
			continue;
		}
		if (orig->why == KURA_CLEAN_GONE) {
			p->count[orig->why]--;
			orig->why = KURA_CLEAN_BEFORE;
			/* an unlisted copy: the original turned suspect where it vanished */
			orig->first_suspect =
			    e->first_suspect != SIZE_MAX ? e->first_suspect : orig->gone_in;
			p->count[orig->why]++;
		}
		if (e->why == KURA_CLEAN_NEWEST) {
			p->count[e->why]--;
			e->why = KURA_CLEAN_RENAMED;
			e->from = SIZE_MAX;
			p->count[e->why]++;
		}
		e->original = base;
	}
done:
	free(exts);
	return err;
}

/* Points of a snapshot's mass-deletion signal at which its deletions count as the attack's. */
#define WIPE_POINTS 10

static int deletion_points(json_t *rec)
{
	size_t i;
	json_t *sig;

	json_array_foreach(json_object_get(rec, "signals"), i,
			   sig) if (!strcmp(json_string_value(json_object_get(sig, "signal")) ?: "",
					    "mass-deletion")) return (int)
	    json_integer_value(json_object_get(sig, "points"));
	return 0;
}

/*
 * Paths gone and not explained by a renamed copy: back when the snapshot
 * they vanished in is suspect and its deletions scored as a signal (a
 * wiper), else left deleted, as the user left them.
 */
static void settle_gone(kura_clean_plan *p, const kura_scan_result *scan, json_t *const *recs)
{
	for (size_t i = 0; i < p->nentries; i++) {
		kura_clean_entry *e = &p->entries[i];
		size_t k = e->gone_in;

		if (e->why != KURA_CLEAN_GONE)
			continue;
		if (k < p->nchain && scan->snapshots[k].verdict == KURA_DETECTION_SUSPECT &&
		    deletion_points(recs[k]) >= WIPE_POINTS)
			continue;
		p->count[e->why]--;
		e->why = KURA_CLEAN_DELETED;
		e->from = SIZE_MAX;
		p->count[e->why]++;
	}
}

/* The window's start: before the first suspect snapshot and any run of listing ones before it. */
static size_t window_start(json_t *const *recs, size_t first)
{
	size_t j = first;

	while (j > 0 && lists_files(recs[j - 1]))
		j--;
	return j > 0 ? j - 1 : 0;
}

int kura_clean_plan_make(kura_repo *repo, const char *snapshot, kura_clean_plan *out)
{
	kura_scan_result scan = {0};
	json_t **recs = NULL;
	listed *lst = NULL;
	size_t nlst = 0, lst_cap = 0, entries_cap = 0;
	collect c = {.repo = repo};
	bool *at_start = NULL;
	char id[KURA_ID_HEX];
	size_t last;
	int err;

	memset(out, 0, sizeof(*out));
	out->first_suspect = out->clean_point = SIZE_MAX;
	if ((err = kura_snapshot_resolve(repo, snapshot, id)) < 0 ||
	    (err = kura_scan_chain(repo, id, &scan)) < 0)
		return err;
	if (scan.nsnapshots == 0 || strcmp(scan.snapshots[scan.nsnapshots - 1].id, id) != 0) {
		err = kura_error_set(KURA_ECORRUPT, "restore --clean: snapshot %s was not judged",
				     id);
		goto done;
	}
	out->skipped = scan.skipped;
	out->nchain = scan.nsnapshots;
	last = out->nchain - 1;
	if (!(out->chain = calloc(out->nchain, sizeof(*out->chain))) ||
	    !(recs = calloc(out->nchain, sizeof(*recs)))) {
		err = nomem();
		goto done;
	}
	for (size_t i = 0; i < out->nchain; i++) {
		memcpy(out->chain[i], scan.snapshots[i].id, KURA_ID_HEX);
		if (!(recs[i] = json_loads(scan.snapshots[i].record, 0, NULL))) {
			err = nomem();
			goto done;
		}
		if (!strcmp(scan.sources[0].first_suspect, scan.snapshots[i].id))
			out->first_suspect = i;
		if (!strcmp(scan.sources[0].clean_point, scan.snapshots[i].id))
			out->clean_point = i;
	}
	out->window =
	    out->first_suspect == SIZE_MAX ? last : window_start(recs, out->first_suspect);
	/* when each path first turned suspect, within the window (its start is clean, unless
	   the very first snapshot is suspect) */
	for (size_t k = out->window + (out->window < out->first_suspect);
	     out->first_suspect != SIZE_MAX && k <= last; k++) {
		size_t i;
		json_t *f;

		json_array_foreach(json_object_get(recs[k], "files"), i, f)
		{
			const char *path = json_string_value(json_object_get(f, "path"));

			if (!path)
				continue;
			if ((err = KURA_ARRAY_GROW(lst, lst_cap, nlst + 1)) < 0)
				goto done;
			lst[nlst].path = path;
			lst[nlst].snap = k;
			if (!(lst[nlst++].reasons = join_reasons(json_object_get(f, "reasons")))) {
				err = nomem();
				goto done;
			}
		}
	}
	if (nlst > 1)
		qsort(lst, nlst, sizeof(*lst), listed_cmp);
	/* every path of the window's snapshots */
	for (size_t k = out->window; k <= last; k++) {
		kura_snapshot *snap = NULL;

		if ((err = kura_repo__load_snapshot(repo, out->chain[k], &snap)) < 0)
			goto done;
		c.snap = k;
		err = collect_tree(&c, snap->tree, 0);
		kura_snapshot_free(snap);
		if (err < 0)
			goto done;
	}
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), seen_cmp);
	if (c.n && !(at_start = calloc(c.n, sizeof(*at_start)))) {
		err = nomem();
		goto done;
	}
	for (size_t i = 0; i < c.n;) {
		const listed *l = listed_find(lst, nlst, c.v[i].path);
		size_t from = SIZE_MAX, j = i;
		kura_clean_entry *e;
		bool in_last = false;

		if ((err = KURA_ARRAY_GROW(out->entries, entries_cap, out->nentries + 1)) < 0)
			goto done;
		e = &out->entries[out->nentries];
		memset(e, 0, sizeof(*e));
		at_start[out->nentries] = c.v[i].snap == out->window;
		for (; j < c.n && strcmp(c.v[j].path, c.v[i].path) == 0; j++) {
			if (!l || c.v[j].snap < l->snap) /* sorted: the newest such wins */
				from = c.v[j].snap;
			in_last |= c.v[j].snap == last;
		}
		e->path = c.v[i].path;
		c.v[i].path = NULL;
		for (size_t k = i + 1; k < j; k++) {
			free(c.v[k].path);
			c.v[k].path = NULL;
		}
		i = j;
		e->from = from;
		e->first_suspect = l ? l->snap : SIZE_MAX;
		e->gone_in = !in_last && from != SIZE_MAX ? from + 1 : SIZE_MAX;
		if (l && !(e->reasons = strdup(l->reasons))) {
			err = nomem();
			goto done;
		}
		if (from == SIZE_MAX)
			e->why = KURA_CLEAN_ATTACK;
		else if (l)
			e->why = KURA_CLEAN_BEFORE;
		else
			e->why = in_last ? KURA_CLEAN_NEWEST : KURA_CLEAN_GONE;
		out->count[e->why]++;
		out->nentries++;
	}
	if ((err = mark_renamed(out, lst, nlst, at_start)) == 0)
		settle_gone(out, &scan, recs);
done:
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i].path);
	free(c.v);
	kura_walk__path_free(&c.path);
	for (size_t i = 0; i < nlst; i++)
		free(lst[i].reasons);
	free(lst);
	free(at_start);
	for (size_t i = 0; recs && i < out->nchain; i++)
		json_decref(recs[i]);
	free(recs);
	kura_scan_result_clear(&scan);
	if (err < 0)
		kura_clean_plan_clear(out);
	return err;
}

void kura_clean_plan_clear(kura_clean_plan *p)
{
	for (size_t i = 0; i < p->nentries; i++) {
		free(p->entries[i].path);
		free(p->entries[i].reasons);
		free(p->entries[i].original);
	}
	free(p->entries);
	free(p->chain);
	memset(p, 0, sizeof(*p));
}

/* The restorer's picker: the walk's snapshot is used[k] of the chain. */
typedef struct {
	const kura_clean_plan *plan;
	const size_t *used;
} pick_ctx;

static bool pick(void *ctx, size_t k, const char *path)
{
	const pick_ctx *p = ctx;
	const kura_clean_entry *e = entry_find(p->plan, path);

	return e && e->from == p->used[k];
}

int kura_clean_restore(kura_repo *repo, const kura_clean_plan *plan,
		       const kura_restore_options *opts, kura_restore_result *out)
{
	size_t *used = NULL, nused = 0;
	const char **ids = NULL;
	bool *named = NULL;
	pick_ctx ctx = {plan, NULL};
	int err;

	if (out)
		memset(out, 0, sizeof(*out));
	if (opts && ((opts->subpath && *opts->subpath) || opts->nincludes))
		return kura_error_set(KURA_EINVAL,
				      "restore --clean: restores the whole snapshot (no path or "
				      "--include)");
	if (!(named = calloc(plan->nchain + 1, sizeof(*named))) ||
	    !(used = calloc(plan->nchain + 1, sizeof(*used))) ||
	    !(ids = calloc(plan->nchain + 1, sizeof(*ids)))) {
		err = nomem();
		goto done;
	}
	for (size_t i = 0; i < plan->nentries; i++)
		if (plan->entries[i].from < plan->nchain)
			named[plan->entries[i].from] = true;
	/* oldest first: a directory gets the metadata of the newest snapshot restoring into it */
	for (size_t k = 0; k < plan->nchain; k++)
		if (named[k]) {
			used[nused] = k;
			ids[nused++] = plan->chain[k];
		}
	if (nused ==
	    0) { /* nothing clean: the newest snapshot, picking nothing, makes the target */
		used[0] = SIZE_MAX - 1;
		ids[nused++] = plan->chain[plan->nchain - 1];
	}
	ctx.used = used;
	err = kura_restore__picked(repo, ids, nused, pick, &ctx, opts, out);
done:
	free(named);
	free(used);
	free(ids);
	return err;
}
