/* SPDX-License-Identifier: Apache-2.0 */
/*
 * archfile.c - the backup's file reader and chunk pipeline: read a file
 * once (skipping the holes the filesystem reports), cut it into chunks
 * and hand each chunk to a pool worker that stores it (blobstore.c); a
 * file whose cached extents are all still stored is not read at all.
 *
 * A file counts its outstanding chunk jobs plus one while it is read;
 * whoever brings the count to zero closes its place in the new file
 * cache, fills its node and counts its directory down (archtree.c).  A
 * file that changed while it was read is kept as read, warned about and
 * listed in the snapshot.  The pool's bounded queue is the back-pressure:
 * kura_pool_add blocks while the workers are behind.
 *
 * Each file is cut with the large or the small chunking parameter set
 * (chunkchoice.h), chosen before it is read; the set the next backup
 * should use is remembered in the file cache with its extents.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/array.h"
#include "common/error.h"
#include "common/pool.h"
#include "common/utf8.h"
#include "repo/archiver.h"
#include "repo/blobstore.h"
#include "repo/filecache.h"

/* One chunk on its way to a worker: it owns `data`. */
typedef struct {
	archiver *arch;
	file_state *file;
	uint32_t index;
	uint64_t offset;    /* in the file: detection judges blocks on the file's 4 KiB grid */
	uint8_t *data;
	size_t len;
} chunk_job;

/*
 * Close the file's place in the new cache: its extents and the set its
 * next backup is cut with, or nothing if it was not stored.
 */
static void cache_file_done(archiver *a, file_state *f)
{
	uint8_t next = f->chunking;

	if (!a->cache)
		return;
	/* scattered changes in a file cut large: cut it small from now on */
	if (next == KURA_CHUNKING_LARGE && a->chunker_small &&
	    kura_chunk_baseline_rewritten(f->baseline, &f->st, f->extents, f->count))
		next = KURA_CHUNKING_SMALL;
	/* a changed file is read again next time: its stat is not what was stored */
	if (f->failed || f->changed || kura_backup__failed(a))
		kura_filecache_skip(a->cache, f->ticket);
	else if (kura_filecache_record_chunked(a->cache, f->ticket, f->path, &f->st, f->extents,
					       f->count, next) < 0)
		kura_backup__set_error(a, KURA_ENOMEM);
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
		kura_backup__count_unreadable(a);
	} else {
		for (uint32_t i = 0; i < f->count; i++)
			size += f->extents[i].len;
		node->extents = f->extents;
		node->nextents = f->count;
		node->size = size;
	}
	free(f->path);
	kura_chunk_baseline_free(f->baseline);
	kura_basefile_close(f->bases);
	kura_backup__child_done(a, f->dir);
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
	kura_extent got = {0};
	kura_blockscan scan = {0};
	kura_comp_hint hint = {0};
	int scanned = a->detect && job->file->det;
	size_t stored = 0;
	int err;

	/*
	 * The detector's scan, made once while the chunk is in cache, also
	 * tells the compression choice which chunks are ciphertext-like.
	 */
	if (scanned) {
		kura_detect_scan(job->data, job->len, job->offset, &scan);
		hint.blocks = scan.blocks;
		hint.random = scan.random;
	}
	if (kura_backup__failed(a))
		err = 0;
	else if (job->file->bases)
		err = kura_backup__store_piece(a, job->file, job->offset, job->data, job->len,
					       scanned ? &hint : NULL, &got, &stored);
	else
		err = kura_blobstore_add_sized(a->store, KURA_BLOB_DATA, job->data, job->len,
					       scanned ? &hint : NULL, got.id, &stored);
	if (err < 0)
		kura_backup__set_error(a, err);
	/* the detector sees the chunk while it is in memory: no second pass */
	if (scanned)
		kura_detect_chunk_scanned(a->detect, job->file->det, job->offset, job->data,
					  job->len, stored, &scan);
	free(job->data);
	pthread_mutex_lock(&a->lock);
	memcpy(job->file->extents[job->index].id, got.id, KURA_HASH_SIZE);
	job->file->extents[job->index].has_ref = got.has_ref;
	memcpy(job->file->extents[job->index].ref, got.ref, KURA_HASH_SIZE);
	pthread_mutex_unlock(&a->lock);
	file_done_one(a, job->file);
	free(job);
}

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
	f->emitted += len;
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
	uint64_t offset = f->emitted;
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
	job->offset = offset;
	job->len = len;
	a->result.bytes_read += len;
	return kura_pool_add(a->pool, chunk_worker, job, a);
}

/*
 * The length of the next chunk of `f` at the start of `len` bytes (0: more
 * are needed first): its content-defined set, or, for a file cut in pages,
 * up to the next multiple of KURA_CHUNK_PAGES_SIZE in the file (a region
 * after a hole may start off the grid).
 */
static size_t next_cut(const file_state *f, const uint8_t *data, size_t len, int eof)
{
	size_t want;

	if (f->chunking != KURA_CHUNKING_PAGES)
		return kura_chunker_next(f->chunker, data, len, eof);
	want = KURA_CHUNK_PAGES_SIZE - (size_t)(f->emitted % KURA_CHUNK_PAGES_SIZE);
	if (len >= want)
		return want;
	return eof ? len : 0;
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
			size_t c = next_cut(f, a->buf + pos, avail - pos, eof);

			if (c == 0)
				break;
			if ((err = emit_chunk(a, f, a->buf + pos, c)) < 0)
				return err;
			pos += c;
			if (kura_backup__failed(a))
				return kura_backup__take_failure(a);
		}
		memmove(a->buf, a->buf + pos, avail - pos);
		avail -= pos;
		kura_backup__progress(a, 0);
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
int kura_backup__try_cache(archiver *a, kura_node *node, const char *path, const struct stat *st,
			   uint64_t ticket, int *out_known, kura_filecache_prev *out_prev)
{
	const kura_extent *ext;
	uint32_t count;
	int hit;

	*out_known = 0;
	memset(out_prev, 0, sizeof(*out_prev));
	if (!a->cache)
		return 0;
	hit = kura_filecache_lookup(a->cache, path, st, &ext, &count, out_known) == 1;
	if (*out_known)
		kura_filecache_previous(a->cache, out_prev);
	if (!hit)
		return 0;
	/* a chunk stored against another needs that one kept too */
	for (uint32_t i = 0; i < count; i++)
		if (ext[i].kind == KURA_EXTENT_CHUNK &&
		    kura_blobstore_use_ref(a->store, ext[i].id, ext[i].has_ref ? ext[i].ref : NULL) <
			0)
			return 0;
	if (count) {
		if (!(node->extents = malloc(count * sizeof(*ext)))) {
			kura_filecache_skip(a->cache, ticket);
			return kura_error_set(KURA_ENOMEM, "out of memory");
		}
		memcpy(node->extents, ext, count * sizeof(*ext));
	}
	node->nextents = count;
	if (kura_filecache_record_chunked(a->cache, ticket, path, st, ext, count,
					  out_prev->chunking) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	return 1;
}

void kura_backup__cache_skip(archiver *a, uint64_t ticket)
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
	kura_backup__warn(a, path, msg);
	list_changed(a, f);
}

/*
 * Choose the set `f` is cut with (chunkchoice.h): the head of the file is
 * read only when it is large enough to be cut small.  A file cut large
 * keeps its last backup's chunk ids to tell, once read, whether it was
 * rewritten in place.
 */
static int choose_chunking(archiver *a, file_state *f, int fd, int stream, const char *path,
			   const kura_filecache_prev *prev)
{
	uint8_t head[KURA_CHUNK_HEAD_BYTES];
	ssize_t n = 0;
	int big = (uint64_t)f->st.st_size >= a->small_min_size;

	f->chunker = a->chunker;
	f->chunking = KURA_CHUNKING_LARGE;
	if (!a->chunker_small)
		return 0;
	if (!stream && big && (n = pread(fd, head, sizeof(head), 0)) < 0)
		n = 0; /* unreadable here: reading it properly will say so */
	f->chunking = (uint8_t)kura_chunk_choose(path, &f->st, n > 0 ? head : NULL, (size_t)n, prev,
						 a->small_min_size);
	if (f->chunking == KURA_CHUNKING_SMALL) {
		f->chunker = a->chunker_small;
		return 0;
	}
	/* next_cut; and each piece stored against its base when it pays (archbase.c) */
	if (f->chunking == KURA_CHUNKING_PAGES) {
		if (a->bases && !stream && kura_basefile_open(&f->bases, a->bases, path) < 0)
			f->bases = NULL; /* they only save space */
		return 0;
	}
	if (!stream && big && prev && prev->chunking == KURA_CHUNKING_LARGE)
		return kura_chunk_baseline_new(&f->baseline, prev);
	return 0;
}

/* Read and store a file; `ticket` (its place in the new cache) is used up. */
int kura_backup__process_file(archiver *a, dir_state *dir, size_t slot, int fd, int stream,
			      const char *path, const struct stat *st, uint64_t ticket,
			      const kura_filecache_prev *prev)
{
	file_state *f = calloc(1, sizeof(*f));
	int err;

	if (!f || !(f->path = strdup(path))) {
		free(f);
		kura_backup__cache_skip(a, ticket);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	f->ticket = ticket;
	f->dir = dir;
	f->slot = slot;
	f->st = *st;
	f->pending = 1;
	if ((err = choose_chunking(a, f, fd, stream, path, prev)) < 0) {
		free(f->path);
		free(f);
		kura_backup__cache_skip(a, ticket);
		return err;
	}
	if (a->detect)
		f->det = kura_detect_file_begin(a->detect, path, (uint64_t)st->st_size);
	kura_backup__child_started(a, dir);
	a->current = path;
	/* at most the size the walk saw just before opening it: a growing file ends there */
	if ((err = read_file(a, f, fd, stream, (uint64_t)st->st_size)) == 0 && !stream)
		check_changed(a, f, fd, path);
	if (err < 0) {
		if (kura_backup__failed(a))
			err = kura_backup__take_failure(a);
		else {
			kura_backup__warn(a, path, kura_error_message());
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
