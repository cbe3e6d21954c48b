/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion_store.h - deletion only by policy, approval and delay
 * (docs/PROTOCOL.md, "Deletion"), and the files that hold it.
 *
 * A client (writer or reader of a repository) can only *request* a
 * deletion: some snapshots, and/or garbage collection ("prune") of packs
 * no remaining snapshot references.  A request is a file
 * DIR/deletions/ID.json (ID = 1, 2, ... over the whole vault).  It takes
 * effect when `quorum` distinct approvers (DIR/approvers/NAME.json, each
 * an Ed25519 public key) have signed it with `kurad approve` AND the
 * policy's delay has passed since the approval that completed the quorum.
 * Until then any single approver can cancel it (`kurad cancel`, also
 * signed).  Nothing is ever auto-approved.  When it takes effect,
 * `kurad serve` removes the requested snapshots that retention does not
 * protect at that moment, then (with prune) the packs that no remaining
 * snapshot lists and that were stored before the request was made; each
 * removal is written to the audit log.
 *
 * The deletion room: approvers.c (keys), deletion_store.c (the request
 * files and their lock), deletion_sign.c (signatures, `kurad approve` and
 * `kurad cancel`), deletion_intake.c (filing and listing requests),
 * deletion_run.c (carrying them out).
 *
 * Request file (JSON): {"id", "repo", "requested_by", "requested_ns",
 *   "snapshots": [...], "prune": bool,
 *   (quarantine kinds instead of "snapshots": "kind", "quarantine": QID, "files": [...]), "state":
 * "pending"|"cancelled"|"done", "approvals": [{"approver", "time_ns", "sig", "logged": bool}],
 *   "cancellation": null | {"approver", "time_ns", "sig", "logged": bool},
 *   "quorum_ns": null | N, "done_ns": null | N,
 *   "result": null | {"snapshots_removed": [...], "snapshots_kept": [{"snapshot", "reason"}],
 *                     "packs_removed": N, "bytes_removed": N, "packs_kept_recent": N,
 *                     "prune_error": null | "why no pack was collected",
 *                     on S3 also "packs_kept_locked", "packs_locked_example" and
 *                     "locked_retry": {"snapshots", "packs", "tries", "last_ns"}
 *                     while the store's lock keeps files: deletion_sweep.h}}
 * Approvals and cancellations are written by `kurad approve`/`kurad
 * cancel` (separate processes, under an flock on DIR/deletions/.lock);
 * `kurad serve` writes their audit entries ("logged") on its next tick.
 */
#ifndef KURA_SERVER_DELETION_STORE_H
#define KURA_SERVER_DELETION_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto/sign.h"
#include "kura/kura.h"
#include "vault_state.h"

#define DELETION_SNAPSHOTS_MAX 100000
#define DELETION_APPROVALS_MAX 100 /* the largest quorum a policy may ask for */
#define DELETION_ID_MAX 999999999UL
#define DELETION_NS 1000000000LL

typedef enum { DELETION_PENDING = 1, DELETION_CANCELLED = 2, DELETION_DONE = 3 } deletion_state;

/*
 * What a request does.  A client files only DELETE.  The quarantine kinds
 * (quarantine.h) are filed on the vault host by `kurad quarantine release`
 * and `kurad quarantine remove`; they name one quarantine record and its
 * files ("files" in the file instead of "snapshots"; `snaps` below holds
 * them), are signed with their own statement (deletion_sign.h) and skip
 * retention: junk must not pin itself behind the minimum age.
 */
typedef enum {
	DELETION_KIND_DELETE = 0,
	DELETION_KIND_QUARANTINE_RELEASE = 1,
	DELETION_KIND_QUARANTINE_REMOVE = 2,
} deletion_kind;

typedef struct {
	char approver[VAULT_NAME_MAX + 1];
	int64_t time_ns;
	uint8_t sig[KURA_SIGNATURE_SIZE];
	bool logged;
} deletion_sig;

/* One request file as read (every member checked; see above). */
typedef struct {
	unsigned long id;
	char *corrupt; /* why the file could not be read; then only `id` is set */
	char repo[VAULT_NAME_MAX + 1];
	char requested_by[VAULT_NAME_MAX + 1];
	int64_t requested_ns;
	deletion_kind kind;
	unsigned long quarantine_id; /* the quarantine kinds: the record they act on */
	char (*snaps)[KURA_ID_HEX];  /* sorted, unique (the quarantine kinds: its files) */
	size_t nsnaps;
	bool prune;
	deletion_state state;
	deletion_sig *approvals;
	size_t napprovals;
	bool has_cancel;
	deletion_sig cancel;
	int64_t quorum_ns; /* 0: null */
	int64_t done_ns;   /* 0: null */
	json_t *result;	   /* NULL: null */
} deletion_req;

/* "pending", "cancelled", "done". */
const char *deletion_store_state_name(deletion_state s);

/* "delete", "quarantine-release", "quarantine-remove"; _kind_parse: 0 and *out, or -1. */
const char *deletion_store_kind_name(deletion_kind k);
int deletion_store_kind_parse(const char *s, deletion_kind *out);

/* The highest request id in use (0: none); only under the lock. */
int deletion_store_last_id(const char *dir, unsigned long *out);

/* Free what `r` holds (and zero it); NULL is fine.  _reqs_free: an array and its entries. */
void deletion_store_req_free(deletion_req *r);
void deletion_store_reqs_free(deletion_req *rs, size_t n);

/* strcmp over two KURA_ID_HEX names, for qsort and bsearch. */
int deletion_store_cmp_name(const void *a, const void *b);

/* A JSON integer, or null for 0. */
json_t *deletion_store_opt_int(int64_t v);

/* The request as its file's JSON object; NULL when out of memory. */
json_t *deletion_store_req_json(const deletion_req *r);

/*
 * Write `r` to DDIR/ID.json through a fsynced temporary file: renamed over
 * the old one, or (`fresh`) only if the ID is free (KURA_EEXISTS).  Only
 * under the lock.
 */
int deletion_store_save(const char *ddir, const deletion_req *r, bool fresh);

/* Read and parse DDIR/ID.json into *out (KURA_ENOTFOUND, KURA_ECORRUPT). */
int deletion_store_load_one(const char *ddir, unsigned long id, deletion_req *out);

/*
 * Every request of the vault in `dir`, in id order (*out malloc'd); a file
 * that cannot be read is returned with `corrupt` set to why.
 */
int deletion_store_load_all(const char *dir, deletion_req **out, size_t *out_n);

/*
 * The exclusive flock on DIR/deletions/.lock (the directory made if
 * missing): *out_fd to pass to _unlock, *out_ddir the directory (malloc'd).
 */
int deletion_store_lock(const char *dir, int *out_fd, char **out_ddir);
void deletion_store_unlock(int fd);

/*
 * Under the lock, `fn` on every request of the vault in `dir`, in id order
 * (a file that cannot be read too, with `corrupt` set); each it marks
 * *dirty is written back.  A failure of one request does not stop the
 * others: the first, wrapped as "deletion request ID: ...", is returned.
 */
typedef int (*deletion_store_visit_fn)(deletion_req *r, bool *dirty, void *ctx);
int deletion_store_update_all(const char *dir, deletion_store_visit_fn fn, void *ctx);

#endif
