/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_loghead.c - the signed log head (kura/loghead.h): the Kura-Log-Head
 * value signed, formatted and parsed back; hostile values refused without
 * a crash; the head file stored and loaded; whether a log holds a head;
 * and kurad's stock diff (server/stock.c) naming each change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "backend/vaulthead.h"
#include "crypto/sign.h"
#include "kura/kura.h"
#include "kura/loghead.h"
#include "stock.h"
#include "testutil.h"

static void test_sign_format_parse(void **state)
{
	uint8_t pk[32], sk[64];
	char text[KURA_LOGHEAD_TEXT_MAX];
	kura_loghead h = {.seq = 1234}, back;

	(void)state;
	assert_ok(kura_crypto_init());
	kura_sign_keypair(pk, sk);
	memset(h.hash, 0xab, 32);
	kura_loghead_sign(&h, sk);
	assert_true(kura_loghead_verify(&h, pk));
	kura_loghead_format(&h, text);
	assert_ok(kura_loghead_parse(&back, text, strlen(text)));
	assert_int_equal(back.seq, 1234);
	assert_memory_equal(back.hash, h.hash, 32);
	assert_true(kura_loghead_verify(&back, pk));
	/* another number, another hash, another key: no longer verifies */
	back.seq++;
	assert_false(kura_loghead_verify(&back, pk));
	back.seq--;
	back.hash[0] ^= 1;
	assert_false(kura_loghead_verify(&back, pk));
	back.hash[0] ^= 1;
	kura_sign_keypair(pk, sk);
	assert_false(kura_loghead_verify(&back, pk));
}

static void test_hostile_values(void **state)
{
	static const char *const bad[] = {
	    "",
	    " ",
	    "1",
	    "1 ",
	    "-1 " "0000000000000000000000000000000000000000000000000000000000000000 x",
	    "01 0000000000000000000000000000000000000000000000000000000000000000 "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
	    "18446744073709551616 0000000000000000000000000000000000000000000000000000000000000000 "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
	    "1 000000000000000000000000000000000000000000000000000000000000000g "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
	    "1 0000000000000000000000000000000000000000000000000000000000000000 "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "1 0000000000000000000000000000000000000000000000000000000000000000 "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA== ",
	    "1  0000000000000000000000000000000000000000000000000000000000000000 "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
	};
	kura_loghead h;
	char big[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(kura_loghead_parse(&h, bad[i], strlen(bad[i])), KURA_ECORRUPT);
	memset(big, '7', sizeof(big));
	assert_int_equal(kura_loghead_parse(&h, big, sizeof(big)), KURA_ECORRUPT);
	assert_int_equal(kura_loghead_parse(&h, NULL, 5), KURA_ECORRUPT);
	/* a NUL inside, and a length that stops short of the text */
	assert_int_equal(kura_loghead_parse(&h, "1\0 00", 5), KURA_ECORRUPT);
	assert_int_equal(kura_loghead_parse(&h, bad[5], 10), KURA_ECORRUPT);
	/* the good shape with a zero signature parses but does not verify */
	assert_ok(kura_loghead_parse(&h, bad[5] + 1, strlen(bad[5] + 1)));
}

static void test_file_and_in_log(void **state)
{
	uint8_t pk[32], sk[64];
	char dir[] = "/tmp/test_loghead.XXXXXX", path[64];
	kura_loghead h = {0}, back;
	const char *why = NULL;
	bool found;
	/* not a real chain: in_log finds the entry by number and compares the hash */
	const char *log = "{\"seq\":0,\"x\":1}\n";

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/head", dir);
	assert_int_equal(kura_loghead_load(&back, path), KURA_ENOTFOUND);
	kura_sign_keypair(pk, sk);
	h.seq = 7;
	kura_loghead_sign(&h, sk);
	assert_ok(kura_loghead_store(path, &h));
	assert_ok(kura_loghead_load(&back, path));
	assert_true(kura_loghead_verify(&back, pk));
	/* a damaged file is refused */
	FILE *f = fopen(path, "w");
	fputs("7 zz\n", f);
	fclose(f);
	assert_int_equal(kura_loghead_load(&back, path), KURA_ECORRUPT);
	unlink(path);
	rmdir(dir);

	/* the empty head is in every log; a head past the log's end is not */
	memset(&h, 0, sizeof(h));
	assert_int_equal(kura_loghead_find(&found, &h, (const uint8_t *)"", 0, &why), 0);
	assert_true(found);
	h.hash[0] = 1;
	assert_int_equal(kura_loghead_find(&found, &h, (const uint8_t *)"", 0, &why), 0);
	assert_false(found);
	h.seq = 5;
	assert_int_equal(kura_loghead_find(&found, &h, (const uint8_t *)log, strlen(log), &why), 0);
	assert_false(found);
	assert_non_null(strstr(why, "shorter"));

	/* compare */
	back = h;
	assert_int_equal(kura_loghead_compare(&h, &back), KURA_LOGHEAD_SAME);
	back.seq = 6;
	assert_int_equal(kura_loghead_compare(&h, &back), KURA_LOGHEAD_NEWER);
	back.seq = 4;
	assert_int_equal(kura_loghead_compare(&h, &back), KURA_LOGHEAD_OLDER);
	back.seq = 5;
	back.hash[1] = 9;
	assert_int_equal(kura_loghead_compare(&h, &back), KURA_LOGHEAD_FORKED);
}

static int collect(const char *method, const char *name, const char *role, const char *path,
		   void *ctx)
{
	char *out = ctx;
	size_t n = strlen(out);

	snprintf(out + n, 1024 - n, "%s %s %s %s\n", method, name, role, path);
	return 0;
}

static void test_stock_diff(void **state)
{
	const char *before = "client a writer issued\n"
			     "client b reader issued\n"
			     "client gone auditor issued\n"
			     "approver alice 11\n"
			     "approver bob 22\n"
			     "policy policy.json 33\n"
			     "junk\n"
			     "client ../x writer issued\n";
	const char *after = "approver alice 11\n"
			    "approver carol 44\n"
			    "client a writer issued\n"
			    "client b reader revoked\n"
			    "client new writer revoked\n"
			    "policy policy.json 34\n";
	char out[1024] = "";

	(void)state;
	assert_ok(stock_diff(before, after, collect, out));
	assert_string_equal(out, "REMOVE-APPROVER bob approver /v1/approvers/bob\n"
				 "ADD-APPROVER carol approver /v1/approvers/carol\n"
				 "REVOKE b reader /v1/clients/b\n"
				 "REMOVE-CLIENT gone auditor /v1/clients/gone\n"
				 "ISSUE new writer /v1/clients/new\n"
				 "REVOKE new writer /v1/clients/new\n"
				 "POLICY kurad vault /v1/policy\n");
	out[0] = '\0';
	assert_ok(stock_diff(after, after, collect, out));
	assert_string_equal(out, "");
	assert_ok(stock_diff(NULL, "", collect, out));
	assert_string_equal(out, "");
}

static int warnings;

static void count_warning(const char *message, void *ctx)
{
	(void)ctx;
	if (strstr(message, "WENT BACK"))
		warnings++;
}

static void seen_seq(vaulthead *vh, const uint8_t sk[64], uint64_t seq, uint8_t hash_byte)
{
	kura_loghead h = {.seq = seq};
	char text[KURA_LOGHEAD_TEXT_MAX];

	memset(h.hash, hash_byte, 32);
	kura_loghead_sign(&h, sk);
	kura_loghead_format(&h, text);
	vaulthead_seen(vh, text);
}

/*
 * A restore's parallel answers come back out of order: an older head
 * than one seen earlier in the same run is no rollback.  An older head
 * than the one remembered from an earlier run is, and so is a fork.
 */
static void test_vaulthead_order(void **state)
{
	char dir[] = "/tmp/kura-test-vaulthead-XXXXXX";
	uint8_t pk[32], sk[64];
	vaulthead *vh;

	(void)state;
	assert_ok(kura_crypto_init());
	assert_non_null(mkdtemp(dir));
	assert_ok(setenv("KURA_CACHE_DIR", dir, 1));
	kura_sign_keypair(pk, sk);
	kura_loghead_set_warning(count_warning, NULL);

	assert_ok(vaulthead_open(&vh, pk, "vault://127.0.0.1:1/r"));
	seen_seq(vh, sk, 5, 5);
	seen_seq(vh, sk, 7, 7);
	seen_seq(vh, sk, 6, 6); /* overtaken within the run */
	assert_int_equal(warnings, 0);
	vaulthead_free(vh);

	/* the next run remembers 7: 6 is now a rollback */
	assert_ok(vaulthead_open(&vh, pk, "vault://127.0.0.1:1/r"));
	seen_seq(vh, sk, 8, 8);
	assert_int_equal(warnings, 0);
	seen_seq(vh, sk, 6, 6);
	assert_int_equal(warnings, 1);
	vaulthead_free(vh);
	test_remove_tree(dir);

	/* within one run, as many entries with another hash is a fork */
	assert_non_null(mkdtemp(strcpy(dir, "/tmp/kura-test-vaulthead-XXXXXX")));
	assert_ok(setenv("KURA_CACHE_DIR", dir, 1));
	assert_ok(vaulthead_open(&vh, pk, "vault://127.0.0.1:1/r"));
	seen_seq(vh, sk, 9, 9);
	seen_seq(vh, sk, 9, 1);
	assert_int_equal(warnings, 2);
	vaulthead_free(vh);
	kura_loghead_set_warning(NULL, NULL);
	unsetenv("KURA_CACHE_DIR");
	test_remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_format_parse),
	    cmocka_unit_test(test_hostile_values),
	    cmocka_unit_test(test_file_and_in_log),
	    cmocka_unit_test(test_stock_diff),
	    cmocka_unit_test(test_vaulthead_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
