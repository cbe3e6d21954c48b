/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chunkchoice.h - which chunking parameter set a file is cut with
 * (docs/FORMAT.md "Chunking", "Small chunks").
 *
 * Most files keep the repository's large chunks (about 1 MiB): few index
 * entries, the best compression.  A file that is rewritten in place a few
 * pages at a time (a database) would store a whole large chunk again for
 * every scattered page; such files are cut with the small set instead
 * (16 KiB average).  The choice is the writer's alone: chunk ids are MACs
 * of the plaintext, so deduplication is correct whatever was chosen, and
 * a restore reads extents without knowing how they were cut.  The choice
 * is remembered in the file cache so that a file keeps its set (changing
 * it costs one full copy of the file).
 */
#ifndef KURA_REPO_CHUNKCHOICE_H
#define KURA_REPO_CHUNKCHOICE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "format/tree.h"
#include "repo/filecache.h"

/* Bytes of a file's head the rule looks at (the SQLite header is 16). */
#define KURA_CHUNK_HEAD_BYTES 16

/* The piece KURA_CHUNKING_PAGES cuts: two PostgreSQL or SQL Server pages, one InnoDB page. */
#define KURA_CHUNK_PAGES_SIZE 16384

/*
 * The database format `path` (the file's path, any prefix) and `head`
 * (its first `head_len` bytes, may be NULL) show, or NULL: "sqlite" by
 * its header, "postgresql" for a relation segment (base/DBOID/RELFILENODE,
 * global/RELFILENODE, PG_VERSION_CATVERSION/DBOID/RELFILENODE in a tablespace, with an
 * optional .N segment number), "innodb" (.ibd, ibdata*), "mssql" (.mdf,
 * .ndf), "sqlite" by name (.sqlite, .sqlite3, .db).  A static string.
 */
const char *kura_chunk_database_kind(const char *path, const uint8_t *head, size_t head_len);

/*
 * KURA_CHUNKING_SMALL, _PAGES or _LARGE for a file about to be read.
 * `prev` is what the file cache holds for the path (NULL: nothing).
 * `min_size`: files smaller than this keep the large set (one large chunk
 * costs about what a few small ones would).  Pages for a file of at least
 * min_size of a known format whose pages never move (PostgreSQL, InnoDB,
 * SQL Server, SQLite by its header), small for a SQLite name without its
 * header; or what the cache says this same
 * file (device and inode) was cut with or should be cut with after it was
 * seen rewritten in place (prev->chunking, whatever its size now).
 */
int kura_chunk_choose(const char *path, const struct stat *st, const uint8_t *head, size_t head_len,
		      const kura_filecache_prev *prev, uint64_t min_size);

/*
 * What a file's last backup stored, kept while it is read again, to tell
 * a rewrite in place from an append afterwards: device, inode, size and
 * the ids of its old chunks but the last (which an append changes),
 * sorted and unique.
 */
typedef struct kura_chunk_baseline kura_chunk_baseline;

/*
 * A copy of what `prev` (borrowed) holds.  Returns 0 with *out set, or
 * KURA_ENOMEM.  *out is NULL when there is nothing to compare (fewer than
 * two old chunks).
 */
int kura_chunk_baseline_new(kura_chunk_baseline **out, const kura_filecache_prev *prev);
void kura_chunk_baseline_free(kura_chunk_baseline *b);

/*
 * 1 if the file now read (`st`, its new `extents`, cut with the same
 * parameter set as before) was rewritten in place: the same device and
 * inode, not shorter, and some old chunks of the baseline are no longer
 * among the new ones while others are.  0 otherwise (appended to,
 * unchanged, replaced by another inode, shortened, or no old chunk left:
 * made anew or encrypted, which small chunks would not help).
 */
int kura_chunk_baseline_rewritten(const kura_chunk_baseline *b, const struct stat *st,
				  const kura_extent *extents, uint32_t count);

#endif
