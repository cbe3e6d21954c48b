/* SPDX-License-Identifier: Apache-2.0 */
/*
 * basestore.h - the client's copies of the pieces that its database files'
 * changed pieces are stored against (docs/FORMAT.md, "Blobs stored against
 * another" and "Local cache").
 *
 * A file cut into pieces of pages (chunkchoice.h) has, for each piece, a
 * *base*: the last version of that piece the backup stored on its own.
 * The next version is stored against it when that pays (a rewritten page
 * is mostly its old self), and becomes the new base when it does not.  A
 * backup key cannot read the repository, so the client keeps the bases'
 * plaintext itself, compressed, beside its file cache:
 * <cache dir>/<repository id>/bases/<SHA-256 of the path>.{idx,dat}.
 *
 * Like the file cache this is only an optimisation, and never trusted: a
 * slot names the base's id, the caller checks the plaintext against it
 * (and the repository still holding that id on its own) before use, and a
 * missing, stale or damaged slot only means the piece is stored on its
 * own.  The plaintext is the file's own content, so the files are 0600 in
 * a 0700 directory, as sensitive as the database they come from.
 */
#ifndef KURA_REPO_BASESTORE_H
#define KURA_REPO_BASESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

typedef struct kura_basestore kura_basestore;
typedef struct kura_basefile kura_basefile;

/* The bases of `repo_id_hex` under `dir` (NULL: the file cache's default). */
int kura_basestore_open(kura_basestore **out, const char *dir, const char *repo_id_hex);

/*
 * After a successful backup: remove the bases of files no backup has
 * opened for `max_age_days` (files deleted or no longer cut in pages).
 */
void kura_basestore_sweep(kura_basestore *s, unsigned max_age_days);

void kura_basestore_free(kura_basestore *s);

/* One file's bases (thread-safe: a file's pieces are stored by many workers). */
int kura_basefile_open(kura_basefile **out, kura_basestore *s, const char *path);

/* What a piece's slot says. */
typedef struct {
	uint8_t base_id[KURA_HASH_SIZE]; /* the base: stored on its own (as the caller last saw) */
	size_t base_len;                 /* its plaintext, now in the caller's buffer */
	size_t frame_len;                /* what it weighs compressed (this copy's frame) */
	uint8_t last_id[KURA_HASH_SIZE]; /* what the caller stored for the piece last time */
	int last_against;                /* ... against the base */
} kura_base_slot;

/*
 * The slot of piece `piece`, its base's plaintext decompressed into `buf`
 * (`cap` bytes; buf NULL: the slot only).  1 if there is one, 0 if none
 * (or it is damaged, or larger than cap): then the piece is stored on its
 * own.
 */
int kura_basefile_get(kura_basefile *f, uint64_t piece, kura_base_slot *out, uint8_t *buf,
		      size_t cap);

/*
 * What was stored for piece `piece`: `id`, against the slot's base if
 * `against`; else `plain` (len bytes) was stored on its own and becomes
 * the piece's base.  `frame` (frame_len bytes, or NULL): a zstd frame of
 * plain the caller has already (the one the repository stores), kept
 * instead of compressing plain again.  A failure to write only loses the
 * slot (0 or KURA_ENOMEM).
 */
int kura_basefile_put(kura_basefile *f, uint64_t piece, const uint8_t id[KURA_HASH_SIZE],
		      int against, const uint8_t *plain, size_t len, const uint8_t *frame,
		      size_t frame_len);

/* Close, first compacting the data file when most of it is old bases. */
void kura_basefile_close(kura_basefile *f);

#endif
