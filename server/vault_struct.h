/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_struct.h - the loaded vault's insides, for the files that
 * implement vault_state.h and nothing else: vault_state.c (loading,
 * clients, secrets), vault_repos.c (the repository slots, their backends
 * and locks) and vault_reload.c (what the operator changed meanwhile).
 *
 * The client and repository tables have fixed room from vault_open on and
 * only grow at the end (vault_reload, from one thread): an entry is filled
 * in before the atomic count that publishes it, and never moves, so request
 * threads read them without a lock.  Revocation is an atomic flag.  The
 * other shared mutable state is the per-repository backend cache, behind
 * the slot's mutex, and the audit log, which has its own.
 */
#ifndef KURA_SERVER_VAULT_STRUCT_H
#define KURA_SERVER_VAULT_STRUCT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "audit.h"
#include "kura/backend.h"
#include "vault_records.h"
#include "vault_store.h"

typedef struct vault vault; /* vault_state.h */

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
	vault_store *store; /* where the repositories' files are (vault_store.h) */
	int64_t reserve;    /* vault.json's "reserve"; -1: the default (reserve.h) */
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

/* vault_repos.c: the slot of repository `repo`, or NULL. */
repo_slot *vault_repos_find(vault *v, const char *repo);
/* vault_repos.c: publish a slot for `repo` if it has none (one thread at a time). */
void vault_repos_add(vault *v, const char *repo);
/* vault_repos.c: the repositories that clients name, each once, in name order (at open). */
void vault_repos_collect(vault *v);

#endif
