/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_lines.h - for the fuzz targets of the vault's line records
 * (fuzz_quarantine.c, fuzz_snaptimes.c): each line of the input, without
 * its "\n", goes to the target's check on its own; the last line may have
 * no newline, as a torn append has none.
 */
#ifndef KURA_FUZZ_LINES_H
#define KURA_FUZZ_LINES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void fuzz_each_line(const uint8_t *data, size_t size,
				  void (*check)(const char *line, size_t len))
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		check(p, len);
		p += len + (nl != NULL);
	}
}

#endif
