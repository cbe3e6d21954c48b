/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion.h - deletion only by policy, approval and delay
 * (docs/PROTOCOL.md, "Deletion").
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
 * What an approver signs (Ed25519, detached), as bytes:
 *   "kura-deletion-v1\n" VAULT_SIGNING_KEY_B64 "\n" ACTION "\n" ID "\n" REPO "\n"
 *   REQUESTED_NS "\n" PRUNE ("0"|"1") "\n" then each snapshot name + "\n" in sorted order
 * with ACTION "approve" or "cancel", so a signature is bound to one vault,
 * one request and its exact contents: editing the request file voids it.
 *
 * Request file (JSON): {"id", "repo", "requested_by", "requested_ns",
 *   "snapshots": [...], "prune": bool, "state": "pending"|"cancelled"|"done",
 *   "approvals": [{"approver", "time_ns", "sig", "logged": bool}],
 *   "cancellation": null | {"approver", "time_ns", "sig", "logged": bool},
 *   "quorum_ns": null | N, "done_ns": null | N,
 *   "result": null | {"snapshots_removed": [...], "snapshots_kept": [{"snapshot", "reason"}],
 *                     "packs_removed": N, "bytes_removed": N, "packs_kept_recent": N,
 *                     "prune_error": null | "why no pack was collected"}}
 * Approvals and cancellations are written by `kurad approve`/`kurad
 * cancel` (separate processes, under an flock on DIR/deletions/.lock);
 * `kurad serve` writes their audit entries ("logged") on its next tick.
 */
#ifndef KURA_SERVER_DELETION_H
#define KURA_SERVER_DELETION_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kura/kura.h"
#include "vault.h"

#define VAULT_PENDING_MAX 32 /* pending requests per repository */

/*
 * Create an approver: an Ed25519 key pair; the public key goes to
 * DIR/approvers/NAME.json, the key file (JSON {"kura_approver_key": 1,
 * "vault_signing_key": B64, "name", "secret_key": B64}) to `output`, mode
 * 0600, never overwritten.  KURA_EEXISTS if the name is taken.
 */
int vault_approver_add(const char *dir, const char *name, const char *output);

/*
 * File a request from `client` for `repo` at vault time now_ns.  Checks:
 * at least one snapshot or prune; every snapshot stored (KURA_ENOTFOUND,
 * message names it: HTTP 404); none protected by retention now
 * (KURA_EDENIED: HTTP 409, with *out_protected a JSON array of
 * {"snapshot", "reason"}); fewer than VAULT_PENDING_MAX pending for the
 * repository (KURA_EEXISTS: HTTP 429).  On success *out is the new
 * request as its JSON object (as in GET .../deletions).
 */
int vault_deletion_request(vault *v, const char *repo, const char *client,
			   const char (*snapshots)[KURA_ID_HEX], size_t n, bool prune,
			   int64_t now_ns, json_t **out, json_t **out_protected);

/*
 * The requests of `repo` (NULL: all), oldest first, as a JSON array; with
 * "quorum", "delay_s", "approvals_valid", "effective_ns" and a "valid"
 * flag on each approval and cancellation filled in.  A file that cannot
 * be read is listed (only when `repo` is NULL) as {"id", "state":
 * "corrupt", "error"}.
 */
int vault_deletions_list(vault *v, const char *repo, json_t **out);

/*
 * `kurad approve` / `kurad cancel`: sign request `id` with the approver
 * key file `key_path` (its vault key must match this vault's, its public
 * key must match DIR/approvers/NAME.json) and record it.  Approving twice
 * with one key, or acting on a request that is not pending, is
 * KURA_EEXISTS / KURA_EINVAL with a clear message.  *out_summary (malloc'd)
 * says what the request does and what happens next.
 */
int vault_deletion_sign(const char *dir, unsigned long id, const char *key_path, bool cancel,
			int64_t now_ns, char **out_summary);

/*
 * `kurad serve`'s tick (every second): write audit entries for approvals
 * and cancellations not logged yet, then carry out every pending request
 * whose quorum of valid signatures is complete and whose delay has
 * passed.  Errors in one request leave it pending and do not stop the
 * others; the first is returned (the caller prints it).  An approval or
 * cancellation whose signature does not verify is logged with status 403.
 */
int vault_deletions_run(vault *v, int64_t now_ns);

#endif
