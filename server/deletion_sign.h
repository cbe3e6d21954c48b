/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion_sign.h - approvers' signatures on deletion requests.
 *
 * What an approver signs (Ed25519, detached), as bytes:
 *   "kura-deletion-v1\n" VAULT_SIGNING_KEY_B64 "\n" ACTION "\n" ID "\n" REPO "\n"
 *   REQUESTED_NS "\n" PRUNE ("0"|"1") "\n" then each snapshot name + "\n" in sorted order
 * with ACTION "approve" or "cancel", so a signature is bound to one vault,
 * one request and its exact contents: editing the request file voids it.
 * A quarantine request (deletion_store.h) is signed over
 *   "kura-quarantine-v1\n" VAULT_SIGNING_KEY_B64 "\n" ACTION "\n" ID "\n" REPO "\n"
 *   REQUESTED_NS "\n" KIND "\n" QUARANTINE_ID "\n" then each file name + "\n" in sorted order
 * (KIND "quarantine-release" or "quarantine-remove"): no signature of one
 * kind verifies as the other.
 *
 */
#ifndef KURA_SERVER_DELETION_SIGN_H
#define KURA_SERVER_DELETION_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deletion_store.h"

/*
 * The statement of `r` for approve or `cancel` (the bytes above, built by
 * kura_statement_build); *out malloc'd.
 */
int deletion_statement(const deletion_req *r, const char *vkey, bool cancel, char **out,
		       size_t *out_len);

/*
 * `kurad approve` / `kurad cancel`: sign request `id` with the approver
 * key file `key_path` (its vault key must match this vault's, its public
 * key must match DIR/approvers/NAME.json) and record it.  Approving twice
 * with one key, or acting on a request that is not pending, is
 * KURA_EEXISTS / KURA_EINVAL with a clear message.  *out_summary (malloc'd)
 * says what the request does and what happens next.
 */
int deletion_sign(const char *dir, unsigned long id, const char *key_path, bool cancel,
		  int64_t now_ns, char **out_summary);

/*
 * Does `s` verify over r's statement (vkey: the vault's signing key in
 * base64) under its approver's current key?
 */
bool deletion_sig_ok(const char *dir, const char *vkey, const deletion_req *r,
		     const deletion_sig *s, bool cancel);

/*
 * The number of r's approvals that verify, by distinct approvers; valid[i]
 * (may be NULL) says which; *out_complete_ns the time of the approval that
 * completes `quorum` of them (0 if they do not).
 */
size_t deletion_sig_count_valid(const char *dir, const char *vkey, const deletion_req *r,
				unsigned quorum, bool *valid, int64_t *out_complete_ns);

#endif
