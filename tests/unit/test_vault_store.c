/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vault_store.c - where a vault keeps its repositories
 * (server/vault_store.c), without a store to talk to: the disk by default,
 * vault.json's "store" and DIR/s3.json read strictly, keys others can read
 * refused, --store's refusals before any request.  The S3 side runs on a
 * real Ceph RGW in tests/e2e/vault_s3_*.sh.
 */
#include "testutil.h"

#include <sys/stat.h>
#include <unistd.h>

#include "vault_admin.h"
#include "vault_store.h"

typedef struct {
	char dir[64];
	char vault[96];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char *pin = NULL;

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-vstore-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->vault, sizeof(f->vault), "%s/v", f->dir);
	if (vault_init(f->vault, NULL, &pin) < 0)
		return -1;
	free(pin);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

static void put(const fixture *f, const char *name, const char *text, mode_t mode)
{
	char path[160];
	FILE *out;

	snprintf(path, sizeof(path), "%s/%s", f->vault, name);
	out = fopen(path, "w");
	assert_non_null(out);
	fputs(text, out);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(chmod(path, mode), 0);
}

#define SETTINGS_S3                                                                                \
	"{\"listen\": \"127.0.0.1:7443\", \"version\": 1, \"store\": {\"url\": "                   \
	"\"s3:http://127.0.0.1:9/b/p/\", \"lock_days\": 3, \"addressing\": \"path\"}}"

static void test_disk_by_default(void **state)
{
	fixture *f = *state;
	vault_store *s = NULL;
	char id[65];

	assert_ok(vault_store_load(&s, f->vault));
	assert_true(vault_store_on_disk(s));
	assert_string_equal(vault_store_describe(s), "disk");
	assert_int_equal(vault_store_lock_days(s), 0);
	assert_ok(vault_store_vault_id(f->vault, id));
	assert_int_equal(strlen(id), 64);
	assert_ok(vault_store_check_claim(s, id)); /* nothing to claim on disk */
	vault_store_free(s);
}

static void test_s3_settings(void **state)
{
	fixture *f = *state;
	vault_store *s = NULL;

	put(f, "vault.json", SETTINGS_S3, 0600);
	/* no keys yet */
	assert_int_equal(vault_store_load(&s, f->vault), KURA_ENOTFOUND);
	assert_null(s);
	put(f, "s3.json", "{\"access_key_id\": \"AK\", \"secret_access_key\": \"SK\"}", 0600);
	assert_ok(vault_store_load(&s, f->vault));
	assert_false(vault_store_on_disk(s));
	assert_string_equal(vault_store_describe(s), "s3:http://127.0.0.1:9/b/p");
	assert_int_equal(vault_store_lock_days(s), 3);
	vault_store_free(s);
	s = NULL;
	/* the vault.json reader takes the member too */
	{
		char *listen = NULL;
		int64_t reserve;

		assert_ok(vault_settings_load(f->vault, &listen, &reserve));
		free(listen);
	}
}

static void test_s3_refusals(void **state)
{
	fixture *f = *state;
	vault_store *s = NULL;
	static const char *const bad_settings[] = {
	    "{\"listen\": \"127.0.0.1:1\", \"version\": 1, \"store\": {\"url\": \"/srv/x\", "
	    "\"lock_days\": 3}}",
	    "{\"listen\": \"127.0.0.1:1\", \"version\": 1, \"store\": {\"url\": \"s3://b/p\", "
	    "\"lock_days\": 0}}",
	    "{\"listen\": \"127.0.0.1:1\", \"version\": 1, \"store\": {\"url\": \"s3://b/p\", "
	    "\"lock_days\": 3, \"addressing\": \"sideways\"}}",
	    "{\"listen\": \"127.0.0.1:1\", \"version\": 1, \"store\": {\"url\": \"s3://b/p\", "
	    "\"lock_days\": 3, \"extra\": 1}}",
	    "{\"listen\": \"127.0.0.1:1\", \"version\": 1, \"store\": {\"url\": \"s3://b/p\", "
	    "\"lock_days\": 3, \"region\": null}}",
	    "{\"listen\": \"127.0.0.1:1\", \"version\": 1, \"store\": \"s3://b/p\"}",
	};
	static const char *const bad_keys[] = {
	    "{\"access_key_id\": \"AK\"}",
	    "{\"access_key_id\": \"AK\", \"secret_access_key\": \"SK\", \"other\": 1}",
	    "{\"access_key_id\": \"AK\", \"secret_access_key\": 5}",
	    "not json",
	    "",
	};

	put(f, "s3.json", "{\"access_key_id\": \"AK\", \"secret_access_key\": \"SK\"}", 0600);
	for (size_t i = 0; i < sizeof(bad_settings) / sizeof(*bad_settings); i++) {
		put(f, "vault.json", bad_settings[i], 0600);
		assert_int_equal(vault_store_load(&s, f->vault), KURA_ECORRUPT);
		assert_null(s);
	}
	put(f, "vault.json", SETTINGS_S3, 0600);
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(*bad_keys); i++) {
		put(f, "s3.json", bad_keys[i], 0600);
		assert_int_equal(vault_store_load(&s, f->vault), KURA_ECORRUPT);
		assert_null(s);
	}
	/* keys others may read are refused, naming the rule */
	put(f, "s3.json", "{\"access_key_id\": \"AK\", \"secret_access_key\": \"SK\"}", 0640);
	assert_int_equal(vault_store_load(&s, f->vault), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "readable by kurad's user only"));
	assert_null(s);
}

static void test_init_refusals(void **state)
{
	fixture *f = *state;
	char path[160], *pin = NULL;
	vault_store_init_options o = {.url = "s3:http://127.0.0.1:9/b/p"};
	struct stat st;

	/* no credentials: refused before any request, no vault left behind */
	snprintf(path, sizeof(path), "%s/n1", f->dir);
	assert_int_equal(vault_init_store(path, NULL, &o, &pin), KURA_EAUTH);
	snprintf(path, sizeof(path), "%s/n1/vault.json", f->dir);
	assert_int_equal(stat(path, &st), -1);
	o.access_key = "AK";
	o.secret_key = "SK";
	o.url = "http://127.0.0.1:9/b/p";
	snprintf(path, sizeof(path), "%s/n2", f->dir);
	assert_int_equal(vault_init_store(path, NULL, &o, &pin), KURA_EINVAL);
	o.url = "s3:http://127.0.0.1:9/b/p";
	o.lock_days = 40000;
	snprintf(path, sizeof(path), "%s/n3", f->dir);
	assert_int_equal(vault_init_store(path, NULL, &o, &pin), KURA_EINVAL);
	assert_null(pin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_disk_by_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_s3_settings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_s3_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_init_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
