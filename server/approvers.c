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
#include "approver_pass.h"
#include "files.h"
#include "kura/approve.h"

#define APPROVER_FILE_MAX (64 << 10) /* approver records and key files */

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

int approvers_add(const char *dir, const char *name, const char *output, int kdf_profile)
{
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE], sk[KURA_SIGN_SECKEY_SIZE];
	char vkey[VAULT_SIGNING_KEY_B64], pk64[VAULT_SIGNING_KEY_B64], created[40];
	char *adir = NULL, *path = NULL, *keytext = NULL, *rectext = NULL, *name_json = NULL,
	     *pass = NULL;
	json_t *rec = NULL;
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
	if (!(pass = malloc(APPROVER_PASS_MAX))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = approver_pass_read(pass, APPROVER_PASS_MAX,
				      "passphrase for the new approver key: ", true)) < 0)
		goto done;
	kura_sign_keypair(pk, sk);
	kura_base64(pk64, pk, sizeof(pk));
	files_format_time_s(created, (int64_t)time(NULL) * 1000000000LL);
	if ((err = kura_approver_key_encode(&keytext, vkey, name, sk, pass, kdf_profile)) < 0)
		goto done;
	rec = json_pack("{s:s, s:s, s:s}", "name", name, "public_key", pk64, "created", created);
	if (!rec || !(rectext = files_json_text(rec))) {
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
	if (keytext) {
		kura_wipe(keytext, strlen(keytext));
		free(keytext);
	}
	if (pass) {
		kura_wipe(pass, APPROVER_PASS_MAX);
		free(pass);
	}
	kura_wipe(sk, sizeof(sk));
	json_decref(rec);
	free(rectext);
	free(name_json);
	free(path);
	free(adir);
	return err;
}

/*
 * Unseal key `k` (read from `key_path`): a version 2 file with the
 * passphrase (approver_pass.h), a version 1 file as it is, with a warning
 * on stderr (only kurad's commands load keys).
 */
static int key_unseal(kura_approver_key *k, const char *key_path)
{
	char *pass = NULL, prompt[160];
	int err;

	if (!kura_approver_key_encrypted(k)) {
		fprintf(stderr,
			"kurad: warning: approver key %s is not protected by a passphrase (made by "
			"an older kurad); make a new one with 'kurad approver add' and retire "
			"this one\n",
			key_path);
		return 0;
	}
	if (!(pass = malloc(APPROVER_PASS_MAX)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	snprintf(prompt, sizeof(prompt), "passphrase of approver %.64s: ",
		 kura_approver_key_name(k));
	if ((err = approver_pass_read(pass, APPROVER_PASS_MAX, prompt, false)) == 0)
		err = kura_approver_key_unlock(k, pass);
	kura_wipe(pass, APPROVER_PASS_MAX);
	free(pass);
	return err;
}

/* An approver key file: its name and secret key (wipe it), checked against this vault. */
int approvers_key_load(const char *dir, const char *key_path, char name[VAULT_NAME_MAX + 1],
		       uint8_t sk[KURA_SIGN_SECKEY_SIZE])
{
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE], registered[KURA_SIGN_PUBKEY_SIZE];
	char vkey[VAULT_SIGNING_KEY_B64];
	kura_approver_key *k = NULL;
	const char *jname;
	int err;

	if ((err = vault_signing_key_b64(dir, vkey)) < 0)
		return err;
	/* the vault and the registration first: no passphrase asked for a key that cannot sign */
	if ((err = kura_approver_key_read(&k, key_path)) < 0)
		return err;
	if (strcmp(kura_approver_key_vault(k), vkey) != 0) {
		err = kura_error_set(KURA_EDENIED,
				     "%s: this approver key belongs to another vault (its "
				     "vault_signing_key is not %s's)",
				     key_path, dir);
		goto done;
	}
	jname = kura_approver_key_name(k);
	if ((err = approvers_load(dir, jname, registered)) < 0)
		goto done;
	kura_approver_key_public(k, pk);
	if (!kura_ct_equal(pk, registered, sizeof(pk))) {
		err = kura_error_set(KURA_EDENIED,
				     "%s: this is not the key registered for approver '%s'",
				     key_path, jname);
		goto done;
	}
	snprintf(name, VAULT_NAME_MAX + 1, "%s", jname);
	if ((err = key_unseal(k, key_path)) < 0 || (err = kura_approver_key_secret(k, sk)) < 0)
		goto done;
done:
	if (err < 0)
		kura_wipe(sk, KURA_SIGN_SECKEY_SIZE);
	kura_approver_key_free(k);
	return err;
}
