/* SPDX-License-Identifier: Apache-2.0 */
/*
 * archsnap.c - the backup's commit: the snapshot file, written last.
 *
 * Only complete snapshots become visible: by the time this runs every
 * blob is stored and the packs flushed and indexed, so a crash before it
 * leaves only unreferenced packs.  It first checks that every pack the
 * snapshot lists is still stored (for a prune the repository's lock does
 * not reach), then encodes the snapshot with the sanitized texts a JSON
 * body can carry and puts it under the hash of its bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/utf8.h"
#include "repo/archiver.h"
#include "repo/blobstore.h"
#include "repo/fsmeta.h"

/* Copies of strings made safe for the snapshot's JSON body (see utf8.h). */
static char **text_list(const char *const *in, size_t n)
{
	char **out = calloc(n + 1, sizeof(char *));

	for (size_t i = 0; out && i < n; i++)
		if (!(out[i] = kura_utf8_sanitize(in[i]))) {
			for (size_t j = 0; j < i; j++)
				free(out[j]);
			free(out);
			return NULL;
		}
	return out;
}

void kura_backup__text_list_free(char **list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int kura_backup__write_snapshot(archiver *a, const kura_walkpath *paths)
{
	const kura_backup_options *o = a->opts;
	kura_snapshot snap = {0};
	char host[256] = "";
	uint8_t *data = NULL, name[KURA_HASH_SIZE];
	char hex[KURA_ID_HEX];
	size_t len;
	int err;

	if ((err = kura_blobstore_packs(a->store, &snap.packs, &snap.npacks)) < 0)
		return err;
	/* never "saved" for a snapshot whose data a prune beside us removed */
	if ((err = kura_gc__packs_stored(a->repo->backend,
					 (const uint8_t(*)[KURA_HASH_SIZE])snap.packs, snap.npacks)) < 0)
		goto done;
	snap.time_ns = o->time_ns ? o->time_ns : kura_now_ns(CLOCK_REALTIME);
	snap.readable = true;
	memcpy(snap.tree, a->root_id, KURA_HASH_SIZE);
	if (o->hostname)
		snprintf(host, sizeof(host), "%s", o->hostname);
	else
		gethostname(host, sizeof(host) - 1);
	snap.npaths = o->stdin_filename ? 1 : paths->ngiven;
	snap.ntags = o->ntags;
	snap.nexcludes = o->nexcludes;
	snap.hostname = kura_utf8_sanitize(host);
	snap.username = kura_utf8_sanitize(kura_fsmeta_user_name((uint32_t)getuid()));
	snap.paths = o->stdin_filename ? text_list(&o->stdin_filename, 1)
				       : text_list((const char *const *)paths->given, paths->ngiven);
	snap.tags = text_list(o->tags, o->ntags);
	snap.excludes = text_list(o->excludes, o->nexcludes);
	if (!snap.hostname || !snap.username || !snap.paths || !snap.tags || !snap.excludes) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	snap.program = "kura " KURA_VERSION;
	snap.files = a->result.files_new + a->result.files_changed + a->result.files_unmodified;
	if (a->nchanged > 1)
		qsort(a->changed, a->nchanged, sizeof(char *), name_cmp);
	snap.changed = a->changed;
	snap.nchanged = a->nchanged;
	snap.dirs = a->result.dirs;
	snap.bytes = a->result.bytes_total;
	snap.summary = a->report.summary; /* NULL without detection: a version 1 header */
	snap.detection = a->report.record;
	if ((err = kura_snapshot_encode(&data, &len, name, &a->repo->keys, &snap)) < 0)
		goto done;
	kura_hex(hex, name, sizeof(name));
	if ((err = a->repo->backend->put(a->repo->backend, KURA_FILE_SNAPSHOT, hex, data, len)) < 0) {
		kura_error_wrap(err, "writing snapshot %s", hex);
		goto done;
	}
	snprintf(a->result.snapshot_id, sizeof(a->result.snapshot_id), "%s", hex);
done:
	free(data);
	free(snap.packs);
	free(snap.hostname);
	free(snap.username);
	kura_backup__text_list_free(snap.paths, snap.npaths);
	kura_backup__text_list_free(snap.tags, snap.ntags);
	kura_backup__text_list_free(snap.excludes, snap.nexcludes);
	return err;
}
