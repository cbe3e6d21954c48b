/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyshare.h - the restore key split among people (Shamir secret sharing
 * over GF(256) with libgfshare), and put back together.
 *
 * A split turns the secrets of a restore key into `total` shares, any
 * `threshold` of which rebuild it; fewer reveal nothing about it.  Each
 * share is a short text (docs/FORMAT.md, "Key shares") that names the
 * repository and the split it belongs to, carries a checksum on every
 * line so a mistyped character is caught where it was typed, and a check
 * value of the whole secret so a combination that comes out wrong is
 * refused instead of written.  Combining writes a new restore key file
 * wrapped under a passphrase chosen by whoever combines: no single
 * person's passphrase is needed to recover.
 */
#ifndef KURA_KEYSHARE_PUBLIC_H
#define KURA_KEYSHARE_PUBLIC_H

#include <stddef.h>

#include "kura/kura.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KURA_KEYSHARE_MAX 255     /* shares in one split (GF(256) has 255 non-zero x) */
#define KURA_KEYSHARE_TEXT_MAX 65536 /* the longest share text a parser reads */

typedef struct kura_keyshare kura_keyshare;

typedef struct {
	char repo_id[KURA_ID_HEX]; /* the repository, as hex */
	char split_id[17];         /* which split, 16 hex digits */
	unsigned index;            /* this share's number, 1..total */
	unsigned threshold;        /* shares needed */
	unsigned total;            /* shares made */
} kura_keyshare_info;

/*
 * Split the restore key of `repo` (opened with it: KURA_ENEEDKEY with a
 * backup key) into `total` share texts, any `threshold` of which rebuild
 * it; 2 <= threshold <= total <= KURA_KEYSHARE_MAX, else KURA_EINVAL.
 * *out is an array of `total` NUL-terminated texts, share i+1 at [i];
 * release it with kura_keyshare_texts_free(), which wipes them.
 */
int kura_repo_key_split(char ***out, const kura_repo *repo, unsigned threshold, unsigned total);

void kura_keyshare_texts_free(char **texts, size_t count);

/*
 * Parse and check one share text of `len` bytes (every line checksum and
 * the share's own checksum).  `name` (a file name) starts every message:
 * "share-2.txt: line 9: checksum 3f2a does not match...".  KURA_ECORRUPT
 * for a damaged or mistyped share, KURA_EUNSUPPORTED for a newer version.
 * *out is freed with kura_keyshare_free().
 */
int kura_keyshare_parse(kura_keyshare **out, const char *text, size_t len, const char *name);

void kura_keyshare_get_info(kura_keyshare_info *out, const kura_keyshare *share);

/* Wipes the share, then frees it; accepts NULL. */
void kura_keyshare_free(kura_keyshare *share);

/*
 * Every check kura_keyshare_combine_file() makes before it needs the
 * passphrase: the shares combine, and the key they give matches the check
 * value they carry.  The key itself is wiped at once.
 */
int kura_keyshare_verify(const kura_keyshare *const *shares, size_t count);

/*
 * Combine `count` parsed shares into a restore key file at `path` (mode
 * 0600, never overwritten: KURA_EEXISTS), wrapped under `passphrase`
 * (checked with kura_passphrase_check()) with the Argon2id cost of
 * `kdf_profile` (KURA_KDF_*).  Refused, with nothing written, when the
 * shares are of different repositories or splits (KURA_EINVAL), when
 * fewer than the threshold are distinct (KURA_EINVAL, "need M shares,
 * have K"), or when the combined secret fails the check every share
 * carries or the written key does not open again (KURA_ECORRUPT).
 * `repo_id_out`, if not NULL, receives the repository id as hex.
 */
int kura_keyshare_combine_file(const kura_keyshare *const *shares, size_t count,
			       const char *passphrase, int kdf_profile, const char *path,
			       char repo_id_out[KURA_ID_HEX]);

#ifdef __cplusplus
}
#endif

#endif
