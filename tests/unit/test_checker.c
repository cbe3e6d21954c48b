/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_checker.c - kura_check (lib/repo/checker.c): a clean repository
 * passes at every level; damage is found and named down to the snapshot
 * and file; a snapshot that omits a pack it needs from its plaintext list
 * is caught; a backup key gets the keyless checks and is refused
 * --read-data; a pack removed by a prune is information while no
 * snapshot lists it, and a problem again once one does.  Packs hashed
 * while the key opened (prehash.c) are judged exactly as packs the check
 * hashes itself.
 */
#include "restfix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "format/snapshot.h"
#include "kura/backend.h"
#include "kura/keyless.h"
#include "repo/repo.h"

#define PASSPHRASE "correct horse battery staple vertically integrated marmalade"

typedef struct {
	char dir[64];
	char repo[96];
	char src[96];
	char cache[96];
	kura_repo *r;
	char snap[KURA_ID_HEX];
} fixture;

typedef struct {
	int count;
	int with_path;         /* problems naming a snapshot and a path */
	char paths[2048];      /* every path reported, '\n'-separated */
	char messages[8192];
} problems;

static void on_problem(const char *object, const char *message, const char *snapshot_id,
		       const char *path, void *ctx)
{
	problems *p = ctx;
	size_t n;

	p->count++;
	if (snapshot_id && path) {
		p->with_path++;
		n = strlen(p->paths);
		snprintf(p->paths + n, sizeof(p->paths) - n, "%s\n", path);
	}
	n = strlen(p->messages);
	snprintf(p->messages + n, sizeof(p->messages) - n, "%s: %s\n", object, message);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char path[160];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-checker-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	snprintf(f->cache, sizeof(f->cache), "%s/cache", f->dir);
	if (mkdir(f->src, 0700) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/big.bin", f->src);
	test_write_random(path, 3u << 20, 1);
	snprintf(path, sizeof(path), "%s/small.txt", f->src);
	test_write_random(path, 1000, 2);
	snprintf(path, sizeof(path), "%s/sub", f->src);
	if (mkdir(path, 0700) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/sub/other.bin", f->src);
	test_write_random(path, 300000, 3);

	if (restfix_repo(&f->r, f->snap, f->repo, PASSPHRASE, f->src, f->cache) < 0)
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

static int run_check(kura_repo *r, bool read_data, problems *p, kura_check_result *res)
{
	kura_check_options o;

	memset(&o, 0, sizeof(o));
	memset(p, 0, sizeof(*p));
	o.read_data = read_data;
	o.threads = 3;
	o.problem = on_problem;
	o.problem_ctx = p;
	return kura_check(r, &o, res);
}

/* The name and size of the largest pack. */
static int largest(const char *name, uint64_t size, void *ctx)
{
	char *best = ctx;
	uint64_t best_size;

	memcpy(&best_size, best + KURA_ID_HEX, sizeof(best_size));
	if (size > best_size) {
		memcpy(best, name, KURA_ID_HEX);
		memcpy(best + KURA_ID_HEX, &size, sizeof(size));
	}
	return 0;
}

/*
 * The largest pack: its name in `name` (its size rides behind it), its
 * file in `path`, made writable for the tests that damage it.  Its size.
 */
static uint64_t largest_pack(const fixture *f, char name[KURA_ID_HEX + 8], char *path, size_t len)
{
	kura_backend *b = f->r->backend;
	uint64_t size;

	memset(name, 0, KURA_ID_HEX + 8);
	assert_ok(b->list(b, KURA_FILE_PACK, largest, name));
	memcpy(&size, name + KURA_ID_HEX, sizeof(size));
	snprintf(path, len, "%s/data/%.2s/%s", f->repo, name, name);
	chmod(path, 0600);
	return size;
}

/* Flip one byte at `off` of `path` (and flip it back with a second call). */
static void flip_at(const char *path, long off)
{
	FILE *fp = fopen(path, "r+b");
	int c;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	c = fgetc(fp);
	assert_true(c != EOF);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	fputc(c ^ 0x04, fp);
	fclose(fp);
}

/*
 * A --read-data check fails, and its first problem is pack `name` (of
 * `size` bytes, flipped at `off`) not hashing to its name.
 */
static void assert_pack_hash_first(const fixture *f, const char *name, long off, uint64_t size)
{
	char first[160];
	kura_check_result res;
	problems p;

	assert_int_equal(run_check(f->r, true, &p, &res), KURA_ECORRUPT);
	assert_int_equal((int)res.problems, p.count);
	snprintf(first, sizeof(first), "pack %.64s: content hash does not match its name\n", name);
	if (strncmp(p.messages, first, strlen(first)) != 0)
		fail_msg("flip at %ld of %llu: first problem is not the pack hash:\n%s", off,
			 (unsigned long long)size, p.messages);
}

static void test_clean(void **state)
{
	fixture *f = *state;
	kura_check_result res;
	problems p;

	assert_ok(run_check(f->r, false, &p, &res));
	assert_int_equal(p.count, 0);
	assert_int_equal(res.snapshots, 1);
	assert_true(res.trees >= 2);
	assert_true(res.packs >= 1);
	assert_int_equal(res.bytes_read, 0);

	assert_ok(run_check(f->r, true, &p, &res));
	assert_int_equal(p.count, 0);
	assert_true(res.blobs_checked >= 5);
	assert_true(res.bytes_read > 3u << 20);
}

static void test_flip_in_pack_names_the_file(void **state)
{
	fixture *f = *state;
	char best[KURA_ID_HEX + 8], path[256];
	kura_check_result res;
	uint64_t size;
	problems p;

	size = largest_pack(f, best, path, sizeof(path));
	flip_at(path, (long)(size / 3));

	assert_int_equal(run_check(f->r, true, &p, &res), KURA_ECORRUPT);
	assert_int_equal((int)res.problems, p.count);
	assert_non_null(strstr(p.messages, "content hash does not match"));
	assert_true(p.with_path >= 1);
	assert_non_null(strstr(p.paths, "/src/big.bin\n"));
	assert_null(strstr(p.paths, "small.txt"));
}

/*
 * The pack hash covers every byte, wherever it lies (header, sealed key,
 * blobs, the last blob, trailer, footer), and its report comes first.
 */
static void test_flip_anywhere_in_pack(void **state)
{
	fixture *f = *state;
	char best[KURA_ID_HEX + 8], path[256];
	kura_check_result res;
	uint64_t size;
	problems p;

	size = largest_pack(f, best, path, sizeof(path));
	const long offs[] = {0, 11, 60, 123, 124, 200, (long)(size / 2), (long)(size * 9 / 10),
			     (long)size - 200, (long)size - 13, (long)size - 1};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		flip_at(path, offs[i]);
		assert_pack_hash_first(f, best, offs[i], size);
		flip_at(path, offs[i]);
	}
	assert_ok(run_check(f->r, true, &p, &res));
	assert_int_equal(p.count, 0);
}

static void test_missing_pack(void **state)
{
	fixture *f = *state;
	char best[KURA_ID_HEX + 8], path[256];
	kura_check_result res;
	problems p;

	largest_pack(f, best, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(run_check(f->r, false, &p, &res), KURA_ECORRUPT);
	assert_non_null(strstr(p.messages, "does not exist"));
	/* big.bin, or a directory above it if its tree shared the pack. */
	assert_true(p.with_path >= 1);
}

static int first_name(const char *name, uint64_t size, void *ctx)
{
	memcpy(ctx, name, KURA_ID_HEX);
	return 1;
}

/* Rewrite the snapshot without the first pack in its plaintext list. */
static void test_snapshot_omits_pack(void **state)
{
	fixture *f = *state;
	kura_backend *b = f->r->backend;
	char name[KURA_ID_HEX], hex[KURA_ID_HEX], path[256];
	uint8_t *data = NULL, *out = NULL, newname[KURA_HASH_SIZE];
	size_t len, out_len;
	kura_snapshot *s = NULL;
	kura_check_result res;
	problems p;

	assert_ok(b->list(b, KURA_FILE_SNAPSHOT, first_name, name));
	assert_ok(b->get(b, KURA_FILE_SNAPSHOT, name, &data, &len));
	assert_ok(kura_snapshot_decode(&s, &f->r->keys, data, len));
	assert_true(s->npacks >= 1);
	memmove(s->packs[0], s->packs[1], (s->npacks - 1) * KURA_HASH_SIZE);
	s->npacks--;
	assert_ok(kura_snapshot_encode(&out, &out_len, newname, &f->r->keys, s));
	kura_hex(hex, newname, KURA_HASH_SIZE);
	assert_ok(b->put(b, KURA_FILE_SNAPSHOT, hex, out, out_len));
	snprintf(path, sizeof(path), "%s/snapshots/%s", f->repo, name);
	assert_int_equal(unlink(path), 0);

	assert_int_equal(run_check(f->r, false, &p, &res), KURA_ECORRUPT);
	assert_non_null(strstr(p.messages, "does not list it"));
	kura_snapshot_free(s);
	free(data);
	free(out);
}

static void test_backup_key(void **state)
{
	fixture *f = *state;
	kura_repo *r = NULL;
	kura_check_result res;
	char key[160];
	problems p;

	snprintf(key, sizeof(key), "%s/backup.key", f->dir);
	assert_ok(kura_repo_export_backup_key(f->r, key));
	assert_ok(kura_repo_open_keyfile(&r, f->repo, key, NULL));
	assert_ok(run_check(r, false, &p, &res));
	assert_int_equal(p.count, 0);
	assert_int_equal(res.trees, 0);
	assert_int_equal(run_check(r, true, &p, &res), KURA_ENEEDKEY);
	kura_repo_free(r);
}

/*
 * A second backup of new data, then that snapshot forgotten and its packs
 * pruned: the index still names them, which is not a problem while no
 * snapshot lists them.  Putting the snapshot back makes it one again.
 */
static void test_pruned_pack(void **state)
{
	fixture *f = *state;
	kura_backend *b = kura_repo_backend(f->r);
	kura_backup_result br;
	kura_check_result res;
	kura_pack_list plan;
	char src[160], path[192], gone[1][KURA_ID_HEX];
	uint8_t *snap = NULL;
	size_t snap_len;
	problems p;

	snprintf(src, sizeof(src), "%s/src2", f->dir);
	assert_int_equal(mkdir(src, 0700), 0);
	snprintf(path, sizeof(path), "%s/new.bin", src);
	test_write_random(path, 500000, 7);
	assert_ok(test_backup_dir(f->r, src, f->cache, &br));
	memcpy(gone[0], br.snapshot_id, KURA_ID_HEX);

	assert_ok(kura_gc_unreferenced(b, (const char (*)[KURA_ID_HEX])gone, 1, &plan));
	assert_true(plan.count >= 1);
	assert_ok(b->get(b, KURA_FILE_SNAPSHOT, gone[0], &snap, &snap_len));
	assert_ok(kura_backend_remove(b, KURA_FILE_SNAPSHOT, gone[0]));
	for (size_t i = 0; i < plan.count; i++)
		assert_ok(kura_backend_remove(b, KURA_FILE_PACK, plan.names[i]));

	assert_ok(run_check(f->r, false, &p, &res));
	assert_int_equal(p.count, 0);
	assert_int_equal(res.packs_pruned, plan.count);
	assert_ok(run_check(f->r, true, &p, &res));
	assert_int_equal(p.count, 0);
	assert_int_equal(res.packs_pruned, plan.count);

	/* the snapshot back: the packs it lists are missing, which is damage */
	assert_ok(b->put(b, KURA_FILE_SNAPSHOT, gone[0], snap, snap_len));
	assert_int_equal(run_check(f->r, false, &p, &res), KURA_ECORRUPT);
	assert_int_equal(res.packs_pruned, 0);
	assert_non_null(strstr(p.messages, "which does not exist"));
	assert_non_null(strstr(p.messages, plan.names[0]));
	/* and its files cannot be restored, which the walk names */
	assert_true(p.with_path >= 1);
	kura_pack_list_free(&plan);
	free(snap);
}

/* Hash every pack now, as the open would while Argon2id runs (but whole, whatever the timing). */
static void prehash_all(fixture *f)
{
	uint64_t packs, bytes;

	kura_prehash_free(f->r->prehash);
	assert_ok(kura_prehash_start(&f->r->prehash, f->r->backend));
	kura_prehash_finish(f->r->prehash);
	kura_prehash_counts(f->r->prehash, &packs, &bytes);
	assert_true(packs >= 1);
	assert_true(bytes > 0);
}

/*
 * A pack hashed before the check (prehash.c) that does not hash to its
 * name is reported first, as ever, wherever the flipped byte lies; a pack
 * that changed size since it was hashed is hashed again.
 */
static void test_prehashed_flip_anywhere(void **state)
{
	fixture *f = *state;
	char best[KURA_ID_HEX + 8], path[256];
	kura_check_result res;
	uint64_t size;
	problems p;
	bool match;
	uint8_t name[KURA_HASH_SIZE];

	size = largest_pack(f, best, path, sizeof(path));
	assert_ok(kura_unhex(name, best, KURA_HASH_SIZE));
	prehash_all(f);
	assert_true(kura_prehash_lookup(f->r->prehash, name, size, &match));
	assert_true(match);
	assert_false(kura_prehash_lookup(f->r->prehash, name, size + 1, &match));
	assert_ok(run_check(f->r, true, &p, &res));
	assert_int_equal(p.count, 0);

	const long offs[] = {0, 123, (long)(size / 2), (long)size - 13, (long)size - 1};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		flip_at(path, offs[i]);
		prehash_all(f);
		assert_true(kura_prehash_lookup(f->r->prehash, name, size, &match));
		assert_false(match);
		assert_pack_hash_first(f, best, offs[i], size);
		flip_at(path, offs[i]);
	}

	/* hashed clean, then grown by a byte: the check hashes it itself */
	prehash_all(f);
	FILE *fp = fopen(path, "ab");
	assert_non_null(fp);
	fputc(0, fp);
	fclose(fp);
	assert_int_equal(run_check(f->r, true, &p, &res), KURA_ECORRUPT);
	assert_non_null(strstr(p.messages, "content hash does not match its name"));
}

/* The open option: a damaged pack is found whether or not it was hashed while the key opened. */
static void test_open_hashing_packs(void **state)
{
	fixture *f = *state;
	kura_repo_open_options o = KURA_REPO_OPEN_OPTIONS_INIT;
	char best[KURA_ID_HEX + 8], path[256];
	kura_check_result res;
	uint64_t size;
	problems p;

	o.passphrase = PASSPHRASE;
	o.hash_packs_while_unlocking = true;
	kura_repo_free(f->r);
	assert_ok(kura_repo_open_ext(&f->r, f->repo, &o));
	assert_ok(run_check(f->r, true, &p, &res));
	assert_int_equal(p.count, 0);

	size = largest_pack(f, best, path, sizeof(path));
	flip_at(path, (long)(size / 2));
	kura_repo_free(f->r);
	assert_ok(kura_repo_open_ext(&f->r, f->repo, &o));
	assert_int_equal(run_check(f->r, true, &p, &res), KURA_ECORRUPT);
	assert_non_null(strstr(p.messages, "content hash does not match its name"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_in_pack_names_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_anywhere_in_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_omits_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pruned_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prehashed_flip_anywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_hashing_packs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
