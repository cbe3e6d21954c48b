/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion_intake.h - deletion requests as clients see them: filing one
 * and listing them (docs/PROTOCOL.md, "Deletion").
 */
#ifndef KURA_SERVER_DELETION_INTAKE_H
#define KURA_SERVER_DELETION_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "deletion_store.h"
#include "kura/sys/backend.h"
#include "policy.h"

#define VAULT_PENDING_MAX 32 /* pending requests per repository */

/*
 * The two refusals of deletion_intake_file that are neither a bad request
 * nor a missing snapshot, named for what they mean.  They keep the
 * library's codes (the vault's callers see 0-or-KURA_E*), and handlers.c
 * maps each to its HTTP status by these names, not by the generic code.
 */
#define DELETION_EPROTECTED KURA_EDENIED /* retention protects a snapshot now: HTTP 409 */
#define DELETION_ETOOMANY KURA_EEXISTS	 /* no room for another pending request: HTTP 429 */

/*
 * File a request from `client` for `repo` at vault time now_ns.  Checks:
 * at least one snapshot or prune; every snapshot stored (KURA_ENOTFOUND,
 * message names it: HTTP 404); none protected by retention now
 * (DELETION_EPROTECTED, with *out_protected a JSON array of
 * {"snapshot", "reason"}); fewer than VAULT_PENDING_MAX pending for the
 * repository and an id left (DELETION_ETOOMANY).  On success *out is the new
 * request as its JSON object (as in GET .../deletions).
 */
int deletion_intake_file(vault *v, const char *repo, const char *client,
			 const char (*snapshots)[KURA_ID_HEX], size_t n, bool prune, int64_t now_ns,
			 json_t **out, json_t **out_protected);

/*
 * The requests of `repo` (NULL: all), oldest first, as a JSON array; with
 * "quorum", "delay_s", "approvals_valid", "effective_ns" and a "valid"
 * flag on each approval and cancellation filled in.  A file that cannot
 * be read is listed (only when `repo` is NULL) as {"id", "state":
 * "corrupt", "error"}.
 */
int deletion_intake_list(vault *v, const char *repo, json_t **out);

/*
 * One request as a listing shows it (the file's JSON and what it means
 * now, as above); NULL when out of memory.
 */
json_t *deletion_intake_listing(const char *dir, const char *vkey, const vault_policy *p,
				const deletion_req *r);

/*
 * The retention reasons for each of `names` at now_ns (reasons[i]; a
 * snapshot with no receive time on record counts as protected, with
 * UINT_MAX), and each one's receive time (received[i]).  Used when a
 * request is filed and again when it is carried out.
 */
int deletion_retention(vault *v, const char *repo, kura_backend *b, const vault_policy *p,
		       const char (*names)[KURA_ID_HEX], size_t n, int64_t now_ns,
		       unsigned *reasons, int64_t *received);

/* Why reasons (from deletion_retention) protect a snapshot, as text into `out`. */
void deletion_explain(unsigned reasons, const vault_policy *p, int64_t received, int64_t now,
		      char *out, size_t len);

#endif
