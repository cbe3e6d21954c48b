/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion_run.h - carrying approved deletion requests out, from `kurad
 * serve`'s once-a-second tick (docs/PROTOCOL.md, "Deletion").
 */
#ifndef KURA_SERVER_DELETION_RUN_H
#define KURA_SERVER_DELETION_RUN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "deletion_store.h"
#include "policy.h"
#include "vault_state.h"

/*
 * `kurad serve`'s tick (every second): write audit entries for approvals
 * and cancellations not logged yet, then carry out every pending request
 * whose quorum of valid signatures is complete and whose delay has
 * passed.  Errors in one request leave it pending and do not stop the
 * others; the first is returned (the caller prints it).  An approval or
 * cancellation whose signature does not verify is logged with status 403.
 */
int deletion_run(vault *v, int64_t now_ns);

/*
 * The parts of carrying a DELETE request out, shared with the retry of
 * what the store's lock kept (deletion_sweep.h).  The caller holds the
 * repository's exclusive lock; <0 only when the audit log fails or the
 * repository cannot be read (then nothing more is removed).
 *
 * deletion_result_new: a request's empty "result" (a new reference).
 *
 * deletion_remove_snapshots: remove `snaps` of `r`'s repository (in `b`)
 * that retention does not protect now, each audited first; appends the
 * removed names to result.snapshots_removed and {snapshot, reason} to
 * result.snapshots_kept, and to `locked` the names the store's Object Lock
 * kept (audited with 423).
 *
 * deletion_prune_packs: remove the packs no snapshot lists that were
 * stored before the request, with the library's one prune; sets
 * result.packs_* (packs_kept_locked when the lock kept some), and
 * result.prune_error when a plan cannot be made or a pack not removed.
 */
json_t *deletion_result_new(void);
int deletion_remove_snapshots(vault *v, vault_audit *a, const vault_policy *p,
			      const deletion_req *r, kura_backend *b,
			      const char (*snaps)[KURA_ID_HEX], size_t n, int64_t now_ns,
			      json_t *result, json_t *locked, uint64_t *bytes);
int deletion_prune_packs(vault_audit *a, kura_backend *b, const deletion_req *r, json_t *result,
			 uint64_t *bytes);

#endif
