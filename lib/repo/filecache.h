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
 *
 * Walk order.  The file is sorted in the order the archiver walks: depth
 * first, each directory's names in strcmp order, which is the order of
 * kura_filecache_path_cmp.  Memory is therefore independent of the number
 * of files: lookups are a merge join with the old file (a forward cursor,
 * so a path looked up out of order is a miss, never a wrong record), and
 * the new file is written in walk order through tickets handed out by the
 * walker (kura_filecache_reserve) while records come back from worker
 * threads in any order.
 */
#ifndef KURA_REPO_FILECACHE_H
#define KURA_REPO_FILECACHE_H

#include <stdint.h>
#include <sys/stat.h>

#include "format/tree.h"

/* Which chunking parameter set a file is cut with (docs/FORMAT.md "Chunking"). */
#define KURA_CHUNKING_LARGE 0 /* the repository's config */
#define KURA_CHUNKING_SMALL 1 /* kura_chunker_params_small */
#define KURA_CHUNKING_PAGES 2 /* fixed KURA_CHUNK_PAGES_SIZE pieces at aligned offsets */

typedef struct kura_filecache kura_filecache;

/* The cache directory: $KURA_CACHE_DIR, $XDG_CACHE_HOME/kura or ~/.cache/kura (malloc'd). */
char *kura_filecache_default_dir(void);

/* Open the cache of `repo_id_hex` under `dir` (NULL: the default location). */
int kura_filecache_open(kura_filecache **out, const char *dir, const char *repo_id_hex);

/*
 * Walk order of two absolute paths: component by component, each compared
 * with strcmp, an ancestor before what is below it ("/a/b" < "/a.c"
 * because "a" < "a.c").  Returns <0, 0 or >0 like strcmp.
 */
int kura_filecache_path_cmp(const char *a, const char *b);

/*
 * Extents recorded for `path` if its stat matches; borrowed, valid until
 * the next lookup or _free.  Returns 1 on a match, 0 when the file is
 * unknown (*out_known = 0) or changed (*out_known = 1).  Lookups must come
 * in walk order from one thread; a path that sorts before one looked up
 * earlier is reported unknown.
 */
int kura_filecache_lookup(kura_filecache *c, const char *path, const struct stat *st,
			  const kura_extent **out, uint32_t *out_count, int *out_known);

/* What the last backup stored for a path (kura_filecache_previous). */
typedef struct {
	int found;                  /* 1: the fields below hold the old record */
	uint64_t dev, ino, size;
	uint8_t chunking;           /* KURA_CHUNKING_* for the next backup */
	const kura_extent *extents; /* borrowed, valid until the next lookup or _free */
	uint32_t count;
} kura_filecache_prev;

/*
 * After a lookup that set *out_known = 1 (a hit, or a file that changed
 * since): the old record.  Returns 1 and fills *out, or 0 (out zeroed)
 * when there is none or it is damaged (then nothing after it is trusted
 * either).
 */
int kura_filecache_previous(kura_filecache *c, kura_filecache_prev *out);

/*
 * The place of the next file in the new cache, in walk order (the walking
 * thread only).  Every ticket must then be given to exactly one call of
 * _record or _skip, from any thread.  Blocks while too many places handed
 * out earlier are still open: they must not depend on the caller to close.
 */
uint64_t kura_filecache_reserve(kura_filecache *c);

/*
 * Record what was stored for `path` at `ticket` (thread-safe).  The ticket
 * is used up even when this fails (KURA_ENOMEM).
 */
int kura_filecache_record(kura_filecache *c, uint64_t ticket, const char *path,
			  const struct stat *st, const kura_extent *extents, uint32_t count);

/*
 * The same, remembering the chunking parameter set (KURA_CHUNKING_*) the
 * next backup of the file should use (chunkchoice.h).
 */
int kura_filecache_record_chunked(kura_filecache *c, uint64_t ticket, const char *path,
				  const struct stat *st, const kura_extent *extents, uint32_t count,
				  uint8_t chunking);

/* Nothing to record at `ticket` (the file could not be stored; thread-safe). */
void kura_filecache_skip(kura_filecache *c, uint64_t ticket);

/*
 * Replace the old cache with the new records (after a successful backup,
 * with every ticket recorded or skipped).
 */
int kura_filecache_commit(kura_filecache *c);

void kura_filecache_free(kura_filecache *c);

#endif
