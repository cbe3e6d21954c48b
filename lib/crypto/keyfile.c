/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyfile.c - generating repository keys and encoding/decoding the two key
 * file kinds byte for byte as docs/FORMAT.md, "Key files", lays them out.
 *
 * A restore key file wraps id_key, index_key, chunker_seed and repo_sk with
 * XChaCha20-Poly1305 under an Argon2id hash of the passphrase; the header
 * and KDF parameters are the AAD, so none of them can be altered without
 * the tag failing.  The decoder bounds opslimit and memlimit before running
 * Argon2id, so a hostile file cannot make us spend unbounded time or memory,
 * and after unwrapping it checks that repo_sk is the secret key of repo_pk.
 * A backup key file holds no repo_sk and no passphrase, only a SHA-256 of
 * its bytes to detect damage.
 *
 * Invariants: every secret held on the stack is wiped before return; on
 * any failure the decoder leaves *out zeroed.
 */
#include "crypto/keyfile.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/error.h"

#define KEY_MAGIC "KURAKEY\0"
#define KEY_MAGIC_LEN 8
#define KEY_VERSION 1
#define HEADER_LEN 76 /* magic, version, kind, reserved, repo_id, repo_pk */

#define RESTORE_LEN 276
#define RESTORE_AAD_LEN 132 /* everything before the ciphertext */
#define SALT_LEN 16
#define XNONCE_LEN 24
#define SECRETS_LEN (3 * KURA_KEY_SIZE + KURA_SECKEY_SIZE)
#define WRAPPED_LEN (SECRETS_LEN + 16)

#define BACKUP_LEN 204
#define BACKUP_SUM_AT 172

#define OPS_MIN 1
#define OPS_MAX 10
#define MEM_MIN ((uint64_t)8 << 20)
#define MEM_MAX ((uint64_t)1 << 30)

_Static_assert(SALT_LEN == crypto_pwhash_SALTBYTES, "Argon2id salt size");
_Static_assert(XNONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "XChaCha nonce");
_Static_assert(WRAPPED_LEN - SECRETS_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(HEADER_LEN + SALT_LEN + 16 + XNONCE_LEN == RESTORE_AAD_LEN, "restore layout");
_Static_assert(RESTORE_AAD_LEN + WRAPPED_LEN == RESTORE_LEN, "restore length");
_Static_assert(HEADER_LEN + 3 * KURA_KEY_SIZE + KURA_HASH_SIZE == BACKUP_LEN, "backup length");

int kura_keys_generate(kura_keys *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = kura_crypto_init()) < 0)
		return err;
	out->kind = KURA_KEY_RESTORE;
	kura_random(out->repo_id, sizeof(out->repo_id));
	kura_random(out->id_key, sizeof(out->id_key));
	kura_random(out->index_key, sizeof(out->index_key));
	kura_random(out->chunker_seed, sizeof(out->chunker_seed));
	if ((err = kura_keypair(out->repo_pk, out->repo_sk)) < 0)
		kura_keys_wipe(out);
	return err;
}

void kura_keys_to_backup(kura_keys *out, const kura_keys *k)
{
	if (out != k)
		memcpy(out, k, sizeof(*out));
	kura_wipe(out->repo_sk, sizeof(out->repo_sk));
	out->kind = KURA_KEY_BACKUP;
}

void kura_keys_wipe(kura_keys *k)
{
	if (k)
		kura_wipe(k, sizeof(*k));
}

/* -------------------------------------------------------------------- */
/* Encoding                                                              */

static void put_header(uint8_t *p, int kind, const kura_keys *k)
{
	memcpy(p, KEY_MAGIC, KEY_MAGIC_LEN);
	p[8] = KEY_VERSION;
	p[9] = (uint8_t)kind;
	p[10] = p[11] = 0;
	memcpy(p + 12, k->repo_id, 32);
	memcpy(p + 44, k->repo_pk, KURA_PUBKEY_SIZE);
}

int kura_keyfile_kdf_params(int profile, uint64_t *ops, uint64_t *mem)
{
	switch (profile) {
	case KURA_KDF_INTERACTIVE:
		*ops = 2, *mem = (uint64_t)64 << 20;
		return 0;
	case KURA_KDF_MODERATE:
		*ops = 3, *mem = (uint64_t)256 << 20;
		return 0;
	case KURA_KDF_SENSITIVE:
		*ops = 4, *mem = (uint64_t)1 << 30;
		return 0;
	}
	return kura_error_set(KURA_EINVAL, "unknown KDF profile %d", profile);
}

/* Argon2id(passphrase, salt, ops, mem) -> 32-byte wrapping key. */
static int derive_wrap_key(uint8_t key[KURA_KEY_SIZE], const char *passphrase,
			   const uint8_t salt[SALT_LEN], uint64_t ops, uint64_t mem)
{
	if (crypto_pwhash(key, KURA_KEY_SIZE, passphrase, strlen(passphrase), salt,
			  (unsigned long long)ops, (size_t)mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		kura_wipe(key, KURA_KEY_SIZE);
		return kura_error_set(
		    KURA_ENOMEM,
		    "restore key: Argon2id could not run (%llu MiB of memory, %llu passes)",
		    (unsigned long long)(mem >> 20), (unsigned long long)ops);
	}
	return 0;
}

int kura_keyfile_encode_restore(uint8_t **out, size_t *out_len, const kura_keys *k,
				const char *passphrase, int kdf_profile)
{
	uint8_t key[KURA_KEY_SIZE], secrets[SECRETS_LEN];
	uint8_t *p = NULL;
	unsigned long long clen = 0;
	uint64_t ops = 0, mem = 0;
	int err;

	*out = NULL;
	*out_len = 0;
	if ((err = kura_crypto_init()) < 0)
		return err;
	if ((err = kura_keyfile_kdf_params(kdf_profile, &ops, &mem)) < 0)
		return err;
	if (k->kind != KURA_KEY_RESTORE)
		return kura_error_set(KURA_EINVAL,
				      "restore key: cannot encode a backup key as a restore key");
	if (!passphrase)
		return kura_error_set(KURA_EINVAL, "restore key: no passphrase given");
	if (!(p = malloc(RESTORE_LEN)))
		return kura_error_set(KURA_ENOMEM, "restore key: out of memory");

	put_header(p, KURA_KEY_RESTORE, k);
	kura_random(p + 76, SALT_LEN);
	kura_le64(p + 92, ops);
	kura_le64(p + 100, mem);
	kura_random(p + 108, XNONCE_LEN);

	memcpy(secrets, k->id_key, 32);
	memcpy(secrets + 32, k->index_key, 32);
	memcpy(secrets + 64, k->chunker_seed, 32);
	memcpy(secrets + 96, k->repo_sk, 32);
	if ((err = derive_wrap_key(key, passphrase, p + 76, ops, mem)) < 0)
		goto done;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(p + RESTORE_AAD_LEN, &clen, secrets,
						       SECRETS_LEN, p, RESTORE_AAD_LEN, NULL,
						       p + 108, key) != 0 ||
	    clen != WRAPPED_LEN) {
		err = kura_error_set(KURA_ERROR, "restore key: XChaCha20-Poly1305 failed");
		goto done;
	}
	*out = p;
	*out_len = RESTORE_LEN;
	p = NULL;
done:
	kura_wipe(key, sizeof(key));
	kura_wipe(secrets, sizeof(secrets));
	if (p) {
		kura_wipe(p, RESTORE_LEN);
		free(p);
	}
	return err;
}

int kura_keyfile_encode_backup(uint8_t **out, size_t *out_len, const kura_keys *k)
{
	uint8_t *p;
	int err;

	*out = NULL;
	*out_len = 0;
	if ((err = kura_crypto_init()) < 0)
		return err;
	if (!(p = malloc(BACKUP_LEN)))
		return kura_error_set(KURA_ENOMEM, "backup key: out of memory");
	put_header(p, KURA_KEY_BACKUP, k);
	memcpy(p + 76, k->id_key, 32);
	memcpy(p + 108, k->index_key, 32);
	memcpy(p + 140, k->chunker_seed, 32);
	kura_sha256(p + BACKUP_SUM_AT, p, BACKUP_SUM_AT);
	*out = p;
	*out_len = BACKUP_LEN;
	return 0;
}

/* -------------------------------------------------------------------- */
/* Decoding                                                              */

int kura_keyfile_kind(const uint8_t *data, size_t len)
{
	kura_reader r;
	const uint8_t *magic = NULL;
	uint8_t version = 0, kind = 0;
	uint16_t reserved = 0;
	size_t want;
	int err;

	kura_reader_init(&r, data, len, "key file");
	if ((err = kura_reader_view(&r, &magic, KEY_MAGIC_LEN, "magic")) < 0)
		return err;
	if (memcmp(magic, KEY_MAGIC, KEY_MAGIC_LEN) != 0)
		return kura_error_set(KURA_ECORRUPT, "key file: bad magic (not a kura key file)");
	if ((err = kura_reader_u8(&r, &version, "version")) < 0)
		return err;
	if (version != KEY_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED,
				      "key file: version %u not supported (this kura reads %d)",
				      version, KEY_VERSION);
	if ((err = kura_reader_u8(&r, &kind, "kind")) < 0 ||
	    (err = kura_reader_u16(&r, &reserved, "reserved")) < 0)
		return err;
	if (kind != KURA_KEY_RESTORE && kind != KURA_KEY_BACKUP)
		return kura_error_set(KURA_ECORRUPT, "key file: unknown kind %u at offset 9", kind);
	if (reserved != 0)
		return kura_error_set(KURA_ECORRUPT, "key file: reserved bytes 10..11 not zero");
	want = kind == KURA_KEY_RESTORE ? RESTORE_LEN : BACKUP_LEN;
	if (len != want)
		return kura_error_set(KURA_ECORRUPT, "%s key file: length %zu, expected %zu",
				      kind == KURA_KEY_RESTORE ? "restore" : "backup", len, want);
	return kind;
}

/* A hostile file must not make the client spend unbounded time or memory. */
static int kdf_limits_check(const uint8_t *data)
{
	uint64_t ops = kura_get_le64(data + 92), mem = kura_get_le64(data + 100);

	if (ops < OPS_MIN || ops > OPS_MAX)
		return kura_error_set(KURA_ECORRUPT,
				      "restore key: opslimit %llu at offset 92 outside %d..%d",
				      (unsigned long long)ops, OPS_MIN, OPS_MAX);
	if (mem < MEM_MIN || mem > MEM_MAX)
		return kura_error_set(
		    KURA_ECORRUPT, "restore key: memlimit %llu at offset 100 outside 8 MiB..1 GiB",
		    (unsigned long long)mem);
	return 0;
}

static int decode_restore(kura_keys *out, const uint8_t *data, const char *passphrase)
{
	uint8_t key[KURA_KEY_SIZE], secrets[SECRETS_LEN], pk[KURA_PUBKEY_SIZE];
	const uint8_t *salt = data + 76, *nonce = data + 108;
	uint64_t ops = kura_get_le64(data + 92), mem = kura_get_le64(data + 100);
	unsigned long long mlen = 0;
	int err;

	if ((err = kdf_limits_check(data)) < 0)
		goto done;
	if (!passphrase) {
		err = kura_error_set(KURA_EINVAL, "restore key: a passphrase is needed");
		goto done;
	}
	if ((err = derive_wrap_key(key, passphrase, salt, ops, mem)) < 0)
		goto done;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(secrets, &mlen, NULL, data + RESTORE_AAD_LEN,
						       WRAPPED_LEN, data, RESTORE_AAD_LEN, nonce,
						       key) != 0 ||
	    mlen != SECRETS_LEN) {
		err = kura_error_set(
		    KURA_EAUTH, "wrong passphrase for restore key (or the key file is damaged)");
		goto done;
	}
	memcpy(out->id_key, secrets, 32);
	memcpy(out->index_key, secrets + 32, 32);
	memcpy(out->chunker_seed, secrets + 64, 32);
	memcpy(out->repo_sk, secrets + 96, 32);
	if (crypto_scalarmult_base(pk, out->repo_sk) != 0 ||
	    !kura_ct_equal(pk, out->repo_pk, KURA_PUBKEY_SIZE)) {
		err = kura_error_set(KURA_ECORRUPT,
				     "restore key: repo_sk is not the secret key of repo_pk");
		goto done;
	}
	out->kind = KURA_KEY_RESTORE;
done:
	kura_wipe(key, sizeof(key));
	kura_wipe(secrets, sizeof(secrets));
	return err;
}

static int decode_backup(kura_keys *out, const uint8_t *data)
{
	uint8_t sum[KURA_HASH_SIZE];

	kura_sha256(sum, data, BACKUP_SUM_AT);
	if (!kura_ct_equal(sum, data + BACKUP_SUM_AT, KURA_HASH_SIZE))
		return kura_error_set(
		    KURA_ECORRUPT,
		    "backup key: SHA-256 at offset 172 does not match (file damaged)");
	memcpy(out->id_key, data + 76, 32);
	memcpy(out->index_key, data + 108, 32);
	memcpy(out->chunker_seed, data + 140, 32);
	out->kind = KURA_KEY_BACKUP;
	return 0;
}

int kura_keyfile_check(const uint8_t *data, size_t len)
{
	int kind, err;

	if ((kind = kura_keyfile_kind(data, len)) < 0)
		return kind;
	if (kind == KURA_KEY_RESTORE && (err = kdf_limits_check(data)) < 0)
		return err;
	return kind;
}

int kura_keyfile_decode(kura_keys *out, const uint8_t *data, size_t len, const char *passphrase)
{
	int kind, err;

	memset(out, 0, sizeof(*out));
	if ((err = kura_crypto_init()) < 0)
		return err;
	if ((kind = kura_keyfile_kind(data, len)) < 0)
		return kind;
	memcpy(out->repo_id, data + 12, 32);
	memcpy(out->repo_pk, data + 44, KURA_PUBKEY_SIZE);
	if (kind == KURA_KEY_RESTORE)
		err = decode_restore(out, data, passphrase);
	else
		err = decode_backup(out, data);
	if (err < 0)
		kura_keys_wipe(out);
	return err;
}
