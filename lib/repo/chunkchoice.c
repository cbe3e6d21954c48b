/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chunkchoice.c - the per-file choice between the large and the small
 * chunking parameter set (see chunkchoice.h).
 *
 * The rule only looks at what is cheap to know before reading: the path,
 * the first 16 bytes of a file large enough to matter, and the file cache's
 * record of the same path.  A database format known by its header or its
 * name is cut small from its first backup; any other file is cut small
 * from the backup after one that found it rewritten in place (the same
 * inode, not shorter, some old chunks other than the last gone and some
 * kept: scattered changes), since only reading it shows that.  Appended files (logs) keep the large
 * set: an append changes only the last chunk, which large chunks handle as well.
 *
 * Files of a format whose pages never move (PostgreSQL, InnoDB, SQL Server,
 * SQLite known by its header) are cut into fixed 16 KiB pieces at aligned
 * offsets instead (KURA_CHUNKING_PAGES): a rewritten page costs exactly its
 * piece, where a content-defined small chunk around it averages about twice
 * that and a page on a boundary costs two (bench/README.md, "Database
 * files").
 */
#include "repo/chunkchoice.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"

static const uint8_t sqlite_magic[16] = "SQLite format 3";

struct kura_chunk_baseline {
	uint64_t dev, ino, size;
	uint8_t (*ids)[KURA_HASH_SIZE];
	uint32_t n;
};

static int all_digits(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* A relation segment's name: RELFILENODE or RELFILENODE.N (the main fork only). */
static int pg_segment_name(const char *name, size_t len)
{
	const char *dot = memchr(name, '.', len);

	if (!dot)
		return all_digits(name, len);
	return all_digits(name, (size_t)(dot - name)) &&
	       all_digits(dot + 1, len - (size_t)(dot - name) - 1);
}

/*
 * The last three components of `path`: base (may be empty), parent and
 * name, as pointers and lengths into path.
 */
static void last_components(const char *path, const char *c[3], size_t len[3])
{
	const char *end = path + strlen(path);

	for (int k = 2; k >= 0; k--) {
		const char *start = end;

		while (start > path && start[-1] != '/')
			start--;
		c[k] = start;
		len[k] = (size_t)(end - start);
		end = start > path ? start - 1 : start;
		if (start == path) {
			for (int j = k - 1; j >= 0; j--) {
				c[j] = path;
				len[j] = 0;
			}
			break;
		}
	}
}

static int is_postgresql(const char *path)
{
	const char *c[3];
	size_t len[3];

	last_components(path, c, len);
	if (!pg_segment_name(c[2], len[2]))
		return 0;
	if (len[1] == 6 && memcmp(c[1], "global", 6) == 0)
		return 1;
	/* base/DBOID/REL, or a tablespace's PG_VERSION_CATVERSION/DBOID/REL */
	return all_digits(c[1], len[1]) && ((len[0] == 4 && memcmp(c[0], "base", 4) == 0) ||
					    (len[0] > 3 && memcmp(c[0], "PG_", 3) == 0));
}

static int has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcasecmp(name + n - s, suffix) == 0;
}

const char *kura_chunk_database_kind(const char *path, const uint8_t *head, size_t head_len)
{
	const char *name = strrchr(path, '/');

	name = name ? name + 1 : path;
	if (head && head_len >= sizeof(sqlite_magic) &&
	    memcmp(head, sqlite_magic, sizeof(sqlite_magic)) == 0)
		return "sqlite";
	if (is_postgresql(path))
		return "postgresql";
	if (has_suffix(name, ".ibd") || strncmp(name, "ibdata", 6) == 0)
		return "innodb";
	if (has_suffix(name, ".mdf") || has_suffix(name, ".ndf"))
		return "mssql";
	if (has_suffix(name, ".sqlite") || has_suffix(name, ".sqlite3") || has_suffix(name, ".db"))
		return "sqlite";
	return NULL;
}

/*
 * Formats whose pages never move: PostgreSQL, InnoDB and SQL Server by
 * their names, SQLite only by its header (a `.db` name alone may be any
 * format, where an insertion would shift every piece after it).
 */
static int pages_in_place(const char *kind, const uint8_t *head, size_t head_len)
{
	if (strcmp(kind, "sqlite") == 0)
		return head && head_len >= sizeof(sqlite_magic) &&
		       memcmp(head, sqlite_magic, sizeof(sqlite_magic)) == 0;
	return 1;
}

int kura_chunk_choose(const char *path, const struct stat *st, const uint8_t *head, size_t head_len,
		      const kura_filecache_prev *prev, uint64_t min_size)
{
	int same_file =
	    prev && prev->dev == (uint64_t)st->st_dev && prev->ino == (uint64_t)st->st_ino;

	const char *kind;

	/* sticky: changing the set costs a full copy of the file */
	if (same_file &&
	    (prev->chunking == KURA_CHUNKING_SMALL || prev->chunking == KURA_CHUNKING_PAGES))
		return prev->chunking;
	if ((uint64_t)st->st_size < min_size ||
	    !(kind = kura_chunk_database_kind(path, head, head_len)))
		return KURA_CHUNKING_LARGE;
	return pages_in_place(kind, head, head_len) ? KURA_CHUNKING_PAGES : KURA_CHUNKING_SMALL;
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, KURA_HASH_SIZE);
}

int kura_chunk_baseline_new(kura_chunk_baseline **out, const kura_filecache_prev *prev)
{
	kura_chunk_baseline *b;
	uint32_t last = UINT32_MAX, n = 0;

	*out = NULL;
	for (uint32_t i = 0; i < prev->count; i++)
		if (prev->extents[i].kind == KURA_EXTENT_CHUNK)
			last = i;
	for (uint32_t i = 0; i < prev->count; i++)
		n += prev->extents[i].kind == KURA_EXTENT_CHUNK && i != last;
	if (n == 0)
		return 0;
	if (!(b = calloc(1, sizeof(*b))) || !(b->ids = malloc((size_t)n * KURA_HASH_SIZE))) {
		free(b);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	b->dev = prev->dev;
	b->ino = prev->ino;
	b->size = prev->size;
	for (uint32_t i = 0; i < prev->count; i++)
		if (prev->extents[i].kind == KURA_EXTENT_CHUNK && i != last)
			memcpy(b->ids[b->n++], prev->extents[i].id, KURA_HASH_SIZE);
	qsort(b->ids, b->n, KURA_HASH_SIZE, id_cmp);
	n = 0;
	for (uint32_t i = 0; i < b->n; i++)
		if (n == 0 || memcmp(b->ids[n - 1], b->ids[i], KURA_HASH_SIZE) != 0)
			memmove(b->ids[n++], b->ids[i], KURA_HASH_SIZE);
	b->n = n;
	*out = b;
	return 0;
}

void kura_chunk_baseline_free(kura_chunk_baseline *b)
{
	if (!b)
		return;
	free(b->ids);
	free(b);
}

int kura_chunk_baseline_rewritten(const kura_chunk_baseline *b, const struct stat *st,
				  const kura_extent *extents, uint32_t count)
{
	uint8_t *seen;
	uint32_t found = 0;

	if (!b || b->dev != (uint64_t)st->st_dev || b->ino != (uint64_t)st->st_ino ||
	    (uint64_t)st->st_size < b->size)
		return 0;
	if (!(seen = calloc(b->n, 1)))
		return 0;
	for (uint32_t i = 0; i < count && found < b->n; i++) {
		const uint8_t(*hit)[KURA_HASH_SIZE];

		if (extents[i].kind != KURA_EXTENT_CHUNK)
			continue;
		hit = bsearch(extents[i].id, b->ids, b->n, KURA_HASH_SIZE, id_cmp);
		if (hit && !seen[hit - b->ids]) {
			seen[hit - b->ids] = 1;
			found++;
		}
	}
	free(seen);
	/* none left is a file made anew (or encrypted): small chunks would not help it */
	return found > 0 && found < b->n;
}
