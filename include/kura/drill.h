/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drill.h - restore drills: prove that a snapshot restores, and record it.
 *
 * A drill restores a snapshot (all of it, or a sample of its files) into a
 * scratch directory, re-hashes every restored byte against the chunk ids
 * the snapshot names, compares the metadata, runs the operator's
 * application check on the tree, measures the restore and projects the
 * time a full restore would take (the RTO), removes the scratch tree and
 * writes a drill record into the repository (docs/FORMAT.md, "Drill
 * records"), where the vault can read its summary without a key.  Needs
 * the restore key: only it can decrypt, and only a decrypted chunk can be
 * checked against its id, which is what catches a chunk a stolen backup
 * key uploaded under a false id.
 */
#ifndef KURA_DRILL_H
#define KURA_DRILL_H

#include <stdbool.h>
#include <stdint.h>

#include "kura/kura.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KURA_DRILL_FULL_BP 10000u /* sample_bp of a full drill: 100.00 % */

/* What failed in a drill (kura_drill_result.fail_flags). */
enum {
	KURA_DRILL_FAILED_RESTORE = 1u << 0, /* paths the restorer could not restore */
	KURA_DRILL_FAILED_CONTENT = 1u << 1, /* restored bytes that do not hash to their ids */
	KURA_DRILL_FAILED_META = 1u << 2,    /* type, size, mode, time, owner or target differ */
	KURA_DRILL_FAILED_VERIFY = 1u << 3,  /* the verify command failed */
};

/* One path of the snapshot (full id) that failed the drill, with why. */
typedef void (*kura_drill_failure_fn)(const char *snapshot_id, const char *path,
				      const char *message, void *ctx);

typedef struct {
	const char *snapshot;       /* a snapshot name (id prefix or "latest"); NULL: latest */
	bool random;                /* pick a random readable snapshot instead */
	int64_t window_s;           /* with random: only snapshots at most this old; 0: any */
	unsigned sample_bp;         /* share of files to restore in basis points (1..10000);
				       0 or KURA_DRILL_FULL_BP: all */
	const char *verify_command; /* run with /bin/sh -c, the scratch path appended as its
				       last argument and in $KURA_DRILL_DIR; NULL: none */
	const char *scratch;        /* must be missing or empty; NULL: a new directory in
				       $TMPDIR (or /tmp) */
	const char *cache_dir;      /* where the drill counter lives; NULL: the default cache */
	bool no_record;             /* do not write a drill record */
	int threads;
	kura_progress_fn progress;
	void *progress_ctx;
	kura_warning_fn warning;
	void *warning_ctx;
	kura_drill_failure_fn failure;
	void *failure_ctx;
} kura_drill_options;

typedef struct {
	char snapshot_id[KURA_ID_HEX];
	char record_id[KURA_ID_HEX];   /* the drill record's name; "" when not written */
	bool passed;
	unsigned fail_flags;           /* KURA_DRILL_FAILED_* */
	unsigned sample_bp;            /* as run */
	uint64_t drill_number;         /* this repository's drill counter, from 1 */
	uint64_t files_selected;       /* files (and other non-directories) chosen */
	uint64_t files_verified;       /* of those, restored and found identical */
	uint64_t files_failed;
	uint64_t bytes_verified;       /* content bytes re-hashed from the scratch tree */
	uint64_t snapshot_files, snapshot_bytes; /* the whole snapshot's regular files */
	int verify_status;             /* -1 no command, 0..255 its exit code, 256+N signal N */
	double restore_seconds;        /* the restore alone */
	double check_seconds;          /* re-hashing and comparing */
	double command_seconds;        /* the verify command */
	double seconds;                /* everything */
	double bytes_per_second;       /* restore throughput */
	double rto_seconds;            /* projected time to restore the whole snapshot */
	char scratch[4096];            /* the scratch directory used (removed afterwards) */
} kura_drill_result;

/*
 * Run a drill.  0 when it passed; KURA_ECORRUPT when it ran and failed
 * (out->fail_flags says what, each path was reported through
 * opts->failure, the record is written); another negative code when it
 * could not run (no snapshot, a scratch directory that is not empty, the
 * backup key: KURA_ENEEDKEY).  A record that cannot be written after a
 * passed drill is an error (the drill then proved nothing to anyone else).
 */
int kura_drill(kura_repo *repo, const kura_drill_options *opts, kura_drill_result *out);

/* A drill record as listed (the summary; details only with the restore key). */
typedef struct {
	char id[KURA_ID_HEX];
	char snapshot_id[KURA_ID_HEX];
	int64_t time_ns;              /* the drilling client's clock */
	bool full;
	unsigned sample_bp;
	bool passed;
	unsigned fail_flags;
	int verify_status;
	uint64_t files_verified, bytes_verified, files_failed;
	uint64_t snapshot_files, snapshot_bytes;
	double restore_seconds, rto_seconds;
	char *details;                /* verify command and failed paths; NULL without the key */
	char *damage;                 /* non-NULL: the record does not parse (why); the rest is empty */
} kura_drill_info;

/* Every drill record of the repository, oldest first (either key). */
int kura_drills_list(kura_repo *repo, kura_drill_info **out, size_t *out_count);
void kura_drills_free(kura_drill_info *list, size_t count);

#ifdef __cplusplus
}
#endif
#endif
