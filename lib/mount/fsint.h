/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fsint.h - what the files of the mount (lib/mount/) share: the inode
 * table (fsnode.c), the synthetic top directories (fslayout.c) and the
 * file reads (fsread.c).
 *
 * Every directory is an fs_dir holding a tree: a decoded tree of the
 * snapshot, loaded the first time it is needed, or a tree built in memory
 * for the top directories of "all" (root, snapshots/, by-time/), built by
 * kura_fs_open.  When a directory's tree is installed its entries get the
 * inode numbers [base, base + count), recorded in `ranges` (sorted, since
 * numbers only grow), so an inode number leads to its directory and index
 * by a binary search.  Installed trees are never freed before the kura_fs,
 * so a kura_node pointer, once found, stays valid without the lock.
 */
#ifndef KURA_MOUNT_FSINT_H
#define KURA_MOUNT_FSINT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kura/mount.h"
#include "format/tree.h"
#include "mount/fscache.h"
#include "repo/repo.h"

typedef struct fs_dir fs_dir;

struct fs_dir {
	uint64_t ino;
	uint8_t tree_id[KURA_HASH_SIZE]; /* where its tree comes from (unless synthetic) */
	unsigned depth;			 /* of its tree, counted from the snapshot root (0) */
	bool synthetic;			 /* a top directory of "all": its children are roots */
	kura_tree *tree;		 /* NULL until installed */
	uint64_t base;			 /* inode number of tree->nodes[0] */
	fs_dir **sub;			 /* per entry: the fs_dir of a directory entry, once made */
};

typedef struct {
	uint64_t base;
	size_t count;
	fs_dir *dir;
} fs_range;

struct kura_fs {
	kura_repo *repo;
	kura_fscache *cache;
	pthread_mutex_t lock; /* the range table, inode counter and fs_dir creation */
	fs_dir *root;
	uint64_t next_ino;
	fs_range *ranges;
	size_t nranges, ranges_cap;
	char snapshot[KURA_ID_HEX]; /* one snapshot: its id; "all": "" */
	size_t nsnapshots;
	int64_t root_mtime_sec; /* the root's time: the (newest) snapshot's */
	uint32_t root_mtime_nsec;
};

/* Give `tree` to `d` and number its entries (lock held).  Takes the tree. */
int kura_fs__install(kura_fs *fs, fs_dir *d, kura_tree *tree);

/* A new fs_dir for the tree `id` at `depth` (not installed). */
int kura_fs__dir_new(fs_dir **out, uint64_t ino, const uint8_t id[KURA_HASH_SIZE], unsigned depth);

void kura_fs__dir_free(fs_dir *d);

/*
 * The node of inode `ino` (NULL for the root: *out_dir is then fs->root
 * and *out_index 0) and the directory that lists it.  KURA_ENOTFOUND for a
 * number never handed out.
 */
int kura_fs__node(kura_fs *fs, uint64_t ino, const kura_node **out, fs_dir **out_dir,
		  size_t *out_index);

/* Build the top directories of "all" (fslayout.c) from the snapshot list. */
int kura_fs__layout_all(kura_fs *fs, const kura_fs_options *opts);

/* Build the root of one snapshot (fslayout.c). */
int kura_fs__layout_one(kura_fs *fs, const char *name);

#endif
