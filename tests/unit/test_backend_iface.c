/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_backend_iface.c - the backend interface as a third backend meets
 * it (kura/sys/backend.h): the version a repository checks before it
 * reads any slot, the required slots and the groups optional slots come
 * in, and the open options that carry a backend or a vault credential
 * (the library reads no environment).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "kura/sys/backend.h"
#include "kura/kura.h"

#define PASSPHRASE "correct horse battery staple vertically integrated marmalade"

typedef struct {
	char dir[64];
	char repo[96];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	kura_init_options io;
	kura_repo *r = NULL;

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-iface-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	kura_init_options_default(&io);
	io.kdf_profile = KURA_KDF_INTERACTIVE;
	if (kura_repo_init(&r, f->repo, PASSPHRASE, &io) < 0)
		return -1;
	kura_repo_free(r);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	test_remove_tree(f->dir);
	free(f);
	return 0;
}

static int no_put(kura_backend *b, kura_file_type type, const char *name, const void *data,
		  size_t len)
{
	return KURA_EDENIED;
}

static int no_get(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
		  size_t *out_len)
{
	return KURA_ENOTFOUND;
}

static int no_get_range(kura_backend *b, kura_file_type type, const char *name, uint64_t offset,
			size_t len, uint8_t *buf)
{
	return KURA_ENOTFOUND;
}

static int no_list(kura_backend *b, kura_file_type type, kura_backend_list_fn fn, void *ctx)
{
	return 0;
}

static void no_free(kura_backend *b) {}

static void no_unlock(kura_backend *b, kura_backend_lock *lock) {}

static int no_stream_open(kura_backend *b, kura_backend_stream **out)
{
	return KURA_EDENIED;
}

static void minimal(kura_backend *b)
{
	assert_ok(kura_backend_init(b, KURA_BACKEND_VERSION));
	b->put = no_put;
	b->get = no_get;
	b->get_range = no_get_range;
	b->list = no_list;
	b->free = no_free;
}

/* The struct's version and its required and grouped slots. */
static void test_check(void **state)
{
	kura_backend b = KURA_BACKEND_INIT;

	assert_int_equal(b.version, KURA_BACKEND_VERSION);
	assert_null(b.put);
	assert_null(b.remove);
	/* a layout this library does not know cannot be filled in */
	assert_int_equal(kura_backend_init(&b, KURA_BACKEND_VERSION + 1), KURA_EINVAL);

	minimal(&b);
	assert_ok(kura_backend_check(&b));
	assert_int_equal(kura_backend_check(NULL), KURA_EINVAL);

	/* another version: refused naming both, before any slot is read */
	b.version = 1;
	assert_int_equal(kura_backend_check(&b), KURA_EUNSUPPORTED);
	assert_non_null(strstr(kura_error_message(), "version 1"));
	assert_non_null(strstr(kura_error_message(), "version 3"));
	b.version = KURA_BACKEND_VERSION;

	b.get_range = NULL;
	assert_int_equal(kura_backend_check(&b), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "get_range()"));
	minimal(&b);

	/* optional slots come in their groups */
	b.stream_open = no_stream_open;
	assert_int_equal(kura_backend_check(&b), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "1 of the four stream slots"));
	minimal(&b);
	b.unlock = no_unlock;
	assert_int_equal(kura_backend_check(&b), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "lock()"));
}

/* One range check for every backend's get_range: both ends must fit a file offset. */
static void test_check_range(void **state)
{
	static const char name[] =
	    "0000000000000000000000000000000000000000000000000000000000000000";

	assert_ok(kura_backend_check_range(KURA_FILE_PACK, name, 0, 0));
	assert_ok(kura_backend_check_range(KURA_FILE_PACK, name, 1048576, 4096));
	assert_ok(kura_backend_check_range(KURA_FILE_PACK, name, INT64_MAX, 0));
	assert_ok(kura_backend_check_range(KURA_FILE_PACK, name, INT64_MAX - 10, 10));

	/* one byte past the largest file offset */
	assert_int_equal(kura_backend_check_range(KURA_FILE_PACK, name, INT64_MAX - 10, 11),
			 KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "out of bounds"));
	assert_non_null(strstr(kura_error_message(), "pack 0000"));
	assert_int_equal(kura_backend_check_range(KURA_FILE_PACK, name, (uint64_t)INT64_MAX + 1, 0),
			 KURA_EINVAL);
	/* offset + len would wrap a uint64_t to a small number */
	assert_int_equal(kura_backend_check_range(KURA_FILE_INDEX, name, UINT64_MAX - 2, 16),
			 KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "index 0000"));
	assert_int_equal(kura_backend_check_range(KURA_FILE_PACK, name, 16, SIZE_MAX), KURA_EINVAL);
}

/* A repository opens through the caller's backend, and checks its version first. */
static void test_open_with_backend(void **state)
{
	fixture *f = *state;
	kura_repo_open_options o = KURA_REPO_OPEN_OPTIONS_INIT;
	kura_backend *b = NULL;
	kura_repo *r = NULL;

	assert_ok(kura_backend_local_open(&b, f->repo));
	o.passphrase = PASSPHRASE;
	o.backend = b;

	/* another version: KURA_EUNSUPPORTED naming both, and the backend stays ours */
	b->version = 7;
	assert_int_equal(kura_repo_open_ext(&r, "the test's store", &o), KURA_EUNSUPPORTED);
	assert_null(r);
	assert_non_null(strstr(kura_error_message(), "the test's store"));
	assert_non_null(strstr(kura_error_message(), "version 7"));
	assert_non_null(strstr(kura_error_message(), "version 3"));
	b->version = KURA_BACKEND_VERSION;

	/* a wrong passphrase: the backend is still the caller's */
	o.passphrase = "not the passphrase of this repository";
	assert_int_equal(kura_repo_open_ext(&r, "the test's store", &o), KURA_EAUTH);
	assert_null(r);

	/* the right one: the repository works through it and frees it */
	o.passphrase = PASSPHRASE;
	assert_ok(kura_repo_open_ext(&r, "the test's store", &o));
	assert_ptr_equal(kura_repo_backend(r), b);
	assert_true(kura_repo_can_read(r));
	kura_repo_free(r);
}

/* Options of an unknown version, and the wrappers that keep the old calls. */
static void test_options_version(void **state)
{
	fixture *f = *state;
	kura_repo_open_options o = KURA_REPO_OPEN_OPTIONS_INIT;
	kura_init_options io;
	kura_repo *r = NULL;
	char other[128];

	assert_int_equal(kura_repo_open_ext(&r, f->repo, NULL), KURA_EINVAL);
	o.version = KURA_REPO_OPEN_OPTIONS_VERSION + 1;
	assert_int_equal(kura_repo_open_ext(&r, f->repo, &o), KURA_EUNSUPPORTED);
	assert_non_null(strstr(kura_error_message(), "version"));
	assert_null(r);

	assert_ok(kura_repo_open_passphrase(&r, f->repo, PASSPHRASE));
	kura_repo_free(r);

	kura_init_options_default(&io);
	assert_int_equal(io.version, KURA_INIT_OPTIONS_VERSION);
	assert_null(io.vault_credentials);
	io.version = 9;
	snprintf(other, sizeof(other), "%s/other", f->dir);
	assert_int_equal(kura_repo_init(&r, other, PASSPHRASE, &io), KURA_EUNSUPPORTED);
	assert_non_null(strstr(kura_error_message(), "version 9"));
	assert_null(r);
}

/* A vault's credential comes only from the options, never from the environment. */
static void test_vault_credential_from_options(void **state)
{
	kura_repo_open_options o = KURA_REPO_OPEN_OPTIONS_INIT;
	kura_init_options io;
	kura_repo *r = NULL;

	assert_ok(setenv("KURA_VAULT_CREDENTIALS", "/nonexistent/from-the-environment.cred", 1));
	o.passphrase = PASSPHRASE;
	assert_int_equal(kura_repo_open_ext(&r, "vault://127.0.0.1:9/clinic", &o), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "no vault credential given"));
	assert_null(strstr(kura_error_message(), "from-the-environment"));

	/* given in the options, it is the one read */
	o.vault_credentials = "/nonexistent/from-the-options.cred";
	assert_int_equal(kura_repo_open_ext(&r, "vault://127.0.0.1:9/clinic", &o), KURA_ENOTFOUND);
	assert_non_null(strstr(kura_error_message(), "from-the-options.cred"));

	kura_init_options_default(&io);
	assert_int_equal(kura_repo_init(&r, "vault://127.0.0.1:9/clinic", PASSPHRASE, &io),
			 KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "no vault credential given"));
	io.vault_credentials = "/nonexistent/init-options.cred";
	assert_int_equal(kura_repo_init(&r, "vault://127.0.0.1:9/clinic", PASSPHRASE, &io),
			 KURA_ENOTFOUND);
	assert_non_null(strstr(kura_error_message(), "init-options.cred"));
	assert_null(r);
	unsetenv("KURA_VAULT_CREDENTIALS");
}

/* A credential file as `kurad client add` writes one (nothing is sent before the first call). */
static void write_credential(const char *path, const char *role)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fprintf(fp,
		"{\"kura_vault_credential\": 1, \"vault\": \"127.0.0.1:9\", \"repo\": \"clinic\", "
		"\"client\": \"ward4\", \"role\": \"%s\", "
		"\"token\": \"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ\", "
		"\"pin\": \"sha256//abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ=\"}\n",
		role);
	fclose(fp);
}

/* Each backend's get_range refuses an overflowing range before it reads a byte. */
static void test_get_range_overflow(void **state)
{
	fixture *f = *state;
	static const char name[] =
	    "1111111111111111111111111111111111111111111111111111111111111111";
	kura_backend *b = NULL;
	uint8_t buf[16];
	char cred[160];

	assert_ok(kura_backend_local_open(&b, f->repo));
	assert_int_equal(b->get_range(b, KURA_FILE_PACK, name, UINT64_MAX - 2, sizeof(buf), buf),
			 KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "out of bounds"));
	kura_backend_free(b);

	/* the vault answers before it sends anything (nothing listens on port 9) */
	snprintf(cred, sizeof(cred), "%s/reader.cred", f->dir);
	write_credential(cred, "reader");
	assert_ok(kura_backend_vault_open(&b, "vault://127.0.0.1:9/clinic", cred));
	assert_int_equal(b->get_range(b, KURA_FILE_PACK, name, (uint64_t)INT64_MAX, 1, buf),
			 KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "out of bounds"));
	kura_backend_free(b);
}

/*
 * What a vault is to the rest of kura, by its slots alone: deletions only
 * through requests (no remove), no streams and no lock, receive times,
 * and an opening that may only write or only read (its role).
 */
static void test_vault_slots(void **state)
{
	fixture *f = *state;
	kura_backend *b = NULL;
	uint64_t files = 1, bytes = 1;
	char cred[160];

	snprintf(cred, sizeof(cred), "%s/writer.cred", f->dir);
	write_credential(cred, "writer");
	assert_ok(kura_backend_vault_open(&b, "vault://127.0.0.1:9/clinic", cred));
	assert_ok(kura_backend_check(b));
	assert_true(kura_backend_has(b, KURA_BACKEND_HAS_DELETION_REQUESTS));
	assert_true(kura_backend_has(b, KURA_BACKEND_HAS_LIST_DETAIL));
	assert_false(kura_backend_has(b, KURA_BACKEND_HAS_REMOVE));
	assert_false(kura_backend_has(b, KURA_BACKEND_HAS_MTIME));
	assert_false(kura_backend_has(b, KURA_BACKEND_HAS_STREAM));
	assert_false(kura_backend_has(b, KURA_BACKEND_HAS_LOCK));
	assert_false(kura_backend_has(b, KURA_BACKEND_HAS_CLEAN_TMP));
	assert_int_equal(kura_backend_access(b), KURA_BACKEND_WRITE);
	assert_int_equal(
	    kura_backend_remove(b, KURA_FILE_SNAPSHOT,
				"0000000000000000000000000000000000000000000000000000000000000000"),
	    KURA_EUNSUPPORTED);
	assert_non_null(strstr(kura_error_message(), "approved deletion requests"));
	assert_ok(kura_backend_clean_tmp(b, 0, false, &files, &bytes));
	assert_int_equal(files, 0);
	kura_backend_free(b);

	snprintf(cred, sizeof(cred), "%s/reader.cred", f->dir);
	write_credential(cred, "reader");
	assert_ok(kura_backend_vault_open(&b, "vault://127.0.0.1:9/clinic", cred));
	assert_int_equal(kura_backend_access(b), KURA_BACKEND_READ);
	kura_backend_free(b);
	kura_backend_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_check_range),
	    cmocka_unit_test_setup_teardown(test_get_range_overflow, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_with_backend, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_options_version, setup, teardown),
	    cmocka_unit_test(test_vault_credential_from_options),
	    cmocka_unit_test_setup_teardown(test_vault_slots, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
