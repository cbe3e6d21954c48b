/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_stat.h - what the vault's checks learn with a stat() of a stored
 * file on its disk, for a store that is not a local directory (the vault
 * on S3, vault_store.h): a file's size, from one listing per file type,
 * and when the vault received it, from its provenance record
 * (provenance.h) rather than the object's date.
 */
#ifndef KURA_SERVER_STORE_STAT_H
#define KURA_SERVER_STORE_STAT_H

#include <stdint.h>

#include "kura/keyless.h"
#include "kura/sys/backend.h"

typedef struct store_stat store_stat;

/* Sizes of the files in `b` (borrowed; it must outlive *out), listed on first need. */
int store_stat_new(store_stat **out, kura_backend *b);
void store_stat_free(store_stat *s);

/* The size of stored file `name` of `type`; -1 when it is not stored or cannot be listed. */
int64_t store_stat_size(store_stat *s, kura_file_type type, const char *name);

/*
 * Of the `count` packs in `packs`, those the vault received after since_ns
 * (DIR/meta/REPO/uploads) and still holds in `b`: how many, and their bytes.
 */
int store_stat_new_packs(const char *dir, const char *repo, kura_backend *b,
			 const char (*packs)[KURA_ID_HEX], size_t count, int64_t since_ns,
			 uint64_t *out_bytes, uint64_t *out_packs);

#endif
