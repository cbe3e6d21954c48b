/* SPDX-License-Identifier: Apache-2.0 */
/*
 * browse.c - kura_ls and kura_diff: reading a snapshot's trees without
 * touching the local file system.
 *
 * ls walks depth first, a directory before its contents, names in byte
 * order (the order trees are stored in).  diff walks two trees side by
 * side, merging their sorted names, and never descends into a pair of
 * directories whose tree ids are equal: ids are MACs of the encoded trees,
 * so equal ids mean equal contents all the way down, and a diff of two
 * mostly unchanged snapshots loads only the trees on the changed paths.
 * Both need the restore key (trees are encrypted), keep the directories
 * they are inside on an explicit stack (never the C stack: depth is up to
 * the data), and do not go below KURA_TREE_MAX_DEPTH, counted from the
 * snapshot root as backup and check count it.  At most one tree per level
 * is held in memory (on a remote store, the trees ls will list or diff
 * compare are read ahead: treeahead.h).  A directory they cannot enter
 * (too deep, a damaged or missing tree) is skipped and the walk goes on, as backup, check and
 * restore do; the first such error, with how many there were, is what
 * the call returns in the end.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/error.h"
#include "repo/treeahead.h"
#include "repo/walk.h"

/* Directories a walk could not enter: the first error is kept, the walk goes on. */
typedef struct {
	int code;
	size_t count;
	char message[512];
} browse_skips;

/* Whether the walk goes on past err (then noted in s); not without memory or the key. */
static bool skip_dir(browse_skips *s, int err)
{
	if (err >= 0 || err == KURA_ENOMEM || err == KURA_ENEEDKEY)
		return false;
	if (s->count++ == 0) {
		s->code = err;
		snprintf(s->message, sizeof(s->message), "%s", kura_error_message());
	}
	return true;
}

/* What a walk that finished returns: 0, or the first directory it skipped. */
static int skips_result(const browse_skips *s, const char *what)
{
	if (s->count == 0)
		return 0;
	if (s->count == 1)
		return kura_error_set(s->code, "%s", s->message);
	return kura_error_set(s->code, "%s (and %zu more directories %s)", s->message,
			      s->count - 1, what);
}

/* -------------------------------------------------------------------- */
/* ls                                                                    */

typedef struct {
	kura_repo *repo;
	kura_node_fn fn;
	void *ctx;
	kura_walk_path path;
	const kura_snapshot *snap;
	browse_skips skips;
} ls_walk;

/* A directory being listed, on an explicit stack: depth is decided by the data. */
typedef struct {
	kura_tree *tree;
	size_t next;            /* the node to report next */
	size_t len;             /* the directory's path length */
} ls_frame;

static int ls_report(ls_walk *w, const kura_node *n)
{
	uint8_t digest[KURA_HASH_SIZE];
	kura_node_info info;
	bool file = n->type == KURA_NODE_FILE || n->type == KURA_NODE_HARDLINK;

	if (file)
		kura_walk__digest(digest, n);
	kura_walk__info(&info, n, w->path.s, file ? digest : NULL);
	info.changed_during_read = file && kura_snapshot_changed(w->snap, w->path.s);
	return w->fn(&info, w->ctx);
}

/* Push the tree `id` (at `depth`) of the directory at w->path. */
static int ls_enter(ls_walk *w, ls_frame **st, size_t *n, size_t *cap,
		    const uint8_t id[KURA_HASH_SIZE], unsigned depth)
{
	kura_tree *tree = NULL;
	int err;

	if (depth > KURA_TREE_MAX_DEPTH)
		return kura_error_set(KURA_ECORRUPT,
				      "directories nested deeper than %d levels are not listed: %s",
				      KURA_TREE_MAX_DEPTH, w->path.s);
	if ((err = kura_repo__load_tree(w->repo, id, &tree)) < 0)
		return kura_error_wrap(err, "not listed: %s", w->path.len ? w->path.s : "/");
	if ((err = KURA_ARRAY_GROW(*st, *cap, *n + 1)) < 0) {
		kura_tree_free(tree);
		return err;
	}
	(*st)[(*n)++] = (ls_frame){tree, 0, w->path.len};
	return 0;
}

/* Report everything below the directory at w->path whose tree `id` is at `depth`. */
static int ls_tree(ls_walk *w, const uint8_t id[KURA_HASH_SIZE], unsigned depth)
{
	ls_frame *st = NULL;
	size_t n = 0, cap = 0;
	int err = ls_enter(w, &st, &n, &cap, id, depth);

	if (skip_dir(&w->skips, err))
		err = 0;

	while (err == 0 && n > 0) {
		ls_frame *f = &st[n - 1];
		const kura_node *node;

		kura_walk__pop(&w->path, f->len);
		if (f->next == f->tree->count) {
			kura_tree_free(f->tree);
			n--;
			continue;
		}
		node = &f->tree->nodes[f->next++];
		if ((err = kura_walk__push(&w->path, node->name)) < 0 || (err = ls_report(w, node)) != 0)
			break;
		if (node->type == KURA_NODE_DIR &&
		    (err = ls_enter(w, &st, &n, &cap, node->subtree, depth + (unsigned)n)) < 0 &&
		    skip_dir(&w->skips, err))
			err = 0;
	}
	while (n > 0)
		kura_tree_free(st[--n].tree);
	free(st);
	return err;
}

static int ls_node(ls_walk *w, const kura_node *n, unsigned depth)
{
	int rc;

	if ((rc = ls_report(w, n)) != 0)
		return rc;
	if (n->type == KURA_NODE_DIR)
		return ls_tree(w, n->subtree, depth + 1);
	return 0;
}

int kura_ls(kura_repo *repo, const char *snapshot_id, const char *path, kura_node_fn fn,
	    void *ctx)
{
	ls_walk w = {repo, fn, ctx, {0}, NULL, {0}};
	kura_snapshot *snap = NULL;
	kura_tree *tree = NULL;
	kura_node *node;
	char *norm = NULL;
	int err;

	if (!fn)
		return kura_error_set(KURA_EINVAL, "ls: no callback given");
	if ((err = kura_walk__snapshot(&snap, NULL, repo, snapshot_id, "listing a snapshot")) < 0)
		goto done;
	if ((err = kura_walk__normalize(&norm, path)) < 0)
		goto done;
	if ((err = kura_walk__find(&tree, &node, repo, snap->tree, norm)) < 0)
		goto done;
	if ((err = kura_walk__append(&w.path, norm)) < 0)
		goto done;
	w.snap = snap;
	/* on a remote store, the trees below in few ranged reads rather than one each */
	if (!node || node->type == KURA_NODE_DIR)
		err = kura_repo__treeahead(repo, node ? node->subtree : snap->tree,
					   (int)repo->backend->read_parallel);
	if (err < 0)
		goto done;
	/* depth: of the tree being listed, counted from the snapshot root (0) */
	err = node ? ls_node(&w, node, kura_walk__depth(norm) - 1) : ls_tree(&w, snap->tree, 0);
	if (err == 0)
		err = skips_result(&w.skips, "not listed");
done:
	kura_repo__treeahead_drop(repo); /* what the walk did not take */
	kura_walk__path_free(&w.path);
	kura_tree_free(tree);
	kura_snapshot_free(snap);
	free(norm);
	return err;
}

/* -------------------------------------------------------------------- */
/* diff                                                                  */

typedef struct {
	kura_repo *repo;
	kura_diff_fn fn;
	void *ctx;
	kura_walk_path path;
	browse_skips skips;
} diff_walk;


static int diff_report(diff_walk *w, kura_diff_kind kind, const kura_node *o, const kura_node *n)
{
	uint8_t od[KURA_HASH_SIZE], nd[KURA_HASH_SIZE];
	kura_node_info oi, ni;

	if (o) {
		kura_walk__digest(od, o);
		kura_walk__info(&oi, o, w->path.s, od);
	}
	if (n) {
		kura_walk__digest(nd, n);
		kura_walk__info(&ni, n, w->path.s, nd);
	}
	return w->fn(kind, o ? &oi : NULL, n ? &ni : NULL, w->ctx);
}

/* A file and a hard link to one are the same kind of thing: both carry content. */
static int kind_of(const kura_node *n)
{
	return n->type == KURA_NODE_HARDLINK ? KURA_NODE_FILE : n->type;
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool meta_equal(const kura_node *a, const kura_node *b)
{
	if (a->type != b->type || a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
	    !str_eq(a->user, b->user) || !str_eq(a->group, b->group) ||
	    a->mtime_sec != b->mtime_sec || a->mtime_nsec != b->mtime_nsec ||
	    a->size != b->size || a->rdev != b->rdev || !str_eq(a->target, b->target) ||
	    a->nxattrs != b->nxattrs)
		return false;
	for (uint32_t i = 0; i < a->nxattrs; i++) {
		const kura_xattr *x = &a->xattrs[i], *y = &b->xattrs[i];

		if (strcmp(x->name, y->name) != 0 || x->len != y->len ||
		    (x->len && memcmp(x->value, y->value, x->len) != 0))
			return false;
	}
	return true;
}

static bool content_equal(const kura_node *a, const kura_node *b)
{
	if (a->nextents != b->nextents)
		return false;
	for (uint32_t i = 0; i < a->nextents; i++) {
		const kura_extent *x = &a->extents[i], *y = &b->extents[i];

		if (x->kind != y->kind || x->len != y->len ||
		    (x->kind == KURA_EXTENT_CHUNK && memcmp(x->id, y->id, KURA_HASH_SIZE) != 0))
			return false;
	}
	return true;
}

/* A pair of directories being compared, on an explicit stack; either tree may be absent. */
typedef struct {
	kura_tree *ot, *nt;
	size_t i, j;            /* the next node of each */
	size_t len;             /* the directories' path length */
} diff_frame;

typedef struct {
	diff_frame *v;
	size_t n, cap;
	unsigned depth;         /* of the trees in v[0] */
} diff_stack;

/*
 * Push the pair of trees (either id may be NULL: everything in the other
 * is new or gone) of the directory at w->path.  Equal ids mean equal
 * contents all the way down: nothing is pushed.
 */
static int diff_enter(diff_walk *w, diff_stack *st, const uint8_t *old_id, const uint8_t *new_id)
{
	kura_tree *ot = NULL, *nt = NULL;
	unsigned depth = st->depth + (unsigned)st->n;
	int err = 0;

	if ((old_id && new_id && memcmp(old_id, new_id, KURA_HASH_SIZE) == 0) || (!old_id && !new_id))
		return 0;
	if (depth > KURA_TREE_MAX_DEPTH) {
		err = kura_error_set(KURA_ECORRUPT,
				     "directories nested deeper than %d levels are not compared: %s",
				     KURA_TREE_MAX_DEPTH, w->path.s);
		goto skip;
	}
	if ((old_id && (err = kura_repo__load_tree(w->repo, old_id, &ot)) < 0) ||
	    (new_id && (err = kura_repo__load_tree(w->repo, new_id, &nt)) < 0)) {
		kura_error_wrap(err, "not compared: %s", w->path.len ? w->path.s : "/");
		goto skip;
	}
	if ((err = KURA_ARRAY_GROW(st->v, st->cap, st->n + 1)) < 0)
		goto fail;
	st->v[st->n++] = (diff_frame){ot, nt, 0, 0, w->path.len};
	return 0;
skip:
	/* what is below this directory is not compared; the walk goes on */
	if (skip_dir(&w->skips, err))
		err = 0;
fail:
	kura_tree_free(ot);
	kura_tree_free(nt);
	return err;
}

/* Report one pair of nodes of the same name (either may be NULL) and push what is below. */
static int diff_pair(diff_walk *w, diff_stack *st, const kura_node *o, const kura_node *n)
{
	int rc;

	if (!o || !n) {
		const kura_node *x = o ? o : n;

		if ((rc = diff_report(w, o ? KURA_DIFF_REMOVED : KURA_DIFF_ADDED, o, n)) != 0)
			return rc;
		if (x->type != KURA_NODE_DIR)
			return 0;
		return diff_enter(w, st, o ? o->subtree : NULL, n ? n->subtree : NULL);
	}
	if (kind_of(o) != kind_of(n)) {
		if ((rc = diff_report(w, KURA_DIFF_TYPE, o, n)) != 0)
			return rc;
		return diff_enter(w, st, o->type == KURA_NODE_DIR ? o->subtree : NULL,
				  n->type == KURA_NODE_DIR ? n->subtree : NULL);
	}
	if (n->type == KURA_NODE_DIR) {
		if (!meta_equal(o, n) && (rc = diff_report(w, KURA_DIFF_MODIFIED, o, n)) != 0)
			return rc;
		return diff_enter(w, st, o->subtree, n->subtree);
	}
	if (!meta_equal(o, n) || !content_equal(o, n))
		return diff_report(w, KURA_DIFF_MODIFIED, o, n);
	return 0;
}

/* Compare the trees old_id and new_id (at depth 0) by merging their sorted names. */
static int diff_trees(diff_walk *w, const uint8_t *old_id, const uint8_t *new_id)
{
	diff_stack st = {0};
	int err = diff_enter(w, &st, old_id, new_id);

	while (err == 0 && st.n > 0) {
		diff_frame *f = &st.v[st.n - 1];
		size_t ocount = f->ot ? f->ot->count : 0, ncount = f->nt ? f->nt->count : 0;
		const kura_node *o, *n;
		int c;

		kura_walk__pop(&w->path, f->len);
		if (f->i == ocount && f->j == ncount) {
			kura_tree_free(f->ot);
			kura_tree_free(f->nt);
			st.n--;
			continue;
		}
		o = f->i < ocount ? &f->ot->nodes[f->i] : NULL;
		n = f->j < ncount ? &f->nt->nodes[f->j] : NULL;
		c = !o ? 1 : !n ? -1 : strcmp(o->name, n->name);
		f->i += c <= 0;
		f->j += c >= 0;
		/* may move the stack: f is not used after this */
		if ((err = kura_walk__push(&w->path, c <= 0 ? o->name : n->name)) == 0)
			err = diff_pair(w, &st, c <= 0 ? o : NULL, c >= 0 ? n : NULL);
	}
	while (st.n > 0) {
		st.n--;
		kura_tree_free(st.v[st.n].ot);
		kura_tree_free(st.v[st.n].nt);
	}
	free(st.v);
	return err;
}

int kura_diff(kura_repo *repo, const char *old_id, const char *new_id, kura_diff_fn fn, void *ctx)
{
	diff_walk w = {repo, fn, ctx, {0}, {0}};
	kura_snapshot *os = NULL, *ns = NULL;
	int err;

	if (!fn)
		return kura_error_set(KURA_EINVAL, "diff: no callback given");
	if ((err = kura_walk__snapshot(&os, NULL, repo, old_id, "comparing snapshots")) < 0 ||
	    (err = kura_walk__snapshot(&ns, NULL, repo, new_id, "comparing snapshots")) < 0)
		goto done;
	if ((err = kura_walk__append(&w.path, "")) < 0)
		goto done;
	/* on a remote store, the trees it will compare in few ranged reads rather than one each */
	if ((err = kura_repo__treeahead_diff(repo, os->tree, ns->tree,
					     (int)repo->backend->read_parallel)) < 0)
		goto done;
	err = diff_trees(&w, os->tree, ns->tree);
	if (err == 0)
		err = skips_result(&w.skips, "not compared");
done:
	kura_repo__treeahead_drop(repo); /* what the walk did not take */
	kura_walk__path_free(&w.path);
	kura_snapshot_free(os);
	kura_snapshot_free(ns);
	return err;
}
