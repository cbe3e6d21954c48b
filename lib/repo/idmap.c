/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmap.c - open-addressing hash table of blob locations (see idmap.h).
 *
 * Linear probing over a power-of-two array, grown at 70 % load.  Occupied
 * slots are marked in a bitmap rather than by a sentinel id, since any id
 * is possible.  Entries are never removed, so no tombstones are needed.
 */
#include "repo/idmap.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"

struct kura_idmap {
	kura_blob_loc *slots;
	uint64_t *used;
	size_t cap;   /* power of two */
	size_t count;
};

static size_t slot_of(const uint8_t id[KURA_HASH_SIZE], size_t cap)
{
	return (size_t)kura_get_le64(id) & (cap - 1);
}

static int is_used(const kura_idmap *m, size_t i) { return (m->used[i / 64] >> (i % 64)) & 1; }

static int idmap_alloc(kura_idmap *m, size_t cap)
{
	m->slots = malloc(cap * sizeof(*m->slots));
	m->used = calloc((cap + 63) / 64, sizeof(*m->used));
	if (!m->slots || !m->used) {
		free(m->slots);
		free(m->used);
		return kura_error_set(KURA_ENOMEM, "out of memory for an index of %zu entries", cap);
	}
	m->cap = cap;
	m->count = 0;
	return 0;
}

int kura_idmap_new(kura_idmap **out)
{
	kura_idmap *m = calloc(1, sizeof(*m));
	int err;

	*out = NULL;
	if (!m)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = idmap_alloc(m, 1024)) < 0) {
		free(m);
		return err;
	}
	*out = m;
	return 0;
}

void kura_idmap_free(kura_idmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m->used);
	free(m);
}

size_t kura_idmap_count(const kura_idmap *m) { return m->count; }

static kura_blob_loc *find(const kura_idmap *m, const uint8_t id[KURA_HASH_SIZE], size_t *free_slot)
{
	size_t i = slot_of(id, m->cap);

	while (is_used(m, i)) {
		if (memcmp(m->slots[i].id, id, KURA_HASH_SIZE) == 0)
			return &m->slots[i];
		i = (i + 1) & (m->cap - 1);
	}
	if (free_slot)
		*free_slot = i;
	return NULL;
}

kura_blob_loc *kura_idmap_get(const kura_idmap *m, const uint8_t id[KURA_HASH_SIZE])
{
	return find(m, id, NULL);
}

static void insert_new(kura_idmap *m, size_t i, const kura_blob_loc *loc)
{
	m->slots[i] = *loc;
	m->used[i / 64] |= (uint64_t)1 << (i % 64);
	m->count++;
}

static int grow(kura_idmap *m)
{
	kura_idmap old = *m;
	int err;

	if ((err = idmap_alloc(m, old.cap * 2)) < 0) {
		*m = old;
		return err;
	}
	for (size_t i = 0; i < old.cap; i++) {
		size_t slot;

		if (!is_used(&old, i))
			continue;
		find(m, old.slots[i].id, &slot);
		insert_new(m, slot, &old.slots[i]);
	}
	free(old.slots);
	free(old.used);
	return 0;
}

int kura_idmap_put(kura_idmap *m, const kura_blob_loc *loc)
{
	kura_blob_loc *found;
	size_t slot;
	int err;

	if ((found = find(m, loc->id, &slot))) {
		*found = *loc;
		return 0;
	}
	if ((m->count + 1) * 10 > m->cap * 7) {
		if ((err = grow(m)) < 0)
			return err;
		find(m, loc->id, &slot);
	}
	insert_new(m, slot, loc);
	return 0;
}

int kura_idmap_each(const kura_idmap *m, int (*fn)(const kura_blob_loc *loc, void *ctx), void *ctx)
{
	for (size_t i = 0; i < m->cap; i++) {
		int rc;

		if (is_used(m, i) && (rc = fn(&m->slots[i], ctx)) != 0)
			return rc;
	}
	return 0;
}
