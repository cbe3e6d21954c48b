/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fsnode.c - the mount's inode table and the calls that read it: open,
 * getattr, lookup, readdir, readlink and the extended attributes
 * (kura/mount.h; the layout of the tables is in fsint.h).
 *
 * A directory's tree is read from the repository outside the lock and
 * installed under it; when two threads load the same directory at once,
 * the second one's copy is dropped, so numbers are handed out once.  Trees
 * deeper than KURA_TREE_MAX_DEPTH are refused as every other reader
 * refuses them.  Names are checked again with kura_tree_name_ok before an
 * entry is listed or found, although the tree decoder never lets a bad
 * one through: a name that could leave the mount is never shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/buf.h"
#include "common/error.h"
#include "mount/fsint.h"

int kura_fs__dir_new(fs_dir **out, uint64_t ino, const uint8_t id[KURA_HASH_SIZE], unsigned depth)
{
	fs_dir *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	d->ino = ino;
	memcpy(d->tree_id, id, KURA_HASH_SIZE);
	d->depth = depth;
	*out = d;
	return 0;
}

void kura_fs__dir_free(fs_dir *d)
{
	if (!d)
		return;
	for (size_t i = 0; d->tree && d->sub && i < d->tree->count; i++)
		kura_fs__dir_free(d->sub[i]);
	free(d->sub);
	kura_tree_free(d->tree);
	free(d);
}

int kura_fs__install(kura_fs *fs, fs_dir *d, kura_tree *tree)
{
	int err;

	if (tree->count && !(d->sub = calloc(tree->count, sizeof(*d->sub)))) {
		kura_tree_free(tree);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	if ((err = KURA_ARRAY_GROW(fs->ranges, fs->ranges_cap, fs->nranges + 1)) < 0) {
		free(d->sub);
		d->sub = NULL;
		kura_tree_free(tree);
		return err;
	}
	d->tree = tree;
	d->base = fs->next_ino;
	fs->next_ino += tree->count;
	if (tree->count)
		fs->ranges[fs->nranges++] = (fs_range){d->base, tree->count, d};
	return 0;
}

/* Make sure d's tree is installed, reading it from the repository if needed. */
static int dir_load(kura_fs *fs, fs_dir *d)
{
	kura_tree *tree = NULL;
	char hex[KURA_ID_HEX];
	int err = 0;

	pthread_mutex_lock(&fs->lock);
	if (d->tree) {
		pthread_mutex_unlock(&fs->lock);
		return 0;
	}
	pthread_mutex_unlock(&fs->lock);

	if (d->depth > KURA_TREE_MAX_DEPTH) {
		kura_hex(hex, d->tree_id, KURA_HASH_SIZE);
		return kura_error_set(
		    KURA_ECORRUPT,
		    "tree %s: directories nested deeper than %d levels are not shown", hex,
		    KURA_TREE_MAX_DEPTH);
	}
	if ((err = kura_repo__load_tree(fs->repo, d->tree_id, &tree)) < 0)
		return err;
	pthread_mutex_lock(&fs->lock);
	if (d->tree)
		kura_tree_free(tree); /* another thread was first */
	else
		err = kura_fs__install(fs, d, tree);
	pthread_mutex_unlock(&fs->lock);
	return err;
}

int kura_fs__node(kura_fs *fs, uint64_t ino, const kura_node **out, fs_dir **out_dir,
		  size_t *out_index)
{
	size_t lo = 0, hi;

	*out = NULL;
	if (ino == KURA_FS_ROOT) {
		*out_dir = fs->root;
		*out_index = 0;
		return 0;
	}
	pthread_mutex_lock(&fs->lock);
	hi = fs->nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fs->ranges[mid].base <= ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && ino - fs->ranges[lo - 1].base < fs->ranges[lo - 1].count) {
		fs_range *r = &fs->ranges[lo - 1];

		*out_dir = r->dir;
		*out_index = (size_t)(ino - r->base);
		*out = &r->dir->tree->nodes[*out_index];
	}
	pthread_mutex_unlock(&fs->lock);
	if (!*out)
		return kura_error_set(KURA_ENOTFOUND, "no inode %llu", (unsigned long long)ino);
	return 0;
}

/* The loaded directory of inode `ino`: KURA_EINVAL when it is not a directory. */
static int dir_of(kura_fs *fs, uint64_t ino, fs_dir **out)
{
	const kura_node *n;
	fs_dir *parent, *d;
	size_t i;
	int err;

	*out = NULL;
	if ((err = kura_fs__node(fs, ino, &n, &parent, &i)) < 0)
		return err;
	if (!n) {
		d = fs->root;
	} else {
		if (n->type != KURA_NODE_DIR)
			return kura_error_set(KURA_EINVAL, "inode %llu is not a directory",
					      (unsigned long long)ino);
		pthread_mutex_lock(&fs->lock);
		if (!parent->sub[i]) {
			/* below a top directory of "all", each entry is a snapshot's root */
			err = kura_fs__dir_new(&parent->sub[i], ino, n->subtree,
					       parent->synthetic ? 0 : parent->depth + 1);
		}
		d = parent->sub[i];
		pthread_mutex_unlock(&fs->lock);
		if (err < 0)
			return err;
	}
	if ((err = dir_load(fs, d)) < 0)
		return err;
	*out = d;
	return 0;
}

static void fill_attr(kura_fs *fs, kura_fs_attr *a, uint64_t ino, const kura_node *n)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	if (!n) {
		/* the root: a snapshot's top, or the list of them */
		a->type = KURA_NODE_DIR;
		a->mode = fs->snapshot[0] ? 0755 : 0555;
		a->mtime_sec = fs->root_mtime_sec;
		a->mtime_nsec = fs->root_mtime_nsec;
		a->nlink = 2;
		return;
	}
	a->type = n->type == KURA_NODE_HARDLINK ? KURA_NODE_FILE : n->type;
	a->mode = n->mode & 07777;
	a->uid = n->uid;
	a->gid = n->gid;
	a->mtime_sec = n->mtime_sec;
	a->mtime_nsec = n->mtime_nsec;
	a->size = n->type == KURA_NODE_SYMLINK && n->target ? strlen(n->target) : n->size;
	if (n->type == KURA_NODE_DIR)
		a->size = 0;
	a->rdev = n->rdev;
	a->nlink = n->type == KURA_NODE_DIR ? 2 : 1;
}

int kura_fs_getattr(kura_fs *fs, uint64_t ino, kura_fs_attr *out)
{
	const kura_node *n;
	fs_dir *d;
	size_t i;
	int err;

	if ((err = kura_fs__node(fs, ino, &n, &d, &i)) < 0)
		return err;
	fill_attr(fs, out, ino, n);
	return 0;
}

static bool name_shown(const char *name)
{
	return kura_tree_name_ok(name, strlen(name)) == 0;
}

int kura_fs_lookup(kura_fs *fs, uint64_t parent, const char *name, kura_fs_attr *out)
{
	fs_dir *d;
	size_t lo = 0, hi;
	int err;

	if ((err = dir_of(fs, parent, &d)) < 0)
		return err;
	if (!name_shown(name))
		return kura_error_set(KURA_ENOTFOUND, "no entry '%s'", name);
	hi = d->tree->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(d->tree->nodes[mid].name, name);

		if (c == 0) {
			fill_attr(fs, out, d->base + mid, &d->tree->nodes[mid]);
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return kura_error_set(KURA_ENOTFOUND, "no entry '%s'", name);
}

int kura_fs_readdir(kura_fs *fs, uint64_t ino, uint64_t offset, kura_fs_dir_fn fn, void *ctx)
{
	kura_fs_attr a;
	fs_dir *d;
	int err;

	if ((err = dir_of(fs, ino, &d)) < 0)
		return err;
	for (uint64_t i = offset; i < d->tree->count; i++) {
		const kura_node *n = &d->tree->nodes[i];

		if (!name_shown(n->name))
			continue;
		fill_attr(fs, &a, d->base + i, n);
		if (fn(n->name, &a, i + 1, ctx) != 0)
			break;
	}
	return 0;
}

int kura_fs_readlink(kura_fs *fs, uint64_t ino, const char **out)
{
	const kura_node *n;
	fs_dir *d;
	size_t i;
	int err;

	*out = NULL;
	if ((err = kura_fs__node(fs, ino, &n, &d, &i)) < 0)
		return err;
	if (!n || n->type != KURA_NODE_SYMLINK || !n->target)
		return kura_error_set(KURA_EINVAL, "inode %llu is not a symlink",
				      (unsigned long long)ino);
	*out = n->target;
	return 0;
}

int kura_fs_getxattr(kura_fs *fs, uint64_t ino, const char *name, const uint8_t **out,
		     size_t *out_len)
{
	const kura_node *n;
	fs_dir *d;
	size_t i;
	int err;

	*out = NULL;
	*out_len = 0;
	if ((err = kura_fs__node(fs, ino, &n, &d, &i)) < 0)
		return err;
	for (uint32_t k = 0; n && k < n->nxattrs; k++) {
		if (strcmp(n->xattrs[k].name, name) == 0) {
			*out = n->xattrs[k].value;
			*out_len = n->xattrs[k].len;
			return 0;
		}
	}
	return kura_error_set(KURA_ENOTFOUND, "no extended attribute '%s'", name);
}

int kura_fs_listxattr(kura_fs *fs, uint64_t ino, char *buf, size_t size, size_t *out_len)
{
	const kura_node *n;
	fs_dir *d;
	size_t i, need = 0;
	int err;

	*out_len = 0;
	if ((err = kura_fs__node(fs, ino, &n, &d, &i)) < 0)
		return err;
	for (uint32_t k = 0; n && k < n->nxattrs; k++)
		need += strlen(n->xattrs[k].name) + 1;
	*out_len = need;
	if (size == 0)
		return 0;
	if (need > size)
		return kura_error_set(KURA_EINVAL,
				      "the list of extended attributes takes %zu bytes", need);
	for (uint32_t k = 0; n && k < n->nxattrs; k++) {
		size_t len = strlen(n->xattrs[k].name) + 1;

		memcpy(buf, n->xattrs[k].name, len);
		buf += len;
	}
	return 0;
}

int kura_fs_open(kura_fs **out, kura_repo *repo, const kura_fs_options *opts)
{
	static const uint8_t none[KURA_HASH_SIZE];
	kura_fs_options defaults = KURA_FS_OPTIONS_INIT;
	kura_fs *fs = NULL;
	int err;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->version > KURA_FS_OPTIONS_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED, "mount options of version %u (this is %d)",
				      opts->version, KURA_FS_OPTIONS_VERSION);
	if ((err = kura_repo__need_restore_key(repo, "mounting snapshots")) < 0)
		return err;
	if (!(fs = calloc(1, sizeof(*fs))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	fs->repo = repo;
	fs->next_ino = KURA_FS_ROOT + 1;
	pthread_mutex_init(&fs->lock, NULL);
	if ((err = kura_fscache_new(
		 &fs->cache, repo, opts->cache_bytes ? opts->cache_bytes : KURA_FS_CACHE_DEFAULT)) <
		0 ||
	    (err = kura_fs__dir_new(&fs->root, KURA_FS_ROOT, none, 0)) < 0)
		goto done;
	if (!opts->snapshot || strcmp(opts->snapshot, "all") == 0)
		err = kura_fs__layout_all(fs, opts);
	else
		err = kura_fs__layout_one(fs, opts->snapshot);
done:
	if (err < 0) {
		kura_fs_free(fs);
		return err;
	}
	*out = fs;
	return 0;
}

void kura_fs_free(kura_fs *fs)
{
	if (!fs)
		return;
	kura_fs__dir_free(fs->root);
	kura_fscache_free(fs->cache);
	free(fs->ranges);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

const char *kura_fs_snapshot(const kura_fs *fs)
{
	return fs->snapshot;
}

size_t kura_fs_snapshot_count(const kura_fs *fs)
{
	return fs->nsnapshots;
}
