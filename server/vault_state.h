/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_state.h - the vault directory as `kurad serve` works from it
 * (docs/PROTOCOL.md, "Vault directory"): settings, clients, TLS identity,
 * repositories, audit log, and the reload of what the operator changed.
 * Creating a vault and issuing credentials: vault_admin.h.  Implemented
 * by vault_state.c (loading, clients), vault_records.c (the records,
 * read strictly), vault_repos.c (repositories and their locks) and
 * vault_reload.c (what changed while serving).
 *
 * The vault holds no repository key.  Client tokens are stored only as
 * their SHA-256.  Everything here is safe to call from several request
 * threads once vault_open() has returned, except vault_reload (one thread).
 */
#ifndef KURA_SERVER_VAULT_STATE_H
#define KURA_SERVER_VAULT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "vault_records.h"
#include "vault_store.h"
#include "kura/sys/backend.h"
#include "kura/kura.h"

/*
 * The client and repository tables of a serving vault have fixed room, so
 * that `kurad client add` can take effect while `kurad serve` runs
 * (vault_reload) without moving an entry a request is using.
 */
#define VAULT_CLIENTS_MAX 4096

typedef struct vault vault;

/*
 * `kurad serve`'s reload, once a second: clients issued or revoked, and
 * approvers and the policy changed, since the last call take effect and
 * are written to the audit log (the first call only takes stock; serve
 * then logs what changed while it was stopped: stock.h).  A
 * record that cannot be read is reported (KURA_ECORRUPT naming it) and
 * skipped; the rest still loads.
 */
int vault_reload(vault *v);

/* Load a vault for serving (or for status). */
int vault_open(vault **out, const char *dir);
/* As vault_open; `accept_log_rollback` lets a log cut back start (logged: audit.h). */
int vault_open_serve(vault **out, const char *dir, bool accept_log_rollback);

/*
 * As vault_open, without opening the audit log (vault_get_audit() returns
 * NULL): for `kurad status`, which may run while `kurad serve` holds it.
 */
int vault_open_readonly(vault **out, const char *dir);

/* Serve on `listen` ("ADDR:PORT", "[V6]:PORT") instead of vault.json's address. */
int vault_set_listen(vault *v, const char *listen);

void vault_free(vault *v);

const char *vault_dir(const vault *v);
/* vault.json's "reserve" in bytes; -1 if not set (reserve.h says the default). */
int64_t vault_reserve(const vault *v);
const char *vault_listen_addr(const vault *v); /* "127.0.0.1:7443" */
const char *vault_tls_cert(const vault *v);    /* PEM text */
const char *vault_tls_key(const vault *v);     /* PEM text */
vault_audit *vault_get_audit(vault *v);

/* true when the repositories are on the vault's own disk (not on S3). */
bool vault_on_disk(const vault *v);
/* Where the repositories are (vault_store.h); borrowed. */
const vault_store *vault_get_store(const vault *v);

/* The client whose token this is, or NULL (constant-time over all clients). */
const vault_client *vault_authenticate(const vault *v, const char *token);

/*
 * The repository `repo`'s storage (a local backend on DIR/repos/REPO, or
 * PREFIX/REPO/ on S3 behind an upload spool: vault_store.h),
 * opened once and shared; KURA_ENOTFOUND if no client names that repo.
 * Borrowed: valid until vault_free.
 */
int vault_repo(vault *v, const char *repo, kura_backend **out);

/*
 * The repository's reader-writer lock: a snapshot upload holds it shared
 * from (re)checking the snapshot's pack list until the snapshot is stored;
 * garbage collection holds it exclusive while it removes packs, so a
 * snapshot is never stored with packs collected under it.
 * KURA_ENOTFOUND if no client names that repo.  Every lock here is the
 * repository's own: no request waits for work in another repository.
 */
int vault_repo_lock_shared(vault *v, const char *repo);
int vault_repo_lock_exclusive(vault *v, const char *repo);
void vault_repo_unlock(vault *v, const char *repo);

/*
 * How many times the exclusive lock has been taken (0 for an unknown
 * repo).  A pack check made without the lock still holds once the shared
 * lock is taken if this has not changed meanwhile: nothing was collected.
 */
uint64_t vault_repo_gc_generation(vault *v, const char *repo);

/*
 * The repository's commit mutex: one snapshot record and commit (or one
 * config or key commit) at a time, so two uploads of one snapshot do not
 * record it twice.  Held only for that, never for a pack check.
 */
int vault_repo_commit_lock(vault *v, const char *repo);
void vault_repo_commit_unlock(vault *v, const char *repo);

/* 1 if the repository has a config file (then config and keys are closed to writers). */
int vault_repo_initialised(vault *v, const char *repo);

/* Append "NAME RECEIVED_NS CLIENT" to DIR/meta/REPO/snapshot-times (fsynced). */
int vault_record_snapshot(vault *v, const char *repo, const char *name, int64_t received_ns,
			  const char *client);

/*
 * The client and repository tables, for status.c: counts read once give
 * entries that stay valid (they never move) while a reload adds more.
 */
size_t vault_client_count(const vault *v);
const vault_client *vault_client_at(const vault *v, size_t i);
/* The client called `name`, or NULL. */
const vault_client *vault_client_named(const vault *v, const char *name);
size_t vault_repo_count(const vault *v);
const char *vault_repo_name(const vault *v, size_t i);

#endif
