/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sign.h - Ed25519 signatures and base64 text, from libsodium: what the
 * vault signs with (audit checkpoints, approvers' signatures on deletion
 * requests) and how keys, signatures and tokens are written as text.
 *
 * Sizes are constants; outputs come first.  Verification returns a code,
 * never a bool to forget.  Secret keys are the caller's to wipe.
 */
#ifndef KURA_CRYPTO_SIGN_H
#define KURA_CRYPTO_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define KURA_SIGN_PUBKEY_SIZE 32 /* crypto_sign_PUBLICKEYBYTES */
#define KURA_SIGN_SECKEY_SIZE 64 /* crypto_sign_SECRETKEYBYTES (seed and public key) */
#define KURA_SIGNATURE_SIZE 64	 /* crypto_sign_BYTES */

/* Room for the standard base64 (with padding) of `n` bytes, and its NUL. */
#define KURA_BASE64_SIZE(n) ((((n) + 2) / 3) * 4 + 1)
/* Room for the URL-safe base64 without padding of `n` bytes, and its NUL. */
#define KURA_BASE64URL_SIZE(n) (((n)*4 + 2) / 3 + 1)

/* A new Ed25519 key pair. */
void kura_sign_keypair(uint8_t pk[KURA_SIGN_PUBKEY_SIZE], uint8_t sk[KURA_SIGN_SECKEY_SIZE]);

/* The public key of a secret key (its last 32 bytes). */
void kura_sign_public_key(uint8_t pk[KURA_SIGN_PUBKEY_SIZE],
			  const uint8_t sk[KURA_SIGN_SECKEY_SIZE]);

/* The detached signature of `len` bytes of `msg` under `sk`. */
void kura_sign(uint8_t sig[KURA_SIGNATURE_SIZE], const void *msg, size_t len,
	       const uint8_t sk[KURA_SIGN_SECKEY_SIZE]);

/* 0 if `sig` is pk's signature of `msg`, else KURA_EAUTH (no message set: the caller says what). */
__attribute__((warn_unused_result)) int kura_sign_verify(const uint8_t sig[KURA_SIGNATURE_SIZE],
							 const void *msg, size_t len,
							 const uint8_t pk[KURA_SIGN_PUBKEY_SIZE]);

/*
 * `len` bytes as standard base64 with padding (RFC 4648 section 4) into
 * `out`, which has room for KURA_BASE64_SIZE(len); _url: URL-safe, no
 * padding (section 5), KURA_BASE64URL_SIZE(len).
 */
void kura_base64(char *out, const void *in, size_t len);
void kura_base64url(char *out, const void *in, size_t len);

/*
 * Decode standard base64 with padding that is exactly `len` bytes; no
 * spaces, nothing after.  0, or KURA_EINVAL (no message set).
 */
int kura_unbase64(uint8_t *out, size_t len, const char *b64);

#endif
