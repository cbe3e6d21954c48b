/* SPDX-License-Identifier: Apache-2.0 */
/*
 * treeahead.h - reading a snapshot's trees ahead on a remote store.
 *
 * A walk (restore, ls, diff) reads one tree at a time, each a range request:
 * on a local disk that is a pread, on S3 or a vault a round trip of tens
 * of milliseconds, so a snapshot of a thousand directories cost a minute
 * of waiting before any content moved.  kura_repo__treeahead() reads the
 * trees below a root level by level, many requests in flight (the
 * backend's read_parallel), trees near each other in one pack in one
 * ranged request, each authenticated as the walk would (a tree whose range
 * fails goes through the walk's read path, kura_repo__read_blob: index
 * entries are hints), and keeps their plaintext; kura_repo__load_tree() takes
 * a tree from there before it asks the store.  A tree that could not be
 * read ahead is simply not kept: the walk reads it itself and says what
 * went wrong, as it always did.
 */
#ifndef KURA_REPO_TREEAHEAD_H
#define KURA_REPO_TREEAHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "repo/repo.h"

/* The most plaintext of trees kept at once; trees beyond are read by the walk. */
#define KURA_TREEAHEAD_BYTES (256u << 20)

/*
 * Read the trees below `root` (itself included) ahead, `parallel` requests
 * at a time, and keep them for kura_repo__load_tree() until
 * kura_repo__treeahead_drop() on the same thread.  Does nothing for
 * parallel < 2, or while another thread's call holds the handle's
 * read-ahead (its walk then reads one tree at a time).  Only a
 * lack of memory or threads is an error; unreadable trees are left out.
 */
int kura_repo__treeahead(kura_repo *repo, const uint8_t root[KURA_HASH_SIZE], int parallel);

/*
 * The same for a diff of the trees old_root and new_root: only the pairs of
 * directories diff descends into (those whose ids differ, and everything
 * below a directory on one side only) are read ahead.
 */
int kura_repo__treeahead_diff(kura_repo *repo, const uint8_t old_root[KURA_HASH_SIZE],
			      const uint8_t new_root[KURA_HASH_SIZE], int parallel);

/* kura_repo__treeahead_take() and _drop() are in repo.h: repo.c uses them. */

#endif
