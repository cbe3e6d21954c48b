/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approverkey.c - approver key files (kura/approve.h, docs/FORMAT.md
 * "Approver key files"), read by `kura approve` on the approver's machine
 * and by `kurad approve` on the vault host, written by `kurad approver add`.
 *
 * Version 2 seals the 32-byte Ed25519 seed with XChaCha20-Poly1305 under
 * an Argon2id hash of the passphrase, as the restore key does; every
 * other member is the AAD, so the name, the vault, the public key and the
 * KDF parameters cannot be changed without the tag failing.  The KDF
 * parameters are bounded before Argon2id runs, so a hostile file cannot
 * make us spend unbounded time or memory.  After unsealing, the key pair
 * derived from the seed must have the file's public key.
 *
 * Version 1, from kurad before 0.2, holds libsodium's 64-byte secret key
 * in the clear; it is still read (the caller warns).
 *
 * Invariants: the secret is wiped on free and on every failure; the text
 * of the file, which may hold a version 1 secret, is wiped after parsing.
 */
#include "kura/approve.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "crypto/sign.h"

#define AK_AAD_MAGIC "kura-approver-key-v2\n"
#define AK_SALT 16
#define AK_NONCE 24
#define AK_SEED 32
#define AK_SEALED (AK_SEED + 16)
#define AK_OPS_MIN 1
#define AK_OPS_MAX 10
#define AK_MEM_MIN ((uint64_t)8 << 20)
#define AK_MEM_MAX ((uint64_t)1 << 30)

_Static_assert(AK_SALT == crypto_pwhash_SALTBYTES, "Argon2id salt size");
_Static_assert(AK_NONCE == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "XChaCha nonce");
_Static_assert(AK_SEED == crypto_sign_SEEDBYTES, "Ed25519 seed");

struct kura_approver_key {
	int version;
	char name[KURA_APPROVER_NAME_MAX + 1];
	char vault[KURA_VAULT_KEY_B64];
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE];
	bool unlocked;
	uint8_t sk[KURA_SIGN_SECKEY_SIZE];
	/* version 2 */
	uint64_t ops, mem;
	uint8_t salt[AK_SALT], nonce[AK_NONCE], sealed[AK_SEALED];
	char what[256];
};

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > KURA_APPROVER_NAME_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* The AAD of a version 2 file: every member but the sealed seed and the nonce. */
static int aad(char **out, const char *vault, const char *name, const uint8_t pk[32], uint64_t ops,
	       uint64_t mem, const uint8_t salt[AK_SALT])
{
	char pk64[KURA_BASE64_SIZE(32)], salt64[KURA_BASE64_SIZE(AK_SALT)];

	kura_base64(pk64, pk, 32);
	kura_base64(salt64, salt, AK_SALT);
	if (asprintf(out, AK_AAD_MAGIC "%s\n%s\n%s\n%" PRIu64 "\n%" PRIu64 "\n%s\n", vault, name,
		     pk64, ops, mem, salt64) < 0) {
		*out = NULL;
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	return 0;
}

static int derive(uint8_t key[32], const char *passphrase, const uint8_t salt[AK_SALT],
		  uint64_t ops, uint64_t mem)
{
	if (crypto_pwhash(key, 32, passphrase, strlen(passphrase), salt, (unsigned long long)ops,
			  (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		kura_wipe(key, 32);
		return kura_error_set(KURA_ENOMEM,
				      "approver key: Argon2id could not run (%llu MiB of memory)",
				      (unsigned long long)(mem >> 20));
	}
	return 0;
}

int kura_approver_key_encode(char **out, const char *vault_key, const char *name,
			     const uint8_t sk[64], const char *passphrase, int kdf_profile)
{
	uint8_t salt[AK_SALT], nonce[AK_NONCE], sealed[AK_SEALED], key[32], pk[32];
	char pk64[KURA_BASE64_SIZE(32)], salt64[KURA_BASE64_SIZE(AK_SALT)],
	    nonce64[KURA_BASE64_SIZE(AK_NONCE)], sealed64[KURA_BASE64_SIZE(AK_SEALED)], *a = NULL;
	unsigned long long clen = 0;
	uint64_t ops, mem;
	uint8_t vk[32];
	json_t *doc = NULL;
	int err;

	*out = NULL;
	if ((err = kura_crypto_init()) < 0)
		return err;
	if (!vault_key || strlen(vault_key) != KURA_VAULT_KEY_B64 - 1 ||
	    kura_unbase64(vk, sizeof(vk), vault_key) < 0 || !name || !name_ok(name))
		return kura_error_set(KURA_EINVAL, "approver key: bad vault key or name");
	if (!passphrase)
		return kura_error_set(KURA_EINVAL, "approver key: no passphrase given");
	if ((err = kura_passphrase_check(passphrase)) < 0)
		return err;
	if ((err = kura_keyfile_kdf_params(kdf_profile, &ops, &mem)) < 0)
		return err;
	kura_sign_public_key(pk, sk);
	kura_random(salt, sizeof(salt));
	kura_random(nonce, sizeof(nonce));
	if ((err = aad(&a, vault_key, name, pk, ops, mem, salt)) < 0 ||
	    (err = derive(key, passphrase, salt, ops, mem)) < 0)
		goto done;
	/* libsodium's secret key is the seed followed by the public key */
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
		sealed, &clen, sk, AK_SEED, (const uint8_t *)a, strlen(a), NULL, nonce, key) != 0 ||
	    clen != AK_SEALED) {
		err = kura_error_set(KURA_ERROR, "approver key: XChaCha20-Poly1305 failed");
		goto done;
	}
	kura_base64(pk64, pk, sizeof(pk));
	kura_base64(salt64, salt, sizeof(salt));
	kura_base64(nonce64, nonce, sizeof(nonce));
	kura_base64(sealed64, sealed, sizeof(sealed));
	doc = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "kura_approver_key",
			2, "vault_signing_key", vault_key, "name", name, "public_key", pk64, "kdf",
			"argon2id", "opslimit", (json_int_t)ops, "memlimit", (json_int_t)mem,
			"salt", salt64, "nonce", nonce64, "sealed_seed", sealed64);
	if (!doc || !(*out = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	/* json_dumps leaves no newline; a text file ends with one */
	{
		size_t n = strlen(*out);
		char *grown = realloc(*out, n + 2);

		if (!grown) {
			free(*out);
			*out = NULL;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		grown[n] = '\n';
		grown[n + 1] = '\0';
		*out = grown;
	}
done:
	kura_wipe(key, sizeof(key));
	json_decref(doc);
	free(a);
	return err;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

static int b64_member(uint8_t *out, size_t len, const char *b64, const char *what,
		      const char *member)
{
	if (kura_unbase64(out, len, b64) < 0)
		return kura_error_set(KURA_EINVAL, "%s: \"%s\" is not the base64 of %zu bytes",
				      what, member, len);
	return 0;
}

static int parse_v1(kura_approver_key *k, json_t *doc, const char *what)
{
	const char *vault, *name, *sk;
	json_int_t version;
	json_error_t jerr;
	uint8_t vk[32], again[KURA_SIGN_SECKEY_SIZE];
	int err;

	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:I, s:s, s:s, s:s}", "kura_approver_key",
			   &version, "vault_signing_key", &vault, "name", &name, "secret_key",
			   &sk) < 0)
		return kura_error_set(KURA_EINVAL, "%s: not an approver key file: %s", what,
				      jerr.text);
	if (strlen(vault) != KURA_VAULT_KEY_B64 - 1 || !name_ok(name))
		return kura_error_set(KURA_EINVAL, "%s: bad \"name\" or \"vault_signing_key\"",
				      what);
	if ((err = b64_member(k->sk, sizeof(k->sk), sk, what, "secret_key")) < 0 ||
	    (err = b64_member(vk, sizeof(vk), vault, what, "vault_signing_key")) < 0)
		return err;
	strcpy(k->vault, vault);
	strcpy(k->name, name);
	/* libsodium's secret key is its seed and then its public key: they must agree */
	crypto_sign_seed_keypair(k->pk, again, k->sk);
	kura_wipe(again, sizeof(again));
	if (!kura_ct_equal(k->pk, k->sk + KURA_SIGN_SECKEY_SIZE - KURA_SIGN_PUBKEY_SIZE, 32))
		return kura_error_set(KURA_EINVAL, "%s: \"secret_key\" is damaged", what);
	k->unlocked = true;
	return 0;
}

static int parse_v2(kura_approver_key *k, json_t *doc, const char *what)
{
	const char *vault, *name, *pk, *kdf, *salt, *nonce, *sealed;
	json_int_t version, ops, mem;
	json_error_t jerr;
	uint8_t vk[32];
	int err;

	if (json_unpack_ex(doc, &jerr, JSON_STRICT,
			   "{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}",
			   "kura_approver_key", &version, "vault_signing_key", &vault, "name",
			   &name, "public_key", &pk, "kdf", &kdf, "opslimit", &ops, "memlimit",
			   &mem, "salt", &salt, "nonce", &nonce, "sealed_seed", &sealed) < 0)
		return kura_error_set(KURA_EINVAL, "%s: not an approver key file: %s", what,
				      jerr.text);
	if (strlen(vault) != KURA_VAULT_KEY_B64 - 1 || !name_ok(name))
		return kura_error_set(KURA_EINVAL, "%s: bad \"name\" or \"vault_signing_key\"",
				      what);
	if (strcmp(kdf, "argon2id") != 0)
		return kura_error_set(KURA_EUNSUPPORTED, "%s: \"kdf\" %.40s is not argon2id", what,
				      kdf);
	if (ops < AK_OPS_MIN || ops > AK_OPS_MAX || mem < (json_int_t)AK_MEM_MIN ||
	    mem > (json_int_t)AK_MEM_MAX)
		return kura_error_set(
		    KURA_EINVAL, "%s: opslimit or memlimit outside 1..10 and 8 MiB..1 GiB", what);
	if ((err = b64_member(vk, sizeof(vk), vault, what, "vault_signing_key")) < 0 ||
	    (err = b64_member(k->pk, sizeof(k->pk), pk, what, "public_key")) < 0 ||
	    (err = b64_member(k->salt, sizeof(k->salt), salt, what, "salt")) < 0 ||
	    (err = b64_member(k->nonce, sizeof(k->nonce), nonce, what, "nonce")) < 0 ||
	    (err = b64_member(k->sealed, sizeof(k->sealed), sealed, what, "sealed_seed")) < 0)
		return err;
	strcpy(k->vault, vault);
	strcpy(k->name, name);
	k->ops = (uint64_t)ops;
	k->mem = (uint64_t)mem;
	return 0;
}

int kura_approver_key_parse(kura_approver_key **out, const uint8_t *data, size_t len,
			    const char *what)
{
	kura_approver_key *k;
	json_t *doc, *v;
	json_error_t jerr;
	int err;

	*out = NULL;
	if (!what)
		what = "approver key";
	if ((err = kura_crypto_init()) < 0)
		return err;
	if (!(doc = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr)))
		return kura_error_set(KURA_EINVAL, "%s: not an approver key file (line %d: %s)",
				      what, jerr.line, jerr.text);
	if (!(k = calloc(1, sizeof(*k)))) {
		json_decref(doc);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	snprintf(k->what, sizeof(k->what), "%s", what);
	v = json_object_get(doc, "kura_approver_key");
	if (!json_is_integer(v))
		err = kura_error_set(
		    KURA_EINVAL, "%s: not an approver key file (no \"kura_approver_key\")", what);
	else if (json_integer_value(v) == 1)
		err = parse_v1(k, doc, what);
	else if (json_integer_value(v) == 2)
		err = parse_v2(k, doc, what);
	else
		err = kura_error_set(KURA_EUNSUPPORTED,
				     "%s: approver key version %" JSON_INTEGER_FORMAT
				     " not understood by this kura",
				     what, json_integer_value(v));
	k->version = (int)json_integer_value(v);
	/* a version 1 secret: jansson's own copy of the string goes too */
	v = json_object_get(doc, "secret_key");
	if (json_is_string(v))
		kura_wipe((char *)json_string_value(v), strlen(json_string_value(v)));
	json_decref(doc);
	if (err < 0) {
		kura_approver_key_free(k);
		return err;
	}
	*out = k;
	return 0;
}

int kura_approver_key_read(kura_approver_key **out, const char *path)
{
	uint8_t *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, err = 0;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted at the path must not hang us before fstat */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0)
		return kura_error_errno(errno == ENOENT ? KURA_ENOTFOUND : KURA_EIO, errno,
					"approver key %s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > KURA_APPROVER_KEY_MAX) {
		err = kura_error_set(KURA_EINVAL,
				     "approver key %s: not a regular file of at most 64 KiB", path);
		goto done;
	}
	if (!(buf = malloc(KURA_APPROVER_KEY_MAX + 1))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, KURA_APPROVER_KEY_MAX + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = kura_error_errno(KURA_EIO, errno, "approver key %s", path);
			goto done;
		}
		if (n == 0)
			break;
		if ((got += (size_t)n) > KURA_APPROVER_KEY_MAX) {
			err =
			    kura_error_set(KURA_EINVAL, "approver key %s: more than 64 KiB", path);
			goto done;
		}
	}
	err = kura_approver_key_parse(out, buf, got, path);
done:
	if (buf) {
		kura_wipe(buf, KURA_APPROVER_KEY_MAX + 1);
		free(buf);
	}
	close(fd);
	return err;
}

bool kura_approver_key_encrypted(const kura_approver_key *k)
{
	return k && k->version == 2;
}

const char *kura_approver_key_name(const kura_approver_key *k)
{
	return k->name;
}

const char *kura_approver_key_vault(const kura_approver_key *k)
{
	return k->vault;
}

bool kura_approver_key_for_vault(const kura_approver_key *k, const uint8_t vault_pk[32])
{
	char b64[KURA_VAULT_KEY_B64];

	kura_base64(b64, vault_pk, 32);
	return strcmp(b64, k->vault) == 0;
}

void kura_approver_key_public(const kura_approver_key *k, uint8_t pk[KURA_APPROVER_PUBKEY_SIZE])
{
	memcpy(pk, k->pk, KURA_APPROVER_PUBKEY_SIZE);
}

int kura_approver_key_unlock(kura_approver_key *k, const char *passphrase)
{
	uint8_t key[32], seed[AK_SEED], pk[32];
	unsigned long long mlen = 0;
	char *a = NULL;
	int err;

	if (k->unlocked)
		return 0;
	if (!passphrase)
		return kura_error_set(KURA_EINVAL, "%s: the approver key needs its passphrase",
				      k->what);
	if ((err = aad(&a, k->vault, k->name, k->pk, k->ops, k->mem, k->salt)) < 0 ||
	    (err = derive(key, passphrase, k->salt, k->ops, k->mem)) < 0)
		goto done;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(seed, &mlen, NULL, k->sealed, AK_SEALED,
						       (const uint8_t *)a, strlen(a), k->nonce,
						       key) != 0 ||
	    mlen != AK_SEED) {
		err = kura_error_set(KURA_EAUTH,
				     "%s: wrong passphrase for this approver key (or the file was "
				     "altered)",
				     k->what);
		goto done;
	}
	crypto_sign_seed_keypair(pk, k->sk, seed);
	if (!kura_ct_equal(pk, k->pk, sizeof(pk))) {
		kura_wipe(k->sk, sizeof(k->sk));
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: the sealed secret is not the one of \"public_key\"",
				     k->what);
		goto done;
	}
	k->unlocked = true;
done:
	kura_wipe(key, sizeof(key));
	kura_wipe(seed, sizeof(seed));
	free(a);
	return err;
}

int kura_approver_key_sign(const kura_approver_key *k, uint8_t sig[KURA_APPROVER_SIG_SIZE],
			   const void *msg, size_t len)
{
	if (!k->unlocked)
		return kura_error_set(KURA_EINVAL, "%s: the approver key is still sealed", k->what);
	kura_sign(sig, msg, len, k->sk);
	return 0;
}

int kura_approval_body(char **out, const kura_approver_key *k, bool cancel, const char *statement,
		       size_t len)
{
	uint8_t sig[KURA_SIGNATURE_SIZE];
	char sig64[KURA_BASE64_SIZE(KURA_SIGNATURE_SIZE)];
	json_t *doc;
	int err;

	*out = NULL;
	if ((err = kura_approver_key_sign(k, sig, statement, len)) < 0)
		return err;
	kura_base64(sig64, sig, sizeof(sig));
	doc = json_pack("{s:s, s:s, s:s}", "action", cancel ? "cancel" : "approve", "approver",
			k->name, "signature", sig64);
	if (!doc || !(*out = json_dumps(doc, JSON_COMPACT)))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	json_decref(doc);
	return err;
}

int kura_approver_key_secret(const kura_approver_key *k, uint8_t sk_out[64])
{
	if (!k->unlocked)
		return kura_error_set(KURA_EINVAL, "%s: the approver key is still sealed", k->what);
	memcpy(sk_out, k->sk, KURA_SIGN_SECKEY_SIZE);
	return 0;
}

void kura_approver_key_free(kura_approver_key *k)
{
	if (!k)
		return;
	kura_wipe(k, sizeof(*k));
	free(k);
}
