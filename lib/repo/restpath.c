/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restpath.c - the restorer's paths beneath the target (restorer.c,
 * "Staying inside the target"): the target opened (made if missing), and
 * every later path resolved from it without following a symlink or
 * leaving it, with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) in
 * pieces shorter than PATH_MAX, or one component at a time with
 * O_NOFOLLOW on a kernel without openat2.
 */
#include "repo/restshared.h"

/* Open the target, creating it (and its parents) with mode 0700 if missing. */
int kura_restore__open_target(const char *target, int *out)
{
	char *p = NULL;
	int fd, err = 0;

	if ((fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0 || errno != ENOENT)
		goto done;
	if (!(p = strdup(target)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			err = kura_error_errno(KURA_EIO, errno, "cannot create %s", p);
			goto done;
		}
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST) {
		err = kura_error_errno(KURA_EIO, errno, "cannot create the target %s", target);
		goto done;
	}
	fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
done:
	if (!err && fd < 0)
		err = kura_error_errno(errno == EACCES ? KURA_EDENIED : KURA_EIO, errno,
				       "cannot open the target %s", target);
	free(p);
	*out = fd;
	return err;
}


/*
 * openat2 beneath dirfd with no symlink followed, in pieces shorter than
 * PATH_MAX cut at a '/', so that a path deeper than PATH_MAX (a tree up to
 * KURA_TREE_MAX_DEPTH levels of long names) costs a few calls, not one per
 * component.  Each piece is resolved beneath the directory the previous
 * one opened, which is beneath dirfd.  Returns the fd or -errno.
 */
static int openat2_pieces(int dirfd, const char *rel, int flags)
{
	char piece[PATH_MAX];
	int cur = dirfd, fd = -EINVAL;

	for (;;) {
		size_t len = strlen(rel);
		const char *end = rel + len;
		bool last = len < PATH_MAX;
		struct open_how how = {
			.flags = (uint64_t)(last ? flags : O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};

		if (!last) {
			end = rel + PATH_MAX - 1;
			while (end > rel && *end != '/')
				end--;
			if (end == rel) {
				fd = -ENAMETOOLONG;
				break;
			}
		}
		memcpy(piece, rel, (size_t)(end - rel));
		piece[end - rel] = '\0';
		for (int tries = 0; tries < 8; tries++) {
			fd = (int)syscall(SYS_openat2, cur, piece, &how, sizeof(how));
			if (fd >= 0 || errno != EAGAIN) /* EAGAIN: a rename raced with the lookup */
				break;
		}
		if (fd < 0)
			fd = -errno;
		if (cur != dirfd)
			close(cur);
		if (fd < 0 || last)
			break;
		cur = fd;
		rel = end + 1;
	}
	return fd;
}


/*
 * Open `rel` below rootfd without following any symlink or leaving the
 * tree.  Returns the fd or -errno.
 */
int kura_restore__open_beneath(int rootfd, const char *rel, int flags)
{
	static atomic_bool no_openat2;
	const char *c, *end;
	int cur, fd;

	if (!*rel)
		rel = ".";
	flags |= O_NOFOLLOW | O_CLOEXEC;
	if (!atomic_load(&no_openat2)) {
		fd = openat2_pieces(rootfd, rel, flags);
		if (fd == -ENOSYS)
			atomic_store(&no_openat2, true);
		/* ENOSYS and EPERM (seccomp) fall back; the walk below is just as strict. */
		if (fd >= 0 || (fd != -ENOSYS && fd != -EPERM))
			return fd;
	}
	cur = rootfd;
	for (c = rel;; c = end + 1) {
		char name[NAME_MAX + 1];
		size_t len;

		end = strchrnul(c, '/');
		len = (size_t)(end - c);
		if (len == 0 || len > NAME_MAX) {
			fd = -EINVAL;
			break;
		}
		memcpy(name, c, len);
		name[len] = '\0';
		fd = openat(cur, name, *end ? O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC : flags);
		if (fd < 0)
			fd = -errno;
		if (cur != rootfd)
			close(cur);
		if (fd < 0 || !*end)
			break;
		cur = fd;
	}
	return fd;
}


/* The directory part of `rel` and its last component ("" and rel for top-level names). */
int kura_restore__open_parent(rs *r, const char *rel, const char **out_name)
{
	const char *slash = strrchr(rel, '/');
	char *dir;
	int fd;

	*out_name = slash ? slash + 1 : rel;
	if (!slash)
		return kura_restore__open_beneath(r->rootfd, "", O_RDONLY | O_DIRECTORY);
	if (!(dir = strndup(rel, (size_t)(slash - rel))))
		return -ENOMEM;
	fd = kura_restore__open_beneath(r->rootfd, dir, O_RDONLY | O_DIRECTORY);
	free(dir);
	return fd;
}

