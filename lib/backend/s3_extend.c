/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_extend.c - `kura s3 extend-locks`: move the Object Lock of every file
 * the repository's snapshots still need to now + the lock period, before
 * it runs out.
 *
 * Which files: every config, key, index and drill record, every snapshot
 * but those the operator lets expire, and every pack a remaining
 * snapshot's plaintext pack list names (kura_gc_unreferenced: no key is
 * needed, so an operator's host without the restore key can run it).
 * What is not extended is what prune may delete once its lock ends.
 *
 * This must run where the retention policy lives (the operator's host, a
 * vault), never on a backup client: a client that stops extending must not
 * be what decides when backups become deletable (kopia#5108); a lapse
 * leaves files unlocked, never deleted, and the next run locks them again.
 */
#include "s3.h"

#include "kura/backend.h"
#include "kura/keyless.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"

static const kura_file_type kept_types[] = {KURA_FILE_CONFIG, KURA_FILE_KEY,   KURA_FILE_INDEX,
					    KURA_FILE_DRILL,  KURA_FILE_PROOF, KURA_FILE_ACCEPT,
					    KURA_FILE_SNAPSHOT, KURA_FILE_PACK};

static bool in_ids(const char (*ids)[KURA_ID_HEX], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], name) == 0)
			return true;
	return false;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int kura_s3_extend_locks(kura_backend *b, const char (*let_expire)[KURA_ID_HEX], size_t nlet,
			 bool dry_run, kura_s3_extend_fn fn, void *ctx, kura_s3_extend_result *out)
{
	s3_backend *sb = (s3_backend *)b;
	kura_pack_list unref = {0};
	kura_listed_file *files = NULL;
	size_t nfiles = 0;
	int64_t until;
	int err;

	memset(out, 0, sizeof(*out));
	if (!s3_backend_is(b))
		return kura_error_set(KURA_EINVAL, "extend-locks: this repository is not on S3");
	if (!sb->locking)
		return kura_error_set(
		    KURA_EINVAL,
		    "%s: this repository was created without Object Lock: there is "
		    "no lock to extend",
		    sb->display);
	if ((err = kura_gc_unreferenced(b, let_expire, nlet, &unref)) < 0)
		return err;
	until = (int64_t)time(NULL) + (int64_t)sb->lock_days * 86400;
	out->until = until;
	for (size_t t = 0; t < sizeof(kept_types) / sizeof(kept_types[0]); t++) {
		kura_file_type type = kept_types[t];

		free(files);
		files = NULL;
		if ((err = kura_list_files(&files, &nfiles, b, type)) < 0)
			goto done;
		for (size_t i = 0; i < nfiles; i++) {
			const char *name = files[i].name;
			kura_s3_extend_event ev = {.type = type, .name = name};
			char what[96], *key;

			if ((type == KURA_FILE_SNAPSHOT && in_ids(let_expire, nlet, name)) ||
			    (type == KURA_FILE_PACK && unref.count &&
			     bsearch(name, unref.names, unref.count, sizeof(*unref.names),
				     name_cmp))) {
				out->let_expire++;
				ev.kept_until = -1;
				if (fn && (err = fn(&ev, ctx)) < 0)
					goto done;
				continue;
			}
			out->files++;
			if (dry_run) {
				if (fn && (err = fn(&ev, ctx)) < 0)
					goto done;
				continue;
			}
			snprintf(what, sizeof(what), "%s/%s", kura_file_type_name(type), name);
			if (!(key = s3_url_key(sb, type, name))) {
				err = kura_error_set(KURA_ENOMEM, "out of memory");
				goto done;
			}
			err = s3_lock_extend(sb, key, until, what, &ev.kept_until);
			free(key);
			if (err < 0)
				goto done;
			out->extended++;
			if (fn && (err = fn(&ev, ctx)) < 0)
				goto done;
		}
	}
done:
	free(files);
	kura_pack_list_free(&unref);
	return err;
}
