/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local_read.c - the local backend's reads: a whole file (get), a range
 * of one (get_range) and its modification time (mtime).
 *
 * A stored file is opened with O_NOFOLLOW, so a symlink planted in the
 * repository is refused, not followed; get() takes only a regular file.
 * A file that is shorter than what is asked of it is corrupt, and the
 * error says its size and the range wanted.
 */
#include "backend/local.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

static int open_file(local_backend *lb, kura_file_type type, const char *name, int *out_fd)
{
	char rel[LOCAL_REL_MAX];
	int fd;

	local_rel_path(rel, type, name);
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

int local_get(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
	      size_t *out_len)
{
	local_backend *lb = (local_backend *)b;
	uint8_t *data = NULL;
	struct stat st;
	size_t size, got = 0;
	int fd = -1, err;

	*out = NULL;
	*out_len = 0;
	if ((err = local_check_args(lb, type, name)) < 0)
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

int local_get_range(kura_backend *b, kura_file_type type, const char *name, uint64_t offset,
		    size_t len, uint8_t *buf)
{
	local_backend *lb = (local_backend *)b;
	struct stat st;
	size_t got = 0;
	int fd = -1, err;

	if ((err = local_check_args(lb, type, name)) < 0)
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

int local_mtime(kura_backend *b, kura_file_type type, const char *name, int64_t *out_ns)
{
	local_backend *lb = (local_backend *)b;
	char rel[LOCAL_REL_MAX];
	struct stat st;
	int err;

	if ((err = local_check_args(lb, type, name)) < 0)
		return err;
	local_rel_path(rel, type, name);
	if (fstatat(lb->type_fd[type], rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return kura_error_errno(kura_errno_code(errno), errno, "%s %s: stat in %s",
					kura_file_type_what(type), name, lb->path);
	*out_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}
