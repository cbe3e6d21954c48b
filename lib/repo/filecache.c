/* SPDX-License-Identifier: Apache-2.0 */
/*
 * filecache.c - the incremental-backup file cache (see filecache.h).
 *
 * Record format (private to this implementation, little-endian): the file
 * starts with the magic "KURAFC01"; then per file: u16 path length, path,
 * u64 dev, u64 ino, u64 size, i64 mtime ns, i64 ctime ns, u32 extent count,
 * extents as in trees (u8 kind, u64 length, 32-byte id for chunks).  The
 * old cache is read in 1 MiB windows (not slurped: at a million files it is
 * over 100 MB) into a hash table of path -> record, one allocation per
 * record; new records are appended to a temporary file that replaces the
 * old one on commit.
 */
#include "repo/filecache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"

#define CACHE_MAGIC "KURAFC01"
#define CACHE_MAX_BYTES (4ull << 30)
#define LOAD_WINDOW ((size_t)1 << 20)

/* One allocation: the entry, then its extents, then its path. */
typedef struct cache_entry {
	struct cache_entry *next;
	char *path;
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
	kura_extent *extents;
	uint32_t count;
	kura_extent tail[];
} cache_entry;

struct kura_filecache {
	char *dir;
	char *path;
	char *tmp_path;
	cache_entry **buckets;
	size_t nbuckets;
	FILE *out;
	pthread_mutex_t lock;
	int failed; /* a write to the new cache failed: do not commit it */
};

static uint64_t path_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a: a table index, not security */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static int64_t ns_of(struct timespec ts) { return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec; }

static int mkdir_p(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return kura_error_errno(KURA_EIO, errno, "cannot create cache directory %s", path);
		}
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return kura_error_errno(KURA_EIO, errno, "cannot create cache directory %s", path);
	return 0;
}

static char *default_dir(void)
{
	const char *env = getenv("KURA_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
		   *home = getenv("HOME");
	char *out = NULL;

	if (env && *env)
		return strdup(env);
	if (xdg && *xdg) {
		if (asprintf(&out, "%s/kura", xdg) < 0)
			return NULL;
		return out;
	}
	if (asprintf(&out, "%s/.cache/kura", home && *home ? home : "/tmp") < 0)
		return NULL;
	return out;
}

/*
 * Parse one record.  A failure means damage, or (when the window ends
 * inside the record) that more of the file is needed: the caller decides.
 */
static int read_entry(kura_reader *r, cache_entry **out)
{
	cache_entry h = {0}, *e;
	uint16_t plen;
	const uint8_t *p;
	int err;

	if ((err = kura_reader_u16(r, &plen, "path length")) < 0 ||
	    (err = kura_reader_view(r, &p, plen, "path")) < 0 ||
	    (err = kura_reader_u64(r, &h.dev, "dev")) < 0 ||
	    (err = kura_reader_u64(r, &h.ino, "ino")) < 0 ||
	    (err = kura_reader_u64(r, &h.size, "size")) < 0 ||
	    (err = kura_reader_u64(r, (uint64_t *)&h.mtime_ns, "mtime")) < 0 ||
	    (err = kura_reader_u64(r, (uint64_t *)&h.ctime_ns, "ctime")) < 0 ||
	    (err = kura_reader_u32(r, &h.count, "extent count")) < 0)
		return err;
	if (memchr(p, 0, plen) || h.count > kura_reader_left(r) / 9)
		return kura_error_set(KURA_ECORRUPT, "cache record damaged");
	if (!(e = malloc(sizeof(*e) + h.count * sizeof(kura_extent) + plen + 1)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	*e = h;
	e->extents = h.count ? e->tail : NULL;
	e->path = (char *)(e->tail + h.count);
	memcpy(e->path, p, plen);
	e->path[plen] = '\0';
	for (uint32_t i = 0; i < e->count; i++) {
		kura_extent *x = &e->extents[i];

		memset(x, 0, sizeof(*x));
		if ((err = kura_reader_u8(r, &x->kind, "extent kind")) < 0 ||
		    (err = kura_reader_u64(r, &x->len, "extent length")) < 0)
			break;
		if (x->kind == KURA_EXTENT_CHUNK) {
			if ((err = kura_reader_bytes(r, x->id, KURA_HASH_SIZE, "extent id")) < 0)
				break;
		} else if (x->kind != KURA_EXTENT_HOLE) {
			err = kura_error_set(KURA_ECORRUPT, "cache record damaged");
			break;
		}
	}
	if (err < 0) {
		free(e);
		return err;
	}
	*out = e;
	return 0;
}

/* Fill buf[*len..cap) from fd; *eof at the end of the file.  -1 on a read error. */
static int fill(int fd, uint8_t *buf, size_t cap, size_t *len, bool *eof)
{
	while (!*eof && *len < cap) {
		ssize_t n = read(fd, buf + *len, cap - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			*eof = true;
		*len += (size_t)n;
	}
	return 0;
}

/*
 * Load the old cache.  Records that parse are kept; at the first damaged
 * one loading stops (a record that does not fit the window grows it, so
 * only damage or the end of the file stops it).
 */
static void load_old(kura_filecache *c)
{
	uint8_t *buf = NULL, magic[8];
	size_t cap = LOAD_WINDOW, len = 0;
	bool eof = false;
	struct stat st;
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > CACHE_MAX_BYTES || st.st_size < 8 ||
	    read(fd, magic, 8) != 8 || memcmp(magic, CACHE_MAGIC, 8) != 0 ||
	    !(buf = malloc(cap)))
		goto done;
	c->nbuckets = 1;
	while (c->nbuckets < (size_t)st.st_size / 64)
		c->nbuckets *= 2;
	if (!(c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))))
		goto done;
	for (;;) {
		size_t used = 0;

		if (fill(fd, buf, cap, &len, &eof) < 0)
			break;
		while (used < len) {
			kura_reader r;
			cache_entry *e = NULL;
			size_t b;

			kura_reader_init(&r, buf + used, len - used, "file cache");
			if (read_entry(&r, &e) < 0)
				break;
			used += r.pos;
			b = path_hash(e->path) & (c->nbuckets - 1);
			e->next = c->buckets[b];
			c->buckets[b] = e;
		}
		if (eof)
			break; /* all read, or the rest is damaged */
		if (used == 0) { /* one record larger than the window */
			uint8_t *bigger = cap < CACHE_MAX_BYTES ? realloc(buf, cap * 2) : NULL;

			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
			continue;
		}
		memmove(buf, buf + used, len - used);
		len -= used;
	}
	kura_error_clear();
done:
	free(buf);
	close(fd);
}

int kura_filecache_open(kura_filecache **out, const char *dir, const char *repo_id_hex)
{
	kura_filecache *c = calloc(1, sizeof(*c));
	int fd, err = 0;

	*out = NULL;
	if (!c)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	c->dir = dir ? strdup(dir) : default_dir();
	if (!c->dir) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (asprintf(&c->path, "%s/%s/files", c->dir, repo_id_hex) < 0 ||
	    asprintf(&c->tmp_path, "%s/%s/files.%d.tmp", c->dir, repo_id_hex, (int)getpid()) < 0) {
		c->path = c->tmp_path = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	{
		char *repo_dir = strdup(c->path);

		if (!repo_dir) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		*strrchr(repo_dir, '/') = '\0';
		err = mkdir_p(repo_dir);
		free(repo_dir);
		if (err < 0)
			goto done;
	}
	load_old(c);
	if ((fd = open(c->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    !(c->out = fdopen(fd, "wb"))) {
		err = kura_error_errno(KURA_EIO, errno, "cannot write cache file %s", c->tmp_path);
		goto done;
	}
	if (fwrite(CACHE_MAGIC, 1, 8, c->out) != 8)
		c->failed = 1;
done:
	if (err < 0)
		kura_filecache_free(c);
	else
		*out = c;
	return err;
}

int kura_filecache_lookup(kura_filecache *c, const char *path, const struct stat *st,
			  const kura_extent **out, uint32_t *out_count, int *out_known)
{
	cache_entry *e;

	*out_known = 0;
	if (!c->buckets)
		return 0;
	for (e = c->buckets[path_hash(path) & (c->nbuckets - 1)]; e; e = e->next)
		if (strcmp(e->path, path) == 0)
			break;
	if (!e)
		return 0;
	*out_known = 1;
	if (e->dev != (uint64_t)st->st_dev || e->ino != (uint64_t)st->st_ino ||
	    e->size != (uint64_t)st->st_size || e->mtime_ns != ns_of(st->st_mtim) ||
	    e->ctime_ns != ns_of(st->st_ctim))
		return 0;
	*out = e->extents;
	*out_count = e->count;
	return 1;
}

int kura_filecache_record(kura_filecache *c, const char *path, const struct stat *st,
			  const kura_extent *extents, uint32_t count)
{
	kura_buf b = KURA_BUF_INIT;
	size_t plen = strlen(path);
	int err = 0;

	if (plen > UINT16_MAX)
		return 0; /* not cacheable; the file is simply read next time */
	if ((err = kura_buf_put_u16(&b, (uint16_t)plen)) < 0 || (err = kura_buf_put(&b, path, plen)) < 0 ||
	    (err = kura_buf_put_u64(&b, (uint64_t)st->st_dev)) < 0 ||
	    (err = kura_buf_put_u64(&b, (uint64_t)st->st_ino)) < 0 ||
	    (err = kura_buf_put_u64(&b, (uint64_t)st->st_size)) < 0 ||
	    (err = kura_buf_put_u64(&b, (uint64_t)ns_of(st->st_mtim))) < 0 ||
	    (err = kura_buf_put_u64(&b, (uint64_t)ns_of(st->st_ctim))) < 0 ||
	    (err = kura_buf_put_u32(&b, count)) < 0)
		goto done;
	for (uint32_t i = 0; i < count; i++) {
		if ((err = kura_buf_put_u8(&b, extents[i].kind)) < 0 ||
		    (err = kura_buf_put_u64(&b, extents[i].len)) < 0)
			goto done;
		if (extents[i].kind == KURA_EXTENT_CHUNK &&
		    (err = kura_buf_put(&b, extents[i].id, KURA_HASH_SIZE)) < 0)
			goto done;
	}
	pthread_mutex_lock(&c->lock);
	if (fwrite(b.data, 1, b.len, c->out) != b.len)
		c->failed = 1;
	pthread_mutex_unlock(&c->lock);
done:
	kura_buf_free(&b);
	return err;
}

int kura_filecache_commit(kura_filecache *c)
{
	int err = 0;

	if (fflush(c->out) != 0 || fsync(fileno(c->out)) < 0)
		c->failed = 1;
	fclose(c->out);
	c->out = NULL;
	if (c->failed) {
		unlink(c->tmp_path);
		return kura_error_set(KURA_EIO, "could not write the file cache %s", c->tmp_path);
	}
	if (rename(c->tmp_path, c->path) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "cannot replace %s", c->path);
		unlink(c->tmp_path);
	}
	return err;
}

void kura_filecache_free(kura_filecache *c)
{
	if (!c)
		return;
	if (c->out) {
		fclose(c->out);
		unlink(c->tmp_path);
	}
	for (size_t i = 0; c->buckets && i < c->nbuckets; i++) {
		cache_entry *e = c->buckets[i];

		while (e) {
			cache_entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(c->buckets);
	free(c->dir);
	free(c->path);
	free(c->tmp_path);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
