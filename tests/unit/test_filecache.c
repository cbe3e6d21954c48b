/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_filecache.c - the incremental-backup file cache.
 *
 * Walk order: kura_filecache_path_cmp sorts paths exactly as the archiver
 * walks them (fixed cases, and a random tree walked depth first).  The
 * cursor: a cache far larger than the 1 MiB window, with a record larger
 * than the window, comes back whole when looked up in walk order; misses
 * between records, the same path twice, a path out of order and paths past
 * the end never return a wrong record.  The writer: tickets closed by
 * threads in scrambled order, far more than can be held at once, come out
 * in walk order; a record that would not ascend is left out.  Damage: a
 * cache cut at every byte, records out of order or repeated, oversized
 * lengths and counts, bad kinds, extents that do not add up, every single
 * bit flipped (the per-record check), and the old format: never a crash,
 * never a wrong record.  The chunking set each record remembers, and the
 * old record of a changed file.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "common/buf.h"
#include "repo/filecache.h"

#define REPO_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NFILES 30000
#define BIG_EXTENTS 60000 /* ~2.4 MiB: more than the reader's window */
#define NDIRS 100

static char dir[64];
static char cache_path[200];

static struct stat stat_of(unsigned i)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_dev = 7;
	st.st_ino = 1000 + i;
	st.st_mtim.tv_sec = 1700000000 + i;
	st.st_ctim.tv_nsec = (long)i;
	return st;
}

/* Extents of file i; the file's size is their sum. */
static uint32_t fill_extents(kura_extent *x, uint32_t n, unsigned i, off_t *out_size)
{
	uint64_t size = 0;

	memset(x, 0, n * sizeof(*x));
	for (uint32_t k = 0; k < n; k++) {
		x[k].kind = k % 7 == 3 ? KURA_EXTENT_HOLE : KURA_EXTENT_CHUNK;
		x[k].len = 1000 + k;
		size += x[k].len;
		if (x[k].kind == KURA_EXTENT_CHUNK) {
			memcpy(x[k].id, &i, sizeof(i));
			memcpy(x[k].id + 8, &k, sizeof(k));
		}
	}
	*out_size = (off_t)size;
	return n;
}

/* File i of the big cache: NDIRS directories of NFILES/NDIRS files, in walk order. */
static void path_of(char *out, size_t cap, unsigned i)
{
	snprintf(out, cap, "/srv/files/d%03u/f%05u", i / (NFILES / NDIRS), i);
}

static uint32_t extents_of(unsigned i) { return i == NFILES / 2 ? BIG_EXTENTS : i % 5; }

static kura_filecache *open_cache(void)
{
	kura_filecache *c;

	assert_ok(kura_filecache_open(&c, dir, REPO_ID));
	return c;
}

static void record_one(kura_filecache *c, const char *path, unsigned i, uint32_t n)
{
	kura_extent *x = malloc((n ? n : 1) * sizeof(*x));
	struct stat st = stat_of(i);

	assert_non_null(x);
	fill_extents(x, n, i, &st.st_size);
	assert_ok(kura_filecache_record(c, kura_filecache_reserve(c), path, &st, x, n));
	free(x);
}

static void write_big_cache(void)
{
	kura_filecache *c = open_cache();
	char path[64];

	for (unsigned i = 0; i < NFILES; i++) {
		path_of(path, sizeof(path), i);
		record_one(c, path, i, extents_of(i));
	}
	assert_ok(kura_filecache_commit(c));
	kura_filecache_free(c);
}

/*
 * Look `path` up as file i; returns 1 on a hit, after checking that the
 * extents are exactly file i's (n of them), and that another stat misses.
 */
static int hit(kura_filecache *c, const char *path, unsigned i, uint32_t n)
{
	const kura_extent *got;
	kura_extent *want = malloc((n ? n : 1) * sizeof(*want));
	struct stat st = stat_of(i);
	uint32_t count;
	int known, rc;

	assert_non_null(want);
	fill_extents(want, n, i, &st.st_size);
	rc = kura_filecache_lookup(c, path, &st, &got, &count, &known);
	if (rc == 1) {
		assert_int_equal(known, 1);
		assert_int_equal(count, n);
		assert_memory_equal(got, want, n * sizeof(*want));
		/* another stat of the same path is not trusted */
		st.st_mtim.tv_nsec++;
		assert_int_equal(kura_filecache_lookup(c, path, &st, &got, &count, &known), 0);
		assert_int_equal(known, 1);
	} else {
		assert_int_equal(rc, 0);
	}
	free(want);
	return rc;
}

/* Look every record of the big cache up in walk order; how many hit. */
static unsigned count_found(void)
{
	kura_filecache *c = open_cache();
	unsigned found = 0;
	char path[64];

	for (unsigned i = 0; i < NFILES; i++) {
		path_of(path, sizeof(path), i);
		found += (unsigned)hit(c, path, i, extents_of(i));
	}
	kura_filecache_free(c);
	return found;
}

/* ---------------------------------------------------------------------- */

static void test_path_cmp_cases(void **state)
{
	static const char *const ascending[] = {
	    "/", "/a", "/a/b", "/a/b/c", "/a/z", "/a\x01", "/a b", "/a-c", "/a.c", "/a.c/x",
	    "/aa", "/ab/a", "/b", "/z", "/\x7f", "/\xc3\xa9", "/\xff",
	};
	size_t n = sizeof(ascending) / sizeof(*ascending);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(kura_filecache_path_cmp(ascending[i], ascending[i]), 0);
		for (size_t j = i + 1; j < n; j++) {
			assert_true(kura_filecache_path_cmp(ascending[i], ascending[j]) < 0);
			assert_true(kura_filecache_path_cmp(ascending[j], ascending[i]) > 0);
		}
	}
	/* where strcmp of whole paths disagrees with the walk */
	assert_true(strcmp("/a-c", "/a/b") < 0);
	assert_true(kura_filecache_path_cmp("/a-c", "/a/b") > 0);
}

/* A random tree of names, walked like walk_dir: names in strcmp order, depth first. */
static size_t walk_random(char **out, size_t at, char *prefix, int depth, unsigned *seed)
{
	static const char alphabet[] = "ab.-/_\x01\xe9";
	char *names[6];
	int n = 1 + (int)(rand_r(seed) % 5);

	for (int i = 0; i < n; i++) {
		char name[5];
		int len = 1 + (int)(rand_r(seed) % 3), dup = 0;

		for (int k = 0; k < len; k++) {
			char ch = alphabet[rand_r(seed) % (sizeof(alphabet) - 1)];
			name[k] = ch == '/' ? 'c' : ch; /* names hold no '/' */
		}
		name[len] = '\0';
		for (int j = 0; j < i; j++)
			dup |= names[j] && strcmp(names[j], name) == 0;
		names[i] = dup ? NULL : strdup(name);
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (names[i] && names[j] && strcmp(names[j], names[i]) < 0) {
				char *t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
	for (int i = 0; i < n; i++) {
		size_t plen = strlen(prefix);

		if (!names[i])
			continue;
		snprintf(prefix + plen, 256 - plen, "/%s", names[i]);
		out[at++] = strdup(prefix);
		if (depth < 3 && rand_r(seed) % 2)
			at = walk_random(out, at, prefix, depth + 1, seed);
		prefix[plen] = '\0';
		free(names[i]);
	}
	return at;
}

static int qsort_path_cmp(const void *x, const void *y)
{
	return kura_filecache_path_cmp(*(char *const *)x, *(char *const *)y);
}

static void test_path_cmp_is_walk_order(void **state)
{
	(void)state;
	for (unsigned round = 0; round < 200; round++) {
		char *walk[1024], *sorted[1024], prefix[256] = "";
		unsigned seed = round;
		size_t n = walk_random(walk, 0, prefix, 0, &seed);

		memcpy(sorted, walk, n * sizeof(*walk));
		for (size_t i = n; i > 1; i--) { /* shuffle, then sort back */
			size_t j = (size_t)rand_r(&seed) % i;
			char *t = sorted[i - 1];
			sorted[i - 1] = sorted[j];
			sorted[j] = t;
		}
		qsort(sorted, n, sizeof(*sorted), qsort_path_cmp);
		for (size_t i = 0; i < n; i++) {
			assert_string_equal(sorted[i], walk[i]);
			if (i)
				assert_true(kura_filecache_path_cmp(walk[i - 1], walk[i]) < 0);
		}
		for (size_t i = 0; i < n; i++)
			free(walk[i]);
	}
}

/* ---------------------------------------------------------------------- */

static void test_reload_across_windows(void **state)
{
	(void)state;
	write_big_cache();
	assert_int_equal(count_found(), NFILES);
}

static void test_cursor_misses_and_order(void **state)
{
	kura_filecache *c;
	char path[64];
	const kura_extent *got;
	struct stat st = stat_of(0);
	uint32_t n;
	int known;

	(void)state;
	write_big_cache();
	c = open_cache();
	/* a path between records misses, and the records after it still hit */
	assert_int_equal(kura_filecache_lookup(c, "/srv/files/d000/f00000a", &st, &got, &n, &known), 0);
	assert_int_equal(known, 0);
	path_of(path, sizeof(path), 1);
	assert_int_equal(hit(c, path, 1, extents_of(1)), 1);
	/* the same path again: the same record */
	assert_int_equal(hit(c, path, 1, extents_of(1)), 1);
	/* skip ahead a directory, then come back: out of order is a miss */
	path_of(path, sizeof(path), 500);
	assert_int_equal(hit(c, path, 500, extents_of(500)), 1);
	path_of(path, sizeof(path), 2);
	st = stat_of(2);
	assert_int_equal(kura_filecache_lookup(c, path, &st, &got, &n, &known), 0);
	assert_int_equal(known, 0);
	/* and in order again, it hits */
	path_of(path, sizeof(path), 501);
	assert_int_equal(hit(c, path, 501, extents_of(501)), 1);
	path_of(path, sizeof(path), NFILES - 1);
	assert_int_equal(hit(c, path, NFILES - 1, extents_of(NFILES - 1)), 1);
	/* past the last record: misses */
	assert_int_equal(kura_filecache_lookup(c, "/srv/files/d100", &st, &got, &n, &known), 0);
	assert_int_equal(known, 0);
	assert_int_equal(kura_filecache_lookup(c, "/zzz", &st, &got, &n, &known), 0);
	assert_int_equal(known, 0);
	kura_filecache_free(c);
	/* an empty cache */
	c = open_cache();
	assert_ok(kura_filecache_commit(c));
	kura_filecache_free(c);
	c = open_cache();
	assert_int_equal(kura_filecache_lookup(c, "/a", &st, &got, &n, &known), 0);
	assert_int_equal(known, 0);
	kura_filecache_free(c);
}

static void test_cut_short(void **state)
{
	struct stat st;

	(void)state;
	write_big_cache();
	assert_int_equal(stat(cache_path, &st), 0);
	assert_int_equal(truncate(cache_path, st.st_size - 10), 0);
	/* the last record is cut: every other one is still there */
	assert_int_equal(count_found(), NFILES - 1);
	/* a cut inside the big record (it spans the middle of the file) keeps
	 * exactly the records before it */
	assert_int_equal(truncate(cache_path, st.st_size / 2), 0);
	assert_int_equal(count_found(), NFILES / 2);
}

/* ---------------------------------------------------------------------- */
/* The writer: tickets closed out of order by threads                      */

#define T_FILES 40000
#define T_BLOCK 3000 /* tickets a worker holds open at once: less than the ring */
#define T_EXTENTS(i) ((i) % 50 == 0 ? 300u : (i) % 4)

typedef struct {
	kura_filecache *c;
	pthread_mutex_t lock;
	pthread_cond_t more;
	unsigned reserved; /* tickets handed out so far (ticket i is file i) */
} t_shared;

static void t_path(char *out, size_t cap, unsigned i)
{
	snprintf(out, cap, "/t/%02u/%06u", i / 1000, i);
}

/* Close each block of tickets in a scrambled order, every 7th with nothing. */
static void *t_worker(void *arg)
{
	t_shared *s = arg;
	unsigned seed = 1;
	unsigned order[T_BLOCK];

	for (unsigned base = 0; base < T_FILES; base += T_BLOCK) {
		unsigned n = T_FILES - base < T_BLOCK ? T_FILES - base : T_BLOCK;
		char path[32];

		pthread_mutex_lock(&s->lock);
		while (s->reserved < base + n)
			pthread_cond_wait(&s->more, &s->lock);
		pthread_mutex_unlock(&s->lock);
		for (unsigned k = 0; k < n; k++)
			order[k] = base + n - 1 - k;
		for (unsigned k = n; k > 1; k--) {
			unsigned j = (unsigned)rand_r(&seed) % k, t = order[k - 1];
			order[k - 1] = order[j];
			order[j] = t;
		}
		for (unsigned k = 0; k < n; k++) {
			unsigned i = order[k];
			kura_extent x[300];
			struct stat st = stat_of(i);

			if (i % 7 == 0) {
				kura_filecache_skip(s->c, i);
				continue;
			}
			fill_extents(x, T_EXTENTS(i), i, &st.st_size);
			t_path(path, sizeof(path), i);
			if (kura_filecache_record(s->c, i, path, &st, x, T_EXTENTS(i)) < 0)
				abort();
		}
	}
	return NULL;
}

static void test_tickets_out_of_order(void **state)
{
	t_shared s = {.lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER};
	pthread_t worker;
	unsigned found = 0;
	char path[32];

	(void)state;
	s.c = open_cache();
	assert_int_equal(pthread_create(&worker, NULL, t_worker, &s), 0);
	/* the walker: blocks in reserve while the worker holds its block open */
	for (unsigned i = 0; i < T_FILES; i++) {
		assert_int_equal(kura_filecache_reserve(s.c), i);
		pthread_mutex_lock(&s.lock);
		s.reserved = i + 1;
		pthread_cond_signal(&s.more);
		pthread_mutex_unlock(&s.lock);
	}
	assert_int_equal(pthread_join(worker, NULL), 0);
	assert_ok(kura_filecache_commit(s.c));
	kura_filecache_free(s.c);

	s.c = open_cache();
	for (unsigned i = 0; i < T_FILES; i++) {
		t_path(path, sizeof(path), i);
		found += (unsigned)hit(s.c, path, i, T_EXTENTS(i));
	}
	kura_filecache_free(s.c);
	assert_int_equal(found, T_FILES - (T_FILES + 6) / 7);
}

static void test_writer_keeps_walk_order(void **state)
{
	kura_filecache *c = open_cache();
	uint64_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		t[i] = kura_filecache_reserve(c);
	/* closed in reverse; the paths of t[2] and t[3] do not ascend */
	for (int i = 3; i >= 0; i--) {
		static const char *const paths[4] = {"/a", "/c", "/b", "/c"};
		kura_extent x[2];
		struct stat st = stat_of((unsigned)i);

		fill_extents(x, 2, (unsigned)i, &st.st_size);
		assert_ok(kura_filecache_record(c, t[i], paths[i], &st, x, 2));
	}
	assert_ok(kura_filecache_commit(c));
	kura_filecache_free(c);
	c = open_cache();
	assert_int_equal(hit(c, "/a", 0, 2), 1);
	assert_int_equal(hit(c, "/b", 2, 2), 0); /* sorted before "/c" but came after it */
	assert_int_equal(hit(c, "/c", 1, 2), 1);
	kura_filecache_free(c);
	/* an open ticket at commit: the cache is not replaced */
	c = open_cache();
	t[0] = kura_filecache_reserve(c);
	t[1] = kura_filecache_reserve(c);
	kura_filecache_skip(c, t[1]);
	assert_int_equal(kura_filecache_commit(c), KURA_EIO);
	kura_filecache_free(c);
	c = open_cache();
	assert_int_equal(hit(c, "/a", 0, 2), 1);
	kura_filecache_free(c);
}

/* ---------------------------------------------------------------------- */
/* Damaged caches                                                          */

#define HEAD 12 /* body length, check */

/* One raw record: path, stat of file i, extents as given. */
static void raw_record(kura_buf *b, const char *path, unsigned i, const kura_extent *x, uint32_t n,
		       uint64_t size)
{
	struct stat st = stat_of(i);
	kura_buf body = KURA_BUF_INIT;

	assert_ok(kura_buf_put_u16(&body, (uint16_t)strlen(path)));
	assert_ok(kura_buf_put(&body, path, strlen(path)));
	assert_ok(kura_buf_put_u64(&body, (uint64_t)st.st_dev));
	assert_ok(kura_buf_put_u64(&body, (uint64_t)st.st_ino));
	assert_ok(kura_buf_put_u64(&body, size));
	assert_ok(kura_buf_put_u64(&body, (uint64_t)st.st_mtim.tv_sec * 1000000000));
	assert_ok(kura_buf_put_u64(&body, (uint64_t)st.st_ctim.tv_nsec));
	assert_ok(kura_buf_put_u32(&body, n));
	for (uint32_t k = 0; k < n; k++) {
		assert_ok(kura_buf_put_u8(&body, x[k].kind));
		assert_ok(kura_buf_put_u64(&body, x[k].len));
		if (x[k].kind == KURA_EXTENT_CHUNK)
			assert_ok(kura_buf_put(&body, x[k].id, KURA_HASH_SIZE));
	}
	assert_ok(kura_buf_put_u32(b, (uint32_t)body.len));
	{
		static const uint8_t zero_key[crypto_shorthash_KEYBYTES];
		uint8_t check[crypto_shorthash_BYTES];

		crypto_shorthash(check, body.data, body.len, zero_key);
		assert_ok(kura_buf_put(b, check, sizeof(check)));
	}
	assert_ok(kura_buf_put(b, body.data, body.len));
	kura_buf_free(&body);
}

/* A well-formed record of file i with n extents. */
static void good_record(kura_buf *b, const char *path, unsigned i, uint32_t n)
{
	kura_extent x[8];
	off_t size;

	fill_extents(x, n, i, &size);
	raw_record(b, path, i, x, n, (uint64_t)size);
}

static void write_raw(const void *data, size_t len)
{
	FILE *f = fopen(cache_path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static const char *const abc[] = {"/a", "/b", "/c"};

/* Which of /a, /b, /c (files 0, 1, 2 with 2 extents) hit; a bit mask. */
static unsigned abc_hits(void)
{
	kura_filecache *c = open_cache();
	unsigned mask = 0;

	for (unsigned i = 0; i < 3; i++)
		if (hit(c, abc[i], i, 2) == 1)
			mask |= 1u << i;
	kura_filecache_free(c);
	return mask;
}

static void abc_cache(kura_buf *b)
{
	assert_ok(kura_buf_put(b, "KURAFC02", 8));
	for (unsigned i = 0; i < 3; i++)
		good_record(b, abc[i], i, 2);
}

static void test_damaged_truncated(void **state)
{
	kura_buf b = KURA_BUF_INIT;
	size_t ends[3];

	(void)state;
	assert_ok(kura_buf_put(&b, "KURAFC02", 8));
	for (unsigned i = 0; i < 3; i++) {
		good_record(&b, abc[i], i, 2);
		ends[i] = b.len;
	}
	for (size_t cut = 0; cut <= b.len; cut++) {
		unsigned want = (cut >= ends[0]) | (cut >= ends[1]) << 1 | (cut >= ends[2]) << 2;

		write_raw(b.data, cut);
		assert_int_equal(abc_hits(), want);
	}
	kura_buf_free(&b);
}

static void test_damaged_order(void **state)
{
	kura_buf b = KURA_BUF_INIT;

	(void)state;
	/* /b, /a, /c: /a is out of order, and nothing after it is trusted */
	assert_ok(kura_buf_put(&b, "KURAFC02", 8));
	good_record(&b, "/b", 1, 2);
	good_record(&b, "/a", 0, 2);
	good_record(&b, "/c", 2, 2);
	write_raw(b.data, b.len);
	assert_int_equal(abc_hits(), 2);
	/* /a twice */
	b.len = 0;
	assert_ok(kura_buf_put(&b, "KURAFC02", 8));
	good_record(&b, "/a", 0, 2);
	good_record(&b, "/a", 0, 2);
	good_record(&b, "/b", 1, 2);
	write_raw(b.data, b.len);
	assert_int_equal(abc_hits(), 1);
	/* the old, unsorted format is not read at all */
	abc_cache(&b);
	memcpy(b.data, "KURAFC01", 8);
	write_raw(b.data, b.len);
	assert_int_equal(abc_hits(), 0);
	kura_buf_free(&b);
}

/* Overwrite 4 bytes at `off` of the /a, /b, /c cache; which records then hit. */
static unsigned abc_hits_with_u32(size_t off, uint32_t v)
{
	kura_buf b = KURA_BUF_INIT;
	unsigned mask;

	abc_cache(&b);
	kura_le32(b.data + off, v);
	write_raw(b.data, b.len);
	mask = abc_hits();
	kura_buf_free(&b);
	return mask;
}

static void test_damaged_lengths(void **state)
{
	kura_buf b = KURA_BUF_INIT;
	size_t rec2, count_off = 8 + HEAD + 2 + 2 + 40; /* /a's extent count */
	uint32_t body2;
	kura_extent x[2];
	off_t size;

	(void)state;
	abc_cache(&b);
	rec2 = 8 + HEAD + kura_get_le32(b.data + 8);
	body2 = kura_get_le32(b.data + rec2);
	kura_buf_free(&b);
	/* oversized body lengths: nothing from there on */
	assert_int_equal(abc_hits_with_u32(8, UINT32_MAX), 0);
	assert_int_equal(abc_hits_with_u32(rec2, UINT32_MAX), 1);
	assert_int_equal(abc_hits_with_u32(rec2, 1u << 30), 1);
	/* a body too short for its path and fields, or one byte off */
	assert_int_equal(abc_hits_with_u32(8, 10), 0);
	assert_int_equal(abc_hits_with_u32(rec2, body2 - 1), 1);
	assert_int_equal(abc_hits_with_u32(rec2, body2 + 1), 1);
	/* extent counts that do not fit the body */
	assert_int_equal(abc_hits_with_u32(count_off, UINT32_MAX), 0);
	assert_int_equal(abc_hits_with_u32(count_off, 3), 0);
	assert_int_equal(abc_hits_with_u32(count_off, 1), 0);
	/* a path length past the body */
	abc_cache(&b);
	kura_le16(b.data + 8 + HEAD, 0xffff);
	write_raw(b.data, b.len);
	assert_int_equal(abc_hits(), 0);
	/* a NUL inside the path */
	b.len = 0;
	assert_ok(kura_buf_put(&b, "KURAFC02", 8));
	good_record(&b, "/a", 0, 2);
	good_record(&b, "/b\x01x", 1, 2);
	b.data[rec2 + HEAD + 2 + 2] = 0; /* the \x01 of "/b\x01x" */
	good_record(&b, "/c", 2, 2);
	write_raw(b.data, b.len);
	assert_int_equal(abc_hits(), 1);
	/* extents that do not add up to the size: not trusted, nor what follows */
	fill_extents(x, 2, 0, &size);
	x[1].len++;
	b.len = 0;
	assert_ok(kura_buf_put(&b, "KURAFC02", 8));
	raw_record(&b, "/a", 0, x, 2, (uint64_t)size);
	good_record(&b, "/b", 1, 2);
	write_raw(b.data, b.len);
	assert_int_equal(abc_hits(), 0);
	/* lengths whose sum wraps around to the size */
	fill_extents(x, 2, 1, &size);
	x[0].len = UINT64_MAX;
	x[1].len = (uint64_t)size + 1;
	b.len = 0;
	assert_ok(kura_buf_put(&b, "KURAFC02", 8));
	good_record(&b, "/a", 0, 2);
	raw_record(&b, "/b", 1, x, 2, (uint64_t)size);
	good_record(&b, "/c", 2, 2);
	write_raw(b.data, b.len);
	assert_int_equal(abc_hits(), 1);
	/* a bad extent kind (with a check that matches) */
	fill_extents(x, 2, 1, &size);
	x[0].kind = 7;
	b.len = 0;
	assert_ok(kura_buf_put(&b, "KURAFC02", 8));
	good_record(&b, "/a", 0, 2);
	raw_record(&b, "/b", 1, x, 2, (uint64_t)size);
	good_record(&b, "/c", 2, 2);
	write_raw(b.data, b.len);
	assert_int_equal(abc_hits(), 1);
	kura_buf_free(&b);
}

/* Every bit of a small cache flipped in turn: whatever still hits is the record written. */
static void test_damaged_bit_flips(void **state)
{
	kura_buf b = KURA_BUF_INIT;

	(void)state;
	abc_cache(&b);
	for (size_t byte = 0; byte < b.len; byte++)
		for (int bit = 0; bit < 8; bit++) {
			b.data[byte] ^= (uint8_t)(1u << bit);
			write_raw(b.data, b.len);
			abc_hits(); /* hit() checks every extent of a hit */
			b.data[byte] ^= (uint8_t)(1u << bit);
		}
	kura_buf_free(&b);
}

/*
 * The chunking set a record remembers (chunkchoice.h): back on a hit and
 * on a changed file, with the old record's stat and extents; the older
 * "KURAFC02" records, without it, read as large.
 */
static void test_chunking_remembered(void **state)
{
	kura_filecache *c = open_cache();
	kura_filecache_prev prev;
	const kura_extent *got;
	kura_extent x[4];
	struct stat st = stat_of(0), st1 = stat_of(1);
	uint32_t count;
	int known;
	kura_buf b = KURA_BUF_INIT;

	(void)state;
	fill_extents(x, 4, 0, &st.st_size);
	assert_ok(kura_filecache_record_chunked(c, kura_filecache_reserve(c), "/a", &st, x, 4,
						KURA_CHUNKING_SMALL));
	fill_extents(x, 4, 1, &st1.st_size);
	assert_ok(kura_filecache_record_chunked(c, kura_filecache_reserve(c), "/b", &st1, x, 4,
						KURA_CHUNKING_LARGE));
	assert_ok(kura_filecache_commit(c));
	kura_filecache_free(c);

	c = open_cache();
	assert_int_equal(kura_filecache_previous(c, &prev), 0); /* nothing looked up yet */
	assert_int_equal(prev.found, 0);
	assert_int_equal(kura_filecache_lookup(c, "/a", &st, &got, &count, &known), 1);
	assert_int_equal(kura_filecache_previous(c, &prev), 1);
	assert_int_equal(prev.chunking, KURA_CHUNKING_SMALL);
	assert_int_equal(prev.count, 4);
	/* /b changed since: its old record, extents and all */
	st1.st_mtim.tv_sec++;
	assert_int_equal(kura_filecache_lookup(c, "/b", &st1, &got, &count, &known), 0);
	assert_int_equal(known, 1);
	assert_int_equal(kura_filecache_previous(c, &prev), 1);
	assert_int_equal(prev.chunking, KURA_CHUNKING_LARGE);
	assert_int_equal(prev.ino, (uint64_t)st1.st_ino);
	assert_int_equal(prev.dev, (uint64_t)st1.st_dev);
	assert_int_equal(prev.size, (uint64_t)st1.st_size);
	fill_extents(x, 4, 1, &st1.st_size);
	assert_int_equal(prev.count, 4);
	assert_memory_equal(prev.extents, x, 4 * sizeof(*x));
	/* a path the cache never held */
	assert_int_equal(kura_filecache_lookup(c, "/c", &st1, &got, &count, &known), 0);
	assert_int_equal(known, 0);
	assert_int_equal(kura_filecache_previous(c, &prev), 0);
	kura_filecache_free(c);

	/* the older format: read, as large */
	abc_cache(&b);
	write_raw(b.data, b.len);
	c = open_cache();
	st = stat_of(0);
	fill_extents(x, 2, 0, &st.st_size);
	assert_int_equal(kura_filecache_lookup(c, "/a", &st, &got, &count, &known), 1);
	assert_int_equal(kura_filecache_previous(c, &prev), 1);
	assert_int_equal(prev.chunking, KURA_CHUNKING_LARGE);
	kura_filecache_free(c);
	kura_buf_free(&b);

	/* pieces of pages come back as such; a value no version writes reads as large */
	c = open_cache();
	st = stat_of(0);
	st1 = stat_of(1);
	fill_extents(x, 4, 0, &st.st_size);
	assert_ok(kura_filecache_record_chunked(c, kura_filecache_reserve(c), "/p", &st, x, 4,
						KURA_CHUNKING_PAGES));
	fill_extents(x, 4, 1, &st1.st_size);
	assert_ok(kura_filecache_record_chunked(c, kura_filecache_reserve(c), "/q", &st1, x, 4, 9));
	assert_ok(kura_filecache_commit(c));
	kura_filecache_free(c);
	c = open_cache();
	assert_int_equal(kura_filecache_lookup(c, "/p", &st, &got, &count, &known), 1);
	assert_int_equal(kura_filecache_previous(c, &prev), 1);
	assert_int_equal(prev.chunking, KURA_CHUNKING_PAGES);
	assert_int_equal(kura_filecache_lookup(c, "/q", &st1, &got, &count, &known), 1);
	assert_int_equal(kura_filecache_previous(c, &prev), 1);
	assert_int_equal(prev.chunking, KURA_CHUNKING_LARGE);
	kura_filecache_free(c);
}

static int clean(void **state)
{
	(void)state;
	unlink(cache_path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_cmp_cases),
	    cmocka_unit_test(test_path_cmp_is_walk_order),
	    cmocka_unit_test_teardown(test_reload_across_windows, clean),
	    cmocka_unit_test_teardown(test_cursor_misses_and_order, clean),
	    cmocka_unit_test_teardown(test_cut_short, clean),
	    cmocka_unit_test_teardown(test_tickets_out_of_order, clean),
	    cmocka_unit_test_teardown(test_writer_keeps_walk_order, clean),
	    cmocka_unit_test_teardown(test_damaged_truncated, clean),
	    cmocka_unit_test_teardown(test_damaged_order, clean),
	    cmocka_unit_test_teardown(test_damaged_lengths, clean),
	    cmocka_unit_test_teardown(test_damaged_bit_flips, clean),
	    cmocka_unit_test_teardown(test_chunking_remembered, clean),
	};
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/kura-test-filecache-%d", (int)getpid());
	snprintf(cache_path, sizeof(cache_path), "%s/%s/files", dir, REPO_ID);
	if (mkdir(dir, 0700) < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (test_remove_tree(dir) != 0)
		return 1;
	return rc;
}
