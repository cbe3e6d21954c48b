/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dirstack.c - the stack of directories a walk is inside (see dirstack.h).
 *
 * Invariants: the top frame's fd is open, or is a descendant's (below > 0)
 * handed up by pop, or is -1 after a failed reopen; every other frame's fd
 * is its own or -1.  So at most KURA_DIRSTACK_OPEN + 1 fds are held, plus
 * one for a moment while a directory is listed or reopened.
 */
#include "repo/dirstack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/array.h"
#include "common/error.h"

#define DOTDOT_MAX 1024 /* ".." components per openat: 3 KiB, below PATH_MAX */

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int list(kura_dirframe *f)
{
	struct dirent *de;
	size_t cap = 0;
	DIR *d;
	int fd, err = 0;

	if ((fd = dup(f->fd)) < 0 || !(d = fdopendir(fd))) {
		err = kura_error_errno(KURA_EIO, errno, "cannot list directory");
		if (fd >= 0)
			close(fd);
		return err;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((err = KURA_ARRAY_GROW(f->names, cap, f->n + 1)) < 0)
			break;
		if (!(f->names[f->n] = strdup(de->d_name))) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			break;
		}
		f->n++;
	}
	closedir(d);
	if (err < 0)
		return err;
	if (f->n > 1)
		qsort(f->names, f->n, sizeof(char *), name_cmp);
	return 0;
}

static int buf_reserve(kura_dirstack *s, size_t len)
{
	size_t cap = s->bufcap ? s->bufcap : 256;
	char *b;

	if (len + 1 <= s->bufcap)
		return 0;
	while (cap < len + 1)
		cap *= 2;
	if (!(b = realloc(s->buf, cap)))
		return kura_error_set(KURA_ENOMEM, "out of memory for a path of %zu bytes", len);
	s->buf = b;
	s->bufcap = cap;
	return 0;
}

static size_t top_len(const kura_dirstack *s)
{
	return s->n ? s->v[s->n - 1].plen : 0;
}

const char *kura_dirstack_child(kura_dirstack *s, const char *name)
{
	size_t base = top_len(s), nl = strlen(name);
	/* "/" + "a" is "/a"; an empty stack takes the name as the whole path */
	size_t sep = s->n && !(base == 1 && s->buf[0] == '/');

	if (buf_reserve(s, base + sep + nl) < 0)
		return NULL;
	if (sep)
		s->buf[base] = '/';
	memcpy(s->buf + base + sep, name, nl + 1);
	s->len = base + sep + nl;
	return s->buf;
}

const char *kura_dirstack_path(kura_dirstack *s)
{
	if (!s->buf)
		return "";
	s->len = top_len(s);
	s->buf[s->len] = '\0';
	return s->buf;
}

/* Push the frame whose path is the buffer's s->len bytes; takes fd and path (may be NULL). */
static int push_frame(kura_dirstack *s, int fd, dev_t dev, ino_t ino, char *path,
		      unsigned depth, void *user)
{
	kura_dirframe *f;
	const char *slash;
	int err;

	if ((err = KURA_ARRAY_GROW(s->v, s->cap, s->n + 1)) < 0) {
		close(fd);
		free(path);
		return err;
	}
	f = &s->v[s->n++];
	memset(f, 0, sizeof(*f));
	f->user = user;
	f->path = path;
	f->plen = s->len;
	slash = s->len ? memrchr(s->buf, '/', s->len) : NULL;
	f->name_off = slash ? (size_t)(slash - s->buf) + 1 : 0;
	f->depth = depth;
	f->fd = fd;
	f->dev = dev;
	f->ino = ino;
	/* Bound the fds held: the frame KURA_DIRSTACK_OPEN below us closes (never the bottom). */
	if (s->n > KURA_DIRSTACK_OPEN + 1) {
		kura_dirframe *old = &s->v[s->n - 1 - KURA_DIRSTACK_OPEN];

		if (old->fd >= 0) {
			close(old->fd);
			old->fd = -1;
		}
	}
	return list(f);
}

int kura_dirstack_push(kura_dirstack *s, int fd, dev_t dev, ino_t ino, char *path,
		       unsigned depth, void *user)
{
	size_t len = strlen(path);
	int err;

	if ((err = buf_reserve(s, len)) < 0) {
		close(fd);
		free(path);
		return err;
	}
	memcpy(s->buf, path, len + 1);
	s->len = len;
	return push_frame(s, fd, dev, ino, path, depth, user);
}

int kura_dirstack_push_child(kura_dirstack *s, int fd, dev_t dev, ino_t ino, unsigned depth,
			     void *user)
{
	return push_frame(s, fd, dev, ino, NULL, depth, user);
}

/* Open frame i by name from the nearest frame below it with its own fd; no symlink followed. */
static int reopen_down(const kura_dirstack *s, size_t i)
{
	size_t j = i;
	int fd;

	while (j > 0 && (s->v[j].fd < 0 || s->v[j].below))
		j--;
	if (s->v[j].fd < 0 || s->v[j].below)
		return -1;
	fd = s->v[j].fd;
	while (++j <= i && fd >= 0) {
		const kura_dirframe *f = &s->v[j];
		char name[NAME_MAX + 1];
		size_t len = f->plen - f->name_off;
		int next = -1;

		/* its name, from the buffer: the frames below the top hold prefixes of its path */
		if (len > 0 && len <= NAME_MAX) {
			memcpy(name, s->buf + f->name_off, len);
			name[len] = '\0';
			next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}

		if (fd != s->v[j - 1].fd)
			close(fd);
		fd = next;
	}
	return fd;
}

static bool same_dir(int fd, const kura_dirframe *t)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_dev == t->dev && st.st_ino == t->ino;
}

int kura_dirstack_ready(kura_dirstack *s)
{
	kura_dirframe *t = &s->v[s->n - 1];
	char up[3 * DOTDOT_MAX];
	int fd = t->fd;

	if (fd >= 0 && !t->below)
		return 0;
	t->fd = -1;
	/* Up from the descendant's fd: ".." is never a symlink. */
	while (fd >= 0 && t->below > 0) {
		unsigned k = t->below < DOTDOT_MAX ? t->below : DOTDOT_MAX;
		int next;

		for (unsigned c = 0; c < k; c++)
			memcpy(up + 3 * c, "../", 3);
		up[3 * k - 1] = '\0';
		next = openat(fd, up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = next;
		t->below -= k;
	}
	t->below = 0;
	if (fd >= 0 && !same_dir(fd, t)) {
		close(fd); /* the child was moved elsewhere: try by name */
		fd = -1;
	}
	/* ".." also needs search permission on the child, which a listable directory may lack */
	if (fd < 0 && (fd = reopen_down(s, s->n - 1)) >= 0 && !same_dir(fd, t)) {
		close(fd);
		fd = -1;
	}
	if ((t->fd = fd) >= 0)
		return 0;
	t->next = t->n;
	return kura_error_set(KURA_EIO, "cannot return to this directory (moved while it was "
			      "read?): the rest of it is not backed up");
}

void *kura_dirstack_pop(kura_dirstack *s)
{
	kura_dirframe *f = &s->v[--s->n], *p = s->n ? f - 1 : NULL;
	void *user = f->user;

	if (p && p->fd < 0 && f->fd >= 0) {
		p->fd = f->fd;
		p->below = f->below + 1;
	} else if (f->fd >= 0) {
		close(f->fd);
	}
	for (size_t i = 0; i < f->n; i++)
		free(f->names[i]);
	free(f->names);
	free(f->path);
	kura_dirstack_path(s);
	return user;
}

void kura_dirstack_free(kura_dirstack *s)
{
	free(s->v);
	free(s->buf);
	s->v = NULL;
	s->buf = NULL;
	s->n = s->cap = s->len = s->bufcap = 0;
}
