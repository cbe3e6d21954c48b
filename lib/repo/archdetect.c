/* SPDX-License-Identifier: Apache-2.0 */
/*
 * archdetect.c - the backup's side of ransomware detection (lib/detect/,
 * docs/DETECTION.md): the detector is set up with the history of this
 * source (host, paths and excludes) from the client's cache, judges the backup
 * before the snapshot is written (the verdict goes into it), and saves the
 * history once the snapshot is stored.  The per-chunk and per-file calls
 * sit where the pipeline holds the data (archfile.c, archwalk.c).
 *
 * Detection never fails a backup: a detector that cannot start or judge
 * warns, and the backup is saved without a verdict (a version 1 snapshot).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "repo/acceptance.h"
#include "repo/archiver.h"
#include "repo/filecache.h"

void kura_backup__detect_open(archiver *a, const kura_walkpath *paths)
{
	const kura_backup_options *o = a->opts;
	char host[256] = "",
	     *dir = o->cache_dir ? strdup(o->cache_dir) : kura_filecache_default_dir();
	kura_buf src = KURA_BUF_INIT;
	kura_detect_config cfg = {0};
	int err = 0;

	/* the source: what the history belongs to, as write_snapshot names it */
	if (o->hostname)
		snprintf(host, sizeof(host), "%s", o->hostname);
	else
		gethostname(host, sizeof(host) - 1);
	err = kura_buf_put(&src, host, strlen(host));
	if (!err && o->stdin_filename)
		err = kura_buf_put(&src, "\n-\n", 3) ||
		      kura_buf_put(&src, o->stdin_filename, strlen(o->stdin_filename));
	for (size_t i = 0; !err && paths && i < paths->ngiven; i++)
		err = kura_buf_put(&src, "\n", 1) ||
		      kura_buf_put(&src, paths->given[i], strlen(paths->given[i]));
	/* excludes too: a new exclude is a new view of the tree, not a mass deletion */
	for (size_t i = 0; !err && i < o->nexcludes; i++)
		err = kura_buf_put(&src, "\n-e ", 4) ||
		      kura_buf_put(&src, o->excludes[i], strlen(o->excludes[i]));
	if (!err)
		err = kura_buf_put(&src, "", 1);
	if (err) {
		kura_backup__warn(a, "(detection)", "out of memory: the backup is not judged");
	} else {
		cfg.cache_dir = dir; /* NULL (no home): judged without history */
		cfg.repo_id_hex = a->repo->id_hex;
		cfg.source = (const char *)src.data;
		/* an operator's acceptances of false alarms of this source: applied, and said */
		if (kura_repo__accepts_for(a->repo, cfg.source, &a->accepts) < 0)
			kura_backup__warn(a, "(detection)",
					  kura_error_message()); /* judged without them */
		cfg.accepts = &a->accepts;
		if (kura_detect_open(&a->detect, &cfg) < 0) {
			kura_backup__warn(a, "(detection)", kura_error_message());
			a->detect = NULL;
		}
	}
	kura_buf_free(&src);
	free(dir);
}

void kura_backup__detect_finish(archiver *a)
{
	if (!a->detect || kura_detect_finish(a->detect, &a->report) == 0)
		return;
	kura_backup__warn(a, "(detection)", kura_error_message());
	kura_detect_free(a->detect);
	a->detect = NULL;
}

void kura_backup__detect_commit(archiver *a)
{
	if (!a->detect)
		return;
	if (kura_detect_commit(a->detect) < 0)
		kura_backup__warn(a, "(detection history)", kura_error_message());
	a->result.detection = (int)a->report.verdict;
	a->result.detection_score = a->report.score;
	if (a->opts->want_detection_record) {
		a->result.detection_record = a->report.record; /* the caller's now */
		a->report.record = NULL;
	}
}

void kura_backup__detect_free(archiver *a)
{
	kura_detect_free(a->detect);
	a->detect = NULL;
	kura_detect_accepts_clear(&a->accepts);
	free(a->report.record);
	free(a->report.summary);
	a->report.record = a->report.summary = NULL;
}

void kura_backup_result_clear(kura_backup_result *r)
{
	if (!r)
		return;
	free(r->detection_record);
	r->detection_record = NULL;
}
