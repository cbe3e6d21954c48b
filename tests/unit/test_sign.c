/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sign.c - Ed25519 and base64 (lib/crypto/sign.c): a signature
 * verifies under its key only, over its message only; base64 matches
 * RFC 4648's vectors and decoding takes exactly the length asked for.
 */
#include "testutil.h"

#include "crypto/sign.h"

static void test_sign_verify(void **state)
{
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE], sk[KURA_SIGN_SECKEY_SIZE], pk2[KURA_SIGN_PUBKEY_SIZE];
	uint8_t sk2[KURA_SIGN_SECKEY_SIZE], sig[KURA_SIGNATURE_SIZE],
	    derived[KURA_SIGN_PUBKEY_SIZE];
	const char msg[] = "kura-deletion-v1\napprove\n1\n";

	(void)state;
	kura_sign_keypair(pk, sk);
	kura_sign_keypair(pk2, sk2);
	kura_sign_public_key(derived, sk);
	assert_memory_equal(derived, pk, sizeof(pk));

	kura_sign(sig, msg, sizeof(msg) - 1, sk);
	assert_int_equal(kura_sign_verify(sig, msg, sizeof(msg) - 1, pk), 0);
	/* Another key, another message, a flipped bit: all refused. */
	assert_int_equal(kura_sign_verify(sig, msg, sizeof(msg) - 1, pk2), KURA_EAUTH);
	assert_int_equal(kura_sign_verify(sig, msg, sizeof(msg) - 2, pk), KURA_EAUTH);
	sig[10] ^= 1;
	assert_int_equal(kura_sign_verify(sig, msg, sizeof(msg) - 1, pk), KURA_EAUTH);
}

static void test_base64(void **state)
{
	/* RFC 4648, section 10. */
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const std[] = {"",	      "Zg==",	  "Zm8=",    "Zm9v",
					  "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	static const char *const url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	char out[KURA_BASE64_SIZE(6)];
	uint8_t back[8], raw[3] = {0xfb, 0xff, 0xbf};

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		size_t n = strlen(in[i]);

		kura_base64(out, in[i], n);
		assert_string_equal(out, std[i]);
		assert_int_equal(strlen(out) + 1, KURA_BASE64_SIZE(n));
		kura_base64url(out, in[i], n);
		assert_string_equal(out, url[i]);
		assert_true(strlen(out) + 1 <= KURA_BASE64URL_SIZE(n));
		if (n) {
			assert_int_equal(kura_unbase64(back, n, std[i]), 0);
			assert_memory_equal(back, in[i], n);
		}
	}
	kura_base64(out, raw, sizeof(raw));
	assert_string_equal(out, "+/+/");
	kura_base64url(out, raw, sizeof(raw));
	assert_string_equal(out, "-_-_");

	/* Exactly the length asked for, standard alphabet, padding, nothing else. */
	assert_int_equal(kura_unbase64(back, 5, "Zm9vYmFy"), KURA_EINVAL);
	assert_int_equal(kura_unbase64(back, 6, "Zm9vYmE="), KURA_EINVAL);
	assert_int_equal(kura_unbase64(back, 2, "Zm8"), KURA_EINVAL);
	assert_int_equal(kura_unbase64(back, 3, "-_-_"), KURA_EINVAL);
	assert_int_equal(kura_unbase64(back, 3, "Zm9v "), KURA_EINVAL);
	assert_int_equal(kura_unbase64(back, 3, NULL), KURA_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_verify),
	    cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
