/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto.h - the cryptographic primitives kura composes, each from a
 * library and none written here:
 *
 *   SHA-256            file names (OpenSSL; SHA-NI)
 *   HMAC-SHA256        chunk and tree ids, keyed with the repository id key
 *   AES-256-GCM        every encrypted blob, index, trailer and snapshot body
 *                      (OpenSSL; random 96-bit nonce, 128-bit tag)
 *   HKDF-SHA256        per-file subkeys from the index key (OpenSSL)
 *   X25519 sealed box  data keys sealed to the repository public key
 *                      (libsodium crypto_box_seal)
 *   Argon2id           passphrase -> key-wrapping key (libsodium crypto_pwhash)
 *   XChaCha20-Poly1305 wrapping the restore key's secrets (libsodium)
 *
 * All functions are thread-safe after kura_crypto_init().  Decryption
 * functions are warn_unused_result and zero their output on failure.
 */
#ifndef KURA_CRYPTO_CRYPTO_H
#define KURA_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define KURA_HASH_SIZE 32     /* SHA-256 and HMAC-SHA256 output */
#define KURA_KEY_SIZE 32      /* every symmetric key */
#define KURA_NONCE_SIZE 12    /* AES-GCM nonce */
#define KURA_TAG_SIZE 16      /* AES-GCM tag */
#define KURA_AEAD_OVERHEAD (KURA_NONCE_SIZE + KURA_TAG_SIZE)
#define KURA_PUBKEY_SIZE 32   /* X25519 */
#define KURA_SECKEY_SIZE 32
#define KURA_SEALED_KEY_SIZE 80 /* crypto_box_SEALBYTES (48) + a 32-byte key */

/* Initialise libsodium and OpenSSL state once; safe to call repeatedly. */
int kura_crypto_init(void);

/* SHA-256 of a buffer. */
void kura_sha256(uint8_t out[KURA_HASH_SIZE], const void *data, size_t len);

/* Incremental SHA-256 for data that arrives in pieces. */
typedef struct kura_sha256_ctx kura_sha256_ctx;
int kura_sha256_new(kura_sha256_ctx **out);
void kura_sha256_update(kura_sha256_ctx *ctx, const void *data, size_t len);
void kura_sha256_final(kura_sha256_ctx *ctx, uint8_t out[KURA_HASH_SIZE]);
void kura_sha256_free(kura_sha256_ctx *ctx);

/* HMAC-SHA256 keyed object, reusable and shareable across threads. */
typedef struct kura_mac kura_mac;
int kura_mac_new(kura_mac **out, const uint8_t key[KURA_KEY_SIZE]);
int kura_mac_compute(const kura_mac *mac, uint8_t out[KURA_HASH_SIZE], const void *data,
		     size_t len);
void kura_mac_free(kura_mac *mac);

/*
 * AES-256-GCM.  seal writes nonce || ciphertext || tag (len + 28 bytes) to
 * `out`, with a fresh random nonce.  open reverses it: `in_len` must be at
 * least 28 and `out` holds in_len - 28 bytes.  KURA_EAUTH on a bad tag
 * (`out` is then zeroed), KURA_ECORRUPT if in_len < 28.  `out` must not
 * overlap `in`.
 */
int kura_aead_seal(uint8_t *out, const uint8_t key[KURA_KEY_SIZE], const void *aad, size_t aad_len,
		   const void *in, size_t len);
__attribute__((warn_unused_result)) int kura_aead_open(uint8_t *out,
						       const uint8_t key[KURA_KEY_SIZE],
						       const void *aad, size_t aad_len,
						       const void *in, size_t in_len);

/* HKDF-SHA256(ikm, salt, info) -> 32 bytes. */
int kura_hkdf(uint8_t out[KURA_KEY_SIZE], const uint8_t ikm[KURA_KEY_SIZE],
	      const uint8_t salt[32], const char *info);

/* Cryptographically secure random bytes. */
void kura_random(void *buf, size_t len);

/* New X25519 key pair. */
int kura_keypair(uint8_t pk[KURA_PUBKEY_SIZE], uint8_t sk[KURA_SECKEY_SIZE]);

/* Seal a 32-byte key to `pk` (anyone with pk can seal; only sk opens). */
int kura_seal_key(uint8_t out[KURA_SEALED_KEY_SIZE], const uint8_t key[KURA_KEY_SIZE],
		  const uint8_t pk[KURA_PUBKEY_SIZE]);
__attribute__((warn_unused_result)) int kura_unseal_key(uint8_t key[KURA_KEY_SIZE],
							const uint8_t sealed[KURA_SEALED_KEY_SIZE],
							const uint8_t pk[KURA_PUBKEY_SIZE],
							const uint8_t sk[KURA_SECKEY_SIZE]);

/* Zero memory in a way the compiler keeps. */
void kura_wipe(void *p, size_t len);

/* Constant-time comparison: 1 if equal. */
int kura_ct_equal(const void *a, const void *b, size_t len);

#endif
