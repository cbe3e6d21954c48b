/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_keyfile.c - key generation, the two key file kinds (built here a
 * second time straight from docs/FORMAT.md, to pin the byte layout), damage
 * detection, and the passphrase policy.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/keyfile.h"

#define PASS "correct horse battery staple"

static int is_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static void assert_same_keys(const kura_keys *a, const kura_keys *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_memory_equal(a->repo_id, b->repo_id, 32);
	assert_memory_equal(a->repo_pk, b->repo_pk, 32);
	assert_memory_equal(a->id_key, b->id_key, 32);
	assert_memory_equal(a->index_key, b->index_key, 32);
	assert_memory_equal(a->chunker_seed, b->chunker_seed, 32);
	assert_memory_equal(a->repo_sk, b->repo_sk, 32);
}

/*
 * A restore key file written from the spec's table, independently of
 * keyfile.c, with the cheapest parameters the decoder accepts (so that
 * decoding hundreds of damaged copies stays fast).
 */
static void build_restore(uint8_t f[276], const kura_keys *k, const char *pass, uint64_t ops,
			  uint64_t mem, const uint8_t sk[32])
{
	uint8_t key[32], secrets[128];
	unsigned long long clen;

	memset(f, 0, 276);
	memcpy(f, "KURAKEY", 8);
	f[8] = 1;
	f[9] = 1;
	memcpy(f + 12, k->repo_id, 32);
	memcpy(f + 44, k->repo_pk, 32);
	randombytes_buf(f + 76, 16);
	kura_le64(f + 92, ops);
	kura_le64(f + 100, mem);
	randombytes_buf(f + 108, 24);
	memcpy(secrets, k->id_key, 32);
	memcpy(secrets + 32, k->index_key, 32);
	memcpy(secrets + 64, k->chunker_seed, 32);
	memcpy(secrets + 96, sk, 32);
	/* out-of-range parameters are refused before Argon2id runs: any key will do */
	if (ops < 1 || ops > 10 || mem < (8u << 20) || mem > ((uint64_t)1 << 30))
		randombytes_buf(key, sizeof(key));
	else
		assert_int_equal(crypto_pwhash(key, 32, pass, strlen(pass), f + 76, ops,
					       (size_t)mem, crypto_pwhash_ALG_ARGON2ID13),
				 0);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(f + 132, &clen, secrets, 128, f,
								    132, NULL, f + 108, key),
			 0);
	assert_int_equal(clen, 144);
}

static void test_generate(void **state)
{
	kura_keys k, b;
	uint8_t pk[32];

	assert_ok(kura_keys_generate(&k));
	assert_int_equal(k.kind, KURA_KEY_RESTORE);
	assert_int_equal(crypto_scalarmult_base(pk, k.repo_sk), 0);
	assert_memory_equal(pk, k.repo_pk, 32);
	assert_false(is_zero(k.id_key, 32));
	assert_memory_not_equal(k.id_key, k.index_key, 32);

	kura_keys_to_backup(&b, &k);
	assert_int_equal(b.kind, KURA_KEY_BACKUP);
	assert_true(is_zero(b.repo_sk, 32));
	assert_memory_equal(b.id_key, k.id_key, 32);
	assert_memory_equal(b.repo_pk, k.repo_pk, 32);
	assert_false(is_zero(k.repo_sk, 32)); /* the source is untouched */

	kura_keys_to_backup(&k, &k); /* in place */
	assert_same_keys(&k, &b);
	kura_keys_wipe(&k);
	assert_true(is_zero((const uint8_t *)&k, sizeof(k)));
	kura_keys_wipe(NULL);
}

static void test_restore_roundtrip(void **state)
{
	kura_keys k, got;
	uint8_t *f = NULL;
	size_t n = 0;

	assert_ok(kura_keys_generate(&k));
	assert_ok(kura_keyfile_encode_restore(&f, &n, &k, PASS, KURA_KDF_INTERACTIVE));
	assert_int_equal(n, 276);
	assert_memory_equal(f, "KURAKEY\0\x01\x01\0\0", 12);
	assert_memory_equal(f + 12, k.repo_id, 32);
	assert_memory_equal(f + 44, k.repo_pk, 32);
	assert_true(kura_get_le64(f + 92) == 2);
	assert_true(kura_get_le64(f + 100) == (uint64_t)64 << 20);
	assert_int_equal(kura_keyfile_kind(f, n), KURA_KEY_RESTORE);

	assert_ok(kura_keyfile_decode(&got, f, n, PASS));
	assert_same_keys(&got, &k);

	assert_int_equal(kura_keyfile_decode(&got, f, n, "correct horse battery stapler"),
			 KURA_EAUTH);
	assert_non_null(strstr(kura_error_message(), "wrong passphrase for restore key"));
	assert_true(is_zero((const uint8_t *)&got, sizeof(got)));
	assert_int_equal(kura_keyfile_decode(&got, f, n, NULL), KURA_EINVAL);
	free(f);

	/* bad profile; backup-key material cannot become a restore key */
	assert_int_equal(kura_keyfile_encode_restore(&f, &n, &k, PASS, 7), KURA_EINVAL);
	assert_null(f);
	kura_keys_to_backup(&got, &k);
	assert_int_equal(kura_keyfile_encode_restore(&f, &n, &got, PASS, KURA_KDF_INTERACTIVE),
			 KURA_EINVAL);
	assert_null(f);
}

static void test_restore_by_spec(void **state)
{
	kura_keys k, got;
	uint8_t f[276], other_pk[32], other_sk[32];

	assert_ok(kura_keys_generate(&k));
	build_restore(f, &k, PASS, 1, 8 << 20, k.repo_sk);
	assert_ok(kura_keyfile_decode(&got, f, sizeof(f), PASS));
	assert_same_keys(&got, &k);

	/* a well-wrapped file whose repo_sk does not belong to repo_pk */
	assert_ok(kura_keypair(other_pk, other_sk));
	build_restore(f, &k, PASS, 1, 8 << 20, other_sk);
	assert_int_equal(kura_keyfile_decode(&got, f, sizeof(f), PASS), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "repo_sk"));
	assert_true(is_zero((const uint8_t *)&got, sizeof(got)));
}

static void test_restore_limits(void **state)
{
	static const struct {
		uint64_t ops, mem;
		const char *field;
	} bad[] = {
	    {0, 8 << 20, "opslimit"},		{11, 8 << 20, "opslimit"},
	    {UINT64_MAX, 8 << 20, "opslimit"},	{1, (8 << 20) - 1, "memlimit"},
	    {1, 4 << 20, "memlimit"},		{1, ((uint64_t)1 << 30) + 1, "memlimit"},
	    {1, (uint64_t)2 << 30, "memlimit"}, {1, UINT64_MAX, "memlimit"},
	};
	kura_keys k, got;
	uint8_t f[276];

	assert_ok(kura_keys_generate(&k));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		build_restore(f, &k, PASS, bad[i].ops, bad[i].mem, k.repo_sk);
		assert_int_equal(kura_keyfile_decode(&got, f, sizeof(f), PASS), KURA_ECORRUPT);
		assert_non_null(strstr(kura_error_message(), bad[i].field));
	}
}

static void test_restore_flips(void **state)
{
	kura_keys k, got;
	uint8_t f[276];

	assert_ok(kura_keys_generate(&k));
	build_restore(f, &k, PASS, 1, 8 << 20, k.repo_sk);
	for (size_t i = 0; i < sizeof(f); i++) {
		int rc;

		/* 0x80 keeps a damaged memlimit near 8 MiB or out of range: fast */
		f[i] ^= 0x80;
		rc = kura_keyfile_decode(&got, f, sizeof(f), PASS);
		f[i] ^= 0x80;
		if (rc != KURA_EAUTH && rc != KURA_ECORRUPT && rc != KURA_EUNSUPPORTED)
			fail_msg("flip at %zu: decode returned %d (%s)", i, rc,
				 kura_error_message());
		assert_true(is_zero((const uint8_t *)&got, sizeof(got)));
	}
	for (size_t len = 0; len < sizeof(f); len += 11)
		assert_int_equal(kura_keyfile_decode(&got, f, len, PASS), KURA_ECORRUPT);
	assert_ok(kura_keyfile_decode(&got, f, sizeof(f), PASS));
}

static void test_backup(void **state)
{
	kura_keys k, b, got;
	uint8_t *f = NULL;
	size_t n = 0;
	uint8_t sum[32];

	assert_ok(kura_keys_generate(&k));
	assert_ok(kura_keyfile_encode_backup(&f, &n, &k));
	assert_int_equal(n, 204);
	assert_memory_equal(f, "KURAKEY\0\x01\x02\0\0", 12);
	assert_memory_equal(f + 76, k.id_key, 32);
	assert_memory_equal(f + 108, k.index_key, 32);
	assert_memory_equal(f + 140, k.chunker_seed, 32);
	crypto_hash_sha256(sum, f, 172);
	assert_memory_equal(f + 172, sum, 32);
	assert_int_equal(kura_keyfile_kind(f, n), KURA_KEY_BACKUP);

	assert_ok(kura_keyfile_decode(&got, f, n, NULL));
	kura_keys_to_backup(&b, &k);
	assert_same_keys(&got, &b);
	assert_true(is_zero(got.repo_sk, 32));
	assert_ok(kura_keyfile_decode(&got, f, n, "ignored"));

	for (size_t i = 0; i < n; i++) {
		int rc;

		for (int bit = 0; bit < 8; bit += 7) {
			f[i] ^= (uint8_t)(1 << bit);
			rc = kura_keyfile_decode(&got, f, n, NULL);
			f[i] ^= (uint8_t)(1 << bit);
			if (rc != KURA_ECORRUPT && rc != KURA_EUNSUPPORTED)
				fail_msg("flip at %zu: decode returned %d", i, rc);
			assert_true(is_zero((const uint8_t *)&got, sizeof(got)));
		}
	}
	for (size_t len = 0; len < n; len++)
		assert_int_equal(kura_keyfile_decode(&got, f, len, NULL), KURA_ECORRUPT);
	free(f);
}

static void test_kind(void **state)
{
	kura_keys k;
	uint8_t *f = NULL, big[300];
	size_t n = 0;

	assert_ok(kura_keys_generate(&k));
	assert_ok(kura_keyfile_encode_backup(&f, &n, &k));
	assert_int_equal(kura_keyfile_kind(f, n), KURA_KEY_BACKUP);
	assert_int_equal(kura_keyfile_kind(NULL, 0), KURA_ECORRUPT);
	assert_int_equal(kura_keyfile_kind(f, 11), KURA_ECORRUPT);
	assert_int_equal(kura_keyfile_kind(f, n - 1), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "length"));
	memcpy(big, f, n);
	memset(big + n, 0, sizeof(big) - n);
	assert_int_equal(kura_keyfile_kind(big, n + 1), KURA_ECORRUPT);

	f[8] = 2;
	assert_int_equal(kura_keyfile_kind(f, n), KURA_EUNSUPPORTED);
	assert_non_null(strstr(kura_error_message(), "version"));
	f[8] = 1;
	f[9] = 3;
	assert_int_equal(kura_keyfile_kind(f, n), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "kind"));
	f[9] = 1; /* a backup key's length with the restore kind */
	assert_int_equal(kura_keyfile_kind(f, n), KURA_ECORRUPT);
	f[9] = 2;
	f[11] = 1;
	assert_int_equal(kura_keyfile_kind(f, n), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "reserved"));
	f[11] = 0;
	f[0] = 'k';
	assert_int_equal(kura_keyfile_kind(f, n), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "magic"));
	free(f);
}

static void test_passphrase(void **state)
{
	static const char *const good[] = {
	    "correct horse battery staple",
	    "my cat likes tuna fish",
	    "zq8#kp2!lm4x",
	    "Mëine Kätze mag Fisch und Brot",
	    "Tr0ub4dor&3xyz",
	};
	static const char *const bad[] = {
	    "password123456",	"P@ssw0rd",	"administrator",
	    "aaaaaaaaaaaaaaaa", "123456789012", "abcdefghijklmnop",
	    "passwordpassword", "short",	"",
	    "ëëëëëëëëëëë", /* 22 bytes but 11 characters */
	    /* dictionary words with digits, symbols or look-alikes added */
	    "password1234", "Password1234!", "hospital2024!", "letmein12345",
	    "welcome12345", "P@ssw0rd2024!!", "qwertyuiop12",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (kura_passphrase_check(good[i]) != 0)
			fail_msg("refused \"%s\": %s", good[i], kura_error_message());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (kura_passphrase_check(bad[i]) != KURA_EWEAK)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(strstr(kura_error_message(), "passphrase refused: "));
	}
	assert_int_equal(kura_passphrase_check("administrator"), KURA_EWEAK);
	assert_string_equal(kura_error_message(),
			    "passphrase refused: it is based on a dictionary word");
	assert_int_equal(kura_passphrase_check(NULL), KURA_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_generate),
	    cmocka_unit_test(test_restore_roundtrip),
	    cmocka_unit_test(test_restore_by_spec),
	    cmocka_unit_test(test_restore_limits),
	    cmocka_unit_test(test_restore_flips),
	    cmocka_unit_test(test_backup),
	    cmocka_unit_test(test_kind),
	    cmocka_unit_test(test_passphrase),
	};

	if (kura_crypto_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
