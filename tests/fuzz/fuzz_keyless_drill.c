/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keyless_drill.c - the vault's upload check of drill records: it
 * accepts exactly what the summary decoder accepts, every record the
 * restore key fully decodes, and a record that passes re-encodes to a
 * summary that passes again.
 */
#include "format/drillrec.h"
#include "keyless_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const kura_keys *keys = keyless_fuzz_keys();
	int rc = keyless_fuzz_validate(KURA_FILE_DRILL, data, size);
	kura_drillrec r;
	uint8_t *again = NULL, name[KURA_HASH_SIZE];
	size_t len;

	if ((kura_drillrec_check(data, size) == 0) != (rc == 0))
		abort();
	if (kura_drillrec_decode(&r, keys, data, size) == 0) {
		if (rc != 0 || !r.details)
			abort();
		if (kura_drillrec_encode(&again, &len, name, keys->repo_pk, &r) < 0 ||
		    kura_drillrec_check(again, len) != 0)
			abort();
		free(again);
		kura_drillrec_clear(&r);
	}
	return 0;
}
