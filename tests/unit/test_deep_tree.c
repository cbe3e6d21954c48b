/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_deep_tree.c - trees of any shape: every reader agrees with backup
 * on KURA_TREE_MAX_DEPTH, counted from the snapshot root, and the backup
 * walk holds a bounded number of fds.
 *
 * A chain of trees deeper than the limit is what an older kura or a
 * hostile writer may have stored: check names the one place it goes too
 * deep, ls stops there, and restore (also of a deep part of it) restores
 * everything down to the limit and reports the rest; so also where a
 * subtree check has seen fit elsewhere ends too deep.  A tree with entries
 * before and after the subdirectory at every level makes the backup
 * reopen directories it closed to stay within its fds (RLIMIT_NOFILE 48
 * here), and nothing may be lost doing so.  And the paths given to backup
 * have symlinks on the way followed, never the path itself.
 */
#include "testutil.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "format/snapshot.h"
#include "format/tree.h"
#include "repo/blobstore.h"
#include "repo/repo.h"
#include "repo/walk.h"
#include "repo/walkpaths.h"

#define CHAIN (KURA_TREE_MAX_DEPTH + 2) /* trees below the root: two too deep */
#define MID 1000                       /* a file in the tree at this depth, too */

static char base[64];

static kura_repo *new_repo(const char *sub)
{
	kura_init_options o;
	kura_repo *repo;
	char path[128];

	kura_init_options_default(&o);
	o.kdf_profile = KURA_KDF_INTERACTIVE;
	snprintf(path, sizeof(path), "%s/%s", base, sub);
	assert_ok(kura_repo_init(&repo, path, "correct horse battery staple deep tree", &o));
	assert_ok(kura_repo__load_index(repo));
	return repo;
}

static void set_node(kura_node *n, uint8_t type, const char *name)
{
	memset(n, 0, sizeof(*n));
	n->name = (char *)name;
	n->type = type;
	n->mode = type == KURA_NODE_DIR ? 0755 : 0644;
	n->user = n->group = (char *)"";
}

/* Store tree k of the chain (a file "f" at MID and at the bottom, "d" below it unless the bottom). */
static void store_level(kura_blobstore *s, unsigned k, uint8_t id[KURA_HASH_SIZE])
{
	kura_node nodes[2];
	kura_tree t = {nodes, 0};
	kura_buf b = KURA_BUF_INIT;

	if (k < CHAIN) {
		set_node(&nodes[t.count], KURA_NODE_DIR, "d");
		memcpy(nodes[t.count++].subtree, id, KURA_HASH_SIZE);
	}
	if (k == MID || k == CHAIN)
		set_node(&nodes[t.count++], KURA_NODE_FILE, "f");
	assert_ok(kura_tree_encode(&b, &t));
	assert_ok(kura_blobstore_add(s, KURA_BLOB_TREE, b.data, b.len, id));
	kura_buf_free(&b);
}

static void write_chain(kura_repo *repo, char out[KURA_ID_HEX])
{
	kura_snapshot snap = {0};
	kura_blobstore *s;
	uint8_t id[KURA_HASH_SIZE] = {0}, name[KURA_HASH_SIZE], *data;
	size_t len;

	assert_ok(kura_blobstore_new(&s, repo));
	for (unsigned k = CHAIN + 1; k-- > 0;)
		store_level(s, k, id);
	assert_ok(kura_blobstore_flush(s));
	assert_ok(kura_blobstore_packs(s, &snap.packs, &snap.npacks));
	snap.time_ns = 1;
	snap.readable = true;
	memcpy(snap.tree, id, KURA_HASH_SIZE);
	snap.program = "deep";
	assert_ok(kura_snapshot_encode(&data, &len, name, &repo->keys, &snap));
	kura_hex(out, name, KURA_HASH_SIZE);
	assert_ok(repo->backend->put(repo->backend, KURA_FILE_SNAPSHOT, out, data, len));
	free(data);
	free(snap.packs);
	kura_blobstore_free(s);
}

typedef struct {
	unsigned problems, depth;
} problems;

static void on_problem(const char *object, const char *message, const char *snapshot_id,
		       const char *path, void *ctx)
{
	problems *p = ctx;

	p->problems++;
	p->depth = path ? kura_walk__depth(path) : 0;
	assert_non_null(strstr(message, "nested"));
}

static int count_node(const kura_node_info *n, void *ctx)
{
	(*(unsigned *)ctx)++;
	return 0;
}

/* "/d/d/.../d", `levels` deep. */
static char *chain_path(unsigned levels)
{
	char *p = malloc(2 * levels + 1);

	assert_non_null(p);
	for (unsigned i = 0; i < levels; i++)
		memcpy(p + 2 * i, "/d", 2);
	p[2 * levels] = '\0';
	return p;
}

static void test_readers_agree(void **state)
{
	kura_repo *repo = new_repo("chain");
	kura_check_options co = {0};
	kura_check_result cr;
	kura_restore_options ro = {0};
	kura_restore_result rr;
	problems p = {0};
	char snap[KURA_ID_HEX], target[128];
	char *deep = chain_path(KURA_TREE_MAX_DEPTH - 2), *mid = chain_path(MID + 1);
	unsigned nodes = 0;

	write_chain(repo, snap);

	/* check: one problem, where the tree of depth MAX names a deeper one */
	co.problem = on_problem;
	co.problem_ctx = &p;
	assert_int_equal(kura_check(repo, &co, &cr), KURA_ECORRUPT);
	assert_int_equal(p.problems, 1);
	assert_int_equal(p.depth, KURA_TREE_MAX_DEPTH + 1);

	/*
	 * ls: the "d" of each tree at depth 0..MAX, then the one too deep is
	 * skipped and the walk goes on to the "f" at MID ("f" sorts after
	 * "d"); the error names the skipped directory in the end
	 */
	assert_int_equal(kura_ls(repo, snap, "/", count_node, &nodes), KURA_ECORRUPT);
	assert_int_equal(nodes, KURA_TREE_MAX_DEPTH + 2);
	assert_non_null(strstr(kura_error_message(), "are not listed"));
	nodes = 0;
	memcpy(mid + 2 * MID + 1, "f", 2); /* the file in the tree at depth MID */
	assert_ok(kura_ls(repo, snap, mid, count_node, &nodes));
	assert_int_equal(nodes, 1);

	/* restore of a deep part counts from the snapshot root too: two levels, then the error */
	snprintf(target, sizeof(target), "%s/target", base);
	ro.target = target;
	ro.subpath = deep;
	ro.threads = 2;
	assert_int_equal(kura_restore(repo, snap, &ro, &rr), KURA_ECORRUPT);
	assert_int_equal(rr.dirs, 2);
	assert_int_equal(rr.files, 0);
	snprintf(target, sizeof(target), "%s/target/d/d", base);
	assert_int_equal(access(target, F_OK), 0);
	snprintf(target, sizeof(target), "%s/target/d/d/d", base);
	assert_int_not_equal(access(target, F_OK), 0);

	free(deep);
	free(mid);
	kura_repo_free(repo);
}

/* A tree {name -> id} (or an empty one if name is NULL); *id becomes its id. */
static void store_dir(kura_blobstore *s, const char *name, uint8_t id[KURA_HASH_SIZE])
{
	kura_node node;
	kura_tree t = {&node, name ? 1 : 0};
	kura_buf b = KURA_BUF_INIT;

	if (name) {
		set_node(&node, KURA_NODE_DIR, name);
		memcpy(node.subtree, id, KURA_HASH_SIZE);
	}
	assert_ok(kura_tree_encode(&b, &t));
	assert_ok(kura_blobstore_add(s, KURA_BLOB_TREE, b.data, b.len, id));
	kura_buf_free(&b);
}

/*
 * The same subtree S (100 levels) at /a, where it fits, and again below a
 * chain at /b, where it ends 50 levels too deep: check walks S once and
 * must still report it at /b, as ls and restore would fail there.
 */
static void test_shared_subtree_too_deep(void **state)
{
	kura_repo *repo = new_repo("shared");
	kura_snapshot snap = {0};
	kura_check_options co = {0};
	kura_check_result cr;
	kura_blobstore *s;
	kura_node top[2];
	kura_tree root = {top, 2};
	kura_buf b = KURA_BUF_INIT;
	uint8_t sub[KURA_HASH_SIZE] = {0}, chain[KURA_HASH_SIZE], name[KURA_HASH_SIZE], *data;
	char hex[KURA_ID_HEX];
	problems p = {0};
	unsigned nodes = 0;
	size_t len;

	assert_ok(kura_blobstore_new(&s, repo));
	store_dir(s, NULL, sub);
	for (int i = 0; i < 100; i++)
		store_dir(s, "d", sub);
	memcpy(chain, sub, KURA_HASH_SIZE);
	for (int i = 0; i < KURA_TREE_MAX_DEPTH - 51; i++)
		store_dir(s, "c", chain);
	set_node(&top[0], KURA_NODE_DIR, "a");
	memcpy(top[0].subtree, sub, KURA_HASH_SIZE);
	set_node(&top[1], KURA_NODE_DIR, "b");
	memcpy(top[1].subtree, chain, KURA_HASH_SIZE);
	assert_ok(kura_tree_encode(&b, &root));
	assert_ok(kura_blobstore_add(s, KURA_BLOB_TREE, b.data, b.len, snap.tree));
	kura_buf_free(&b);
	assert_ok(kura_blobstore_flush(s));
	assert_ok(kura_blobstore_packs(s, &snap.packs, &snap.npacks));
	snap.time_ns = 1;
	snap.readable = true;
	snap.program = "deep";
	assert_ok(kura_snapshot_encode(&data, &len, name, &repo->keys, &snap));
	kura_hex(hex, name, KURA_HASH_SIZE);
	assert_ok(repo->backend->put(repo->backend, KURA_FILE_SNAPSHOT, hex, data, len));
	free(data);
	free(snap.packs);
	kura_blobstore_free(s);

	co.problem = on_problem;
	co.problem_ctx = &p;
	assert_int_equal(kura_check(repo, &co, &cr), KURA_ECORRUPT);
	assert_int_equal(p.problems, 1);
	assert_int_equal(p.depth, KURA_TREE_MAX_DEPTH - 50); /* where S starts below /b */
	assert_ok(kura_ls(repo, hex, "/a", count_node, &nodes));
	assert_int_equal(kura_ls(repo, hex, "/b", count_node, &nodes), KURA_ECORRUPT);
	kura_repo_free(repo);
}

static int count_change(kura_diff_kind kind, const kura_node_info *old_node,
			const kura_node_info *new_node, void *ctx)
{
	assert_int_equal(kind, KURA_DIFF_ADDED);
	(*(unsigned *)ctx)++;
	return 0;
}

/* diff, like ls, skips the directory too deep and goes on to compare the rest. */
static void test_diff_goes_on(void **state)
{
	kura_repo *repo = new_repo("diff");
	kura_snapshot snap = {0};
	kura_blobstore *s;
	uint8_t name[KURA_HASH_SIZE], *data;
	char empty[KURA_ID_HEX], chain[KURA_ID_HEX];
	unsigned changes = 0;
	size_t len;

	write_chain(repo, chain);
	assert_ok(kura_blobstore_new(&s, repo));
	store_dir(s, NULL, snap.tree);
	assert_ok(kura_blobstore_flush(s));
	assert_ok(kura_blobstore_packs(s, &snap.packs, &snap.npacks));
	snap.time_ns = 2;
	snap.readable = true;
	snap.program = "empty";
	assert_ok(kura_snapshot_encode(&data, &len, name, &repo->keys, &snap));
	kura_hex(empty, name, KURA_HASH_SIZE);
	assert_ok(repo->backend->put(repo->backend, KURA_FILE_SNAPSHOT, empty, data, len));
	free(data);
	free(snap.packs);
	kura_blobstore_free(s);

	/* every "d" down to depth MAX, then (past the skipped one) the "f" at MID */
	assert_int_equal(kura_diff(repo, empty, chain, count_change, &changes), KURA_ECORRUPT);
	assert_int_equal(changes, KURA_TREE_MAX_DEPTH + 2);
	assert_non_null(strstr(kura_error_message(), "are not compared"));
	kura_repo_free(repo);
}

#define LEVELS 60 /* well past the walk's open directories (KURA_DIRSTACK_OPEN) */

/* At every level: a file "a", a directory "m" (the next level), a file "z". */
static void make_ladder(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY);

	assert_true(fd >= 0);
	for (int i = 0; i < LEVELS; i++) {
		int f, sub;

		for (const char *n = "a"; n; n = *n == 'a' ? "z" : NULL) {
			assert_true((f = openat(fd, n, O_WRONLY | O_CREAT, 0644)) >= 0);
			assert_int_equal(write(f, n, 1), 1);
			close(f);
		}
		assert_int_equal(mkdirat(fd, "m", 0755), 0);
		assert_true((sub = openat(fd, "m", O_RDONLY | O_DIRECTORY)) >= 0);
		close(fd);
		fd = sub;
	}
	close(fd);
}

static void test_backup_bounded_fds(void **state)
{
	kura_repo *repo = new_repo("ladder");
	kura_backup_result br;
	struct rlimit old, low;
	char src[128], cache[128];
	unsigned nodes = 0;

	snprintf(src, sizeof(src), "%s/ladder-src", base);
	snprintf(cache, sizeof(cache), "%s/cache", base);
	assert_int_equal(mkdir(src, 0755), 0);
	make_ladder(src);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 48;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int rc = test_backup_dir(repo, src, cache, &br);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_ok(rc);
	assert_int_equal(br.files_unreadable, 0);
	assert_int_equal(br.files_new, 2 * LEVELS);
	assert_int_equal(br.dirs, LEVELS + 1);
	assert_ok(kura_ls(repo, br.snapshot_id, src, count_node, &nodes));
	assert_int_equal(nodes, 1 + 3 * LEVELS);
	kura_repo_free(repo);
}

/* link/data follows link; a symlink given is not followed, trailing '/' or not. */
static void test_symlinks_on_the_way(void **state)
{
	char real[128], link[128], given[3][160], want[160];
	const char *paths[3] = {given[0], given[1], given[2]};
	kura_walkpath *root1, *w;

	snprintf(real, sizeof(real), "%s/real", base);
	snprintf(link, sizeof(link), "%s/link", base);
	snprintf(want, sizeof(want), "%s/data", real);
	assert_int_equal(mkdir(real, 0755), 0);
	assert_int_equal(mkdir(want, 0755), 0);
	assert_int_equal(symlink("real", link), 0);
	snprintf(given[0], sizeof(given[0]), "%s/data", link);
	assert_ok(kura_walkpaths_build(&root1, paths, 1));
	w = root1;
	/* down to link: the names given */
	while (w->nchildren == 1 && !w->children[0]->leaf && strcmp(w->children[0]->real, link))
		w = w->children[0];
	kura_walkpath *l = w->children[0];
	assert_string_equal(l->real, link);
	assert_string_equal(l->resolved, real);
	assert_true(l->children[0]->leaf);
	assert_string_equal(l->children[0]->real, given[0]);
	assert_string_equal(l->children[0]->resolved, want);
	kura_walkpaths_free(root1);

	snprintf(given[1], sizeof(given[1]), "%s", link);
	snprintf(given[2], sizeof(given[2]), "%s/", link);
	for (int i = 1; i < 3; i++) {
		kura_walkpath *root, *n;

		assert_ok(kura_walkpaths_build(&root, paths + i, 1));
		for (n = root; !n->leaf; n = n->children[0])
			;
		assert_string_equal(n->real, link);
		assert_string_equal(n->resolved, link); /* /tmp has no symlink on the way here */
		kura_walkpaths_free(root);
	}
}

static int setup(void **state)
{
	char *real;

	snprintf(base, sizeof(base), "/tmp/kura-deep-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	/* /tmp itself may be a symlink somewhere: compare against resolved paths */
	if (!(real = realpath(base, NULL)))
		return -1;
	snprintf(base, sizeof(base), "%s", real);
	free(real);
	return 0;
}

static int teardown(void **state)
{
	return test_remove_tree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_readers_agree),
	    cmocka_unit_test(test_shared_subtree_too_deep),
	    cmocka_unit_test(test_diff_goes_on),
	    cmocka_unit_test(test_backup_bounded_fds),
	    cmocka_unit_test(test_symlinks_on_the_way),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
