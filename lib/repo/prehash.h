/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prehash.h - SHA-256 of packs, in name order, on a second thread while the
 * opening thread runs Argon2id (semi-private).
 *
 * Opening the restore key costs a fixed ~0.4 s of one core during which
 * nothing else can run: every later stage needs a key.  The only key-less
 * work check --read-data has is the SHA-256 of every pack against its name,
 * so this hashes as many packs as it can until the key is open, and the
 * check then skips hashing those (it still decrypts and verifies each of
 * their blobs).  Only for a local backend: a pack hashed early is read
 * again by the check, which costs a page-cache copy there but a second
 * download from a vault or S3.
 *
 * Invariant: a result is kept only for a pack hashed whole, with the size
 * it was read at; a caller trusts it only for a pack of that same size.
 * Once the thread is joined only those results are kept (the listing,
 * 80 bytes a pack, is freed before the check makes its own).
 */
#ifndef KURA_REPO_PREHASH_H
#define KURA_REPO_PREHASH_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "kura/sys/backend.h"

typedef struct kura_prehash kura_prehash;

/*
 * Start listing and hashing the packs of `b` on a new thread.  *out is
 * the caller's (kura_prehash_free).  0, or KURA_ENOMEM / KURA_EIO when the
 * thread cannot start.  A listing that fails only leaves nothing hashed.
 */
int kura_prehash_start(kura_prehash **out, kura_backend *b);

/* Stop hashing (the pack being hashed is dropped) and wait for the thread. */
void kura_prehash_stop(kura_prehash *ph);

/* Wait for the thread to hash every pack (tests: a result that does not
 * depend on how long someone else's Argon2id took). */
void kura_prehash_finish(kura_prehash *ph);

/*
 * Whether pack `name` was hashed whole at `size` bytes: true, with *match
 * saying whether its SHA-256 equals its name; false if it was not hashed
 * or was hashed at another size.  Only after kura_prehash_stop().
 */
bool kura_prehash_lookup(const kura_prehash *ph, const uint8_t name[KURA_HASH_SIZE], uint64_t size,
			 bool *match);

/* How many packs and bytes were hashed whole (for tests and benchmarks). */
void kura_prehash_counts(const kura_prehash *ph, uint64_t *packs, uint64_t *bytes);

/* Stops the thread if it still runs; accepts NULL. */
void kura_prehash_free(kura_prehash *ph);

#endif
