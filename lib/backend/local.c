/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local.c - the local directory backend (docs/FORMAT.md, "Repository
 * layout"): opening and creating a repository directory, and the struct
 * of slots (local.h lists the files that fill them).
 *
 * A repository is a directory holding config/ keys/ snapshots/ index/
 * data/00..data/ff and tmp/.  Every file name is 64 lowercase hex digits;
 * validating that before touching the file system (local_check_args) is
 * what keeps a hostile name ("../../etc/passwd") out of every path we
 * build.  The file `lock` in the root keeps backups and prunes apart
 * (repolock.c).
 *
 * The backend keeps only open directory fds, which are never changed
 * after open; every call uses its own local state, so put/get/get_range/
 * list may run concurrently from several threads.  Every slot of
 * kura/sys/backend.h is filled but list_detail (no receive times here),
 * access (both) and the deletion requests (a local repository removes at
 * once: remove).
 */
#include "backend/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/repolock.h"
#include "common/error.h"

int local_check_args(const local_backend *lb, kura_file_type type, const char *name)
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
 * "ab/<name>" for packs.  `out` holds at least LOCAL_REL_MAX bytes.
 */
void local_rel_path(char out[LOCAL_REL_MAX], kura_file_type type, const char *name)
{
	if (type == KURA_FILE_PACK)
		snprintf(out, LOCAL_REL_MAX, "%.2s/%s", name, name);
	else
		snprintf(out, LOCAL_REL_MAX, "%s", name);
}

int local_fsync_dir(local_backend *lb, kura_file_type type, const char *name)
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
	if (mkdirat(at, sub, LOCAL_DIR_MODE) < 0 && errno != EEXIST)
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
	if (mkdir(path, LOCAL_DIR_MODE) == 0)
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
		if (mkdirat(data_fd, sub, LOCAL_DIR_MODE) < 0 && errno != EEXIST) {
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
