/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quarantine.h - what a stolen credential uploaded, set aside
 * (docs/PROTOCOL.md, "Quarantine").
 *
 * `kurad client revoke NAME --since TIME` revokes NAME and quarantines
 * every file NAME uploaded since TIME (by provenance.h's record and the
 * vault's clock): the files stay on disk as evidence but no client of the
 * vault can list or read them, so `latest`, restores and checks through a
 * reader never meet them.  One exception keeps the clean data whole: a
 * pack that a snapshot outside the quarantine names stays visible
 * (another writer's backup may have deduplicated against it).
 *
 * Only an approver quorum undoes a quarantine, with a request of the
 * deletion room (deletion_store.h, kinds quarantine-release and
 * quarantine-remove): release makes the files visible again, remove
 * deletes them - without regard to the retention policy, so junk cannot
 * pin itself behind the minimum age.  Every step is in the audit log.
 */
#ifndef KURA_SERVER_QUARANTINE_H
#define KURA_SERVER_QUARANTINE_H

#include <stdint.h>

#include <jansson.h>

#include "audit.h"
#include "deletion_store.h"
#include "quarantine_store.h"
#include "quarantine_view.h"
#include "vault_state.h"

/*
 * Quarantine what client `name` uploaded at or after since_ns that no
 * record holds yet (revoking is the caller's).  *out is the new record;
 * its id is 0 when there was nothing to quarantine (nothing written).
 * Run again, it picks up uploads that finished after the last run.
 */
/*
 * The boundary after snapshot `id` (its full name or a prefix of at least 8
 * hex digits) in client `name`'s repository: one nanosecond after the vault
 * received it, by the uploads record.  A backup uploads its snapshot last,
 * so everything newer came later; the snapshot's own time is no such
 * boundary (the client's clock, read before the upload).
 */
int quarantine_after_snapshot(const char *dir, const char *name, const char *id,
			      int64_t *since_ns);

int quarantine_make(const char *dir, const char *name, int64_t since_ns, int64_t now_ns,
		    quarantine_rec *out);

/*
 * The records of `repo` (NULL: all), oldest first, as a JSON array of the
 * record objects with readable times added ("since", "made", "done", each
 * file's "received") and "counts" per type.
 */
int quarantine_list_json(const char *dir, const char *repo, json_t **out);

/*
 * File a quarantine-release or quarantine-remove request for record
 * `qid` (it must still be quarantined, with no such request pending) on
 * behalf of `by`; *out_id is its deletion request id.
 */
int quarantine_request(const char *dir, unsigned long qid, deletion_kind kind, const char *by,
		       int64_t now_ns, unsigned long *out_id);

/*
 * Carry out an approved quarantine request `r` (deletion_run.c, under the
 * deletion lock): release or remove its record's files, write the audit
 * entries, mark the record and fill r's result, state and done_ns.
 */
int quarantine_carry_out(vault *v, vault_audit *a, deletion_req *r, int64_t now_ns);

/*
 * `kurad serve`'s tick: write the audit entry of every record not logged
 * yet, then refresh the hidden table `q`.  The first error is returned.
 */
int quarantine_tick(vault *v, quarantine_view *q);

#endif
