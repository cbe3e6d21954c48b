/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmap.h - the in-memory index: blob id -> where the blob is stored.
 *
 * An open-addressing hash table keyed by the 32-byte id (ids are uniformly
 * distributed HMAC outputs, so their first 8 bytes are the hash).  Not
 * thread-safe by itself: the repository serialises access with its lock.
 */
#ifndef KURA_REPO_IDMAP_H
#define KURA_REPO_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "format/pack.h"

#define KURA_PACK_PENDING 0xFFFFFFFFu /* blob claimed by a backup, not yet in a pack */

typedef struct {
	uint8_t id[KURA_HASH_SIZE];
	uint32_t pack;          /* ordinal in the repository's pack table, or KURA_PACK_PENDING */
	uint32_t offset;
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t type, flags;
} kura_blob_loc;

typedef struct kura_idmap kura_idmap;

int kura_idmap_new(kura_idmap **out);
void kura_idmap_free(kura_idmap *m);
size_t kura_idmap_count(const kura_idmap *m);

/* Borrowed pointer to the entry for id, or NULL. Valid until the next insert. */
kura_blob_loc *kura_idmap_get(const kura_idmap *m, const uint8_t id[KURA_HASH_SIZE]);

/* Insert or replace. */
int kura_idmap_put(kura_idmap *m, const kura_blob_loc *loc);

/* Call fn for each entry; stop on non-zero. */
int kura_idmap_each(const kura_idmap *m, int (*fn)(const kura_blob_loc *loc, void *ctx),
		    void *ctx);

#endif
