/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keyless_key.c - the vault's upload check of key files: only
 * well-formed restore keys pass, and every restore key the decoder unwraps
 * passes.  Costly Argon2id parameters are only checked, not run, as in
 * fuzz_keyfile.c.
 */
#include "common/buf.h"
#include "keyless_fuzz.h"

#define FUZZ_PASSPHRASE "fuzz passphrase for kura tests"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int rc = keyless_fuzz_validate(KURA_FILE_KEY, data, size);
	int kind = kura_keyfile_kind(data, size);
	uint64_t ops, mem;
	kura_keys k;

	if (rc == 0 && kind != KURA_KEY_RESTORE)
		abort();
	if (kind != KURA_KEY_RESTORE)
		return 0;
	ops = kura_get_le64(data + 92);
	mem = kura_get_le64(data + 100);
	if (mem > ((uint64_t)64 << 20) || ops > 3)
		return 0;
	if (kura_keyfile_decode(&k, data, size, FUZZ_PASSPHRASE) == 0) {
		kura_keys_wipe(&k);
		if (rc != 0)
			abort();
	}
	return 0;
}
