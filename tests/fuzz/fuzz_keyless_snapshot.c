/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keyless_snapshot.c - the vault's upload check of snapshot files:
 * it accepts exactly what the header decoder accepts, and every snapshot
 * the restore key fully decodes.
 */
#include "format/snapshot.h"
#include "keyless_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const kura_keys *keys = keyless_fuzz_keys();
	int rc = keyless_fuzz_validate(KURA_FILE_SNAPSHOT, data, size);
	kura_snapshot *s = NULL;
	int header_rc;

	header_rc = kura_snapshot_decode(&s, NULL, data, size);
	kura_snapshot_free(s);
	if ((rc == 0) != (header_rc == 0))
		abort();
	s = NULL;
	if (kura_snapshot_decode(&s, keys, data, size) == 0 && rc != 0)
		abort();
	kura_snapshot_free(s);
	return 0;
}
