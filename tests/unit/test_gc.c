/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_gc.c - the keyless garbage collection plan (lib/repo/gc.c) and the
 * local backend's remove and mtime, on a repository with three real
 * snapshots of distinct data: the plan is exactly the packs no remaining
 * snapshot lists, `gone` counts as removed, a snapshot that cannot be
 * read plans nothing, and a removed file is gone for good.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kura/sys/backend.h"
#include "kura/keyless.h"

#define PASSPHRASE "correct horse battery staple vertically integrated marmalade"
#define NSNAPS 3

typedef struct {
	char dir[64];
	char repo[96];
	char cache[96];
	kura_repo *r;
	kura_backend *b;
	char snaps[NSNAPS][KURA_ID_HEX];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	kura_init_options io;
	kura_backup_result br;
	char src[160], file[192];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-gc-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	snprintf(f->cache, sizeof(f->cache), "%s/cache", f->dir);
	kura_init_options_default(&io);
	io.kdf_profile = KURA_KDF_INTERACTIVE;
	if (kura_repo_init(&f->r, f->repo, PASSPHRASE, &io) < 0)
		return -1;
	f->b = kura_repo_backend(f->r);
	for (int i = 0; i < NSNAPS; i++) {
		snprintf(src, sizeof(src), "%s/src%d", f->dir, i);
		if (mkdir(src, 0700) < 0)
			return -1;
		snprintf(file, sizeof(file), "%s/data.bin", src);
		test_write_random(file, 600000 + 1000u * (unsigned)i, 10 + (unsigned)i);
		if (test_backup_dir(f->r, src, f->cache, &br) < 0) {
			print_error("backup: %s\n", kura_error_message());
			return -1;
		}
		memcpy(f->snaps[i], br.snapshot_id, KURA_ID_HEX);
	}
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

/* The plaintext pack list of a stored snapshot. */
static size_t snapshot_packs(fixture *f, const char *id, char (**out)[KURA_ID_HEX])
{
	uint8_t *data = NULL;
	size_t len, n = 0;
	int64_t t;

	assert_ok(f->b->get(f->b, KURA_FILE_SNAPSHOT, id, &data, &len));
	assert_ok(kura_snapshot_peek(data, len, &t, out, &n));
	free(data);
	return n;
}

static bool in_list(char (*list)[KURA_ID_HEX], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

/* Every stored pack is listed by some snapshot: nothing to collect. */
static void test_nothing_unreferenced(void **state)
{
	fixture *f = *state;
	kura_pack_list plan;

	assert_ok(kura_gc_unreferenced(f->b, NULL, 0, &plan));
	assert_int_equal(plan.count, 0);
	kura_pack_list_free(&plan);
	kura_pack_list_free(NULL);
}

/* With snapshot 0 gone, exactly the packs only it lists, sorted, with sizes. */
static void test_gone_is_exact(void **state)
{
	fixture *f = *state;
	char(*p0)[KURA_ID_HEX] = NULL, (*p1)[KURA_ID_HEX] = NULL, (*p2)[KURA_ID_HEX] = NULL;
	size_t n0 = snapshot_packs(f, f->snaps[0], &p0), n1 = snapshot_packs(f, f->snaps[1], &p1),
	       n2 = snapshot_packs(f, f->snaps[2], &p2), want = 0;
	kura_pack_list plan;

	assert_true(n0 >= 1);
	assert_ok(kura_gc_unreferenced(f->b, (const char(*)[KURA_ID_HEX])f->snaps, 1, &plan));
	for (size_t i = 0; i < n0; i++) {
		bool shared = in_list(p1, n1, p0[i]) || in_list(p2, n2, p0[i]);

		if (!shared) {
			want++;
			assert_true(in_list(plan.names, plan.count, p0[i]));
		}
	}
	/* distinct data: its file's pack is its own */
	assert_true(want >= 1);
	assert_int_equal(plan.count, want);
	for (size_t i = 0; i < plan.count; i++) {
		assert_true(plan.sizes[i] > 0);
		if (i)
			assert_true(strcmp(plan.names[i - 1], plan.names[i]) < 0);
	}
	kura_pack_list_free(&plan);
	assert_null(plan.names);
	assert_int_equal(plan.count, 0);

	/* all three gone: every stored pack is garbage */
	assert_ok(kura_gc_unreferenced(f->b, (const char(*)[KURA_ID_HEX])f->snaps, NSNAPS, &plan));
	assert_true(plan.count >= n0);
	for (size_t i = 0; i < n1; i++)
		assert_true(in_list(plan.names, plan.count, p1[i]));
	kura_pack_list_free(&plan);
	free(p0);
	free(p1);
	free(p2);
}

/* A pack no snapshot lists (a crashed backup's) is collected, with its size. */
static void test_orphan_pack(void **state)
{
	fixture *f = *state;
	static const char junk[] = "not really a pack, but the store cannot tell";
	char name[KURA_ID_HEX] = {0};
	kura_pack_list plan;
	FILE *p;

	p = popen("printf '%s' 'not really a pack, but the store cannot tell' | sha256sum", "r");
	assert_non_null(p);
	assert_int_equal(fread(name, 1, 64, p), 64);
	pclose(p);
	assert_ok(f->b->put(f->b, KURA_FILE_PACK, name, junk, sizeof(junk) - 1));
	assert_ok(kura_gc_unreferenced(f->b, NULL, 0, &plan));
	assert_int_equal(plan.count, 1);
	assert_string_equal(plan.names[0], name);
	assert_int_equal(plan.sizes[0], sizeof(junk) - 1);
	kura_pack_list_free(&plan);
}

/* A snapshot whose bytes no longer match its name makes the plan fail. */
static void test_corrupt_snapshot_plans_nothing(void **state)
{
	fixture *f = *state;
	kura_pack_list plan = {(void *)1, (void *)1, 42};
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/snapshots/%s", f->repo, f->snaps[1]);
	assert_int_equal(chmod(path, 0600), 0);
	fp = fopen(path, "r+b");
	assert_non_null(fp);
	fseek(fp, 30, SEEK_SET);
	fputc(fgetc(fp) ^ 1, fp);
	fclose(fp);

	assert_int_equal(kura_gc_unreferenced(f->b, NULL, 0, &plan), KURA_ECORRUPT);
	assert_null(plan.names);
	assert_null(plan.sizes);
	assert_int_equal(plan.count, 0);
	assert_non_null(strstr(kura_error_message(), f->snaps[1]));
	/* even with other snapshots gone: its packs are unknown */
	assert_int_equal(kura_gc_unreferenced(f->b, (const char(*)[KURA_ID_HEX])f->snaps, 1, &plan),
			 KURA_ECORRUPT);
	assert_int_equal(plan.count, 0);
	/* the damaged snapshot itself about to go: it is not read */
	assert_ok(kura_gc_unreferenced(f->b, (const char(*)[KURA_ID_HEX]) & f->snaps[1], 1, &plan));
	kura_pack_list_free(&plan);
}

/* A file that hashes to its name but is no snapshot: also fails. */
static void test_garbage_snapshot_plans_nothing(void **state)
{
	fixture *f = *state;
	static const char junk[] = "nothing a snapshot header needs, not even its magic";
	char name[KURA_ID_HEX] = {0};
	kura_pack_list plan;
	FILE *p;

	p = popen("printf '%s' 'nothing a snapshot header needs, not even its magic' | sha256sum",
		  "r");
	assert_non_null(p);
	assert_int_equal(fread(name, 1, 64, p), 64);
	pclose(p);
	assert_ok(f->b->put(f->b, KURA_FILE_SNAPSHOT, name, junk, sizeof(junk) - 1));
	assert_int_equal(kura_gc_unreferenced(f->b, NULL, 0, &plan), KURA_ECORRUPT);
	assert_int_equal(plan.count, 0);
	assert_non_null(strstr(kura_error_message(), name));
}

static int first_pack(const char *name, uint64_t size, void *ctx)
{
	memcpy(ctx, name, KURA_ID_HEX);
	return 1;
}

static void test_remove_and_mtime(void **state)
{
	fixture *f = *state;
	char name[KURA_ID_HEX], path[256];
	uint8_t *data = NULL;
	size_t len;
	int64_t mtime, now;
	struct timespec ts;

	assert_ok(f->b->list(f->b, KURA_FILE_PACK, first_pack, name));
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	assert_ok(kura_backend_mtime(f->b, KURA_FILE_PACK, name, &mtime));
	assert_true(mtime <= now && now - mtime < (int64_t)600 * 1000000000);

	assert_ok(kura_backend_remove(f->b, KURA_FILE_PACK, name));
	snprintf(path, sizeof(path), "%s/data/%.2s/%s", f->repo, name, name);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(f->b->get(f->b, KURA_FILE_PACK, name, &data, &len), KURA_ENOTFOUND);
	assert_int_equal(kura_backend_remove(f->b, KURA_FILE_PACK, name), KURA_ENOTFOUND);
	assert_int_equal(kura_backend_mtime(f->b, KURA_FILE_PACK, name, &mtime),
			 KURA_ENOTFOUND);

	/* snapshots too, and hostile arguments are refused, not followed */
	assert_ok(kura_backend_remove(f->b, KURA_FILE_SNAPSHOT, f->snaps[2]));
	assert_int_equal(kura_backend_remove(f->b, KURA_FILE_SNAPSHOT, f->snaps[2]),
			 KURA_ENOTFOUND);
	assert_int_equal(kura_backend_remove(f->b, KURA_FILE_SNAPSHOT, "../config"),
			 KURA_EINVAL);
	assert_int_equal(kura_backend_remove(f->b, (kura_file_type)9, f->snaps[0]),
			 KURA_EINVAL);
	assert_int_equal(kura_backend_mtime(f->b, KURA_FILE_PACK, NULL, &mtime), KURA_EINVAL);
}

static int fake_get(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
		    size_t *out_len)
{
	return KURA_ENOTFOUND;
}

/*
 * A store is what its slots say: without remove/mtime/deletion requests
 * the checked calls refuse with what it cannot do, and clean_tmp has
 * nothing to clean; the local backend has remove and mtime but no
 * deletion requests.
 */
static void test_backend_abilities(void **state)
{
	fixture *f = *state;
	kura_backend other = KURA_BACKEND_INIT;
	uint64_t files = 1, bytes = 1;
	int64_t mtime;
	long status;
	uint8_t *body;
	size_t len;

	other.get = fake_get;
	assert_int_equal(kura_backend_remove(&other, KURA_FILE_PACK, f->snaps[0]),
			 KURA_EUNSUPPORTED);
	assert_non_null(strstr(kura_error_message(), "cannot remove"));
	assert_int_equal(kura_backend_mtime(&other, KURA_FILE_PACK, f->snaps[0], &mtime),
			 KURA_EUNSUPPORTED);
	assert_ok(kura_backend_clean_tmp(&other, 0, true, &files, &bytes));
	assert_int_equal(files, 0);
	assert_int_equal(bytes, 0);
	assert_false(kura_backend_has(&other, KURA_BACKEND_HAS_REMOVE));
	assert_false(kura_backend_has(&other, KURA_BACKEND_HAS_STREAM));
	assert_false(kura_backend_has(NULL, KURA_BACKEND_HAS_REMOVE));
	assert_int_equal(kura_backend_access(&other), KURA_BACKEND_READ | KURA_BACKEND_WRITE);
	assert_true(kura_backend_has(f->b, KURA_BACKEND_HAS_REMOVE));
	assert_true(kura_backend_has(f->b, KURA_BACKEND_HAS_MTIME));
	assert_true(kura_backend_has(f->b, KURA_BACKEND_HAS_STREAM));
	assert_true(kura_backend_has(f->b, KURA_BACKEND_HAS_LOCK));
	assert_true(kura_backend_has(f->b, KURA_BACKEND_HAS_CLEAN_TMP));
	assert_false(kura_backend_has(f->b, KURA_BACKEND_HAS_DELETION_REQUESTS));
	assert_false(kura_backend_has(f->b, KURA_BACKEND_HAS_LIST_DETAIL));
	assert_ptr_equal(kura_repo_backend(f->r), f->b);
	assert_int_equal(kura_vault_request_deletion(f->b, "{\"snapshots\": [], \"prune\": true}",
						     &status, &body, &len),
			 KURA_EINVAL);
	assert_null(body);
	assert_int_equal(kura_vault_list_deletions(f->b, &status, &body, &len), KURA_EINVAL);

	/* prune refuses a store that cannot remove, before it plans anything */
	{
		kura_prune_options o = KURA_PRUNE_OPTIONS_INIT;
		kura_prune_result r;

		assert_int_equal(kura_prune(&other, &o, &r), KURA_EINVAL);
		assert_non_null(strstr(kura_error_message(), "cannot remove"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_nothing_unreferenced, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gone_is_exact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_orphan_pack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_snapshot_plans_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_snapshot_plans_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_and_mtime, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backend_abilities, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
