/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restdry.c - restore --dry-run: the walk of the restorer (same
 * selection: subpath, includes, depth limit, hostile names refused) that
 * only looks.  Each path the restore would create, replace or delete is
 * told (kura_restore__note) and counted, with the same decisions as the
 * real run (kura_restore__decide, kura_restore__tidy in dry mode); paths
 * left as they were are reported as existing, as the real run reports
 * them.  Nothing in the target is created, written, renamed or removed,
 * and no content is read from the repository (trees only; --verify reads
 * the target's files to hash them).  Directories are opened beneath the
 * target without following symlinks; a directory the restore would
 * create has everything below it told as created.  As in the real walk,
 * paths are made from the frames only to be told, and a level entered
 * closes its parent's fd and hands it back by ".." (device and inode
 * checked) when it is left: a chain of any depth holds a few fds.
 */
#include "repo/restshared.h"

#include "repo/repo.h"
#include "repo/restplan.h"

typedef struct dry_level {
	rs_frame f; /* f.fd -1: not in the target (would be created) */
	kura_tree *tree;
	kura_node *nodes;
	size_t count, i;
	int pass; /* 0: all but directories, 1: directories */
	struct dry_level *up;
	bool closed; /* f.fd closed while a child is walked: dev and ino say what to find */
	dev_t dev;
	ino_t ino;
} dry_level;

/* Close up's fd while its child is walked (not the target's: the caller's). */
static void park(dry_level *up, bool base)
{
	struct stat st;

	if (base || up->f.fd < 0 || fstat(up->f.fd, &st) < 0)
		return;
	up->dev = st.st_dev;
	up->ino = st.st_ino;
	close(up->f.fd);
	up->f.fd = -1;
	up->closed = true;
}

/* Give up its fd back by ".." from the child l leaves; false: it is not there any more. */
static bool unpark(dry_level *up, const dry_level *l)
{
	struct stat st;
	int fd;

	if (!up->closed)
		return true;
	up->closed = false;
	fd = l->f.fd >= 0 ? openat(l->f.fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == up->dev && st.st_ino == up->ino) {
		up->f.fd = fd;
		return true;
	}
	if (fd >= 0)
		close(fd);
	return false;
}

/* Whether the path `rel` below the target is one an --include pattern names. */
static bool dry_included(const rs *r, const char *rel)
{
	char *full;
	bool inc = false;

	if (asprintf(&full, "%s/%s", r->root_snap, rel) >= 0) {
		for (size_t i = 0; i < r->opts->nincludes && !inc; i++)
			inc = fnmatch(r->opts->includes[i], full, 0) == 0;
		free(full);
	}
	return inc;
}

/* The first name of a hard link below the target (as restorer.c's link_source), or NULL. */
static const char *first_name(const rs *r, const kura_node *n)
{
	const char *t = n->target ? n->target : "";
	size_t base = strlen(r->root_snap);

	while (*t == '/')
		t++;
	if (!base)
		return *t ? t : NULL;
	if (strncmp(t, r->root_snap + 1, base - 1) == 0 && t[base - 1] == '/' && t[base])
		return t + base;
	return NULL;
}

/* What the restore would do with the leaf n of the directory open as pfd (-1: to be made). */
static void dry_leaf(rs *r, int pfd, const kura_node *n, const char *rel)
{
	kura_node as_file = *n;
	const char *why;
	struct stat st;

	if (pfd < 0 || fstatat(pfd, n->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (pfd >= 0 && errno != ENOENT)
			rs_fail(r, rel, "cannot look at what is in the target: %s",
				strerror(errno));
		else
			kura_restore__note(r, KURA_RESTORE_CREATE, rel);
		return;
	}
	if (n->type == KURA_NODE_HARDLINK) {
		const char *from = first_name(r, n), *name;
		struct stat a;
		int dfd;

		if (from && (dfd = kura_restore__open_parent(r, from, &name)) >= 0) {
			bool same = fstatat(dfd, name, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
				    a.st_dev == st.st_dev && a.st_ino == st.st_ino;

			close(dfd);
			/*
			 * Already the first name's: it stays so unless the first
			 * name is replaced (a new inode), and the link with it.
			 */
			as_file.type = KURA_NODE_FILE;
			if (same &&
			    kura_restore__decide(r, pfd, &as_file, &st, &why) == RS_REPLACE) {
				kura_restore__note(r, KURA_RESTORE_REPLACE, rel);
				return;
			}
			if (same) {
				r->res->unchanged++;
				return;
			}
		}
		/* a link whose first name is outside what is restored is restored as a copy */
		as_file.type = from ? 0 : KURA_NODE_FILE; /* 0: never the same kind */
	}
	switch (kura_restore__decide(r, pfd, &as_file, &st, &why)) {
	case RS_LEAVE:
		rs_exists(r, rel, "%s", why);
		break;
	case RS_KEEP:
		r->res->unchanged++;
		break;
	default:
		if (S_ISDIR(st.st_mode))
			kura_restore__remove(r, pfd, n->name, rel, true);
		kura_restore__note(r, KURA_RESTORE_REPLACE, rel);
	}
}

/*
 * What the restore would do with the directory n of pfd: its fd when it
 * is there to be reused, -1 when it would be made, -2 when the name is
 * taken and left (its subtree skipped, as the real run skips it).
 */
static int dry_dir(rs *r, int pfd, const kura_node *n, const char *rel)
{
	struct stat st;
	int fd;

	if (pfd < 0 || fstatat(pfd, n->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (pfd >= 0 && errno != ENOENT) {
			rs_fail(r, rel, "cannot look at what is in the target: %s",
				strerror(errno));
			return -2;
		}
		kura_restore__note(r, KURA_RESTORE_CREATE, rel);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		fd = openat(pfd, n->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			rs_fail(r, rel, "cannot open the directory: %s", strerror(errno));
		return fd < 0 ? -2 : fd;
	}
	if (r->overwrite == KURA_OVERWRITE_NEVER ||
	    (st.st_dev != kura_restore__root_dev(r) && !r->cross_fs)) {
		rs_exists(r, rel,
			  "already exists and is not a directory: not replaced, its contents "
			  "are not restored");
		return -2;
	}
	kura_restore__note(r, KURA_RESTORE_REPLACE, rel);
	return -1;
}

static void level_free(dry_level *l, bool base)
{
	if (l->f.fd >= 0 && !base)
		close(l->f.fd);
	kura_tree_free(l->tree);
	if (!base)
		free(l);
}

int kura_restore__dry_walk(rs *r, const rs_frame *root, kura_node *nodes, size_t count)
{
	dry_level base = {.f = *root, .nodes = nodes, .count = count}, *l = &base;
	int err = 0;

	while (err == 0) {
		kura_node *n;
		dry_level *sub;
		char *rel;
		bool inc;
		int fd;

		if (l->i == l->count && l->pass == 0) {
			l->pass = 1;
			l->i = 0;
			continue;
		}
		if (l->i == l->count) {
			dry_level *up = l->up;

			if (l == &base)
				break;
			if (!unpark(up, l)) {
				/* moved or gone since it was entered: the rest is not looked at */
				fail_at(r, &up->f, NULL,
					"cannot reopen directory, skipping the rest of it");
				up->i = up->count;
			}
			level_free(l, false);
			l = up;
			continue;
		}
		n = &l->nodes[l->i++];
		if ((n->type == KURA_NODE_DIR) != (l->pass == 1))
			continue;
		if (kura_tree_name_ok(n->name, strlen(n->name)) < 0) {
			fail_at(r, &l->f, NULL, "refusing a hostile name in the snapshot");
			continue;
		}
		/* made from the frames for each path told, kept nowhere (restdirs.c) */
		if (!(rel = kura_restore__frame_rel(&l->f, n->name))) {
			err = kura_error_set(KURA_ENOMEM, "restore: out of memory");
			break;
		}
		inc = l->f.included || dry_included(r, rel);
		if (l->pass == 0) {
			if (inc)
				dry_leaf(r, l->f.fd, n, rel);
			free(rel);
			continue;
		}
		if (l->f.depth + 1 > KURA_TREE_MAX_DEPTH) {
			rs_fail(r, rel, "directories nested deeper than %d levels: skipped",
				KURA_TREE_MAX_DEPTH);
			free(rel);
			continue;
		}
		if (inc)
			fd = dry_dir(r, l->f.fd, n, rel);
		else if (l->f.fd < 0 ||
			 (fd = openat(l->f.fd, n->name,
				      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			fd = -1;
		if (fd == -2 || !(sub = calloc(1, sizeof(*sub)))) {
			if (fd >= 0)
				close(fd);
			free(rel);
			if (fd != -2)
				err = kura_error_set(KURA_ENOMEM, "restore: out of memory");
			continue;
		}
		sub->f = (rs_frame){&l->f, n, l->f.depth + 1, inc, fd >= 0, false, -1, fd, 0};
		sub->up = l;
		if ((err = kura_repo__load_tree(r->repo, n->subtree, &sub->tree)) < 0) {
			if (err != KURA_ENOMEM) {
				rs_fail(r, rel, "cannot read the directory's tree: %s",
					kura_error_message());
				err = 0;
			}
			level_free(sub, false);
			free(rel);
			continue;
		}
		free(rel);
		sub->nodes = sub->tree->nodes;
		sub->count = sub->tree->count;
		if (fd >= 0)
			park(l, l == &base);
		l = sub;
		if (fd >= 0)
			err = kura_restore__tidy(r, &l->f, l->nodes, l->count);
	}
	while (l != &base) {
		dry_level *up = l->up;

		level_free(l, false);
		l = up;
	}
	return err;
}
