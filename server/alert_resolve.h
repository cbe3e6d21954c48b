/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_resolve.h - `kurad alert resolve`: closing an alert takes a quorum
 * of approvers' signatures, given one by one with their keys, exactly as
 * deletions are approved (approvers.h), so neither a stolen client nor
 * anyone without approver keys can close one.
 */
#ifndef KURA_SERVER_ALERT_RESOLVE_H
#define KURA_SERVER_ALERT_RESOLVE_H

#include <stdint.h>

/*
 * Approver `key_path` (a key from `kurad approver add`, checked against
 * this vault's signing key and DIR/approvers/NAME.json) signs alert `id`;
 * when the policy's quorum of distinct approvers' signatures verify, the
 * alert is resolved (resolved_ns = now_ns, quorum recorded).  The statement
 * signed (Ed25519, detached) is
 *   "kura-alert-resolve-v1\n" VAULT_SIGNING_KEY_B64 "\n" ID "\n" REPO "\n"
 *   KIND "\n" RAISED_NS "\n" LAST_SEEN_NS "\n" COUNT "\n"
 * so a refresh of the alert after an approval (the attack went on) voids
 * it.  A second approval by the same approver while the first still
 * verifies is KURA_EEXISTS; a resolved or unreadable alert KURA_EINVAL.
 * *out_summary (malloc'd) says what the alert is and what is still needed.
 */
int alert_resolve(const char *dir, unsigned long id, const char *key_path, int64_t now_ns,
		  char **out_summary);

#endif
