/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_state.c - the state `kurad serve` works from (vault_state.h): the
 * vault directory loaded (settings, clients, TLS identity, signing key),
 * the per-repository backends and locks, and the once-a-second reload of
 * what the operator changed on the vault host.  Creating a vault and
 * issuing or revoking credentials is vault_admin.c; `kurad status` is
 * status.c.  The directory's layout:
 *
 *	DIR/vault.json            {"listen": "ADDR:PORT", "version": 1, "reserve": BYTES,
 *	                           "alert_command": [ARGV...]}
 *	DIR/tls/cert.pem, key.pem TLS identity (tls.c; key mode 0600)
 *	DIR/signing.key           Ed25519 secret key, 64 bytes (mode 0600)
 *	DIR/signing.pub           its public key, 32 bytes (for `kurad log verify`)
 *	DIR/clients/NAME.json     {"name", "role", "repo", "token_sha256", "created"}
 *	DIR/repos/REPO/           a repository in the local backend's layout
 *	DIR/meta/REPO/            snapshot-times: "NAME RECEIVED_NS CLIENT" lines
 *	DIR/audit/log.jsonl       the audit log (audit.c)
 *
 * Reading is strict: a client record with an unknown role, a bad name or
 * an unexpected member stops vault_open with an error naming the file,
 * since guessing at a credential's meaning is how access widens.
 *
 * The client and repository tables have fixed room from vault_open on and
 * only grow at the end (vault_reload, from one thread): an entry is filled
 * in before the atomic count that publishes it, and never moves, so request
 * threads read them without a lock.  Revocation is an atomic flag.  The
 * other shared mutable state is the per-repository backend cache, behind
 * the mutex, and the audit log, which has its own.
 */
#include "vault_state.h"

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

#include "audit.h"
#include "common/array.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "files.h"
#include "kura/keyless.h"
#include "policy.h"

#define TOKEN_MAX 128 /* longer presented tokens are refused before hashing */

typedef struct {
	char name[VAULT_NAME_MAX + 1];
	kura_backend *b;	  /* opened on first use */
	pthread_rwlock_t gc_lock; /* vault_repo_lock_*(): uploads shared, GC exclusive */
	_Atomic uint64_t gc_gen;  /* counts vault_repo_lock_exclusive() */
	pthread_mutex_t commit;	  /* vault_repo_commit_lock(): one commit at a time */
	pthread_mutex_t lock;	  /* b and meta/REPO/ appends: short bookkeeping only */
} repo_slot;

struct vault {
	char *dir;
	char *listen;
	int64_t reserve; /* vault.json's "reserve"; -1: the default (reserve.h) */
	char *cert_pem;
	char *key_pem;
	uint8_t sign_sk[KURA_SIGN_SECKEY_SIZE];
	vault_client *clients; /* VAULT_CLIENTS_MAX slots; entries never move */
	_Atomic size_t nclients;
	repo_slot *repos;      /* as many slots: each client names at most one */
	_Atomic size_t nrepos; /* every published slot has its locks initialised */
	vault_audit *audit;
	/* vault_reload's stock of approvers and policy (its thread only) */
	bool stock_taken;
	struct file_seen *approvers_seen;
	size_t napprovers_seen;
	uint8_t policy_seen[KURA_HASH_SIZE];
	struct timespec clients_mtime; /* of DIR/clients when last scanned */
	int clients_error;
};

struct file_seen {
	char name[VAULT_NAME_MAX + 1];
	uint8_t hash[KURA_HASH_SIZE];
	bool present; /* scratch for one reload */
};

/* ------------------------------------------------------------------ */
/* Names                                                               */

vault_role vault_role_parse(const char *s)
{
	if (!s)
		return 0;
	if (strcmp(s, "writer") == 0)
		return VAULT_ROLE_WRITER;
	if (strcmp(s, "reader") == 0)
		return VAULT_ROLE_READER;
	if (strcmp(s, "auditor") == 0)
		return VAULT_ROLE_AUDITOR;
	return 0;
}

const char *vault_role_name(vault_role r)
{
	switch (r) {
	case VAULT_ROLE_WRITER:
		return "writer";
	case VAULT_ROLE_READER:
		return "reader";
	case VAULT_ROLE_AUDITOR:
		return "auditor";
	}
	return NULL;
}

int vault_name_ok(const char *s)
{
	size_t i;

	if (!s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 1; s[i]; i++) {
		char c = s[i];

		if (i > VAULT_NAME_MAX - 1)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

/*
 * "A.B.C.D:PORT" or "[IPv6]:PORT" with a port in 1..65535: an address,
 * never a host name, so what `serve` binds to is what the operator wrote.
 */
int vault_listen_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	char host[INET6_ADDRSTRLEN + 1];
	unsigned char addr[sizeof(struct in6_addr)];
	size_t hlen;
	char *end;
	long port;

	if (!colon || colon[1] < '0' || colon[1] > '9')
		return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || errno || port < 1 || port > 65535)
		return 0;
	hlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hlen < 3 || colon[-1] != ']' || hlen - 2 >= sizeof(host))
			return 0;
		memcpy(host, s + 1, hlen - 2);
		host[hlen - 2] = '\0';
		return inet_pton(AF_INET6, host, addr) == 1;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return 0;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	return inet_pton(AF_INET, host, addr) == 1;
}

/* vault.json: the listen address and the reserve.  *out_listen is malloc'd. */
int vault_settings_load(const char *dir, char **out_listen, int64_t *out_reserve)
{
	char *path = NULL, *text = NULL;
	json_t *doc = NULL;
	json_error_t jerr;
	const char *listen;
	json_t *alert_command;
	json_int_t version, reserve = -1;
	int err = 0;

	*out_listen = NULL;
	if (out_reserve)
		*out_reserve = -1;
	if (asprintf(&path, "%s/vault.json", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &text, NULL)) < 0) {
		if (err == KURA_ENOTFOUND)
			err = kura_error_set(KURA_ENOTFOUND, "%s: no vault here (no vault.json)",
					     dir);
		goto done;
	}
	if (!(doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
		goto done;
	}
	/* "alert_command" is alert_command.c's to check, when an alert needs it. */
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:I, s?I, s?o}", "listen", &listen,
			   "version", &version, "reserve", &reserve, "alert_command",
			   &alert_command) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: %s", path, jerr.text);
		goto done;
	}
	if (version != VAULT_SETTINGS_VERSION) {
		err = kura_error_set(KURA_EUNSUPPORTED,
				     "%s: version %" JSON_INTEGER_FORMAT
				     " not understood (this kurad knows %d)",
				     path, version, VAULT_SETTINGS_VERSION);
		goto done;
	}
	if (!vault_listen_ok(listen)) {
		err = kura_error_set(KURA_ECORRUPT, "%s: bad listen address '%s'", path, listen);
		goto done;
	}
	if (json_object_get(doc, "reserve") && reserve < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: reserve %" JSON_INTEGER_FORMAT
					" is not a number of bytes",
				     path, reserve);
		goto done;
	}
	if (out_reserve)
		*out_reserve = reserve;
	if (!(*out_listen = strdup(listen)))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
done:
	json_decref(doc);
	free(text);
	free(path);
	return err;
}

/* ------------------------------------------------------------------ */
/* Loading a vault                                                     */

int vault_client_parse(vault_client *c, const char *path, const char *stem)
{
	char *text = NULL;
	json_t *doc = NULL, *repo_j;
	json_error_t jerr;
	const char *name, *role, *hex, *created, *revoked = NULL;
	int err = 0;

	memset(c, 0, sizeof(*c));
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &text, NULL)) < 0)
		return err;
	if (!(doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
		goto done;
	}
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:s, s:o, s:s, s:s, s?:s}", "name",
			   &name, "role", &role, "repo", &repo_j, "token_sha256", &hex, "created",
			   &created, "revoked", &revoked) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: %s", path, jerr.text);
		goto done;
	}
	if (!vault_name_ok(name) || strcmp(name, stem) != 0) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: bad client name '%s' (must be valid and "
				     "match the file name)",
				     path, name);
		goto done;
	}
	if (!(c->role = vault_role_parse(role))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: unknown role '%s'", path, role);
		goto done;
	}
	if (c->role == VAULT_ROLE_AUDITOR ? !json_is_null(repo_j)
					  : !vault_name_ok(json_string_value(repo_j))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: bad \"repo\" for a %s", path, role);
		goto done;
	}
	if (strlen(hex) != 64 || kura_unhex(c->token_sha256, hex, 32) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: bad token_sha256", path);
		goto done;
	}
	strcpy(c->name, name);
	if (c->role != VAULT_ROLE_AUDITOR)
		strcpy(c->repo, json_string_value(repo_j));
	atomic_init(&c->revoked, revoked != NULL);
done:
	json_decref(doc);
	free(text);
	return err;
}

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

static int cmp_repo(const void *a, const void *b)
{
	return strcmp(((const repo_slot *)a)->name, ((const repo_slot *)b)->name);
}

/* The slot of repository `repo`, or NULL. */
static repo_slot *find_repo(vault *v, const char *repo)
{
	size_t i, n = v->nrepos;

	if (!repo)
		return NULL;
	for (i = 0; i < n; i++)
		if (strcmp(v->repos[i].name, repo) == 0)
			return &v->repos[i];
	return NULL;
}

/* Publish a slot for `repo` if it has none (one thread at a time). */
static void add_repo(vault *v, const char *repo)
{
	size_t n = v->nrepos;

	if (!repo[0] || find_repo(v, repo))
		return;
	memset(&v->repos[n], 0, sizeof(v->repos[n]));
	strcpy(v->repos[n].name, repo);
	pthread_rwlock_init(&v->repos[n].gc_lock, NULL);
	pthread_mutex_init(&v->repos[n].commit, NULL);
	pthread_mutex_init(&v->repos[n].lock, NULL);
	v->nrepos = n + 1; /* seq_cst store: the slot is complete before it is seen */
}

/* The repositories that clients name, each once, in name order. */
static void collect_repos(vault *v)
{
	for (size_t i = 0; i < v->nclients; i++)
		add_repo(v, v->clients[i].repo);
	qsort(v->repos, v->nrepos, sizeof(*v->repos), cmp_repo); /* before any lock is used */
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
	if ((err = vault_settings_load(dir, &v->listen, &v->reserve)) < 0 || (err = load_secrets(v)) < 0 ||
	    (err = load_clients(v)) < 0)
		goto done;
	collect_repos(v);
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
/* Repositories                                                        */

/*
 * Uploads that a crash or a dropped connection cut short leave their
 * temporary files in tmp/; an upload is one request, so an hour-old one
 * is nobody's.  Cleared when the repository is first used.
 */
static void clean_stale_uploads(kura_backend *b, const char *name)
{
	uint64_t files, bytes;

	if (kura_backend_local_clean_tmp(b, 3600, 0, &files, &bytes) < 0)
		fprintf(stderr, "kurad: repository %s: %s\n", name, kura_error_message());
	else if (files)
		fprintf(stderr,
			"kurad: repository %s: removed %llu interrupted upload%s (%llu bytes)\n",
			name, (unsigned long long)files, files == 1 ? "" : "s",
			(unsigned long long)bytes);
}

int vault_repo(vault *v, const char *repo, kura_backend **out)
{
	repo_slot *s = find_repo(v, repo);
	char *path = NULL;
	int err = 0;

	*out = NULL;
	if (!s)
		return kura_error_set(KURA_ENOTFOUND, "no repository '%s' in this vault",
				      repo ? repo : "");
	/* Per repository: a first use's tmp/ sweep delays only its own repository. */
	pthread_mutex_lock(&s->lock);
	if (!s->b) {
		if (asprintf(&path, "%s/repos/%s", v->dir, s->name) < 0) {
			path = NULL;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		if ((err = kura_backend_local_open(&s->b, path)) < 0)
			goto done;
		clean_stale_uploads(s->b, s->name);
	}
	*out = s->b;
done:
	pthread_mutex_unlock(&s->lock);
	free(path);
	return err;
}

static int repo_lock(vault *v, const char *repo, bool exclusive)
{
	repo_slot *s = find_repo(v, repo);
	int rc;

	if (!s)
		return kura_error_set(KURA_ENOTFOUND, "no repository '%s' in this vault",
				      repo ? repo : "");
	rc = exclusive ? pthread_rwlock_wrlock(&s->gc_lock) : pthread_rwlock_rdlock(&s->gc_lock);
	if (rc != 0)
		return kura_error_errno(KURA_EIO, rc, "repository '%s': lock", repo);
	if (exclusive)
		atomic_fetch_add(&s->gc_gen, 1); /* before anything is removed */
	return 0;
}

int vault_repo_lock_shared(vault *v, const char *repo)
{
	return repo_lock(v, repo, false);
}

int vault_repo_lock_exclusive(vault *v, const char *repo)
{
	return repo_lock(v, repo, true);
}

void vault_repo_unlock(vault *v, const char *repo)
{
	repo_slot *s = find_repo(v, repo);

	if (s)
		pthread_rwlock_unlock(&s->gc_lock);
}

uint64_t vault_repo_gc_generation(vault *v, const char *repo)
{
	repo_slot *s = find_repo(v, repo);

	return s ? atomic_load(&s->gc_gen) : 0;
}

int vault_repo_commit_lock(vault *v, const char *repo)
{
	repo_slot *s = find_repo(v, repo);

	if (!s)
		return kura_error_set(KURA_ENOTFOUND, "no repository '%s' in this vault",
				      repo ? repo : "");
	pthread_mutex_lock(&s->commit);
	return 0;
}

void vault_repo_commit_unlock(vault *v, const char *repo)
{
	repo_slot *s = find_repo(v, repo);

	if (s)
		pthread_mutex_unlock(&s->commit);
}

static int stop_at_first(const char *name, uint64_t size, void *ctx)
{
	*(bool *)ctx = true;
	return 1;
}

int vault_repo_initialised(vault *v, const char *repo)
{
	kura_backend *b;
	bool any = false;

	/* When in doubt, closed: config and keys are refused to writers. */
	if (vault_repo(v, repo, &b) < 0 || b->list(b, KURA_FILE_CONFIG, stop_at_first, &any) < 0)
		return 1;
	return any ? 1 : 0;
}

int vault_record_snapshot(vault *v, const char *repo, const char *name, int64_t received_ns,
			  const char *client)
{
	char *path = NULL, *line = NULL;
	int fd = -1, len, err = 0;
	ssize_t n;
	repo_slot *s = find_repo(v, repo);

	if (!s)
		return kura_error_set(KURA_ENOTFOUND, "no repository '%s' in this vault",
				      repo ? repo : "");
	if (!kura_file_name_ok(name) || !vault_name_ok(client))
		return kura_error_set(KURA_EINVAL, "snapshot record: bad snapshot or client name");
	if (asprintf(&path, "%s/meta/%s/snapshot-times", v->dir, repo) < 0 ||
	    (len = asprintf(&line, "%s %" PRId64 " %s\n", name, received_ns, client)) < 0) {
		path = line = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	pthread_mutex_lock(&s->lock);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == ENOENT) {
		char *meta = NULL;

		if (asprintf(&meta, "meta/%s", repo) >= 0 && files_make_dir(v->dir, meta) == 0)
			fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
				  0600);
		free(meta);
	}
	if (fd < 0) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s", path);
	} else {
		n = write(fd, line, (size_t)len);
		if (n >= 0 && n != len)
			errno = ENOSPC; /* a short write: the caller answers by errno */
		if (n != len || fsync(fd) < 0)
			err = kura_error_errno(KURA_EIO, errno, "%s: cannot append", path);
		close(fd);
	}
	pthread_mutex_unlock(&s->lock);
done:
	free(line);
	free(path);
	return err;
}

int vault_signing_key_b64(const char *dir, char out[VAULT_SIGNING_KEY_B64])
{
	char *path = NULL, *pk = NULL;
	size_t len = 0;
	int err;

	if (asprintf(&path, "%s/signing.pub", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &pk, &len)) < 0) {
		if (err == KURA_ENOTFOUND)
			err = kura_error_set(KURA_ENOTFOUND, "%s: no vault here (no signing.pub)",
					     dir);
		goto done;
	}
	if (len != KURA_SIGN_PUBKEY_SIZE) {
		err = kura_error_set(KURA_ECORRUPT, "%s: not a %d-byte Ed25519 public key", path,
				     KURA_SIGN_PUBKEY_SIZE);
		goto done;
	}
	kura_base64(out, pk, len);
done:
	free(pk);
	free(path);
	return err;
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

size_t vault_repo_count(const vault *v)
{
	return v->nrepos;
}

const char *vault_repo_name(const vault *v, size_t i)
{
	return v->repos[i].name;
}

/* ------------------------------------------------------------------ */
/* Reload                                                              */

/* One audit entry for a change made on the vault host (not a request). */
static int audit_admin(vault *v, const char *who, const char *role, const char *method,
		       const char *path, uint64_t bytes)
{
	vault_audit_entry e = {.peer = "local",
			       .client = who,
			       .role = role,
			       .method = method,
			       .path = path,
			       .status = 200,
			       .bytes = bytes};

	return v->audit ? audit_append(v->audit, &e) : 0;
}

static const vault_client *find_client(const vault *v, const char *name)
{
	size_t i, n = v->nclients;

	for (i = 0; i < n; i++)
		if (strcmp(v->clients[i].name, name) == 0)
			return &v->clients[i];
	return NULL;
}

/*
 * The stem of a NAME.json directory entry into `stem`, or false for
 * entries that are not records (dot files, other names).
 */
static bool record_stem(const char *entry, char stem[VAULT_NAME_MAX + 1])
{
	size_t len = strlen(entry);

	if (entry[0] == '.' || len <= 5 || len - 5 > VAULT_NAME_MAX ||
	    strcmp(entry + len - 5, ".json") != 0)
		return false;
	memcpy(stem, entry, len - 5);
	stem[len - 5] = '\0';
	return vault_name_ok(stem);
}

/* Clients issued or revoked since the last look. */
static int reload_clients(vault *v, bool log)
{
	char *dir = NULL, *path = NULL, stem[VAULT_NAME_MAX + 1], apath[VAULT_NAME_MAX + 16];
	struct dirent *de;
	struct stat st = {0};
	DIR *d;
	int err = 0, e;

	if (asprintf(&dir, "%s/clients", v->dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	/* Records appear by link() and change by rename(): both touch the directory. */
	if (stat(dir, &st) == 0 && st.st_mtim.tv_sec == v->clients_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == v->clients_mtime.tv_nsec && v->clients_error == 0) {
		free(dir);
		return 0;
	}
	if (!(d = opendir(dir))) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s", dir);
		free(dir);
		return err;
	}
	while ((de = readdir(d)) != NULL) {
		const vault_client *known;
		size_t n = v->nclients;

		if (!record_stem(de->d_name, stem))
			continue;
		free(path);
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			path = NULL;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			break;
		}
		snprintf(apath, sizeof(apath), "/v1/clients/%s", stem);
		known = find_client(v, stem);
		if (known && atomic_load(&known->revoked))
			continue; /* revocation is final */
		if (known) {
			vault_client now;

			if ((e = vault_client_parse(&now, path, stem)) < 0) {
				err = e;
				continue;
			}
			if (!atomic_load(&now.revoked))
				continue;
			if (log && (e = audit_admin(v, stem, vault_role_name(known->role), "REVOKE",
						    apath, 0)) < 0)
				err = e;
			atomic_store(&((vault_client *)known)->revoked, true);
			continue;
		}
		if (n == VAULT_CLIENTS_MAX) {
			err = kura_error_set(KURA_EUNSUPPORTED, "%s: more than %d clients", dir,
					     VAULT_CLIENTS_MAX);
			continue;
		}
		if ((e = vault_client_parse(&v->clients[n], path, stem)) < 0) {
			err = e;
			continue;
		}
		/* Logged before the token works: no request of it precedes its issue. */
		if (log &&
		    (e = audit_admin(v, stem, vault_role_name(v->clients[n].role),
				     atomic_load(&v->clients[n].revoked) ? "REVOKE" : "ISSUE",
				     apath, 0)) < 0) {
			err = e;
			continue;
		}
		add_repo(v, v->clients[n].repo);
		v->nclients = n + 1;
	}
	closedir(d);
	free(path);
	free(dir);
	v->clients_mtime = st.st_mtim;
	v->clients_error = err; /* look again next time until every record reads */
	return err;
}

/* SHA-256 of a small file's bytes; false if it cannot be read. */
static bool hash_file(const char *path, uint8_t out[KURA_HASH_SIZE], size_t *len)
{
	char *text = NULL;

	if (files_read(path, VAULT_SMALL_FILE_MAX, &text, len) < 0)
		return false;
	kura_sha256(out, text, *len);
	free(text);
	return true;
}

/* Approvers added, replaced or removed, and policy changes, since the last look. */
static int reload_approvers_policy(vault *v, bool log)
{
	char *dir = NULL, *path = NULL, stem[VAULT_NAME_MAX + 1], apath[VAULT_NAME_MAX + 20];
	uint8_t h[KURA_HASH_SIZE];
	struct dirent *de;
	size_t len, i;
	DIR *d;
	int err = 0, e;

	for (i = 0; i < v->napprovers_seen; i++)
		v->approvers_seen[i].present = false;
	if (asprintf(&dir, "%s/approvers", v->dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	d = opendir(dir);
	while (d && (de = readdir(d)) != NULL) {
		struct file_seen *f = NULL;
		const char *what;

		if (!record_stem(de->d_name, stem))
			continue;
		free(path);
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			path = NULL;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			break;
		}
		if (!hash_file(path, h, &len))
			continue;
		for (i = 0; i < v->napprovers_seen && !f; i++)
			if (strcmp(v->approvers_seen[i].name, stem) == 0)
				f = &v->approvers_seen[i];
		if (f && memcmp(f->hash, h, sizeof(h)) == 0) {
			f->present = true;
			continue;
		}
		what = f ? "REPLACE-APPROVER" : "ADD-APPROVER";
		if (!f) {
			size_t cap = v->napprovers_seen;

			if ((e = kura_array_grow((void **)&v->approvers_seen, &cap,
						 v->napprovers_seen + 1,
						 sizeof(*v->approvers_seen))) < 0) {
				err = e;
				break;
			}
			f = &v->approvers_seen[v->napprovers_seen++];
			snprintf(f->name, sizeof(f->name), "%s", stem);
		}
		memcpy(f->hash, h, sizeof(h));
		f->present = true;
		snprintf(apath, sizeof(apath), "/v1/approvers/%s", stem);
		if (log && (e = audit_admin(v, stem, "approver", what, apath, len)) < 0)
			err = e;
	}
	if (d)
		closedir(d);
	for (i = 0; i < v->napprovers_seen;) {
		if (v->approvers_seen[i].present) {
			i++;
			continue;
		}
		snprintf(apath, sizeof(apath), "/v1/approvers/%s", v->approvers_seen[i].name);
		if (log && (e = audit_admin(v, v->approvers_seen[i].name, "approver",
					    "REMOVE-APPROVER", apath, 0)) < 0)
			err = e;
		v->approvers_seen[i] = v->approvers_seen[--v->napprovers_seen];
	}
	free(path);
	path = NULL;
	if (asprintf(&path, "%s/policy.json", v->dir) < 0) {
		free(dir);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	if (hash_file(path, h, &len) && memcmp(h, v->policy_seen, sizeof(h)) != 0) {
		memcpy(v->policy_seen, h, sizeof(h));
		if (log && (e = audit_admin(v, "kurad", "vault", "POLICY", "/v1/policy", len)) < 0)
			err = e;
	}
	free(path);
	free(dir);
	return err;
}

int vault_reload(vault *v)
{
	bool log = v->stock_taken;
	int err, e;

	v->stock_taken = true;
	err = reload_clients(v, log);
	if ((e = reload_approvers_policy(v, log)) < 0 && err == 0)
		err = e;
	return err;
}
