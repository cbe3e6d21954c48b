/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snaplist.c - the snapshot list, its order, and "latest".
 *
 * A snapshot says when it was taken, but that is the writing client's
 * clock: a client whose clock says 2056 would stay `latest` forever.  A
 * vault records its own receive time and sends it with every listing
 * (backend list_detail); where it does, that time orders the snapshots
 * and picks `latest`, and the claimed time is kept beside it for display.
 * A local repository has no receive time: the claimed time orders
 * (docs/FORMAT.md, "Snapshot time").  A vault answer without a usable
 * receive time is hostile input like any other: that snapshot falls back
 * to its claimed time and carries the reason (time_problem).
 *
 * Damaged snapshot files are listed first, marked, and never hide the
 * others; `latest` is the last undamaged one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/error.h"
#include "repo/repo.h"

typedef struct {
	char id[KURA_ID_HEX];
	int64_t received_ns;
	const char *problem; /* a constant from the backend, or NULL */
} snap_entry;

typedef struct {
	snap_entry *v;
	size_t count, cap;
} snap_names;

static int collect(snap_names *l, const char *name, int64_t received_ns, const char *problem)
{
	int err;

	if ((err = KURA_ARRAY_GROW(l->v, l->cap, l->count + 1)) < 0)
		return err;
	snprintf(l->v[l->count].id, KURA_ID_HEX, "%s", name);
	l->v[l->count].received_ns = received_ns;
	l->v[l->count].problem = problem;
	l->count++;
	return 0;
}

static int collect_plain(const char *name, uint64_t size, void *ctx)
{
	return collect(ctx, name, 0, NULL);
}

static int collect_detail(const kura_backend_entry *e, void *ctx)
{
	return collect(ctx, e->name, e->received_ns > 0 ? e->received_ns : 0,
		       e->received_ns > 0 ? NULL : e->received_problem);
}

static int list_snapshots(kura_repo *repo, snap_names *out)
{
	kura_backend *b = repo->backend;

	memset(out, 0, sizeof(*out));
	if (b->list_detail)
		return b->list_detail(b, KURA_FILE_SNAPSHOT, collect_detail, out);
	return b->list(b, KURA_FILE_SNAPSHOT, collect_plain, out);
}

int64_t kura_snapshot_order_ns(const kura_snapshot_info *s)
{
	return s->received_ns > 0 ? s->received_ns : s->time_ns;
}

static int info_cmp(const void *a, const void *b)
{
	const kura_snapshot_info *x = a, *y = b;
	int64_t tx = kura_snapshot_order_ns(x), ty = kura_snapshot_order_ns(y);

	if (x->damaged != y->damaged)
		return x->damaged ? -1 : 1;
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(x->id, y->id);
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static int fill_damaged(kura_repo *repo, kura_snapshot_info *info, const char *id)
{
	snprintf(info->id, sizeof(info->id), "%s", id);
	info->damaged = true;
	if (!(info->damage = strdup(kura_error_message())))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	kura_repo__damaged(repo, KURA_FILE_SNAPSHOT, id, "%s", info->damage);
	return 0;
}

static int fill_info(kura_snapshot_info *info, const snap_entry *e, const kura_snapshot *s)
{
	snprintf(info->id, sizeof(info->id), "%s", e->id);
	info->time_ns = s->time_ns;
	info->received_ns = e->received_ns;
	if (e->problem && !(info->time_problem = strdup(e->problem)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	info->npacks = s->npacks;
	info->detection = s->verdict;
	info->detection_score = s->score;
	info->readable = s->readable;
	if (!s->readable)
		return 0;
	kura_hex(info->tree, s->tree, KURA_HASH_SIZE);
	info->hostname = dup_or_empty(s->hostname);
	info->username = dup_or_empty(s->username);
	info->paths = calloc(s->npaths + 1, sizeof(char *));
	info->tags = calloc(s->ntags + 1, sizeof(char *));
	if (!info->hostname || !info->username || !info->paths || !info->tags)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	for (size_t i = 0; i < s->npaths; i++)
		if (!(info->paths[info->npaths++] = strdup(s->paths[i])))
			return kura_error_set(KURA_ENOMEM, "out of memory");
	for (size_t i = 0; i < s->ntags; i++)
		if (!(info->tags[info->ntags++] = strdup(s->tags[i])))
			return kura_error_set(KURA_ENOMEM, "out of memory");
	info->files = s->files;
	info->bytes = s->bytes;
	return 0;
}

int kura_snapshots_list(kura_repo *repo, kura_snapshot_info **out, size_t *out_count)
{
	snap_names names = {0};
	kura_snapshot_info *list = NULL;
	size_t n = 0;
	int err;

	*out = NULL;
	*out_count = 0;
	if ((err = list_snapshots(repo, &names)) < 0)
		goto done;
	if (names.count && !(list = calloc(names.count, sizeof(*list)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < names.count; i++) {
		kura_snapshot *s;

		if ((err = kura_repo__load_snapshot(repo, names.v[i].id, &s)) < 0) {
			if (err == KURA_ENOTFOUND) {
				err = 0; /* removed since it was listed (forget) */
				continue;
			}
			if (!kura_repo__is_damage(err))
				goto done;
			/* listed, marked, never hiding the others */
			if ((err = fill_damaged(repo, &list[n++], names.v[i].id)) < 0)
				goto done;
			continue;
		}
		err = fill_info(&list[n++], &names.v[i], s);
		kura_snapshot_free(s);
		if (err < 0)
			goto done;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), info_cmp);
done:
	free(names.v);
	if (err < 0) {
		kura_snapshots_free(list, n);
		return err;
	}
	*out = list;
	*out_count = n;
	return 0;
}

void kura_snapshots_free(kura_snapshot_info *list, size_t count)
{
	if (!list)
		return;
	for (size_t i = 0; i < count; i++) {
		free(list[i].hostname);
		free(list[i].username);
		for (size_t j = 0; j < list[i].npaths; j++)
			free(list[i].paths[j]);
		for (size_t j = 0; j < list[i].ntags; j++)
			free(list[i].tags[j]);
		free(list[i].paths);
		free(list[i].tags);
		free(list[i].damage);
		free(list[i].time_problem);
	}
	free(list);
}

int kura_snapshot_resolve(kura_repo *repo, const char *name, char out[KURA_ID_HEX])
{
	snap_names names = {0};
	size_t len = strlen(name), matches = 0;
	int err;

	if (strcmp(name, "latest") == 0) {
		kura_snapshot_info *list;
		size_t n;

		if ((err = kura_snapshots_list(repo, &list, &n)) < 0)
			return err;
		size_t good = n;

		while (good > 0 && list[good - 1].damaged)
			good--;
		if (good == 0)
			err =
			    kura_error_set(KURA_ENOTFOUND, "the repository has no %ssnapshots yet",
					   n ? "undamaged " : "");
		else
			snprintf(out, KURA_ID_HEX, "%s", list[good - 1].id);
		kura_snapshots_free(list, n);
		return err;
	}
	if (len < 4 || len > 64 || strspn(name, "0123456789abcdef") != len)
		return kura_error_set(KURA_EINVAL,
				      "'%s' is not a snapshot name: use 'latest' or at least 4 hex "
				      "digits of a snapshot id",
				      name);
	if ((err = list_snapshots(repo, &names)) < 0)
		goto done;
	for (size_t i = 0; i < names.count; i++)
		if (strncmp(names.v[i].id, name, len) == 0 && matches++ == 0)
			snprintf(out, KURA_ID_HEX, "%s", names.v[i].id);
	if (matches == 0)
		err = kura_error_set(KURA_ENOTFOUND, "no snapshot %s", name);
	else if (matches > 1)
		err =
		    kura_error_set(KURA_EAMBIGUOUS, "%zu snapshots start with %s: give more digits",
				   matches, name);
done:
	free(names.v);
	return err;
}
