/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proof.c - proof records in a store (include/kura/proof.h): write one,
 * list them, and find the newest snapshot a store (or a copy of it)
 * holds, all without a key.  A record that does not hash to its name or
 * does not parse is listed as damaged, never dropped silently: a status
 * report must not turn green because a record it relied on went bad.
 */
#include "kura/proof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "format/drillrec.h"
#include "format/proofrec.h"
#include "kura/keyless.h"
#include "kura/sys/backend.h"
#include "repo/proof_int.h"
#include "repo/repo.h"

static const char *const media_names[] = {NULL, "disk", "removable", "vault", "s3", "tape"};
static const char *const site_names[] = {NULL, "onsite", "offsite"};

const char *kura_media_name(int media)
{
	return media >= KURA_MEDIA_DISK && media <= KURA_MEDIA_TAPE ? media_names[media] : "?";
}

int kura_media_parse(const char *name)
{
	for (int i = KURA_MEDIA_DISK; name && i <= KURA_MEDIA_TAPE; i++)
		if (strcmp(name, media_names[i]) == 0)
			return i;
	return 0;
}

const char *kura_site_name(int site)
{
	return site == KURA_SITE_ONSITE || site == KURA_SITE_OFFSITE ? site_names[site] : "?";
}

int kura_site_parse(const char *name)
{
	for (int i = KURA_SITE_ONSITE; name && i <= KURA_SITE_OFFSITE; i++)
		if (strcmp(name, site_names[i]) == 0)
			return i;
	return 0;
}

int kura_proof_write(kura_backend *b, const kura_proof_info *p, char out_id[KURA_ID_HEX])
{
	kura_proofrec r;
	uint8_t *data = NULL, name[KURA_HASH_SIZE];
	size_t len = 0;
	int err;

	memset(&r, 0, sizeof(r));
	r.kind = (uint8_t)p->kind;
	r.passed = p->passed;
	r.media = (uint8_t)p->media;
	r.site = (uint8_t)p->site;
	r.time_ns = p->time_ns;
	if (p->snapshot_id[0]) {
		if (strlen(p->snapshot_id) != KURA_ID_HEX - 1 ||
		    kura_unhex(r.snapshot, p->snapshot_id, KURA_HASH_SIZE) < 0)
			return kura_error_set(KURA_EINVAL,
					      "proof record: snapshot id '%s' is not "
					      "a file name",
					      p->snapshot_id);
		r.has_snapshot = true;
	}
	r.files = p->files;
	r.bytes = p->bytes;
	r.problems = p->problems;
	r.duration_ms = p->duration_ms;
	snprintf(r.label, sizeof(r.label), "%s", p->label);
	snprintf(r.target, sizeof(r.target), "%s", p->target);
	if (strlen(p->label) > KURA_PROOF_LABEL_MAX || strlen(p->target) > KURA_PROOF_TARGET_MAX)
		return kura_error_set(KURA_EINVAL,
				      "proof record: label (at most %u bytes) or "
				      "target (at most %u) too long",
				      KURA_PROOF_LABEL_MAX, KURA_PROOF_TARGET_MAX);
	if ((err = kura_proofrec_encode(&data, &len, name, &r)) < 0)
		return err;
	kura_hex(out_id, name, KURA_HASH_SIZE);
	err = b->put(b, KURA_FILE_PROOF, out_id, data, len);
	if (err == KURA_EEXISTS)
		err = 0; /* the same bytes are there: written by a retry */
	free(data);
	return err;
}

/* ------------------------------------------------------------------ */

typedef struct {
	char (*v)[KURA_ID_HEX];
	int64_t *order;
	size_t count, cap;
} names;

static int add_entry(names *l, const char *name, int64_t order)
{
	if (!kura_file_name_is_valid(name))
		return 0;
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		char(*v)[KURA_ID_HEX] = realloc(l->v, cap * sizeof(*v));
		int64_t *o;

		if (!v)
			return kura_error_set(KURA_ENOMEM, "out of memory listing files");
		l->v = v;
		if (!(o = realloc(l->order, cap * sizeof(*o))))
			return kura_error_set(KURA_ENOMEM, "out of memory listing files");
		l->order = o;
		l->cap = cap;
	}
	memcpy(l->v[l->count], name, KURA_ID_HEX);
	l->order[l->count++] = order;
	return 0;
}

static int add_plain(const char *name, uint64_t size, void *ctx)
{
	(void)size;
	return add_entry(ctx, name, 0);
}

static int add_detail(const kura_backend_entry *e, void *ctx)
{
	return add_entry(ctx, e->name, e->received_ns > 0 ? e->received_ns : 0);
}

static void names_free(names *l)
{
	free(l->v);
	free(l->order);
	memset(l, 0, sizeof(*l));
}

static int list_names(kura_backend *b, kura_file_type type, bool detail, names *out)
{
	memset(out, 0, sizeof(*out));
	if (detail && b->list_detail)
		return b->list_detail(b, type, add_detail, out);
	return b->list(b, type, add_plain, out);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Newest first by the store's time, then by name (ties as kura_snapshots_list breaks them). */
static int order_desc(const void *a, const void *b, void *ctx)
{
	const names *l = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (l->order[x] != l->order[y])
		return l->order[x] > l->order[y] ? -1 : 1;
	return -strcmp(l->v[x], l->v[y]);
}

/* The claimed time of a snapshot whose bytes hash to its name and whose header parses. */
static int peek_time(kura_backend *b, const char *name, int64_t *out)
{
	char(*packs)[KURA_ID_HEX] = NULL;
	uint8_t *data = NULL;
	size_t len = 0, npacks = 0;
	int err;

	if ((err = kura_backend_get_verified(b, KURA_FILE_SNAPSHOT, name, &data, &len)) < 0)
		return err;
	err = kura_snapshot_peek(data, len, out, &packs, &npacks);
	free(data);
	free(packs);
	return err;
}

int kura_newest_snapshot(kura_backend *b, kura_backend *within, char out[KURA_ID_HEX],
			 int64_t *out_order_ns)
{
	names all = {0}, held = {0};
	size_t *cand = NULL, ncand = 0;
	int64_t best_ns = 0;
	bool found = false, all_timed = true;
	int err;

	out[0] = '\0';
	if ((err = list_names(b, KURA_FILE_SNAPSHOT, true, &all)) < 0)
		goto done;
	if (within) {
		if ((err = list_names(within, KURA_FILE_SNAPSHOT, false, &held)) < 0)
			goto done;
		if (held.count)
			qsort(held.v, held.count, sizeof(*held.v), name_cmp);
	}
	if (all.count && !(cand = calloc(all.count, sizeof(*cand)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory listing snapshots");
		goto done;
	}
	for (size_t i = 0; i < all.count; i++) {
		if (within && (!held.count ||
			       !bsearch(all.v[i], held.v, held.count, sizeof(*held.v), name_cmp)))
			continue;
		cand[ncand++] = i;
		all_timed = all_timed && all.order[i] > 0;
	}
	/*
	 * Where the store dates every snapshot itself (a vault), the newest
	 * that is a real snapshot is found from the top without reading the
	 * rest; otherwise each header's claimed time must be read.  Either
	 * way a snapshot that does not hash to its name or whose header does
	 * not parse is passed over: junk is no snapshot.
	 */
	if (all_timed && ncand)
		qsort_r(cand, ncand, sizeof(*cand), order_desc, &all);
	for (size_t k = 0; k < ncand; k++) {
		size_t i = cand[k];
		int64_t order = all.order[i], claimed = 0;
		int e = peek_time(b, all.v[i], &claimed);

		if (e < 0) {
			if (kura_repo__is_damage(e) || e == KURA_ENOTFOUND)
				continue;
			err = e;
			goto done;
		}
		if (order <= 0)
			order = claimed;
		if (!found || order > best_ns || (order == best_ns && strcmp(all.v[i], out) > 0)) {
			memcpy(out, all.v[i], KURA_ID_HEX);
			best_ns = order;
			found = true;
		}
		if (all_timed)
			break;
	}
	if (!found)
		err = kura_error_set(KURA_ENOTFOUND, "no readable snapshot%s",
				     within ? " that the copy holds" : "");
	else if (out_order_ns)
		*out_order_ns = best_ns;
done:
	free(cand);
	names_free(&all);
	names_free(&held);
	return err;
}

/* ------------------------------------------------------------------ */

static int info_cmp(const void *a, const void *b)
{
	const kura_proof_info *x = a, *y = b;

	if (!!x->damage != !!y->damage)
		return x->damage ? -1 : 1;
	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

int kura_proofs_list(kura_backend *b, kura_proof_info **out, size_t *out_count)
{
	names l = {0};
	kura_proof_info *list = NULL;
	int err;

	*out = NULL;
	*out_count = 0;
	if ((err = list_names(b, KURA_FILE_PROOF, false, &l)) < 0)
		goto done;
	if (l.count && !(list = calloc(l.count, sizeof(*list)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory listing proof records");
		goto done;
	}
	for (size_t i = 0; i < l.count; i++) {
		kura_proof_info *p = &list[i];
		kura_proofrec rec;
		uint8_t *data = NULL;
		size_t len = 0;
		int e;

		memcpy(p->id, l.v[i], KURA_ID_HEX);
		if ((e = kura_backend_get_verified(b, KURA_FILE_PROOF, p->id, &data, &len)) < 0 ||
		    (e = kura_proofrec_decode(&rec, data, len)) < 0) {
			free(data);
			if (!kura_repo__is_damage(e) && e != KURA_EUNSUPPORTED) {
				err = e;
				kura_proofs_free(list, l.count);
				list = NULL;
				goto done;
			}
			if (!(p->damage = strdup(kura_error_message()))) {
				err = kura_error_set(KURA_ENOMEM, "out of memory");
				kura_proofs_free(list, l.count);
				list = NULL;
				goto done;
			}
			continue;
		}
		free(data);
		p->kind = (kura_proof_kind)rec.kind;
		p->passed = rec.passed;
		p->media = (kura_media)rec.media;
		p->site = (kura_site)rec.site;
		p->time_ns = rec.time_ns;
		if (rec.has_snapshot)
			kura_hex(p->snapshot_id, rec.snapshot, KURA_HASH_SIZE);
		p->files = rec.files;
		p->bytes = rec.bytes;
		p->problems = rec.problems;
		p->duration_ms = rec.duration_ms;
		memcpy(p->label, rec.label, sizeof(p->label));
		memcpy(p->target, rec.target, sizeof(p->target));
	}
	if (l.count)
		qsort(list, l.count, sizeof(*list), info_cmp);
	*out = list;
	*out_count = l.count;
done:
	names_free(&l);
	return err;
}

void kura_proofs_free(kura_proof_info *list, size_t count)
{
	for (size_t i = 0; list && i < count; i++)
		free(list[i].damage);
	free(list);
}

int kura_proof__latest_drill(kura_backend *b, kura_proof__drill *out)
{
	names l = {0};
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = list_names(b, KURA_FILE_DRILL, false, &l)) < 0)
		goto done;
	for (size_t i = 0; i < l.count; i++) {
		kura_drillrec rec;
		uint8_t *data = NULL;
		size_t len = 0;
		int e;

		if ((e = kura_backend_get_verified(b, KURA_FILE_DRILL, l.v[i], &data, &len)) == 0)
			e = kura_drillrec_decode(&rec, NULL, data, len);
		free(data);
		if (e < 0) {
			if (!kura_repo__is_damage(e) && e != KURA_ENOTFOUND) {
				err = e;
				goto done;
			}
			out->damaged++;
			continue;
		}
		if (rec.time_ns > out->time_ns) {
			out->time_ns = rec.time_ns;
			out->passed = rec.passed;
			out->rto_s = (double)rec.rto_ms / 1e3;
		}
	}
done:
	names_free(&l);
	return err;
}
