/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmap.h - the in-memory index: blob id -> where the blob is stored.
 *
 * A map keyed by the full 32-byte id, stored compactly (about 46 bytes per
 * entry with everything counted; see idmap.c for the layout and why).  Keys
 * are expected to have uniformly distributed leading bytes (HMAC ids, pack
 * names): the map still works otherwise, only more slowly.  Entries are
 * packed, so lookups copy the entry out.  Not thread-safe by itself: the
 * repository serialises access with its lock; concurrent _get calls alone
 * are safe.
 */
#ifndef KURA_REPO_IDMAP_H
#define KURA_REPO_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "format/pack.h"

#define KURA_PACK_PENDING 0xFFFFFFFFu /* blob claimed by a backup, not yet in a pack */

/*
 * The largest values an entry can hold besides any u32 pack and offset:
 * what docs/FORMAT.md allows a blob (type 0 and flags 0 are free for maps
 * that are not blob indexes).
 */
#define KURA_IDMAP_MAX_TYPE KURA_BLOB_TREE
#define KURA_IDMAP_MAX_FLAGS KURA_BLOB_FLAG_REF
#define KURA_IDMAP_MAX_RAW KURA_BLOB_MAX_RAW
#define KURA_IDMAP_MAX_STORED (KURA_BLOB_MAX_RAW + KURA_AEAD_OVERHEAD)

typedef struct {
	uint8_t id[KURA_HASH_SIZE];
	uint32_t pack;          /* ordinal in the repository's pack table, or KURA_PACK_PENDING */
	uint32_t offset;
	uint32_t stored_len;    /* <= KURA_IDMAP_MAX_STORED */
	uint32_t raw_len;       /* <= KURA_IDMAP_MAX_RAW */
	uint8_t type, flags;    /* <= KURA_IDMAP_MAX_TYPE, KURA_IDMAP_MAX_FLAGS */
} kura_blob_loc;

typedef struct kura_idmap kura_idmap;

/* An empty map in *out (free with kura_idmap_free).  KURA_ENOMEM. */
int kura_idmap_new(kura_idmap **out);
void kura_idmap_free(kura_idmap *m);
size_t kura_idmap_count(const kura_idmap *m);

/* Bytes the map has allocated (the directory, the shards and the map itself). */
size_t kura_idmap_bytes(const kura_idmap *m);

/*
 * Whether id is in the map; if so and out is not NULL, a copy of its entry
 * in *out.  Sets no error message (misses are the common case).
 */
bool kura_idmap_get(kura_blob_loc *out, const kura_idmap *m, const uint8_t id[KURA_HASH_SIZE]);

/*
 * Insert loc, or replace the entry with the same id.  KURA_EINVAL (and the
 * map unchanged) if a field exceeds its KURA_IDMAP_MAX_*; KURA_ENOMEM.
 */
int kura_idmap_put(kura_idmap *m, const kura_blob_loc *loc);

/*
 * Call fn for each entry once, with a copy that lives until fn returns; stop
 * on non-zero and return it.  fn must not change the map.
 */
int kura_idmap_each(const kura_idmap *m, int (*fn)(const kura_blob_loc *loc, void *ctx),
		    void *ctx);

#endif
