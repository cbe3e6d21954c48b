/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keyless_proof.c - proof records: the vault's upload check accepts
 * exactly what the decoder accepts, and a record that decodes re-encodes
 * to the same bytes (the format has no slack for anything to ride along).
 */
#include "format/proofrec.h"
#include "keyless_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int rc = keyless_fuzz_validate(KURA_FILE_PROOF, data, size);
	kura_proofrec r;
	uint8_t *again = NULL, name[KURA_HASH_SIZE];
	size_t len;

	if ((kura_proofrec_check(data, size) == 0) != (rc == 0))
		abort();
	if (kura_proofrec_decode(&r, data, size) == 0) {
		if (kura_proofrec_encode(&again, &len, name, &r) < 0 || len != size ||
		    memcmp(again, data, size) != 0)
			abort();
		free(again);
	}
	return 0;
}
