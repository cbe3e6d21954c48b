/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_copy.c - kura_copy() (lib/repo/copy.c) between local backends, on
 * a repository with two real snapshots: a new mirror gets every file and
 * verifies, a second copy copies nothing, a callback that stops the copy
 * stops it before any snapshot is written, a target holding another
 * repository is refused before anything is written, and bad names and
 * options are refused with their codes.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kura/copy.h"
#include "kura/keyless.h"

#define PASSPHRASE "correct horse battery staple vertically integrated marmalade"

typedef struct {
	char dir[64];
	char repo[96];
	char mirror[96];
	char cache[96];
	kura_repo *r;
	char snaps[2][KURA_ID_HEX];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	kura_init_options io;
	kura_backup_result br;
	char src[160], file[192];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-copy-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	snprintf(f->mirror, sizeof(f->mirror), "%s/mirror", f->dir);
	snprintf(f->cache, sizeof(f->cache), "%s/cache", f->dir);
	kura_init_options_default(&io);
	io.kdf_profile = KURA_KDF_INTERACTIVE;
	if (kura_repo_init(&f->r, f->repo, PASSPHRASE, &io) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		snprintf(src, sizeof(src), "%s/src%d", f->dir, i);
		if (mkdir(src, 0700) < 0)
			return -1;
		snprintf(file, sizeof(file), "%s/data.bin", src);
		test_write_random(file, 300000 + 1000u * (unsigned)i, 20 + (unsigned)i);
		if (test_backup_dir(f->r, src, f->cache, &br) < 0)
			return -1;
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

static size_t count(kura_backend *b, kura_file_type type)
{
	kura_listed_file *v = NULL;
	size_t n = 0;

	assert_ok(kura_list_files(&v, &n, b, type));
	free(v);
	return n;
}

static void test_new_mirror_then_nothing(void **state)
{
	fixture *f = *state;
	kura_backend *dst = NULL, *src = kura_repo_backend(f->r);
	kura_copy_options o = KURA_COPY_OPTIONS_INIT;
	kura_copy_result r;

	assert_ok(kura_backend_local_create(&dst, f->mirror));
	assert_ok(kura_copy(src, dst, &o, &r));
	assert_int_equal(r.snapshots, 2);
	assert_int_equal(r.present, 0);
	assert_int_equal(r.failed + r.skipped + r.bad_target, 0);
	assert_true(r.copied >= 2 + 1 + 1 + 1); /* snapshots, a pack, an index, the config */
	assert_int_equal(r.verified, r.needed);
	assert_int_equal(r.copied, r.needed); /* keys and config included */
	for (int t = KURA_FILE_CONFIG; t <= KURA_FILE_PACK; t++)
		assert_int_equal(count(dst, (kura_file_type)t), count(src, (kura_file_type)t));

	assert_ok(kura_copy(src, dst, &o, &r));
	assert_int_equal(r.copied, 0);
	assert_int_equal(r.present, r.needed);
	assert_int_equal(r.verified, r.needed);
	kura_backend_free(dst);
}

static int stop_at_first_copy(const kura_copy_event *ev, void *ctx)
{
	int *seen = ctx;

	if (ev->type == KURA_COPY_COPIED && ev->file_type == KURA_FILE_PACK)
		return ++*seen == 1 ? KURA_ECANCELED : 0;
	return 0;
}

static void test_callback_stops_before_snapshots(void **state)
{
	fixture *f = *state;
	kura_backend *dst = NULL, *src = kura_repo_backend(f->r);
	kura_copy_options o = KURA_COPY_OPTIONS_INIT;
	kura_copy_result r;
	int seen = 0;

	o.fn = stop_at_first_copy;
	o.ctx = &seen;
	assert_ok(kura_backend_local_create(&dst, f->mirror));
	assert_int_equal(kura_copy(src, dst, &o, &r), KURA_ECANCELED);
	assert_int_equal(seen, 1);
	assert_int_equal(count(dst, KURA_FILE_SNAPSHOT), 0);
	assert_int_equal(count(dst, KURA_FILE_PACK), 1);
	/* and the rerun finishes it */
	o.fn = NULL;
	assert_ok(kura_copy(src, dst, &o, &r));
	/* the keys, the config and the pack copied before the stop */
	assert_int_equal(r.present, count(src, KURA_FILE_KEY) + 2);
	assert_int_equal(count(dst, KURA_FILE_SNAPSHOT), 2);
	kura_backend_free(dst);
}

static void test_other_repository_refused(void **state)
{
	fixture *f = *state;
	kura_backend *src = kura_repo_backend(f->r);
	kura_copy_options o = KURA_COPY_OPTIONS_INIT;
	kura_init_options io;
	kura_copy_result r;
	kura_repo *other = NULL;

	kura_init_options_default(&io);
	io.kdf_profile = KURA_KDF_INTERACTIVE;
	assert_ok(kura_repo_init(&other, f->mirror, PASSPHRASE, &io));
	assert_int_equal(kura_copy(src, kura_repo_backend(other), &o, &r), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "another repository"));
	assert_int_equal(r.copied, 0);
	assert_int_equal(count(kura_repo_backend(other), KURA_FILE_PACK), 0);
	kura_repo_free(other);
}

static void test_names_and_options(void **state)
{
	fixture *f = *state;
	kura_backend *dst = NULL, *src = kura_repo_backend(f->r);
	kura_copy_options o = KURA_COPY_OPTIONS_INIT;
	kura_copy_result r;
	const char *names[3] = {f->snaps[1], "", NULL};
	char prefix[13];

	assert_ok(kura_backend_local_create(&dst, f->mirror));
	o.snapshots = names;
	o.nsnapshots = 2;
	assert_int_equal(kura_copy(src, dst, &o, &r), KURA_ENOTFOUND); /* "" names nothing */
	snprintf(prefix, sizeof(prefix), "%.12s", f->snaps[1]);
	names[1] = prefix; /* the same snapshot twice */
	assert_ok(kura_copy(src, dst, &o, &r));
	assert_int_equal(r.snapshots, 1);
	assert_int_equal(count(dst, KURA_FILE_SNAPSHOT), 1);

	o.version = 99;
	assert_int_equal(kura_copy(src, dst, &o, &r), KURA_EINVAL);
	o.version = KURA_COPY_OPTIONS_VERSION;
	o.snapshots = NULL;
	assert_int_equal(kura_copy(src, dst, &o, &r), KURA_EINVAL);
	assert_int_equal(kura_copy(NULL, dst, &o, &r), KURA_EINVAL);
	kura_backend_free(dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_new_mirror_then_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_callback_stops_before_snapshots, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_repository_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_names_and_options, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
