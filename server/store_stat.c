/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_stat.c - sizes and receive times of stored files without a local
 * file to stat (store_stat.h).  A listing costs one request per thousand
 * files on S3, made at most once per type per store_stat.
 */
#include "store_stat.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "provenance.h"

struct store_stat {
	kura_backend *b;
	kura_listed_file *files[KURA_FILE_TYPES];
	size_t n[KURA_FILE_TYPES];
	bool listed[KURA_FILE_TYPES];
};

int store_stat_new(store_stat **out, kura_backend *b)
{
	if (!(*out = calloc(1, sizeof(**out))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	(*out)->b = b;
	return 0;
}

void store_stat_free(store_stat *s)
{
	if (!s)
		return;
	for (int t = 0; t < KURA_FILE_TYPES; t++)
		free(s->files[t]);
	free(s);
}

static int cmp_listed(const void *key, const void *elem)
{
	return strcmp(key, ((const kura_listed_file *)elem)->name);
}

int64_t store_stat_size(store_stat *s, kura_file_type type, const char *name)
{
	kura_listed_file *hit;

	if ((unsigned)type >= KURA_FILE_TYPES)
		return -1;
	if (!s->listed[type]) {
		if (kura_list_files(&s->files[type], &s->n[type], s->b, type) < 0)
			return -1;
		s->listed[type] = true;
	}
	hit = s->n[type]
		  ? bsearch(name, s->files[type], s->n[type], sizeof(kura_listed_file), cmp_listed)
		  : NULL;
	return hit ? (int64_t)hit->size : -1;
}

typedef struct {
	int64_t since_ns;
	char (*names)[KURA_ID_HEX];
	size_t n, cap;
	int err;
} recent;

static int take_recent(const provenance_entry *e, void *ctx)
{
	recent *r = ctx;

	if (e->type != KURA_FILE_PACK || e->received_ns <= r->since_ns)
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		char(*grown)[KURA_ID_HEX] = realloc(r->names, cap * sizeof(*grown));

		if (!grown)
			return r->err = kura_error_set(KURA_ENOMEM, "out of memory");
		r->names = grown;
		r->cap = cap;
	}
	memcpy(r->names[r->n++], e->name, KURA_ID_HEX);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

int store_stat_new_packs(const char *dir, const char *repo, kura_backend *b,
			 const char (*packs)[KURA_ID_HEX], size_t count, int64_t since_ns,
			 uint64_t *out_bytes, uint64_t *out_packs)
{
	recent r = {.since_ns = since_ns};
	store_stat *s = NULL;
	int64_t size;
	int err;

	*out_bytes = *out_packs = 0;
	if ((err = provenance_each(dir, repo, take_recent, &r)) < 0 || (err = r.err) < 0)
		goto done;
	if (!r.n)
		goto done; /* nothing received since: no listing needed */
	qsort(r.names, r.n, sizeof(*r.names), cmp_name);
	if ((err = store_stat_new(&s, b)) < 0)
		goto done;
	for (size_t i = 0; i < count; i++) {
		if (!bsearch(packs[i], r.names, r.n, sizeof(*r.names), cmp_name) ||
		    (size = store_stat_size(s, KURA_FILE_PACK, packs[i])) < 0)
			continue;
		*out_bytes += (uint64_t)size;
		(*out_packs)++;
	}
done:
	store_stat_free(s);
	free(r.names);
	return err;
}
