/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quota_conf.h - the "quota" member of the vault's policy.json
 * (docs/PROTOCOL.md, "Quotas"): how many bytes a day, with what burst, a
 * repository and each writer credential may store, and a repository's
 * hard cap; and the defaults the vault derives from a repository's
 * history for whatever the policy leaves unsaid.
 *
 * Pure: no I/O and no clock, so it is unit-tested and fuzzed (through
 * policy.c's parser, tests/fuzz/fuzz_policy.c) on its own.  The running
 * buckets are quota.c's.
 */
#ifndef KURA_SERVER_QUOTA_CONF_H
#define KURA_SERVER_QUOTA_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* A limit: 0 not set (derived or inherited), QUOTA_UNLIMITED "none", else bytes. */
#define QUOTA_UNLIMITED UINT64_MAX
#define QUOTA_SIZE_MAX ((uint64_t)1 << 60) /* 1 EiB: the largest size accepted */
#define QUOTA_NAMED_MAX 128		   /* repositories and clients named, together */
#define QUOTA_NAME_MAX 63

typedef struct {
	uint64_t daily; /* refill rate: this many bytes per 24 hours, continuously */
	uint64_t burst; /* the bucket: at most this much at once */
	uint64_t cap;	/* repositories only: total stored size */
} quota_limits;

typedef struct {
	char name[QUOTA_NAME_MAX + 1];
	bool client; /* a writer credential; else a repository */
	quota_limits lim;
} quota_named;

typedef struct {
	quota_limits repository; /* "repository": every repository not named */
	quota_limits client;	 /* "client": every writer credential not named */
	unsigned count;
	quota_named named[QUOTA_NAMED_MAX];
} vault_quota_conf;

/* Derived defaults (docs/PROTOCOL.md, "Quotas", says why these). */
#define QUOTA_HISTORY_DAYS 30	     /* the days before today that are looked at */
#define QUOTA_DAILY_MULTIPLE 4	     /* allowance = this x the largest of those days... */
#define QUOTA_FLOOR_MIN ((uint64_t)1 << 30) /* ...at least max(1 GiB, */
#define QUOTA_FLOOR_FS_DIVISOR 32    /* the file system's size / 32) */

/*
 * Parse the "quota" member (a JSON object):
 *   {"repository": LIMITS, "client": LIMITS,
 *    "repositories": {NAME: LIMITS, ...}, "clients": {NAME: LIMITS, ...}}
 * every member optional; LIMITS an object with optional "daily", "burst"
 * and (not for clients) "cap", each a size string (quota_size_parse).
 * Unknown members, wrong types, bad names and more than QUOTA_NAMED_MAX
 * names are KURA_EINVAL with a message naming the member.
 */
int quota_conf_parse(const json_t *obj, vault_quota_conf *out);

/*
 * Change limits as `kurad policy set` does: `who` is "repositories" (or
 * NULL: every repository not named), "clients" (every writer credential
 * not named), "repo:NAME" or "client:NAME"; each of daily/burst/cap that
 * is not NULL is a size, "none", or "derived" (not set: derived or
 * inherited again).  A named entry left with nothing set is removed.
 * KURA_EINVAL with a message naming the option: a bad size or name, a
 * cap for a client, more than QUOTA_NAMED_MAX names.
 */
int quota_conf_set(vault_quota_conf *q, const char *who, const char *daily, const char *burst,
		   const char *cap);

/* The member as JSON (new reference); NULL when nothing is set (omit it) or out of memory. */
json_t *quota_conf_format(const vault_quota_conf *q);

/* true if nothing is set: the member is left out of policy.json. */
bool quota_conf_empty(const vault_quota_conf *q);

/* Same settings (named entries compared by name, in any order). */
bool quota_conf_equal(const vault_quota_conf *a, const vault_quota_conf *b);

/*
 * "none", or a positive whole number without leading zeros and an
 * optional unit KiB, MiB, GiB, TiB or PiB ("20GiB", "1536MiB", "4096"),
 * at most 1 EiB.  KURA_EINVAL otherwise.
 */
int quota_size_parse(const char *s, uint64_t *out);
/* The shortest exact form ("20GiB", "1536KiB", "none"). */
void quota_size_format(uint64_t n, char out[32]);
/* For people: "20.0 GiB", "512 B". */
void quota_size_human(uint64_t n, char out[32]);

/*
 * What the vault derives when the policy says nothing: the daily allowance
 * is QUOTA_DAILY_MULTIPLE x `largest_day` (the most bytes stored on one
 * UTC day of the QUOTA_HISTORY_DAYS before today), at least the floor
 * (max(QUOTA_FLOOR_MIN, fs_size / QUOTA_FLOOR_FS_DIVISOR)); the burst is
 * the daily allowance; no cap.
 */
quota_limits quota_derived(uint64_t largest_day, uint64_t fs_size);

/*
 * The limits in force for repository `repo`, and (client != NULL) for
 * that writer credential: member by member the named entry, else the
 * "repository" or "client" default, else for a repository `derived`, and
 * for a client its repository's resolved daily and burst (a credential is
 * never allowed more than its repository).  *from_policy says which of
 * daily/burst/cap came from the policy (bit 1, 2, 4).
 */
quota_limits quota_resolve_repo(const vault_quota_conf *q, const char *repo,
				const quota_limits *derived, unsigned *from_policy);
quota_limits quota_resolve_client(const vault_quota_conf *q, const char *client,
				  const quota_limits *repo_limits, unsigned *from_policy);

/*
 * A token bucket kept as its debt: the bytes drawn from it and not yet
 * refilled, as of `at_ns`.  It refills continuously at limits->daily per
 * 24 hours and holds at most limits->burst.
 */
typedef struct {
	uint64_t debt;
	int64_t at_ns;
} quota_bucket;

#define QUOTA_DAY_NS ((int64_t)86400 * 1000000000)

/* The debt at `now_ns` (never below 0; a clock set back refills nothing). */
uint64_t quota_bucket_debt(const quota_bucket *b, uint64_t daily, int64_t now_ns);

/*
 * Whether `need` bytes fit in the bucket at `now_ns`: 0 if they do; else
 * QUOTA_OVER_DAILY with *out_wait_ns the time until they will, or
 * QUOTA_OVER_BURST if they never will (need > burst).  An unlimited daily
 * allowance always fits.
 */
enum { QUOTA_FITS = 0, QUOTA_OVER_DAILY = 1, QUOTA_OVER_BURST = 2 };
int quota_bucket_fits(const quota_bucket *b, const quota_limits *l, uint64_t need, int64_t now_ns,
		      int64_t *out_wait_ns);

/* Draw `n` bytes (refilling to now first); give back `n` (a refused or lost upload). */
void quota_bucket_take(quota_bucket *b, uint64_t daily, uint64_t n, int64_t now_ns);
void quota_bucket_give(quota_bucket *b, uint64_t daily, uint64_t n, int64_t now_ns);

#endif
