/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config.c - kura_config_decode on arbitrary bytes.  Whatever decodes
 * must re-encode to exactly the same 96 bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kura_config c;
	uint8_t out[KURA_CONFIG_SIZE];

	if (kura_config_decode(&c, data, size) < 0)
		return 0;
	kura_config_encode(out, &c);
	if (size != KURA_CONFIG_SIZE || memcmp(out, data, size) != 0)
		abort();
	return 0;
}
