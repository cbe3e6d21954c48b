/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_restmeta.c - the restore's metadata phase (lib/repo/restmeta.c)
 * on a tree wide enough that it runs on the pool: more than RS_META_MIN
 * directories at each of two depths and as many files, some read-only
 * directories and hard links made after the content.  Every directory
 * and file must come back with exactly its stored mtime and mode: a
 * directory the parallel ranges miss keeps the restore's own time, and a
 * directory given its metadata before its children are written (or
 * linked) gets a newer mtime than the one stored.
 */
#include "restfix.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "kura/kura.h"
#include "repo/restshared.h"

#define PASSPHRASE "correct horse battery staple vertically integrated marmalade"
#define WIDE (RS_META_MIN + 36) /* directories at each depth: enough for several jobs */

typedef struct {
	char dir[64];
	char repo[96];
	char src[96];
	char cache[96];
	char target[96];
	kura_repo *r;
	char snap[KURA_ID_HEX];
} fixture;

/* A distinct mtime (with nanoseconds) for entry `n` of kind `k`. */
static struct timespec stamp(int k, int n)
{
	struct timespec t = {.tv_sec = 1000000000 + k * 100000 + n * 61, .tv_nsec = 1000 * n + 7};

	return t;
}

static void set_meta(const char *path, int k, int n, mode_t mode)
{
	struct timespec ts[2];

	ts[0] = ts[1] = stamp(k, n);
	assert_int_equal(chmod(path, mode), 0);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/*
 * src/dNNN/ (WIDE of them, mode 0750 or 0555), each with eNNN/ inside
 * (mode 0700 or 0500) holding a file and, for every third, a hard link to
 * the file of the d directory above.  Metadata set deepest first, as a
 * real tree would have it.
 */
static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char p[256], q[256];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-restmeta-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	snprintf(f->cache, sizeof(f->cache), "%s/cache", f->dir);
	snprintf(f->target, sizeof(f->target), "%s/target", f->dir);
	if (mkdir(f->src, 0700) < 0)
		return -1;
	for (int i = 0; i < WIDE; i++) {
		snprintf(p, sizeof(p), "%s/d%03d", f->src, i);
		if (mkdir(p, 0700) < 0)
			return -1;
		snprintf(p, sizeof(p), "%s/d%03d/top.bin", f->src, i);
		test_write_random(p, 500 + (size_t)i * 13, (unsigned)i + 1);
		snprintf(p, sizeof(p), "%s/d%03d/e%03d", f->src, i, i);
		if (mkdir(p, 0700) < 0)
			return -1;
		snprintf(p, sizeof(p), "%s/d%03d/e%03d/low.bin", f->src, i, i);
		test_write_random(p, 300 + (size_t)i * 7, (unsigned)i + 1000);
		if (i % 3 == 0) {
			snprintf(p, sizeof(p), "%s/d%03d/top.bin", f->src, i);
			snprintf(q, sizeof(q), "%s/d%03d/e%03d/link.bin", f->src, i, i);
			if (link(p, q) < 0)
				return -1;
		}
	}
	for (int i = 0; i < WIDE; i++) {
		snprintf(p, sizeof(p), "%s/d%03d/e%03d/low.bin", f->src, i, i);
		set_meta(p, 0, i, 0640);
		snprintf(p, sizeof(p), "%s/d%03d/top.bin", f->src, i);
		set_meta(p, 1, i, 0604);
		snprintf(p, sizeof(p), "%s/d%03d/e%03d", f->src, i, i);
		set_meta(p, 2, i, i % 2 ? 0500 : 0700);
		snprintf(p, sizeof(p), "%s/d%03d", f->src, i);
		set_meta(p, 3, i, i % 4 == 1 ? 0555 : 0750);
	}

	if (restfix_repo(&f->r, f->snap, f->repo, PASSPHRASE, f->src, f->cache) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	kura_repo_free(f->r);
	/* test_remove_tree gives the read-only directories write back first */
	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* `rel` under the source and under the restored copy of it have the same mtime and mode. */
static void same_meta(const fixture *f, const char *rel)
{
	char a[256], b[384];
	struct stat sa, sb;

	snprintf(a, sizeof(a), "%s/%s", f->src, rel);
	snprintf(b, sizeof(b), "%s%s/%s", f->target, f->src, rel);
	assert_int_equal(lstat(a, &sa), 0);
	if (lstat(b, &sb) != 0)
		fail_msg("%s: not restored", rel);
	if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec)
		fail_msg("%s: mtime %lld.%09ld restored as %lld.%09ld", rel,
			 (long long)sa.st_mtim.tv_sec, sa.st_mtim.tv_nsec,
			 (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
	if ((sa.st_mode & 07777) != (sb.st_mode & 07777))
		fail_msg("%s: mode %o restored as %o", rel, (unsigned)(sa.st_mode & 07777),
			 (unsigned)(sb.st_mode & 07777));
}

static void restore_and_compare(fixture *f, int threads)
{
	kura_restore_options o = {0};
	kura_restore_result res;
	char rel[64];

	o.target = f->target;
	o.threads = threads;
	assert_int_equal(kura_restore(f->r, f->snap, &o, &res), 0);
	assert_int_equal((int)res.warnings, 0);
	same_meta(f, ".");
	for (int i = 0; i < WIDE; i++) {
		snprintf(rel, sizeof(rel), "d%03d", i);
		same_meta(f, rel);
		snprintf(rel, sizeof(rel), "d%03d/top.bin", i);
		same_meta(f, rel);
		snprintf(rel, sizeof(rel), "d%03d/e%03d", i, i);
		same_meta(f, rel);
		snprintf(rel, sizeof(rel), "d%03d/e%03d/low.bin", i, i);
		same_meta(f, rel);
		if (i % 3 == 0) {
			snprintf(rel, sizeof(rel), "d%03d/e%03d/link.bin", i, i);
			same_meta(f, rel);
		}
	}
}

/* On the pool: several jobs per depth. */
static void test_parallel_metadata(void **state)
{
	restore_and_compare(*state, 4);
}

/* On the calling thread alone: the reference the pool must match. */
static void test_serial_metadata(void **state)
{
	restore_and_compare(*state, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_parallel_metadata, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serial_metadata, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
