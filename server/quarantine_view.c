/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quarantine_view.c - the in-memory table of hidden files
 * (quarantine_view.h): "REPO/NAME" keys, sorted, swapped in whole under a
 * rwlock.
 *
 * Whether DIR/quarantine changed is judged by its modification time (a
 * record is always written by rename, which changes it).  A time within
 * two seconds of now is not trusted as "unchanged": a second write in the
 * same clock tick would leave the time as it was (the racy-timestamp
 * problem git has with its index), so such a directory is read again.
 */
#include "quarantine_view.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/error.h"
#include "quarantine_store.h"

#define KEY_MAX (VAULT_NAME_MAX + 1 + KURA_ID_HEX)

struct quarantine_view {
	pthread_rwlock_t lock;
	char (*keys)[KEY_MAX]; /* sorted */
	size_t n;
	struct timespec mtime; /* of DIR/quarantine at the last load; 0 to reload */
};

int quarantine_view_new(quarantine_view **out)
{
	quarantine_view *q = calloc(1, sizeof(*q));

	*out = NULL;
	if (!q)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if (pthread_rwlock_init(&q->lock, NULL) != 0) {
		free(q);
		return kura_error_set(KURA_ENOMEM, "cannot make a lock");
	}
	*out = q;
	return 0;
}

void quarantine_view_free(quarantine_view *q)
{
	if (!q)
		return;
	pthread_rwlock_destroy(&q->lock);
	free(q->keys);
	free(q);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(a, b);
}

int quarantine_view_refresh(quarantine_view *q, const char *dir, bool force)
{
	char path[4096], (*keys)[KEY_MAX] = NULL;
	quarantine_rec *rs = NULL;
	size_t nrs = 0, n = 0, cap = 0;
	struct timespec now;
	struct stat st;
	int err;

	snprintf(path, sizeof(path), "%s/quarantine", dir);
	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return kura_error_errno(kura_errno_code(errno), errno, "%s", path);
		memset(&st, 0, sizeof(st));
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (!force && (q->mtime.tv_sec || q->mtime.tv_nsec) &&
	    st.st_mtim.tv_sec == q->mtime.tv_sec && st.st_mtim.tv_nsec == q->mtime.tv_nsec)
		return 0;
	if ((err = quarantine_rec_load_all(dir, &rs, &nrs)) < 0)
		return err;
	for (size_t i = 0; i < nrs; i++)
		if (rs[i].state == QUARANTINE_HELD)
			cap += rs[i].nfiles;
	if (cap && !(keys = malloc(cap * sizeof(*keys)))) {
		quarantine_recs_free(rs, nrs);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nrs; i++) {
		if (rs[i].state != QUARANTINE_HELD)
			continue;
		for (size_t j = 0; j < rs[i].nfiles; j++)
			snprintf(keys[n++], KEY_MAX, "%s/%s", rs[i].repo, rs[i].files[j].name);
	}
	quarantine_recs_free(rs, nrs);
	if (n)
		qsort(keys, n, sizeof(*keys), cmp_key);
	pthread_rwlock_wrlock(&q->lock);
	free(q->keys);
	q->keys = keys;
	q->n = n;
	/* A recent time may hide a second change within the same tick. */
	if (st.st_mtim.tv_sec + 2 >= now.tv_sec)
		memset(&q->mtime, 0, sizeof(q->mtime));
	else
		q->mtime = st.st_mtim;
	pthread_rwlock_unlock(&q->lock);
	return 0;
}

bool quarantine_view_hidden(quarantine_view *q, const char *repo, const char *name)
{
	char key[KEY_MAX];
	bool hit;

	if (!q)
		return false;
	snprintf(key, sizeof(key), "%s/%s", repo, name);
	pthread_rwlock_rdlock(&q->lock);
	hit = q->n && bsearch(key, q->keys, q->n, sizeof(*q->keys), cmp_key) != NULL;
	pthread_rwlock_unlock(&q->lock);
	return hit;
}

int quarantine_view_filter(quarantine_view *q, const char *repo, json_t *listing,
			   size_t *out_dropped)
{
	json_t *kept, *item;
	size_t i, dropped = 0;

	*out_dropped = 0;
	if (!q || !json_array_size(listing))
		return 0;
	/* Rebuilt rather than removed from in place: a listing may hold millions. */
	if (!(kept = json_array()))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	json_array_foreach(listing, i, item)
	{
		const char *name = json_string_value(json_object_get(item, "name"));

		if (name && quarantine_view_hidden(q, repo, name))
			dropped++;
		else if (json_array_append(kept, item) < 0)
			goto fail;
	}
	if (dropped && (json_array_clear(listing) < 0 || json_array_extend(listing, kept) < 0))
		goto fail;
	json_decref(kept);
	*out_dropped = dropped;
	return 0;
fail:
	json_decref(kept);
	return kura_error_set(KURA_ENOMEM, "out of memory hiding quarantined files");
}
