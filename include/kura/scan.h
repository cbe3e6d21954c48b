/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scan.h - `kura scan`: ransomware detection after the fact, with the
 * restore key (docs/DETECTION.md, "kura scan").
 *
 * The backup judged each snapshot with what a backup key allows: its own
 * cache of the previous backup's features, which the attacker may have
 * deleted, and detection may have been off.  A scan reads both trees
 * itself: each snapshot is judged against its predecessor of the same
 * source (host, paths, excludes) by lib/detect's own rules, every changed
 * file's content read from the repository.  It answers the questions of
 * the person recovering: which snapshot first shows the attack, which
 * files, since when, and which snapshot is the last clean one.
 */
#ifndef KURA_SCAN_H
#define KURA_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "kura/kura.h"

typedef struct {
	char id[KURA_ID_HEX];
	char previous[KURA_ID_HEX]; /* the predecessor it was judged against; "" for the first */
	int64_t order_ns;	    /* kura_snapshot_order_ns */
	size_t source;		    /* index into kura_scan_result.sources */
	int verdict;		    /* the scan's: KURA_DETECTION_* (keyless.h) */
	int score;		    /* 0..100 */
	char *record;		    /* the scan's record (JSON, the shape of the backup's; each
				       listed file also has "first-suspect": the snapshot id) */
	int stored_verdict;	    /* the backup's, from the plaintext header (0: none) */
	int stored_score;
	char *stored_record; /* the backup's record from the encrypted body, or NULL */
	uint64_t changed;    /* files new, changed or gone against the predecessor */
	uint64_t unreadable; /* files whose content could not be read (left out) */
	int accepted;	     /* an operator accepted its alarm (kura scan --accept): judged with
				the source's acceptances applied, as the backups after it are */
} kura_scan_snapshot;

typedef struct {
	char *host;			 /* the snapshot's host name */
	char *paths;			 /* its paths, space-separated */
	char clean_point[KURA_ID_HEX];	 /* the last not-suspect snapshot before first_suspect
					    (without a suspect one: the newest); "" none */
	char first_suspect[KURA_ID_HEX]; /* "" when none is */
	uint64_t blast_files;		 /* files new, changed or gone from the clean point
					    to the first suspect snapshot */
	uint64_t suspect_files;		 /* files the first suspect snapshot lists */
} kura_scan_source;

typedef struct {
	kura_scan_snapshot *snapshots; /* those asked for, oldest first */
	size_t nsnapshots;
	kura_scan_source *sources;
	size_t nsources;
	size_t skipped; /* damaged snapshots left out */
} kura_scan_result;

/*
 * Judge the snapshots `ids` (full ids; nids = 0: all).  Each source's
 * snapshots are judged in order from its first up to the newest asked
 * for, since each verdict needs its predecessor's features; a source
 * none of `ids` belongs to is not read.  Needs the
 * restore key.  0, or a negative KURA_E*.
 */
int kura_scan(kura_repo *repo, const char *const *ids, size_t nids, kura_scan_result *out);

/*
 * kura_scan of the one snapshot `id` (a full id), reporting every
 * snapshot of its source judged on the way (its chain from the first up
 * to `id`, oldest first), not only `id`: what restore --clean needs to
 * know when each file first turned suspect.  0, or a negative KURA_E*.
 */
int kura_scan_chain(kura_repo *repo, const char *id, kura_scan_result *out);

void kura_scan_result_clear(kura_scan_result *r);

#endif
