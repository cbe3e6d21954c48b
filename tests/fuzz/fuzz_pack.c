/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_pack.c - pack files from hostile input: header, footer and trailer
 * parsing, then every listed blob's decryption and decompression.  The keys
 * are fixed so that the corpus (valid packs made with the same keys) gets
 * past the authentication tags.  A blob stored against another gets one
 * fixed reference (byte i is i * 7), which the corpus's `against` was
 * made with.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "format/pack.h"

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

static int fixed_ref(void *ctx, const uint8_t id[KURA_HASH_SIZE], uint8_t **out, size_t *out_len)
{
	if (!(*out = malloc(4096)))
		abort();
	for (size_t i = 0; i < 4096; i++)
		(*out)[i] = (uint8_t)(i * 7);
	*out_len = 4096;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const kura_blob_refs refs = {fixed_ref, NULL};
	static kura_keys keys;
	static kura_mac *mac;
	kura_pack_entry *entries = NULL;
	uint8_t key[KURA_KEY_SIZE];
	size_t count = 0;

	if (!mac) {
		if (kura_crypto_init() < 0)
			abort();
		fuzz_keys(&keys);
		if (kura_mac_new(&mac, keys.id_key) < 0)
			abort();
	}
	if (kura_pack_read_entries(&entries, &count, &keys, data, size) < 0)
		return 0;
	if (kura_pack_open_key(key, &keys, data, size) == 0) {
		for (size_t i = 0; i < count; i++) {
			const kura_pack_entry *e = &entries[i];
			uint8_t *plain = NULL;

			/* read_entries promised this; check anyway so a bug shows as a crash */
			if ((uint64_t)e->offset + e->stored_len > size)
				abort();
			if (kura_blob_decode_with(&plain, key, mac, e, data + e->offset,
						  e->stored_len, &refs) == 0)
				free(plain);
			else if (plain)
				abort();
		}
	}
	free(entries);
	return 0;
}
