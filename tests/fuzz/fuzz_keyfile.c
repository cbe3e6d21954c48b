/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keyfile.c - key file parsing: kura_keyfile_kind() and
 * kura_keyfile_decode() on arbitrary bytes.  Restore keys whose Argon2id
 * parameters are costly (more than 64 MiB or 3 passes, still within what
 * the decoder accepts) are only classified, not unwrapped, to keep the
 * fuzzer fast; the range checks themselves are still exercised.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "crypto/keyfile.h"

#define FUZZ_PASSPHRASE "fuzz passphrase for kura tests"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kura_keys k;
	int kind;

	kind = kura_keyfile_kind(data, size);
	if (kind == KURA_KEY_RESTORE) {
		uint64_t ops = kura_get_le64(data + 92), mem = kura_get_le64(data + 100);

		if (mem > ((uint64_t)64 << 20) && mem <= ((uint64_t)1 << 30))
			return 0;
		if (ops > 3 && ops <= 10)
			return 0;
	}
	if (kura_keyfile_decode(&k, data, size, FUZZ_PASSPHRASE) == 0) {
		/* success must mean a structurally sound key of the detected kind */
		if (k.kind != kind)
			abort();
		if (k.kind == KURA_KEY_BACKUP) {
			static const uint8_t zero[KURA_SECKEY_SIZE];
			if (memcmp(k.repo_sk, zero, sizeof(zero)) != 0)
				abort();
		}
	}
	kura_keys_wipe(&k);
	return 0;
}
