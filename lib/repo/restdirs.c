/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restdirs.c - the restorer's directories as parent and name (rs_dir,
 * restshared.h): their paths, made only when one is said, and the cursor
 * a thread reaches them with.
 *
 * A restore of a chain of 4,000 directories of 200-byte names used to
 * keep each one's path (800 KB at the bottom, 1.6 GB in all) and to open
 * each by that path from the target (the kernel resolving the whole
 * chain each time).  Here a directory is reached from the one the cursor
 * holds: up by ".." to the nearest common ancestor, checked to be the
 * directory the restore made there (same device and inode: ".." of a
 * directory moved elsewhere leads elsewhere), then down one name at a
 * time with O_NOFOLLOW, and the end checked the same way.  When the way
 * up cannot be trusted, the way down starts at the target.  Neighbouring
 * directories (the order files, batches and metadata go in) cost a few
 * calls each, and no call is given more than one component ("../.."
 * aside, which never follows a symlink).
 *
 * The walk's frames (restorer.c) are the same: a frame has its parent and
 * its node, a path is made from them only to be said (frame_rel, say_at),
 * and a frame whose fd was closed is opened again by single names from the
 * nearest frame above that holds one (frame_reopen), though leaving a
 * child usually hands its parent an fd by ".." first.
 */
#include "repo/restshared.h"

#define DOTDOT_MAX 1024 /* ".." components per openat: 3 KiB, below PATH_MAX */

char *kura_restore__dir_rel(const rs *r, size_t dir, const char *name)
{
	size_t len = name ? strlen(name) : 0, n;
	char *out, *p;

	for (size_t d = dir; d != SIZE_MAX; d = r->dirs[d].parent)
		len += strlen(r->dirs[d].name) + 1;
	if (!name && len)
		len--; /* no '/' after the directory's own name */
	if (!(out = malloc(len + 1)))
		return NULL;
	p = out + len;
	*p = '\0';
	if (name) {
		n = strlen(name);
		memcpy(p -= n, name, n);
	}
	for (size_t d = dir; d != SIZE_MAX; d = r->dirs[d].parent) {
		if (p != out + len)
			*--p = '/';
		n = strlen(r->dirs[d].name);
		memcpy(p -= n, r->dirs[d].name, n);
	}
	return out;
}

char *kura_restore__file_rel(const rs *r, size_t i)
{
	return kura_restore__dir_rel(r, r->files[i].dir, r->files[i].node.name);
}

void kura_restore__cursor_init(rs_cursor *c)
{
	memset(c, 0, sizeof(*c));
	c->dir = SIZE_MAX;
	c->fd = -1;
}

void kura_restore__cursor_free(rs_cursor *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->down);
	kura_restore__cursor_init(c);
}

static bool is_dir(int fd, const rs_dir *d)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev == d->dev &&
	       st.st_ino == d->ino;
}

/* Up `ups` levels from fd (not closed); -1 on failure. */
static int go_up(int fd, size_t ups)
{
	char up[3 * DOTDOT_MAX];
	int cur = fd;

	while (ups > 0 && cur >= 0) {
		size_t k = ups < DOTDOT_MAX ? ups : DOTDOT_MAX;
		int next;

		for (size_t i = 0; i < k; i++)
			memcpy(up + 3 * i, "../", 3);
		up[3 * k - 1] = '\0';
		next = openat(cur, up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cur != fd)
			close(cur);
		cur = next;
		ups -= k;
	}
	return cur;
}

/* The way from `from` (SIZE_MAX: the target) to `to`: *ups up, then c->down[*ndown - 1 .. 0]. */
static int plan(rs *r, rs_cursor *c, size_t from, size_t to, size_t *ups, size_t *ndown,
		size_t *lca)
{
	size_t x = from, y = to;
	int err;

	*ups = *ndown = 0;
	while (x != y) {
		bool up_x =
		    y == SIZE_MAX || (x != SIZE_MAX && r->dirs[x].depth >= r->dirs[y].depth);
		bool up_y =
		    x == SIZE_MAX || (y != SIZE_MAX && r->dirs[y].depth >= r->dirs[x].depth);

		if (up_x) {
			x = r->dirs[x].parent;
			(*ups)++;
		}
		if (up_y && y != x) {
			if ((err = KURA_ARRAY_GROW(c->down, c->cap, *ndown + 1)) < 0)
				return err;
			c->down[(*ndown)++] = y;
			y = r->dirs[y].parent;
		}
	}
	*lca = x;
	return 0;
}

int kura_restore__cursor_fd(rs *r, rs_cursor *c, size_t dir)
{
	size_t ups, ndown, lca;
	int fd = -1;

	if (dir == SIZE_MAX)
		return r->rootfd;
	if (c->fd >= 0 && c->dir == dir)
		return c->fd;
	if (plan(r, c, c->fd >= 0 ? c->dir : SIZE_MAX, dir, &ups, &ndown, &lca) < 0)
		return -ENOMEM;
	if (lca != SIZE_MAX) {
		/* the common ancestor by "..", if it is still where the restore made it */
		fd = ups ? go_up(c->fd, ups) : dup(c->fd);
		if (fd >= 0 && !is_dir(fd, &r->dirs[lca])) {
			close(fd);
			fd = -1;
		}
		if (fd < 0 && plan(r, c, SIZE_MAX, dir, &ups, &ndown, &lca) < 0)
			return -ENOMEM;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->dir = SIZE_MAX;
	if (fd < 0 && (fd = dup(r->rootfd)) < 0)
		return -errno;
	while (ndown > 0) {
		const rs_dir *d = &r->dirs[c->down[--ndown]];
		int next = openat(fd, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;

		close(fd);
		if (next < 0)
			return -e;
		fd = next;
	}
	if (!is_dir(fd, &r->dirs[dir])) {
		close(fd);
		return -ESTALE;
	}
	c->fd = fd;
	c->dir = dir;
	return fd;
}

/* -------------------------------------------------------------------- */
/* The walk's frames                                                     */

char *kura_restore__frame_rel(const rs_frame *f, const char *name)
{
	size_t len = name ? strlen(name) : 0, n;
	char *out, *p;

	for (const rs_frame *x = f; x->node; x = x->parent)
		len += strlen(x->node->name) + 1;
	if (!name && len)
		len--;
	if (!(out = malloc(len + 1)))
		return NULL;
	p = out + len;
	*p = '\0';
	if (name) {
		n = strlen(name);
		memcpy(p -= n, name, n);
	}
	for (const rs_frame *x = f; x->node; x = x->parent) {
		if (p != out + len)
			*--p = '/';
		n = strlen(x->node->name);
		memcpy(p -= n, x->node->name, n);
	}
	return out;
}

__attribute__((format(printf, 5, 6))) void
kura_restore__say_at(rs *r, int kind, const rs_frame *f, const char *name, const char *fmt, ...)
{
	char msg[1024], *rel = kura_restore__frame_rel(f, name);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kura_restore__tell(r, kind, rel ? rel : "(a path too long to say: out of memory)", msg,
			   NULL);
	free(rel);
}

int kura_restore__frame_reopen(const rs *r, const rs_frame *f)
{
	const rs_frame *a = f, **way;
	size_t n = 0;
	struct stat st;
	int fd, e = 0;

	while ((a = a->parent)->fd < 0 && a->node)
		n++;
	if (!(way = malloc((n + 1) * sizeof(*way))))
		return -ENOMEM;
	way[0] = f;
	for (size_t i = 1; i <= n; i++)
		way[i] = way[i - 1]->parent;
	if ((fd = dup(a->fd)) < 0) {
		free(way);
		return -errno;
	}
	for (size_t i = n + 1; i-- > 0;) {
		int next =
		    openat(fd, way[i]->node->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		e = errno;
		close(fd);
		if ((fd = next) < 0)
			break;
	}
	free(way);
	if (fd < 0)
		return -e;
	if (fstat(fd, &st) < 0 || st.st_dev != r->dirs[f->dir].dev ||
	    st.st_ino != r->dirs[f->dir].ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}
