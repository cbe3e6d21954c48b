/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proofrec.h - proof records (docs/FORMAT.md, "Proof records"): the
 * write-once note that `kura copy` copied the repository to a mirror (and
 * how the keyless verification of the mirror ended), or that
 * `kura check --read-data` read every blob (and what it found).
 *
 * A record is plaintext from end to end: a copy and a store need no key,
 * and `kura status` reads them without one.  It names the copy's target
 * (a local path or a vault URL, never a credential) and the operator's
 * label, media and site; no file name of the backed-up data.  The decoder
 * enforces every invariant listed in FORMAT.md.
 */
#ifndef KURA_FORMAT_PROOFREC_H
#define KURA_FORMAT_PROOFREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

#define KURA_PROOFREC_VERSION 1
#define KURA_PROOFREC_HEAD 96 /* fixed part, before the label and the target */
#define KURA_PROOFREC_LABEL_MAX 128
#define KURA_PROOFREC_TARGET_MAX 1024

enum { KURA_PROOFREC_COPY = 1, KURA_PROOFREC_CHECK = 2 };

typedef struct {
	uint8_t kind;	 /* KURA_PROOFREC_* */
	bool passed;	 /* copy: nothing failed and the target verified; check: no problem */
	uint8_t media;	 /* copy: 1..5 (kura/proof.h); check: 0 */
	uint8_t site;	 /* copy: 1 on-site, 2 off-site; check: 0 */
	int64_t time_ns; /* when it ended (the writing client's clock) */
	bool has_snapshot;
	uint8_t
	    snapshot[KURA_HASH_SIZE]; /* the newest snapshot the store (copy: the target) holds */
	uint64_t files, bytes;	      /* copy: files verified in the target, bytes copied;
					 check: repository files checked, bytes read */
	uint64_t problems;	      /* copy: files failed + snapshots left behind + bad target
					 files; check: problems found */
	uint64_t duration_ms;
	char label[KURA_PROOFREC_LABEL_MAX + 1];   /* copy: 1..128 bytes; check: empty */
	char target[KURA_PROOFREC_TARGET_MAX + 1]; /* copy: 1..1024 bytes; check: empty */
} kura_proofrec;

/*
 * Encode `r`.  *out is malloc'd (*out_len bytes); out_name is its SHA-256.
 * KURA_EINVAL for a record that breaks an invariant.
 */
int kura_proofrec_encode(uint8_t **out, size_t *out_len, uint8_t out_name[KURA_HASH_SIZE],
			 const kura_proofrec *r);

/* Decode a record: 0, or KURA_ECORRUPT / KURA_EUNSUPPORTED naming the field. */
int kura_proofrec_decode(kura_proofrec *out, const uint8_t *data, size_t len);

/* The checks a store makes before it stores one (kura_keyless_validate). */
int kura_proofrec_check(const uint8_t *data, size_t len);

#endif
