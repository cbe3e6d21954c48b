/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_tree.c - kura_tree_decode on arbitrary bytes.  Whatever decodes must
 * re-encode to exactly the same bytes: the encoder and decoder enforce the
 * same invariants and the encoding is canonical.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "format/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kura_tree *t = NULL;
	kura_buf b = KURA_BUF_INIT;

	if (kura_tree_decode(&t, data, size) < 0)
		return 0;
	if (kura_tree_encode(&b, t) < 0 || b.len != size || memcmp(b.data, data, size) != 0)
		abort();
	kura_buf_free(&b);
	kura_tree_free(t);
	return 0;
}
