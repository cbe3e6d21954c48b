/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listing.c - kura_list_files (keyless.h): every file of one type that a
 * backend lists, as a sorted array of names and sizes.  Opening a
 * repository (config, keys, index files), the checker, garbage collection
 * and the vault's deletions all need the listing whole before they act on
 * it; this is the one collector they share instead of a callback each.
 *
 * Sorted by name so that what is done in listing order does not vary with
 * the store (a directory's order, an HTTP answer's).  Names that are not
 * valid file names are skipped: the backends list only valid names, and
 * callers go on to build paths and keys from them.
 */
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "kura/backend.h"
#include "kura/keyless.h"

typedef struct {
	kura_listed_file *v;
	size_t n, cap;
	int err;
} listing;

static int add_file(const char *name, uint64_t size, void *ctx)
{
	listing *l = ctx;

	if (!kura_file_name_ok(name))
		return 0;
	if ((l->err = KURA_ARRAY_GROW(l->v, l->cap, l->n + 1)) < 0)
		return l->err;
	memcpy(l->v[l->n].name, name, KURA_ID_HEX);
	l->v[l->n++].size = size;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const kura_listed_file *)a)->name, ((const kura_listed_file *)b)->name);
}

int kura_list_files(kura_listed_file **out, size_t *out_count, struct kura_backend *b,
		    kura_file_type type)
{
	listing l = {0};
	int err;

	*out = NULL;
	*out_count = 0;
	if ((err = b->list(b, type, add_file, &l)) < 0 || (err = l.err) < 0) {
		free(l.v);
		return err;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), by_name);
	*out = l.v;
	*out_count = l.n;
	return 0;
}
