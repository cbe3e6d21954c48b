/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_filecache.c - the incremental-backup file cache across a reload: a
 * cache far larger than the loader's 1 MiB window, with a record larger
 * than the window, comes back whole; a cache cut short keeps the records
 * before the cut; a record is trusted only for its own stat.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "repo/filecache.h"

#define REPO_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NFILES 30000
#define BIG_EXTENTS 60000 /* ~2.4 MiB: more than the loader's window */

static char dir[64];

static struct stat stat_of(unsigned i)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_dev = 7;
	st.st_ino = 1000 + i;
	st.st_size = (off_t)i * 3;
	st.st_mtim.tv_sec = 1700000000 + i;
	st.st_ctim.tv_nsec = (long)i;
	return st;
}

static uint32_t extents_of(unsigned i) { return i == NFILES / 2 ? BIG_EXTENTS : i % 5; }

static void fill_extents(kura_extent *x, uint32_t n, unsigned i)
{
	memset(x, 0, n * sizeof(*x));
	for (uint32_t k = 0; k < n; k++) {
		x[k].kind = k % 7 == 3 ? KURA_EXTENT_HOLE : KURA_EXTENT_CHUNK;
		x[k].len = 1000 + k;
		if (x[k].kind == KURA_EXTENT_CHUNK) {
			memcpy(x[k].id, &i, sizeof(i));
			memcpy(x[k].id + 8, &k, sizeof(k));
		}
	}
}

static void write_cache(void)
{
	kura_filecache *c;
	kura_extent *x = malloc(BIG_EXTENTS * sizeof(*x));
	char path[64];

	assert_non_null(x);
	assert_ok(kura_filecache_open(&c, dir, REPO_ID));
	for (unsigned i = 0; i < NFILES; i++) {
		struct stat st = stat_of(i);

		fill_extents(x, extents_of(i), i);
		snprintf(path, sizeof(path), "/srv/files/d%u/f%u", i % 100, i);
		assert_ok(kura_filecache_record(c, path, &st, x, extents_of(i)));
	}
	assert_ok(kura_filecache_commit(c));
	kura_filecache_free(c);
	free(x);
}

/* Look every record up; returns how many matched exactly. */
static unsigned count_found(void)
{
	kura_filecache *c;
	kura_extent *want = malloc(BIG_EXTENTS * sizeof(*want));
	unsigned found = 0;
	char path[64];

	assert_non_null(want);
	assert_ok(kura_filecache_open(&c, dir, REPO_ID));
	for (unsigned i = 0; i < NFILES; i++) {
		struct stat st = stat_of(i);
		const kura_extent *got;
		uint32_t n;
		int known;

		snprintf(path, sizeof(path), "/srv/files/d%u/f%u", i % 100, i);
		if (kura_filecache_lookup(c, path, &st, &got, &n, &known) != 1)
			continue;
		fill_extents(want, extents_of(i), i);
		assert_int_equal(n, extents_of(i));
		assert_memory_equal(got, want, n * sizeof(*want));
		/* another stat of the same path is not trusted */
		st.st_mtim.tv_nsec++;
		assert_int_equal(kura_filecache_lookup(c, path, &st, &got, &n, &known), 0);
		assert_int_equal(known, 1);
		found++;
	}
	kura_filecache_free(c);
	free(want);
	return found;
}

static void test_reload_across_windows(void **state)
{
	(void)state;
	write_cache();
	assert_int_equal(count_found(), NFILES);
}

static void test_cut_short(void **state)
{
	char path[160];
	struct stat st;
	unsigned found;

	(void)state;
	write_cache();
	snprintf(path, sizeof(path), "%s/%s/files", dir, REPO_ID);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 10), 0);
	/* the last record is cut: every other one is still there */
	found = count_found();
	assert_int_equal(found, NFILES - 1);
	/* a cut inside the big record (it spans the middle of the file) keeps
	 * exactly the records before it */
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	assert_int_equal(count_found(), NFILES / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reload_across_windows),
	    cmocka_unit_test(test_cut_short),
	};

	snprintf(dir, sizeof(dir), "/tmp/kura-test-filecache-%d", (int)getpid());
	if (mkdir(dir, 0700) < 0)
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
