/* SPDX-License-Identifier: Apache-2.0 */
/*
 * accept.c - the union of a source's acceptances and the test of one file
 * against it (accept.h).  A file's directories are hashed from its parent
 * up to the root, one hash per level, only for files that gave a content
 * signal: the cost is nothing for a backup without such files.
 */
#include "detect/accept.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "format/acceptrec.h"

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static bool has(const uint64_t *v, size_t n, uint64_t x)
{
	return n && bsearch(&x, v, n, sizeof(x), u64_cmp) != NULL;
}

uint32_t kura_detect_accepted(const kura_detect_accepts *a, const char *path)
{
	const char *slash = strrchr(path, '/'), *dot;
	size_t len;

	if (!a || !a->records || !slash)
		return 0;
	dot = strrchr(slash, '.');
	if (!dot || dot == slash + 1 ||
	    !has(a->exts, a->nexts, kura_acceptrec_hash(a->key, dot, strlen(dot))))
		return 0;
	/* the parent directory, then each above it */
	for (len = (size_t)(slash - path); len > 0;) {
		if (has(a->dirs, a->ndirs, kura_acceptrec_hash(a->key, path, len)))
			return a->signals;
		while (len > 0 && path[len - 1] != '/')
			len--;
		if (len > 0)
			len--; /* drop the slash */
	}
	return 0;
}

static int merge(uint64_t **v, size_t *n, const uint64_t *add, size_t nadd)
{
	uint64_t *grown = realloc(*v, (*n + nadd) * sizeof(**v));
	size_t k = 0;

	if (!grown && *n + nadd)
		return kura_error_set(KURA_ENOMEM, "detection: out of memory");
	*v = grown;
	memcpy(*v + *n, add, nadd * sizeof(**v));
	*n += nadd;
	qsort(*v, *n, sizeof(**v), u64_cmp);
	for (size_t i = 0; i < *n; i++)
		if (k == 0 || (*v)[i] != (*v)[k - 1])
			(*v)[k++] = (*v)[i];
	*n = k;
	return 0;
}

int kura_detect_accepts_add(kura_detect_accepts *a, const uint64_t *dirs, size_t ndirs,
			    const uint64_t *exts, size_t nexts, uint32_t signals, int64_t time_ns,
			    const char *snapshot_hex)
{
	size_t have = a->snapshots ? strlen(a->snapshots) : 0, add = strlen(snapshot_hex);
	char *ids;
	int err;

	if ((err = merge(&a->dirs, &a->ndirs, dirs, ndirs)) < 0 ||
	    (err = merge(&a->exts, &a->nexts, exts, nexts)) < 0)
		return err;
	if (!(ids = realloc(a->snapshots, have + add + 2)))
		return kura_error_set(KURA_ENOMEM, "detection: out of memory");
	if (have)
		ids[have++] = ',';
	memcpy(ids + have, snapshot_hex, add + 1);
	a->snapshots = ids;
	a->signals |= signals;
	a->records++;
	if (time_ns > a->newest_ns)
		a->newest_ns = time_ns;
	return 0;
}

void kura_detect_accepts_clear(kura_detect_accepts *a)
{
	free(a->dirs);
	free(a->exts);
	free(a->snapshots);
	memset(a, 0, sizeof(*a));
}
