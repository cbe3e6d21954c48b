/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keyless_config.c - the vault's upload check of config files.  A
 * config is all plaintext, so the check must accept exactly what the
 * client's decoder accepts.
 */
#include "format/config.h"
#include "keyless_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kura_config c;
	int rc = keyless_fuzz_validate(KURA_FILE_CONFIG, data, size);

	if ((rc == 0) != (kura_config_decode(&c, data, size) == 0))
		abort();
	return 0;
}
