/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local_list.c - the local backend's listing of one file type: the
 * regular files whose names are valid file names, packs only from the
 * data/xx directory their name belongs in.  Whatever else a directory
 * holds (tmp leftovers, editor files, symlinks) is not ours and is
 * skipped.
 */
#include "backend/local.h"

#include "kura/keyless.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

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
int local_list(kura_backend *b, kura_file_type type, kura_backend_list_fn fn, void *ctx)
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
