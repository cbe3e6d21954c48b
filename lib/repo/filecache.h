/* SPDX-License-Identifier: Apache-2.0 */
/*
 * filecache.h - the client-side file cache that makes incremental backups
 * cheap: path -> (device, inode, size, mtime, ctime) and the extents last
 * stored for it.  A file whose five values match is not read again (its
 * chunks must still be in the index).  The cache is only an optimisation:
 * a missing, stale or damaged cache costs time, never correctness, so a
 * cache that does not parse is silently treated as empty.
 *
 * Layout: <cache dir>/<repository id>/files, rewritten (atomically) by each
 * successful backup with the files that backup stored.
 */
#ifndef KURA_REPO_FILECACHE_H
#define KURA_REPO_FILECACHE_H

#include <stdint.h>
#include <sys/stat.h>

#include "format/tree.h"

typedef struct kura_filecache kura_filecache;

/* Open the cache of `repo_id_hex` under `dir` (NULL: the default location). */
int kura_filecache_open(kura_filecache **out, const char *dir, const char *repo_id_hex);

/*
 * Extents recorded for `path` if its stat matches; borrowed, valid until
 * _free.  Returns 1 on a match, 0 when the file is unknown (*out_known = 0)
 * or changed (*out_known = 1).
 */
int kura_filecache_lookup(kura_filecache *c, const char *path, const struct stat *st,
			  const kura_extent **out, uint32_t *out_count, int *out_known);

/* Record what was stored for `path` in the new cache (thread-safe). */
int kura_filecache_record(kura_filecache *c, const char *path, const struct stat *st,
			  const kura_extent *extents, uint32_t count);

/* Replace the old cache with the new records (after a successful backup). */
int kura_filecache_commit(kura_filecache *c);

void kura_filecache_free(kura_filecache *c);

#endif
