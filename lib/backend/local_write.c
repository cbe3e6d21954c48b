/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local_write.c - the local backend's atomic writes: put() and the stream
 * slots.
 *
 * put() writes to tmp/<random>, fsyncs it, then link()s it into place.
 * link() never replaces an existing name (unlike rename()), so a file
 * that is visible is complete and durable, and is never overwritten.  The
 * directory is fsynced afterwards so the new name survives a crash.
 * The stream slots do the same for a file written piece by piece (the
 * vault's uploads, a backup's packs).  A crash leaves its temporary file
 * in tmp/, which nothing reads; clean_tmp() (local_remove.c) removes such
 * leftovers (kura prune, kurad), and anything in tmp/ may be deleted
 * while nothing writes (docs/FORMAT.md).
 * A pack's pages are dropped from the page cache once it is durable.
 */
#include "backend/local.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fdio.h"

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

int local_put(kura_backend *b, kura_file_type type, const char *name, const void *data, size_t len)
{
	local_backend *lb = (local_backend *)b;
	char rel[LOCAL_REL_MAX], tmp_name[40];
	uint8_t rnd[16];
	struct stat st;
	bool tmp_made = false;
	int fd = -1, err;

	if ((err = local_check_args(lb, type, name)) < 0)
		return err;
	if (!data && len > 0)
		return kura_error_set(KURA_EINVAL, "local backend: put of %zu bytes from NULL",
				      len);
	local_rel_path(rel, type, name);

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
		    LOCAL_FILE_MODE);
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
	err = local_fsync_dir(lb, type, name);

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

int local_stream_open(kura_backend *b, kura_backend_stream **out)
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
		       LOCAL_FILE_MODE);
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

int local_stream_append(kura_backend_stream *s, const void *data, size_t len)
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
int local_stream_commit(kura_backend_stream *s, kura_file_type type, const char *name,
			bool *out_existed)
{
	local_backend *lb = s->lb;
	char rel[LOCAL_REL_MAX];
	struct stat st;
	bool existed = false;
	int err, e;

	if (out_existed)
		*out_existed = false;
	if (s->fd < 0 || !s->tmp[0])
		return kura_error_set(KURA_EINVAL, "local backend: commit of a finished stream");
	if ((err = local_check_args(lb, type, name)) < 0)
		goto done;
	local_rel_path(rel, type, name);

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
		err = local_fsync_dir(lb, type, name);

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
void local_stream_free(kura_backend_stream *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (tmp_name_ok(s->tmp))
		unlinkat(s->lb->tmp_fd, s->tmp, 0);
	free(s);
}

int local_stream_fd(kura_backend_stream *s)
{
	return s->fd;
}
