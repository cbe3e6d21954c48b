/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keyless_pack.c - the vault's upload check of pack files: every
 * pack whose trailer the index key opens and validates passes.
 */
#include "format/pack.h"
#include "keyless_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const kura_keys *keys = keyless_fuzz_keys();
	int rc = keyless_fuzz_validate(KURA_FILE_PACK, data, size);
	kura_pack_entry *entries = NULL;
	size_t count = 0;

	if (kura_pack_read_entries(&entries, &count, keys, data, size) == 0 && rc != 0)
		abort();
	free(entries);
	return 0;
}
