/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_extend.h - the vault moves the Object Lock of what its snapshots
 * still need before it runs out (vault_store.h; docs/PROTOCOL.md, "A vault
 * on S3"): `kurad s3 extend-locks DIR`, and `kurad serve` by itself, at
 * start and then every quarter of the lock period (each run first retries
 * the deletions the lock kept: deletion_sweep.h).  Never a backup
 * client's chore: a client that stops must not be what lets backups
 * become deletable (kopia#5108).
 *
 * Let expire: the snapshots whose deletion the vault carried out (a done
 * delete request names them) and the packs only they need; everything
 * else of each repository, and the prefix's claim, is locked again until
 * now + the lock period, each confirmed by a separate request.
 */
#ifndef KURA_SERVER_STORE_EXTEND_H
#define KURA_SERVER_STORE_EXTEND_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "vault_state.h"

/*
 * Extend the locks of every repository of `v` (a vault on S3; KURA_EINVAL
 * on disk).  *out (may be NULL) gets {"until": EPOCH_S, "dry_run": BOOL,
 * "repos": [{"repo", "files", "extended", "let_expire"}], "claim":
 * {"files", "extended"}}.  Each repository's run is audited as
 * EXTEND-LOCKS when `v` has its audit log open.  The first failure stops
 * the run with its message.
 */
int store_extend_locks(vault *v, bool dry_run, json_t **out);

/*
 * serve's tick: start store_extend_locks on a thread of its own when due
 * (at once, then every lock_days / 4; a minute after a failure, which the
 * next tick returns).  Never two runs at once.
 */
int store_extend_tick(vault *v, int64_t now_ns);

/* Ask a running run to stop between two files, and wait for it (before vault_free). */
void store_extend_stop(void);

#endif
