/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acceptrec.h - acceptance records (docs/FORMAT.md, "Acceptance
 * records"): an operator's write-once "this alarm was false" about one
 * snapshot (`kura scan --accept`), which the backups of its source read
 * to judge the next backups with a raised threshold where the false alarm
 * was (docs/DETECTION.md, "Accepting a false alarm").
 *
 * The header is plaintext, because a backup key (which cannot open
 * anything) must apply it and a vault must show it: the snapshot, the
 * source and the accepted directories and extensions as 64-bit hashes
 * keyed by the repository's id key (a store without a key cannot confirm
 * a guessed name), and the signals accepted.  The operator's reason and
 * the names behind the hashes are sealed to the repository's public key:
 * only the restore key reads them.  Any writer of the repository can make
 * a record; a vault accepts them only from readers (PROTOCOL.md), and
 * every backup that applies one says so.
 */
#ifndef KURA_FORMAT_ACCEPTREC_H
#define KURA_FORMAT_ACCEPTREC_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "crypto/keyfile.h"

#define KURA_ACCEPTREC_VERSION 1
#define KURA_ACCEPTREC_FIXED 72 /* header bytes before the hashes */
#define KURA_ACCEPTREC_SNAPSHOT_OFFSET 20 /* the accepted snapshot's raw name */
#define KURA_ACCEPTREC_MAX_DIRS 1024
#define KURA_ACCEPTREC_MAX_EXTS 64
#define KURA_ACCEPTREC_DETAILS_MAX (64u << 10) /* plaintext details, at most */

typedef struct {
	int64_t time_ns;		  /* when it was accepted (the operator's clock) */
	uint8_t snapshot[KURA_HASH_SIZE]; /* the snapshot judged a false alarm */
	uint64_t source;  /* kura_acceptrec_hash of its source (host, paths, excludes) */
	uint32_t signals; /* bitmask 1 << kura_signal: what was accepted */
	uint64_t *dirs;	  /* hashes of the directories, sorted, unique */
	size_t ndirs;
	uint64_t *exts; /* hashes of the extensions (".pak"), sorted, unique */
	size_t nexts;
	char *details; /* NUL-terminated text; NULL when not decrypted */
} kura_acceptrec;

/* The signals a record may accept: the content signals and new-noise (judge.h), never notes. */
#define KURA_ACCEPTREC_SIGNALS 0x11fu

/* The keyed hash of a name in a record: SipHash-2-4 under a key derived from id_key. */
void kura_acceptrec_key(uint8_t out[16], const uint8_t id_key[KURA_KEY_SIZE]);
uint64_t kura_acceptrec_hash(const uint8_t key[16], const char *s, size_t len);

/*
 * Encode `r` (dirs and exts sorted and unique; details may be NULL) with
 * the details sealed to `repo_pk`.  *out is malloc'd; out_name is its
 * SHA-256.  KURA_EINVAL for a record that breaks an invariant.
 */
int kura_acceptrec_encode(uint8_t **out, size_t *out_len, uint8_t out_name[KURA_HASH_SIZE],
			  const uint8_t repo_pk[KURA_PUBKEY_SIZE], const kura_acceptrec *r);

/*
 * Decode a record; with `keys` holding repo_sk the details are opened too
 * (KURA_EAUTH if they do not authenticate), else out->details is NULL.
 * KURA_ECORRUPT / KURA_EUNSUPPORTED name the field.  The caller frees
 * with kura_acceptrec_clear.
 */
int kura_acceptrec_decode(kura_acceptrec *out, const kura_keys *keys, const uint8_t *data,
			  size_t len);

/* The checks a store without a key makes. */
int kura_acceptrec_check(const uint8_t *data, size_t len);

void kura_acceptrec_clear(kura_acceptrec *r);

#endif
