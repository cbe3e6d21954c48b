/* SPDX-License-Identifier: Apache-2.0 */
/*
 * files.c - the small-file chores of the vault directory (files.h), done
 * one way for the vault's state, policy and deletion code: bounded reads
 * that never follow a symlink, creation that never replaces, atomic
 * replacement, an fsync of the directory after every change of a name,
 * and the JSON and time texts those files hold.
 */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fdio.h"

/* A whole regular file of at most `max` bytes, NUL-terminated; *out malloc'd. */
int files_read(const char *path, size_t max, char **out, size_t *out_len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, err = 0;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
		return kura_error_errno(kura_errno_code(errno), errno, "%s", path);
	if (fstat(fd, &st) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		err = kura_error_set(KURA_ECORRUPT, "%s: not a regular file of at most %zu bytes",
				     path, max);
		goto done;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		err = kura_error_set(KURA_ENOMEM, "%s: out of memory", path);
		goto done;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = kura_error_errno(KURA_EIO, n < 0 ? errno : EIO, "%s: cannot read",
					       path);
			goto done;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (out_len)
		*out_len = got;
	*out = buf;
	buf = NULL;
done:
	free(buf);
	close(fd);
	return err;
}

static int write_all_sync(int fd, const char *path, const void *buf, size_t len)
{
	if (kura_write_all(fd, buf, len) < 0)
		return kura_error_errno(KURA_EIO, errno, "%s: cannot write", path);
	if (fsync(fd) < 0)
		return kura_error_errno(KURA_EIO, errno, "%s: fsync", path);
	return 0;
}

int files_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return kura_error_errno(KURA_EIO, errno, "%s", path);
	if (fsync(fd) < 0)
		err = kura_error_errno(KURA_EIO, errno, "%s: fsync", path);
	close(fd);
	return err;
}

/* Create `path` (must not exist) with `len` bytes and `mode`, fsynced. */
int files_write_new(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd, err;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return kura_error_errno(kura_errno_code(errno), errno, "%s: cannot create", path);
	err = write_all_sync(fd, path, data, len);
	if (close(fd) < 0 && err == 0)
		err = kura_error_errno(KURA_EIO, errno, "%s: cannot write", path);
	if (err < 0)
		unlink(path);
	return err;
}

/*
 * Put `text` at DIRPATH/NAME through a fsynced temporary file: renamed
 * over the old file, or (`fresh`) linked into place only if NAME is free
 * (KURA_EEXISTS otherwise); then the directory is fsynced.
 */
int files_write_atomic(const char *dirpath, const char *name, const char *text, bool fresh)
{
	char *tmp = NULL, *path = NULL;
	bool made = false; /* the temporary name exists */
	int fd = -1, err = 0;

	if (asprintf(&tmp, "%s/.tmp-XXXXXX", dirpath) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if (asprintf(&path, "%s/%s", dirpath, name) < 0) {
		free(tmp);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s: cannot create", dirpath);
		goto done;
	}
	made = true;
	if ((err = write_all_sync(fd, tmp, text, strlen(text))) < 0)
		goto done;
	if (close(fd) < 0) {
		fd = -1;
		err = kura_error_errno(KURA_EIO, errno, "%s: cannot write", tmp);
		goto done;
	}
	fd = -1;
	if (fresh) {
		if (link(tmp, path) < 0)
			err = errno == EEXIST
				  ? kura_error_set(KURA_EEXISTS, "%s exists", path)
				  : kura_error_errno(kura_errno_code(errno), errno, "%s", path);
	} else if (rename(tmp, path) < 0) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s", path);
	} else {
		made = false;
	}
	if (err == 0)
		err = files_fsync_dir(dirpath);
done:
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmp); /* after link(), or a failure */
	free(tmp);
	free(path);
	return err;
}

/* RFC 3339 UTC with nanoseconds. */
void files_format_time(char out[40], int64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	char date[24];

	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	gmtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%s.%09ldZ", date, frac);
}

int files_make_dir(const char *dir, const char *sub)
{
	char *path = NULL;
	int err = 0;

	if (asprintf(&path, "%s/%s", dir, sub) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		err = kura_error_errno(kura_errno_code(errno), errno, "%s: mkdir", path);
	free(path);
	return err;
}

int files_subdir(const char *dir, const char *sub, char **out)
{
	if (asprintf(out, "%s/%s", dir, sub) < 0) {
		*out = NULL;
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	if (mkdir(*out, 0700) < 0 && errno != EEXIST) {
		int err = kura_error_errno(kura_errno_code(errno), errno, "%s: mkdir", *out);

		free(*out);
		*out = NULL;
		return err;
	}
	return 0;
}

char *files_json_text(const json_t *doc)
{
	char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2)), *out = NULL;

	if (text && asprintf(&out, "%s\n", text) < 0)
		out = NULL;
	free(text);
	return out;
}

void files_format_time_s(char out[40], int64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000LL);
	struct tm tm;

	if (ns % 1000000000LL < 0)
		sec--;
	gmtime_r(&sec, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "ID.json" -> ID (1..FILES_RECORD_ID_MAX, no leading zero); 0 for any other name. */
static unsigned long record_id(const char *name)
{
	unsigned long id = 0;
	size_t i;

	for (i = 0; name[i] >= '0' && name[i] <= '9'; i++) {
		if (i >= 9 || (i == 0 && name[i] == '0'))
			return 0;
		id = id * 10 + (unsigned long)(name[i] - '0');
	}
	return i > 0 && strcmp(name + i, ".json") == 0 ? id : 0;
}

static int by_id(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

int files_record_ids(const char *dir, unsigned long **out, size_t *out_n)
{
	unsigned long *ids = NULL, *grown, id;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*out_n = 0;
	if (!(d = opendir(dir)))
		return errno == ENOENT ? 0
				       : kura_error_errno(kura_errno_code(errno), errno, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		if (!(id = record_id(de->d_name)))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if (!(grown = realloc(ids, cap * sizeof(*ids)))) {
				closedir(d);
				free(ids);
				return kura_error_set(KURA_ENOMEM, "out of memory");
			}
			ids = grown;
		}
		ids[n++] = id;
	}
	closedir(d);
	if (n > 1)
		qsort(ids, n, sizeof(*ids), by_id);
	*out = ids;
	*out_n = n;
	return 0;
}
