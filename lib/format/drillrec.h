/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drillrec.h - drill records (docs/FORMAT.md, "Drill records"): the
 * write-once proof that `kura drill` restored a snapshot and what it found.
 *
 * A record has two parts.  The summary is plaintext so that a store
 * without a key (the vault) can tell that drills happen, how they ended
 * and how long a full restore would take.  The details (the verify
 * command and the names of the files that failed) are sealed to the
 * repository's public key, because file names are what a thief of the
 * vault must not learn: any key can write them, only the restore key reads
 * them.  The decoder enforces every invariant listed in FORMAT.md, with or
 * without a key.
 */
#ifndef KURA_FORMAT_DRILLREC_H
#define KURA_FORMAT_DRILLREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "crypto/keyfile.h"

#define KURA_DRILLREC_VERSION 1
#define KURA_DRILLREC_HEAD 200               /* plaintext bytes before the details box */
#define KURA_DRILLREC_DETAILS_MAX (64u << 10) /* plaintext details, at most */

enum { KURA_DRILL_MODE_FULL = 1, KURA_DRILL_MODE_SAMPLE = 2 };

/* What failed (flags); a passed drill has none. */
enum {
	KURA_DRILL_FAIL_RESTORE = 1u << 0,  /* the restorer could not restore some paths */
	KURA_DRILL_FAIL_CONTENT = 1u << 1,  /* restored bytes do not hash to their chunk ids */
	KURA_DRILL_FAIL_META = 1u << 2,     /* type, size, mode, time, owner or link differ */
	KURA_DRILL_FAIL_VERIFY = 1u << 3,   /* the verify command failed */
	KURA_DRILL_FAIL_ALL = 0xf,
};

typedef struct {
	uint8_t mode;              /* KURA_DRILL_MODE_* */
	bool passed;
	uint32_t fail_flags;       /* KURA_DRILL_FAIL_* */
	int64_t time_ns;           /* when the drill ran (the drilling client's clock) */
	uint8_t snapshot[KURA_HASH_SIZE];
	uint32_t sample_bp;        /* share of files restored, basis points: 10000 = all */
	int32_t verify_status;     /* -1: no command; 0..255 exit code; 256+N: killed by signal N */
	uint64_t files_verified, bytes_verified, files_failed;
	uint64_t snapshot_files, snapshot_bytes;
	uint64_t restore_ns;       /* how long the restore took */
	uint64_t rto_ms;           /* projected time to restore the whole snapshot */
	char *details;             /* NUL-terminated text; NULL when not decrypted */
} kura_drillrec;

/*
 * Encode `r` (its details may be NULL: empty) and seal the details to
 * `repo_pk`.  *out is malloc'd (*out_len bytes); out_name is its SHA-256.
 * KURA_EINVAL for a record that breaks an invariant.
 */
int kura_drillrec_encode(uint8_t **out, size_t *out_len, uint8_t out_name[KURA_HASH_SIZE],
			 const uint8_t repo_pk[KURA_PUBKEY_SIZE], const kura_drillrec *r);

/*
 * Decode a record.  With `keys` (the restore key) the details are opened
 * too (KURA_EAUTH if they do not authenticate); with NULL only the summary
 * is read and out->details is NULL.  KURA_ECORRUPT / KURA_EUNSUPPORTED
 * with a message naming the field.  out->details belongs to the caller
 * (kura_drillrec_clear).
 */
int kura_drillrec_decode(kura_drillrec *out, const kura_keys *keys, const uint8_t *data,
			 size_t len);

/* The checks a store without a key makes (kura_drillrec_decode without keys). */
int kura_drillrec_check(const uint8_t *data, size_t len);

void kura_drillrec_clear(kura_drillrec *r);

#endif
