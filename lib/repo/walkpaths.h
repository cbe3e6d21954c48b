/* SPDX-License-Identifier: Apache-2.0 */
/*
 * walkpaths.h - the paths given to `kura backup`, as a small tree.
 *
 * `kura backup /etc /home/a` stores a snapshot whose root tree holds `etc`
 * and `home`, and `home` holds `a`.  This module turns the list of paths
 * into that shape: absolute, lexically cleaned, sorted by name, a path
 * inside another given path dropped (it is covered already).
 *
 * Symlinks on the way to a given path are followed, as tar and restic do:
 * `kura backup link/data`, where link points to a directory, stores
 * link/data under that name, with link's metadata taken from the directory
 * it points to.  A given path that is itself a symlink is stored as the
 * symlink (restic does the same; a trailing '/' does not change that).
 */
#ifndef KURA_REPO_WALKPATHS_H
#define KURA_REPO_WALKPATHS_H

#include <stddef.h>

typedef struct kura_walkpath {
	char *name;                       /* this component; "" for the root */
	char *real;                       /* absolute path, as given: the path in the snapshot */
	char *resolved;                   /* real with the symlinks above its last component
					     followed (all of them, if not a leaf): what to open */
	int leaf;                         /* given on the command line: back up all below */
	struct kura_walkpath **children;  /* sorted by name */
	size_t nchildren;
	char **given;                     /* root only: the cleaned paths, in the order given */
	size_t ngiven;
} kura_walkpath;

/* Build the tree; KURA_ENOTFOUND names a path that does not exist. */
int kura_walkpaths_build(kura_walkpath **out, const char *const *paths, size_t count);
void kura_walkpaths_free(kura_walkpath *root);

#endif
