/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checkmeta.c - the small files of a check: every config, key,
 * index and snapshot file is fetched, its SHA-256 compared with its name,
 * and parsed.  There must be exactly one config, equal to the one the
 * repository was opened with.  Decoded index files and snapshots are kept
 * in the checker for the stages after this one; a file that cannot be
 * fetched or parsed is one problem report and is left out, never the end
 * of the check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "repo/checker.h"

/* ------------------------------------------------------------------ */
/* Config, keys, indexes, snapshots                                     */

int kura_check__config(checker *ck)
{
	uint8_t mine[KURA_CONFIG_SIZE], theirs[KURA_CONFIG_SIZE];
	ck_names nm;
	int err;

	if ((err = kura_check__list(ck, KURA_FILE_CONFIG, &nm)) < 0)
		goto done;
	if (nm.n != 1)
		kura_check__problem(ck, NULL, NULL, "config",
				    "%zu config files where exactly one is expected", nm.n);
	kura_config_encode(mine, &ck->repo->config);
	for (size_t i = 0; i < nm.n; i++) {
		char object[96];
		kura_config c;
		uint8_t *data;
		size_t len;

		if (kura_check__fetch(ck, KURA_FILE_CONFIG, "config", nm.v[i].name, nm.v[i].size,
				      CK_SMALL_FILE_MAX, &data, &len) != 0)
			continue;
		snprintf(object, sizeof(object), "config %s", nm.v[i].name);
		if (kura_config_decode(&c, data, len) < 0) {
			kura_check__problem(ck, NULL, NULL, object, "%s", kura_error_message());
		} else {
			kura_config_encode(theirs, &c);
			if (memcmp(mine, theirs, sizeof(mine)) != 0)
				kura_check__problem(
				    ck, NULL, NULL, object,
				    "does not match the config the repository was opened with");
		}
		free(data);
	}
	err = 0;
done:
	kura_check__names_free(&nm);
	return err;
}

int kura_check__keys(checker *ck)
{
	ck_names nm;
	int err, kind;

	if ((err = kura_check__list(ck, KURA_FILE_KEY, &nm)) < 0)
		goto done;
	for (size_t i = 0; i < nm.n; i++) {
		char object[96];
		uint8_t *data;
		size_t len;

		if (kura_check__fetch(ck, KURA_FILE_KEY, "key", nm.v[i].name, nm.v[i].size,
				      CK_SMALL_FILE_MAX, &data, &len) != 0)
			continue;
		snprintf(object, sizeof(object), "key %s", nm.v[i].name);
		kind = kura_keyfile_kind(data, len);
		if (kind < 0)
			kura_check__problem(ck, NULL, NULL, object, "%s", kura_error_message());
		else if (kind != KURA_KEY_RESTORE)
			kura_check__problem(
			    ck, NULL, NULL, object,
			    "is not a restore key (kind %d): only restore keys belong here", kind);
		else if (len < 76 || memcmp(data + 12, ck->repo->config.repo_id, 32) != 0 ||
			 memcmp(data + 44, ck->repo->config.repo_pk, 32) != 0)
			kura_check__problem(ck, NULL, NULL, object,
					    "belongs to another repository");
		free(data);
	}
	err = 0;
done:
	kura_check__names_free(&nm);
	return err;
}

int kura_check__indexes(checker *ck)
{
	ck_names *nm = &ck->index_names;
	int err;

	if ((err = kura_check__list(ck, KURA_FILE_INDEX, nm)) < 0)
		return err;
	if (nm->n) {
		ck->indexes = calloc(nm->n, sizeof(*ck->indexes));
		if (!ck->indexes)
			return kura_error_set(KURA_ENOMEM, "check: out of memory");
	}
	for (size_t i = 0; i < nm->n; i++) {
		uint64_t before = ck->problems;
		char object[96];
		uint8_t *data;
		size_t len;

		if (kura_check__fetch(ck, KURA_FILE_INDEX, "index", nm->v[i].name, nm->v[i].size, 0,
				      &data, &len) != 0) {
			ck->index_problems++;
			continue;
		}
		snprintf(object, sizeof(object), "index %s", nm->v[i].name);
		if (kura_indexfile_decode(&ck->indexes[i], &ck->repo->keys, data, len) < 0) {
			kura_check__problem(ck, NULL, NULL, object, "%s", kura_error_message());
			ck->indexes[i] = NULL;
		}
		if (ck->problems != before)
			ck->index_problems++;
		free(data);
	}
	return 0;
}

static int cmp_snap(const void *a, const void *b)
{
	const ck_snap *x = a, *y = b;

	if (x->s->time_ns != y->s->time_ns)
		return x->s->time_ns < y->s->time_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

int kura_check__snapshots(checker *ck)
{
	ck_names nm;
	int err;

	if ((err = kura_check__list(ck, KURA_FILE_SNAPSHOT, &nm)) < 0)
		goto done;
	if (nm.n) {
		ck->snaps = calloc(nm.n, sizeof(*ck->snaps));
		if (!ck->snaps) {
			err = kura_error_set(KURA_ENOMEM, "check: out of memory");
			goto done;
		}
	}
	for (size_t i = 0; i < nm.n; i++) {
		char object[96];
		kura_snapshot *s = NULL;
		uint8_t *data;
		size_t len;

		if (kura_check__fetch(ck, KURA_FILE_SNAPSHOT, "snapshot", nm.v[i].name,
				      nm.v[i].size, 0, &data, &len) != 0)
			continue;
		snprintf(object, sizeof(object), "snapshot %s", nm.v[i].name);
		if (kura_snapshot_decode(&s, &ck->repo->keys, data, len) < 0) {
			kura_check__problem(ck, nm.v[i].name, NULL, object, "%s",
					    kura_error_message());
			/* The plaintext header may still be whole: keep checking its pack list. */
			s = NULL;
			if (kura_snapshot_decode(&s, NULL, data, len) < 0)
				s = NULL;
		}
		if (s) {
			memcpy(ck->snaps[ck->nsnaps].id, nm.v[i].name, KURA_ID_HEX);
			ck->snaps[ck->nsnaps++].s = s;
		}
		free(data);
	}
	if (ck->nsnaps > 1)
		qsort(ck->snaps, ck->nsnaps, sizeof(*ck->snaps), cmp_snap);
	err = 0;
done:
	kura_check__names_free(&nm);
	return err;
}
