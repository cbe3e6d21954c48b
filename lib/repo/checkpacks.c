/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checkpacks.c - the pack table and the copies of every blob.
 * Pack names from the data listing and from every index are merged into
 * one table sorted by name; every index record becomes a copy, sorted by
 * id then pack.  Without reading any pack, the table is checked against
 * the listing (missing packs, records past a pack's end, sizes implied by
 * records that tile a pack) and against each snapshot's plaintext pack
 * list.  A pack only an index names is pruned, not a problem, unless a
 * snapshot still lists it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "repo/checker.h"

/* ------------------------------------------------------------------ */
/* The pack table and the copies of every blob                          */

static int cmp_pack(const void *a, const void *b)
{
	return memcmp(((const ck_pack *)a)->name, ((const ck_pack *)b)->name, KURA_HASH_SIZE);
}

ck_pack *kura_check__find_pack(checker *ck, const uint8_t name[KURA_HASH_SIZE])
{
	ck_pack key;

	memcpy(key.name, name, KURA_HASH_SIZE);
	return ck->npacks ? bsearch(&key, ck->packs, ck->npacks, sizeof(*ck->packs), cmp_pack)
			  : NULL;
}

static int cmp_copy(const void *a, const void *b)
{
	const ck_copy *x = a, *y = b;
	int c = memcmp(x->e.id, y->e.id, KURA_HASH_SIZE);

	if (c)
		return c;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->e.offset < y->e.offset ? -1 : x->e.offset > y->e.offset;
}

typedef struct {
	uint32_t pack, offset, copy;
} ck_pos;

static int cmp_pos(const void *a, const void *b)
{
	const ck_pos *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Pack names from the listing and from every index, merged and sorted. */
int kura_check__build_pack_table(checker *ck, const ck_names *listed)
{
	size_t cap = listed->n, n = 0;
	ck_pack *p;

	for (size_t i = 0; i < ck->index_names.n; i++)
		if (ck->indexes[i])
			cap += ck->indexes[i]->npacks;
	ck->packs = calloc(cap ? cap : 1, sizeof(*ck->packs));
	if (!ck->packs)
		return kura_error_set(KURA_ENOMEM, "check: out of memory");
	for (size_t i = 0; i < listed->n; i++) {
		p = &ck->packs[n];
		if (kura_unhex(p->name, listed->v[i].name, KURA_HASH_SIZE) < 0)
			continue; /* the backend only lists hex names */
		p->size = listed->v[i].size;
		p->present = true;
		n++;
	}
	for (size_t i = 0; i < ck->index_names.n; i++) {
		const kura_indexfile *idx = ck->indexes[i];

		for (size_t j = 0; idx && j < idx->npacks; j++) {
			p = &ck->packs[n++];
			memcpy(p->name, idx->packs[j], KURA_HASH_SIZE);
			p->indexed = true;
			p->first_index = i;
		}
	}
	if (n > 1)
		qsort(ck->packs, n, sizeof(*ck->packs), cmp_pack);
	/* Merge duplicates; the listed entry and the first index win. */
	ck->npacks = 0;
	for (size_t i = 0; i < n; i++) {
		ck_pack *last = ck->npacks ? &ck->packs[ck->npacks - 1] : NULL;
		ck_pack cur = ck->packs[i];

		if (last && memcmp(last->name, cur.name, KURA_HASH_SIZE) == 0) {
			if (cur.present) {
				last->present = true;
				last->size = cur.size;
			}
			if (cur.indexed && (!last->indexed || cur.first_index < last->first_index))
				last->first_index = cur.first_index;
			last->indexed |= cur.indexed;
			continue;
		}
		ck->packs[ck->npacks++] = cur;
	}
	return 0;
}

/* Every index record as a copy, sorted by id; duplicates in one pack merged. */
int kura_check__build_copies(checker *ck)
{
	size_t n = 0, total = 0;
	ck_pos *pos;
	ck_copy *cp;

	for (size_t i = 0; i < ck->index_names.n; i++)
		if (ck->indexes[i])
			total += ck->indexes[i]->nrecords;
	ck->copies = calloc(total ? total : 1, sizeof(*ck->copies));
	if (!ck->copies)
		return kura_error_set(KURA_ENOMEM, "check: out of memory");
	for (size_t i = 0; i < ck->index_names.n; i++) {
		const kura_indexfile *idx = ck->indexes[i];

		for (size_t j = 0; idx && j < idx->nrecords; j++) {
			const kura_index_record *r = &idx->records[j];
			ck_pack *p;

			if (r->pack >= idx->npacks)
				continue; /* the decoder refuses these */
			p = kura_check__find_pack(ck, idx->packs[r->pack]);
			if (!p)
				continue;
			cp = &ck->copies[n++];
			cp->e = r->blob;
			cp->pack = (uint32_t)(p - ck->packs);
			cp->index = (uint32_t)i;
		}
	}
	if (n > 1)
		qsort(ck->copies, n, sizeof(*ck->copies), cmp_copy);
	ck->ncopies = 0;
	for (size_t i = 0; i < n; i++) {
		ck_copy *last = ck->ncopies ? &ck->copies[ck->ncopies - 1] : NULL;

		cp = &ck->copies[i];
		if (last && last->pack == cp->pack &&
		    memcmp(last->e.id, cp->e.id, KURA_HASH_SIZE) == 0) {
			/* The same blob in the same pack twice: identical records are harmless. */
			if (memcmp(&last->e, &cp->e, sizeof(cp->e)) == 0)
				continue;
			/*
			 * Both stay candidates (index entries are hints): the data
			 * decides, and with --read-data the pack's trailer names the
			 * index file that lies (pack_job).
			 */
			char object[96], hex[KURA_ID_HEX];

			kura_check__object(object, "pack", ck->packs[cp->pack].name);
			kura_hex(hex, cp->e.id, KURA_HASH_SIZE);
			if (!ck->read_data)
				kura_check__problem(
				    ck, NULL, NULL, object,
				    "index files %s and %s disagree about blob %s (offsets "
				    "%u and %u)",
				    ck->index_names.v[last->index].name,
				    ck->index_names.v[cp->index].name, hex, last->e.offset,
				    cp->e.offset);
		}
		ck->copies[ck->ncopies++] = *cp;
	}

	pos = malloc((ck->ncopies ? ck->ncopies : 1) * sizeof(*pos));
	ck->by_pack = malloc((ck->ncopies ? ck->ncopies : 1) * sizeof(*ck->by_pack));
	if (!pos || !ck->by_pack) {
		free(pos);
		return kura_error_set(KURA_ENOMEM, "check: out of memory");
	}
	for (size_t i = 0; i < ck->ncopies; i++)
		pos[i] = (ck_pos){ck->copies[i].pack, ck->copies[i].e.offset, (uint32_t)i};
	if (ck->ncopies > 1)
		qsort(pos, ck->ncopies, sizeof(*pos), cmp_pos);
	for (size_t i = 0; i < ck->ncopies; i++)
		ck->by_pack[i] = pos[i].copy;
	free(pos);
	for (size_t i = 0; i < ck->ncopies;) {
		ck_pack *p = &ck->packs[ck->copies[ck->by_pack[i]].pack];
		size_t j = i;

		while (j < ck->ncopies && &ck->packs[ck->copies[ck->by_pack[j]].pack] == p)
			j++;
		p->rec_start = i;
		p->rec_count = j - i;
		i = j;
	}
	return 0;
}

/*
 * When the index records of a pack tile its blob area (as a backup writes
 * them), they give the pack's exact size: blobs, then a trailer of one
 * entry per blob, then the footer.  A pack cut short inside its trailer is
 * caught here without reading it.
 */
static void check_pack_size(checker *ck, const ck_pack *p, const char *object)
{
	uint64_t end = KURA_PACK_HEADER_SIZE, want;

	if (!p->rec_count)
		return;
	for (size_t j = 0; j < p->rec_count; j++) {
		const ck_copy *cp = &ck->copies[ck->by_pack[p->rec_start + j]];

		if (cp->e.offset != end)
			return; /* the index describes part of the pack: no exact size */
		end += cp->e.stored_len;
	}
	want = end + 4 + (uint64_t)KURA_PACK_ENTRY_SIZE * p->rec_count + KURA_AEAD_OVERHEAD +
	       KURA_PACK_FOOTER_SIZE;
	if (p->size != want)
		kura_check__problem(ck, NULL, NULL, object,
				    "is %llu bytes, but its index entries make it %llu (%s)",
				    (unsigned long long)p->size, (unsigned long long)want,
				    p->size < want ? "truncated" : "extended");
}

/* Index records against the listing: missing packs, records past the end. */
void kura_check__pack_table(checker *ck)
{
	for (size_t i = 0; i < ck->npacks; i++) {
		ck_pack *p = &ck->packs[i];
		uint64_t beyond = 0, first_off = 0;
		char object[96];

		kura_check__object(object, "pack", p->name);
		if (p->present && !p->indexed) {
			ck->unindexed_packs++; /* a crashed backup leaves these: not a problem */
			continue;
		}
		if (!p->present && !p->snap_listed) {
			ck->pruned_packs++; /* removed by a prune: no snapshot needs it */
			continue;
		}
		if (!p->present) {
			kura_check__problem(
			    ck, NULL, NULL, object,
			    "is named by index %s but does not exist (%zu blobs lost)",
			    ck->index_names.v[p->first_index].name, p->rec_count);
			continue;
		}
		for (size_t j = 0; j < p->rec_count; j++) {
			ck_copy *cp = &ck->copies[ck->by_pack[p->rec_start + j]];
			uint64_t end = (uint64_t)cp->e.offset + cp->e.stored_len;

			if (cp->e.offset < KURA_PACK_HEADER_SIZE ||
			    p->size < KURA_PACK_FOOTER_SIZE ||
			    end > p->size - KURA_PACK_FOOTER_SIZE) {
				if (!beyond)
					first_off = cp->e.offset;
				beyond++;
				cp->state = CK_BAD;
			}
		}
		/* With --read-data, the pack's trailer says whose fault that is (pack_job). */
		p->beyond = beyond;
		p->first_beyond = first_off;
		if (beyond && !ck->read_data)
			kura_check__problem(ck, NULL, NULL, object,
					    "%llu index records lie outside the pack's %llu bytes "
					    "(first at offset %llu)",
					    (unsigned long long)beyond, (unsigned long long)p->size,
					    (unsigned long long)first_off);
		else if (!beyond)
			check_pack_size(ck, p, object);
	}
}

/* Note which packs some snapshot's plaintext list names (see kura_check__pack_table). */
void kura_check__mark_snapshot_packs(checker *ck)
{
	for (size_t i = 0; i < ck->nsnaps; i++)
		for (size_t j = 0; j < ck->snaps[i].s->npacks; j++) {
			ck_pack *p = kura_check__find_pack(ck, ck->snaps[i].s->packs[j]);

			if (p)
				p->snap_listed = true;
		}
}

/* Every pack a snapshot lists in plaintext must exist and be indexed. */
void kura_check__snapshot_packs(checker *ck)
{
	for (size_t i = 0; i < ck->nsnaps; i++) {
		const ck_snap *sn = &ck->snaps[i];
		char object[96];

		snprintf(object, sizeof(object), "snapshot %s", sn->id);
		for (size_t j = 0; j < sn->s->npacks; j++) {
			const ck_pack *p = kura_check__find_pack(ck, sn->s->packs[j]);
			char hex[KURA_ID_HEX];

			kura_hex(hex, sn->s->packs[j], KURA_HASH_SIZE);
			if (!p || !p->present)
				kura_check__problem(ck, sn->id, NULL, object,
						    "lists pack %s, which does not exist", hex);
			else if (!p->indexed)
				kura_check__problem(ck, sn->id, NULL, object,
						    "lists pack %s, which no index describes", hex);
		}
	}
}
