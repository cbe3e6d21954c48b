/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fscache.h - decoded chunks kept for reuse by the mount's file reads.
 *
 * The kernel reads a file 128 KiB at a time and chunks are ~1 MiB, so
 * without a cache each chunk would be fetched and decrypted eight times.
 * Entries are keyed by chunk id and evicted least recently used first once
 * the decoded bytes pass the budget; an entry a reader holds is never
 * evicted or freed under it (reference counts), so the budget can be
 * passed by at most one chunk per reader.  A chunk being fetched is in
 * the table already, marked loading: a second reader of it waits for the
 * first instead of fetching it again (the kernel's read-ahead asks for
 * neighbouring pieces of one chunk at once).  Plaintext is wiped when an
 * entry is freed.  Thread-safe.
 */
#ifndef KURA_MOUNT_FSCACHE_H
#define KURA_MOUNT_FSCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "repo/repo.h"

typedef struct kura_fscache kura_fscache;

/* A chunk a reader holds: data is `len` bytes of plaintext, borrowed until put. */
typedef struct kura_fschunk kura_fschunk;

int kura_fscache_new(kura_fscache **out, kura_repo *repo, uint64_t budget);
void kura_fscache_free(kura_fscache *c);

/*
 * The decoded chunk `id`, which must be `len` bytes long (else
 * KURA_ECORRUPT naming it): from the cache, or fetched and decoded.
 * Release with kura_fscache_put.
 */
int kura_fscache_get(kura_fscache *c, const uint8_t id[KURA_HASH_SIZE], uint64_t len,
		     kura_fschunk **out);
const uint8_t *kura_fschunk_data(const kura_fschunk *ch);
void kura_fscache_put(kura_fscache *c, kura_fschunk *ch);

/* Decoded bytes the cache holds now, and the most it held (for tests and numbers). */
void kura_fscache_usage(kura_fscache *c, uint64_t *out_now, uint64_t *out_peak);

#endif
