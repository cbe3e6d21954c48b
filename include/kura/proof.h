/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proof.h - proof records: what `kura copy` and `kura check --read-data`
 * leave in the repository they ran on (docs/FORMAT.md, "Proof records"),
 * so that `kura status` can tell, without a key and without the operator
 * typing anything twice, where the copies are, on what media, on which
 * site, what they hold and how their last verification ended.
 *
 * Records are plaintext and write-once, named by their hash like every
 * file.  On a vault only a reader credential may upload one (a writer's
 * would be a forgery: a writer can neither copy from a vault nor read
 * data).  A local repository takes them from anyone who can write to it.
 */
#ifndef KURA_PROOF_H
#define KURA_PROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kura/backend.h"
#include "kura/kura.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { KURA_PROOF_COPY = 1, KURA_PROOF_CHECK = 2 } kura_proof_kind;

/* Where a copy lives: the "2" (media kinds) and "1" (offline/immutable) of 3-2-1-1-0. */
typedef enum {
	KURA_MEDIA_DISK = 1,	  /* a fixed disk, always attached */
	KURA_MEDIA_REMOVABLE = 2, /* a disk mounted for the copy, then unplugged: offline */
	KURA_MEDIA_VAULT = 3,	  /* a kura vault: append-only, immutable to clients */
	KURA_MEDIA_S3 = 4,	  /* an object store with Object Lock: immutable */
	KURA_MEDIA_TAPE = 5,	  /* tape, or anything else ejected after the copy: offline */
} kura_media;

typedef enum { KURA_SITE_ONSITE = 1, KURA_SITE_OFFSITE = 2 } kura_site;

#define KURA_PROOF_LABEL_MAX 128
#define KURA_PROOF_TARGET_MAX 1024

typedef struct {
	char id[KURA_ID_HEX]; /* the record's file name (set by write and list) */
	kura_proof_kind kind;
	bool passed;		       /* copy: complete and verified; check: no problem */
	kura_media media;	       /* copies only; 0 for a check */
	kura_site site;		       /* copies only; 0 for a check */
	int64_t time_ns;	       /* when it ended (the writing client's clock) */
	char snapshot_id[KURA_ID_HEX]; /* the newest snapshot the store holds; "" if none */
	uint64_t files;	   /* copy: files verified in the target; check: files checked */
	uint64_t bytes;	   /* copy: bytes copied; check: bytes read */
	uint64_t problems; /* copy: files not copied + snapshots left behind +
			      target problems; check: problems found */
	uint64_t duration_ms;
	char label[KURA_PROOF_LABEL_MAX + 1];	/* copies: the operator's name for the copy */
	char target[KURA_PROOF_TARGET_MAX + 1]; /* copies: a local path or a vault URL */
	char *damage; /* list only: non-NULL when the record does not parse */
} kura_proof_info;

/* "disk", "removable", "vault", "s3", "tape"; "?" for anything else. */
const char *kura_media_name(int media);
/* The reverse: a kura_media, or 0 for an unknown name. */
int kura_media_parse(const char *name);
/* "onsite", "offsite"; "?" for anything else. */
const char *kura_site_name(int site);
int kura_site_parse(const char *name);

/*
 * Write `p` (its id, damage ignored) as a proof record into `b`; out_id
 * gets its name.  KURA_EINVAL for a record that breaks an invariant
 * (a label with a control character...); the store's error otherwise
 * (KURA_EDENIED: a vault writer credential).
 */
int kura_proof_write(kura_backend *b, const kura_proof_info *p, char out_id[KURA_ID_HEX]);

/*
 * Every proof record of `b`, oldest first by time (damaged ones first,
 * with `damage` set and nothing else but the id).  No key is needed.
 * *out belongs to the caller (kura_proofs_free).
 */
int kura_proofs_list(kura_backend *b, kura_proof_info **out, size_t *out_count);
void kura_proofs_free(kura_proof_info *list, size_t count);

/*
 * The newest snapshot of `b`, without a key: ordered as
 * kura_snapshot_order_ns() orders them (the vault's receive time where the
 * store gives it, else the time the snapshot's plaintext header claims).
 * With `within` non-NULL, only snapshots that `within` also lists count
 * (the newest snapshot of `b` that a copy holds).  Snapshots that do not
 * hash to their name or whose header does not parse are passed over.
 * KURA_ENOTFOUND when there is none; *out_order_ns may be NULL.
 */
int kura_newest_snapshot(kura_backend *b, kura_backend *within, char out[KURA_ID_HEX],
			 int64_t *out_order_ns);

#ifdef __cplusplus
}
#endif
#endif
