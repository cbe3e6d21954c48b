/* SPDX-License-Identifier: Apache-2.0 */
/*
 * archtree.c - the backup's tree builder: directories complete bottom-up,
 * in whatever order their children finish.
 *
 * Each directory counts its outstanding children, plus one token while it
 * is still being walked.  Whoever brings the count to zero - a worker
 * finishing a file's last chunk, or the walker - sorts the directory's
 * nodes, encodes and stores its tree, writes the tree's id into the
 * parent's node and counts the parent down; the root's id goes to the
 * archiver.  Counts and ids are touched under a->lock.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "repo/archiver.h"
#include "repo/blobstore.h"

/* ---------------------------------------------------------------------- */
/* Completion: files and directories finish in any order.                 */

static int node_cmp(const void *x, const void *y)
{
	return strcmp(((const kura_node *)x)->name, ((const kura_node *)y)->name);
}

/* Store the finished directory's tree; returns its parent, to be counted down. */
static dir_state *dir_complete(archiver *a, dir_state *dir)
{
	dir_state *parent = dir->parent;
	kura_tree tree;
	kura_buf enc = KURA_BUF_INIT;
	uint8_t id[KURA_HASH_SIZE] = {0};
	size_t n = 0;
	int err;

	/* drop the slots of entries that could not be read */
	for (size_t i = 0; i < dir->count; i++)
		if (dir->nodes[i].name)
			dir->nodes[n++] = dir->nodes[i];
	if (n > 1)
		qsort(dir->nodes, n, sizeof(*dir->nodes), node_cmp);
	tree.nodes = dir->nodes;
	tree.count = n;
	if (!kura_backup__failed(a)) {
		if ((err = kura_tree_encode(&enc, &tree)) < 0 ||
		    (err = kura_blobstore_add(a->store, KURA_BLOB_TREE, enc.data, enc.len, id)) < 0)
			kura_backup__set_error(a, err);
	}
	kura_buf_free(&enc);
	for (size_t i = 0; i < n; i++)
		kura_node_clear(&dir->nodes[i]);
	free(dir->nodes);
	pthread_mutex_lock(&a->lock);
	if (parent) {
		memcpy(parent->nodes[dir->slot].subtree, id, KURA_HASH_SIZE);
	} else {
		memcpy(a->root_id, id, KURA_HASH_SIZE);
		a->root_done = 1;
	}
	pthread_mutex_unlock(&a->lock);
	free(dir);
	return parent;
}

/*
 * Count one child of `dir` done.  A loop, not recursion: the last file of
 * a deep tree may complete every directory above it, on a worker's stack.
 */
void kura_backup__child_done(archiver *a, dir_state *dir)
{
	int zero;

	while (dir) {
		pthread_mutex_lock(&a->lock);
		zero = --dir->pending == 0;
		pthread_mutex_unlock(&a->lock);
		if (!zero)
			return;
		dir = dir_complete(a, dir);
	}
}

void kura_backup__child_started(archiver *a, dir_state *dir)
{
	pthread_mutex_lock(&a->lock);
	dir->pending++;
	pthread_mutex_unlock(&a->lock);
}
