/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_snapshot.c - snapshot files from hostile input: the keyless header
 * and, with the restore key, the decrypted JSON body.  Fixed keys, so the
 * corpus (valid snapshots made with the same keys) reaches the JSON parser.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "format/snapshot.h"

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
	kura_snapshot *s = NULL;

	if (!ready) {
		if (kura_crypto_init() < 0)
			abort();
		fuzz_keys(&keys);
		ready = 1;
	}
	if (kura_snapshot_decode(&s, NULL, data, size) == 0) {
		if (s->readable)
			abort();
		kura_snapshot_free(s);
	}
	if (kura_snapshot_decode(&s, &keys, data, size) == 0) {
		if (!s->readable)
			abort();
		kura_snapshot_free(s);
	}
	return 0;
}
