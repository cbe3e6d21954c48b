/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_restorer.c - restore, ls and diff through the public API on a real
 * repository in a temporary directory, and the path helpers of walk.c.
 * The restore tests plant symlinks in the target to check that nothing is
 * ever written outside it, damage a chunk, limit the file size and restore
 * twice, to check that what is not restored is reported and never left
 * looking restored; the restore tests run again with batches of one file
 * and one chunk, so that files, shared chunks and hard links cross batch
 * boundaries.
 */
#include "restfix.h"
#include "restfix_tiny.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repo/repo.h"
#include "repo/restorer.h"
#include "repo/walk.h"

#define MAX_PROBLEMS 16

typedef struct {
	char path[256], partial[256], error[256];
	bool exists;
} problem;

typedef struct {
	char dir[64];
	char src[96], repo[96], cache[96];
	char snap[KURA_ID_HEX];
	kura_repo *r;
	int warnings;
	bool collect; /* restore() takes problems through opts.problem */
	int nproblems;
	problem problems[MAX_PROBLEMS];
} fixture;

static void backup(fixture *f)
{
	kura_backup_result res;

	assert_ok(test_backup_dir(f->r, f->src, f->cache, &res));
	memcpy(f->snap, res.snapshot_id, KURA_ID_HEX);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-restorer-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	snprintf(f->cache, sizeof(f->cache), "%s/cache", f->dir);
	if (restfix_tree(f->src, "top file\n") < 0 ||
	    restfix_repo(&f->r, f->snap, f->repo, "correct horse battery staple restorer", f->src,
			 f->cache) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	kura_repo_free(f->r);
	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* The same setup, but the restorer cuts its work into the smallest batches. */
RESTFIX_TINY_BATCHES(setup, teardown)

static void on_warning(const char *path, const char *message, void *ctx)
{
	fixture *f = ctx;

	(void)path;
	(void)message;
	f->warnings++;
}

static void on_problem(const kura_restore_problem *p, void *ctx)
{
	fixture *f = ctx;
	problem *q;

	if (f->nproblems >= MAX_PROBLEMS) {
		f->nproblems++;
		return;
	}
	q = &f->problems[f->nproblems++];
	snprintf(q->path, sizeof(q->path), "%s", p->path);
	snprintf(q->partial, sizeof(q->partial), "%s", p->partial ? p->partial : "");
	snprintf(q->error, sizeof(q->error), "%s", p->error);
	q->exists = p->exists;
}

/* The problem reported for `path`, or NULL. */
static const problem *problem_of(const fixture *f, const char *path)
{
	for (int i = 0; i < f->nproblems && i < MAX_PROBLEMS; i++)
		if (strcmp(f->problems[i].path, path) == 0)
			return &f->problems[i];
	return NULL;
}

static int restore(fixture *f, const char *target, const char *subpath, const char *include,
		   kura_restore_result *res)
{
	const char *incs[] = {include};
	kura_restore_options o = {0};

	o.target = target;
	o.subpath = subpath;
	o.includes = include ? incs : NULL;
	o.nincludes = include ? 1 : 0;
	o.threads = 3;
	o.warning = on_warning;
	o.warning_ctx = f;
	if (f->collect) {
		o.problem = on_problem;
		o.problem_ctx = f;
		f->nproblems = 0;
	}
	return kura_restore(f->r, f->snap, &o, res);
}

static void test_normalize(void **state)
{
	char *s;

	(void)state;
	assert_ok(kura_walk__normalize(&s, "//a/./b//"));
	assert_string_equal(s, "/a/b");
	free(s);
	assert_ok(kura_walk__normalize(&s, NULL));
	assert_string_equal(s, "");
	free(s);
	assert_ok(kura_walk__normalize(&s, "/"));
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(kura_walk__normalize(&s, "/a/../etc"), KURA_EINVAL);
	assert_null(s);
}

static void test_roundtrip(void **state)
{
	fixture *f = *state;
	kura_restore_result res;
	char target[128], path[192], buf[64];
	struct stat a, b;
	ssize_t n;

	snprintf(target, sizeof(target), "%s/t/new", f->dir); /* created with its parent */
	assert_ok(restore(f, target, f->src, NULL, &res));
	assert_int_equal(res.files, 3);
	assert_int_equal(res.errors, 0);
	assert_string_equal(test_get(target, "top"), "top file\n");
	assert_string_equal(test_get(target, "a/b/two"), "two\n");
	snprintf(path, sizeof(path), "%s/a/b/link", target);
	n = readlink(path, buf, sizeof(buf) - 1);
	assert_int_equal(n, 6);
	snprintf(path, sizeof(path), "%s/top", target);
	assert_int_equal(stat(path, &a), 0);
	snprintf(path, sizeof(path), "%s/a/hard", target);
	assert_int_equal(stat(path, &b), 0);
	assert_true(a.st_ino == b.st_ino); /* the hard link is a link again */
	snprintf(path, sizeof(path), "%s/a/b", target);
	assert_int_equal(stat(path, &a), 0);
	assert_int_equal(a.st_mode & 07777, 0750);
}

static void test_planted_symlinks(void **state)
{
	fixture *f = *state;
	kura_restore_result res;
	char target[128], outside[128], path[192];

	snprintf(target, sizeof(target), "%s/t2", f->dir);
	snprintf(outside, sizeof(outside), "%s/outside", f->dir);
	mkdir(target, 0700);
	mkdir(outside, 0700);
	snprintf(path, sizeof(path), "%s/a", target);
	assert_int_equal(symlink(outside, path), 0); /* where a directory goes */
	snprintf(path, sizeof(path), "%s/top", target);
	snprintf(outside + strlen(outside), sizeof(outside) - strlen(outside), "/victim");
	assert_int_equal(symlink(outside, path), 0); /* where a file goes */
	f->warnings = 0;
	/*
	 * What the symlinks block is not restored and not overwritten: their
	 * names are taken, which is never a silent success but no damage either.
	 */
	assert_int_equal(restore(f, target, f->src, NULL, &res), KURA_EEXISTS);
	assert_int_equal(res.errors, 0);
	assert_true(res.skipped_existing >= 2);
	assert_int_equal(f->warnings, (int)(res.warnings + res.skipped_existing));
	assert_null(test_get(f->dir, "outside/victim"));
	assert_null(test_get(f->dir, "outside/one"));
	assert_null(test_get(f->dir, "outside/b/two"));
}

static void test_subpath_include(void **state)
{
	fixture *f = *state;
	kura_restore_result res;
	char target[128], pattern[160], sub[160];

	snprintf(target, sizeof(target), "%s/t3", f->dir);
	snprintf(pattern, sizeof(pattern), "%s/a/b", f->src);
	assert_ok(restore(f, target, NULL, pattern, &res));
	assert_string_equal(test_get(target, f->src + 1), "");
	snprintf(sub, sizeof(sub), "%s/a/b/two", f->src + 1);
	assert_string_equal(test_get(target, sub), "two\n");
	snprintf(sub, sizeof(sub), "%s/a/one", f->src + 1);
	assert_null(test_get(target, sub));

	snprintf(target, sizeof(target), "%s/t4", f->dir);
	snprintf(sub, sizeof(sub), "%s/a/one", f->src);
	assert_ok(restore(f, target, sub, NULL, &res));
	assert_string_equal(test_get(target, "one"), "one\n");
	assert_int_equal(res.files, 1);

	/* The hard link alone: its first name is not restored, so it gets the content. */
	snprintf(target, sizeof(target), "%s/t5", f->dir);
	snprintf(sub, sizeof(sub), "%s/a", f->src);
	assert_ok(restore(f, target, sub, NULL, &res));
	assert_string_equal(test_get(target, "hard"), "top file\n");
}

/* `size` pseudo-random bytes (xorshift from `seed`) written to dir/rel. */
static void put_random(const char *dir, const char *rel, size_t size, uint64_t seed)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < size; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		fputc((int)(seed & 0xff), f);
	}
	fclose(f);
}

/* Whether a/rel and b/rel hold the same bytes. */
static bool same_content(const char *a, const char *b, const char *rel)
{
	char pa[256], pb[256];
	FILE *fa, *fb;
	bool same = false;
	int ca, cb;

	snprintf(pa, sizeof(pa), "%s/%s", a, rel);
	snprintf(pb, sizeof(pb), "%s/%s", b, rel);
	fa = fopen(pa, "r");
	fb = fopen(pb, "r");
	if (fa && fb) {
		do {
			ca = fgetc(fa);
			cb = fgetc(fb);
		} while (ca == cb && ca != EOF);
		same = ca == cb;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

static ino_t inode_of(const char *dir, const char *rel)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/*
 * With batches of one file and one chunk (setup_tiny): a file of several
 * chunks, a chunk shared by files of different batches, hard links whose
 * first name is restored in an earlier or a later batch than the link, and
 * a directory whose mtime must survive files being written into it by
 * later batches.
 */
static void test_batches(void **state)
{
	const char *rels[] = {"top",  "a/one", "a/b/two", "big",  "dup",  "a/b/dup", "zlink",
			      "c/n0", "c/n1",  "c/n2",	  "c/n3", "c/n4", "c/n5"};
	struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
	fixture *f = *state;
	kura_restore_result res;
	char target[128], path[192], name[16];
	struct stat st;

	put_random(f->src, "big", 6u << 20, 1); /* about six chunks */
	put_random(f->src, "dup", 512u << 10, 2);
	put_random(f->src, "a/b/dup", 512u << 10, 2);
	snprintf(path, sizeof(path), "%s/c", f->src);
	assert_int_equal(mkdir(path, 0755), 0);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "c/n%d", i);
		test_put(f->src, name, name);
	}
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	{
		char first[160];

		snprintf(first, sizeof(first), "%s/a/one", f->src);
		snprintf(path, sizeof(path), "%s/zlink", f->src);
		assert_int_equal(link(first, path), 0);
	}
	backup(f);

	snprintf(target, sizeof(target), "%s/tb", f->dir);
	assert_ok(restore(f, target, f->src, NULL, &res));
	assert_int_equal(res.errors, 0);
	assert_int_equal(res.files, 12); /* the 13 names less one of each link pair... */
	assert_int_equal(res.others, 3); /* ...plus a/hard: two links and a symlink */
	for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++)
		assert_true(same_content(f->src, target, rels[i]));
	assert_true(same_content(f->src, target, "a/hard"));
	assert_true(inode_of(target, "top") == inode_of(target, "a/hard"));
	assert_true(inode_of(target, "a/one") == inode_of(target, "zlink"));
	snprintf(path, sizeof(path), "%s/c", target);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
}

static time_t mtime_of(const char *dir, const char *rel)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mtim.tv_sec;
}

static bool exists(const char *dir, const char *rel)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return lstat(path, &st) == 0;
}

/* Set the mtime of dir/rel to 1000000000 (2001). */
static void set_old_mtime(const char *dir, const char *rel)
{
	struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), 0);
}

/*
 * The last chunk of a file fails to authenticate: the file and a
 * hard link to it are reported failed with the cause, not counted, not
 * left under their names and not given the original mtime; what was
 * restored of them is in NAME.kura-partial, the good chunks in place; the
 * other files restore, and the directory still gets its metadata.
 */
static void test_damaged_chunk(void **state)
{
	fixture *f = *state;
	kura_snapshot *snap = NULL;
	kura_tree *holder = NULL;
	kura_node *node = NULL;
	kura_blob_loc loc;
	kura_restore_result res;
	char big[160], path[256], hex[KURA_ID_HEX], target[128], want[300];
	const problem *p;
	struct stat st;
	FILE *pack;
	int c;

	put_random(f->src, "a/big", 6u << 20, 7); /* about six chunks */
	snprintf(big, sizeof(big), "%s/a/big", f->src);
	snprintf(path, sizeof(path), "%s/a/b/big-link", f->src);
	assert_int_equal(link(big, path), 0);
	set_old_mtime(f->src, "a/big");
	set_old_mtime(f->src, "a");
	backup(f);

	/*
	 * Flip a byte in the middle of the file's last chunk, in its pack: the
	 * partial file must still have the whole size, every byte at its offset.
	 */
	assert_ok(kura_walk__snapshot(&snap, NULL, f->r, f->snap, "testing"));
	assert_ok(kura_walk__find(&holder, &node, f->r, snap->tree, big));
	assert_true(node->nextents >= 3);
	assert_int_equal(node->extents[node->nextents - 1].kind, KURA_EXTENT_CHUNK);
	assert_ok(kura_repo__load_index(f->r));
	assert_ok(kura_repo__lookup_fit(f->r, node->extents[node->nextents - 1].id, KURA_BLOB_DATA,
					(uint32_t)node->extents[node->nextents - 1].len, &loc));
	kura_hex(hex, f->r->packs[loc.pack], KURA_HASH_SIZE);
	snprintf(path, sizeof(path), "%s/data/%.2s/%s", f->repo, hex, hex);
	assert_non_null(pack = fopen(path, "r+b"));
	assert_int_equal(fseek(pack, (long)(loc.offset + loc.stored_len / 2), SEEK_SET), 0);
	c = fgetc(pack);
	assert_int_equal(fseek(pack, (long)(loc.offset + loc.stored_len / 2), SEEK_SET), 0);
	fputc(c ^ 0x40, pack);
	fclose(pack);

	snprintf(target, sizeof(target), "%s/td", f->dir);
	f->collect = true;
	assert_int_equal(restore(f, target, f->src, NULL, &res), KURA_ECORRUPT);
	assert_int_equal(res.errors, 2);
	assert_int_equal(res.skipped_existing, 0);
	assert_int_equal(f->nproblems, 2);
	assert_int_equal(res.files, 3); /* top, a/one, a/b/two; a/hard is a link */
	for (int i = 0; i < 2; i++) {
		const char *rel = i ? "a/b/big-link" : "a/big";

		snprintf(path, sizeof(path), "%s/%s", target, rel);
		assert_non_null(p = problem_of(f, path));
		assert_false(p->exists);
		assert_non_null(strstr(p->error, hex)); /* names the pack */
		snprintf(want, sizeof(want), "%s.kura-partial", path);
		assert_string_equal(p->partial, want);
		assert_false(exists(target, rel));
		assert_int_equal(stat(want, &st), 0);
		assert_int_equal(st.st_size, 6u << 20);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_true(st.st_mtim.tv_sec != 1000000000);
		assert_int_equal(st.st_nlink, 1);
	}
	/* the first chunk is in place in the partial file */
	{
		FILE *a = fopen(big, "rb"), *b;

		snprintf(path, sizeof(path), "%s/a/big.kura-partial", target);
		assert_non_null(a);
		assert_non_null(b = fopen(path, "rb"));
		for (uint64_t i = 0; i < node->extents[0].len; i++)
			if (fgetc(a) != fgetc(b))
				fail_msg("byte %llu of the first chunk differs",
					 (unsigned long long)i);
		fclose(a);
		fclose(b);
	}
	assert_true(same_content(f->src, target, "top"));
	assert_true(same_content(f->src, target, "a/b/two"));
	assert_true(same_content(f->src, target, "a/hard"));
	assert_int_equal(mtime_of(target, "a"), 1000000000);
	kura_tree_free(holder);
	kura_snapshot_free(snap);
}

/* A second restore into the same target skips everything as existing and changes nothing. */
static void test_existing(void **state)
{
	fixture *f = *state;
	kura_restore_result res;
	char target[128], path[256];
	time_t before;

	snprintf(target, sizeof(target), "%s/te", f->dir);
	f->collect = true;
	assert_ok(restore(f, target, f->src, NULL, &res));
	assert_int_equal(f->nproblems, 0);
	before = mtime_of(target, "top");
	test_put(target, "a/one", "changed by the user\n");
	assert_int_equal(restore(f, target, f->src, NULL, &res), KURA_EEXISTS);
	assert_int_equal(res.files, 0);
	assert_int_equal(res.others, 0);
	assert_int_equal(res.errors, 0);
	assert_int_equal(res.bytes, 0);
	/* top, a/one, a/b/two, the symlink a/b/link and the hard link a/hard */
	assert_int_equal(res.skipped_existing, 5);
	assert_int_equal(f->nproblems, 5);
	for (int i = 0; i < f->nproblems; i++) {
		assert_true(f->problems[i].exists);
		assert_string_equal(f->problems[i].partial, "");
	}
	snprintf(path, sizeof(path), "%s/top", target);
	assert_non_null(problem_of(f, path));
	assert_string_equal(test_get(target, "a/one"), "changed by the user\n");
	assert_string_equal(test_get(target, "top"), "top file\n");
	assert_int_equal(mtime_of(target, "top"), before);
	assert_true(inode_of(target, "top") == inode_of(target, "a/hard"));
}

/*
 * A write error (the file size limit, as a full disk would): the file that
 * cannot be written is reported with the cause and removed, not kept as a
 * partial file; the others restore.
 */
static void test_write_error(void **state)
{
	fixture *f = *state;
	struct rlimit old, lim;
	kura_restore_result res;
	char target[128], path[256];
	const problem *p;
	int rc;

	put_random(f->src, "big", 1u << 20, 9);
	backup(f);
	snprintf(target, sizeof(target), "%s/tw", f->dir);
	f->collect = true;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 256u << 10;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = restore(f, target, f->src, NULL, &res);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	/* the target could not be written: an I/O error, not damage in the repository */
	assert_int_equal(rc, KURA_EIO);
	assert_int_equal(res.errors, 1);
	assert_int_equal(res.files, 3);
	snprintf(path, sizeof(path), "%s/big", target);
	assert_non_null(p = problem_of(f, path));
	assert_false(p->exists);
	assert_non_null(strstr(p->error, strerror(EFBIG)));
	assert_string_equal(p->partial, "");
	assert_false(exists(target, "big"));
	assert_false(exists(target, "big.kura-partial"));
	assert_true(same_content(f->src, target, "top"));
	assert_true(same_content(f->src, target, "a/b/two"));
}

typedef struct {
	int seen;
	char paths[8][160];
} ls_state;

static int ls_cb(const kura_node_info *n, void *ctx)
{
	ls_state *s = ctx;

	if (s->seen < 8)
		snprintf(s->paths[s->seen], sizeof(s->paths[0]), "%s", n->path);
	return ++s->seen == 3 ? 7 : 0;
}

static void test_ls(void **state)
{
	fixture *f = *state;
	ls_state s = {0};
	char want[160];

	assert_int_equal(kura_ls(f->r, f->snap, f->src, ls_cb, &s), 7);
	assert_int_equal(s.seen, 3);
	assert_string_equal(s.paths[0], f->src);
	snprintf(want, sizeof(want), "%s/a", f->src);
	assert_string_equal(s.paths[1], want);
	snprintf(want, sizeof(want), "%s/a/b", f->src);
	assert_string_equal(s.paths[2], want);
	assert_int_equal(kura_ls(f->r, f->snap, "/no/such/path", ls_cb, &s), KURA_ENOTFOUND);
}

typedef struct {
	int n;
	char kinds[16];
	char paths[16][160];
} diff_state;

static int diff_cb(kura_diff_kind kind, const kura_node_info *o, const kura_node_info *n, void *ctx)
{
	diff_state *s = ctx;

	if (s->n < 16) {
		s->kinds[s->n] = (char)kind;
		snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", (n ? n : o)->path);
	}
	s->n++;
	return 0;
}

static void test_diff(void **state)
{
	fixture *f = *state;
	char old[KURA_ID_HEX], want[160];
	diff_state s = {0};
	bool changed = false, added = false;

	memcpy(old, f->snap, KURA_ID_HEX);
	test_put(f->src, "a/b/two", "two, changed\n");
	test_put(f->src, "new", "new\n");
	backup(f);
	assert_ok(kura_diff(f->r, old, f->snap, diff_cb, &s));
	for (int i = 0; i < s.n && i < 16; i++) {
		snprintf(want, sizeof(want), "%s/a/b/two", f->src);
		if (s.kinds[i] == 'M' && strcmp(s.paths[i], want) == 0)
			changed = true;
		snprintf(want, sizeof(want), "%s/new", f->src);
		if (s.kinds[i] == '+' && strcmp(s.paths[i], want) == 0)
			added = true;
		snprintf(want, sizeof(want), "%s/a/one", f->src);
		assert_string_not_equal(s.paths[i], want);
	}
	assert_true(changed);
	assert_true(added);
	s.n = 0;
	assert_ok(kura_diff(f->r, f->snap, f->snap, diff_cb, &s));
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize),
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_planted_symlinks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_subpath_include, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup_tiny, teardown_tiny),
	    cmocka_unit_test_setup_teardown(test_planted_symlinks, setup_tiny, teardown_tiny),
	    cmocka_unit_test_setup_teardown(test_subpath_include, setup_tiny, teardown_tiny),
	    cmocka_unit_test_setup_teardown(test_batches, setup_tiny, teardown_tiny),
	    cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_chunk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_chunk, setup_tiny, teardown_tiny),
	    cmocka_unit_test_setup_teardown(test_existing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_existing, setup_tiny, teardown_tiny),
	    cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_error, setup_tiny, teardown_tiny),
	    cmocka_unit_test_setup_teardown(test_ls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_diff, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
