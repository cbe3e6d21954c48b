/* SPDX-License-Identifier: Apache-2.0 */
/*
 * archwalk.c - the backup's walk: the paths given on the command line,
 * then everything below them, in byte order of names (the file cache
 * depends on this order), with an explicit stack of open directories
 * (dirstack.h): no recursion on the data, a bounded number of fds.
 *
 * Each entry fills its slot in its directory's nodes: metadata
 * (fsmeta.c), a hard link to the first name of the same file, a
 * directory to walk next, or a file to read (archfile.c).  What cannot be
 * read is warned about, counted and left out; a failure of the backup
 * itself (archiver.c) stops the walk.  Also here: the single file read
 * from stdin.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/array.h"
#include "common/error.h"
#include "repo/archiver.h"
#include "repo/dirstack.h"
#include "repo/filecache.h"
#include "repo/fsmeta.h"
#include "repo/idmap.h"
#include "repo/walkpaths.h"

/* A bijection of 64-bit values (splitmix64's finaliser: xor-shifts and odd multipliers). */
static uint64_t mix_ino(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* Hard links: the second and later names of a file point to the first. */
static int note_hardlink(archiver *a, kura_node *node, const struct stat *st, const char *path)
{
	kura_blob_loc key = {0}, found;
	int err;

	/*
	 * The map wants uniform leading bytes and st_dev is the same for most
	 * files, so the key leads with a bijective mix of st_ino: still one key
	 * per (dev, ino), never a collision.
	 */
	kura_le64(key.id, mix_ino((uint64_t)st->st_ino));
	kura_le64(key.id + 8, (uint64_t)st->st_dev);
	if (kura_idmap_get(&found, a->hardlinks, key.id)) {
		node->type = KURA_NODE_HARDLINK;
		if (!(node->target = strdup(a->link_paths[found.pack])))
			return kura_error_set(KURA_ENOMEM, "out of memory");
		return 0;
	}
	/* A first name too long to be a link target: its other names are stored as copies. */
	if (strlen(path + 1) > KURA_TARGET_MAX)
		return 0;
	if ((err = KURA_ARRAY_GROW(a->link_paths, a->links_cap, a->nlinks + 1)) < 0)
		return err;
	/* targets are relative to the snapshot root */
	if (!(a->link_paths[a->nlinks] = strdup(path + 1)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	key.pack = (uint32_t)a->nlinks++;
	if ((err = kura_idmap_put(a->hardlinks, &key)) < 0)
		return err;
	return 0;
}

static int open_nofollow(int dirfd, const char *name, int flags)
{
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);

	/* O_NOATIME is refused for files we do not own unless we are root */
	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/*
 * Fill dir->nodes[slot] for `name` in dirfd; `path` is its absolute path,
 * `depth` that of dir's tree.  A directory to walk is returned in *sub
 * (sub->dir not NULL) with its fd open; the caller walks it.
 */
static int process_entry(archiver *a, dir_state *dir, size_t slot, int dirfd, const char *name,
			 const char *path, unsigned depth, walk_sub *sub)
{
	kura_node *node = &dir->nodes[slot];
	struct stat st;
	uint64_t ticket;
	kura_filecache_prev prev;
	int err = 0, fd, known;

	sub->dir = NULL;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		kura_error_errno(KURA_EIO, errno, "stat");
		goto unreadable;
	}
	if ((err = kura_fsmeta_capture(node, dirfd, name, &st)) < 0) {
		if (err == KURA_ENOMEM)
			return err;
		goto unreadable;
	}
	if (!(node->name = strdup(name)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	switch (node->type) {
	case KURA_NODE_DIR:
		if (depth + 1 > KURA_TREE_MAX_DEPTH) {
			/* Readers refuse deeper trees: storing it would make the snapshot damaged. */
			kura_error_set(KURA_EINVAL, "directories nested deeper than %d levels are "
				       "not backed up", KURA_TREE_MAX_DEPTH);
			goto unreadable;
		}
		if ((fd = open_nofollow(dirfd, name, O_RDONLY | O_DIRECTORY)) < 0) {
			kura_error_errno(KURA_EIO, errno, "open directory");
			goto unreadable;
		}
		if (!(sub->dir = calloc(1, sizeof(*sub->dir)))) {
			close(fd);
			return kura_error_set(KURA_ENOMEM, "out of memory");
		}
		sub->dir->parent = dir;
		sub->dir->slot = slot;
		sub->fd = fd;
		sub->dev = st.st_dev;
		sub->ino = st.st_ino;
		kura_backup__child_started(a, dir);
		a->result.dirs++;
		return 0;
	case KURA_NODE_FILE:
		if (st.st_nlink > 1 && (err = note_hardlink(a, node, &st, path)) < 0)
			return err;
		/* walk order: the cache's lookups and records follow it */
		ticket = a->cache ? kura_filecache_reserve(a->cache) : 0;
		if ((err = kura_backup__try_cache(a, node, path, &st, ticket, &known, &prev)) < 0)
			return err;
		if (err == 1) {
			if (a->detect)
				kura_detect_unchanged(a->detect, path);
			a->result.files_unmodified++;
			a->result.bytes_total += (uint64_t)st.st_size;
			return 0;
		}
		if ((fd = open_nofollow(dirfd, name, O_RDONLY | O_NOCTTY)) < 0) {
			kura_error_errno(KURA_EIO, errno, "open");
			kura_backup__cache_skip(a, ticket);
			goto unreadable;
		}
		if (known)
			a->result.files_changed++;
		else
			a->result.files_new++;
		err = kura_backup__process_file(a, dir, slot, fd, 0, path, &st, ticket,
						prev.found ? &prev : NULL);
		close(fd);
		return err;
	default:
		a->result.others++;
		return 0;
	}
unreadable:
	kura_backup__warn(a, path, kura_error_message());
	kura_node_clear(node);
	kura_backup__count_unreadable(a);
	return 0;
}

char *kura_backup__join_path(const char *dir, const char *name)
{
	char *out;

	if (asprintf(&out, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name) < 0)
		return NULL;
	return out;
}

/*
 * Enter the directory `s` (takes its fd): `path` (taken) is its whole
 * path for the first directory of a walk, NULL for one the stack's last
 * kura_dirstack_child named.  If it cannot be entered, its tree completes
 * empty.
 */
static int enter_dir(archiver *a, kura_dirstack *st, const walk_sub *s, char *path,
		     unsigned depth)
{
	size_t n = st->n;
	int err;

	s->dir->pending = 1; /* the walk's token, given back when it leaves */
	err = path ? kura_dirstack_push(st, s->fd, s->dev, s->ino, path, depth, s->dir)
		   : kura_dirstack_push_child(st, s->fd, s->dev, s->ino, depth, s->dir);
	if (st->n == n) {
		kura_backup__child_done(a, s->dir);
		return err;
	}
	if (err == KURA_EIO) {
		kura_backup__warn(a, kura_dirstack_path(st), kura_error_message());
		kura_backup__count_unreadable(a);
		return 0;
	}
	if (err == 0 && st->v[n].n && !(s->dir->nodes = calloc(st->v[n].n, sizeof(kura_node))))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	if (err == 0)
		s->dir->count = st->v[n].n;
	return err;
}

/*
 * Walk the directory `s` (its tree at `depth`, absolute path `path`) and
 * everything below it: names in byte order, each directory entered where
 * its name comes (the file cache depends on this order), with an explicit
 * stack (dirstack.h): no recursion, a bounded number of fds, and one path
 * buffer that grows and shrinks with the walk (no path kept per level).
 * Takes s->fd.
 */
int kura_backup__walk_dirs(archiver *a, const walk_sub *s, const char *path, unsigned depth)
{
	kura_dirstack st = {0};
	char *copy = strdup(path);
	int err;

	if (!copy) {
		close(s->fd);
		s->dir->pending = 1;
		kura_backup__child_done(a, s->dir);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	err = enter_dir(a, &st, s, copy, depth);
	while (st.n > 0) {
		kura_dirframe *t = &st.v[st.n - 1];
		walk_sub sub = {NULL, -1, 0, 0};
		const char *child;
		size_t i;

		if (err || t->next == t->n) {
			kura_backup__child_done(a, kura_dirstack_pop(&st));
			continue;
		}
		if (kura_dirstack_ready(&st) < 0) {
			kura_backup__warn(a, kura_dirstack_path(&st), kura_error_message());
			kura_backup__count_unreadable(a);
			continue;
		}
		i = t->next++;
		if (!(child = kura_dirstack_child(&st, t->names[i]))) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			continue;
		}
		if (!kura_backup__excluded(a, child, t->names[i]))
			err = process_entry(a, t->user, i, t->fd, t->names[i], child, t->depth, &sub);
		if (!err && sub.dir)
			err = enter_dir(a, &st, &sub, NULL, t->depth + 1);
		if (!err)
			err = kura_backup__take_failure(a);
		kura_backup__progress(a, 0);
	}
	kura_dirstack_free(&st);
	return err;
}

/*
 * The nodes above and at the paths given on the command line (their
 * trees at `depth`).  Recursion here is bounded by the paths given, not by
 * the data: a path of PATH_MAX bytes has at most 2048 components.
 */
int kura_backup__walk_vdir(archiver *a, dir_state *dir, const kura_walkpath *vdir, unsigned depth)
{
	int err = 0;

	dir->pending = 1;
	if (vdir->nchildren && !(dir->nodes = calloc(vdir->nchildren, sizeof(*dir->nodes)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	dir->count = vdir->nchildren;
	for (size_t i = 0; i < vdir->nchildren && !err; i++) {
		const kura_walkpath *c = vdir->children[i];
		/* symlinks on the way are resolved: the name to open may differ from the node's */
		const char *base = strrchr(c->resolved, '/') + 1;
		size_t plen = (size_t)(base - c->resolved - 1);
		char *parent = strndup(c->resolved, plen ? plen : 1); /* "/" for /name */
		/* O_PATH: a parent we may search but not list (mode 0711) is fine */
		int pfd = parent ? open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		struct stat st;

		if (pfd < 0) {
			err = parent ? kura_error_errno(KURA_ENOTFOUND, errno, "%s", parent)
				     : kura_error_set(KURA_ENOMEM, "out of memory");
			free(parent);
			break;
		}
		free(parent);
		if (c->leaf) {
			walk_sub s;

			err = process_entry(a, dir, i, pfd, base, c->real, depth, &s);
			if (!err && s.dir)
				err = kura_backup__walk_dirs(a, &s, c->real, depth + 1);
		} else if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
			err = kura_error_set(KURA_ENOTFOUND, "%s is not a directory", c->real);
		} else if ((err = kura_fsmeta_capture(&dir->nodes[i], pfd, base, &st)) == 0) {
			dir_state *sub = calloc(1, sizeof(*sub));

			if (!(dir->nodes[i].name = strdup(c->name)) || !sub) {
				free(sub);
				err = kura_error_set(KURA_ENOMEM, "out of memory");
			} else {
				sub->parent = dir;
				sub->slot = i;
				kura_backup__child_started(a, dir);
				err = kura_backup__walk_vdir(a, sub, c, depth + 1);
			}
		}
		close(pfd);
		if (!err)
			err = kura_backup__take_failure(a);
	}
done:
	kura_backup__child_done(a, dir);
	return err;
}

int kura_backup__backup_stdin(archiver *a, dir_state *root)
{
	const kura_backup_options *o = a->opts;
	kura_node *node;
	struct stat st = {0};
	struct timespec now;
	int err;

	if (kura_tree_name_ok(o->stdin_filename, strlen(o->stdin_filename)) < 0)
		return kura_error_set(KURA_EINVAL, "--stdin-filename '%s' is not a valid file name",
				      o->stdin_filename);
	root->pending = 1;
	if (!(root->nodes = calloc(1, sizeof(*root->nodes))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	root->count = 1;
	node = &root->nodes[0];
	clock_gettime(CLOCK_REALTIME, &now);
	node->type = KURA_NODE_FILE;
	node->mode = 0600;
	node->uid = (uint32_t)getuid();
	node->gid = (uint32_t)getgid();
	node->user = strdup(kura_fsmeta_user_name(node->uid));
	node->group = strdup(kura_fsmeta_group_name(node->gid));
	node->mtime_sec = now.tv_sec;
	node->mtime_nsec = (uint32_t)now.tv_nsec;
	node->name = strdup(o->stdin_filename);
	if (!node->user || !node->group || !node->name)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	a->result.files_new++;
	/* no cache for stdin: ticket 0 */
	err =
	    kura_backup__process_file(a, root, 0, o->stdin_fd, 1, o->stdin_filename, &st, 0, NULL);
	kura_backup__child_done(a, root);
	return err;
}
