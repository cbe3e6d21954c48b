/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dirstack.h - the directories a depth-first walk of the local file
 * system is inside, as an explicit stack: a tree of any depth costs heap,
 * never stack, and a bounded number of file descriptors.
 *
 * Each frame holds a directory's names, sorted bytewise, and the next one
 * to visit; the walker (archwalk.c) visits them in that order and pushes a
 * subdirectory where its name comes, so the walk order is the one the file
 * cache relies on (filecache.h).  Only the KURA_DIRSTACK_OPEN deepest
 * frames keep their fd open (and the bottom one, which the walk started
 * from).  Before the walk goes on in a frame whose fd was closed,
 * kura_dirstack_ready reopens it from the fd of the child just left, with
 * "..", or failing that (the child moved, or may not be searched) by name
 * from the nearest frame that has its fd, with O_NOFOLLOW; either way it
 * must be the same (device, inode) as when it was entered, so nothing is
 * read at a place it was not found at.  A frame
 * with nothing left to visit is never reopened: the child's fd is handed
 * up.  Ordinary trees are shallower than KURA_DIRSTACK_OPEN and cost no
 * system call beyond the listing.
 *
 * Paths: the stack holds one buffer, the path of the top frame; each frame
 * keeps only where its own name starts and ends in it (the frames below
 * are its prefixes).  A walk that enters directories with
 * kura_dirstack_child and kura_dirstack_push_child costs memory in the
 * depth times the name length, not its square (a chain of 4,000
 * directories of 200-byte names: 800 KB, not 1.6 GB), and no path is
 * copied per level.
 */
#ifndef KURA_REPO_DIRSTACK_H
#define KURA_REPO_DIRSTACK_H

#include <stddef.h>
#include <sys/types.h>

/* Directory fds a walk keeps open: deeper than ordinary trees, a small part of any fd limit. */
#define KURA_DIRSTACK_OPEN 16

typedef struct {
	void *user;         /* the walker's state for this directory */
	char *path;         /* absolute, as given to kura_dirstack_push; NULL after push_child */
	size_t plen;        /* length of its path (the buffer's first plen bytes) */
	size_t name_off;    /* where its name starts in the buffer */
	unsigned depth;     /* the walker's: archwalk.c counts from the snapshot root */
	char **names;       /* sorted; names[next..n) are still to visit */
	size_t n, next;
	int fd;             /* usable after kura_dirstack_ready; -1 while closed */
	unsigned below;     /* fd is of a directory this many levels below (0: our own) */
	dev_t dev;          /* what a reopened fd must be */
	ino_t ino;
} kura_dirframe;

typedef struct {
	kura_dirframe *v;   /* v[n - 1] is the top */
	size_t n, cap;
	char *buf;          /* the top frame's path, maybe with a child's name after it */
	size_t len, bufcap; /* bytes in buf (then a NUL) */
} kura_dirstack;

/*
 * Enter the directory open as `fd` (taken), identified by dev and ino,
 * and read its names.  `path` (malloc'd) is taken too, even on failure.
 * 0; KURA_ENOMEM with nothing pushed (fd closed, path freed) if the stack
 * cannot grow; otherwise the frame is pushed, with no names if they could
 * not be read: KURA_EIO (the directory cannot be listed) or KURA_ENOMEM.
 */
int kura_dirstack_push(kura_dirstack *s, int fd, dev_t dev, ino_t ino, char *path,
		       unsigned depth, void *user);

/*
 * The path of `name` in the top frame's directory ("/" between them), in
 * the stack's buffer: valid until the stack changes or is asked again.
 * On an empty stack, `name` is taken as the whole path.  NULL (with
 * KURA_ENOMEM set) if the buffer cannot grow.
 */
const char *kura_dirstack_child(kura_dirstack *s, const char *name);

/*
 * kura_dirstack_push for the directory last named by kura_dirstack_child
 * (its path is that one, not copied): takes `fd`; same returns.
 */
int kura_dirstack_push_child(kura_dirstack *s, int fd, dev_t dev, ino_t ino, unsigned depth,
			     void *user);

/* The top frame's path, in the stack's buffer ("" for an empty stack). */
const char *kura_dirstack_path(kura_dirstack *s);

/*
 * Make the top frame's fd its own open directory, before its next name is
 * visited.  0, or KURA_EIO when it cannot be reopened or is no longer the
 * directory left (moved while it was read): the rest of it is then
 * skipped (next = n) and the caller reports that.
 */
int kura_dirstack_ready(kura_dirstack *s);

/* Leave the top frame; returns its `user`. */
void *kura_dirstack_pop(kura_dirstack *s);

/* Free the stack (pop every frame first: their `user` is the caller's). */
void kura_dirstack_free(kura_dirstack *s);

#endif
