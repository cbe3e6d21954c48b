/* SPDX-License-Identifier: Apache-2.0 */
/*
 * indexfile.h - index files (docs/FORMAT.md, "Index files"): which blob is
 * in which pack, where, and how long.  The list of packs an index describes
 * is plaintext, so a keyless store knows which index files a pack deletion
 * makes obsolete; the entries are encrypted under a subkey of the index key.
 */
#ifndef KURA_FORMAT_INDEXFILE_H
#define KURA_FORMAT_INDEXFILE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/keyfile.h"
#include "format/pack.h"

typedef struct {
	uint32_t pack;                  /* ordinal into the index file's pack list */
	kura_pack_entry blob;
} kura_index_record;

typedef struct {
	uint8_t (*packs)[KURA_HASH_SIZE];
	size_t npacks;
	kura_index_record *records;
	size_t nrecords;
} kura_indexfile;

/*
 * Encode an index file.  Records must reference packs < npacks.  *out is
 * malloc'd; out_name is the SHA-256 of the bytes.
 */
int kura_indexfile_encode(uint8_t **out, size_t *out_len, uint8_t out_name[KURA_HASH_SIZE],
			  const kura_keys *keys, const kura_indexfile *idx);

/*
 * Decode and validate (pack ordinals in range, blob types known, lengths
 * sane).  *out and its arrays are malloc'd; free with kura_indexfile_free.
 */
int kura_indexfile_decode(kura_indexfile **out, const kura_keys *keys, const uint8_t *data,
			  size_t len);

/*
 * The checks a store without a key can make: magic, version, reserved
 * bytes, 1 <= P <= 2^20, the pack names present, and an encrypted part
 * whose length fits a whole number of records (at most 2^26).  Reads only
 * the first 48 bytes; the rest only through its length.  KURA_ECORRUPT or
 * KURA_EUNSUPPORTED with a message naming the field.
 */
int kura_indexfile_check(const uint8_t *data, size_t len);

/* Only the plaintext pack list, without a key (for stores and garbage collection). */
int kura_indexfile_packs(uint8_t (**out)[KURA_HASH_SIZE], size_t *out_count, const uint8_t *data,
			 size_t len);

void kura_indexfile_free(kura_indexfile *idx);

#endif
