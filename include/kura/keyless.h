/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyless.h - what a store that holds no key may know about a repository:
 * file names are SHA-256 hashes of their bytes, and snapshot files carry a
 * plaintext header with the client's claimed time and the packs they
 * reference.  The vault (kurad) and object-store backends build on this.
 */
#ifndef KURA_KEYLESS_H
#define KURA_KEYLESS_H

#include <stddef.h>
#include <stdint.h>

#include "kura/kura.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Incremental SHA-256 for data that arrives in pieces (an upload). */
typedef struct kura_hasher kura_hasher;

int kura_hasher_new(kura_hasher **out);
void kura_hasher_update(kura_hasher *h, const void *data, size_t len);
/* The lowercase hex digest: what the file's name must be. */
void kura_hasher_final(kura_hasher *h, char out[KURA_ID_HEX]);
void kura_hasher_free(kura_hasher *h);

/* 1 if `name` is a valid repository file name (64 lowercase hex digits); 0 for NULL. */
int kura_file_name_ok(const char *name);

/*
 * Read a snapshot file's plaintext header without a key: the client's
 * claimed time and the names of the packs it references.  *out_packs is
 * malloc'd (count entries of 65 bytes: hex and NUL).  KURA_ECORRUPT for a
 * file that is not a valid snapshot header.
 */
int kura_snapshot_peek(const uint8_t *data, size_t len, int64_t *out_client_time_ns,
		       char (**out_packs)[KURA_ID_HEX], size_t *out_count);

#ifdef __cplusplus
}
#endif
#endif
