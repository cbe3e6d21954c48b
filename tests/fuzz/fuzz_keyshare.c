/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keyshare.c - the key share parser, kura_keyshare_parse(), on
 * arbitrary bytes (a share file is typed in by a person, or scanned from
 * a QR code: anything can come back).  A share that parses must be
 * self-consistent, and must combine with itself without a crash: one share
 * is always below the threshold, so that must be refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keyshare_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kura_keyshare *s = NULL;
	kura_keyshare_info info;
	kura_keys k;

	if (kura_keyshare_parse(&s, (const char *)data, size, "fuzz") < 0)
		return 0;
	kura_keyshare_get_info(&info, s);
	if (info.index < 1 || info.index > info.total || info.threshold < 2 ||
	    info.threshold > info.total || info.total > KURA_KEYSHARE_MAX ||
	    strlen(info.repo_id) != 64 || strlen(info.split_id) != 16)
		abort();
	const kura_keyshare *two[] = {s, s};
	if (kura_keyshare_combine_keys(&k, two, 2) != KURA_EINVAL)
		abort();
	kura_keyshare_free(s);
	return 0;
}
