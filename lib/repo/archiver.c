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
 * Detection (lib/detect/, docs/DETECTION.md) rides along: each chunk a
 * worker stores is also shown to the detector with what storing it cost,
 * each file is judged when it completes, files the cache keeps are
 * reported unchanged, and the verdict goes into the snapshot.
 *
 * Only complete snapshots become visible: the snapshot file is written
 * last, and a crash before that leaves only unreferenced packs.  The
 * backup holds the repository's lock shared from before it loads the
 * index until it is done, so no prune removes what it deduplicates
 * against; and it writes the snapshot only after checking that every pack
 * the snapshot lists is stored, for a prune the lock does not reach.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/array.h"
#include "common/error.h"
#include "common/pool.h"
#include "common/utf8.h"
#include "detect/detect.h"
#include "repo/blobstore.h"
#include "repo/dirstack.h"
#include "repo/filecache.h"
#include "repo/fsmeta.h"
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
} file_state;

typedef struct archiver archiver;

typedef struct {
	archiver *arch;
	file_state *file;
	uint32_t index;
	uint8_t *data;
	size_t len;
} chunk_job;

struct archiver {
	kura_repo *repo;
	const kura_backup_options *opts;
	kura_chunker *chunker;
	kura_pool *pool;
	kura_blobstore *store;
	kura_filecache *cache;
	kura_detect *detect;    /* NULL: detection off */
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
static void set_error(archiver *a, int err)
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

static int failed(archiver *a)
{
	int err;

	pthread_mutex_lock(&a->lock);
	err = a->err;
	pthread_mutex_unlock(&a->lock);
	return err;
}

/* failed(), for the walker taking over a worker's failure: its message comes along. */
static int take_failure(archiver *a)
{
	int err;
	char msg[sizeof(a->errmsg)];

	pthread_mutex_lock(&a->lock);
	if ((err = a->err))
		memcpy(msg, a->errmsg, sizeof(msg));
	pthread_mutex_unlock(&a->lock);
	return err ? kura_error_set(err, "%s", msg) : 0;
}

static void count_unreadable(archiver *a)
{
	pthread_mutex_lock(&a->lock); /* workers count too, in file_complete */
	a->result.files_unreadable++;
	pthread_mutex_unlock(&a->lock);
}

static void warn(archiver *a, const char *path, const char *msg)
{
	if (a->opts->warning)
		a->opts->warning(path, msg, a->opts->warning_ctx);
}

static void progress(archiver *a, int force)
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

static int excluded(const archiver *a, const char *path, const char *name)
{
	for (size_t i = 0; i < a->opts->nexcludes; i++) {
		const char *pat = a->opts->excludes[i];

		if (fnmatch(pat, strchr(pat, '/') ? path : name, 0) == 0)
			return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Completion: files and directories finish in any order.                 */

static int node_cmp(const void *x, const void *y)
{
	return strcmp(((const kura_node *)x)->name, ((const kura_node *)y)->name);
}

/* Store the finished directory's tree; returns its parent, to be counted down. */
static dir_state *dir_complete(archiver *a, dir_state *dir)
{
	dir_state *parent = dir->parent;
	kura_tree tree;
	kura_buf enc = KURA_BUF_INIT;
	uint8_t id[KURA_HASH_SIZE] = {0};
	size_t n = 0;
	int err;

	/* drop the slots of entries that could not be read */
	for (size_t i = 0; i < dir->count; i++)
		if (dir->nodes[i].name)
			dir->nodes[n++] = dir->nodes[i];
	if (n > 1)
		qsort(dir->nodes, n, sizeof(*dir->nodes), node_cmp);
	tree.nodes = dir->nodes;
	tree.count = n;
	if (!failed(a)) {
		if ((err = kura_tree_encode(&enc, &tree)) < 0 ||
		    (err = kura_blobstore_add(a->store, KURA_BLOB_TREE, enc.data, enc.len, id)) < 0)
			set_error(a, err);
	}
	kura_buf_free(&enc);
	for (size_t i = 0; i < n; i++)
		kura_node_clear(&dir->nodes[i]);
	free(dir->nodes);
	pthread_mutex_lock(&a->lock);
	if (parent) {
		memcpy(parent->nodes[dir->slot].subtree, id, KURA_HASH_SIZE);
	} else {
		memcpy(a->root_id, id, KURA_HASH_SIZE);
		a->root_done = 1;
	}
	pthread_mutex_unlock(&a->lock);
	free(dir);
	return parent;
}

/*
 * Count one child of `dir` done.  A loop, not recursion: the last file of
 * a deep tree may complete every directory above it, on a worker's stack.
 */
static void child_done(archiver *a, dir_state *dir)
{
	int zero;

	while (dir) {
		pthread_mutex_lock(&a->lock);
		zero = --dir->pending == 0;
		pthread_mutex_unlock(&a->lock);
		if (!zero)
			return;
		dir = dir_complete(a, dir);
	}
}

static void child_started(archiver *a, dir_state *dir)
{
	pthread_mutex_lock(&a->lock);
	dir->pending++;
	pthread_mutex_unlock(&a->lock);
}

/* Close the file's place in the new cache: its extents, or nothing if it was not stored. */
static void cache_file_done(archiver *a, file_state *f)
{
	if (!a->cache)
		return;
	/* a changed file is read again next time: its stat is not what was stored */
	if (f->failed || f->changed || failed(a))
		kura_filecache_skip(a->cache, f->ticket);
	else if (kura_filecache_record(a->cache, f->ticket, f->path, &f->st, f->extents, f->count) < 0)
		set_error(a, KURA_ENOMEM);
}

static void file_complete(archiver *a, file_state *f)
{
	kura_node *node = &f->dir->nodes[f->slot];
	uint64_t size = 0;

	cache_file_done(a, f);
	if (a->detect)
		kura_detect_file_end(a->detect, f->det, !f->failed);
	if (f->failed) {
		kura_node_clear(node);
		free(f->extents);
		count_unreadable(a);
	} else {
		for (uint32_t i = 0; i < f->count; i++)
			size += f->extents[i].len;
		node->extents = f->extents;
		node->nextents = f->count;
		node->size = size;
	}
	free(f->path);
	child_done(a, f->dir);
	free(f);
}

static void file_done_one(archiver *a, file_state *f)
{
	int zero;

	pthread_mutex_lock(&a->lock);
	zero = --f->pending == 0;
	pthread_mutex_unlock(&a->lock);
	if (zero)
		file_complete(a, f);
}

static void chunk_worker(void *job_ptr, void *ctx)
{
	chunk_job *job = job_ptr;
	archiver *a = job->arch;
	uint8_t id[KURA_HASH_SIZE] = {0};
	size_t stored = 0;
	int err;

	if (!failed(a) && (err = kura_blobstore_add_sized(a->store, KURA_BLOB_DATA, job->data,
							  job->len, id, &stored)) < 0)
		set_error(a, err);
	if (a->detect)
		kura_detect_chunk(a->detect, job->file->det, job->index, job->data, job->len, stored);
	free(job->data);
	pthread_mutex_lock(&a->lock);
	memcpy(job->file->extents[job->index].id, id, KURA_HASH_SIZE);
	pthread_mutex_unlock(&a->lock);
	file_done_one(a, job->file);
	free(job);
}

/* ---------------------------------------------------------------------- */
/* Reading files                                                           */

static int add_extent(archiver *a, file_state *f, uint8_t kind, uint64_t len, uint32_t *out_index)
{
	int err = 0;

	pthread_mutex_lock(&a->lock);
	if (f->count == f->cap) {
		uint32_t cap = f->cap ? f->cap * 2 : 4;
		void *p = realloc(f->extents, cap * sizeof(*f->extents));

		if (!p) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		f->extents = p;
		f->cap = cap;
	}
	memset(&f->extents[f->count], 0, sizeof(*f->extents));
	f->extents[f->count].kind = kind;
	f->extents[f->count].len = len;
	*out_index = f->count++;
	if (kind == KURA_EXTENT_CHUNK)
		f->pending++;
done:
	pthread_mutex_unlock(&a->lock);
	return err;
}

static int emit_chunk(archiver *a, file_state *f, const uint8_t *data, size_t len)
{
	chunk_job *job = malloc(sizeof(*job));
	uint32_t index;
	int err;

	if (!job || !(job->data = malloc(len ? len : 1))) {
		free(job);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	memcpy(job->data, data, len);
	if ((err = add_extent(a, f, KURA_EXTENT_CHUNK, len, &index)) < 0) {
		free(job->data);
		free(job);
		return err;
	}
	job->arch = a;
	job->file = f;
	job->index = index;
	job->len = len;
	a->result.bytes_read += len;
	return kura_pool_add(a->pool, chunk_worker, job, a);
}

/*
 * Chunk the bytes of fd from `offset` to `end` (UINT64_MAX: to EOF).
 * `stream` fds (stdin) are read with read(), others with pread().
 * Returns the offset reached; a read error marks the file unreadable.
 */
static int chunk_region(archiver *a, file_state *f, int fd, int stream, uint64_t offset,
			uint64_t end, uint64_t *out_reached)
{
	uint32_t max = a->repo->config.chunker.max;
	size_t avail = 0;
	int eof = 0, err;

	while (!eof || avail > 0) {
		size_t pos = 0;

		while (!eof && avail < a->buf_cap) {
			size_t want = a->buf_cap - avail;
			ssize_t n;

			if (end != UINT64_MAX && want > end - offset)
				want = (size_t)(end - offset);
			if (want == 0) {
				eof = 1;
				break;
			}
			n = stream ? read(fd, a->buf + avail, want)
				   : pread(fd, a->buf + avail, want, (off_t)offset);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return kura_error_errno(KURA_EIO, errno, "read at offset %llu",
							(unsigned long long)offset);
			if (n == 0)
				eof = 1;
			avail += (size_t)n;
			offset += (uint64_t)n;
			if (avail >= max)
				break;
		}
		while (pos < avail) {
			size_t c = kura_chunker_next(a->chunker, a->buf + pos, avail - pos, eof);

			if (c == 0)
				break;
			if ((err = emit_chunk(a, f, a->buf + pos, c)) < 0)
				return err;
			pos += c;
			if (failed(a))
				return take_failure(a);
		}
		memmove(a->buf, a->buf + pos, avail - pos);
		avail -= pos;
		progress(a, 0);
	}
	*out_reached = offset;
	return 0;
}

/*
 * Read a file up to `size`, its size when the walk reached it (a stream:
 * to its end), skipping holes that the filesystem reports.  A file that
 * grows meanwhile is read only that far; one that shrinks, to its new end.
 */
static int read_file(archiver *a, file_state *f, int fd, int stream, uint64_t size)
{
	uint64_t pos = 0, reached;
	uint32_t index;
	int sparse = !stream && (uint64_t)f->st.st_blocks * 512 < size, err;

	if (!sparse)
		return chunk_region(a, f, fd, stream, 0, stream ? UINT64_MAX : size, &reached);
	while (pos < size) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break; /* only a hole remains */
		if (data < 0)
			return kura_error_errno(KURA_EIO, errno, "seek");
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return kura_error_errno(KURA_EIO, errno, "seek");
		if ((uint64_t)data > pos &&
		    (err = add_extent(a, f, KURA_EXTENT_HOLE, (uint64_t)data - pos, &index)) < 0)
			return err;
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		if ((err = chunk_region(a, f, fd, 0, (uint64_t)data, (uint64_t)hole, &reached)) < 0)
			return err;
		if (reached < (uint64_t)hole)
			return 0; /* it shrank while read: stored up to its new end */
		pos = reached;
	}
	if (pos < size && (err = add_extent(a, f, KURA_EXTENT_HOLE, size - pos, &index)) < 0)
		return err;
	return 0;
}

/*
 * Use the cached extents if every chunk is still in the repository.  A hit
 * (1) or an error uses up `ticket`; a miss (0) leaves it to the caller.
 */
static int try_cache(archiver *a, kura_node *node, const char *path, const struct stat *st,
		     uint64_t ticket, int *out_known)
{
	const kura_extent *ext;
	uint32_t count;

	*out_known = 0;
	if (!a->cache || kura_filecache_lookup(a->cache, path, st, &ext, &count, out_known) != 1)
		return 0;
	for (uint32_t i = 0; i < count; i++)
		if (ext[i].kind == KURA_EXTENT_CHUNK && kura_blobstore_use(a->store, ext[i].id) < 0)
			return 0;
	if (count) {
		if (!(node->extents = malloc(count * sizeof(*ext)))) {
			kura_filecache_skip(a->cache, ticket);
			return kura_error_set(KURA_ENOMEM, "out of memory");
		}
		memcpy(node->extents, ext, count * sizeof(*ext));
	}
	node->nextents = count;
	if (kura_filecache_record(a->cache, ticket, path, st, ext, count) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	return 1;
}

static void cache_skip(archiver *a, uint64_t ticket)
{
	if (a->cache)
		kura_filecache_skip(a->cache, ticket);
}

/* "/dir/name" in the snapshot: the names of the directories above, up to its root. */
static char *snapshot_path(const dir_state *dir, const char *name)
{
	size_t len = strlen(name) + 1, n;
	char *out, *p;

	for (const dir_state *d = dir; d->parent; d = d->parent)
		len += strlen(d->parent->nodes[d->slot].name) + 1;
	if (!(out = malloc(len + 1)))
		return NULL;
	p = out + len;
	*p = '\0';
	n = strlen(name);
	memcpy(p -= n, name, n);
	*--p = '/';
	for (const dir_state *d = dir; d->parent; d = d->parent) {
		const char *dn = d->parent->nodes[d->slot].name;

		n = strlen(dn);
		memcpy(p -= n, dn, n);
		*--p = '/';
	}
	return out;
}

/* Remember a changed file for the snapshot's list, as long as the list stays small. */
static void list_changed(archiver *a, const file_state *f)
{
	char *raw = snapshot_path(f->dir, f->dir->nodes[f->slot].name);
	char *clean = raw ? kura_utf8_sanitize(raw) : NULL;

	free(raw);
	/* out of memory or over the limits: warned and counted, only not listed */
	if (!clean || a->nchanged >= KURA_SNAPSHOT_MAX_CHANGED ||
	    a->changed_bytes + strlen(clean) > KURA_SNAPSHOT_CHANGED_BYTES ||
	    KURA_ARRAY_GROW(a->changed, a->changed_cap, a->nchanged + 1) < 0) {
		free(clean);
		return;
	}
	a->changed_bytes += strlen(clean);
	a->changed[a->nchanged++] = clean;
}

/*
 * After reading a file: if its size or ctime is no longer what the walk
 * saw, what was stored may mix old and new content.  It is kept as read
 * (a backup that skipped every busy file would miss exactly the files in
 * use), warned about, counted, and listed in the snapshot.
 */
static void check_changed(archiver *a, file_state *f, int fd, const char *path)
{
	struct stat now;
	uint64_t stored = 0;
	char msg[256];

	if (fstat(fd, &now) < 0 ||
	    (now.st_size == f->st.st_size && now.st_ctim.tv_sec == f->st.st_ctim.tv_sec &&
	     now.st_ctim.tv_nsec == f->st.st_ctim.tv_nsec))
		return;
	f->changed = 1;
	pthread_mutex_lock(&a->lock);
	for (uint32_t i = 0; i < f->count; i++)
		stored += f->extents[i].len;
	a->result.files_changed_during_read++;
	pthread_mutex_unlock(&a->lock);
	if (now.st_size != f->st.st_size)
		snprintf(msg, sizeof(msg),
			 "changed while it was read (size %llu -> %llu bytes): stored as read, "
			 "%llu bytes, possibly inconsistent",
			 (unsigned long long)f->st.st_size, (unsigned long long)now.st_size,
			 (unsigned long long)stored);
	else
		snprintf(msg, sizeof(msg),
			 "changed while it was read (%s): stored as read, possibly inconsistent",
			 now.st_mtim.tv_sec != f->st.st_mtim.tv_sec ||
				 now.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec
			     ? "written to, same size"
			     : "its ctime moved: metadata, or content with the mtime put back");
	warn(a, path, msg);
	list_changed(a, f);
}

/* Read and store a file; `ticket` (its place in the new cache) is used up. */
static int process_file(archiver *a, dir_state *dir, size_t slot, int fd, int stream,
			const char *path, const struct stat *st, uint64_t ticket)
{
	file_state *f = calloc(1, sizeof(*f));
	int err;

	if (!f || !(f->path = strdup(path))) {
		free(f);
		cache_skip(a, ticket);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	f->ticket = ticket;
	f->dir = dir;
	f->slot = slot;
	f->st = *st;
	f->pending = 1;
	if (a->detect)
		f->det = kura_detect_file_begin(a->detect, path, (uint64_t)st->st_size);
	child_started(a, dir);
	a->current = path;
	/* at most the size the walk saw just before opening it: a growing file ends there */
	if ((err = read_file(a, f, fd, stream, (uint64_t)st->st_size)) == 0 && !stream)
		check_changed(a, f, fd, path);
	if (err < 0) {
		if (failed(a))
			err = take_failure(a);
		else {
			warn(a, path, kura_error_message());
			f->failed = 1;
			err = 0;
		}
	}
	/* stdin has no size until it is read */
	a->result.bytes_total += stream ? a->result.bytes_read : (uint64_t)st->st_size;
	a->current = NULL; /* `path` belongs to the caller */
	file_done_one(a, f);
	return err;
}

/* ---------------------------------------------------------------------- */
/* Walking                                                                 */

/* A directory that process_entry found: walked next (dirstack.h), from its open fd. */
typedef struct {
	dir_state *dir;
	int fd;
	dev_t dev;
	ino_t ino;
} walk_sub;

/* A bijection of 64-bit values (splitmix64's finaliser: xor-shifts and odd multipliers). */
static uint64_t mix_ino(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* Hard links: the second and later names of a file point to the first. */
static int note_hardlink(archiver *a, kura_node *node, const struct stat *st, const char *path)
{
	kura_blob_loc key = {0}, found;
	int err;

	/*
	 * The map wants uniform leading bytes and st_dev is the same for most
	 * files, so the key leads with a bijective mix of st_ino: still one key
	 * per (dev, ino), never a collision.
	 */
	kura_le64(key.id, mix_ino((uint64_t)st->st_ino));
	kura_le64(key.id + 8, (uint64_t)st->st_dev);
	if (kura_idmap_get(&found, a->hardlinks, key.id)) {
		node->type = KURA_NODE_HARDLINK;
		if (!(node->target = strdup(a->link_paths[found.pack])))
			return kura_error_set(KURA_ENOMEM, "out of memory");
		return 0;
	}
	/* A first name too long to be a link target: its other names are stored as copies. */
	if (strlen(path + 1) > KURA_TARGET_MAX)
		return 0;
	if ((err = KURA_ARRAY_GROW(a->link_paths, a->links_cap, a->nlinks + 1)) < 0)
		return err;
	/* targets are relative to the snapshot root */
	if (!(a->link_paths[a->nlinks] = strdup(path + 1)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	key.pack = (uint32_t)a->nlinks++;
	if ((err = kura_idmap_put(a->hardlinks, &key)) < 0)
		return err;
	return 0;
}

static int open_nofollow(int dirfd, const char *name, int flags)
{
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);

	/* O_NOATIME is refused for files we do not own unless we are root */
	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/*
 * Fill dir->nodes[slot] for `name` in dirfd; `path` is its absolute path,
 * `depth` that of dir's tree.  A directory to walk is returned in *sub
 * (sub->dir not NULL) with its fd open; the caller walks it.
 */
static int process_entry(archiver *a, dir_state *dir, size_t slot, int dirfd, const char *name,
			 const char *path, unsigned depth, walk_sub *sub)
{
	kura_node *node = &dir->nodes[slot];
	struct stat st;
	uint64_t ticket;
	int err = 0, fd, known;

	sub->dir = NULL;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		kura_error_errno(KURA_EIO, errno, "stat");
		goto unreadable;
	}
	if ((err = kura_fsmeta_capture(node, dirfd, name, &st)) < 0) {
		if (err == KURA_ENOMEM)
			return err;
		goto unreadable;
	}
	if (!(node->name = strdup(name)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	switch (node->type) {
	case KURA_NODE_DIR:
		if (depth + 1 > KURA_TREE_MAX_DEPTH) {
			/* Readers refuse deeper trees: storing it would make the snapshot damaged. */
			kura_error_set(KURA_EINVAL, "directories nested deeper than %d levels are "
				       "not backed up", KURA_TREE_MAX_DEPTH);
			goto unreadable;
		}
		if ((fd = open_nofollow(dirfd, name, O_RDONLY | O_DIRECTORY)) < 0) {
			kura_error_errno(KURA_EIO, errno, "open directory");
			goto unreadable;
		}
		if (!(sub->dir = calloc(1, sizeof(*sub->dir)))) {
			close(fd);
			return kura_error_set(KURA_ENOMEM, "out of memory");
		}
		sub->dir->parent = dir;
		sub->dir->slot = slot;
		sub->fd = fd;
		sub->dev = st.st_dev;
		sub->ino = st.st_ino;
		child_started(a, dir);
		a->result.dirs++;
		return 0;
	case KURA_NODE_FILE:
		if (st.st_nlink > 1 && (err = note_hardlink(a, node, &st, path)) < 0)
			return err;
		/* walk order: the cache's lookups and records follow it */
		ticket = a->cache ? kura_filecache_reserve(a->cache) : 0;
		if ((err = try_cache(a, node, path, &st, ticket, &known)) < 0)
			return err;
		if (err == 1) {
			if (a->detect)
				kura_detect_unchanged(a->detect, path);
			a->result.files_unmodified++;
			a->result.bytes_total += (uint64_t)st.st_size;
			return 0;
		}
		if ((fd = open_nofollow(dirfd, name, O_RDONLY | O_NOCTTY)) < 0) {
			kura_error_errno(KURA_EIO, errno, "open");
			cache_skip(a, ticket);
			goto unreadable;
		}
		if (known)
			a->result.files_changed++;
		else
			a->result.files_new++;
		err = process_file(a, dir, slot, fd, 0, path, &st, ticket);
		close(fd);
		return err;
	default:
		a->result.others++;
		return 0;
	}
unreadable:
	warn(a, path, kura_error_message());
	kura_node_clear(node);
	count_unreadable(a);
	return 0;
}

static char *join_path(const char *dir, const char *name)
{
	char *out;

	if (asprintf(&out, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name) < 0)
		return NULL;
	return out;
}

/*
 * Enter the directory `s` (takes its fd, and `path`) and make room for its
 * nodes.  If it cannot be entered, its tree completes empty.
 */
static int enter_dir(archiver *a, kura_dirstack *st, const walk_sub *s, char *path,
		     unsigned depth)
{
	size_t n = st->n;
	int err;

	s->dir->pending = 1; /* the walk's token, given back when it leaves */
	err = kura_dirstack_push(st, s->fd, s->dev, s->ino, path, depth, s->dir);
	if (st->n == n) {
		child_done(a, s->dir);
		return err;
	}
	if (err == KURA_EIO) {
		warn(a, st->v[n].path, kura_error_message());
		count_unreadable(a);
		return 0;
	}
	if (err == 0 && st->v[n].n && !(s->dir->nodes = calloc(st->v[n].n, sizeof(kura_node))))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	if (err == 0)
		s->dir->count = st->v[n].n;
	return err;
}

/*
 * Walk the directory `s` (its tree at `depth`, absolute path `path`) and
 * everything below it: names in byte order, each directory entered where
 * its name comes (the file cache depends on this order), with an explicit
 * stack (dirstack.h): no recursion, a bounded number of fds.  Takes s->fd.
 */
static int walk_dirs(archiver *a, const walk_sub *s, const char *path, unsigned depth)
{
	kura_dirstack st = {0};
	char *copy = strdup(path);
	int err;

	if (!copy) {
		close(s->fd);
		s->dir->pending = 1;
		child_done(a, s->dir);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	err = enter_dir(a, &st, s, copy, depth);
	while (st.n > 0) {
		kura_dirframe *t = &st.v[st.n - 1];
		walk_sub sub = {NULL, -1, 0, 0};
		char *child;
		size_t i;

		if (err || t->next == t->n) {
			child_done(a, kura_dirstack_pop(&st));
			continue;
		}
		if (kura_dirstack_ready(&st) < 0) {
			warn(a, t->path, kura_error_message());
			count_unreadable(a);
			continue;
		}
		i = t->next++;
		if (!(child = join_path(t->path, t->names[i]))) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			continue;
		}
		if (!excluded(a, child, t->names[i]))
			err = process_entry(a, t->user, i, t->fd, t->names[i], child, t->depth, &sub);
		if (!err && sub.dir) {
			err = enter_dir(a, &st, &sub, child, t->depth + 1);
			child = NULL;
		}
		free(child);
		if (!err)
			err = take_failure(a);
		progress(a, 0);
	}
	kura_dirstack_free(&st);
	return err;
}

/*
 * The nodes above and at the paths given on the command line (their
 * trees at `depth`).  Recursion here is bounded by the paths given, not by
 * the data: a path of PATH_MAX bytes has at most 2048 components.
 */
static int walk_vdir(archiver *a, dir_state *dir, const kura_walkpath *vdir, unsigned depth)
{
	int err = 0;

	dir->pending = 1;
	if (vdir->nchildren && !(dir->nodes = calloc(vdir->nchildren, sizeof(*dir->nodes)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	dir->count = vdir->nchildren;
	for (size_t i = 0; i < vdir->nchildren && !err; i++) {
		const kura_walkpath *c = vdir->children[i];
		/* symlinks on the way are resolved: the name to open may differ from the node's */
		const char *base = strrchr(c->resolved, '/') + 1;
		size_t plen = (size_t)(base - c->resolved - 1);
		char *parent = strndup(c->resolved, plen ? plen : 1); /* "/" for /name */
		/* O_PATH: a parent we may search but not list (mode 0711) is fine */
		int pfd = parent ? open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		struct stat st;

		if (pfd < 0) {
			err = parent ? kura_error_errno(KURA_ENOTFOUND, errno, "%s", parent)
				     : kura_error_set(KURA_ENOMEM, "out of memory");
			free(parent);
			break;
		}
		free(parent);
		if (c->leaf) {
			walk_sub s;

			err = process_entry(a, dir, i, pfd, base, c->real, depth, &s);
			if (!err && s.dir)
				err = walk_dirs(a, &s, c->real, depth + 1);
		} else if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
			err = kura_error_set(KURA_ENOTFOUND, "%s is not a directory", c->real);
		} else if ((err = kura_fsmeta_capture(&dir->nodes[i], pfd, base, &st)) == 0) {
			dir_state *sub = calloc(1, sizeof(*sub));

			if (!(dir->nodes[i].name = strdup(c->name)) || !sub) {
				free(sub);
				err = kura_error_set(KURA_ENOMEM, "out of memory");
			} else {
				sub->parent = dir;
				sub->slot = i;
				child_started(a, dir);
				err = walk_vdir(a, sub, c, depth + 1);
			}
		}
		close(pfd);
		if (!err)
			err = take_failure(a);
	}
done:
	child_done(a, dir);
	return err;
}

static int backup_stdin(archiver *a, dir_state *root)
{
	const kura_backup_options *o = a->opts;
	kura_node *node;
	struct stat st = {0};
	struct timespec now;
	int err;

	if (kura_tree_name_ok(o->stdin_filename, strlen(o->stdin_filename)) < 0)
		return kura_error_set(KURA_EINVAL, "--stdin-filename '%s' is not a valid file name",
				      o->stdin_filename);
	root->pending = 1;
	if (!(root->nodes = calloc(1, sizeof(*root->nodes))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	root->count = 1;
	node = &root->nodes[0];
	clock_gettime(CLOCK_REALTIME, &now);
	node->type = KURA_NODE_FILE;
	node->mode = 0600;
	node->uid = (uint32_t)getuid();
	node->gid = (uint32_t)getgid();
	node->user = strdup(kura_fsmeta_user_name(node->uid));
	node->group = strdup(kura_fsmeta_group_name(node->gid));
	node->mtime_sec = now.tv_sec;
	node->mtime_nsec = (uint32_t)now.tv_nsec;
	node->name = strdup(o->stdin_filename);
	if (!node->user || !node->group || !node->name)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	a->result.files_new++;
	err = process_file(a, root, 0, o->stdin_fd, 1, o->stdin_filename, &st, 0); /* no cache */
	child_done(a, root);
	return err;
}

/* ---------------------------------------------------------------------- */
/* Scanner: counts what is to be backed up, for the progress ETA.          */

typedef struct {
	archiver *arch;
	kura_walkpath *paths;
	pthread_t thread;
} scanner;

/*
 * Count what is below the directory `path`.  Only an estimate, so it may
 * open directories by path (one at a time; beyond PATH_MAX it stops
 * counting): an explicit stack of paths, no recursion, one fd.
 */
static void scan_tree(archiver *a, const char *path)
{
	char **todo = NULL, *dir;
	size_t n = 0, cap = 0;

	if (KURA_ARRAY_GROW(todo, cap, 1) < 0 || !(todo[0] = strdup(path))) {
		free(todo);
		return;
	}
	for (n = 1; n > 0 && !atomic_load(&a->scan_stop); free(dir)) {
		int fd = open((dir = todo[--n]), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct dirent *de;
		DIR *d;

		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((de = readdir(d)) && !atomic_load(&a->scan_stop)) {
			struct stat st;
			char *child;

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (!(child = join_path(dir, de->d_name)))
				break;
			if (!excluded(a, child, de->d_name) &&
			    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				if (S_ISREG(st.st_mode)) {
					atomic_fetch_add(&a->scan_files, 1);
					atomic_fetch_add(&a->scan_bytes, (uint64_t)st.st_size);
				} else if (S_ISDIR(st.st_mode) && KURA_ARRAY_GROW(todo, cap, n + 1) == 0) {
					todo[n++] = child;
					child = NULL;
				}
			}
			free(child);
		}
		closedir(d);
	}
	while (n > 0)
		free(todo[--n]);
	free(todo);
}

static void scan_vdir(archiver *a, const kura_walkpath *v)
{
	for (size_t i = 0; i < v->nchildren && !atomic_load(&a->scan_stop); i++) {
		const kura_walkpath *c = v->children[i];
		struct stat st;

		if (!c->leaf) {
			scan_vdir(a, c);
		} else if (lstat(c->resolved, &st) == 0) {
			if (S_ISREG(st.st_mode)) {
				atomic_fetch_add(&a->scan_files, 1);
				atomic_fetch_add(&a->scan_bytes, (uint64_t)st.st_size);
			} else if (S_ISDIR(st.st_mode)) {
				scan_tree(a, c->resolved);
			}
		}
	}
}

static void *scanner_main(void *arg)
{
	scanner *s = arg;

	scan_vdir(s->arch, s->paths);
	return NULL;
}

/* ---------------------------------------------------------------------- */

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

static void text_list_free(char **list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int write_snapshot(archiver *a, const kura_walkpath *paths)
{
	const kura_backup_options *o = a->opts;
	kura_snapshot snap = {0};
	struct timespec now;
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
	clock_gettime(CLOCK_REALTIME, &now);
	snap.time_ns = o->time_ns ? o->time_ns : (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
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
	snap.summary = a->report.summary;
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
	text_list_free(snap.paths, snap.npaths);
	text_list_free(snap.tags, snap.ntags);
	text_list_free(snap.excludes, snap.nexcludes);
	return err;
}

/*
 * The detector, with the history of this source (host and paths) from the
 * client's cache.  Detection that cannot start warns and the backup goes
 * on: the backup itself matters more.
 */
static void open_detection(archiver *a, const kura_walkpath *paths)
{
	const kura_backup_options *o = a->opts;
	char host[256] = "", *dir = o->cache_dir ? strdup(o->cache_dir) : kura_filecache_default_dir();
	kura_buf src = KURA_BUF_INIT;
	kura_detect_config cfg = {0};

	if (o->hostname)
		snprintf(host, sizeof(host), "%s", o->hostname);
	else
		gethostname(host, sizeof(host) - 1);
	kura_buf_put(&src, host, strlen(host));
	if (o->stdin_filename) {
		kura_buf_put(&src, "\n-\n", 3);
		kura_buf_put(&src, o->stdin_filename, strlen(o->stdin_filename));
	}
	for (size_t i = 0; paths && i < paths->ngiven; i++) {
		kura_buf_put(&src, "\n", 1);
		kura_buf_put(&src, paths->given[i], strlen(paths->given[i]));
	}
	if (kura_buf_put(&src, "", 1) == 0) {
		cfg.cache_dir = dir;
		cfg.repo_id_hex = a->repo->id_hex;
		cfg.source = (const char *)src.data;
		if (kura_detect_open(&a->detect, &cfg) < 0) {
			warn(a, "(detection)", kura_error_message());
			a->detect = NULL;
		}
	}
	kura_buf_free(&src);
	free(dir);
}

/*
 * A backup waits this long for a prune that holds the repository: pruning
 * is short (it reads snapshot headers and removes files), and a nightly
 * backup is better late than missing.
 */
#define PRUNE_WAIT_MS (60 * 60 * 1000)

/* Hold the repository shared for the whole backup, where the backend has a lock. */
static int lock_repository(archiver *a, kura_backend_lock **out)
{
	kura_backend *b = a->repo->backend;
	int err;

	if (!b->lock)
		return 0;
	if ((err = b->lock(b, KURA_LOCK_SHARED, 0, out)) != KURA_EBUSY)
		return err;
	warn(a, "(repository)", "a prune holds the repository; waiting up to an hour for it");
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
	int threads = opts->threads > 0 ? opts->threads : kura_cpu_count(), err, scanning = 0;

	memset(out, 0, sizeof(*out));
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
	if (!opts->stdin_filename &&
	    kura_filecache_open(&a.cache, opts->cache_dir, repo->id_hex) < 0) {
		warn(&a, "(cache)", kura_error_message()); /* the cache only saves time */
		a.cache = NULL;
	}
	if (!opts->no_detect)
		open_detection(&a, paths);
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
		scanning = pthread_create(&scan.thread, NULL, scanner_main, &scan) == 0;
	}
	if (opts->stdin_filename)
		err = backup_stdin(&a, root);
	else if (paths->leaf) {
		int fd = open(paths->real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0) {
			err = kura_error_errno(KURA_ENOTFOUND, errno, "%s", paths->real);
			root->pending = 1;
			child_done(&a, root);
		} else {
			walk_sub s = {root, fd, 0, 0};

			err = walk_dirs(&a, &s, paths->real, 0);
		}
	} else
		err = walk_vdir(&a, root, paths, 0);
	root = NULL; /* freed by its completion */
	kura_pool_wait(a.pool);
	if (!err)
		err = take_failure(&a);
	if (err < 0)
		goto done;
	if (!a.root_done) {
		err = kura_error_set(KURA_ERROR, "internal error: the root tree did not complete");
		goto done;
	}
	if (a.detect && kura_detect_finish(a.detect, &a.report) < 0) {
		warn(&a, "(detection)", kura_error_message()); /* judged nothing: say so, save */
		kura_detect_free(a.detect);
		a.detect = NULL;
	}
	if ((err = kura_blobstore_flush(a.store)) < 0 || (err = write_snapshot(&a, paths)) < 0)
		goto done;
	if (a.cache && kura_filecache_commit(a.cache) < 0)
		warn(&a, "(cache)", kura_error_message());
	if (a.detect && kura_detect_commit(a.detect) < 0)
		warn(&a, "(detection history)", kura_error_message());
	if (a.detect) {
		a.result.detection = (int)a.report.verdict;
		a.result.detection_score = a.report.score;
		a.result.detection_record = a.report.record;
		a.report.record = NULL;
	}
	kura_blobstore_stats_get(a.store, &stats);
	a.result.blobs_new = stats.blobs_new;
	a.result.bytes_new_raw = stats.bytes_new_raw;
	a.result.bytes_new_stored = stats.bytes_new_stored;
	a.result.seconds = seconds_since(&a.start);
	progress(&a, 1);
	*out = a.result;
done:
	atomic_store(&a.scan_stop, 1);
	if (scanning)
		pthread_join(scan.thread, NULL);
	kura_pool_free(a.pool);
	free(root);
	free(a.buf);
	kura_filecache_free(a.cache);
	kura_detect_free(a.detect);
	free(a.report.record);
	free(a.report.summary);
	kura_blobstore_free(a.store);
	kura_chunker_free(a.chunker);
	kura_idmap_free(a.hardlinks);
	for (size_t i = 0; i < a.nlinks; i++)
		free(a.link_paths[i]);
	free(a.link_paths);
	text_list_free(a.changed, a.nchanged);
	kura_walkpaths_free(paths);
	if (lock)
		repo->backend->unlock(repo->backend, lock);
	pthread_mutex_destroy(&a.lock);
	return err;
}

void kura_backup_result_clear(kura_backup_result *r)
{
	if (!r)
		return;
	free(r->detection_record);
	r->detection_record = NULL;
}
