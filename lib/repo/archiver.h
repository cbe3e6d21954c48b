/* SPDX-License-Identifier: Apache-2.0 */
/*
 * archiver.h - what the parts of kura_backup share (internal to lib/repo;
 * nothing here is public API): the archiver, the state of a directory and
 * of a file in flight, and the calls one part makes into another.
 *
 *   archiver.c  the driver (kura_backup), the repository lock, the first
 *               failure, warnings, progress and excludes
 *   archwalk.c  the walk: entries, hard links, directories, stdin
 *   archfile.c  the file reader and chunk pipeline: read, cut, hand each
 *               chunk to a worker, the file cache
 *   archbase.c  pieces of database files stored against their last
 *               version (basestore.h)
 *   archtree.c  the tree builder: directories complete bottom-up, in
 *               whatever order their children finish
 *   archsnap.c  the snapshot commit: the packs checked stored, then the
 *               snapshot file written last
 *   archscan.c  the scanner thread counting what is to be backed up (ETA)
 *   archdetect.c  ransomware detection riding along (lib/detect/): set up,
 *               verdict before the snapshot, history after it
 *
 * The invariants are those described at the top of archiver.c.  Fields a
 * worker touches (pending counts, extents, the result counters workers
 * update, the first error) are read and written under a->lock.
 */
#ifndef KURA_REPO_ARCHIVER_H
#define KURA_REPO_ARCHIVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "common/pool.h"
#include "detect/detect.h"
#include "repo/chunkchoice.h"
#include "repo/basestore.h"
#include "repo/blobstore.h"
#include "repo/filecache.h"
#include "repo/repo.h"
#include "repo/walkpaths.h"

typedef struct dir_state dir_state;

struct dir_state {
	dir_state *parent;
	size_t slot;        /* our node in parent->nodes */
	kura_node *nodes;   /* fixed size: no realloc while workers complete files */
	size_t count;
	int pending;        /* children outstanding, plus 1 while walking */
};

typedef struct {
	dir_state *dir;
	size_t slot;
	char *path;
	struct stat st;
	kura_extent *extents;
	uint32_t count, cap;
	int pending;        /* chunk jobs outstanding, plus 1 while reading */
	int failed;
	int changed;        /* its size or ctime changed while it was read */
	uint64_t ticket;    /* its place in the new file cache */
	kura_detect_file *det; /* what the detector gathers of it, or NULL */
	const kura_chunker *chunker; /* the set it is cut with (chunkchoice.h) */
	uint8_t chunking;   /* KURA_CHUNKING_* of that set */
	kura_chunk_baseline *baseline; /* its last backup, to see a rewrite in place; or NULL */
	kura_basefile *bases; /* pieces of pages: what they are stored against (archbase.c); or NULL */
	uint64_t emitted;   /* bytes of its extents so far: the next chunk's offset (walker only) */
} file_state;

typedef struct archiver archiver;

struct archiver {
	kura_repo *repo;
	const kura_backup_options *opts;
	kura_chunker *chunker;
	kura_chunker *chunker_small; /* the small set, or NULL when the config has none */
	uint64_t small_min_size;     /* files below this keep the large set */
	kura_pool *pool;
	kura_blobstore *store;
	kura_filecache *cache;
	kura_basestore *bases;  /* NULL without a file cache */
	kura_detect *detect;    /* NULL: detection off (or it could not start) */
	kura_detect_accepts accepts; /* the operator's acceptances for this source (accept.h) */
	kura_detect_report report;
	kura_idmap *hardlinks;  /* (dev, ino) -> ordinal in link_paths */
	char **link_paths;
	size_t nlinks, links_cap;
	char **changed;         /* snapshot paths of files that changed while read */
	size_t nchanged, changed_cap, changed_bytes;

	pthread_mutex_t lock;
	int err;
	char errmsg[1024];
	uint8_t root_id[KURA_HASH_SIZE];
	int root_done;

	uint8_t *buf;
	size_t buf_cap;

	kura_backup_result result;
	atomic_uint_fast64_t scan_files, scan_bytes;
	atomic_int scan_stop;
	struct timespec start, last_progress;
	const char *current;
};

/* A directory that process_entry found: walked next (dirstack.h), from its open fd. */
typedef struct {
	dir_state *dir;
	int fd;
	dev_t dev;
	ino_t ino;
} walk_sub;

/* The scanner thread (archscan.c): counts into arch->scan_files and scan_bytes. */
typedef struct {
	archiver *arch;
	kura_walkpath *paths;
	pthread_t thread;
} scanner;

/* archiver.c: the first failure wins; workers and the walker both report. */
void kura_backup__set_error(archiver *a, int err);
int kura_backup__failed(archiver *a);
int kura_backup__take_failure(archiver *a);
void kura_backup__count_unreadable(archiver *a);
void kura_backup__warn(archiver *a, const char *path, const char *msg);
void kura_backup__progress(archiver *a, int force);
int kura_backup__excluded(const archiver *a, const char *path, const char *name);

/* archtree.c: counting a directory's children up and down; the last one stores its tree. */
void kura_backup__child_done(archiver *a, dir_state *dir);
void kura_backup__child_started(archiver *a, dir_state *dir);

/*
 * archbase.c: a piece of a file cut in pages, stored against the piece's
 * base when that pays.  *ext gets the id, and the reference if one is
 * needed; *out_stored what it cost.
 */
int kura_backup__store_piece(archiver *a, file_state *f, uint64_t offset, const uint8_t *data,
			     size_t len, const kura_comp_hint *hint, kura_extent *ext,
			     size_t *out_stored);

/* archfile.c */
int kura_backup__try_cache(archiver *a, kura_node *node, const char *path, const struct stat *st,
			   uint64_t ticket, int *out_known, kura_filecache_prev *out_prev);
void kura_backup__cache_skip(archiver *a, uint64_t ticket);
int kura_backup__process_file(archiver *a, dir_state *dir, size_t slot, int fd, int stream,
			      const char *path, const struct stat *st, uint64_t ticket,
			      const kura_filecache_prev *prev);

/* archwalk.c */
char *kura_backup__join_path(const char *dir, const char *name);
int kura_backup__walk_dirs(archiver *a, const walk_sub *s, const char *path, unsigned depth);
int kura_backup__walk_vdir(archiver *a, dir_state *dir, const kura_walkpath *vdir,
			   unsigned depth);
int kura_backup__backup_stdin(archiver *a, dir_state *root);

/* archsnap.c */
int kura_backup__write_snapshot(archiver *a, const kura_walkpath *paths);
void kura_backup__text_list_free(char **list, size_t n);

/* archdetect.c: a detection that cannot start or judge warns; the backup goes on. */
void kura_backup__detect_open(archiver *a, const kura_walkpath *paths);
void kura_backup__detect_finish(archiver *a);
void kura_backup__detect_commit(archiver *a);
void kura_backup__detect_free(archiver *a);

/* archscan.c: the thread's function, for pthread_create; its argument is a scanner. */
void *kura_backup__scan(void *arg);

#endif
