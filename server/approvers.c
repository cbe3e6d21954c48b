/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approvers.c - the approvers of a vault (approvers.h): their public keys
 * in DIR/approvers/NAME.json, written by `kurad approver add`, and the key
 * files `kurad approve` and `kurad cancel` read.
 *
 * A key is trusted only as it is on disk now: every check reads the
 * record again, so replacing or removing an approver takes effect at
 * once.  A key file must name this vault's signing key and match its
 * approver's registered public key, so a key made for another vault, or
 * replaced since, signs nothing here.
 */
#include "approvers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "files.h"

#define APPROVER_FILE_MAX (64 << 10) /* approver records and key files */
#define APPROVERS_SK_B64                                                                           \
	sodium_base64_ENCODED_LEN(crypto_sign_SECRETKEYBYTES, sodium_base64_VARIANT_ORIGINAL)

/* The vault's public signing key (DIR/signing.pub) as base64. */
int approvers_vault_key(const char *dir, char out[APPROVERS_PK_B64])
{
	char *path = NULL, *pk = NULL;
	size_t len = 0;
	int err;

	if (asprintf(&path, "%s/signing.pub", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = vault_read_file(path, APPROVER_FILE_MAX, &pk, &len)) < 0) {
		if (err == KURA_ENOTFOUND)
			err = kura_error_set(KURA_ENOTFOUND, "%s: no vault here (no signing.pub)",
					     dir);
		goto done;
	}
	if (len != crypto_sign_PUBLICKEYBYTES) {
		err = kura_error_set(KURA_ECORRUPT, "%s: not a %d-byte Ed25519 public key", path,
				     crypto_sign_PUBLICKEYBYTES);
		goto done;
	}
	sodium_bin2base64(out, APPROVERS_PK_B64, (const unsigned char *)pk, len,
			  sodium_base64_VARIANT_ORIGINAL);
done:
	free(pk);
	free(path);
	return err;
}

/* Exactly `len` bytes of standard base64 (with padding). */
int approvers_unbase64(uint8_t *out, size_t len, const char *b64)
{
	size_t got = 0;

	if (!b64 ||
	    sodium_base642bin(out, len, b64, strlen(b64), NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != len)
		return -1;
	return 0;
}

/* The public key of approver `name` (DIR/approvers/NAME.json). */
int approvers_load(const char *dir, const char *name, uint8_t pk[crypto_sign_PUBLICKEYBYTES])
{
	char *path = NULL, *text = NULL;
	const char *jname, *jpk, *created;
	json_t *doc = NULL;
	json_error_t jerr;
	size_t len;
	int err;

	if (!vault_name_ok(name))
		return kura_error_set(KURA_EINVAL, "bad approver name");
	if (asprintf(&path, "%s/approvers/%s.json", dir, name) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = vault_read_file(path, APPROVER_FILE_MAX, &text, &len)) < 0) {
		if (err == KURA_ENOTFOUND)
			err =
			    kura_error_set(KURA_ENOTFOUND, "no approver '%s' in this vault", name);
		goto done;
	}
	if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
		goto done;
	}
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:s, s:s}", "name", &jname, "public_key",
			   &jpk, "created", &created) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: %s", path, jerr.text);
		goto done;
	}
	if (strcmp(jname, name) != 0 ||
	    approvers_unbase64(pk, crypto_sign_PUBLICKEYBYTES, jpk) < 0) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: \"name\" must match the file name and \"public_key\" "
				     "be a base64 Ed25519 public key",
				     path);
		goto done;
	}
done:
	json_decref(doc);
	free(text);
	free(path);
	return err;
}

int approvers_add(const char *dir, const char *name, const char *output)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	char vkey[APPROVERS_PK_B64], pk64[APPROVERS_PK_B64], sk64[APPROVERS_SK_B64], created[40];
	char *adir = NULL, *path = NULL, *keytext = NULL, *rectext = NULL, *name_json = NULL;
	json_t *key = NULL, *rec = NULL;
	bool wrote_output = false;
	int err;

	if (!vault_name_ok(name))
		return kura_error_set(KURA_EINVAL,
				      "bad approver name '%s' (lowercase letters, digits, . _ -; "
				      "starting with a letter or digit; at most %d)",
				      name ? name : "", VAULT_NAME_MAX);
	if (!output)
		return kura_error_set(KURA_EINVAL, "the approver key needs an output file");
	if ((err = kura_crypto_init()) < 0 || (err = approvers_vault_key(dir, vkey)) < 0)
		return err;
	if ((err = vault_subdir(dir, "approvers", &adir)) < 0)
		return err;
	if (asprintf(&path, "%s/%s.json", adir, name) < 0) {
		path = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (asprintf(&name_json, "%s.json", name) < 0) {
		name_json = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (access(path, F_OK) == 0) {
		err = kura_error_set(KURA_EEXISTS, "approver '%s' already exists", name);
		goto done;
	}
	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(pk64, sizeof(pk64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(sk64, sizeof(sk64), sk, sizeof(sk), sodium_base64_VARIANT_ORIGINAL);
	vault_format_time_s(created, (int64_t)time(NULL) * 1000000000LL);
	key = json_pack("{s:i, s:s, s:s, s:s}", "kura_approver_key", 1, "vault_signing_key", vkey,
			"name", name, "secret_key", sk64);
	rec = json_pack("{s:s, s:s, s:s}", "name", name, "public_key", pk64, "created", created);
	if (!key || !rec || !(keytext = vault_json_text(key)) ||
	    !(rectext = vault_json_text(rec))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	/* The key first: a registered approver whose key nobody holds is useless. */
	if ((err = vault_write_new(output, keytext, strlen(keytext), 0600)) < 0)
		goto done;
	wrote_output = true;
	if ((err = vault_write_atomic(adir, name_json, rectext, true)) < 0) {
		if (err == KURA_EEXISTS)
			err = kura_error_set(KURA_EEXISTS, "approver '%s' already exists", name);
		goto done;
	}
done:
	if (err < 0 && wrote_output)
		unlink(output);
	if (key)
		sodium_memzero((char *)json_string_value(json_object_get(key, "secret_key")),
			       strlen(sk64));
	if (keytext) {
		sodium_memzero(keytext, strlen(keytext));
		free(keytext);
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sk64, sizeof(sk64));
	json_decref(key);
	json_decref(rec);
	free(rectext);
	free(name_json);
	free(path);
	free(adir);
	return err;
}

/* An approver key file: its name and secret key (wipe it), checked against this vault. */
int approvers_key_load(const char *dir, const char *key_path, char name[VAULT_NAME_MAX + 1],
		       uint8_t sk[crypto_sign_SECRETKEYBYTES])
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], registered[crypto_sign_PUBLICKEYBYTES];
	char vkey[APPROVERS_PK_B64], *text = NULL;
	const char *jvkey, *jname, *jsk;
	json_int_t version;
	json_t *doc = NULL;
	json_error_t jerr;
	size_t len = 0;
	int err;

	if ((err = approvers_vault_key(dir, vkey)) < 0)
		return err;
	if ((err = vault_read_file(key_path, APPROVER_FILE_MAX, &text, &len)) < 0)
		return err;
	if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) {
		err = kura_error_set(KURA_EINVAL, "%s: not an approver key file (line %d: %s)",
				     key_path, jerr.line, jerr.text);
		goto done;
	}
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:I, s:s, s:s, s:s}", "kura_approver_key",
			   &version, "vault_signing_key", &jvkey, "name", &jname, "secret_key",
			   &jsk) < 0) {
		err = kura_error_set(KURA_EINVAL, "%s: not an approver key file: %s", key_path,
				     jerr.text);
		goto done;
	}
	if (version != 1) {
		err = kura_error_set(KURA_EUNSUPPORTED,
				     "%s: approver key version %" JSON_INTEGER_FORMAT
				     " not understood",
				     key_path, version);
		goto done;
	}
	if (!vault_name_ok(jname) || approvers_unbase64(sk, crypto_sign_SECRETKEYBYTES, jsk) < 0) {
		err = kura_error_set(KURA_EINVAL, "%s: bad \"name\" or \"secret_key\"", key_path);
		goto done;
	}
	if (strcmp(jvkey, vkey) != 0) {
		err = kura_error_set(KURA_EDENIED,
				     "%s: this approver key belongs to another vault (its "
				     "vault_signing_key is not %s's)",
				     key_path, dir);
		goto done;
	}
	if ((err = approvers_load(dir, jname, registered)) < 0)
		goto done;
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (sodium_memcmp(pk, registered, sizeof(pk)) != 0 ||
	    sodium_memcmp(pk, sk + crypto_sign_SECRETKEYBYTES - crypto_sign_PUBLICKEYBYTES,
			  sizeof(pk)) != 0) {
		err = kura_error_set(KURA_EDENIED,
				     "%s: this is not the key registered for approver '%s'",
				     key_path, jname);
		goto done;
	}
	strcpy(name, jname);
done:
	if (err < 0)
		sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
	if (doc && json_is_string(json_object_get(doc, "secret_key")))
		sodium_memzero((char *)json_string_value(json_object_get(doc, "secret_key")),
			       strlen(json_string_value(json_object_get(doc, "secret_key"))));
	json_decref(doc);
	sodium_memzero(text, len);
	free(text);
	return err;
}
