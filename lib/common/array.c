/* SPDX-License-Identifier: Apache-2.0 */
/* array.c - see array.h. */
#include "common/array.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/error.h"

int kura_array_grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return kura_error_set(KURA_ENOMEM, "array of %zu elements is too large", need);
		ncap *= 2;
	}
	if (size && ncap > SIZE_MAX / size)
		return kura_error_set(KURA_ENOMEM, "array of %zu elements is too large", need);
	if (!(p = realloc(*arr, ncap * size)))
		return kura_error_set(KURA_ENOMEM, "out of memory for %zu elements", ncap);
	*arr = p;
	*cap = ncap;
	return 0;
}
