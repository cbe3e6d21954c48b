/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_restdirs.c - the restorer's directories as parent and name
 * (lib/repo/restdirs.c): paths made from the records, and the cursor that
 * reaches a directory from the one it holds by ".." and single names.
 * It must find the directory the restore made wherever it is asked to go
 * next (up, down, across, 40 levels deep), hold one fd, and never hand out
 * another directory in its place: one swapped in (moved away and replaced
 * by a new one, or by a symlink) is refused, and one whose ".." leads
 * astray (moved elsewhere) is found again by name from the target.
 */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repo/restshared.h"

#define LEVELS 40

static char base[64];

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the one opendir holds */
}

/* Record directory `name` in dirs[parent] (made on disk), as frame_ensure does. */
static size_t add_dir(rs *r, size_t parent, const char *name)
{
	int pfd = parent == SIZE_MAX ? dup(r->rootfd) : -1, fd;
	rs_cursor c;
	struct stat st;

	kura_restore__cursor_init(&c);
	if (pfd < 0)
		pfd = dup(kura_restore__cursor_fd(r, &c, parent));
	assert_true(pfd >= 0);
	assert_int_equal(mkdirat(pfd, name, 0700), 0);
	assert_true((fd = openat(pfd, name, O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	close(pfd);
	kura_restore__cursor_free(&c);
	assert_ok(KURA_ARRAY_GROW(r->dirs, r->dirs_cap, r->ndirs + 1));
	r->dirs[r->ndirs] = (rs_dir){.parent = parent,
				     .name = name,
				     .depth = parent == SIZE_MAX ? 1 : r->dirs[parent].depth + 1,
				     .dev = st.st_dev,
				     .ino = st.st_ino};
	return r->ndirs++;
}

/* Whether fd is dirs[i]. */
static bool is(const rs *r, int fd, size_t i)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == r->dirs[i].dev &&
	       st.st_ino == r->dirs[i].ino;
}

/* A chain "c" 40 deep below the target, and beside each level a directory "s". */
static void make_comb(rs *r, const char *root, size_t chain[LEVELS], size_t side[LEVELS])
{
	assert_int_equal(mkdir(root, 0700), 0);
	assert_true((r->rootfd = open(root, O_RDONLY | O_DIRECTORY)) >= 0);
	for (size_t i = 0; i < LEVELS; i++) {
		chain[i] = add_dir(r, i ? chain[i - 1] : SIZE_MAX, "c");
		side[i] = add_dir(r, i ? chain[i - 1] : SIZE_MAX, "s");
	}
}

static void free_rs(rs *r)
{
	free(r->dirs);
	close(r->rootfd);
}

static void test_paths(void **state)
{
	char root[128], *p;
	size_t chain[LEVELS], side[LEVELS];
	rs r = {0};

	snprintf(root, sizeof(root), "%s/paths", base);
	make_comb(&r, root, chain, side);
	p = kura_restore__dir_rel(&r, SIZE_MAX, "f");
	assert_string_equal(p, "f");
	free(p);
	p = kura_restore__dir_rel(&r, chain[0], NULL);
	assert_string_equal(p, "c");
	free(p);
	p = kura_restore__dir_rel(&r, side[2], "f");
	assert_string_equal(p, "c/c/s/f");
	free(p);
	p = kura_restore__dir_rel(&r, chain[LEVELS - 1], NULL);
	assert_int_equal(strlen(p), 2 * LEVELS - 1);
	free(p);
	free_rs(&r);
}

/* Up, down, across and back: always the directory asked for, one fd held. */
static void test_moves(void **state)
{
	char root[128];
	size_t chain[LEVELS], side[LEVELS];
	unsigned fds;
	rs_cursor c;
	rs r = {0};

	snprintf(root, sizeof(root), "%s/moves", base);
	make_comb(&r, root, chain, side);
	fds = open_fds();
	kura_restore__cursor_init(&c);
	assert_int_equal(kura_restore__cursor_fd(&r, &c, SIZE_MAX), r.rootfd);
	assert_true(is(&r, kura_restore__cursor_fd(&r, &c, chain[LEVELS - 1]), chain[LEVELS - 1]));
	/* deepest first, as the directories' metadata goes: each a step from the last */
	for (size_t i = LEVELS; i-- > 0;) {
		assert_true(is(&r, kura_restore__cursor_fd(&r, &c, side[i]), side[i]));
		assert_true(is(&r, kura_restore__cursor_fd(&r, &c, chain[i]), chain[i]));
		assert_true(open_fds() <= fds + 1);
	}
	/* across the tree and back down */
	assert_true(is(&r, kura_restore__cursor_fd(&r, &c, side[LEVELS - 1]), side[LEVELS - 1]));
	assert_true(is(&r, kura_restore__cursor_fd(&r, &c, side[0]), side[0]));
	assert_true(is(&r, kura_restore__cursor_fd(&r, &c, side[20]), side[20]));
	assert_true(open_fds() <= fds + 1);
	kura_restore__cursor_free(&c);
	assert_int_equal(open_fds(), fds);
	free_rs(&r);
}

/* A directory on the way swapped for another, or for a symlink to one: refused, not entered. */
static void test_swapped(void **state)
{
	char root[128], path[512], cmd[1200];
	size_t chain[LEVELS], side[LEVELS];
	rs_cursor c;
	rs r = {0};
	int fd;

	snprintf(root, sizeof(root), "%s/swapped", base);
	make_comb(&r, root, chain, side);
	snprintf(path, sizeof(path), "%s/c/c/c", root);
	/* the same names below, but not the directories the restore made */
	snprintf(cmd, sizeof(cmd), "mv '%s' '%s/away' && mkdir -p '%s/c/c'", path, base, path);
	assert_int_equal(system(cmd), 0);
	kura_restore__cursor_init(&c);
	assert_int_equal(kura_restore__cursor_fd(&r, &c, chain[4]), -ESTALE);
	assert_int_equal(kura_restore__cursor_fd(&r, &c, chain[2]), -ESTALE);
	assert_true(is(&r, kura_restore__cursor_fd(&r, &c, chain[1]), chain[1]));
	/* a symlink where a directory was, to the real one: O_NOFOLLOW refuses it */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && ln -s '%s/away' '%s'", path, base, path);
	assert_int_equal(system(cmd), 0);
	fd = kura_restore__cursor_fd(&r, &c, chain[4]);
	assert_true(fd == -ELOOP || fd == -ENOTDIR);
	kura_restore__cursor_free(&c);
	free_rs(&r);
}

/* The cursor's directory moved elsewhere: ".." leads astray; its parent is found by name. */
static void test_dotdot_astray(void **state)
{
	char root[128], cmd[1200];
	size_t chain[LEVELS], side[LEVELS];
	rs_cursor c;
	rs r = {0};

	snprintf(root, sizeof(root), "%s/astray", base);
	make_comb(&r, root, chain, side);
	kura_restore__cursor_init(&c);
	assert_true(is(&r, kura_restore__cursor_fd(&r, &c, side[3]), side[3]));
	/* side[3] (c/c/c/s) goes elsewhere while the cursor holds it */
	snprintf(cmd, sizeof(cmd), "mv '%s/c/c/c/s' '%s/moved-s'", root, base);
	assert_int_equal(system(cmd), 0);
	assert_true(is(&r, kura_restore__cursor_fd(&r, &c, chain[2]), chain[2]));
	assert_true(is(&r, kura_restore__cursor_fd(&r, &c, chain[LEVELS - 1]), chain[LEVELS - 1]));
	kura_restore__cursor_free(&c);
	free_rs(&r);
}

static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/kura-restdirs-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_moves),
	    cmocka_unit_test(test_swapped),
	    cmocka_unit_test(test_dotdot_astray),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
