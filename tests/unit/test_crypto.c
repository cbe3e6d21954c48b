/* SPDX-License-Identifier: Apache-2.0 */
/* test_crypto.c - known answers and misuse cases for lib/crypto/crypto.c. */
#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"

static void unhex(uint8_t *out, const char *hex)
{
	assert_ok(kura_unhex(out, hex, strlen(hex) / 2));
}

static int is_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_sha256(void **state)
{
	uint8_t want[32], got[32];
	kura_sha256_ctx *ctx = NULL;

	unhex(want, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	kura_sha256(got, "abc", 3);
	assert_memory_equal(got, want, 32);

	assert_ok(kura_sha256_new(&ctx));
	kura_sha256_update(ctx, "a", 1);
	kura_sha256_update(ctx, "", 0);
	kura_sha256_update(ctx, "bc", 2);
	kura_sha256_final(ctx, got);
	kura_sha256_free(ctx);
	assert_memory_equal(got, want, 32);
	kura_sha256_free(NULL);

	unhex(want, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	kura_sha256(got, NULL, 0);
	assert_memory_equal(got, want, 32);
}

/*
 * HMAC zero-pads short keys to the block size, so RFC 4231's keys padded
 * with zeros to 32 bytes give the RFC's results.
 */
static void test_hmac_rfc4231(void **state)
{
	uint8_t key[32] = {0}, want[32], got[32];
	kura_mac *mac = NULL;

	memcpy(key, "Jefe", 4); /* test case 2 */
	unhex(want, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_ok(kura_mac_new(&mac, key));
	assert_ok(kura_mac_compute(mac, got, "what do ya want for nothing?", 28));
	assert_memory_equal(got, want, 32);
	/* the object is reusable: same input, same answer */
	assert_ok(kura_mac_compute(mac, got, "what do ya want for nothing?", 28));
	assert_memory_equal(got, want, 32);
	kura_mac_free(mac);

	memset(key, 0, sizeof(key));
	memset(key, 0x0b, 20); /* test case 1 */
	unhex(want, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	assert_ok(kura_mac_new(&mac, key));
	assert_ok(kura_mac_compute(mac, got, "Hi There", 8));
	assert_memory_equal(got, want, 32);
	kura_mac_free(mac);
	kura_mac_free(NULL);
}

struct mac_job {
	const kura_mac *mac;
	const uint8_t *want;
	int failures;
};

static void *mac_worker(void *arg)
{
	struct mac_job *job = arg;
	uint8_t got[32];

	for (int i = 0; i < 2000; i++)
		if (kura_mac_compute(job->mac, got, "Hi There", 8) < 0 ||
		    memcmp(got, job->want, 32) != 0)
			job->failures++;
	return NULL;
}

static void test_hmac_threads(void **state)
{
	uint8_t key[32] = {0}, want[32];
	kura_mac *mac = NULL;
	pthread_t tid[4];
	struct mac_job jobs[4];

	memset(key, 0x0b, 20);
	unhex(want, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	assert_ok(kura_mac_new(&mac, key));
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct mac_job){mac, want, 0};
		assert_int_equal(pthread_create(&tid[i], NULL, mac_worker, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(jobs[i].failures, 0);
	}
	kura_mac_free(mac);
}

static void test_aead_roundtrip(void **state)
{
	uint8_t key[32], pt[1000], ct[1000 + KURA_AEAD_OVERHEAD], ct2[sizeof(ct)], out[1000];
	const char aad[] = "type and id";

	kura_random(key, sizeof(key));
	kura_random(pt, sizeof(pt));
	assert_ok(kura_aead_seal(ct, key, aad, sizeof(aad), pt, sizeof(pt)));
	assert_ok(kura_aead_open(out, key, aad, sizeof(aad), ct, sizeof(ct)));
	assert_memory_equal(out, pt, sizeof(pt));

	/* fresh nonce each time */
	assert_ok(kura_aead_seal(ct2, key, aad, sizeof(aad), pt, sizeof(pt)));
	assert_memory_not_equal(ct, ct2, KURA_NONCE_SIZE);

	/* empty plaintext, no AAD, NULL output */
	assert_ok(kura_aead_seal(ct, key, NULL, 0, NULL, 0));
	assert_ok(kura_aead_open(NULL, key, NULL, 0, ct, KURA_AEAD_OVERHEAD));
	ct[0] ^= 1;
	assert_int_equal(kura_aead_open(NULL, key, NULL, 0, ct, KURA_AEAD_OVERHEAD), KURA_EAUTH);
}

static void expect_auth_failure(const uint8_t *key, const void *aad, size_t aad_len,
				const uint8_t *ct, size_t ct_len)
{
	uint8_t out[1000];

	memset(out, 0xa5, sizeof(out));
	assert_int_equal(kura_aead_open(out, key, aad, aad_len, ct, ct_len), KURA_EAUTH);
	assert_true(is_zero(out, ct_len - KURA_AEAD_OVERHEAD));
	assert_non_null(strstr(kura_error_message(), "authentication failed"));
}

static void test_aead_tamper(void **state)
{
	uint8_t key[32], key2[32], pt[1000], ct[1000 + KURA_AEAD_OVERHEAD], out[1000];
	char aad[] = "type and id";
	const size_t n = sizeof(ct);

	kura_random(key, sizeof(key));
	memcpy(key2, key, sizeof(key));
	key2[31] ^= 1;
	memset(pt, 'x', sizeof(pt));
	assert_ok(kura_aead_seal(ct, key, aad, sizeof(aad), pt, sizeof(pt)));

	ct[KURA_NONCE_SIZE + 500] ^= 0x01; /* ciphertext */
	expect_auth_failure(key, aad, sizeof(aad), ct, n);
	ct[KURA_NONCE_SIZE + 500] ^= 0x01;

	ct[n - 1] ^= 0x80; /* tag */
	expect_auth_failure(key, aad, sizeof(aad), ct, n);
	ct[n - 1] ^= 0x80;

	ct[3] ^= 0x10; /* nonce */
	expect_auth_failure(key, aad, sizeof(aad), ct, n);
	ct[3] ^= 0x10;

	aad[0] ^= 0x20; /* AAD */
	expect_auth_failure(key, aad, sizeof(aad), ct, n);
	aad[0] ^= 0x20;
	expect_auth_failure(key, aad, sizeof(aad) - 1, ct, n);

	expect_auth_failure(key2, aad, sizeof(aad), ct, n);    /* wrong key */
	expect_auth_failure(key, aad, sizeof(aad), ct, n - 1); /* truncated */

	/* untouched, it still opens */
	assert_ok(kura_aead_open(out, key, aad, sizeof(aad), ct, n));
	assert_memory_equal(out, pt, sizeof(pt));

	/* shorter than nonce + tag: refused before anything is written */
	assert_int_equal(kura_aead_open(out, key, aad, sizeof(aad), ct, 27), KURA_ECORRUPT);
	assert_int_equal(kura_aead_open(out, key, aad, sizeof(aad), ct, 0), KURA_ECORRUPT);
}

static void test_hkdf(void **state)
{
	uint8_t ikm[32], salt[32], want[32], a[32], b[32];

	/* known answer computed independently with Python's hmac module */
	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 32; i++)
		salt[i] = (uint8_t)i;
	unhex(want, "050915a64f4e94840c2f24512745d975ed83004fce02cfce4cd77131af03099c");
	assert_ok(kura_hkdf(a, ikm, salt, "kura pack trailer v1"));
	assert_memory_equal(a, want, 32);

	/* deterministic; info and salt both matter */
	assert_ok(kura_hkdf(b, ikm, salt, "kura pack trailer v1"));
	assert_memory_equal(a, b, 32);
	assert_ok(kura_hkdf(b, ikm, salt, "kura index v1"));
	assert_memory_not_equal(a, b, 32);
	salt[0] ^= 1;
	assert_ok(kura_hkdf(b, ikm, salt, "kura pack trailer v1"));
	assert_memory_not_equal(a, b, 32);
	salt[0] ^= 1;
	ikm[0] ^= 1;
	assert_ok(kura_hkdf(b, ikm, salt, "kura pack trailer v1"));
	assert_memory_not_equal(a, b, 32);
}

static void test_seal(void **state)
{
	uint8_t pk[32], sk[32], pk2[32], sk2[32], key[32], got[32], sealed[KURA_SEALED_KEY_SIZE];

	assert_ok(kura_keypair(pk, sk));
	assert_ok(kura_keypair(pk2, sk2));
	assert_memory_not_equal(pk, pk2, 32);
	kura_random(key, sizeof(key));
	assert_ok(kura_seal_key(sealed, key, pk));
	assert_ok(kura_unseal_key(got, sealed, pk, sk));
	assert_memory_equal(got, key, 32);

	memset(got, 0xa5, sizeof(got));
	assert_int_equal(kura_unseal_key(got, sealed, pk2, sk2), KURA_EAUTH);
	assert_true(is_zero(got, 32));
	assert_int_equal(kura_unseal_key(got, sealed, pk, sk2), KURA_EAUTH);

	sealed[40] ^= 4;
	memset(got, 0xa5, sizeof(got));
	assert_int_equal(kura_unseal_key(got, sealed, pk, sk), KURA_EAUTH);
	assert_true(is_zero(got, 32));
}

static void test_wipe_and_compare(void **state)
{
	uint8_t a[40], b[40];

	kura_random(a, sizeof(a));
	memcpy(b, a, sizeof(a));
	assert_int_equal(kura_ct_equal(a, b, sizeof(a)), 1);
	b[39] ^= 1;
	assert_int_equal(kura_ct_equal(a, b, sizeof(a)), 0);
	assert_int_equal(kura_ct_equal(a, b, 0), 1);
	kura_wipe(a, sizeof(a));
	assert_true(is_zero(a, sizeof(a)));
	kura_wipe(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256),	 cmocka_unit_test(test_hmac_rfc4231),
	    cmocka_unit_test(test_hmac_threads), cmocka_unit_test(test_aead_roundtrip),
	    cmocka_unit_test(test_aead_tamper),	 cmocka_unit_test(test_hkdf),
	    cmocka_unit_test(test_seal),	 cmocka_unit_test(test_wipe_and_compare),
	};

	if (kura_crypto_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
