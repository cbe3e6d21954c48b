/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status321.h - the 3-2-1-1-0 report of a repository and its copies
 * (`kura status`): 3 copies hold the newest snapshot, on 2 kinds of media,
 * 1 of them off-site, 1 offline or immutable, and 0 errors, proven by a
 * recent drill and a recent `check --read-data` with nothing failed since.
 *
 * Everything comes from what the store holds, without a key: the
 * snapshots' plaintext headers (which is the newest), the proof records
 * `kura copy` and `kura check --read-data` left (include/kura/proof.h) and
 * the drill records' plaintext summaries.  A copy on a local path that is
 * mounted is also looked at: its own drill and check records are shown.
 * Each rule comes with the reason it holds or not and, when not, the
 * command that fixes it.
 */
#ifndef KURA_STATUS321_H
#define KURA_STATUS321_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kura/backend.h"
#include "kura/kura.h"
#include "kura/proof.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KURA_STATUS_DRILL_AGE_S (8 * 86400)  /* a weekly drill, a day's grace */
#define KURA_STATUS_CHECK_AGE_S (35 * 86400) /* a monthly check --read-data */
#define KURA_STATUS_COPY_AGE_S (8 * 86400)   /* a weekly copy (the offline disk) */

typedef struct {
	int64_t now_ns;	     /* the time to judge ages at (0: now) */
	int64_t drill_age_s; /* the newest drill may be this old (0: the default) */
	int64_t check_age_s; /* the newest check --read-data, likewise */
	int64_t copy_age_s;  /* a copy counts for media, off-site and offline this long */
	kura_media media;    /* the repository's own media (0: vault for a vault, else disk) */
	kura_site site;	     /* and site (0: on-site) */
	bool keep_away;	     /* never open a copy's target: on a vault, the paths in the
				records are the client's, not the vault host's */
} kura_status_policy;

/* The rules, in the order of the name. */
enum {
	KURA_RULE_COPIES = 0, /* 3: copies holding the newest snapshot */
	KURA_RULE_MEDIA,      /* 2: kinds of media */
	KURA_RULE_OFFSITE,    /* 1: off-site */
	KURA_RULE_OFFLINE,    /* 1: offline or immutable */
	KURA_RULE_ZERO,	      /* 0: errors, proven */
	KURA_RULES
};

typedef struct {
	bool ok;
	char reason[512];
	char fix[1200]; /* "" when ok */
} kura_status_rule;

/* One copy: [0] is the repository itself, the others one per label, by label. */
typedef struct {
	bool is_source;
	char label[KURA_PROOF_LABEL_MAX + 1];
	char target[KURA_PROOF_TARGET_MAX + 1];
	kura_media media;
	kura_site site;
	/* the newest copy record of this label (copies only) */
	int64_t copied_ns;
	bool copy_passed;
	uint64_t copy_problems, copy_files;
	/* the newest passed one: what the copy is known to hold */
	int64_t synced_ns;	       /* 0: never synced without a problem */
	char snapshot_id[KURA_ID_HEX]; /* the newest snapshot it holds; "" unknown */
	bool current;		       /* it holds the repository's newest snapshot */
	bool fresh;		       /* synced within copy_age_s (always true for [0]) */
	/* drills and checks of this store: the repository's, or a mounted local copy's */
	bool looked;	       /* its records could be read */
	char unreachable[256]; /* why not, when !looked */
	int64_t drill_ns;      /* 0: none */
	bool drill_passed;
	double drill_rto_s;
	int64_t check_ns; /* 0: none */
	bool check_passed;
	uint64_t check_problems;
} kura_status_copy;

typedef struct {
	char newest[KURA_ID_HEX]; /* "" when the repository has no snapshot */
	int64_t newest_ns;
	int64_t now_ns;
	kura_status_copy *copies;
	size_t ncopies;
	size_t holding, media_kinds, offsite, offline;
	size_t damaged_records; /* proof or drill records that do not parse */
	kura_status_rule rules[KURA_RULES];
	bool all_ok;
} kura_status_report;

/*
 * Build the report for the repository stored in `b` at `location` (used
 * in the fix commands and to tell the repository from its copies).
 * 0, or the store's error (a listing that failed).  `out` belongs to the
 * caller (kura_status_report_clear) even on error.
 */
int kura_status321(kura_backend *b, const char *location, const kura_status_policy *policy,
		   kura_status_report *out);

void kura_status_report_clear(kura_status_report *r);

/* "3 copies", "2 media", "1 off-site", "1 offline", "0 errors". */
const char *kura_status_rule_name(int rule);

#ifdef __cplusplus
}
#endif
#endif
