/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hostile_repo.c - a repository written by a hostile client (one that
 * holds a backup key and writes whatever bytes it likes) must never make
 * restore write outside its target, nor crash ls or check.
 *
 * The trees here are encoded by hand, bypassing kura_tree_encode()'s
 * validation, stored as properly encrypted blobs, and referenced from a
 * real snapshot: exactly what a stolen backup key can produce.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "format/snapshot.h"
#include "repo/blobstore.h"
#include "repo/repo.h"

static char base[64];

static int count_node(const kura_node_info *n, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

/* One node in the on-disk layout of docs/FORMAT.md "Trees", no checks. */
static void put_node(kura_buf *b, uint8_t type, const char *name, const char *target,
		     const uint8_t *subtree)
{
	kura_buf_put_u8(b, type);
	kura_buf_put_u16(b, (uint16_t)strlen(name));
	kura_buf_put(b, name, strlen(name));
	kura_buf_put_u32(b, 0644);
	kura_buf_put_u32(b, 0);
	kura_buf_put_u32(b, 0);
	kura_buf_put_u8(b, 0);  /* user */
	kura_buf_put_u8(b, 0);  /* group */
	kura_buf_put_u64(b, 0); /* mtime */
	kura_buf_put_u32(b, 0);
	if (type == KURA_NODE_SYMLINK) {
		kura_buf_put_u64(b, strlen(target));
		kura_buf_put_u16(b, (uint16_t)strlen(target));
		kura_buf_put(b, target, strlen(target));
	} else if (type == KURA_NODE_DIR) {
		kura_buf_put_u64(b, 0);
		kura_buf_put(b, subtree, KURA_HASH_SIZE);
	} else if (type == KURA_NODE_HARDLINK) {
		kura_buf_put_u64(b, 0);
		kura_buf_put_u16(b, (uint16_t)strlen(target));
		kura_buf_put(b, target, strlen(target));
		kura_buf_put_u32(b, 0);
	} else {
		kura_buf_put_u64(b, 0);
		kura_buf_put_u32(b, 0); /* no extents */
	}
	kura_buf_put_u16(b, 0); /* xattrs */
}

static void tree_header(kura_buf *b, uint32_t count)
{
	kura_buf_put(b, "KTRE\1\0\0\0", 8);
	kura_buf_put_u32(b, count);
}

/* Store raw tree bytes as the root of a new snapshot; return its id. */
static void write_snapshot(kura_repo *repo, kura_blobstore *s, const uint8_t root[32],
			   char out[KURA_ID_HEX])
{
	kura_snapshot snap = {0};
	uint8_t *data, name[32];
	size_t len;

	assert_ok(kura_blobstore_flush(s));
	assert_ok(kura_blobstore_packs(s, &snap.packs, &snap.npacks));
	snap.time_ns = 1;
	snap.readable = true;
	memcpy(snap.tree, root, 32);
	snap.program = "hostile";
	assert_ok(kura_snapshot_encode(&data, &len, name, &repo->keys, &snap));
	kura_hex(out, name, 32);
	assert_ok(repo->backend->put(repo->backend, KURA_FILE_SNAPSHOT, out, data, len));
	free(data);
	free(snap.packs);
}

static kura_repo *new_repo(const char *sub)
{
	kura_init_options o;
	kura_repo *repo;
	char path[128];

	kura_init_options_default(&o);
	o.kdf_profile = KURA_KDF_INTERACTIVE;
	snprintf(path, sizeof(path), "%s/%s", base, sub);
	assert_ok(kura_repo_init(&repo, path, "correct horse battery staple hostile", &o));
	assert_ok(kura_repo__load_index(repo));
	return repo;
}

/* Restore must refuse the snapshot and create nothing outside target. */
static void restore_refused(kura_repo *repo, const char *snap, const char *victim)
{
	kura_restore_options o = {0};
	kura_restore_result r;
	char target[128], path[160];
	int rc;

	snprintf(target, sizeof(target), "%s/target-%.8s", base, snap);
	o.target = target;
	o.threads = 2;
	rc = kura_restore(repo, snap, &o, &r);
	assert_int_not_equal(rc, 0);
	snprintf(path, sizeof(path), "%s/%s", base, victim);
	assert_int_not_equal(access(path, F_OK), 0);
}

static void test_dotdot_names(void **state)
{
	static const char *const names[] = {"..", ".", "victim/x", "/victim", ""};
	kura_repo *repo = new_repo("dotdot");
	kura_blobstore *s;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		kura_buf t = KURA_BUF_INIT;
		uint8_t root[32];
		char snap[KURA_ID_HEX];

		assert_ok(kura_blobstore_new(&s, repo));
		tree_header(&t, 1);
		put_node(&t, KURA_NODE_FILE, names[i], NULL, NULL);
		assert_ok(kura_blobstore_add(s, 2, t.data, t.len, root));
		write_snapshot(repo, s, root, snap);
		restore_refused(repo, snap, "victim");
		int nodes = 0;

		assert_int_not_equal(kura_ls(repo, snap, "/", count_node, &nodes), 0);
		kura_blobstore_free(s);
		kura_buf_free(&t);
	}
	kura_repo_free(repo);
}

static void test_hardlink_escape(void **state)
{
	static const char *const targets[] = {"../victim", "/etc/passwd", "a/../../victim"};
	kura_repo *repo = new_repo("hardlink");

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		kura_blobstore *s;
		kura_buf t = KURA_BUF_INIT;
		uint8_t root[32];
		char snap[KURA_ID_HEX];

		assert_ok(kura_blobstore_new(&s, repo));
		tree_header(&t, 1);
		put_node(&t, KURA_NODE_HARDLINK, "h", targets[i], NULL);
		assert_ok(kura_blobstore_add(s, 2, t.data, t.len, root));
		write_snapshot(repo, s, root, snap);
		restore_refused(repo, snap, "victim");
		kura_blobstore_free(s);
		kura_buf_free(&t);
	}
	kura_repo_free(repo);
}

/*
 * A snapshot holding a symlink that points outside the target is legal
 * (it is restored as a symlink); what must never happen is a write through
 * a symlink, whether the snapshot's or one planted in the target.
 */
static void test_link_through_symlink(void **state)
{
	kura_repo *repo = new_repo("through");
	kura_blobstore *s;
	kura_buf t = KURA_BUF_INIT;
	uint8_t root[32];
	char snap[KURA_ID_HEX];
	kura_restore_options o = {0};
	kura_restore_result r;
	char target[128], victim[160];
	int nodes = 0;

	assert_ok(kura_blobstore_new(&s, repo));
	tree_header(&t, 2);
	put_node(&t, KURA_NODE_SYMLINK, "d", base, NULL);
	put_node(&t, KURA_NODE_FILE, "e", NULL, NULL);
	assert_ok(kura_blobstore_add(s, 2, t.data, t.len, root));
	write_snapshot(repo, s, root, snap);
	assert_ok(kura_ls(repo, snap, "/", count_node, &nodes));
	assert_int_equal(nodes, 2);

	/* plant the same symlink in the target first: restore must not follow it */
	snprintf(target, sizeof(target), "%s/target-through", base);
	assert_int_equal(mkdir(target, 0700), 0);
	snprintf(victim, sizeof(victim), "%s/e", target);
	assert_int_equal(symlink(base, victim), 0);
	o.target = target;
	(void)kura_restore(repo, snap, &o, &r);
	snprintf(victim, sizeof(victim), "%s/e", base);
	assert_int_not_equal(access(victim, F_OK), 0); /* nothing written through the link */
	kura_blobstore_free(s);
	kura_buf_free(&t);
	kura_repo_free(repo);
}

/* A truncated or garbage root tree: a clear error, never a crash. */
static void test_garbage_tree(void **state)
{
	kura_repo *repo = new_repo("garbage");
	uint8_t garbage[64];

	for (int i = 0; i < 3; i++) {
		kura_blobstore *s;
		uint8_t root[32];
		char snap[KURA_ID_HEX];
		size_t len = i == 0 ? 8 : sizeof(garbage);

		memcpy(garbage, "KTRE\1\0\0\0\377\377\377\377", 12);
		for (size_t j = 12; j < sizeof(garbage); j++)
			garbage[j] = (uint8_t)(j * 37 + (size_t)i);
		assert_ok(kura_blobstore_new(&s, repo));
		assert_ok(kura_blobstore_add(s, 2, garbage, len, root));
		write_snapshot(repo, s, root, snap);
		restore_refused(repo, snap, "victim");
		int nodes = 0;

		assert_int_equal(kura_ls(repo, snap, "/", count_node, &nodes), KURA_ECORRUPT);
		kura_blobstore_free(s);
	}
	kura_repo_free(repo);
}

static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/kura-hostile-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	return test_remove_tree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dotdot_names),
	    cmocka_unit_test(test_hardlink_escape),
	    cmocka_unit_test(test_link_through_symlink),
	    cmocka_unit_test(test_garbage_tree),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
