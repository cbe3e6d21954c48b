/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sign.c - Ed25519 and base64 (sign.h), thin over libsodium so that the
 * vault's signing and the text forms of keys and signatures are written
 * once, here, beside the other primitives, and none of it by hand.
 *
 * libsodium is initialised through kura_crypto_init() before each use;
 * the sizes in sign.h are checked against libsodium's at compile time.
 */
#include "crypto/sign.h"

#include <string.h>

#include <sodium.h>

#include "common/error.h"
#include "crypto/crypto.h"

_Static_assert(KURA_SIGN_PUBKEY_SIZE == crypto_sign_PUBLICKEYBYTES, "Ed25519 public key size");
_Static_assert(KURA_SIGN_SECKEY_SIZE == crypto_sign_SECRETKEYBYTES, "Ed25519 secret key size");
_Static_assert(KURA_SIGNATURE_SIZE == crypto_sign_BYTES, "Ed25519 signature size");
_Static_assert(KURA_BASE64_SIZE(64) ==
		   sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL),
	       "base64 size");
_Static_assert(KURA_BASE64URL_SIZE(32) ==
		   sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	       "base64url size");

void kura_sign_keypair(uint8_t pk[KURA_SIGN_PUBKEY_SIZE], uint8_t sk[KURA_SIGN_SECKEY_SIZE])
{
	(void)kura_crypto_init();
	crypto_sign_keypair(pk, sk);
}

void kura_sign_public_key(uint8_t pk[KURA_SIGN_PUBKEY_SIZE],
			  const uint8_t sk[KURA_SIGN_SECKEY_SIZE])
{
	crypto_sign_ed25519_sk_to_pk(pk, sk);
}

void kura_sign(uint8_t sig[KURA_SIGNATURE_SIZE], const void *msg, size_t len,
	       const uint8_t sk[KURA_SIGN_SECKEY_SIZE])
{
	(void)kura_crypto_init();
	crypto_sign_detached(sig, NULL, msg, len, sk);
}

int kura_sign_verify(const uint8_t sig[KURA_SIGNATURE_SIZE], const void *msg, size_t len,
		     const uint8_t pk[KURA_SIGN_PUBKEY_SIZE])
{
	(void)kura_crypto_init();
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : KURA_EAUTH;
}

void kura_base64(char *out, const void *in, size_t len)
{
	sodium_bin2base64(out, KURA_BASE64_SIZE(len), in, len, sodium_base64_VARIANT_ORIGINAL);
}

void kura_base64url(char *out, const void *in, size_t len)
{
	sodium_bin2base64(out, KURA_BASE64URL_SIZE(len), in, len,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int kura_unbase64(uint8_t *out, size_t len, const char *b64)
{
	size_t got = 0;

	if (!b64 ||
	    sodium_base642bin(out, len, b64, strlen(b64), NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != len)
		return KURA_EINVAL;
	return 0;
}
