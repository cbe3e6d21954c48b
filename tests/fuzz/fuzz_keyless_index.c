/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keyless_index.c - the vault's upload check of index files: every
 * index the index key decodes passes, and whatever passes has a pack list
 * a keyless reader (garbage collection) can read.
 */
#include "format/indexfile.h"
#include "keyless_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const kura_keys *keys = keyless_fuzz_keys();
	int rc = keyless_fuzz_validate(KURA_FILE_INDEX, data, size);
	uint8_t(*packs)[KURA_HASH_SIZE] = NULL;
	kura_indexfile *idx = NULL;
	size_t count = 0;

	if (kura_indexfile_decode(&idx, keys, data, size) == 0 && rc != 0)
		abort();
	kura_indexfile_free(idx);
	if (rc == 0 && kura_indexfile_packs(&packs, &count, data, size) != 0)
		abort();
	free(packs);
	return 0;
}
