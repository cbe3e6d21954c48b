/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restplan.h - the decisions of a restore in place (restplan.c), shared
 * with --delete (restdelete.c), --dry-run (restdry.c) and the unit tests.
 */
#ifndef KURA_REPO_RESTPLAN_H
#define KURA_REPO_RESTPLAN_H

#include "repo/restshared.h"

/* Temporaries: ".kura-tmp." and 12 lowercase hex digits, beside the name they replace. */
#define RS_TMP_PREFIX ".kura-tmp."
#define RS_TMP_HEX 12

/* What becomes of a path of the snapshot whose name is taken in the target. */
enum { RS_KEEP = 1, RS_REPLACE = 2, RS_LEAVE = 3 };

/*
 * RS_KEEP, RS_REPLACE, or RS_LEAVE with *why the reason it is left, for
 * node n whose name in dirfd is taken by what `st` (an lstat) describes.
 */
int kura_restore__decide(rs *r, int dirfd, const kura_node *n, const struct stat *st,
			 const char **why);

/* Type, and size and mtime (files), target length (symlinks), number (devices) match. */
bool kura_restore__same_kind(const kura_node *n, const struct stat *st);

/* Whether `name` is one of our temporaries; a new random one (malloc'd; NULL: no memory). */
bool kura_restore__is_tmp(const char *name);
char *kura_restore__tmp_name(void);

/* The target's device (fstat once). */
dev_t kura_restore__root_dev(rs *r);

#endif
