/* SPDX-License-Identifier: Apache-2.0 */
/*
 * refahead.h - reading the references of a restore batch ahead on a remote
 * store.  A chunk stored against another blob (its reference) needs that
 * blob's plaintext to decode; the repository's fetch (locate.c, fetch_ref)
 * reads it with one ranged request, which on S3 or a vault is a round trip
 * per chunk.  kura_repo__refahead() reads the references a batch's trees
 * name before its content is restored: many requests in flight (the
 * backend's read_parallel), references near each other in one pack in one
 * ranged request, each authenticated as the fetch would (only a location
 * stored on its own, decrypted under its pack's key, hashing back to its
 * id), and keeps their plaintext; fetch_ref takes a reference from there
 * before it asks the store.  A reference that could not be read ahead is
 * simply not kept: the fetch reads it itself and says what went wrong, as
 * it always did.
 */
#ifndef KURA_REPO_REFAHEAD_H
#define KURA_REPO_REFAHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "repo/repo.h"

/* The most plaintext of references kept at once; those beyond are fetched one by one. */
#define KURA_REFAHEAD_BYTES (256u << 20)

/*
 * Read the references `ids` (n of them, repeats allowed: a reference named
 * k times is given out k times) ahead, `parallel` requests at a time, and
 * keep them for kura_repo__refahead_take() until kura_repo__refahead_drop()
 * on the same thread (which a new call on that thread also does first).
 * Does nothing for parallel < 2, or while another thread's call holds the
 * handle's read-ahead.  Only a lack of memory or threads is an error;
 * unreadable references are left out.
 */
int kura_repo__refahead(kura_repo *repo, const uint8_t (*ids)[KURA_HASH_SIZE], size_t n,
			int parallel);

/* kura_repo__refahead_take(), _drop() and _free() are in repo.h: locate.c and repo.c use them. */

#endif
