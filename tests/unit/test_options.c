/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_options.c - the options structs' versions (kura.h): the _INIT
 * macros give what the functions expect (KURA_INIT_OPTIONS_INIT the same
 * defaults as kura_init_options_default), a struct zeroed by hand
 * (version 0) is still read as version 1, and a struct of a newer version
 * than the library knows is refused with KURA_EUNSUPPORTED before
 * anything is done, by each of kura_repo_init, kura_backup, kura_restore
 * and kura_check.
 */
#include "testutil.h"

#include <sys/stat.h>
#include <unistd.h>

#define PASS "correct horse battery staple options"

static char base[64];

static void test_init_macro_is_the_default(void **state)
{
	kura_init_options m = KURA_INIT_OPTIONS_INIT, d;

	memset(&d, 0xa5, sizeof(d));
	kura_init_options_default(&d);
	assert_int_equal(m.version, KURA_INIT_OPTIONS_VERSION);
	assert_int_equal(d.version, KURA_INIT_OPTIONS_VERSION);
	assert_int_equal(m.chunk_min, d.chunk_min);
	assert_int_equal(m.chunk_avg, d.chunk_avg);
	assert_int_equal(m.chunk_max, d.chunk_max);
	assert_int_equal(m.pack_size, d.pack_size);
	assert_int_equal(m.compression_level, d.compression_level);
	assert_int_equal(m.kdf_profile, d.kdf_profile);
}

static void test_versions(void **state)
{
	kura_init_options io = KURA_INIT_OPTIONS_INIT;
	kura_backup_options bo = KURA_BACKUP_OPTIONS_INIT;
	kura_restore_options ro = KURA_RESTORE_OPTIONS_INIT;
	kura_check_options co = KURA_CHECK_OPTIONS_INIT;
	kura_backup_result bres;
	kura_restore_result rres;
	kura_check_result cres;
	kura_repo *repo = NULL;
	char repo_path[128], src[128], file[160], target[128];
	char id[KURA_ID_HEX];
	const char *paths[1] = {src};
	struct stat st;

	snprintf(repo_path, sizeof(repo_path), "%s/repo", base);
	snprintf(src, sizeof(src), "%s/src", base);
	snprintf(file, sizeof(file), "%s/a.txt", src);
	snprintf(target, sizeof(target), "%s/out", base);
	assert_int_equal(mkdir(src, 0700), 0);
	test_write_random(file, 1000, 7);

	/* a newer init struct: refused, and no repository made */
	io.kdf_profile = KURA_KDF_INTERACTIVE;
	io.version = KURA_INIT_OPTIONS_VERSION + 1;
	assert_int_equal(kura_repo_init(&repo, repo_path, PASS, &io), KURA_EUNSUPPORTED);
	assert_null(repo);
	assert_non_null(strstr(kura_error_message(), "version"));
	assert_int_equal(stat(repo_path, &st), -1);
	io.version = KURA_INIT_OPTIONS_VERSION;
	assert_ok(kura_repo_init(&repo, repo_path, PASS, &io));

	/* backup: newer refused with no snapshot written; _INIT and version 0 both work */
	bo.paths = paths;
	bo.npaths = 1;
	bo.hostname = "test";
	bo.cache_dir = base;
	bo.version = KURA_BACKUP_OPTIONS_VERSION + 1;
	assert_int_equal(kura_backup(repo, &bo, &bres), KURA_EUNSUPPORTED);
	assert_int_equal(kura_snapshot_resolve(repo, "latest", id), KURA_ENOTFOUND);
	bo.version = KURA_BACKUP_OPTIONS_VERSION;
	assert_ok(kura_backup(repo, &bo, &bres));
	bo.version = 0;
	assert_ok(kura_backup(repo, &bo, &bres));
	assert_int_equal(bres.files_unmodified, 1);

	/* restore: newer refused before the target is made */
	ro.target = target;
	ro.version = KURA_RESTORE_OPTIONS_VERSION + 1;
	assert_int_equal(kura_restore(repo, bres.snapshot_id, &ro, &rres), KURA_EUNSUPPORTED);
	assert_int_equal(stat(target, &st), -1);
	ro.version = KURA_RESTORE_OPTIONS_VERSION;
	assert_ok(kura_restore(repo, bres.snapshot_id, &ro, &rres));
	assert_int_equal(rres.files, 1);

	/* check: newer refused; _INIT and a zeroed struct both check */
	co.version = KURA_CHECK_OPTIONS_VERSION + 1;
	assert_int_equal(kura_check(repo, &co, &cres), KURA_EUNSUPPORTED);
	co.version = KURA_CHECK_OPTIONS_VERSION;
	co.read_data = true;
	assert_ok(kura_check(repo, &co, &cres));
	memset(&co, 0, sizeof(co));
	assert_ok(kura_check(repo, &co, &cres));
	assert_int_equal(cres.problems, 0);
	kura_repo_free(repo);
}

static int setup_dir(void **state)
{
	snprintf(base, sizeof(base), "/tmp/kura-options-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	return test_remove_tree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_macro_is_the_default),
	    cmocka_unit_test_setup_teardown(test_versions, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
