/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local_remove.c - the local backend's removals: one stored file (after
 * clearing an immutable flag the vault may have set; the directory is
 * fsynced so the removal survives a crash) and the leftovers of
 * interrupted writes in tmp/ (clean_tmp, by age).
 */
#include "backend/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"

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

int local_remove(kura_backend *b, kura_file_type type, const char *name)
{
	local_backend *lb = (local_backend *)b;
	char rel[LOCAL_REL_MAX];
	int err;

	if ((err = local_check_args(lb, type, name)) < 0)
		return err;
	local_rel_path(rel, type, name);
	if ((err = clear_immutable(lb, type, rel, name)) < 0)
		return err;
	if (unlinkat(lb->type_fd[type], rel, 0) < 0)
		return kura_error_errno(kura_errno_code(errno), errno, "%s %s: remove from %s",
					kura_file_type_what(type), name, lb->path);
	return local_fsync_dir(lb, type, name);
}

int local_clean_tmp(kura_backend *b, int64_t older_than_s, bool dry_run, uint64_t *out_files,
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
