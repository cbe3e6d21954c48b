/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restdelete.c - restore in place: what the snapshot does not have.
 *
 * kura_restore__tidy runs when the walk enters a directory that is
 * restored whole (with --include: one an included pattern covers), before
 * anything is written into it.  It lists the directory and, for each
 * entry the snapshot's directory does not name: a temporary of an earlier
 * restore that was interrupted (restplan.c's pattern) is removed, always
 * and silently; anything else is removed with --delete (ransom notes,
 * "*.locked" copies, files made since the backup), and told as deleted,
 * in directories at or below a path the backup was given (backed_up).
 * The listing is taken then; the removals themselves (not a dry run's,
 * not temporaries) wait in rs.doomed and are done by the calling thread
 * while the workers write the batch's content (kura_restore__wait_jobs
 * takes a few at a time), the rest at the end of the batch: unlinking the
 * many *.locked copies of a ransomed tree overlaps the writing instead of
 * coming before it, and every removal is done before any directory gets
 * its mtime.  A doomed entry's directory is reached again by single names
 * and checked to be the one the walk listed (kura_restore__cursor_fd).
 * Nothing is followed: an entry is lstat-ed, a symlink is removed as
 * itself, a directory is opened with O_NOFOLLOW relative to its parent's
 * fd and emptied depth first (at most RS_RM_DEPTH levels, each one fd).
 * Nothing on another file system than the target's is touched (a mount
 * point inside the target is left with a warning) unless cross_fs.  A dry
 * run lists the same paths and removes nothing.
 */
#include "repo/restshared.h"

#include <dirent.h>

#include "repo/restplan.h"

#define RS_RM_DEPTH 256 /* directories nested deeper are left (each level holds an fd) */

static char *join2(const char *dir, const char *name)
{
	char *s;

	if (asprintf(&s, "%s%s%s", dir, *dir ? "/" : "", name) < 0)
		return NULL;
	return s;
}

typedef struct {
	DIR *d;
	char *name; /* in the parent */
	char *rel;
	bool kept; /* something in it was left: it is not removed */
} rm_level;

/* A directory to empty: its level, or -1 (reported) if it is left. */
static int rm_push(rs *r, rm_level *st, size_t depth, int pfd, const char *name, const char *rel)
{
	struct stat s;
	int fd;

	if (depth >= RS_RM_DEPTH) {
		rs_warn(r, rel, "nested too deep to delete: left");
		return -1;
	}
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &s) < 0) {
		rs_warn(r, rel, "cannot open to delete: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	st[depth] = (rm_level){fdopendir(fd), strdup(name), strdup(rel), false};
	if (!st[depth].d || !st[depth].name || !st[depth].rel) {
		if (!st[depth].d)
			close(fd);
		else
			closedir(st[depth].d);
		free(st[depth].name);
		free(st[depth].rel);
		rs_warn(r, rel, "cannot delete: out of memory");
		return -1;
	}
	return 0;
}

int kura_restore__remove(rs *r, int pdir, const char *name, const char *rel, bool dry)
{
	rm_level *st = NULL;
	size_t depth = 0;
	struct stat s;

	if (fstatat(pdir, name, &s, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		rs_warn(r, rel, "cannot delete: %s", strerror(errno));
		return -1;
	}
	if (s.st_dev != kura_restore__root_dev(r) && !r->cross_fs) {
		rs_warn(r, rel,
			"on another file system than the target's: not deleted (--cross-fs)");
		return -1;
	}
	if (!S_ISDIR(s.st_mode)) {
		if (!dry && unlinkat(pdir, name, 0) < 0) {
			rs_warn(r, rel, "cannot delete: %s", strerror(errno));
			return -1;
		}
		kura_restore__note(r, KURA_RESTORE_DELETE, rel);
		return 0;
	}
	if (!(st = calloc(RS_RM_DEPTH, sizeof(*st))))
		return kura_error_set(KURA_ENOMEM, "restore: out of memory");
	if (rm_push(r, st, 0, pdir, name, rel) < 0) {
		free(st);
		return -1;
	}
	depth = 1;
	while (depth > 0) {
		rm_level *top = &st[depth - 1];
		int tfd = dirfd(top->d);
		struct dirent *e;
		char *crel;

		errno = 0;
		if (!(e = readdir(top->d))) {
			int pfd = depth > 1 ? dirfd(st[depth - 2].d) : pdir;
			bool kept = top->kept || errno != 0;

			if (!kept && !dry && unlinkat(pfd, top->name, AT_REMOVEDIR) < 0) {
				rs_warn(r, top->rel, "cannot delete: %s", strerror(errno));
				kept = true;
			}
			if (!kept)
				kura_restore__note(r, KURA_RESTORE_DELETE, top->rel);
			closedir(top->d);
			free(top->name);
			free(top->rel);
			if (--depth > 0 && kept)
				st[depth - 1].kept = true;
			continue;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!(crel = join2(top->rel, e->d_name)) ||
		    fstatat(tfd, e->d_name, &s, AT_SYMLINK_NOFOLLOW) < 0) {
			rs_warn(r, crel ? crel : top->rel, "cannot delete: %s",
				crel ? strerror(errno) : "out of memory");
			top->kept = true;
		} else if (s.st_dev != kura_restore__root_dev(r) && !r->cross_fs) {
			rs_warn(r, crel,
				"on another file system than the target's: not deleted "
				"(--cross-fs)");
			top->kept = true;
		} else if (S_ISDIR(s.st_mode)) {
			if (rm_push(r, st, depth, tfd, e->d_name, crel) < 0)
				top->kept = true;
			else
				depth++;
		} else if (!dry && unlinkat(tfd, e->d_name, 0) < 0) {
			rs_warn(r, crel, "cannot delete: %s", strerror(errno));
			top->kept = true;
		} else {
			kura_restore__note(r, KURA_RESTORE_DELETE, crel);
		}
		free(crel);
	}
	free(st);
	return 0;
}

/*
 * Whether the directory at `rel` below the target is at or below a path
 * the snapshot's backup was given: the directories above those (/, /srv)
 * only hold the way there, so --delete leaves what else is in them (a
 * whole snapshot of /srv/files restored into / must not empty /etc).
 */
static bool backed_up(const rs *r, const char *rel)
{
	char *dir;
	bool yes = r->snap->npaths == 0; /* no paths recorded: nothing to go by */

	if (asprintf(&dir, "%s/%s", r->root_snap, rel) < 0)
		return false;
	if (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
		dir[strlen(dir) - 1] = '\0';
	for (size_t i = 0; i < r->snap->npaths && !yes; i++) {
		const char *p = r->snap->paths[i];
		size_t len = strlen(p);

		while (len > 1 && p[len - 1] == '/')
			len--;
		yes = (len == 1 && p[0] == '/') ||
		      (strncmp(dir, p, len) == 0 && (dir[len] == '\0' || dir[len] == '/'));
	}
	free(dir);
	return yes;
}

/* f's path below the target, to be said: made once into *cache. */
static const char *frame_path(const rs_frame *f, char **cache)
{
	if (!*cache)
		*cache = kura_restore__frame_rel(f, NULL);
	return *cache ? *cache : "(a path too long to say: out of memory)";
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int kura_restore__tidy(rs *r, const rs_frame *f, const kura_node *nodes, size_t count)
{
	const char **names = NULL;
	char **extra = NULL, *frel = NULL;
	size_t nnames = 0, nextra = 0, cap = 0;
	struct dirent *e;
	DIR *d = NULL;
	int fd = -1, dfd, err = 0;
	bool del;

	if (!r->inplace || !f->included || f->skipped)
		return 0;
	/* its path, made only for --delete or to be said: a deep chain's add up to its square */
	if (r->delete_extra && !(frel = kura_restore__frame_rel(f, NULL)))
		return kura_error_set(KURA_ENOMEM, "restore: out of memory");
	del = r->delete_extra && backed_up(r, frel);
	/* by single names from the nearest open frame, never by its path */
	dfd = f->fd >= 0 ? f->fd : (fd = kura_restore__frame_reopen(r, f));
	if (dfd < 0) {
		free(frel);
		return 0; /* the walk reports a directory it cannot open */
	}
	if (count && !(names = malloc(count * sizeof(*names)))) {
		err = kura_error_set(KURA_ENOMEM, "restore: out of memory");
		goto done;
	}
	for (size_t i = 0; i < count; i++)
		if (nodes[i].name)
			names[nnames++] = nodes[i].name;
	if (nnames)
		qsort(names, nnames, sizeof(*names), name_cmp);
	/* Listed first, removed after: the listing is not changed under readdir. */
	{
		int dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
			if (dup_fd >= 0)
				close(dup_fd);
			rs_warn(r, frame_path(f, &frel), "cannot list the directory: %s",
				strerror(errno));
			goto done;
		}
	}
	while ((e = readdir(d))) {
		const char *key = e->d_name;

		if (!strcmp(key, ".") || !strcmp(key, "..") ||
		    (nnames && bsearch(&key, names, nnames, sizeof(*names), name_cmp)))
			continue;
		if (!del && !kura_restore__is_tmp(key))
			continue;
		if ((err = KURA_ARRAY_GROW(extra, cap, nextra + 1)) < 0 ||
		    !(extra[nextra] = strdup(key))) {
			err = kura_error_set(KURA_ENOMEM, "restore: out of memory");
			goto done;
		}
		nextra++;
	}
	for (size_t i = 0; i < nextra; i++) {
		struct stat st;
		char *rel;

		if (kura_restore__is_tmp(extra[i])) {
			/* Left by an interrupted restore: ours, never a directory, never told. */
			if (!r->dry_run && fstatat(dfd, extra[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    !S_ISDIR(st.st_mode) && unlinkat(dfd, extra[i], 0) < 0)
				rs_warn(r, frame_path(f, &frel),
					"cannot remove the temporary %s: %s", extra[i],
					strerror(errno));
			continue;
		}
		if (!r->dry_run) {
			/* removed while the batch's content is written
			 * (kura_restore__remove_doomed) */
			if ((err = KURA_ARRAY_GROW(r->doomed, r->doomed_cap, r->ndoomed + 1)) < 0)
				goto done;
			r->doomed[r->ndoomed++] =
			    (rs_doomed){f->node ? f->dir : SIZE_MAX, extra[i]};
			extra[i] = NULL;
			continue;
		}
		if (!(rel = join2(frame_path(f, &frel), extra[i]))) {
			err = kura_error_set(KURA_ENOMEM, "restore: out of memory");
			goto done;
		}
		if (kura_restore__remove(r, dfd, extra[i], rel, r->dry_run) == KURA_ENOMEM)
			err = KURA_ENOMEM;
		free(rel);
		if (err < 0)
			goto done;
	}
done:
	for (size_t i = 0; i < nextra; i++)
		free(extra[i]);
	free(extra);
	free(names);
	free(frel);
	if (d)
		closedir(d);
	if (fd >= 0)
		close(fd);
	return err;
}

bool kura_restore__remove_doomed(rs *r, size_t max)
{
	for (size_t done = 0; done < max && r->doomed_next < r->ndoomed; done++) {
		rs_doomed *d = &r->doomed[r->doomed_next++];
		char *rel = kura_restore__dir_rel(r, d->dir, d->name);
		int fd = kura_restore__cursor_fd(r, &r->cursor, d->dir);

		if (!rel)
			r->doomed_err = kura_error_set(KURA_ENOMEM, "restore: out of memory");
		else if (fd < 0)
			rs_warn(r, rel, "cannot delete: its directory cannot be opened again: %s",
				strerror(-fd));
		else if (kura_restore__remove(r, fd, d->name, rel, false) == KURA_ENOMEM)
			r->doomed_err = KURA_ENOMEM;
		free(rel);
		free(d->name);
		d->name = NULL;
	}
	if (r->doomed_next == r->ndoomed)
		r->doomed_next = r->ndoomed = 0; /* the array is used again, not grown */
	return r->ndoomed > 0;
}

void kura_restore__doomed_free(rs *r)
{
	for (size_t i = r->doomed_next; i < r->ndoomed; i++)
		free(r->doomed[i].name);
	free(r->doomed);
	r->doomed = NULL;
	r->ndoomed = r->doomed_cap = r->doomed_next = 0;
}
