/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto.c - kura's primitives (see crypto.h), composed from OpenSSL 3 and
 * libsodium; nothing here implements a cipher or a hash itself.
 *
 * OpenSSL algorithms are fetched once, in kura_crypto_init(), and kept for
 * the life of the process: fetching is slow and takes locks, so the hot
 * paths (SHA-256, HMAC, AES-GCM) only create short-lived contexts from the
 * fetched algorithms.  Every entry point calls kura_crypto_init() itself
 * (pthread_once makes that a single atomic load after the first time), so a
 * caller that forgot to initialise gets a working library, not a crash.
 *
 * Invariants: decryption zeroes its output when authentication fails;
 * secrets held in temporary buffers are wiped before return; buffers given
 * to seal/open must not overlap.
 */
#include "crypto/crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include "common/error.h"

/* EVP update functions take an int length: feed large buffers in pieces. */
#define EVP_STEP ((size_t)1 << 30)

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = KURA_ERROR;
static const char *init_what = "not initialised";
static EVP_MD *md_sha256;
static EVP_CIPHER *cipher_gcm;
static EVP_MAC *mac_hmac;
static EVP_KDF *kdf_hkdf;

static void crypto_init_once(void)
{
	if (sodium_init() < 0) {
		init_what = "libsodium initialisation failed";
		return;
	}
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	cipher_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	kdf_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (!md_sha256 || !cipher_gcm || !mac_hmac || !kdf_hkdf) {
		init_what = "OpenSSL lacks SHA256, AES-256-GCM, HMAC or HKDF";
		return;
	}
	init_rc = 0;
}

int kura_crypto_init(void)
{
	pthread_once(&init_once, crypto_init_once);
	if (init_rc < 0)
		return kura_error_set(init_rc, "crypto: %s", init_what);
	return 0;
}

/* -------------------------------------------------------------------- */
/* SHA-256                                                               */

struct kura_sha256_ctx {
	EVP_MD_CTX *md;
	int failed; /* OpenSSL refused an update: final yields zeros */
};

void kura_sha256(uint8_t out[KURA_HASH_SIZE], const void *data, size_t len)
{
	/*
	 * This cannot report errors, and EVP_Digest can only fail for lack of
	 * memory; libsodium computes the same function without allocating.
	 */
	if (kura_crypto_init() < 0 || !EVP_Digest(data, len, out, NULL, md_sha256, NULL))
		crypto_hash_sha256(out, data, len);
}

int kura_sha256_new(kura_sha256_ctx **out)
{
	kura_sha256_ctx *ctx;
	int err;

	*out = NULL;
	if ((err = kura_crypto_init()) < 0)
		return err;
	if (!(ctx = calloc(1, sizeof(*ctx))))
		return kura_error_set(KURA_ENOMEM, "sha256: out of memory");
	ctx->md = EVP_MD_CTX_new();
	if (!ctx->md || !EVP_DigestInit_ex2(ctx->md, md_sha256, NULL)) {
		EVP_MD_CTX_free(ctx->md);
		free(ctx);
		return kura_error_set(KURA_ENOMEM, "sha256: cannot create a digest context");
	}
	*out = ctx;
	return 0;
}

void kura_sha256_update(kura_sha256_ctx *ctx, const void *data, size_t len)
{
	/*
	 * The header gives update no way to fail, and for SHA-256 OpenSSL
	 * never does.  Should it ever, final yields an all-zero digest, which
	 * names no real file, so every verification against it fails loudly.
	 */
	if (!ctx->failed && !EVP_DigestUpdate(ctx->md, data, len))
		ctx->failed = 1;
}

void kura_sha256_final(kura_sha256_ctx *ctx, uint8_t out[KURA_HASH_SIZE])
{
	if (ctx->failed || !EVP_DigestFinal_ex(ctx->md, out, NULL))
		memset(out, 0, KURA_HASH_SIZE);
}

void kura_sha256_free(kura_sha256_ctx *ctx)
{
	if (!ctx)
		return;
	EVP_MD_CTX_free(ctx->md);
	free(ctx);
}

/* -------------------------------------------------------------------- */
/* HMAC-SHA256                                                           */

struct kura_mac {
	EVP_MAC_CTX *tmpl; /* keyed once; never updated, only duplicated */
};

int kura_mac_new(kura_mac **out, const uint8_t key[KURA_KEY_SIZE])
{
	OSSL_PARAM params[2];
	kura_mac *mac;
	int err;

	*out = NULL;
	if ((err = kura_crypto_init()) < 0)
		return err;
	if (!(mac = calloc(1, sizeof(*mac))))
		return kura_error_set(KURA_ENOMEM, "hmac: out of memory");
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	mac->tmpl = EVP_MAC_CTX_new(mac_hmac);
	if (!mac->tmpl || !EVP_MAC_init(mac->tmpl, key, KURA_KEY_SIZE, params)) {
		kura_mac_free(mac);
		return kura_error_set(KURA_ERROR, "hmac: cannot key an HMAC-SHA256 context");
	}
	*out = mac;
	return 0;
}

int kura_mac_compute(const kura_mac *mac, uint8_t out[KURA_HASH_SIZE], const void *data, size_t len)
{
	EVP_MAC_CTX *ctx;
	size_t outl = 0;
	int err = 0;

	/*
	 * Duplicating the keyed template copies the precomputed inner and
	 * outer pads, so threads never share mutable state and the key is
	 * not re-processed per call.
	 */
	if (!(ctx = EVP_MAC_CTX_dup(mac->tmpl)))
		return kura_error_set(KURA_ENOMEM, "hmac: cannot duplicate the context");
	if (!EVP_MAC_update(ctx, data, len) || !EVP_MAC_final(ctx, out, &outl, KURA_HASH_SIZE) ||
	    outl != KURA_HASH_SIZE) {
		kura_wipe(out, KURA_HASH_SIZE);
		err = kura_error_set(KURA_ERROR, "hmac: HMAC-SHA256 computation failed");
	}
	EVP_MAC_CTX_free(ctx);
	return err;
}

void kura_mac_free(kura_mac *mac)
{
	if (!mac)
		return;
	EVP_MAC_CTX_free(mac->tmpl);
	free(mac);
}

/* -------------------------------------------------------------------- */
/* AES-256-GCM                                                           */

static int gcm_aad(EVP_CIPHER_CTX *ctx, const uint8_t *aad, size_t aad_len)
{
	int n;

	while (aad_len > 0) {
		size_t step = aad_len < EVP_STEP ? aad_len : EVP_STEP;
		if (!EVP_CipherUpdate(ctx, NULL, &n, aad, (int)step))
			return -1;
		aad += step;
		aad_len -= step;
	}
	return 0;
}

static int gcm_data(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t len)
{
	int n;

	while (len > 0) {
		size_t step = len < EVP_STEP ? len : EVP_STEP;
		/* GCM is a stream mode: output length equals input length */
		if (!EVP_CipherUpdate(ctx, out, &n, in, (int)step) || (size_t)n != step)
			return -1;
		in += step;
		out += step;
		len -= step;
	}
	return 0;
}

int kura_aead_seal(uint8_t *out, const uint8_t key[KURA_KEY_SIZE], const void *aad, size_t aad_len,
		   const void *in, size_t len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *nonce = out, *ct = out + KURA_NONCE_SIZE, *tag = ct + len;
	int n, err;

	if ((err = kura_crypto_init()) < 0)
		return err;
	if (len > SIZE_MAX - KURA_AEAD_OVERHEAD)
		return kura_error_set(KURA_EINVAL, "aead: plaintext too long (%zu bytes)", len);
	if (!(ctx = EVP_CIPHER_CTX_new()))
		return kura_error_set(KURA_ENOMEM, "aead: out of memory");
	kura_random(nonce, KURA_NONCE_SIZE);
	if (!EVP_EncryptInit_ex2(ctx, cipher_gcm, key, nonce, NULL) ||
	    gcm_aad(ctx, aad, aad_len) < 0 || gcm_data(ctx, ct, in, len) < 0 ||
	    !EVP_EncryptFinal_ex(ctx, tag, &n) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, KURA_TAG_SIZE, tag)) {
		kura_wipe(out, len + KURA_AEAD_OVERHEAD);
		err = kura_error_set(KURA_ERROR, "aead: AES-256-GCM encryption failed");
	}
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

int kura_aead_open(uint8_t *out, const uint8_t key[KURA_KEY_SIZE], const void *aad, size_t aad_len,
		   const void *in, size_t in_len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	const uint8_t *nonce = in, *ct = nonce + KURA_NONCE_SIZE;
	uint8_t tag[KURA_TAG_SIZE], final[16];
	size_t len;
	int n, err;

	if ((err = kura_crypto_init()) < 0)
		return err;
	if (in_len < KURA_AEAD_OVERHEAD)
		return kura_error_set(
		    KURA_ECORRUPT,
		    "aead: ciphertext of %zu bytes is shorter than the %d-byte nonce and tag",
		    in_len, KURA_AEAD_OVERHEAD);
	len = in_len - KURA_AEAD_OVERHEAD;
	memcpy(tag, ct + len, KURA_TAG_SIZE);
	if (!(ctx = EVP_CIPHER_CTX_new())) {
		kura_wipe(out, len);
		return kura_error_set(KURA_ENOMEM, "aead: out of memory");
	}
	if (!EVP_DecryptInit_ex2(ctx, cipher_gcm, key, nonce, NULL) ||
	    gcm_aad(ctx, aad, aad_len) < 0 || gcm_data(ctx, out, ct, len) < 0 ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, KURA_TAG_SIZE, tag)) {
		kura_wipe(out, len);
		err = kura_error_set(KURA_ERROR, "aead: AES-256-GCM decryption failed");
		goto done;
	}
	/* GCM's final writes nothing; `out` may be NULL for an empty message */
	if (EVP_DecryptFinal_ex(ctx, final, &n) <= 0) {
		kura_wipe(out, len);
		err = kura_error_set(KURA_EAUTH,
				     "aead: authentication failed (wrong key or damaged data)");
		goto done;
	}
done:
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

/* -------------------------------------------------------------------- */
/* HKDF-SHA256                                                           */

int kura_hkdf(uint8_t out[KURA_KEY_SIZE], const uint8_t ikm[KURA_KEY_SIZE], const uint8_t salt[32],
	      const char *info)
{
	EVP_KDF_CTX *ctx;
	OSSL_PARAM params[5];
	int err;

	if ((err = kura_crypto_init()) < 0)
		return err;
	if (!info)
		info = "";
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] =
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, KURA_KEY_SIZE);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, 32);
	params[3] =
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	params[4] = OSSL_PARAM_construct_end();
	if (!(ctx = EVP_KDF_CTX_new(kdf_hkdf)))
		return kura_error_set(KURA_ENOMEM, "hkdf: out of memory");
	if (EVP_KDF_derive(ctx, out, KURA_KEY_SIZE, params) <= 0) {
		kura_wipe(out, KURA_KEY_SIZE);
		err = kura_error_set(KURA_ERROR,
				     "hkdf: HKDF-SHA256 derivation failed (info \"%s\")", info);
	}
	EVP_KDF_CTX_free(ctx);
	return err;
}

/* -------------------------------------------------------------------- */
/* libsodium: randomness, X25519 sealed boxes, wiping                    */

void kura_random(void *buf, size_t len)
{
	/* randombytes_buf works (and cannot fail) even before sodium_init */
	(void)kura_crypto_init();
	randombytes_buf(buf, len);
}

int kura_keypair(uint8_t pk[KURA_PUBKEY_SIZE], uint8_t sk[KURA_SECKEY_SIZE])
{
	int err;

	if ((err = kura_crypto_init()) < 0)
		return err;
	if (crypto_box_keypair(pk, sk) != 0) {
		kura_wipe(sk, KURA_SECKEY_SIZE);
		return kura_error_set(KURA_ERROR, "keypair: X25519 key generation failed");
	}
	return 0;
}

int kura_seal_key(uint8_t out[KURA_SEALED_KEY_SIZE], const uint8_t key[KURA_KEY_SIZE],
		  const uint8_t pk[KURA_PUBKEY_SIZE])
{
	int err;

	if ((err = kura_crypto_init()) < 0)
		return err;
	if (crypto_box_seal(out, key, KURA_KEY_SIZE, pk) != 0)
		return kura_error_set(KURA_EINVAL, "seal: cannot seal a key to this public key");
	return 0;
}

int kura_unseal_key(uint8_t key[KURA_KEY_SIZE], const uint8_t sealed[KURA_SEALED_KEY_SIZE],
		    const uint8_t pk[KURA_PUBKEY_SIZE], const uint8_t sk[KURA_SECKEY_SIZE])
{
	int err;

	if ((err = kura_crypto_init()) < 0)
		return err;
	if (crypto_box_seal_open(key, sealed, KURA_SEALED_KEY_SIZE, pk, sk) != 0) {
		kura_wipe(key, KURA_KEY_SIZE);
		return kura_error_set(KURA_EAUTH, "sealed key: authentication failed (not sealed "
						  "to this repository key, or damaged)");
	}
	return 0;
}

void kura_wipe(void *p, size_t len)
{
	if (p && len)
		sodium_memzero(p, len);
}

int kura_ct_equal(const void *a, const void *b, size_t len)
{
	if (len == 0)
		return 1;
	return sodium_memcmp(a, b, len) == 0;
}
