/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_admin.c - what the operator does to a vault directory on its host
 * (vault_admin.h): `kurad init`, `kurad client add` and `kurad client
 * revoke`.  Each runs in its own process beside a possibly running `kurad
 * serve`, which picks the change up on its next reload (vault_state.c).
 *
 * Invariants: every directory is mode 0700 and every secret file 0600 from
 * the moment it is created.  vault.json is written last by vault_init, so
 * a directory without it is not a vault (an interrupted init is refused,
 * not half-used).  Nothing here overwrites a file: client records and
 * credential files are created with O_EXCL or link(), so two `client add`
 * runs for one name cannot both succeed.  The vault never sees a token
 * after issuing it, only its SHA-256.
 */
#include "vault_admin.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "files.h"
#include "kura/keyless.h"
#include "policy.h"
#include "tls.h"

#define DEFAULT_LISTEN "127.0.0.1:7443"
#define VAULT_SETTINGS_VERSION 1
#define TOKEN_BYTES 32

/* Serialise and write a JSON document as a new file. */
static int write_json(const char *path, const json_t *doc, mode_t mode)
{
	char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2));
	size_t len;
	int err;

	if (!text)
		return kura_error_set(KURA_ENOMEM, "%s: out of memory", path);
	len = strlen(text);
	text[len] = '\n'; /* json_dumps leaves no newline: use the NUL's place */
	err = files_write_new(path, text, len + 1, mode);
	free(text);
	return err;
}

/* The pin of DIR/tls/cert.pem; malloc'd. */
static int load_pin(const char *dir, char **out_pin)
{
	char *path = NULL, *pem = NULL;
	int err;

	if (asprintf(&path, "%s/tls/cert.pem", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &pem, NULL)) == 0 &&
	    (err = tls_pin(pem, out_pin)) < 0)
		kura_error_wrap(err, "%s", path);
	free(pem);
	free(path);
	return err;
}

/* ------------------------------------------------------------------ */
/* Creating a vault                                                    */

/* Make `dir` (missing, or an empty directory) ours: mode 0700. */
static int claim_dir(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return kura_error_errno(kura_errno_code(errno), errno, "%s: mkdir", dir);
	if (!(d = opendir(dir)))
		return kura_error_errno(errno == ENOTDIR ? KURA_EEXISTS : kura_errno_code(errno),
					errno, "%s", dir);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			err = kura_error_set(KURA_EEXISTS,
					     "%s: not empty; a vault is created in a "
					     "new or empty directory",
					     dir);
			break;
		}
	closedir(d);
	if (err == 0 && chmod(dir, 0700) < 0)
		err = kura_error_errno(kura_errno_code(errno), errno, "%s: chmod", dir);
	return err;
}

static int write_signing_key(const char *dir)
{
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE], sk[KURA_SIGN_SECKEY_SIZE];
	char *skp = NULL, *pkp = NULL;
	int err = 0;

	if (asprintf(&skp, "%s/signing.key", dir) < 0 ||
	    asprintf(&pkp, "%s/signing.pub", dir) < 0) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	kura_sign_keypair(pk, sk);
	if ((err = files_write_new(skp, sk, sizeof(sk), 0600)) < 0 ||
	    (err = files_write_new(pkp, pk, sizeof(pk), 0644)) < 0)
		goto done;
done:
	kura_wipe(sk, sizeof(sk));
	free(skp);
	free(pkp);
	return err;
}

int vault_init(const char *dir, const char *listen, char **out_pin)
{
	return vault_init_store(dir, listen, NULL, out_pin);
}

int vault_init_store(const char *dir, const char *listen, const vault_store_init_options *store,
		     char **out_pin)
{
	static const char *const subdirs[] = {"tls", "clients", "repos", "meta", "audit"};
	char *cert = NULL, *key = NULL, *settings = NULL, *log = NULL;
	vault_policy policy;
	json_t *doc = NULL, *store_json = NULL;
	char id[65];
	size_t i;
	int err;

	*out_pin = NULL;
	if (!listen)
		listen = DEFAULT_LISTEN;
	if (!vault_listen_ok(listen))
		return kura_error_set(KURA_EINVAL,
				      "bad listen address '%s' (ADDR:PORT, or [V6]:PORT)", listen);
	if ((err = kura_crypto_init()) < 0)
		return err;
	if ((err = claim_dir(dir)) < 0)
		return err;
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++)
		if ((err = files_make_dir(dir, subdirs[i])) < 0)
			goto done;
	if (asprintf(&cert, "%s/tls/cert.pem", dir) < 0 ||
	    asprintf(&key, "%s/tls/key.pem", dir) < 0 ||
	    asprintf(&settings, "%s/vault.json", dir) < 0 ||
	    asprintf(&log, "%s/audit/log.jsonl", dir) < 0) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	policy_default(&policy);
	if ((err = write_signing_key(dir)) < 0 || (err = tls_create(cert, key)) < 0 ||
	    (err = files_write_new(log, "", 0, 0600)) < 0 || (err = policy_save(dir, &policy)) < 0)
		goto done;
	/* The prefix is claimed before the vault exists: a refusal leaves no vault.json. */
	if (store && ((err = vault_store_vault_id(dir, id)) < 0 ||
		      (err = vault_store_init(dir, id, store, &store_json)) < 0))
		goto done;
	if (!(doc = json_pack("{s:s, s:i}", "listen", listen, "version", VAULT_SETTINGS_VERSION)) ||
	    (store_json && json_object_set(doc, "store", store_json) < 0)) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	/* Last: its presence says the vault is complete. */
	if ((err = write_json(settings, doc, 0600)) < 0 || (err = files_fsync_dir(dir)) < 0)
		goto done;
	err = load_pin(dir, out_pin);
done:
	json_decref(store_json);
	json_decref(doc);
	free(cert);
	free(key);
	free(settings);
	free(log);
	return err;
}

/* ------------------------------------------------------------------ */
/* Issuing credentials                                                 */

/* Create the repository (on disk or on S3: vault_store.h) and DIR/meta/REPO if missing. */
static int ensure_repo(const char *dir, const char *repo)
{
	vault_store *store = NULL;
	char *meta = NULL;
	int err;

	if (asprintf(&meta, "meta/%s", repo) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = vault_store_load(&store, dir)) == 0 &&
	    (err = vault_store_create_repo(store, dir, repo)) == 0)
		err = files_make_dir(dir, meta);
	vault_store_free(store);
	free(meta);
	return err;
}

/* The credential file handed to the client (mode 0600, never overwritten). */
static int write_credential(const char *output, const char *listen, const char *name,
			    vault_role role, const char *repo, const char *token, const char *pin,
			    const char *signing_key)
{
	json_t *doc;
	int err;

	doc = json_pack("{s:i, s:s, s:s?, s:s, s:s, s:s, s:s, s:s}", "kura_vault_credential", 1,
			"vault", listen, "repo", role == VAULT_ROLE_AUDITOR ? NULL : repo, "client",
			name, "role", vault_role_name(role), "token", token, "pin", pin,
			"signing_key", signing_key);
	if (!doc)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	err = write_json(output, doc, 0600);
	/* The token sits in the document's string; jansson frees it unwiped. */
	kura_wipe((char *)json_string_value(json_object_get(doc, "token")), strlen(token));
	json_decref(doc);
	return err;
}

/*
 * The client's record: written to a temporary name, then link()ed into
 * place, so it appears whole or not at all and a taken name is refused.
 */
static int write_client_record(const char *dir, const char *name, vault_role role, const char *repo,
			       const uint8_t hash[32])
{
	char *tmp = NULL, *path = NULL, hex[65], created[40];
	json_t *doc = NULL;
	int err = 0;

	if (asprintf(&path, "%s/clients/%s.json", dir, name) < 0 ||
	    asprintf(&tmp, "%s/clients/.%s.json.%ld", dir, name, (long)getpid()) < 0) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	kura_hex(hex, hash, 32);
	files_format_time(created, kura_now_ns(CLOCK_REALTIME));
	doc = json_pack("{s:s, s:s, s:s?, s:s, s:s}", "name", name, "role", vault_role_name(role),
			"repo", role == VAULT_ROLE_AUDITOR ? NULL : repo, "token_sha256", hex,
			"created", created);
	if (!doc) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	unlink(tmp); /* a leftover of a crashed run with our pid */
	if ((err = write_json(tmp, doc, 0600)) < 0)
		goto done;
	if (link(tmp, path) < 0)
		err = errno == EEXIST
			  ? kura_error_set(KURA_EEXISTS, "client '%s' already exists", name)
			  : kura_error_errno(kura_errno_code(errno), errno, "%s", path);
	unlink(tmp);
	if (err == 0) {
		free(tmp);
		tmp = NULL;
		if (asprintf(&tmp, "%s/clients", dir) < 0)
			err = kura_error_set(KURA_ENOMEM, "out of memory");
		else
			err = files_fsync_dir(tmp);
	}
done:
	json_decref(doc);
	free(tmp);
	free(path);
	return err;
}

int vault_client_add(const char *dir, const char *name, vault_role role, const char *repo,
		     const char *output)
{
	uint8_t raw[TOKEN_BYTES], hash[KURA_HASH_SIZE];
	char token[KURA_BASE64URL_SIZE(TOKEN_BYTES)];
	char *listen = NULL, *pin = NULL, *path = NULL, signing_key[VAULT_SIGNING_KEY_B64];
	bool wrote_output = false;
	int err = 0;

	if (!vault_name_ok(name))
		return kura_error_set(KURA_EINVAL,
				      "bad client name '%s' (lowercase letters, digits, "
				      ". _ -; at most %d characters)",
				      name ? name : "", VAULT_NAME_MAX);
	if (!vault_role_name(role))
		return kura_error_set(KURA_EINVAL, "bad role %d", (int)role);
	if (role == VAULT_ROLE_AUDITOR)
		repo = NULL;
	else if (!repo || !vault_name_ok(repo))
		return kura_error_set(KURA_EINVAL,
				      "a %s needs a repository name (lowercase letters, "
				      "digits, . _ -; at most %d characters)%s%s%s",
				      vault_role_name(role), VAULT_NAME_MAX, repo ? ": '" : "",
				      repo ? repo : "", repo ? "' is not one" : "");
	if ((err = kura_crypto_init()) < 0)
		return err;
	if ((err = vault_settings_load(dir, &listen, NULL)) < 0 ||
	    (err = load_pin(dir, &pin)) < 0 || (err = vault_signing_key_b64(dir, signing_key)) < 0)
		goto done;
	if (asprintf(&path, "%s/clients/%s.json", dir, name) < 0) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (access(path, F_OK) == 0) {
		err = kura_error_set(KURA_EEXISTS, "client '%s' already exists", name);
		goto done;
	}
	if (repo && (err = ensure_repo(dir, repo)) < 0)
		goto done;
	kura_random(raw, sizeof(raw));
	kura_base64url(token, raw, sizeof(raw));
	kura_sha256(hash, token, strlen(token));
	/* The credential first: a record nobody holds the token for is useless. */
	if ((err = write_credential(output, listen, name, role, repo, token, pin, signing_key)) < 0)
		goto done;
	wrote_output = true;
	if ((err = write_client_record(dir, name, role, repo, hash)) < 0)
		goto done;
done:
	if (err < 0 && wrote_output)
		unlink(output);
	kura_wipe(raw, sizeof(raw));
	kura_wipe(token, sizeof(token));
	free(path);
	free(pin);
	free(listen);
	return err;
}

/* ------------------------------------------------------------------ */
/* Revocation and reload                                               */

int vault_client_revoke(const char *dir, const char *name)
{
	char *path = NULL, *tmp = NULL, *text = NULL, *cdir = NULL, when[40];
	vault_client c;
	json_t *doc = NULL;
	int err;

	if (!vault_name_ok(name))
		return kura_error_set(KURA_EINVAL, "bad client name '%s'", name ? name : "");
	if (asprintf(&path, "%s/clients/%s.json", dir, name) < 0 ||
	    asprintf(&tmp, "%s/clients/.%s.json.revoke.%ld", dir, name, (long)getpid()) < 0 ||
	    asprintf(&cdir, "%s/clients", dir) < 0) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (access(path, F_OK) < 0) {
		err = kura_error_set(KURA_ENOTFOUND, "no client '%s' in %s", name, dir);
		goto done;
	}
	if ((err = vault_client_parse(&c, path, name)) < 0)
		goto done;
	if (atomic_load(&c.revoked)) {
		err = kura_error_set(KURA_EEXISTS, "client '%s' is revoked already", name);
		goto done;
	}
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &text, NULL)) < 0)
		goto done;
	if (!(doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: cannot parse", path);
		goto done;
	}
	files_format_time(when, kura_now_ns(CLOCK_REALTIME));
	if (json_object_set_new(doc, "revoked", json_string(when)) < 0) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	unlink(tmp);
	if ((err = write_json(tmp, doc, 0600)) < 0)
		goto done;
	/* Replacing is the point here: the record now says the token is void. */
	if (rename(tmp, path) < 0) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s", path);
		unlink(tmp);
		goto done;
	}
	err = files_fsync_dir(cdir);
done:
	json_decref(doc);
	free(text);
	free(cdir);
	free(tmp);
	free(path);
	return err;
}
