/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_snaptimes.c - the vault's snapshot-times line parser
 * (server/snaptimes.c, DIR/meta/REPO/snapshot-times) on arbitrary bytes,
 * each line of the input on its own.
 *
 * Promises checked: a line that parses has a valid name, a positive time
 * and a valid client, and written back as the vault writes it is the same
 * line; a line that does not parse leaves nothing behind in the result.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_lines.h"
#include "snaptimes.h"

static void check_line(const char *line, size_t len)
{
	static const snaptimes_line zero;
	char back[KURA_ID_HEX + 21 + VAULT_NAME_MAX + 2];
	snaptimes_line l;
	int n;

	if (snaptimes_parse(&l, line, len) < 0) {
		if (memcmp(&l, &zero, sizeof(l)) != 0)
			abort();
		return;
	}
	if (!kura_file_name_is_valid(l.name) || l.received_ns <= 0 || !vault_name_ok(l.client))
		abort();
	n = snprintf(back, sizeof(back), "%s %" PRId64 " %s", l.name, l.received_ns, l.client);
	if (n < 0 || (size_t)n != len || memcmp(back, line, len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_each_line(data, size, check_line);
	return 0;
}
