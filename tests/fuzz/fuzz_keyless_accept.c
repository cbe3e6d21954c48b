/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keyless_accept.c - acceptance records (format/acceptrec.h): the
 * vault's upload check accepts exactly what the header decoder accepts,
 * every record the restore key fully decodes, and a record that decodes
 * re-encodes to one that passes again with the same lists.
 */
#include "format/acceptrec.h"
#include "keyless_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const kura_keys *keys = keyless_fuzz_keys();
	int rc = keyless_fuzz_validate(KURA_FILE_ACCEPT, data, size);
	kura_acceptrec r, back;
	uint8_t *again = NULL, name[KURA_HASH_SIZE];
	size_t len;

	if ((kura_acceptrec_check(data, size) == 0) != (rc == 0))
		abort();
	if (kura_acceptrec_decode(&r, keys, data, size) == 0) {
		if (rc != 0 || !r.details)
			abort();
		if (kura_acceptrec_encode(&again, &len, name, keys->repo_pk, &r) < 0 ||
		    kura_acceptrec_decode(&back, NULL, again, len) != 0 || back.ndirs != r.ndirs ||
		    back.nexts != r.nexts || back.source != r.source || back.signals != r.signals ||
		    memcmp(back.dirs, r.dirs, r.ndirs * sizeof(*r.dirs)) != 0)
			abort();
		free(again);
		kura_acceptrec_clear(&back);
		kura_acceptrec_clear(&r);
	}
	return 0;
}
