/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_state.c - the state `kurad serve` works from (vault_state.h): the
 * vault directory loaded (settings, clients, TLS identity, signing key)
 * and the client table requests authenticate against.  Its parts: the
 * records it reads (vault_records.c), the per-repository backends and
 * locks (vault_repos.c), the once-a-second reload of what the operator
 * changed on the vault host (vault_reload.c); the insides they share are
 * in vault_struct.h.  Creating a vault and issuing or revoking
 * credentials is vault_admin.c; `kurad status` is status.c.  The
 * directory's layout:
 *
 *	DIR/vault.json            {"listen": "ADDR:PORT", "version": 1, "reserve": BYTES,
 *	                           "alert_command": [ARGV...], "detect": {...},
 *	                           "alert_webhook": {...}, "alert_syslog": BOOL,
 *	                           "store": {...} (vault_store.h)}
 *	DIR/tls/cert.pem, key.pem TLS identity (tls.c; key mode 0600)
 *	DIR/signing.key           Ed25519 secret key, 64 bytes (mode 0600)
 *	DIR/signing.pub           its public key, 32 bytes (for `kurad log verify`)
 *	DIR/clients/NAME.json     {"name", "role", "repo", "token_sha256", "created"}
 *	DIR/repos/REPO/           a repository in the local backend's layout
 *	                          (on S3, vault.json's "store": PREFIX/REPO/ in the
 *	                          bucket, DIR/s3.json its keys, DIR/spool/REPO/
 *	                          uploads being received: vault_store.h)
 *	DIR/meta/REPO/            snapshot-times: "NAME RECEIVED_NS CLIENT" lines
 *	DIR/audit/log.jsonl       the audit log (audit.c)
 *
 * Reading is strict: a client record with an unknown role, a bad name or
 * an unexpected member stops vault_open with an error naming the file,
 * since guessing at a credential's meaning is how access widens.
 * The tables' rules for threads are in vault_struct.h.
 */
#include "vault_state.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "files.h"
#include "vault_struct.h"

#define TOKEN_MAX 128 /* longer presented tokens are refused before hashing */

static int cmp_client(const void *a, const void *b)
{
	return strcmp(((const vault_client *)a)->name, ((const vault_client *)b)->name);
}

static int load_clients(vault *v)
{
	char *dir = NULL, *path = NULL;
	size_t len, n = 0;
	struct dirent *de;
	DIR *d = NULL;
	int err = 0;

	if (asprintf(&dir, "%s/clients", v->dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if (!(d = opendir(dir))) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s", dir);
		goto done;
	}
	while ((de = readdir(d)) != NULL) {
		char stem[VAULT_NAME_MAX + 1];

		if (de->d_name[0] == '.')
			continue; /* ".", "..", and records being written */
		free(path);
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			path = NULL;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		len = strlen(de->d_name);
		if (len <= 5 || len - 5 > VAULT_NAME_MAX || strcmp(de->d_name + len - 5, ".json")) {
			err = kura_error_set(KURA_ECORRUPT, "%s: not a client record (NAME.json)",
					     path);
			goto done;
		}
		memcpy(stem, de->d_name, len - 5);
		stem[len - 5] = '\0';
		if (n == VAULT_CLIENTS_MAX) {
			err = kura_error_set(KURA_EUNSUPPORTED, "%s: more than %d clients", dir,
					     VAULT_CLIENTS_MAX);
			goto done;
		}
		if ((err = vault_client_parse(&v->clients[n], path, stem)) < 0)
			goto done;
		n++;
	}
	qsort(v->clients, n, sizeof(*v->clients), cmp_client);
	v->nclients = n;
done:
	if (d)
		closedir(d);
	free(path);
	free(dir);
	return err;
}

static int load_secrets(vault *v)
{
	char *path = NULL, *sk = NULL;
	size_t len = 0;
	int err = 0;

	if (asprintf(&path, "%s/signing.key", v->dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &sk, &len)) < 0)
		goto done;
	if (len != sizeof(v->sign_sk)) {
		err = kura_error_set(KURA_ECORRUPT, "%s: not a %zu-byte Ed25519 secret key", path,
				     sizeof(v->sign_sk));
		goto done;
	}
	memcpy(v->sign_sk, sk, len);
	free(path);
	if (asprintf(&path, "%s/tls/cert.pem", v->dir) < 0) {
		path = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &v->cert_pem, NULL)) < 0)
		goto done;
	free(path);
	if (asprintf(&path, "%s/tls/key.pem", v->dir) < 0) {
		path = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	err = files_read(path, VAULT_SMALL_FILE_MAX, &v->key_pem, NULL);
done:
	if (sk) {
		kura_wipe(sk, len);
		free(sk);
	}
	free(path);
	return err;
}

static int open_vault(vault **out, const char *dir, bool with_audit, bool accept_rollback)
{
	vault *v = NULL;
	int err;

	*out = NULL;
	if ((err = kura_crypto_init()) < 0)
		return err;
	if (!(v = calloc(1, sizeof(*v))) || !(v->dir = strdup(dir))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (!(v->clients = calloc(VAULT_CLIENTS_MAX, sizeof(*v->clients))) ||
	    !(v->repos = calloc(VAULT_CLIENTS_MAX, sizeof(*v->repos)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = vault_settings_load(dir, &v->listen, &v->reserve)) < 0 ||
	    (err = load_secrets(v)) < 0 || (err = load_clients(v)) < 0 ||
	    (err = vault_store_load(&v->store, dir)) < 0)
		goto done;
	/* Serving (not status): only on a prefix this vault claimed (vault_store.h). */
	if (with_audit && !vault_store_on_disk(v->store)) {
		char id[65];

		if ((err = vault_store_vault_id(dir, id)) < 0 ||
		    (err = vault_store_check_claim(v->store, id)) < 0)
			goto done;
	}
	vault_repos_collect(v);
	if (with_audit && (err = audit_open(&v->audit, dir, v->sign_sk, accept_rollback)) < 0)
		goto done;
	*out = v;
	v = NULL;
done:
	vault_free(v);
	return err;
}

int vault_open(vault **out, const char *dir)
{
	return open_vault(out, dir, true, false);
}

int vault_open_serve(vault **out, const char *dir, bool accept_log_rollback)
{
	return open_vault(out, dir, true, accept_log_rollback);
}

int vault_open_readonly(vault **out, const char *dir)
{
	return open_vault(out, dir, false, false);
}

void vault_free(vault *v)
{
	size_t i;

	if (!v)
		return;
	audit_close(v->audit);
	for (i = 0; i < v->nrepos; i++) {
		if (v->repos[i].b)
			v->repos[i].b->free(v->repos[i].b);
		pthread_rwlock_destroy(&v->repos[i].gc_lock);
		pthread_mutex_destroy(&v->repos[i].commit);
		pthread_mutex_destroy(&v->repos[i].lock);
	}
	free(v->repos);
	free(v->clients);
	vault_store_free(v->store);
	free(v->approvers_seen);
	if (v->key_pem) {
		kura_wipe(v->key_pem, strlen(v->key_pem));
		free(v->key_pem);
	}
	kura_wipe(v->sign_sk, sizeof(v->sign_sk));
	free(v->cert_pem);
	free(v->listen);
	free(v->dir);
	free(v);
}

bool vault_on_disk(const vault *v)
{
	return vault_store_on_disk(v->store);
}

const vault_store *vault_get_store(const vault *v)
{
	return v->store;
}

int64_t vault_reserve(const vault *v)
{
	return v->reserve;
}

const char *vault_dir(const vault *v)
{
	return v->dir;
}
const char *vault_listen_addr(const vault *v)
{
	return v->listen;
}
const char *vault_tls_cert(const vault *v)
{
	return v->cert_pem;
}
const char *vault_tls_key(const vault *v)
{
	return v->key_pem;
}
vault_audit *vault_get_audit(vault *v)
{
	return v->audit;
}

/* For `kurad serve --listen`: settings on the command line win. */
int vault_set_listen(vault *v, const char *listen)
{
	char *copy;

	if (!vault_listen_ok(listen))
		return kura_error_set(KURA_EINVAL,
				      "bad listen address '%s' (ADDR:PORT, or [V6]:PORT)", listen);
	if (!(copy = strdup(listen)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	free(v->listen);
	v->listen = copy;
	return 0;
}

const vault_client *vault_authenticate(const vault *v, const char *token)
{
	uint8_t hash[KURA_HASH_SIZE];
	const vault_client *found = NULL;
	size_t len, i, n = v->nclients;

	if (!token || (len = strnlen(token, TOKEN_MAX + 1)) == 0 || len > TOKEN_MAX)
		return NULL;
	kura_sha256(hash, token, len);
	/* Every client is compared, whichever matches: the time says nothing. */
	for (i = 0; i < n; i++) {
		int eq = kura_ct_equal(hash, v->clients[i].token_sha256, sizeof(hash));

		found = eq ? &v->clients[i] : found;
	}
	return found && !atomic_load(&found->revoked) ? found : NULL;
}

/* ------------------------------------------------------------------ */
/* The tables, for status.c                                            */

size_t vault_client_count(const vault *v)
{
	return v->nclients;
}

const vault_client *vault_client_at(const vault *v, size_t i)
{
	return &v->clients[i];
}

const vault_client *vault_client_named(const vault *v, const char *name)
{
	for (size_t i = 0; i < v->nclients; i++)
		if (strcmp(v->clients[i].name, name) == 0)
			return &v->clients[i];
	return NULL;
}
