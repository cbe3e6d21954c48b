/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_approval.c - what an approver signs and the key they sign with
 * (kura/approve.h): the statement's bytes are exactly those `kurad
 * approve` has always signed, parse back to themselves, and anything
 * else is refused; an approver key file seals its secret under the
 * passphrase, refuses a wrong one and an edited file, and a version 1
 * file is still read.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "kura/approve.h"

#define VKEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define PASS "correct horse battery staple approver"

static char names[2][KURA_ID_HEX];

static kura_statement sample(void)
{
	kura_statement st = {.kind = KURA_STATEMENT_DELETE,
			     .id = 7,
			     .requested_ns = 1795638667123456789LL,
			     .prune = true,
			     .names = names,
			     .nnames = 2};

	memset(names[0], 'a', KURA_ID_HEX - 1);
	memset(names[1], 'b', KURA_ID_HEX - 1);
	names[0][KURA_ID_HEX - 1] = names[1][KURA_ID_HEX - 1] = '\0';
	strcpy(st.vault_key, VKEY);
	strcpy(st.repo, "clinic");
	return st;
}

static void test_statement_bytes(void **state)
{
	kura_statement st = sample(), back;
	char *text = NULL, want[512];
	size_t len;

	(void)state;
	/* the bytes of docs/PROTOCOL.md, "What an approver signs" */
	snprintf(want, sizeof(want),
		 "kura-deletion-v1\n" VKEY "\napprove\n7\nclinic\n1795638667123456789\n1\n%s\n%s\n",
		 names[0], names[1]);
	assert_ok(kura_statement_build(&text, &len, &st));
	assert_int_equal(len, strlen(want));
	assert_string_equal(text, want);
	assert_ok(kura_statement_parse(&back, text, len));
	assert_int_equal(back.id, 7);
	assert_false(back.cancel);
	assert_true(back.prune);
	assert_int_equal(back.nnames, 2);
	assert_string_equal(back.names[1], names[1]);
	kura_statement_free(&back);
	free(text);

	st.kind = KURA_STATEMENT_QUARANTINE_REMOVE;
	st.prune = false;
	st.quarantine_id = 3;
	st.cancel = true;
	assert_ok(kura_statement_build(&text, &len, &st));
	assert_non_null(strstr(text, "kura-quarantine-v1\n" VKEY "\ncancel\n7\nclinic\n"
				     "1795638667123456789\nquarantine-remove\n3\n"));
	assert_ok(kura_statement_parse(&back, text, len));
	assert_int_equal(back.kind, KURA_STATEMENT_QUARANTINE_REMOVE);
	assert_true(back.cancel);
	kura_statement_free(&back);
	free(text);
}

static void test_statement_refused(void **state)
{
	kura_statement st = sample(), back;
	char *text = NULL, *bad;
	size_t len;

	(void)state;
	assert_ok(kura_statement_build(&text, &len, &st));
	/* id 0, a missing newline, a byte after the last one, upper-case hex, names out of order */
	bad = strdup(text);
	memcpy(strstr(bad, "\n7\n"), "\n0", 2);
	assert_int_equal(kura_statement_parse(&back, bad, len), KURA_EINVAL);
	assert_int_equal(kura_statement_parse(&back, text, len - 1), KURA_EINVAL);
	free(bad);
	bad = malloc(len + 1);
	memcpy(bad, text, len);
	bad[len] = 'x';
	assert_int_equal(kura_statement_parse(&back, bad, len + 1), KURA_EINVAL);
	free(bad);
	bad = strdup(text);
	bad[len - 2] = 'A'; /* not lowercase hex */
	assert_int_equal(kura_statement_parse(&back, bad, len), KURA_EINVAL);
	free(bad);
	memcpy(names[0], names[1], KURA_ID_HEX);
	assert_int_equal(kura_statement_build(&bad, &len, &st), KURA_EINVAL);
	free(text);
}

static void test_key_file(void **state)
{
	uint8_t pk[32], sk[64], got[32], sig[64];
	kura_approver_key *k = NULL;
	char *text = NULL, *edited;
	const char msg[] = "statement";

	(void)state;
	kura_sign_keypair(pk, sk);
	assert_int_equal(
	    kura_approver_key_encode(&text, VKEY, "alice", sk, "password", KURA_KDF_INTERACTIVE),
	    KURA_EWEAK);
	assert_ok(kura_approver_key_encode(&text, VKEY, "alice", sk, PASS, KURA_KDF_INTERACTIVE));
	assert_null(strstr(text, "secret_key"));
	assert_ok(kura_approver_key_parse(&k, (const uint8_t *)text, strlen(text), "alice.key"));
	assert_true(kura_approver_key_encrypted(k));
	assert_string_equal(kura_approver_key_name(k), "alice");
	kura_approver_key_public(k, got);
	assert_memory_equal(got, pk, 32);
	assert_int_equal(kura_approver_key_sign(k, sig, msg, sizeof(msg)), KURA_EINVAL);
	assert_int_equal(kura_approver_key_unlock(k, "not the passphrase of this key"), KURA_EAUTH);
	assert_ok(kura_approver_key_unlock(k, PASS));
	assert_ok(kura_approver_key_sign(k, sig, msg, sizeof(msg)));
	assert_ok(kura_sign_verify(sig, msg, sizeof(msg), pk));
	kura_approver_key_free(k);

	/* another name in the file: the tag covers it */
	edited = strdup(text);
	memcpy(strstr(edited, "\"alice\""), "\"alicf\"", 7);
	assert_ok(kura_approver_key_parse(&k, (const uint8_t *)edited, strlen(edited), "x"));
	assert_int_equal(kura_approver_key_unlock(k, PASS), KURA_EAUTH);
	kura_approver_key_free(k);
	free(edited);
	kura_wipe(text, strlen(text));
	free(text);
}

static void test_key_file_v1(void **state)
{
	uint8_t pk[32], sk[64], sig[64];
	char sk64[KURA_BASE64_SIZE(64)], text[400];
	kura_approver_key *k = NULL;

	(void)state;
	kura_sign_keypair(pk, sk);
	kura_base64(sk64, sk, sizeof(sk));
	snprintf(text, sizeof(text),
		 "{\"kura_approver_key\": 1, \"vault_signing_key\": \"" VKEY
		 "\", \"name\": \"dave\", \"secret_key\": \"%s\"}",
		 sk64);
	assert_ok(kura_approver_key_parse(&k, (const uint8_t *)text, strlen(text), "dave.key"));
	assert_false(kura_approver_key_encrypted(k));
	assert_ok(kura_approver_key_unlock(k, NULL));
	assert_ok(kura_approver_key_sign(k, sig, "m", 1));
	assert_ok(kura_sign_verify(sig, "m", 1, pk));
	kura_approver_key_free(k);
	/* a public half that does not belong to the seed */
	sk[40] ^= 1;
	kura_base64(sk64, sk, sizeof(sk));
	snprintf(text, sizeof(text),
		 "{\"kura_approver_key\": 1, \"vault_signing_key\": \"" VKEY
		 "\", \"name\": \"dave\", \"secret_key\": \"%s\"}",
		 sk64);
	assert_int_equal(kura_approver_key_parse(&k, (const uint8_t *)text, strlen(text), "d"),
			 KURA_EINVAL);
	assert_int_equal(
	    kura_approver_key_parse(&k, (const uint8_t *)"{\"kura_approver_key\": 3}", 24, "d"),
	    KURA_EUNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_statement_bytes),
	    cmocka_unit_test(test_statement_refused),
	    cmocka_unit_test(test_key_file),
	    cmocka_unit_test(test_key_file_v1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
