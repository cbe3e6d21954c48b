/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_spool.c - uploads spooled to local files, stored by the inner
 * backend's put() when complete (store_spool.h).
 *
 * Spool files are "up-XXXXXX" in the spool directory, mode 0600, removed
 * when their stream ends (committed or not); clean_tmp() removes those a
 * crash left behind.
 */
#include "store_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fdio.h"

typedef struct {
	kura_backend parent;
	kura_backend *inner;
	char *dir;
} spool_backend;

struct kura_backend_stream {
	spool_backend *sb;
	char *path;
	int fd;
	uint64_t len;
};

static int sp_put(kura_backend *b, kura_file_type type, const char *name, const void *data,
		  size_t len)
{
	kura_backend *in = ((spool_backend *)b)->inner;

	return in->put(in, type, name, data, len);
}

static int sp_get(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
		  size_t *out_len)
{
	kura_backend *in = ((spool_backend *)b)->inner;

	return in->get(in, type, name, out, out_len);
}

static int sp_get_range(kura_backend *b, kura_file_type type, const char *name, uint64_t offset,
			size_t len, uint8_t *buf)
{
	kura_backend *in = ((spool_backend *)b)->inner;
	int64_t ns;

	/* An object store answers an empty range without looking: ask for real. */
	if (len == 0)
		return in->mtime(in, type, name, &ns);
	return in->get_range(in, type, name, offset, len, buf);
}

static int sp_list(kura_backend *b, kura_file_type type, kura_backend_list_fn fn, void *ctx)
{
	kura_backend *in = ((spool_backend *)b)->inner;

	return in->list(in, type, fn, ctx);
}

static int sp_remove(kura_backend *b, kura_file_type type, const char *name)
{
	kura_backend *in = ((spool_backend *)b)->inner;

	return in->remove(in, type, name);
}

static int sp_mtime(kura_backend *b, kura_file_type type, const char *name, int64_t *out_ns)
{
	kura_backend *in = ((spool_backend *)b)->inner;

	return in->mtime(in, type, name, out_ns);
}

static void sp_free(kura_backend *b)
{
	spool_backend *sb = (spool_backend *)b;

	if (!sb)
		return;
	if (sb->inner)
		sb->inner->free(sb->inner);
	free(sb->dir);
	free(sb);
}

static int sp_stream_open(kura_backend *b, kura_backend_stream **out)
{
	spool_backend *sb = (spool_backend *)b;
	kura_backend_stream *s;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))) || asprintf(&s->path, "%s/up-XXXXXX", sb->dir) < 0) {
		free(s);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	s->sb = sb;
	if ((s->fd = mkostemp(s->path, O_CLOEXEC)) < 0) {
		int e = errno, err = kura_error_errno(kura_errno_code(e), e, "%s", s->path);

		free(s->path);
		free(s);
		errno = e; /* the handlers answer a full disk by errno */
		return err;
	}
	*out = s;
	return 0;
}

static int sp_stream_append(kura_backend_stream *s, const void *data, size_t len)
{
	if (kura_write_all(s->fd, data, len) < 0) {
		int e = errno,
		    err = kura_error_errno(kura_errno_code(e), e, "%s: cannot write", s->path);

		errno = e;
		return err;
	}
	s->len += len;
	return 0;
}

static int sp_stream_commit(kura_backend_stream *s, kura_file_type type, const char *name,
			    bool *out_existed)
{
	kura_backend *in = s->sb->inner;
	void *map = NULL;
	int64_t ns;
	int err;

	if (out_existed)
		*out_existed = false;
	if ((err = in->mtime(in, type, name, &ns)) == 0) {
		if (out_existed)
			*out_existed = true;
		return 0;
	}
	if (err != KURA_ENOTFOUND)
		return err;
	kura_error_clear();
	if (s->len > 0) {
		map = mmap(NULL, (size_t)s->len, PROT_READ, MAP_SHARED, s->fd, 0);
		if (map == MAP_FAILED)
			return kura_error_errno(KURA_EIO, errno, "%s: mmap", s->path);
	}
	err = in->put(in, type, name, map ? map : "", (size_t)s->len);
	if (map)
		munmap(map, (size_t)s->len);
	return err;
}

static void sp_stream_free(kura_backend_stream *s)
{
	if (!s)
		return;
	close(s->fd);
	unlink(s->path);
	free(s->path);
	free(s);
}

static int sp_stream_fd(kura_backend_stream *s)
{
	return s->fd;
}

/* Spool files a crash left behind, older than `older_than_s`. */
static int sp_clean_tmp(kura_backend *b, int64_t older_than_s, bool dry_run, uint64_t *out_files,
			uint64_t *out_bytes)
{
	spool_backend *sb = (spool_backend *)b;
	time_t now = time(NULL);
	struct dirent *de;
	struct stat st;
	DIR *d;

	*out_files = *out_bytes = 0;
	if (!(d = opendir(sb->dir)))
		return kura_error_errno(kura_errno_code(errno), errno, "%s", sb->dir);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "up-", 3) != 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || (int64_t)(now - st.st_mtime) < older_than_s)
			continue;
		if (!dry_run && unlinkat(dirfd(d), de->d_name, 0) < 0)
			continue;
		(*out_files)++;
		*out_bytes += (uint64_t)st.st_size;
	}
	closedir(d);
	return 0;
}

int store_spool_open(kura_backend **out, kura_backend *inner, const char *spool)
{
	spool_backend *sb;

	*out = NULL;
	if (!inner->mtime || !inner->remove) {
		inner->free(inner);
		return kura_error_set(KURA_EUNSUPPORTED,
				      "a spooled store needs removal and write times");
	}
	if (mkdir(spool, 0700) < 0 && errno != EEXIST) {
		int err = kura_error_errno(kura_errno_code(errno), errno, "%s: mkdir", spool);

		inner->free(inner);
		return err;
	}
	if (!(sb = calloc(1, sizeof(*sb))) || !(sb->dir = strdup(spool))) {
		free(sb);
		inner->free(inner);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	sb->inner = inner;
	kura_backend_init(&sb->parent, KURA_BACKEND_VERSION);
	sb->parent.put = sp_put;
	sb->parent.get = sp_get;
	sb->parent.get_range = sp_get_range;
	sb->parent.list = sp_list;
	sb->parent.free = sp_free;
	sb->parent.remove = sp_remove;
	sb->parent.mtime = sp_mtime;
	sb->parent.stream_open = sp_stream_open;
	sb->parent.stream_append = sp_stream_append;
	sb->parent.stream_commit = sp_stream_commit;
	sb->parent.stream_free = sp_stream_free;
	sb->parent.stream_fd = sp_stream_fd;
	sb->parent.clean_tmp = sp_clean_tmp;
	*out = &sb->parent;
	return 0;
}
