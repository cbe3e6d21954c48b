/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quota_ledger.h - one repository's quota state as kept on disk, in
 * DIR/meta/REPO/quota.json (docs/PROTOCOL.md, "Quotas"): its bucket, its
 * writers' buckets and the bytes it stored on each of its last days.
 * quota.c keeps these in memory while serving; status reads them.
 */
#ifndef KURA_SERVER_QUOTA_LEDGER_H
#define KURA_SERVER_QUOTA_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quota_conf.h"
#include "vault_state.h"

#define QUOTA_LEDGER_DAYS 32 /* today and the QUOTA_HISTORY_DAYS before it, and a spare */
#define QUOTA_LEDGER_CLIENTS 64 /* writers of one repository with a bucket; more share "*" */

typedef struct {
	char name[VAULT_NAME_MAX + 1]; /* "*": writers beyond the table */
	quota_bucket bucket;
} quota_ledger_client;

typedef struct {
	quota_bucket bucket;
	uint64_t size;	  /* bytes stored in the repository */
	uint64_t fs_size; /* of the file system holding it */
	int64_t day[QUOTA_LEDGER_DAYS]; /* UTC day number (days since 1970), slot day % N */
	uint64_t day_bytes[QUOTA_LEDGER_DAYS];
	size_t nclients;
	quota_ledger_client clients[QUOTA_LEDGER_CLIENTS];
} quota_ledger;

/* The UTC day number of a CLOCK_REALTIME time. */
int64_t quota_day_of(int64_t ns);

/*
 * Load repository `repo`'s ledger at `now_ns`: its size and file system
 * from the repository itself; buckets and days from quota.json.  Without
 * that file (a vault older than quotas), or if it does not parse (warned
 * about on stderr), the days are rebuilt from the stored files'
 * modification times and the repository's bucket owes what was stored in
 * the last 24 hours, so that neither a restart nor a lost ledger hands a
 * writer a fresh day.
 */
int quota_ledger_load(vault *v, const char *repo, int64_t now_ns, quota_ledger *out);

/* The repository's size now, counted from its files (a listing). */
int quota_ledger_size(vault *v, const char *repo, uint64_t *out);

/*
 * Write it to DIR/meta/REPO/quota.json (atomically) as of `now_ns`: the
 * caller has brought every bucket to that time (quota_bucket_take of 0).
 */
int quota_ledger_save(vault *v, const char *repo, const quota_ledger *l, int64_t now_ns);

/* The credential's bucket (added if new; "*" once the table is full). */
quota_ledger_client *quota_ledger_client_get(quota_ledger *l, const char *name);

/* Bytes stored on UTC day `day`; the largest day of the QUOTA_HISTORY_DAYS before `today`. */
uint64_t quota_ledger_day(const quota_ledger *l, int64_t day);
uint64_t quota_ledger_largest_day(const quota_ledger *l, int64_t today);
void quota_ledger_add_day(quota_ledger *l, int64_t day, uint64_t bytes);

/* The repository's limits in force now (policy, else derived from the ledger). */
quota_limits quota_ledger_limits(const quota_ledger *l, const vault_quota_conf *conf,
				 const char *repo, int64_t now_ns, unsigned *from_policy);

#endif
