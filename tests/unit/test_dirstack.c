/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_dirstack.c - the walk's stack of directories (repo/dirstack.h):
 * names in byte order with each directory entered where its name comes,
 * never more than KURA_DIRSTACK_OPEN + 2 fds however deep, and a directory
 * moved under the walk either found again (the same device and inode) or
 * reported, never read at another place.
 */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "repo/dirstack.h"

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

/* At every level: a file "a", a directory "m" (the next level), a file "z". */
static void make_ladder(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY);

	assert_true(fd >= 0);
	for (int i = 0; i < LEVELS; i++) {
		int f, sub;

		assert_true((f = openat(fd, "a", O_WRONLY | O_CREAT, 0644)) >= 0);
		close(f);
		assert_true((f = openat(fd, "z", O_WRONLY | O_CREAT, 0644)) >= 0);
		close(f);
		assert_int_equal(mkdirat(fd, "m", 0755), 0);
		assert_true((sub = openat(fd, "m", O_RDONLY | O_DIRECTORY)) >= 0);
		close(fd);
		fd = sub;
	}
	close(fd);
}

static int push_dir(kura_dirstack *s, int parent, const char *name, const char *path)
{
	struct stat st;
	int fd = parent < 0 ? open(path, O_RDONLY | O_DIRECTORY) : openat(parent, name, O_RDONLY | O_DIRECTORY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	return kura_dirstack_push(s, fd, st.st_dev, st.st_ino, strdup(path), (unsigned)s->n, NULL);
}

/*
 * Walk `root`; when the walk first reaches depth `at`, run `cmd`.  Returns the names visited ("a m a m ... z z") and
 * the failed reopens in *fails; checks the fds held on the way.
 */
static char *walk(const char *root, unsigned at, const char *cmd, unsigned *fails)
{
	kura_dirstack s = {0};
	unsigned base_fds = open_fds(), max_fds = 0;
	size_t len = 0;
	char *seen = calloc(4 * LEVELS + 8, 1);

	assert_non_null(seen);
	*fails = 0;
	assert_ok(push_dir(&s, -1, NULL, root));
	while (s.n > 0) {
		kura_dirframe *t = &s.v[s.n - 1];
		const char *name;

		if (open_fds() - base_fds > max_fds)
			max_fds = open_fds() - base_fds;
		if (t->next == t->n) {
			kura_dirstack_pop(&s);
			continue;
		}
		if (kura_dirstack_ready(&s) < 0) {
			(*fails)++;
			continue;
		}
		name = t->names[t->next++];
		len += (size_t)sprintf(seen + len, "%s", name);
		if (strcmp(name, "m") == 0) {
			char *path;

			assert_true(asprintf(&path, "%s/m", t->path) > 0);
			assert_ok(push_dir(&s, t->fd, "m", path));
			free(path);
			if (cmd && s.n - 1 == at)
				assert_int_equal(system(cmd), 0);
		}
	}
	kura_dirstack_free(&s);
	assert_true(max_fds <= KURA_DIRSTACK_OPEN + 2);
	assert_int_equal(open_fds(), base_fds);
	return seen;
}

static void test_order_and_fds(void **state)
{
	char root[128], want[4 * LEVELS + 8] = "";
	unsigned fails;
	char *seen;

	snprintf(root, sizeof(root), "%s/ladder", base);
	assert_int_equal(mkdir(root, 0755), 0);
	make_ladder(root);
	for (int i = 0; i < LEVELS; i++)
		strcat(want, "am");
	for (int i = 0; i < LEVELS; i++)
		strcat(want, "z");
	seen = walk(root, 0, NULL, &fails);
	assert_string_equal(seen, want);
	assert_int_equal(fails, 0);
	free(seen);
}

/*
 * Directories moved while the walk is below them: one that is still the
 * same directory is walked on from its fd (".." or its name finds it), one
 * that is found neither way is reported and its rest skipped, and the walk
 * goes on above it.
 */
static void test_moved_under_the_walk(void **state)
{
	char root[128], path[256], cmd[1024], want[4 * LEVELS + 8] = "";
	unsigned fails;
	char *seen;
	int cut = 5;

	snprintf(root, sizeof(root), "%s/moved", base);
	assert_int_equal(mkdir(root, 0755), 0);
	make_ladder(root);
	snprintf(path, sizeof(path), "%s", root);
	for (int i = 0; i <= cut; i++)
		strcat(path, "/m");
	/* at the bottom: depth cut + 2 moves out of cut + 1, then cut + 1 moves away too */
	snprintf(cmd, sizeof(cmd), "mv '%s/m' '%s/x' && mv '%s' '%s/y'", path, base, path, base);
	seen = walk(root, LEVELS, cmd, &fails);
	for (int i = 0; i < LEVELS; i++)
		strcat(want, "am");
	for (int i = 0; i < LEVELS - 1; i++)
		strcat(want, "z");
	assert_string_equal(seen, want); /* every "z" but that of depth cut + 1 */
	assert_int_equal(fails, 1);
	free(seen);
}

/* The child the walk leaves was moved elsewhere: ".." leads astray, the name finds the directory. */
static void test_child_moved_away(void **state)
{
	char root[128], path[256], cmd[1024], want[4 * LEVELS + 8] = "";
	unsigned fails;
	char *seen;
	int cut = 5;

	snprintf(root, sizeof(root), "%s/child", base);
	assert_int_equal(mkdir(root, 0755), 0);
	make_ladder(root);
	snprintf(path, sizeof(path), "%s", root);
	for (int i = 0; i <= cut; i++)
		strcat(path, "/m");
	snprintf(cmd, sizeof(cmd), "mv '%s/m' '%s/x2'", path, base);
	seen = walk(root, LEVELS, cmd, &fails);
	for (int i = 0; i < LEVELS; i++)
		strcat(want, "am");
	for (int i = 0; i < LEVELS; i++)
		strcat(want, "z");
	assert_string_equal(seen, want);
	assert_int_equal(fails, 0);
	free(seen);
}

static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/kura-dirstack-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	return test_remove_tree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_and_fds),
	    cmocka_unit_test(test_moved_under_the_walk),
	    cmocka_unit_test(test_child_moved_away),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
