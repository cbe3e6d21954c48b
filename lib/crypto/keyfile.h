/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyfile.h - repository key material and the key file format
 * (docs/FORMAT.md, "Key files").
 *
 * A restore key holds every secret; a backup key holds only what is needed
 * to deduplicate and write: the id key, the index key, the chunker seed and
 * the public key.  Without repo_sk no data key sealed in a pack or snapshot
 * can be opened.
 */
#ifndef KURA_CRYPTO_KEYFILE_H
#define KURA_CRYPTO_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "kura/kura.h" /* KURA_KDF_* */

enum { KURA_KEY_RESTORE = 1, KURA_KEY_BACKUP = 2 };

typedef struct {
	int kind;                              /* KURA_KEY_RESTORE or KURA_KEY_BACKUP */
	uint8_t repo_id[32];                   /* public: names the repository */
	uint8_t repo_pk[KURA_PUBKEY_SIZE];     /* public: data keys are sealed to it */
	uint8_t id_key[KURA_KEY_SIZE];         /* HMAC key for chunk and tree ids */
	uint8_t index_key[KURA_KEY_SIZE];      /* encrypts indexes and pack trailers */
	uint8_t chunker_seed[KURA_KEY_SIZE];   /* derives the gear table */
	uint8_t repo_sk[KURA_SECKEY_SIZE];     /* restore key only; zero otherwise */
} kura_keys;

/* Fresh random restore-key material. */
int kura_keys_generate(kura_keys *out);

/* Copy of `k` reduced to a backup key (repo_sk zeroed). */
void kura_keys_to_backup(kura_keys *out, const kura_keys *k);

void kura_keys_wipe(kura_keys *k);

/*
 * Encode a restore key file wrapped under `passphrase` (Argon2id with the
 * parameters of `kdf_profile`, KURA_KDF_* from kura.h).  *out is malloc'd.
 */
int kura_keyfile_encode_restore(uint8_t **out, size_t *out_len, const kura_keys *k,
				const char *passphrase, int kdf_profile);

/*
 * The Argon2id opslimit and memlimit of `profile` (KURA_KDF_*), for the
 * restore key and the approver key files alike.  KURA_EINVAL for another.
 */
int kura_keyfile_kdf_params(int profile, uint64_t *ops, uint64_t *mem);

/* Encode a backup key file (no passphrase: it lives on the backup client). */
int kura_keyfile_encode_backup(uint8_t **out, size_t *out_len, const kura_keys *k);

/* KURA_KEY_RESTORE or KURA_KEY_BACKUP, or KURA_ECORRUPT, without unwrapping. */
int kura_keyfile_kind(const uint8_t *data, size_t len);

/*
 * Every check that needs no passphrase (kura_keyfile_kind() and, for a
 * restore key, the KDF limits): KURA_KEY_RESTORE or KURA_KEY_BACKUP, or
 * KURA_ECORRUPT / KURA_EUNSUPPORTED naming the field.
 */
int kura_keyfile_check(const uint8_t *data, size_t len);

/*
 * Decode a key file.  Restore keys need `passphrase` (KURA_EAUTH if it is
 * wrong); backup keys ignore it.  KURA_ECORRUPT / KURA_EUNSUPPORTED for
 * files that are damaged or of a newer version.
 */
__attribute__((warn_unused_result)) int kura_keyfile_decode(kura_keys *out, const uint8_t *data,
							    size_t len, const char *passphrase);

#endif
