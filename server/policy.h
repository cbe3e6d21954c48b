/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.h - the vault's deletion policy (docs/PROTOCOL.md, "Deletion"):
 * retention windows computed on the vault's own receive times, and the
 * approval quorum and delay that every deletion request must pass.
 *
 * The policy lives in DIR/policy.json, written by `kurad init` with the
 * defaults below and changed only with `kurad policy set` on the vault
 * host.  Everything here except load/save is pure (no I/O, no clock), so
 * it is unit-tested and fuzzed on its own.
 */
#ifndef KURA_SERVER_POLICY_H
#define KURA_SERVER_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "kura/sys/backend.h"
#include "quota_conf.h"

typedef struct {
	int64_t min_age_s;     /* snapshots received less than this long ago are kept */
	unsigned keep_daily;   /* keep the newest snapshot of each of the last N days... */
	unsigned keep_weekly;  /* ...ISO weeks (Monday to Sunday)... */
	unsigned keep_monthly; /* ...calendar months that have snapshots (UTC) */
	unsigned quorum;       /* approvals a deletion needs; always >= 1 */
	int64_t delay_s;       /* from the approval that completes the quorum to effect */
	int64_t drill_every_s; /* a repository not drilled for this long raises an alert; 0: off */
	vault_quota_conf quota; /* upload quotas (quota_conf.h); all zero: derived */
} vault_policy;

#define VAULT_POLICY_KEEP_MAX 100000 /* keep_daily, keep_weekly, keep_monthly: 0..this */
#define VAULT_POLICY_QUORUM_MAX 100  /* quorum: 1..this */

/*
 * Defaults: min age 30 days, keep 7 daily, 4 weekly, 12 monthly, quorum 2,
 * delay 7 days, no drill requirement; no quota set (the vault derives
 * them: quota_conf.h).
 */
void policy_default(vault_policy *p);

/*
 * Parse policy JSON: an object with exactly the members
 *   {"min_age": DURATION, "keep_daily": N, "keep_weekly": N, "keep_monthly": N,
 *    "quorum": N, "delay": DURATION}
 * and optionally "drill_every": DURATION (absent: "0", no requirement)
 * and "quota" (quota_conf_parse)
 * (DURATION a string for policy_duration_parse; N an integer 0..100000;
 * quorum 1..100).  Unknown or missing members, wrong types and values out
 * of range are KURA_EINVAL with a message naming the member.
 */
int policy_parse(const char *text, size_t len, vault_policy *out);

/* The policy as that JSON (malloc'd, pretty-printed, ends in a newline). */
char *policy_format(const vault_policy *p);

/* DIR/policy.json; a vault without one (made by an older kurad) has the defaults. */
int policy_load(const char *vault_dir, vault_policy *out);
/* Replace DIR/policy.json atomically (temp file, fsync, rename, fsync dir). */
int policy_save(const char *vault_dir, const vault_policy *p);

/*
 * "0", or a positive integer with a unit: s, m, h, d ("90s", "15m",
 * "12h", "7d"), at most 100 years.  KURA_EINVAL otherwise.
 */
int policy_duration_parse(const char *s, int64_t *out_s);
/* The shortest exact form: "7d", "36h", "90s", "0". */
void policy_duration_format(int64_t s, char out[32]);

/* Why retention keeps a snapshot: a bit set of these (0: it may be deleted). */
enum {
	VAULT_KEEP_MIN_AGE = 1,
	VAULT_KEEP_DAILY = 2,
	VAULT_KEEP_WEEKLY = 4,
	VAULT_KEEP_MONTHLY = 8,
	VAULT_KEEP_NOMEM = 16, /* out of memory while computing: kept, to be safe */
};

typedef struct {
	const char *name;    /* the snapshot file's name */
	int64_t received_ns; /* the vault's receive time */
} vault_snapshot_time;

/*
 * For each of the n snapshots of one repository, the reasons retention
 * keeps it at `now_ns`, into out_reasons[i].  Windows count calendar
 * periods in UTC by receive time, newest first, counting only periods
 * that have snapshots (restic's semantics): keep_daily 7 keeps the newest
 * snapshot of each of the 7 newest days that have one.  Snapshots
 * received in the future (clock set back) count as younger than the
 * minimum age (with any min_age, even 0); one received exactly min_age
 * ago no longer does.  Order of `snaps` does not matter; of snapshots
 * received at the same nanosecond, the one whose name sorts first counts
 * as the newer, so the answer is deterministic.  Allocates a working
 * array; if that fails, every snapshot gets VAULT_KEEP_NOMEM (kept).
 */
void policy_retention(const vault_policy *p, const vault_snapshot_time *snaps, size_t n,
		      int64_t now_ns, unsigned *out_reasons);

/*
 * A short English reason for a reasons set, into out (len bytes, always
 * NUL-terminated, cut short if needed), e.g. "received 2 days ago, younger
 * than the minimum age of 30d; the newest of its day (UTC), one of the 7
 * newest days with snapshots".  For 0: "not protected by retention".
 */
void policy_retention_explain(unsigned reasons, const vault_policy *p, int64_t received_ns,
			      int64_t now_ns, char *out, size_t len);

/*
 * The stored snapshots of `repo` (b->list on KURA_FILE_SNAPSHOT, b a local
 * backend on DIR/repos/REPO) with their receive times: for each, the first
 * line naming it in DIR/meta/REPO/snapshot-times, else (no line names it)
 * the file's mtime.  Malformed lines, a last line without its newline (a
 * torn append) and lines naming snapshots that are not stored are ignored.
 * *out is sorted by name; it and each name are malloc'd: free with
 * policy_snapshot_times_free.
 */
int policy_snapshot_times(const char *vault_dir, const char *repo, kura_backend *b,
			  vault_snapshot_time **out, size_t *out_count);
void policy_snapshot_times_free(vault_snapshot_time *t, size_t n);

#endif
