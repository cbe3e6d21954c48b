/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_restplan.c - restore in place (restplan.c, restdelete.c,
 * restdry.c): the decisions on their own (temporary names, what counts as
 * unchanged, never / if-changed / always / another file system), then
 * kura_restore in place over a target an attacker changed, through the
 * public API: a dry run changes nothing and lists what the real run then
 * does, the real run makes the target the snapshot again (kept files keep
 * their inode, a planted symlink is replaced, not followed, a leftover
 * temporary is removed, what the snapshot does not have is deleted, also
 * when there are many such paths, before the directories get their
 * mtimes), and all of it again with batches of one file and one chunk.
 */
#include "restfix.h"
#include "restfix_tiny.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repo/restorer.h"
#include "repo/restplan.h"

static void test_tmp_names(void **state)
{
	char *a = kura_restore__tmp_name(), *b = kura_restore__tmp_name();

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_true(kura_restore__is_tmp(a));
	assert_true(kura_restore__is_tmp(b));
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), strlen(RS_TMP_PREFIX) + RS_TMP_HEX);
	assert_false(kura_restore__is_tmp(".kura-tmp.0123456789a"));   /* short */
	assert_false(kura_restore__is_tmp(".kura-tmp.0123456789abc")); /* long */
	assert_false(kura_restore__is_tmp(".kura-tmp.0123456789aB"));  /* not ours */
	assert_false(kura_restore__is_tmp("kura-tmp.0123456789ab"));
	assert_false(kura_restore__is_tmp("notes.kura-partial"));
	free(a);
	free(b);
}

static void test_same_kind(void **state)
{
	kura_node n = {0};
	struct stat st = {0};

	(void)state;
	n.type = KURA_NODE_FILE;
	n.size = 10;
	n.mtime_sec = 1000;
	n.mtime_nsec = 5;
	st.st_mode = S_IFREG | 0644;
	st.st_size = 10;
	st.st_mtim.tv_sec = 1000;
	st.st_mtim.tv_nsec = 5;
	assert_true(kura_restore__same_kind(&n, &st));
	st.st_mode = S_IFREG | 0600; /* the mode is metadata, applied to a kept file */
	assert_true(kura_restore__same_kind(&n, &st));
	st.st_mtim.tv_nsec = 6;
	assert_false(kura_restore__same_kind(&n, &st));
	st.st_mtim.tv_nsec = 5;
	st.st_size = 11;
	assert_false(kura_restore__same_kind(&n, &st));
	st.st_size = 10;
	st.st_mode = S_IFLNK | 0777;
	assert_false(kura_restore__same_kind(&n, &st));
	n.type = KURA_NODE_SYMLINK;
	assert_true(kura_restore__same_kind(&n, &st)); /* the target is compared by decide */
	n.type = KURA_NODE_DIR;
	assert_false(kura_restore__same_kind(&n, &st));
	st.st_mode = S_IFDIR | 0755;
	assert_true(kura_restore__same_kind(&n, &st));
	n.type = KURA_NODE_CHARDEV;
	n.rdev = 0x0103;
	st.st_mode = S_IFCHR | 0666;
	st.st_rdev = 0x0103;
	assert_true(kura_restore__same_kind(&n, &st));
	st.st_rdev = 0x0105;
	assert_false(kura_restore__same_kind(&n, &st));
	n.type = 0;
	assert_false(kura_restore__same_kind(&n, &st));
}

/* decide() on real files: never, if-changed, always, another file system. */
static void test_decide(void **state)
{
	char dir[] = "/tmp/kura-test-restplan-XXXXXX", path[64];
	kura_restore_options o = KURA_RESTORE_OPTIONS_INIT;
	kura_restore_result res = {0};
	struct timespec ts[2] = {{0, 0}, {1000000, 42}};
	kura_node n = {0};
	const char *why;
	struct stat st;
	rs r = {0};
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
	r.rootfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(r.rootfd >= 0);
	o.target = dir;
	r.opts = &o;
	r.res = &res;
	assert_int_equal(fstatat(r.rootfd, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
	n.name = "f";
	n.type = KURA_NODE_FILE;
	n.size = 10;
	n.mtime_sec = 1000000;
	n.mtime_nsec = 42;

	o.overwrite = 7;
	assert_int_equal(kura_restore__inplace_init(&r), KURA_EINVAL);
	o.overwrite = KURA_OVERWRITE_NEVER;
	assert_int_equal(kura_restore__inplace_init(&r), 0);
	assert_false(r.inplace);
	assert_int_equal(kura_restore__decide(&r, r.rootfd, &n, &st, &why), RS_LEAVE);
	assert_non_null(why);

	o.overwrite = KURA_OVERWRITE_IF_CHANGED;
	assert_int_equal(kura_restore__inplace_init(&r), 0);
	assert_true(r.inplace);
	assert_int_equal(kura_restore__decide(&r, r.rootfd, &n, &st, &why), RS_KEEP);
	n.mtime_nsec = 43;
	assert_int_equal(kura_restore__decide(&r, r.rootfd, &n, &st, &why), RS_REPLACE);
	n.mtime_nsec = 42;
	n.type = KURA_NODE_DIR;
	assert_int_equal(kura_restore__decide(&r, r.rootfd, &n, &st, &why), RS_REPLACE);
	n.type = KURA_NODE_FILE;

	o.overwrite = KURA_OVERWRITE_ALWAYS;
	assert_int_equal(kura_restore__inplace_init(&r), 0);
	assert_int_equal(kura_restore__decide(&r, r.rootfd, &n, &st, &why), RS_REPLACE);

	/* the target on another file system than the file: left, unless cross_fs */
	r.root_dev = st.st_dev + 1;
	r.root_dev_known = true;
	assert_int_equal(kura_restore__decide(&r, r.rootfd, &n, &st, &why), RS_LEAVE);
	assert_non_null(strstr(why, "another file system"));
	o.cross_fs = true;
	assert_int_equal(kura_restore__inplace_init(&r), 0);
	assert_int_equal(kura_restore__decide(&r, r.rootfd, &n, &st, &why), RS_REPLACE);

	/* a dry run needs a target that exists */
	o.dry_run = true;
	o.target = "/nonexistent/kura-target";
	assert_int_equal(kura_restore__inplace_init(&r), KURA_ENOTFOUND);
	close(r.rootfd);
	assert_int_equal(test_remove_tree(dir), 0);
}

/* -------------------------------------------------------------------- */
/* kura_restore in place, through the public API                         */

#define MAX_CHANGES 64

typedef struct {
	char dir[64], src[96], repo[96], cache[96], target[96], outside[96];
	char snap[KURA_ID_HEX];
	kura_repo *r;
	char *changes[3][MAX_CHANGES]; /* created, replaced, deleted: paths below the target */
	int nchanges[3];
	int told[3]; /* all the changes told, also those past MAX_CHANGES */
	int problems;
} fixture;

static int lst(const char *dir, const char *rel, struct stat *st)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return lstat(path, st);
}

static void sh(const char *fmt, const char *a, const char *b)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-restplan-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	snprintf(f->cache, sizeof(f->cache), "%s/cache", f->dir);
	snprintf(f->target, sizeof(f->target), "%s/target", f->dir);
	snprintf(f->outside, sizeof(f->outside), "%s/outside", f->dir);
	mkdir(f->outside, 0755);
	test_put(f->outside, "victim", "outside\n");
	if (restfix_tree(f->src, "top\n") < 0)
		return -1;
	test_put(f->src, "a/gone", "gone\n");
	if (restfix_repo(&f->r, f->snap, f->repo, "correct horse battery staple restplan", f->src,
			 f->cache) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	for (int k = 0; k < 3; k++)
		for (int i = 0; i < f->nchanges[k]; i++)
			free(f->changes[k][i]);
	kura_repo_free(f->r);
	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

RESTFIX_TINY_BATCHES(setup, teardown)

static void on_change(kura_restore_change what, const char *path, void *ctx)
{
	fixture *f = ctx;
	int k = what == KURA_RESTORE_CREATE ? 0 : what == KURA_RESTORE_REPLACE ? 1 : 2;

	assert_int_equal(strncmp(path, f->target, strlen(f->target)), 0);
	f->told[k]++;
	if (f->nchanges[k] < MAX_CHANGES)
		f->changes[k][f->nchanges[k]++] = strdup(path + strlen(f->target) + 1);
}

static void on_problem(const kura_restore_problem *p, void *ctx)
{
	fixture *f = ctx;

	print_message("problem: %s: %s\n", p->path, p->error);
	f->problems++;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The changes told since the last call, sorted, one string per kind: "a,b,c". */
static void take_changes(fixture *f, char out[3][512])
{
	for (int k = 0; k < 3; k++) {
		out[k][0] = '\0';
		qsort(f->changes[k], (size_t)f->nchanges[k], sizeof(char *), str_cmp);
		for (int i = 0; i < f->nchanges[k]; i++) {
			if (i)
				strcat(out[k], ",");
			strncat(out[k], f->changes[k][i], 500 - strlen(out[k]));
			free(f->changes[k][i]);
		}
		f->nchanges[k] = 0;
	}
}

static int restore_inplace(fixture *f, bool dry, kura_restore_result *res)
{
	kura_restore_options o = KURA_RESTORE_OPTIONS_INIT;

	o.target = f->target;
	o.subpath = f->src;
	o.threads = 3;
	o.overwrite = KURA_OVERWRITE_IF_CHANGED;
	o.delete_extra = true;
	o.dry_run = dry;
	o.change = on_change;
	o.change_ctx = f;
	o.problem = on_problem;
	o.problem_ctx = f;
	f->problems = 0;
	return kura_restore(f->r, f->snap, &o, res);
}

/* The snapshot is the target again; `top` and its hard link keep their inode. */
static void check_restored(fixture *f, ino_t top_ino)
{
	struct stat st;

	assert_string_equal(test_get(f->target, "top"), "top\n");
	assert_string_equal(test_get(f->target, "a/one"), "one\n");
	assert_string_equal(test_get(f->target, "a/b/two"), "two\n");
	assert_string_equal(test_get(f->target, "a/gone"), "gone\n");
	assert_string_equal(test_get(f->outside, "victim"), "outside\n");
	assert_int_equal(lst(f->target, "a/b/two", &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(lst(f->target, "a/b", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(lst(f->target, "top", &st), 0);
	assert_int_equal(st.st_ino, top_ino);
	assert_int_equal(lst(f->target, "a/hard", &st), 0);
	assert_int_equal(st.st_ino, top_ino);
	assert_int_equal(lst(f->target, "a/b/link", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_not_equal(lst(f->target, "a/extra.locked", &st), 0);
	assert_int_not_equal(lst(f->target, "a/junk", &st), 0);
	assert_int_not_equal(lst(f->target, "a/.kura-tmp.0123456789ab", &st), 0);
	assert_int_not_equal(lst(f->target, "a/b/README_RESTORE.txt", &st), 0);
}

static void test_inplace(void **state)
{
	fixture *f = *state;
	kura_restore_result res;
	char dry[3][512], real[3][512];
	struct stat st;
	ino_t top_ino;

	/* a first restore into an empty target: everything is created */
	assert_ok(restore_inplace(f, false, &res));
	take_changes(f, real);
	assert_non_null(strstr(real[0], "a/b/two"));
	assert_string_equal(real[1], "");
	assert_string_equal(real[2], "");
	assert_int_equal(res.files, 4); /* top, a/one, a/b/two, a/gone; a/hard is a link */
	assert_int_equal(lst(f->target, "top", &st), 0);
	top_ino = st.st_ino;

	/* the attack */
	test_put(f->target, "a/one", "encrypted one, longer\n");
	test_put(f->target, "a/extra.locked", "junk\n");
	test_put(f->target, "a/b/README_RESTORE.txt", "pay\n");
	test_put(f->target, "a/.kura-tmp.0123456789ab", "left by a crash\n");
	sh("mkdir -p %s/a/junk/deeper && echo x >%s/a/junk/deeper/x", f->target, f->target);
	sh("rm %s/a/gone && rm %s/a/b/two", f->target, f->target);
	sh("ln -s %s/victim %s/a/b/two", f->outside, f->target);

	/* the dry run changes nothing and says what the real run then does */
	assert_ok(restore_inplace(f, true, &res));
	take_changes(f, dry);
	assert_string_equal(test_get(f->target, "a/one"), "encrypted one, longer\n");
	assert_string_equal(test_get(f->target, "a/.kura-tmp.0123456789ab"), "left by a crash\n");
	assert_string_equal(test_get(f->outside, "victim"), "outside\n");
	assert_string_equal(dry[0], "a/gone");
	assert_string_equal(dry[1], "a/b/two,a/one");
	assert_string_equal(dry[2], "a/b/README_RESTORE.txt,a/extra.locked,a/junk,a/junk/deeper,"
				    "a/junk/deeper/x");
	assert_int_equal(res.unchanged, 3); /* top, its link a/hard, the symlink a/b/link */

	assert_ok(restore_inplace(f, false, &res));
	take_changes(f, real);
	assert_int_equal(f->problems, 0);
	for (int k = 0; k < 3; k++)
		assert_string_equal(dry[k], real[k]);
	assert_int_equal(res.replaced, 2);
	assert_int_equal(res.created, 1);
	assert_int_equal(res.deleted, 5);
	check_restored(f, top_ino);

	/* nothing left to do */
	assert_ok(restore_inplace(f, false, &res));
	take_changes(f, real);
	for (int k = 0; k < 3; k++)
		assert_string_equal(real[k], "");
	check_restored(f, top_ino);
}

/* A directory where a file goes and a file where a directory goes, both ways round. */
/*
 * A directory where a file goes and a file where a directory goes, and a
 * file changed through its hard link: the dry run says what the real run
 * then does.
 */
static void test_type_swaps(void **state)
{
	fixture *f = *state;
	kura_restore_result res;
	char dry[3][512], real[3][512];
	struct stat st;

	assert_ok(restore_inplace(f, false, &res));
	take_changes(f, real);
	sh("rm -rf %s/a/b && echo file >%s/a/b", f->target, f->target);
	sh("cd %s && rm top && mkdir -p top/inner && touch top/inner/f%s", f->target, "");
	test_put(f->target, "a/one", "ONE\n"); /* same size, new mtime */
	assert_ok(restore_inplace(f, true, &res));
	take_changes(f, dry);
	assert_string_equal(test_get(f->target, "a/b"), "file\n");
	assert_ok(restore_inplace(f, false, &res));
	take_changes(f, real);
	assert_int_equal(f->problems, 0);
	for (int k = 0; k < 3; k++)
		assert_string_equal(dry[k], real[k]);
	assert_int_equal(lst(f->target, "a/b", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_string_equal(test_get(f->target, "a/b/two"), "two\n");
	assert_string_equal(test_get(f->target, "top"), "top\n");
	assert_string_equal(test_get(f->target, "a/one"), "one\n");
	assert_non_null(strstr(real[1], "a/b"));
	assert_non_null(strstr(real[1], "top"));
	assert_non_null(strstr(real[2], "top/inner/f"));

	/* the file of a hard link changed in place: both names replaced, linked again */
	sh("cd %s && printf 'TOP\\n' >top && touch -d 2001-01-01 top%s", f->target, "");
	assert_ok(restore_inplace(f, true, &res));
	take_changes(f, dry);
	assert_string_equal(dry[1], "a/hard,top");
	assert_ok(restore_inplace(f, false, &res));
	take_changes(f, real);
	assert_string_equal(real[1], "a/hard,top");
	assert_string_equal(test_get(f->target, "a/hard"), "top\n");
	{
		struct stat a;

		assert_int_equal(lst(f->target, "top", &st), 0);
		assert_int_equal(lst(f->target, "a/hard", &a), 0);
		assert_int_equal(st.st_ino, a.st_ino);
	}
}

/* Forget the changes told so far (more than take_changes' lines hold). */
static void drop_changes(fixture *f)
{
	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < f->nchanges[k]; i++)
			free(f->changes[k][i]);
		f->nchanges[k] = 0;
	}
}

/* Whether dir/rel has the same mtime as the source's rel (a directory's is set last). */
static void assert_same_mtime(fixture *f, const char *rel)
{
	struct stat a, b;

	assert_int_equal(lst(f->src, rel, &a), 0);
	assert_int_equal(lst(f->target, rel, &b), 0);
	assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
}

/*
 * Many extras in several directories: --delete removes them while the
 * content is written (more than one step of removals between two looks at
 * the workers, across batches when they are tiny), every one is told and
 * counted, and all are gone before the directories get their mtimes.
 */
static void test_many_deletions(void **state)
{
	fixture *f = *state;
	kura_restore_result res;
	char dry[3][512], name[64];
	int n = 0, told;

	assert_ok(restore_inplace(f, false, &res));
	take_changes(f, dry);
	told = f->told[2];
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "a/x%04d.locked", i);
		test_put(f->target, name, "noise\n");
		snprintf(name, sizeof(name), "a/b/y%04d.locked", i);
		test_put(f->target, name, "noise\n");
		n += 2;
	}
	test_put(f->target, "README_RESTORE.txt", "pay\n");
	test_put(f->target, "a/one", "encrypted one, longer\n");
	sh("mkdir -p %s/a/junk && echo x >%s/a/junk/x", f->target, f->target);
	n += 3;
	assert_ok(restore_inplace(f, false, &res));
	assert_int_equal(f->problems, 0);
	assert_int_equal(res.deleted, n);
	assert_int_equal(res.replaced, 1);
	assert_int_equal(f->told[2] - told, n);
	drop_changes(f);
	assert_string_equal(test_get(f->target, "a/one"), "one\n");
	assert_string_equal(test_get(f->target, "a/b/two"), "two\n");
	assert_null(test_get(f->target, "a/x0000.locked"));
	assert_null(test_get(f->target, "a/b/y0499.locked"));
	assert_null(test_get(f->target, "README_RESTORE.txt"));
	assert_null(test_get(f->target, "a/junk/x"));
	assert_same_mtime(f, "a");
	assert_same_mtime(f, "a/b");
	assert_same_mtime(f, "a/one");

	/* nothing left to do */
	assert_ok(restore_inplace(f, false, &res));
	assert_int_equal(res.deleted + res.created + res.replaced, 0);
	take_changes(f, dry);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tmp_names),
	    cmocka_unit_test(test_same_kind),
	    cmocka_unit_test(test_decide),
	    cmocka_unit_test_setup_teardown(test_inplace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_type_swaps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inplace, setup_tiny, teardown_tiny),
	    cmocka_unit_test_setup_teardown(test_type_swaps, setup_tiny, teardown_tiny),
	    cmocka_unit_test_setup_teardown(test_many_deletions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_deletions, setup_tiny, teardown_tiny),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
