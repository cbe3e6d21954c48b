/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyless.c - the keyless view of a repository (include/kura/keyless.h),
 * over the crypto and snapshot modules.
 */
#include "kura/keyless.h"

#include <stdlib.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "format/snapshot.h"

struct kura_hasher {
	kura_sha256_ctx *ctx;
};

int kura_hasher_new(kura_hasher **out)
{
	kura_hasher *h = calloc(1, sizeof(*h));
	int err;

	*out = NULL;
	if (!h)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = kura_crypto_init()) < 0 || (err = kura_sha256_new(&h->ctx)) < 0) {
		free(h);
		return err;
	}
	*out = h;
	return 0;
}

void kura_hasher_update(kura_hasher *h, const void *data, size_t len)
{
	kura_sha256_update(h->ctx, data, len);
}

void kura_hasher_final(kura_hasher *h, char out[KURA_ID_HEX])
{
	uint8_t digest[KURA_HASH_SIZE];

	kura_sha256_final(h->ctx, digest);
	kura_hex(out, digest, sizeof(digest));
}

void kura_hasher_free(kura_hasher *h)
{
	if (!h)
		return;
	kura_sha256_free(h->ctx);
	free(h);
}

int kura_file_name_ok(const char *name)
{
	size_t i;

	if (!name)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return name[64] == '\0';
}

int kura_snapshot_peek(const uint8_t *data, size_t len, int64_t *out_client_time_ns,
		       char (**out_packs)[KURA_ID_HEX], size_t *out_count)
{
	kura_snapshot *s = NULL;
	char (*packs)[KURA_ID_HEX] = NULL;
	int err;

	*out_packs = NULL;
	*out_count = 0;
	if ((err = kura_snapshot_decode(&s, NULL, data, len)) < 0)
		return err;
	if (s->npacks && !(packs = calloc(s->npacks, sizeof(*packs)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < s->npacks; i++)
		kura_hex(packs[i], s->packs[i], KURA_HASH_SIZE);
	*out_client_time_ns = s->time_ns;
	*out_packs = packs;
	*out_count = s->npacks;
done:
	kura_snapshot_free(s);
	return err;
}
