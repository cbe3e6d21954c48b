/* SPDX-License-Identifier: Apache-2.0 */
/*
 * archiver.c - kura_backup: walk the source, chunk files, store blobs,
 * build trees bottom-up and write the snapshot.
 *
 * The pipeline.  The calling thread walks directories in name order and
 * reads each file once, cutting it into chunks; every chunk becomes a job
 * for a bounded thread pool whose workers hash, deduplicate, compress,
 * encrypt and pack it (blobstore.c).  The pool's queue bound is the
 * back-pressure that keeps memory independent of the size of the data:
 * at most (threads + queue) chunks, plus one pack per worker, are in
 * memory at once.
 *
 * Trees are built as their contents complete, in whatever order that is:
 * each directory counts its outstanding children (plus one token while it
 * is still being walked); whoever brings the count to zero - a worker
 * finishing a file's last chunk, or the walker - encodes the directory's
 * tree, stores it, writes its id into the parent's node and counts the
 * parent down.  When the root completes, every blob of the snapshot is
 * stored; the packs are flushed, index files written, then the snapshot.
 *
 * The file cache follows the walk: each regular file takes a ticket (its
 * place in the new cache, in walk order) before it is looked up in the
 * old one, and whoever completes the file closes the ticket with its
 * extents, or with nothing when it could not be stored (filecache.h).
 *
 * Only complete snapshots become visible: the snapshot file is written
 * last, and a crash before that leaves only unreferenced packs.  The
 * backup holds the repository's lock shared from before it loads the
 * index until it is done, so no prune removes what it deduplicates
 * against; and it writes the snapshot only after checking that every pack
 * the snapshot lists is stored, for a prune the lock does not reach.
 *
 * Detection (lib/detect/, docs/DETECTION.md) rides along: each chunk a
 * worker stores is also shown to the detector, each file is judged when
 * it completes, files the cache keeps are reported unchanged, and the
 * verdict goes into the snapshot (archdetect.c).
 *
 * This file is the driver: it sets the backup up, runs the walk, waits for
 * the workers and commits; and it holds what every part reports to (the
 * first failure, warnings, progress, excludes).  The parts are listed in
 * archiver.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/pool.h"
#include "repo/archiver.h"
#include "repo/blobstore.h"
#include "repo/filecache.h"
#include "repo/repo.h"
#include "repo/walkpaths.h"

/* ---------------------------------------------------------------------- */

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * The first failure of the backup, with the failing thread's message: the
 * message lives per thread (error.c), so it travels with the code.
 */
void kura_backup__set_error(archiver *a, int err)
{
	pthread_mutex_lock(&a->lock);
	if (!a->err) {
		a->err = err;
		/* a code without a message must not show another operation's text */
		snprintf(a->errmsg, sizeof(a->errmsg), "%s",
			 kura_error_code() ? kura_error_message() : kura_error_name(err));
	}
	pthread_mutex_unlock(&a->lock);
}

int kura_backup__failed(archiver *a)
{
	int err;

	pthread_mutex_lock(&a->lock);
	err = a->err;
	pthread_mutex_unlock(&a->lock);
	return err;
}

/* kura_backup__failed(), for the walker taking over a worker's failure: its message comes along. */
int kura_backup__take_failure(archiver *a)
{
	int err;
	char msg[sizeof(a->errmsg)];

	pthread_mutex_lock(&a->lock);
	if ((err = a->err))
		memcpy(msg, a->errmsg, sizeof(msg));
	pthread_mutex_unlock(&a->lock);
	return err ? kura_error_set(err, "%s", msg) : 0;
}

void kura_backup__count_unreadable(archiver *a)
{
	pthread_mutex_lock(&a->lock); /* workers count too, in file_complete */
	a->result.files_unreadable++;
	pthread_mutex_unlock(&a->lock);
}

void kura_backup__warn(archiver *a, const char *path, const char *msg)
{
	if (a->opts->warning)
		a->opts->warning(path, msg, a->opts->warning_ctx);
}

void kura_backup__progress(archiver *a, int force)
{
	kura_progress p;

	if (!a->opts->progress)
		return;
	if (!force && seconds_since(&a->last_progress) < 0.25)
		return;
	clock_gettime(CLOCK_MONOTONIC, &a->last_progress);
	pthread_mutex_lock(&a->lock);
	p.files_done = a->result.files_new + a->result.files_changed + a->result.files_unmodified;
	p.bytes_done = a->result.bytes_total;
	pthread_mutex_unlock(&a->lock);
	p.files_total = atomic_load(&a->scan_files);
	p.bytes_total = atomic_load(&a->scan_bytes);
	if (p.files_total < p.files_done)
		p.files_total = 0;
	if (p.bytes_total < p.bytes_done)
		p.bytes_total = 0;
	p.elapsed = seconds_since(&a->start);
	p.current = a->current;
	a->opts->progress(&p, a->opts->progress_ctx);
}

int kura_backup__excluded(const archiver *a, const char *path, const char *name)
{
	for (size_t i = 0; i < a->opts->nexcludes; i++) {
		const char *pat = a->opts->excludes[i];

		if (fnmatch(pat, strchr(pat, '/') ? path : name, 0) == 0)
			return 1;
	}
	return 0;
}

/*
 * A backup waits this long for a prune that holds the repository: pruning
 * is short (it reads snapshot headers and removes files), and a nightly
 * backup is better late than missing.
 */
#define PRUNE_WAIT_MS (60 * 60 * 1000)
/* bases of files no backup has read for this long go (files deleted, or unchanged that long) */
#define BASES_MAX_AGE_DAYS 30

/* Hold the repository shared for the whole backup, where the backend has a lock. */
static int lock_repository(archiver *a, kura_backend_lock **out)
{
	kura_backend *b = a->repo->backend;
	int err;

	if (!b->lock)
		return 0;
	if ((err = b->lock(b, KURA_LOCK_SHARED, 0, out)) != KURA_EBUSY)
		return err;
	kura_backup__warn(a, "(repository)",
			  "a prune holds the repository; waiting up to an hour for it");
	return b->lock(b, KURA_LOCK_SHARED, PRUNE_WAIT_MS, out);
}

int kura_backup(kura_repo *repo, const kura_backup_options *opts, kura_backup_result *out)
{
	archiver a = {0};
	kura_walkpath *paths = NULL;
	kura_blobstore_stats stats;
	scanner scan = {0};
	dir_state *root = NULL;
	kura_backend_lock *lock = NULL;
	kura_chunker_params small;
	int threads = opts->threads > 0 ? opts->threads : kura_cpu_count(), err, scanning = 0;

	memset(out, 0, sizeof(*out));
	if (opts->version > KURA_BACKUP_OPTIONS_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED,
				      "backup options version %u: this library knows up to %d",
				      opts->version, KURA_BACKUP_OPTIONS_VERSION);
	a.repo = repo;
	a.opts = opts;
	pthread_mutex_init(&a.lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &a.start);
	if (!opts->stdin_filename && opts->npaths == 0) {
		err = kura_error_set(KURA_EINVAL, "nothing to back up: give at least one path");
		goto done;
	}
	if (!opts->stdin_filename &&
	    (err = kura_walkpaths_build(&paths, opts->paths, opts->npaths)) < 0)
		goto done;
	if ((err = lock_repository(&a, &lock)) < 0 || (err = kura_repo__load_index(repo)) < 0)
		goto done;
	if ((err = kura_chunker_new(&a.chunker, &repo->config.chunker, repo->keys.chunker_seed)) < 0 ||
	    (err = kura_blobstore_new(&a.store, repo)) < 0 || (err = kura_idmap_new(&a.hardlinks)) < 0)
		goto done;
	/* the small set for files rewritten in place (chunkchoice.h), if the config allows one */
	if (kura_chunker_params_small(&small, &repo->config.chunker) &&
	    (err = kura_chunker_new(&a.chunker_small, &small, repo->keys.chunker_seed)) < 0)
		goto done;
	if (!opts->stdin_filename &&
	    kura_filecache_open(&a.cache, opts->cache_dir, repo->id_hex) < 0) {
		/* the cache only saves time */
		kura_backup__warn(&a, "(cache)", kura_error_message());
		a.cache = NULL;
	}
	/* database pieces' bases sit beside the file cache (basestore.h); they only save space */
	if (a.cache && a.chunker_small &&
	    kura_basestore_open(&a.bases, opts->cache_dir, repo->id_hex) < 0) {
		kura_backup__warn(&a, "(cache)", kura_error_message());
		a.bases = NULL;
	}
	if (!opts->no_detect)
		kura_backup__detect_open(&a, paths);
	a.small_min_size = repo->config.chunker.avg;
	a.buf_cap = (size_t)repo->config.chunker.max * 2;
	if (!(a.buf = malloc(a.buf_cap))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	/* queue bound: two chunks per worker waiting, so readers stay ahead but memory is bounded */
	if ((err = kura_pool_new(&a.pool, threads, (size_t)threads * 2)) < 0)
		goto done;
	if (!(root = calloc(1, sizeof(*root)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (paths) {
		scan.arch = &a;
		scan.paths = paths;
		scanning = pthread_create(&scan.thread, NULL, kura_backup__scan, &scan) == 0;
	}
	if (opts->stdin_filename)
		err = kura_backup__backup_stdin(&a, root);
	else if (paths->leaf) {
		int fd = open(paths->real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0) {
			err = kura_error_errno(KURA_ENOTFOUND, errno, "%s", paths->real);
			root->pending = 1;
			kura_backup__child_done(&a, root);
		} else {
			walk_sub s = {root, fd, 0, 0};

			err = kura_backup__walk_dirs(&a, &s, paths->real, 0);
		}
	} else
		err = kura_backup__walk_vdir(&a, root, paths, 0);
	root = NULL; /* freed by its completion */
	kura_pool_wait(a.pool);
	if (!err)
		err = kura_backup__take_failure(&a);
	if (err < 0)
		goto done;
	if (!a.root_done) {
		err = kura_error_set(KURA_ERROR, "internal error: the root tree did not complete");
		goto done;
	}
	kura_backup__detect_finish(&a);
	if ((err = kura_blobstore_flush(a.store)) < 0 ||
	    (err = kura_backup__write_snapshot(&a, paths)) < 0)
		goto done;
	if (a.cache && kura_filecache_commit(a.cache) < 0)
		kura_backup__warn(&a, "(cache)", kura_error_message());
	if (a.bases)
		kura_basestore_sweep(a.bases, BASES_MAX_AGE_DAYS);
	kura_backup__detect_commit(&a);
	kura_blobstore_stats_get(a.store, &stats);
	a.result.blobs_new = stats.blobs_new;
	a.result.bytes_new_raw = stats.bytes_new_raw;
	a.result.bytes_new_stored = stats.bytes_new_stored;
	a.result.seconds = seconds_since(&a.start);
	kura_backup__progress(&a, 1);
	*out = a.result;
done:
	atomic_store(&a.scan_stop, 1);
	if (scanning)
		pthread_join(scan.thread, NULL);
	kura_pool_free(a.pool);
	free(root);
	free(a.buf);
	kura_filecache_free(a.cache);
	kura_basestore_free(a.bases);
	kura_backup__detect_free(&a);
	kura_blobstore_free(a.store);
	kura_chunker_free(a.chunker);
	kura_chunker_free(a.chunker_small);
	kura_idmap_free(a.hardlinks);
	for (size_t i = 0; i < a.nlinks; i++)
		free(a.link_paths[i]);
	free(a.link_paths);
	kura_backup__text_list_free(a.changed, a.nchanged);
	kura_walkpaths_free(paths);
	if (lock)
		repo->backend->unlock(repo->backend, lock);
	pthread_mutex_destroy(&a.lock);
	return err;
}
