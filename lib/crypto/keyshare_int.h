/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyshare_int.h - the share format and Shamir split/combine of the restore
 * key's secrets (semi-private; the public face is kura/keyshare.h).
 *
 * What is split is exactly what a restore key file needs beyond its public
 * header: id_key, index_key, chunker_seed and repo_sk, 128 bytes.  The
 * repository id travels in clear in every share; repo_pk is derived again
 * from repo_sk when the shares are combined.
 */
#ifndef KURA_CRYPTO_KEYSHARE_INT_H
#define KURA_CRYPTO_KEYSHARE_INT_H

#include <stdint.h>

#include "crypto/keyfile.h"
#include "kura/keyshare.h"

#define KURA_KEYSHARE_SECRET_LEN (3 * KURA_KEY_SIZE + KURA_SECKEY_SIZE) /* 128 */
#define KURA_KEYSHARE_SPLIT_LEN 8
#define KURA_KEYSHARE_CHECK_LEN 16
#define KURA_KEYSHARE_NAME_MAX 256

struct kura_keyshare {
	uint8_t repo_id[32];
	uint8_t split_id[KURA_KEYSHARE_SPLIT_LEN];
	uint8_t check[KURA_KEYSHARE_CHECK_LEN]; /* BLAKE2b of the secret, see FORMAT.md */
	unsigned index, threshold, total;
	uint8_t data[KURA_KEYSHARE_SECRET_LEN];
	char name[KURA_KEYSHARE_NAME_MAX];     /* for messages */
};

/* kura_repo_key_split() on key material: `k` must be a restore key. */
int kura_keyshare_split_keys(char ***out, const kura_keys *k, unsigned threshold,
			     unsigned total);

/*
 * The restore key the shares rebuild, every check but the final key file's
 * done (repositories, splits, duplicates, the threshold, the check value,
 * repo_sk against the derived repo_pk).  *out is zeroed on failure.
 */
__attribute__((warn_unused_result)) int
kura_keyshare_combine_keys(kura_keys *out, const kura_keyshare *const *shares, size_t count);

#endif
