/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local.c - the local directory backend (docs/FORMAT.md, "Repository
 * layout").
 *
 * A repository is a directory holding config/ keys/ snapshots/ index/
 * data/00..data/ff and tmp/.  Every file name is 64 lowercase hex digits;
 * validating that before touching the file system is what keeps a hostile
 * name ("../../etc/passwd") out of every path we build.
 *
 * put() writes to tmp/<random>, fsyncs it, then link()s it into place.
 * link() never replaces an existing name (unlike rename()), so a file
 * that is visible is complete and durable, and is never overwritten.  The
 * directory is fsynced afterwards so the new name survives a crash.
 * The stream slots do the same for a file written piece by piece (the
 * vault's uploads, a backup's packs).  A crash leaves its temporary file
 * in tmp/, which nothing reads; clean_tmp() removes such
 * leftovers (kura prune, kurad), and anything in tmp/ may be deleted
 * while nothing writes (docs/FORMAT.md).  The file `lock` in the root keeps
 * backups and prunes apart (repolock.c).
 * A pack's pages are dropped from the page cache once it is durable.
 *
 * The backend keeps only open directory fds, which are never changed
 * after open; every call uses its own local state, so put/get/get_range/
 * list may run concurrently from several threads.  Every slot of
 * kura/sys/backend.h is filled but list_detail (no receive times here),
 * access (both) and the deletion requests (a local repository removes at
 * once: remove).
 */
#include "kura/sys/backend.h"
#include "kura/keyless.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/repolock.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fdio.h"

#define NAME_LEN 64
#define DIR_MODE 0700
#define FILE_MODE 0400

typedef struct {
	kura_backend parent;
	char *path;
	int root_fd;
	int tmp_fd;
	int type_fd[KURA_FILE_TYPES];
} local_backend;

static int check_args(const local_backend *lb, kura_file_type type, const char *name)
{
	int err;

	if ((err = kura_backend_check_name("local backend", type, name)) < 0)
		return err;
	if (lb->type_fd[type] < 0) /* drills/ of an older repository on a read-only disk */
		return kura_error_set(KURA_ENOTFOUND, "%s: no %s/ directory, and it cannot be made",
				      lb->path, kura_file_type_name(type));
	return 0;
}

/*
 * The path of a file relative to its type directory: the name itself, or
 * "ab/<name>" for packs.  `out` holds at least NAME_LEN + 4 bytes.
 */
static void rel_path(char *out, kura_file_type type, const char *name)
{
	if (type == KURA_FILE_PACK)
		snprintf(out, NAME_LEN + 4, "%.2s/%s", name, name);
	else
		snprintf(out, NAME_LEN + 4, "%s", name);
}

/*
 * A pack just made durable is not read again soon, so its now clean pages
 * leave the page cache at once (as borg does with its segments).  The
 * freed page frames are the next ones the kernel hands out, and reusing
 * warm frames is far cheaper than touching fresh ones: on a virtual
 * machine first-touch faults made the page-cache copy of pack writes a
 * fifth of a backup's CPU.  Advice only: its failure changes nothing.
 */
static void drop_written_pack(int fd, kura_file_type type)
{
	if (type == KURA_FILE_PACK)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

static int fsync_dir_at(local_backend *lb, kura_file_type type, const char *name)
{
	char sub[3];
	int fd, err = 0;

	if (type == KURA_FILE_PACK) {
		snprintf(sub, sizeof(sub), "%.2s", name);
		fd = openat(lb->type_fd[type], sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		fd = openat(lb->type_fd[type], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return kura_error_errno(kura_errno_code(errno), errno, "%s/%s: open directory",
					lb->path, kura_file_type_name(type));
	if (fsync(fd) < 0)
		err = kura_error_errno(KURA_EIO, errno, "%s/%s: fsync directory", lb->path,
				       kura_file_type_name(type));
	close(fd);
	return err;
}

/*
 * Move the finished tmp file into place without ever replacing a name.
 * *existed (when not NULL) tells whether the name was already taken.
 */
static int link_into_place(local_backend *lb, const char *tmp_name, kura_file_type type,
			   const char *rel, bool *existed)
{
	int e;

	if (existed)
		*existed = false;
	if (linkat(lb->tmp_fd, tmp_name, lb->type_fd[type], rel, 0) == 0)
		return 0;
	e = errno;
	if (e == ENOENT && type == KURA_FILE_PACK) {
		char sub[3] = {rel[0], rel[1], '\0'};

		/* a data/xx directory lost by a copy that drops empty directories */
		if (mkdirat(lb->type_fd[type], sub, 0700) == 0 || errno == EEXIST) {
			if (linkat(lb->tmp_fd, tmp_name, lb->type_fd[type], rel, 0) == 0)
				return 0;
			e = errno;
		}
	}
	if (e == EEXIST)
		goto exists;
	/* File systems without hard links: an exclusive rename does the same. */
	if (e == EPERM || e == EOPNOTSUPP || e == ENOSYS) {
		if (renameat2(lb->tmp_fd, tmp_name, lb->type_fd[type], rel, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EEXIST)
			goto exists;
		e = errno;
	}
	return kura_error_errno(kura_errno_code(e) == KURA_EEXISTS ? KURA_EIO : kura_errno_code(e),
				e, "%s/%s/%s: link into place", lb->path, kura_file_type_name(type),
				rel);

exists:
	if (existed)
		*existed = true;
	return 0;
}

static int local_put(kura_backend *b, kura_file_type type, const char *name, const void *data,
		     size_t len)
{
	local_backend *lb = (local_backend *)b;
	char rel[NAME_LEN + 4], tmp_name[40];
	uint8_t rnd[16];
	struct stat st;
	bool tmp_made = false;
	int fd = -1, err;

	if ((err = check_args(lb, type, name)) < 0)
		return err;
	if (!data && len > 0)
		return kura_error_set(KURA_EINVAL, "local backend: put of %zu bytes from NULL",
				      len);
	rel_path(rel, type, name);

	/* The same name means the same bytes: nothing to write. */
	if (fstatat(lb->type_fd[type], rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return kura_error_errno(kura_errno_code(errno), errno, "%s/%s/%s: stat", lb->path,
					kura_file_type_name(type), rel);

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return kura_error_errno(KURA_EIO, errno, "local backend: getrandom");
	kura_hex(tmp_name, rnd, sizeof(rnd));
	memcpy(tmp_name + 2 * sizeof(rnd), ".tmp", 5);

	fd = openat(lb->tmp_fd, tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    FILE_MODE);
	if (fd < 0) {
		err = kura_error_errno(
		    kura_errno_code(errno) == KURA_EEXISTS ? KURA_EIO : kura_errno_code(errno),
		    errno, "%s/tmp/%s: create", lb->path, tmp_name);
		goto done;
	}
	tmp_made = true;
	if (kura_write_all(fd, data, len) < 0) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s/tmp/%s: write", lb->path,
				       tmp_name);
		goto done;
	}
	if (fsync(fd) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s/tmp/%s: fsync", lb->path, tmp_name);
		goto done;
	}
	drop_written_pack(fd, type);
	if (close(fd) < 0) {
		fd = -1;
		err = kura_error_errno(KURA_EIO, errno, "%s/tmp/%s: close", lb->path, tmp_name);
		goto done;
	}
	fd = -1;
	if ((err = link_into_place(lb, tmp_name, type, rel, NULL)) < 0)
		goto done;
	err = fsync_dir_at(lb, type, name);

done:
	if (fd >= 0)
		close(fd);
	/* After a rename fallback the tmp name is gone already; ENOENT is fine. */
	if (tmp_made)
		unlinkat(lb->tmp_fd, tmp_name, 0);
	return err;
}

/* "<32 hex>.tmp": the only temporary names stream_open() and put() make. */
static bool tmp_name_ok(const char *tmp)
{
	if (!tmp)
		return false;
	for (int i = 0; i < 32; i++)
		if (!((tmp[i] >= '0' && tmp[i] <= '9') || (tmp[i] >= 'a' && tmp[i] <= 'f')))
			return false;
	return strcmp(tmp + 32, ".tmp") == 0;
}

/*
 * A streamed file: a temporary file in tmp/, created with mode 0400 like
 * every stored file and opened read-write so the caller can read it back
 * (the vault checks a snapshot's pack list) before committing it.
 */
struct kura_backend_stream {
	local_backend *lb;
	int fd;
	char tmp[48]; /* its name in tmp/; "" once stream_commit() took it away */
};

static int local_stream_open(kura_backend *b, kura_backend_stream **out)
{
	local_backend *lb = (local_backend *)b;
	kura_backend_stream *s;
	uint8_t rnd[16];
	int e;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return kura_error_set(KURA_ENOMEM, "local backend: out of memory");
	s->lb = lb;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		e = errno;
		free(s);
		return kura_error_errno(KURA_EIO, e, "local backend: getrandom");
	}
	kura_hex(s->tmp, rnd, sizeof(rnd));
	memcpy(s->tmp + 2 * sizeof(rnd), ".tmp", 5);
	s->fd = openat(lb->tmp_fd, s->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       FILE_MODE);
	if (s->fd < 0) {
		e = errno;
		free(s);
		errno = e; /* kurad answers a full disk with its own status */
		return kura_error_errno(kura_errno_code(e) == KURA_EEXISTS ? KURA_EIO
									   : kura_errno_code(e),
					e, "%s/tmp: create temporary file", lb->path);
	}
	*out = s;
	return 0;
}

static int local_stream_append(kura_backend_stream *s, const void *data, size_t len)
{
	int e, err;

	if (s->fd < 0 || !s->tmp[0])
		return kura_error_set(KURA_EINVAL, "local backend: append to a finished stream");
	if (kura_write_all(s->fd, data, len) < 0) {
		e = errno;
		err = kura_error_errno(kura_errno_code(e), e, "%s/tmp/%s: write", s->lb->path,
				       s->tmp);
		errno = e; /* kurad answers a full disk with its own status */
		return err;
	}
	return 0;
}

/*
 * Whatever the result, the temporary name is gone afterwards and the fd is
 * still open until stream_free(): after a commit that stored the file it
 * refers to the stored file (the vault sets its immutable flag through it).
 */
static int local_stream_commit(kura_backend_stream *s, kura_file_type type, const char *name,
			       bool *out_existed)
{
	local_backend *lb = s->lb;
	char rel[NAME_LEN + 4];
	struct stat st;
	bool existed = false;
	int err, e;

	if (out_existed)
		*out_existed = false;
	if (s->fd < 0 || !s->tmp[0])
		return kura_error_set(KURA_EINVAL, "local backend: commit of a finished stream");
	if ((err = check_args(lb, type, name)) < 0)
		goto done;
	rel_path(rel, type, name);

	/* Already stored: no need to make this copy durable. */
	if (fstatat(lb->type_fd[type], rel, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		existed = true;
		goto done;
	}
	if (errno != ENOENT) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s/%s/%s: stat", lb->path,
				       kura_file_type_name(type), rel);
		goto done;
	}
	if (fsync(s->fd) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s/tmp/%s: fsync", lb->path, s->tmp);
		goto done;
	}
	drop_written_pack(s->fd, type);
	if ((err = link_into_place(lb, s->tmp, type, rel, &existed)) < 0)
		goto done;
	if (!existed)
		err = fsync_dir_at(lb, type, name);

done:
	e = errno; /* of the failed call, for kurad's full-disk status */
	/* After a rename fallback the tmp name is gone already; ENOENT is fine. */
	unlinkat(lb->tmp_fd, s->tmp, 0);
	s->tmp[0] = '\0';
	errno = e;
	if (err < 0)
		return err;
	if (out_existed)
		*out_existed = existed;
	return 0;
}

/* End a stream: close its fd, and remove its temporary file unless committed. */
static void local_stream_free(kura_backend_stream *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (tmp_name_ok(s->tmp))
		unlinkat(s->lb->tmp_fd, s->tmp, 0);
	free(s);
}

static int local_stream_fd(kura_backend_stream *s)
{
	return s->fd;
}

static int open_file(local_backend *lb, kura_file_type type, const char *name, int *out_fd)
{
	char rel[NAME_LEN + 4];
	int fd;

	rel_path(rel, type, name);
	fd = openat(lb->type_fd[type], rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return kura_error_set(KURA_ENOTFOUND, "%s %s: not found in %s",
					      kura_file_type_what(type), name, lb->path);
		return kura_error_errno(kura_errno_code(errno), errno, "%s %s: open %s/%s/%s",
					kura_file_type_what(type), name, lb->path,
					kura_file_type_name(type), rel);
	}
	*out_fd = fd;
	return 0;
}

static int local_get(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
		     size_t *out_len)
{
	local_backend *lb = (local_backend *)b;
	uint8_t *data = NULL;
	struct stat st;
	size_t size, got = 0;
	int fd = -1, err;

	*out = NULL;
	*out_len = 0;
	if ((err = check_args(lb, type, name)) < 0)
		return err;
	if ((err = open_file(lb, type, name, &fd)) < 0)
		goto done;
	if (fstat(fd, &st) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s %s: fstat", kura_file_type_what(type),
				       name);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		err = kura_error_set(KURA_ECORRUPT, "%s %s: not a regular file",
				     kura_file_type_what(type), name);
		goto done;
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		err = kura_error_set(KURA_ENOMEM, "%s %s: %lld bytes do not fit in memory",
				     kura_file_type_what(type), name, (long long)st.st_size);
		goto done;
	}
	size = (size_t)st.st_size;
	data = malloc(size ? size : 1);
	if (!data) {
		err = kura_error_set(KURA_ENOMEM, "%s %s: cannot allocate %zu bytes",
				     kura_file_type_what(type), name, size);
		goto done;
	}
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = kura_error_errno(KURA_EIO, errno, "%s %s: read at offset %zu",
					       kura_file_type_what(type), name, got);
			goto done;
		}
		if (n == 0) {
			err = kura_error_set(KURA_ECORRUPT,
					     "%s %s: file shrank to %zu bytes while read",
					     kura_file_type_what(type), name, got);
			goto done;
		}
		got += (size_t)n;
	}
	*out = data;
	*out_len = size;
	data = NULL;

done:
	free(data);
	if (fd >= 0)
		close(fd);
	return err;
}

static int local_get_range(kura_backend *b, kura_file_type type, const char *name, uint64_t offset,
			   size_t len, uint8_t *buf)
{
	local_backend *lb = (local_backend *)b;
	struct stat st;
	size_t got = 0;
	int fd = -1, err;

	if ((err = check_args(lb, type, name)) < 0)
		return err;
	if ((err = kura_backend_check_range(type, name, offset, len)) < 0)
		return err;
	if ((err = open_file(lb, type, name, &fd)) < 0)
		goto done;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(offset + got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = kura_error_errno(KURA_EIO, errno, "%s %s: read at offset %llu",
					       kura_file_type_what(type), name,
					       (unsigned long long)(offset + got));
			goto done;
		}
		if (n == 0) {
			long long size = fstat(fd, &st) == 0 ? (long long)st.st_size : -1;

			err = kura_error_set(
			    KURA_ECORRUPT, "%s %s: file is %lld bytes, wanted range %llu..%llu",
			    kura_file_type_what(type), name, size, (unsigned long long)offset,
			    (unsigned long long)(offset + len));
			goto done;
		}
		got += (size_t)n;
	}

done:
	if (fd >= 0)
		close(fd);
	return err;
}

/*
 * Report the files of one directory.  Returns 0, a negative error, or 1
 * when the callback asked to stop (its value is kept in *cb_rc).
 */
static int list_dir(local_backend *lb, int dfd, const char *where, const char *prefix,
		    kura_backend_list_fn fn, void *ctx, int *cb_rc)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, err = 0;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return kura_error_errno(kura_errno_code(errno), errno, "%s/%s: open", lb->path,
					where);
	d = fdopendir(fd);
	if (!d) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s/%s: opendir", lb->path,
				       where);
		close(fd);
		return err;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				err = kura_error_errno(KURA_EIO, errno, "%s/%s: readdir", lb->path,
						       where);
			break;
		}
		/* Anything else is not ours: tmp leftovers, editor files... */
		if (!kura_file_name_is_valid(de->d_name))
			continue;
		/* A pack in the wrong subdirectory could never be fetched. */
		if (prefix && memcmp(de->d_name, prefix, 2) != 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			err = kura_error_errno(KURA_EIO, errno, "%s/%s/%s: stat", lb->path, where,
					       de->d_name);
			break;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		*cb_rc = fn(de->d_name, (uint64_t)st.st_size, ctx);
		if (*cb_rc != 0) {
			err = 1;
			break;
		}
	}
	closedir(d);
	return err;
}

/*
 * Calls fn for each file; a non-zero return from fn stops the listing, and
 * a negative one is passed back to the caller (so a callback can fail with
 * its own KURA_E* code and message).
 */
static int local_list(kura_backend *b, kura_file_type type, kura_backend_list_fn fn, void *ctx)
{
	local_backend *lb = (local_backend *)b;
	char sub[3], where[16];
	int cb_rc = 0, err = 0, sfd;

	if ((unsigned)type >= KURA_FILE_TYPES)
		return kura_error_set(KURA_EINVAL, "local backend: bad file type %d", (int)type);
	if (lb->type_fd[type] < 0) /* no drills/ (see check_args): nothing to list */
		return 0;
	if (type != KURA_FILE_PACK) {
		err = list_dir(lb, lb->type_fd[type], kura_file_type_name(type), NULL, fn, ctx,
			       &cb_rc);
		goto done;
	}
	for (int i = 0; i < 256; i++) {
		snprintf(sub, sizeof(sub), "%02x", i);
		snprintf(where, sizeof(where), "data/%s", sub);
		sfd =
		    openat(lb->type_fd[type], sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0) {
			if (errno == ENOENT)
				continue;
			err = kura_error_errno(kura_errno_code(errno), errno, "%s/%s: open",
					       lb->path, where);
			goto done;
		}
		err = list_dir(lb, sfd, where, sub, fn, ctx, &cb_rc);
		close(sfd);
		if (err != 0)
			goto done;
	}

done:
	if (err == 1)
		return cb_rc < 0 ? cb_rc : 0;
	return err;
}

static void local_free(kura_backend *b)
{
	local_backend *lb = (local_backend *)b;

	if (!lb)
		return;
	for (int i = 0; i < KURA_FILE_TYPES; i++)
		if (lb->type_fd[i] >= 0)
			close(lb->type_fd[i]);
	if (lb->tmp_fd >= 0)
		close(lb->tmp_fd);
	if (lb->root_fd >= 0)
		close(lb->root_fd);
	free(lb->path);
	free(lb);
}

static int open_subdir(int root_fd, const char *path, const char *sub, int *out_fd)
{
	struct stat st;
	int fd;

	fd = openat(root_fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return kura_error_set(KURA_ENOTFOUND, "no kura repository at %s (no %s/)",
					      path, sub);
		return kura_error_errno(kura_errno_code(errno), errno, "%s/%s: open", path, sub);
	}
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		close(fd);
		return kura_error_set(
		    KURA_ENOTFOUND, "no kura repository at %s (%s/ is not a directory)", path, sub);
	}
	*out_fd = fd;
	return 0;
}

static int local_lock(kura_backend *b, kura_lock_mode mode, int64_t wait_ms,
		      kura_backend_lock **out)
{
	local_backend *lb = (local_backend *)b;

	return kura_repolock__take(lb->root_fd, lb->path, mode, wait_ms, out);
}

static void local_unlock(kura_backend *b, kura_backend_lock *lock)
{
	kura_repolock__release(lock);
}

static int local_mtime(kura_backend *b, kura_file_type type, const char *name, int64_t *out_ns);
static int local_remove(kura_backend *b, kura_file_type type, const char *name);
static int local_clean_tmp(kura_backend *b, int64_t older_than_s, bool dry_run, uint64_t *out_files,
			   uint64_t *out_bytes);

/* Build a backend on an open repository root fd (taken over, even on error). */
static int open_fd(kura_backend **out, const char *path, int root_fd)
{
	local_backend *lb;
	int err;

	lb = calloc(1, sizeof(*lb));
	if (!lb) {
		close(root_fd);
		return kura_error_set(KURA_ENOMEM, "local backend: out of memory");
	}
	lb->root_fd = root_fd;
	lb->tmp_fd = -1;
	for (int i = 0; i < KURA_FILE_TYPES; i++)
		lb->type_fd[i] = -1;
	lb->path = strdup(path);
	if (!lb->path) {
		err = kura_error_set(KURA_ENOMEM, "local backend: out of memory");
		goto done;
	}
	/*
	 * Only config/ marks a repository.  The other directories may be
	 * missing from a copy that dropped empty directories (git, some sync
	 * tools): recreate them where we can.
	 */
	if ((err = open_subdir(root_fd, path, kura_file_type_name(KURA_FILE_CONFIG),
			       &lb->type_fd[KURA_FILE_CONFIG])) < 0)
		goto done;
	for (int i = 0; i < KURA_FILE_TYPES; i++) {
		if (i == KURA_FILE_CONFIG)
			continue;
		(void)mkdirat(root_fd, kura_file_type_name(i), 0700);
		err = open_subdir(root_fd, path, kura_file_type_name(i), &lb->type_fd[i]);
		/* drills/, proofs/ and accepts/ are younger than the format: a repository made
		 * before them, on a read-only disk, still opens (it has no drill records) */
		if (err == KURA_ENOTFOUND &&
		    (i == KURA_FILE_DRILL || i == KURA_FILE_PROOF || i == KURA_FILE_ACCEPT)) {
			lb->type_fd[i] = -1;
			err = 0;
		}
		if (err < 0)
			goto done;
	}
	(void)mkdirat(root_fd, "tmp", 0700);
	if ((err = open_subdir(root_fd, path, "tmp", &lb->tmp_fd)) < 0)
		goto done;

	kura_backend_init(&lb->parent, KURA_BACKEND_VERSION);
	lb->parent.put = local_put;
	lb->parent.get = local_get;
	lb->parent.get_range = local_get_range;
	lb->parent.list = local_list;
	lb->parent.free = local_free;
	lb->parent.lock = local_lock;
	lb->parent.unlock = local_unlock;
	lb->parent.stream_open = local_stream_open;
	lb->parent.stream_append = local_stream_append;
	lb->parent.stream_commit = local_stream_commit;
	lb->parent.stream_free = local_stream_free;
	lb->parent.stream_fd = local_stream_fd;
	lb->parent.remove = local_remove;
	lb->parent.mtime = local_mtime;
	lb->parent.clean_tmp = local_clean_tmp;
	*out = &lb->parent;
	lb = NULL;

done:
	local_free(lb ? &lb->parent : NULL);
	return err;
}

int kura_backend_local_open(kura_backend **out, const char *path)
{
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return kura_error_set(KURA_ENOTFOUND, "no kura repository at %s", path);
		return kura_error_errno(kura_errno_code(errno), errno, "%s: open", path);
	}
	return open_fd(out, path, fd);
}

static int dir_is_empty(int fd, const char *path)
{
	struct dirent *de;
	DIR *d;
	int dfd, err = 0;

	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return kura_error_errno(kura_errno_code(errno), errno, "%s: open", path);
	d = fdopendir(dfd);
	if (!d) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s: opendir", path);
		close(dfd);
		return err;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			err = kura_error_set(KURA_EEXISTS, "%s is not empty", path);
			break;
		}
	}
	closedir(d);
	return err;
}

static int make_dir(int at, const char *path, const char *sub)
{
	if (mkdirat(at, sub, DIR_MODE) < 0 && errno != EEXIST)
		return kura_error_errno(kura_errno_code(errno), errno, "%s/%s: mkdir", path, sub);
	return 0;
}

static int fsync_fd(int fd, const char *path)
{
	if (fsync(fd) < 0)
		return kura_error_errno(KURA_EIO, errno, "%s: fsync", path);
	return 0;
}

/* Make the new repository directory itself durable in its parent. */
static int fsync_parent(const char *path)
{
	char *copy, *slash;
	int fd, err = 0;

	copy = strdup(path);
	if (!copy)
		return kura_error_set(KURA_ENOMEM, "local backend: out of memory");
	while ((slash = strrchr(copy, '/')) && slash != copy && slash[1] == '\0')
		*slash = '\0';
	slash = strrchr(copy, '/');
	if (!slash)
		strcpy(copy, ".");
	else if (slash == copy)
		copy[1] = '\0';
	else
		*slash = '\0';
	fd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s: open", copy);
		goto done;
	}
	err = fsync_fd(fd, copy);
	close(fd);

done:
	free(copy);
	return err;
}

int kura_backend_local_create(kura_backend **out, const char *path)
{
	char sub[3], where[16];
	bool made = false;
	int fd = -1, data_fd = -1, err;

	*out = NULL;
	if (mkdir(path, DIR_MODE) == 0)
		made = true;
	else if (errno != EEXIST)
		return kura_error_errno(kura_errno_code(errno), errno, "%s: mkdir", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = kura_error_errno(errno == ENOTDIR ? KURA_EEXISTS : kura_errno_code(errno),
				       errno, "%s: open", path);
		goto done;
	}
	if ((err = dir_is_empty(fd, path)) < 0)
		goto done;
	for (int i = 0; i < KURA_FILE_TYPES; i++)
		if ((err = make_dir(fd, path, kura_file_type_name(i))) < 0)
			goto done;
	if ((err = make_dir(fd, path, "tmp")) < 0)
		goto done;
	data_fd = openat(fd, "data", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (data_fd < 0) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s/data: open", path);
		goto done;
	}
	for (int i = 0; i < 256; i++) {
		snprintf(sub, sizeof(sub), "%02x", i);
		snprintf(where, sizeof(where), "data/%s", sub);
		if (mkdirat(data_fd, sub, DIR_MODE) < 0 && errno != EEXIST) {
			err = kura_error_errno(kura_errno_code(errno), errno, "%s/%s: mkdir", path,
					       where);
			goto done;
		}
	}
	if ((err = fsync_fd(data_fd, path)) < 0 || (err = fsync_fd(fd, path)) < 0)
		goto done;
	if (made && (err = fsync_parent(path)) < 0)
		goto done;
	err = open_fd(out, path, fd);
	fd = -1;

done:
	if (data_fd >= 0)
		close(data_fd);
	if (fd >= 0)
		close(fd);
	return err;
}

static int local_mtime(kura_backend *b, kura_file_type type, const char *name, int64_t *out_ns)
{
	local_backend *lb = (local_backend *)b;
	char rel[NAME_LEN + 4];
	struct stat st;
	int err;

	if ((err = check_args(lb, type, name)) < 0)
		return err;
	rel_path(rel, type, name);
	if (fstatat(lb->type_fd[type], rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return kura_error_errno(kura_errno_code(errno), errno, "%s %s: stat in %s",
					kura_file_type_what(type), name, lb->path);
	*out_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

/* Clear chattr +i; quietly nothing where the file system has no such flag. */
static int clear_immutable(local_backend *lb, kura_file_type type, const char *rel,
			   const char *name)
{
	int fd, flags, err = 0;

	fd = openat(lb->type_fd[type], rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return kura_error_errno(kura_errno_code(errno), errno, "%s %s: open in %s",
					kura_file_type_what(type), name, lb->path);
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL)) {
		flags &= ~FS_IMMUTABLE_FL;
		if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
			err = kura_error_errno(KURA_EDENIED, errno,
					       "%s %s: cannot clear the immutable attribute "
					       "(needs CAP_LINUX_IMMUTABLE)",
					       kura_file_type_what(type), name);
	}
	close(fd);
	return err;
}

static int local_remove(kura_backend *b, kura_file_type type, const char *name)
{
	local_backend *lb = (local_backend *)b;
	char rel[NAME_LEN + 4];
	int err;

	if ((err = check_args(lb, type, name)) < 0)
		return err;
	rel_path(rel, type, name);
	if ((err = clear_immutable(lb, type, rel, name)) < 0)
		return err;
	if (unlinkat(lb->type_fd[type], rel, 0) < 0)
		return kura_error_errno(kura_errno_code(errno), errno, "%s %s: remove from %s",
					kura_file_type_what(type), name, lb->path);
	return fsync_dir_at(lb, type, name);
}

static int local_clean_tmp(kura_backend *b, int64_t older_than_s, bool dry_run, uint64_t *out_files,
			   uint64_t *out_bytes)
{
	local_backend *lb = (local_backend *)b;
	struct timespec now;
	struct dirent *de;
	DIR *dir;
	int fd, err = 0;

	*out_files = *out_bytes = 0;
	clock_gettime(CLOCK_REALTIME, &now);
	if ((fd = dup(lb->tmp_fd)) < 0 || !(dir = fdopendir(fd))) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s/tmp: open", lb->path);
		if (fd >= 0)
			close(fd);
		return err;
	}
	rewinddir(dir); /* the dup shares its position with tmp_fd */
	while ((errno = 0, de = readdir(dir))) {
		struct stat st;

		if (de->d_name[0] == '.' ||
		    fstatat(lb->tmp_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || now.tv_sec - st.st_mtim.tv_sec < older_than_s)
			continue;
		if (!dry_run && unlinkat(lb->tmp_fd, de->d_name, 0) < 0) {
			if (errno == ENOENT)
				continue; /* another cleaner was first */
			err = kura_error_errno(kura_errno_code(errno), errno, "%s/tmp/%s: remove",
					       lb->path, de->d_name);
			break;
		}
		(*out_files)++;
		*out_bytes += (uint64_t)st.st_size;
	}
	if (!err && errno)
		err = kura_error_errno(KURA_EIO, errno, "%s/tmp: read", lb->path);
	closedir(dir);
	return err;
}
