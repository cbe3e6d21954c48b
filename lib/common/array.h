/* SPDX-License-Identifier: Apache-2.0 */
/*
 * array.h - growing a malloc'd array by doubling, with the overflow check
 * written once.
 */
#ifndef KURA_COMMON_ARRAY_H
#define KURA_COMMON_ARRAY_H

#include <stddef.h>

/*
 * Make room for at least `need` elements of `size` bytes in *arr, whose
 * capacity is *cap (both updated).  KURA_ENOMEM on failure, leaving *arr
 * as it was.
 */
int kura_array_grow(void **arr, size_t *cap, size_t need, size_t size);

/* Typed convenience: KURA_ARRAY_GROW(list, cap, count + 1). */
#define KURA_ARRAY_GROW(arr, cap, need) \
	kura_array_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

#endif
