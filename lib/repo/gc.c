/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc.c - which packs no snapshot needs, decided without a key (keyless.h).
 *
 * A snapshot's plaintext header lists every pack its trees reach (the
 * checker enforces that with the restore key), so the union of those
 * lists is exactly what must be kept.  The vault's garbage collection and
 * `kura prune` on a local repository both ask this question; kura_prune
 * (prune.c) acts on the answer.  The other way round, a backup asks here
 * whether every pack its snapshot lists is still stored before it writes
 * the snapshot (kura_gc__packs_stored).
 */
#include "kura/sys/backend.h"
#include "kura/keyless.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "repo/repo.h"

typedef kura_listed_file named;

typedef struct {
	named *v;
	size_t n, cap;
} name_set;

static int cmp_name(const void *a, const void *b)
{
	return memcmp(((const named *)a)->name, ((const named *)b)->name, KURA_ID_HEX - 1);
}

/* Add the pack list of snapshot `name` to `live`. */
static int add_snapshot_packs(struct kura_backend *b, const char *name, name_set *live)
{
	uint8_t *data = NULL;
	char(*packs)[KURA_ID_HEX] = NULL;
	size_t len, npacks = 0;
	int64_t t;
	int err;

	if ((err = kura_backend_get_verified(b, KURA_FILE_SNAPSHOT, name, &data, &len)) < 0)
		return kura_error_wrap(err, "garbage collection (nothing is collected: the "
					    "snapshot's packs are unknown)");
	if ((err = kura_snapshot_peek(data, len, &t, &packs, &npacks)) < 0) {
		kura_error_wrap(err, "garbage collection: snapshot %s (nothing is collected)", name);
		goto done;
	}
	if ((err = KURA_ARRAY_GROW(live->v, live->cap, live->n + npacks)) < 0)
		goto done;
	for (size_t i = 0; i < npacks; i++)
		memcpy(live->v[live->n++].name, packs[i], KURA_ID_HEX);
done:
	free(packs);
	free(data);
	return err;
}

static bool listed(const char (*names)[KURA_ID_HEX], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

int kura_gc_unreferenced(struct kura_backend *b, const char (*gone)[KURA_ID_HEX], size_t ngone,
			 kura_pack_list *out)
{
	name_set snaps = {0}, live = {0}, stored = {0};
	size_t n = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = kura_list_files(&snaps.v, &snaps.n, b, KURA_FILE_SNAPSHOT)) < 0)
		goto done;
	for (size_t i = 0; i < snaps.n; i++)
		if (!listed(gone, ngone, snaps.v[i].name) &&
		    (err = add_snapshot_packs(b, snaps.v[i].name, &live)) < 0)
			goto done;
	if ((err = kura_list_files(&stored.v, &stored.n, b, KURA_FILE_PACK)) < 0)
		goto done;
	if (live.n)
		qsort(live.v, live.n, sizeof(*live.v), cmp_name);
	out->names = malloc((stored.n ? stored.n : 1) * sizeof(*out->names));
	out->sizes = malloc((stored.n ? stored.n : 1) * sizeof(*out->sizes));
	if (!out->names || !out->sizes) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < stored.n; i++) {
		if (live.n && bsearch(&stored.v[i], live.v, live.n, sizeof(*live.v), cmp_name))
			continue;
		memcpy(out->names[n], stored.v[i].name, KURA_ID_HEX);
		out->sizes[n++] = stored.v[i].size;
	}
	out->count = n;
done:
	if (err < 0)
		kura_pack_list_free(out);
	free(snaps.v);
	free(live.v);
	free(stored.v);
	return err;
}

/* How many missing packs a message names before "and N more". */
#define MISSING_NAMED 3

int kura_gc__packs_stored(kura_backend *b, const uint8_t (*packs)[KURA_HASH_SIZE], size_t n)
{
	name_set stored = {0};
	named want;
	char list[MISSING_NAMED * (KURA_ID_HEX + 2) + 32] = "";
	size_t missing = 0, used = 0;
	int err;

	if ((err = kura_list_files(&stored.v, &stored.n, b, KURA_FILE_PACK)) < 0) {
		kura_error_wrap(err, "listing the packs to check that the snapshot's are stored");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		kura_hex(want.name, packs[i], KURA_HASH_SIZE);
		if (stored.n && bsearch(&want, stored.v, stored.n, sizeof(*stored.v), cmp_name))
			continue;
		if (missing++ < MISSING_NAMED)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
						 missing > 1 ? ", " : "", want.name);
	}
	if (missing > MISSING_NAMED)
		snprintf(list + used, sizeof(list) - used, " and %zu more",
			 missing - MISSING_NAMED);
	if (missing)
		err = kura_error_set(KURA_ENOTFOUND,
				     "%zu of the %zu packs this backup's snapshot needs %s gone "
				     "from the repository (%s): most likely a prune ran while the "
				     "backup did (from another host, or a vault's garbage "
				     "collection), which no lock kept out. No snapshot was written",
				     missing, n, missing == 1 ? "is" : "are", list);
done:
	free(stored.v);
	return err;
}

void kura_pack_list_free(kura_pack_list *l)
{
	if (!l)
		return;
	free(l->names);
	free(l->sizes);
	memset(l, 0, sizeof(*l));
}
