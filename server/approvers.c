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

#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "files.h"

#define APPROVER_FILE_MAX (64 << 10) /* approver records and key files */
#define APPROVERS_SK_B64 KURA_BASE64_SIZE(KURA_SIGN_SECKEY_SIZE)

/* The public key of approver `name` (DIR/approvers/NAME.json). */
int approvers_load(const char *dir, const char *name, uint8_t pk[KURA_SIGN_PUBKEY_SIZE])
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
	if ((err = files_read(path, APPROVER_FILE_MAX, &text, &len)) < 0) {
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
	if (strcmp(jname, name) != 0 || kura_unbase64(pk, KURA_SIGN_PUBKEY_SIZE, jpk) < 0) {
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
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE], sk[KURA_SIGN_SECKEY_SIZE];
	char vkey[VAULT_SIGNING_KEY_B64], pk64[VAULT_SIGNING_KEY_B64], sk64[APPROVERS_SK_B64],
	    created[40];
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
	if ((err = kura_crypto_init()) < 0 || (err = vault_signing_key_b64(dir, vkey)) < 0)
		return err;
	if ((err = files_subdir(dir, "approvers", &adir)) < 0)
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
	kura_sign_keypair(pk, sk);
	kura_base64(pk64, pk, sizeof(pk));
	kura_base64(sk64, sk, sizeof(sk));
	files_format_time_s(created, (int64_t)time(NULL) * 1000000000LL);
	key = json_pack("{s:i, s:s, s:s, s:s}", "kura_approver_key", 1, "vault_signing_key", vkey,
			"name", name, "secret_key", sk64);
	rec = json_pack("{s:s, s:s, s:s}", "name", name, "public_key", pk64, "created", created);
	if (!key || !rec || !(keytext = files_json_text(key)) ||
	    !(rectext = files_json_text(rec))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	/* The key first: a registered approver whose key nobody holds is useless. */
	if ((err = files_write_new(output, keytext, strlen(keytext), 0600)) < 0)
		goto done;
	wrote_output = true;
	if ((err = files_write_atomic(adir, name_json, rectext, true)) < 0) {
		if (err == KURA_EEXISTS)
			err = kura_error_set(KURA_EEXISTS, "approver '%s' already exists", name);
		goto done;
	}
done:
	if (err < 0 && wrote_output)
		unlink(output);
	if (key)
		kura_wipe((char *)json_string_value(json_object_get(key, "secret_key")),
			  strlen(sk64));
	if (keytext) {
		kura_wipe(keytext, strlen(keytext));
		free(keytext);
	}
	kura_wipe(sk, sizeof(sk));
	kura_wipe(sk64, sizeof(sk64));
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
		       uint8_t sk[KURA_SIGN_SECKEY_SIZE])
{
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE], registered[KURA_SIGN_PUBKEY_SIZE];
	char vkey[VAULT_SIGNING_KEY_B64], *text = NULL;
	const char *jvkey, *jname, *jsk;
	json_int_t version;
	json_t *doc = NULL;
	json_error_t jerr;
	size_t len = 0;
	int err;

	if ((err = vault_signing_key_b64(dir, vkey)) < 0)
		return err;
	if ((err = files_read(key_path, APPROVER_FILE_MAX, &text, &len)) < 0)
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
	if (!vault_name_ok(jname) || kura_unbase64(sk, KURA_SIGN_SECKEY_SIZE, jsk) < 0) {
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
	kura_sign_public_key(pk, sk);
	if (!kura_ct_equal(pk, registered, sizeof(pk)) ||
	    !kura_ct_equal(pk, sk + KURA_SIGN_SECKEY_SIZE - KURA_SIGN_PUBKEY_SIZE, sizeof(pk))) {
		err = kura_error_set(KURA_EDENIED,
				     "%s: this is not the key registered for approver '%s'",
				     key_path, jname);
		goto done;
	}
	strcpy(name, jname);
done:
	if (err < 0)
		kura_wipe(sk, KURA_SIGN_SECKEY_SIZE);
	if (doc && json_is_string(json_object_get(doc, "secret_key")))
		kura_wipe((char *)json_string_value(json_object_get(doc, "secret_key")),
			  strlen(json_string_value(json_object_get(doc, "secret_key"))));
	json_decref(doc);
	kura_wipe(text, len);
	free(text);
	return err;
}
