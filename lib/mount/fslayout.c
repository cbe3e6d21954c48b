/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fslayout.c - the top of a mounted repository: what `kura mount all`
 * shows above the snapshots' own trees (kura/mount.h lists the layout),
 * or the root of one snapshot.
 *
 * The top directories are trees built in memory with the same kura_node
 * records the snapshots' trees decode to, so the inode table, lookups and
 * listings treat them like any other directory.  Their names are made
 * here (hex ids, times), never taken from the repository's data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "mount/fsint.h"

/* A node of a built tree; *name and *target are copied. */
static int set_node(kura_node *n, uint8_t type, const char *name, const char *target,
		    int64_t time_ns)
{
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->mode = type == KURA_NODE_DIR ? 0555 : 0777;
	n->mtime_sec = time_ns / 1000000000;
	n->mtime_nsec = (uint32_t)(time_ns % 1000000000);
	if (time_ns < 0) {
		n->mtime_sec = 0;
		n->mtime_nsec = 0;
	}
	if (!(n->name = strdup(name)) || (target && !(n->target = strdup(target))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	n->size = target ? strlen(target) : 0;
	return 0;
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const kura_node *)a)->name, ((const kura_node *)b)->name);
}

/* A tree of `count` zeroed nodes (count may be 0). */
static int tree_new(kura_tree **out, size_t count)
{
	kura_tree *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t || (count && !(t->nodes = calloc(count, sizeof(*t->nodes))))) {
		free(t);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	t->count = count;
	*out = t;
	return 0;
}

/* A synthetic directory under the root at entry `index`, holding `tree` (taken). */
static int add_top(kura_fs *fs, size_t index, kura_tree *tree, fs_dir **out)
{
	static const uint8_t none[KURA_HASH_SIZE];
	fs_dir *d = NULL;
	int err;

	if ((err = kura_fs__dir_new(&d, fs->root->base + index, none, 0)) < 0) {
		kura_tree_free(tree);
		return err;
	}
	d->synthetic = true;
	fs->root->sub[index] = d;
	if ((err = kura_fs__install(fs, d, tree)) < 0)
		return err;
	*out = d;
	return 0;
}

/* "2026-12-02T14:03:05+0900" in local time, "-N" added by the caller on a tie. */
static void time_name(char out[64], int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns < 0 || !localtime_r(&t, &tm) || strftime(out, 64, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
		snprintf(out, 64, "time-%lld", (long long)(ns / 1000000000));
}

/* snapshots/ and by-time/ from the good snapshots `s` (n of them, oldest first). */
static int build_lists(kura_fs *fs, const kura_snapshot_info *const *s, size_t n)
{
	kura_tree *ids = NULL, *times = NULL, *root = NULL;
	fs_dir *d;
	char name[80], prev[64] = "", base[64], target[KURA_ID_HEX + 16];
	unsigned tie = 0;
	int err;

	if ((err = tree_new(&ids, n)) < 0 || (err = tree_new(&times, n)) < 0 ||
	    (err = tree_new(&root, n ? 3 : 2)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		int64_t t = kura_snapshot_order_ns(s[i]);

		if ((err = set_node(&ids->nodes[i], KURA_NODE_DIR, s[i]->id, NULL, t)) < 0 ||
		    (err = kura_unhex(ids->nodes[i].subtree, s[i]->tree, KURA_HASH_SIZE)) < 0)
			goto done;
		time_name(base, t);
		tie = strcmp(base, prev) == 0 ? tie + 1 : 0;
		snprintf(prev, sizeof(prev), "%s", base);
		if (tie)
			snprintf(name, sizeof(name), "%s-%u", base, tie);
		else
			snprintf(name, sizeof(name), "%s", base);
		snprintf(target, sizeof(target), "../snapshots/%s", s[i]->id);
		if ((err = set_node(&times->nodes[i], KURA_NODE_SYMLINK, name, target, t)) < 0)
			goto done;
	}
	qsort(ids->nodes, n, sizeof(*ids->nodes), node_cmp);
	qsort(times->nodes, n, sizeof(*times->nodes), node_cmp);

	/* the root: by-time, latest (when there is a snapshot), snapshots */
	if ((err = set_node(&root->nodes[0], KURA_NODE_DIR, "by-time", NULL,
			    fs->root_mtime_sec * 1000000000 + fs->root_mtime_nsec)) < 0)
		goto done;
	if (n) {
		snprintf(target, sizeof(target), "snapshots/%s", s[n - 1]->id);
		if ((err = set_node(&root->nodes[1], KURA_NODE_SYMLINK, "latest", target,
				    kura_snapshot_order_ns(s[n - 1]))) < 0)
			goto done;
	}
	if ((err = set_node(&root->nodes[n ? 2 : 1], KURA_NODE_DIR, "snapshots", NULL,
			    fs->root_mtime_sec * 1000000000 + fs->root_mtime_nsec)) < 0)
		goto done;
	err = kura_fs__install(fs, fs->root, root);
	root = NULL;
	if (err < 0)
		goto done;
	err = add_top(fs, 0, times, &d);
	times = NULL;
	if (err < 0)
		goto done;
	err = add_top(fs, n ? 2 : 1, ids, &d);
	ids = NULL;
done:
	kura_tree_free(ids);
	kura_tree_free(times);
	kura_tree_free(root);
	return err;
}

int kura_fs__layout_all(kura_fs *fs, const kura_fs_options *opts)
{
	kura_snapshot_info *list = NULL;
	const kura_snapshot_info **good = NULL;
	size_t count = 0, n = 0;
	int err;

	if ((err = kura_snapshots_list(fs->repo, &list, &count)) < 0)
		return err;
	if (count && !(good = calloc(count, sizeof(*good)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < count; i++) {
		if (list[i].damaged || !list[i].readable) {
			if (opts->warning)
				opts->warning(list[i].id,
					      list[i].damage ? list[i].damage
							     : "cannot be read: not shown",
					      opts->warning_ctx);
			continue;
		}
		good[n++] = &list[i];
	}
	if (n) {
		int64_t t = kura_snapshot_order_ns(good[n - 1]);

		fs->root_mtime_sec = t > 0 ? t / 1000000000 : 0;
		fs->root_mtime_nsec = t > 0 ? (uint32_t)(t % 1000000000) : 0;
	}
	fs->nsnapshots = n;
	pthread_mutex_lock(&fs->lock);
	err = build_lists(fs, good, n);
	pthread_mutex_unlock(&fs->lock);
done:
	free(good);
	kura_snapshots_free(list, count);
	return err;
}

int kura_fs__layout_one(kura_fs *fs, const char *name)
{
	kura_snapshot_info *list = NULL;
	size_t count = 0;
	int err;

	if ((err = kura_snapshot_resolve(fs->repo, name, fs->snapshot)) < 0 ||
	    (err = kura_snapshots_list(fs->repo, &list, &count)) < 0)
		return err;
	err = kura_error_set(KURA_ENOTFOUND, "snapshot %s is not in the list", fs->snapshot);
	for (size_t i = 0; i < count; i++) {
		int64_t t;

		if (strcmp(list[i].id, fs->snapshot) != 0)
			continue;
		if (list[i].damaged || !list[i].readable) {
			err = kura_error_set(KURA_ECORRUPT, "snapshot %s: %s", fs->snapshot,
					     list[i].damage ? list[i].damage : "cannot be read");
			break;
		}
		t = kura_snapshot_order_ns(&list[i]);
		fs->root_mtime_sec = t > 0 ? t / 1000000000 : 0;
		fs->root_mtime_nsec = t > 0 ? (uint32_t)(t % 1000000000) : 0;
		fs->nsnapshots = 1;
		err = kura_unhex(fs->root->tree_id, list[i].tree, KURA_HASH_SIZE);
		break;
	}
	kura_snapshots_free(list, count);
	return err;
}
