/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault.h - the vault directory (docs/PROTOCOL.md, "Vault directory"):
 * creating it, issuing client credentials, and the state `kurad serve`
 * works from (settings, clients, TLS identity, repositories, audit log).
 *
 * The vault holds no repository key.  Client tokens are stored only as
 * their SHA-256.  Everything here is safe to call from several request
 * threads once vault_open() has returned.
 */
#ifndef KURA_SERVER_VAULT_H
#define KURA_SERVER_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kura/backend.h"
#include "kura/kura.h"

typedef enum { VAULT_ROLE_WRITER = 1, VAULT_ROLE_READER = 2, VAULT_ROLE_AUDITOR = 3 } vault_role;

#define VAULT_NAME_MAX 63

typedef struct {
	char name[VAULT_NAME_MAX + 1];
	vault_role role;
	char repo[VAULT_NAME_MAX + 1];     /* "" for auditors */
	uint8_t token_sha256[32];
	_Atomic bool revoked;              /* `kurad client revoke`: the token opens nothing */
} vault_client;

/*
 * The client and repository tables of a serving vault have fixed room, so
 * that `kurad client add` can take effect while `kurad serve` runs
 * (vault_reload) without moving an entry a request is using.
 */
#define VAULT_CLIENTS_MAX 4096

typedef struct vault vault;
typedef struct vault_audit vault_audit;

/* "writer", "reader", "auditor" <-> role; 0 / NULL when unknown. */
vault_role vault_role_parse(const char *s);
const char *vault_role_name(vault_role r);

/* 1 if s is a valid repository or client name: [a-z0-9][a-z0-9._-]{0,62}. */
int vault_name_ok(const char *s);

/*
 * Create a vault in `dir` (missing or empty): layout, settings with the
 * listen address, an ECDSA P-256 TLS key and self-signed certificate, an
 * Ed25519 signing key.  Prints nothing; *out_pin gets the certificate's
 * pin ("sha256//BASE64", malloc'd) for the operator.
 */
int vault_init(const char *dir, const char *listen, char **out_pin);

/*
 * Issue a credential: a random 32-byte token, stored in the vault only as
 * its SHA-256, written with the vault address and pin to `output` (mode
 * 0600, never overwritten).  Creates the repository's directory for
 * writers and readers.  KURA_EEXISTS if the client name is taken.
 */
int vault_client_add(const char *dir, const char *name, vault_role role, const char *repo,
		     const char *output);

/*
 * `kurad client revoke`: mark client NAME's record revoked (rewritten
 * atomically; the record stays, so the name is never issued again).  A
 * running `kurad serve` refuses the token from its next reload on.
 * KURA_ENOTFOUND for an unknown client, KURA_EEXISTS if already revoked.
 */
int vault_client_revoke(const char *dir, const char *name);

/*
 * `kurad serve`'s reload, once a second: clients issued or revoked, and
 * approvers and the policy changed, since the last call take effect and
 * are written to the audit log (the first call only takes stock).  A
 * record that cannot be read is reported (KURA_ECORRUPT naming it) and
 * skipped; the rest still loads.
 */
int vault_reload(vault *v);

/* Load a vault for serving (or for status). */
int vault_open(vault **out, const char *dir);

/*
 * As vault_open, without opening the audit log (vault_get_audit() returns
 * NULL): for `kurad status`, which may run while `kurad serve` holds it.
 */
int vault_open_readonly(vault **out, const char *dir);

/* Serve on `listen` ("ADDR:PORT", "[V6]:PORT") instead of vault.json's address. */
int vault_set_listen(vault *v, const char *listen);

void vault_free(vault *v);

const char *vault_dir(const vault *v);
const char *vault_listen_addr(const vault *v);   /* "127.0.0.1:7443" */
const char *vault_tls_cert(const vault *v);      /* PEM text */
const char *vault_tls_key(const vault *v);       /* PEM text */
vault_audit *vault_get_audit(vault *v);

/* The client whose token this is, or NULL (constant-time over all clients). */
const vault_client *vault_authenticate(const vault *v, const char *token);

/*
 * The repository `repo`'s storage (a local backend on DIR/repos/REPO),
 * opened once and shared; KURA_ENOTFOUND if no client names that repo.
 * Borrowed: valid until vault_free.
 */
int vault_repo(vault *v, const char *repo, kura_backend **out);

/*
 * The repository's reader-writer lock: a snapshot upload holds it shared
 * from checking the snapshot's pack list until the snapshot is stored;
 * garbage collection holds it exclusive while it removes packs, so a
 * snapshot is never stored with packs collected under it.
 * KURA_ENOTFOUND if no client names that repo.
 */
int vault_repo_lock_shared(vault *v, const char *repo);
int vault_repo_lock_exclusive(vault *v, const char *repo);
void vault_repo_unlock(vault *v, const char *repo);

/* 1 if the repository has a config file (then config and keys are closed to writers). */
int vault_repo_initialised(vault *v, const char *repo);

/* Append "NAME RECEIVED_NS CLIENT" to DIR/meta/REPO/snapshot-times (fsynced). */
int vault_record_snapshot(vault *v, const char *repo, const char *name, int64_t received_ns,
			  const char *client);

/*
 * Status for `kurad status`: repositories (files, bytes, snapshots, last
 * snapshot receive time), clients (name, role, repo).  Returns malloc'd
 * JSON text.
 */
int vault_status_json(vault *v, char **out);

#endif
