/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_mount.c - kura_fs (kura/mount.h), the file system `kura mount`
 * serves, without FUSE: the layout of "all" and of one snapshot, lookups
 * down to a file, reads at any offset and length equal to the original,
 * stat fields and extended attributes as stored, the chunk cache within
 * its budget, four threads reading one file at once, and the refusals
 * (a backup key, an unknown snapshot, the wrong kind of inode).
 */
#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "kura/mount.h"
#include "mount/fsint.h"

#define PASS "correct horse battery staple mount test"
#define BIG (3u * 1024 * 1024 + 12345)

static char base[64], src[128], repo_path[128], cache_dir[128];
static uint8_t *big_data;
static char snap1[KURA_ID_HEX], snap2[KURA_ID_HEX];
static bool have_xattr;

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return data;
}

/* Look up each component of the absolute path `path` from the root. */
static uint64_t walk(kura_fs *fs, uint64_t from, const char *path, kura_fs_attr *out)
{
	char buf[512], *save = NULL, *part;
	uint64_t ino = from;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		assert_ok(kura_fs_lookup(fs, ino, part, out));
		ino = out->ino;
	}
	return ino;
}

struct names {
	char list[16][80];
	size_t n;
	int stop_after;
};

static int on_name(const char *name, const kura_fs_attr *a, uint64_t next, void *ctx)
{
	struct names *ns = ctx;

	(void)a;
	(void)next;
	if (ns->n < 16)
		snprintf(ns->list[ns->n++], sizeof(ns->list[0]), "%s", name);
	return ns->stop_after && (int)ns->n >= ns->stop_after;
}

/* One handle for every test (the passphrase's Argon2id is slow): readers may share it. */
static kura_repo *shared;

static kura_repo *open_repo(void)
{
	return shared;
}

static void check_reads(kura_fs *fs, uint64_t ino, unsigned seed)
{
	kura_fs_file *f;
	uint8_t *buf = malloc(1u << 20);
	size_t got;

	assert_non_null(buf);
	assert_ok(kura_fs_file_open(&f, fs, ino));
	srand(seed);
	for (int i = 0; i < 200; i++) {
		uint64_t off = (uint64_t)rand() % (BIG + 10);
		size_t want = (size_t)rand() % (1u << 20);

		assert_ok(kura_fs_file_read(f, off, buf, want, &got));
		if (off >= BIG) {
			assert_int_equal(got, 0);
			continue;
		}
		assert_int_equal(got, want < BIG - off ? want : BIG - off);
		assert_memory_equal(buf, big_data + off, got);
	}
	kura_fs_file_close(f);
	free(buf);
}

static void test_all_layout_and_reads(void **state)
{
	kura_fs_options o = KURA_FS_OPTIONS_INIT;
	kura_repo *repo = open_repo();
	struct names ns = {0};
	kura_fs_attr a;
	kura_fs *fs;
	const char *target;
	char want[128], path[256];
	const uint8_t *value;
	size_t len;
	uint64_t snaps, ino;

	(void)state;
	o.snapshot = "all";
	assert_ok(kura_fs_open(&fs, repo, &o));
	assert_int_equal(kura_fs_snapshot_count(fs), 2);
	assert_string_equal(kura_fs_snapshot(fs), "");
	assert_ok(kura_fs_readdir(fs, KURA_FS_ROOT, 0, on_name, &ns));
	assert_int_equal(ns.n, 3);
	assert_string_equal(ns.list[0], "by-time");
	assert_string_equal(ns.list[1], "latest");
	assert_string_equal(ns.list[2], "snapshots");

	assert_ok(kura_fs_lookup(fs, KURA_FS_ROOT, "latest", &a));
	assert_int_equal(a.type, KURA_NODE_SYMLINK);
	assert_ok(kura_fs_readlink(fs, a.ino, &target));
	snprintf(want, sizeof(want), "snapshots/%s", snap2);
	assert_string_equal(target, want);
	assert_int_equal(a.size, strlen(want));

	assert_ok(kura_fs_lookup(fs, KURA_FS_ROOT, "snapshots", &a));
	snaps = a.ino;
	memset(&ns, 0, sizeof(ns));
	assert_ok(kura_fs_readdir(fs, snaps, 0, on_name, &ns));
	assert_int_equal(ns.n, 2);
	assert_true(strcmp(ns.list[0], ns.list[1]) < 0);
	assert_true((strcmp(ns.list[0], snap1) == 0 && strcmp(ns.list[1], snap2) == 0) ||
		    (strcmp(ns.list[0], snap2) == 0 && strcmp(ns.list[1], snap1) == 0));
	/* resume after the first entry, as the kernel does with a full buffer */
	memset(&ns, 0, sizeof(ns));
	assert_ok(kura_fs_readdir(fs, snaps, 1, on_name, &ns));
	assert_int_equal(ns.n, 1);

	assert_ok(kura_fs_lookup(fs, KURA_FS_ROOT, "by-time", &a));
	memset(&ns, 0, sizeof(ns));
	assert_ok(kura_fs_readdir(fs, a.ino, 0, on_name, &ns));
	assert_int_equal(ns.n, 2);
	assert_ok(kura_fs_lookup(fs, a.ino, ns.list[0], &a));
	assert_ok(kura_fs_readlink(fs, a.ino, &target));
	assert_int_equal(strncmp(target, "../snapshots/", 13), 0);

	/* down to the file: numbers stay the same on a second walk */
	snprintf(path, sizeof(path), "%s%s/big.bin", snap1, src);
	ino = walk(fs, snaps, path, &a);
	assert_int_equal(a.type, KURA_NODE_FILE);
	assert_int_equal(a.size, BIG);
	assert_int_equal(a.mode, 0640);
	assert_int_equal(a.mtime_sec, 1600000000);
	assert_int_equal(a.mtime_nsec, 123456789);
	assert_int_equal(walk(fs, snaps, path, &a), ino);
	assert_ok(kura_fs_getattr(fs, ino, &a));
	assert_int_equal(a.size, BIG);
	check_reads(fs, ino, 1);
	if (have_xattr) {
		assert_ok(kura_fs_getxattr(fs, ino, "user.ward", &value, &len));
		assert_int_equal(len, 1);
		assert_memory_equal(value, "4", 1);
		assert_ok(kura_fs_listxattr(fs, ino, NULL, 0, &len));
		assert_int_equal(len, sizeof("user.ward"));
		assert_int_equal(kura_fs_listxattr(fs, ino, (char *)want, 3, &len), KURA_EINVAL);
	}
	assert_int_equal(kura_fs_getxattr(fs, ino, "user.none", &value, &len), KURA_ENOTFOUND);

	/* the symlink and the second snapshot's changed file */
	snprintf(path, sizeof(path), "%s%s/link", snap2, src);
	ino = walk(fs, snaps, path, &a);
	assert_ok(kura_fs_readlink(fs, ino, &target));
	assert_string_equal(target, "big.bin");
	snprintf(path, sizeof(path), "%s%s/note.txt", snap2, src);
	walk(fs, snaps, path, &a);
	assert_int_equal(a.size, 12);

	/* the wrong kind of inode, unknown numbers and names */
	assert_int_equal(kura_fs_lookup(fs, a.ino, "x", &a), KURA_EINVAL);
	assert_int_equal(kura_fs_lookup(fs, snaps, "..", &a), KURA_ENOTFOUND);
	assert_int_equal(kura_fs_lookup(fs, snaps, "nope", &a), KURA_ENOTFOUND);
	assert_int_equal(kura_fs_getattr(fs, 1u << 30, &a), KURA_ENOTFOUND);
	assert_int_equal(kura_fs_readlink(fs, snaps, &target), KURA_EINVAL);
	{
		kura_fs_file *f;

		assert_int_equal(kura_fs_file_open(&f, fs, snaps), KURA_EINVAL);
		assert_null(f);
	}
	kura_fs_free(fs);
}

static void test_one_snapshot_and_cache_budget(void **state)
{
	kura_fs_options o = KURA_FS_OPTIONS_INIT;
	kura_repo *repo = open_repo();
	kura_fs_attr a;
	kura_fs_file *f;
	kura_fs *fs;
	uint8_t *buf = malloc(128 * 1024);
	uint64_t now, peak, off;
	size_t got;

	(void)state;
	assert_non_null(buf);
	o.snapshot = "latest";
	o.cache_bytes = 1024 * 1024;
	assert_ok(kura_fs_open(&fs, repo, &o));
	assert_string_equal(kura_fs_snapshot(fs), snap2);
	assert_ok(kura_fs_getattr(fs, KURA_FS_ROOT, &a));
	assert_int_equal(a.type, KURA_NODE_DIR);
	walk(fs, KURA_FS_ROOT, src, &a);
	assert_ok(kura_fs_lookup(fs, a.ino, "big.bin", &a));
	assert_ok(kura_fs_file_open(&f, fs, a.ino));
	/* twice through in 128 KiB reads, as cat does */
	for (int pass = 0; pass < 2; pass++) {
		for (off = 0; off < BIG; off += got) {
			assert_ok(kura_fs_file_read(f, off, buf, 128 * 1024, &got));
			assert_true(got > 0);
			assert_memory_equal(buf, big_data + off, got);
		}
	}
	kura_fs_file_close(f);
	kura_fscache_usage(fs->cache, &now, &peak);
	assert_true(now <= o.cache_bytes);
	/* the budget, passed by at most the chunk just read (4 MiB at most) */
	assert_true(peak <= o.cache_bytes + 4u * 1024 * 1024);
	kura_fs_free(fs);
	free(buf);

	o.snapshot = "ffffffff";
	assert_int_equal(kura_fs_open(&fs, repo, &o), KURA_ENOTFOUND);
	assert_null(fs);
	o.snapshot = snap1;
	o.version = KURA_FS_OPTIONS_VERSION + 1;
	assert_int_equal(kura_fs_open(&fs, repo, &o), KURA_EUNSUPPORTED);
}

struct reader {
	kura_fs *fs;
	uint64_t ino;
	unsigned seed;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	check_reads(r->fs, r->ino, r->seed);
	return NULL;
}

static void test_threads_read_at_once(void **state)
{
	kura_fs_options o = KURA_FS_OPTIONS_INIT;
	kura_repo *repo = open_repo();
	struct reader rs[4];
	pthread_t t[4];
	kura_fs_attr a;
	kura_fs *fs;
	char path[256];

	(void)state;
	o.snapshot = snap1;
	o.cache_bytes = 2 * 1024 * 1024; /* smaller than the file: chunks come and go */
	assert_ok(kura_fs_open(&fs, repo, &o));
	snprintf(path, sizeof(path), "%s/big.bin", src);
	walk(fs, KURA_FS_ROOT, path, &a);
	for (unsigned i = 0; i < 4; i++) {
		rs[i] = (struct reader){fs, a.ino, 10 + i};
		assert_int_equal(pthread_create(&t[i], NULL, reader_main, &rs[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	kura_fs_free(fs);
}

static void test_backup_key_refused(void **state)
{
	kura_repo *repo = open_repo(), *wo;
	char key[192];
	kura_fs *fs;

	(void)state;
	snprintf(key, sizeof(key), "%s/backup.key", base);
	assert_ok(kura_repo_export_backup_key(repo, key));
	assert_ok(kura_repo_open_keyfile(&wo, repo_path, key, NULL));
	assert_int_equal(kura_fs_open(&fs, wo, NULL), KURA_ENEEDKEY);
	assert_null(fs);
	kura_repo_free(wo);
}

static int setup(void **state)
{
	kura_init_options io;
	kura_backup_result r;
	kura_repo *repo;
	struct timespec ts[2] = {{1600000000, 123456789}, {1600000000, 123456789}};
	char p[256];
	size_t len;

	(void)state;
	snprintf(base, sizeof(base), "/tmp/kura-mount-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(src, sizeof(src), "%s/src", base);
	snprintf(repo_path, sizeof(repo_path), "%s/repo", base);
	snprintf(cache_dir, sizeof(cache_dir), "%s/cache", base);
	if (mkdir(src, 0755) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/big.bin", src);
	test_write_random(p, BIG, 7);
	big_data = read_file(p, &len);
	have_xattr = setxattr(p, "user.ward", "4", 1, 0) == 0;
	if (chmod(p, 0640) != 0 || utimensat(AT_FDCWD, p, ts, 0) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/link", src);
	if (symlink("big.bin", p) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/note.txt", src);
	test_write_random(p, 5, 8);

	kura_init_options_default(&io);
	io.kdf_profile = KURA_KDF_INTERACTIVE;
	if (kura_repo_init(&repo, repo_path, PASS, &io) < 0)
		return -1;
	if (test_backup_dir(repo, src, cache_dir, &r) < 0)
		return -1;
	snprintf(snap1, sizeof(snap1), "%s", r.snapshot_id);
	kura_backup_result_clear(&r);
	test_write_random(p, 12, 9);
	sleep(1); /* another second: another name under by-time */
	if (test_backup_dir(repo, src, cache_dir, &r) < 0)
		return -1;
	snprintf(snap2, sizeof(snap2), "%s", r.snapshot_id);
	kura_backup_result_clear(&r);
	shared = repo;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kura_repo_free(shared);
	free(big_data);
	return test_remove_tree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_layout_and_reads),
	    cmocka_unit_test(test_one_snapshot_and_cache_budget),
	    cmocka_unit_test(test_threads_read_at_once),
	    cmocka_unit_test(test_backup_key_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
