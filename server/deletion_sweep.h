/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion_sweep.h - the retry of approved deletions that the store's
 * Object Lock kept (docs/PROTOCOL.md, "A vault on S3").
 *
 * On S3 a file still under its COMPLIANCE lock cannot be removed by
 * anyone, the vault included: carrying a request out then keeps it, audits
 * the attempt with 423 and records what was kept in the request's result
 * as "locked_retry": {"snapshots": [...], "packs": bool, "tries": N,
 * "last_ns": N}.  The request is done; the sweep tries those files again
 * (audited first, as any removal), re-checking retention at that moment so
 * that a hold placed since still protects, and re-running the request's
 * prune for its packs.  What is removed joins the result; what is still
 * locked stays for the next sweep; the member goes when nothing is left.
 * Lock extension (store_extend.h) never extends what a done request names,
 * nor a pack no snapshot needs, so the lock of a file due for deletion
 * runs out.
 *
 * Run by `kurad serve`'s S3 maintenance thread (at start and every quarter
 * of the lock period, before lock extension) and by `kurad s3 sweep`.
 */
#ifndef KURA_SERVER_DELETION_SWEEP_H
#define KURA_SERVER_DELETION_SWEEP_H

#include <stdint.h>

#include <jansson.h>

#include "vault_state.h"

/*
 * Retry every done request's "locked_retry", under the deletion lock.
 * Needs the audit log (a vault opened for serving).  A request that fails
 * keeps its record and does not stop the others; the first error is
 * returned.  *out (may be NULL): {"requests": [{"id", "repo",
 * "snapshots_removed", "snapshots_locked", "packs_removed", "packs_locked",
 * "done"}]}, a new reference, set even when one request failed.
 */
int deletion_sweep(vault *v, int64_t now_ns, json_t **out);

#endif
