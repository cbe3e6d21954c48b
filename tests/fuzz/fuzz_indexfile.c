/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_indexfile.c - index files from hostile input: the keyless pack list
 * and the full decode.  Fixed keys, so the corpus (valid indexes made with
 * the same keys) gets past the authentication tag.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "format/indexfile.h"

static void fuzz_keys(kura_keys *k)
{
	uint8_t seed[crypto_box_SEEDBYTES];

	memset(k, 0, sizeof(*k));
	k->kind = KURA_KEY_RESTORE;
	memset(k->repo_id, 0x01, sizeof(k->repo_id));
	memset(k->id_key, 0x11, sizeof(k->id_key));
	memset(k->index_key, 0x22, sizeof(k->index_key));
	memset(k->chunker_seed, 0x33, sizeof(k->chunker_seed));
	memset(seed, 0x44, sizeof(seed));
	crypto_box_seed_keypair(k->repo_pk, k->repo_sk, seed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static kura_keys keys;
	static int ready;
	uint8_t(*packs)[KURA_HASH_SIZE] = NULL;
	kura_indexfile *idx = NULL;
	size_t npacks = 0;

	if (!ready) {
		if (kura_crypto_init() < 0)
			abort();
		fuzz_keys(&keys);
		ready = 1;
	}
	if (kura_indexfile_packs(&packs, &npacks, data, size) == 0)
		free(packs);
	if (kura_indexfile_decode(&idx, &keys, data, size) == 0) {
		for (size_t i = 0; i < idx->nrecords; i++)
			if (idx->records[i].pack >= idx->npacks)
				abort();
		kura_indexfile_free(idx);
	}
	return 0;
}
