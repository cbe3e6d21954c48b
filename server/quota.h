/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quota.h - how many bytes each repository and each writer credential
 * may still store (docs/PROTOCOL.md, "Quotas"; THREATS.md, "A stolen
 * writer").  A stolen writer credential can upload junk as fast as the
 * network goes; the disk reserve (reserve.h) keeps reads alive when the
 * disk fills, and the quotas keep one writer from filling it at all.
 *
 * `kurad serve` holds one quota table: per repository a token bucket, a
 * hard cap on its total size and the bytes stored on each of its last
 * days; per writer credential a token bucket.  Limits come from the
 * policy's "quota" member or are derived from the repository's history
 * (quota_conf.h).  The state is kept in DIR/meta/REPO/quota.json, written
 * within a second of a change and at stop, so a restart does not hand a
 * writer a fresh day.  Refusals are counted per credential and written
 * to the audit log aggregated, like the gate's (gate.h).
 */
#ifndef KURA_SERVER_QUOTA_H
#define KURA_SERVER_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "quota_conf.h"
#include "vault_state.h"

typedef struct quota quota;

#define QUOTA_REFUSAL_WINDOW_S 60 /* one summary of refusals per credential and window */
#define QUOTA_LEDGER "quota.json" /* in DIR/meta/REPO/ */

/* A table for the serving vault `v` (its policy read now). */
int quota_new(quota **out, vault *v);

/* Write every ledger that changed and every pending refusal summary, then free; NULL is fine. */
void quota_free(quota *q);

/* Which limit refused an upload. */
typedef enum {
	QUOTA_LIMIT_DAILY = 1, /* the bucket is empty for now: it refills */
	QUOTA_LIMIT_BURST,     /* the upload is larger than the bucket: it never fits */
	QUOTA_LIMIT_CAP,       /* the repository's hard cap */
	QUOTA_LIMIT_RESERVE,   /* the disk's reserve (reserve.h), counted here too */
} quota_limit;

const char *quota_limit_name(quota_limit l); /* "daily", "burst", "cap", "reserve" */

typedef struct {
	quota_limit limit;
	bool client;		/* the credential's limit, else the repository's */
	uint64_t value;		/* the limit's value in bytes (daily: the allowance) */
	uint64_t burst;		/* the bucket's size */
	uint64_t available;	/* what could be stored now */
	int64_t refill_ns;	/* CLOCK_REALTIME when the upload would fit; 0: never by waiting */
	char message[384];	/* one line for the writer: which limit, its value, when it refills */
} quota_refusal;

/*
 * Admit an upload of `bytes` new bytes to `repo` by writer `client`: 0
 * and the bytes are held (against the buckets and the cap) until
 * quota_stored or quota_release; 1 and *why says which limit refused it.
 * Negative (the repository's state could not be read) lets it through
 * without holding anything, after printing why: a quota the vault cannot
 * compute must not stop backups.
 */
int quota_admit(quota *q, const char *repo, const char *client, uint64_t bytes, quota_refusal *why);

/* The held bytes were stored: they count toward today and the size. */
void quota_stored(quota *q, const char *repo, const char *client, uint64_t bytes);

/* The held bytes were not stored (refused, failed, client gone): given back. */
void quota_release(quota *q, const char *repo, const char *client, uint64_t bytes);

/*
 * A refused upload (a quota or the reserve) from `client` at `peer`:
 * true if it is the first of the credential's window (log it as a
 * request, and tell the operator); false if it was counted into the
 * credential's next REFUSED summary.
 */
bool quota_refused(quota *q, const char *repo, const char *client, const char *peer,
		   quota_limit limit);

/*
 * Once a second: take a changed policy into effect, write the ledgers
 * that changed, and the summaries of refusal windows that have closed.
 * 0, or the first error (the message says which).
 */
int quota_tick(quota *q);

/*
 * For `kurad status` and GET /v1/status: repository `repo`'s limits in
 * force, where each came from, and its usage, from policy.json and
 * DIR/meta/REPO/quota.json as they are on disk (a running `kurad serve`
 * writes the ledger within a second of a change); `stored_bytes` is the
 * repository's size.  Per writer credential of the repository as well.
 */
int quota_status_json(vault *v, const char *repo, uint64_t stored_bytes, json_t **out);

/* `kurad status`'s table of the repositories' quotas, from their "quota" members, on stdout. */
void quota_status_print(const json_t *repositories);

#endif
