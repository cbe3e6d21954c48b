/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_treepacks.c - trees in packs of their own (blobstore.c) and read in
 * merged ranges (treeahead.c).  After a backup and an incremental one,
 * every pack's trailer says it holds trees only or data only, and there is
 * at least one of each.  Reading the snapshot's trees ahead gives every
 * tree, in a handful of ranged reads of packs rather than one per tree
 * (the local backend's get_range is counted); a tree damaged inside a
 * merged range is left out (the walk reads it and says why), its
 * neighbours in the same range are still kept.  check, told the local
 * store is worth reading in parallel, reads its trees the same way, finds
 * no problem, and reports the damaged tree once it is damaged.  A second
 * call on the same handle from another thread neither reads ahead nor
 * drops the first one's trees.
 */
#include "restfix.h"
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "format/pack.h"
#include "format/snapshot.h"
#include "format/tree.h"
#include "kura/keyless.h"
#include "kura/sys/backend.h"
#include "repo/repo.h"
#include "repo/treeahead.h"
#include "repo/walk.h"

#define PASSPHRASE "correct horse battery staple vertically integrated marmalade"
#define NDIRS 30
/* root, NDIRS directories, a subdirectory in each */
#define NTREES (1 + 2 * NDIRS)

typedef struct {
	char dir[64];
	char repo[96];
	char cache[96];
	char src[96];
	kura_repo *r;
	char snap[KURA_ID_HEX];
} fixture;

static void make_tree(fixture *f, int round)
{
	char path[256];

	for (int i = 0; i < NDIRS; i++) {
		snprintf(path, sizeof(path), "%s/d%02d", f->src, i);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/d%02d/s", f->src, i);
		mkdir(path, 0700);
		/* the second round changes a third of the files: new data and trees */
		if (round == 0 || i % 3 == 0) {
			snprintf(path, sizeof(path), "%s/d%02d/f.bin", f->src, i);
			test_write_random(path, 3000 + 100u * (unsigned)i,
					  (unsigned)(i + 100 * round));
			snprintf(path, sizeof(path), "%s/d%02d/s/g.bin", f->src, i);
			test_write_random(path, 70000, (unsigned)(i + 1000 + 100 * round));
		}
	}
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	kura_backup_result br;

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-treepacks-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	snprintf(f->cache, sizeof(f->cache), "%s/cache", f->dir);
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	if (mkdir(f->src, 0700) < 0)
		return -1;
	make_tree(f, 0);
	if (restfix_repo(&f->r, f->snap, f->repo, PASSPHRASE, f->src, f->cache) < 0)
		return -1;
	make_tree(f, 1); /* an incremental: its new trees too go in packs of their own */
	if (test_backup_dir(f->r, f->src, f->cache, &br) < 0) {
		print_error("backup: %s\n", kura_error_message());
		return -1;
	}
	memcpy(f->snap, br.snapshot_id, KURA_ID_HEX);
	/* a new handle: nothing cached from the backups */
	kura_repo_free(f->r);
	if (kura_repo_open_passphrase(&f->r, f->repo, PASSPHRASE) < 0)
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

static void test_trees_in_own_packs(void **state)
{
	fixture *f = *state;
	kura_backend *b = kura_repo_backend(f->r);
	kura_listed_file *packs;
	size_t npacks, tree_packs = 0, data_packs = 0, trees = 0;

	assert_ok(kura_list_files(&packs, &npacks, b, KURA_FILE_PACK));
	for (size_t i = 0; i < npacks; i++) {
		kura_pack_entry *e;
		uint8_t *file;
		size_t len, count, ntree = 0;

		assert_ok(b->get(b, KURA_FILE_PACK, packs[i].name, &file, &len));
		assert_ok(kura_pack_read_entries(&e, &count, &f->r->keys, file, len));
		for (size_t j = 0; j < count; j++)
			ntree += e[j].type == KURA_BLOB_TREE;
		if (ntree && ntree != count)
			print_error("pack %s holds %zu trees and %zu data blobs\n", packs[i].name,
				    ntree, count - ntree);
		assert_true(ntree == 0 || ntree == count);
		tree_packs += ntree > 0;
		data_packs += ntree == 0 && count > 0;
		trees += ntree;
		free(e);
		free(file);
	}
	free(packs);
	assert_true(tree_packs >= 1);
	assert_true(data_packs >= 1);
	/* both snapshots' trees: all of the first, the changed ones of the second */
	assert_true(trees >= NTREES + 1);
}

/* get_range of the local backend, counted for pack files */
static int (*real_get_range)(kura_backend *, kura_file_type, const char *, uint64_t, size_t,
			     uint8_t *);
static atomic_size_t pack_reads;

static int counting_get_range(kura_backend *b, kura_file_type type, const char *name,
			      uint64_t offset, size_t len, uint8_t *buf)
{
	if (type == KURA_FILE_PACK)
		atomic_fetch_add(&pack_reads, 1);
	return real_get_range(b, type, name, offset, len, buf);
}

/* Take every tree below root from what was read ahead (a depth-first walk): how many were
 * there; the ids that were not go in missed. */
static size_t take_all(kura_repo *r, const uint8_t root[KURA_HASH_SIZE],
		       uint8_t (*missed)[KURA_HASH_SIZE], size_t *nmissed)
{
	uint8_t(*stack)[KURA_HASH_SIZE] = calloc(NTREES, KURA_HASH_SIZE);
	size_t nstack = 1, taken = 0;

	assert_non_null(stack);
	*nmissed = 0;
	memcpy(stack[0], root, KURA_HASH_SIZE);
	while (nstack) {
		uint8_t id[KURA_HASH_SIZE], *data;
		size_t len;
		kura_tree *t;

		memcpy(id, stack[--nstack], KURA_HASH_SIZE);
		if (!kura_repo__treeahead_take(r, id, &data, &len)) {
			memcpy(missed[(*nmissed)++], id, KURA_HASH_SIZE);
			continue;
		}
		taken++;
		assert_ok(kura_tree_decode(&t, data, len));
		for (size_t i = 0; i < t->count; i++)
			if (t->nodes[i].type == KURA_NODE_DIR) {
				assert_true(nstack < NTREES);
				memcpy(stack[nstack++], t->nodes[i].subtree, KURA_HASH_SIZE);
			}
		kura_tree_free(t);
		free(data);
	}
	free(stack);
	return taken;
}

/* The snapshot's root tree id, the tree of the source directory below it. */
static void src_tree(fixture *f, uint8_t out[KURA_HASH_SIZE])
{
	kura_snapshot *snap;
	kura_tree *tree;
	kura_node *node;

	assert_ok(kura_walk__snapshot(&snap, NULL, f->r, f->snap, "test"));
	assert_ok(kura_walk__find(&tree, &node, f->r, snap->tree, f->src));
	assert_non_null(node);
	memcpy(out, node->subtree, KURA_HASH_SIZE);
	kura_tree_free(tree);
	kura_snapshot_free(snap);
}

static void test_ahead_merges_reads(void **state)
{
	fixture *f = *state;
	kura_backend *b = kura_repo_backend(f->r);
	uint8_t root[KURA_HASH_SIZE], missed[NTREES][KURA_HASH_SIZE];
	size_t nmissed;

	src_tree(f, root);
	real_get_range = b->get_range;
	b->get_range = counting_get_range;
	atomic_store(&pack_reads, 0);
	assert_ok(kura_repo__treeahead(f->r, root, 4));
	b->get_range = real_get_range;
	/*
	 * A span per tree pack a level (3 levels; each backup's trees in a
	 * tree pack per worker) and a header per pack for its key: well under
	 * one read a tree.
	 */
	if (atomic_load(&pack_reads) > NTREES / 3)
		print_error("%zu pack reads for %d trees\n", atomic_load(&pack_reads), NTREES);
	assert_true(atomic_load(&pack_reads) <= NTREES / 3);
	assert_int_equal(take_all(f->r, root, missed, &nmissed), NTREES);
	assert_int_equal(nmissed, 0);
	kura_repo__treeahead_drop(f->r);
}

/* Flip a byte of tree `id` where the index says it lies in its pack file. */
static void damage_blob(fixture *f, const uint8_t id[KURA_HASH_SIZE])
{
	kura_blob_loc loc;
	char hex[KURA_ID_HEX], path[256];
	FILE *fp;
	int c;

	assert_ok(kura_repo__load_index(f->r));
	assert_true(kura_idmap_get(&loc, f->r->index, id));
	kura_hex(hex, f->r->packs[loc.pack], KURA_HASH_SIZE);
	snprintf(path, sizeof(path), "%s/data/%.2s/%s", f->repo, hex, hex);
	assert_non_null(fp = fopen(path, "r+b"));
	assert_int_equal(fseek(fp, (long)loc.offset + (long)loc.stored_len / 2, SEEK_SET), 0);
	c = fgetc(fp);
	assert_int_equal(fseek(fp, (long)loc.offset + (long)loc.stored_len / 2, SEEK_SET), 0);
	fputc(c ^ 0x55, fp);
	assert_int_equal(fclose(fp), 0);
}

static void test_damaged_tree_left_out(void **state)
{
	fixture *f = *state;
	uint8_t root[KURA_HASH_SIZE], leaf[KURA_HASH_SIZE], missed[NTREES][KURA_HASH_SIZE];
	kura_tree *t, *sub;
	size_t nmissed;

	/* d07's subdirectory s: a leaf tree, its neighbours read in the same range */
	src_tree(f, root);
	assert_ok(kura_repo__load_tree(f->r, root, &t));
	assert_true(t->count == NDIRS);
	assert_ok(kura_repo__load_tree(f->r, t->nodes[7].subtree, &sub));
	for (size_t i = 0; i < sub->count; i++)
		if (sub->nodes[i].type == KURA_NODE_DIR)
			memcpy(leaf, sub->nodes[i].subtree, KURA_HASH_SIZE);
	kura_tree_free(sub);
	kura_tree_free(t);
	damage_blob(f, leaf);

	assert_ok(kura_repo__treeahead(f->r, root, 4));
	assert_int_equal(take_all(f->r, root, missed, &nmissed), NTREES - 1);
	assert_int_equal(nmissed, 1);
	assert_memory_equal(missed[0], leaf, KURA_HASH_SIZE);
	kura_repo__treeahead_drop(f->r);
	/* the walk's own read says what is wrong */
	assert_int_not_equal(kura_repo__load_tree(f->r, leaf, &t), 0);
	assert_non_null(strstr(kura_error_message(), "blob"));
}

static void on_problem(const char *object, const char *message, const char *snapshot_id,
		       const char *path, void *ctx)
{
	(void)object, (void)message, (void)snapshot_id, (void)path;
	(*(int *)ctx)++;
}

/* check with its trees read ahead (read_parallel set on the local store); its pack reads */
static int check_ahead(fixture *f, int *problems, size_t *reads)
{
	kura_backend *b = kura_repo_backend(f->r);
	kura_check_options o = KURA_CHECK_OPTIONS_INIT;
	kura_check_result res;
	unsigned was = b->read_parallel;
	int err;

	o.threads = 2;
	o.problem = on_problem;
	o.problem_ctx = problems;
	*problems = 0;
	real_get_range = b->get_range;
	b->get_range = counting_get_range;
	b->read_parallel = 4;
	atomic_store(&pack_reads, 0);
	err = kura_check(f->r, &o, &res);
	b->get_range = real_get_range;
	b->read_parallel = was;
	*reads = atomic_load(&pack_reads);
	return err;
}

static void test_check_ahead(void **state)
{
	fixture *f = *state;
	uint8_t root[KURA_HASH_SIZE];
	kura_tree *t;
	size_t reads;
	int problems;

	/* both snapshots' trees, read in spans: far fewer reads than trees */
	assert_ok(check_ahead(f, &problems, &reads));
	assert_int_equal(problems, 0);
	if (reads > NTREES / 3)
		print_error("check: %zu pack reads for over %d trees\n", reads, NTREES);
	assert_true(reads <= NTREES / 3);

	/* a tree damaged inside a span is still found */
	src_tree(f, root);
	assert_ok(kura_repo__load_tree(f->r, root, &t));
	damage_blob(f, t->nodes[4].subtree);
	kura_tree_free(t);
	assert_int_equal(check_ahead(f, &problems, &reads), KURA_ECORRUPT);
	assert_true(problems >= 1);
}

typedef struct {
	fixture *f;
	uint8_t root[KURA_HASH_SIZE];
	int err;
} other_call;

/* Another thread's walk on the same handle: read ahead (or not), then drop. */
static void *other_thread(void *arg)
{
	other_call *c = arg;

	c->err = kura_repo__treeahead(c->f->r, c->root, 4);
	kura_repo__treeahead_drop(c->f->r);
	return NULL;
}

/* Two calls on one handle: the second reads nothing ahead and leaves the first's trees alone. */
static void test_ahead_one_owner(void **state)
{
	fixture *f = *state;
	kura_backend *b = kura_repo_backend(f->r);
	uint8_t missed[NTREES][KURA_HASH_SIZE];
	other_call c = {f, {0}, -1};
	size_t nmissed;
	pthread_t t;

	src_tree(f, c.root);
	assert_ok(kura_repo__treeahead(f->r, c.root, 4));
	real_get_range = b->get_range;
	b->get_range = counting_get_range;
	atomic_store(&pack_reads, 0);
	assert_int_equal(pthread_create(&t, NULL, other_thread, &c), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	b->get_range = real_get_range;
	assert_int_equal(c.err, 0);
	assert_int_equal(atomic_load(&pack_reads), 0);
	assert_int_equal(take_all(f->r, c.root, missed, &nmissed), NTREES);
	kura_repo__treeahead_drop(f->r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_trees_in_own_packs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ahead_merges_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_tree_left_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_ahead, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ahead_one_owner, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
