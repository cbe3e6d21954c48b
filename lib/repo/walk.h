/* SPDX-License-Identifier: Apache-2.0 */
/*
 * walk.h - helpers shared by the code that reads a snapshot's trees
 * (browse.c: ls and diff; restorer.c: restore): opening a snapshot by any
 * name the user may give, finding a path below its root tree, describing
 * a node for the public API, and a growable path string.
 *
 * Snapshot paths are written "/a/b": the root tree is "" (or "/"), and each
 * component is a node name from a decoded tree, which the tree decoder has
 * already checked (no '/', no NUL, not "." or "..").  Every walk stops at
 * KURA_TREE_MAX_DEPTH (tree.h), so a hostile repository cannot exhaust the
 * stack or the file descriptor table, and every reader agrees with backup
 * on what a snapshot holds.
 */
#ifndef KURA_REPO_WALK_H
#define KURA_REPO_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "format/snapshot.h"
#include "format/tree.h"
#include "repo/repo.h"

/* The depth of the tree of the directory at the normalised `path`: its components. */
unsigned kura_walk__depth(const char *path);

/*
 * Check for the restore key (naming `what`), resolve `snapshot_id` (a full
 * id, a unique prefix or "latest"), load the snapshot and make sure its
 * body was decrypted.  *out belongs to the caller (kura_snapshot_free);
 * out_hex, if not NULL, receives the full id.
 */
int kura_walk__snapshot(kura_snapshot **out, char out_hex[KURA_ID_HEX], kura_repo *repo,
			const char *snapshot_id, const char *what);

/*
 * Normalise a snapshot path: "a//b/" and "/a/b" both give "/a/b"; NULL,
 * "" and "/" give "".  "." components are dropped; ".." is KURA_EINVAL.
 * *out is malloc'd.
 */
int kura_walk__normalize(char **out, const char *path);

/*
 * Find the node at the normalised `path` below the root tree `root`.  For
 * the root itself *out_tree and *out_node are NULL.  Otherwise *out_node
 * points into *out_tree (the tree of the directory that holds it), which
 * the caller frees with kura_tree_free.  KURA_ENOTFOUND names the path.
 */
int kura_walk__find(kura_tree **out_tree, kura_node **out_node, kura_repo *repo,
		    const uint8_t root[KURA_HASH_SIZE], const char *path);

/*
 * SHA-256 over a file's extents (kind, length and chunk id of each): equal
 * digests mean equal content.  Zeroes for nodes that are not files.
 */
void kura_walk__digest(uint8_t out[KURA_HASH_SIZE], const kura_node *n);

/*
 * Describe `n` at `path` for the public API.  Strings are borrowed from
 * `n` and `path`; content_digest points at `digest`, which the caller
 * fills with kura_walk__digest (or NULL to leave it out).
 */
void kura_walk__info(kura_node_info *out, const kura_node *n, const char *path,
		     const uint8_t *digest);

/* A NUL-terminated path that grows by components. */
typedef struct {
	char *s;
	size_t len, cap;
} kura_walk_path;

/* Append "/" and `name`; KURA_ENOMEM. The old length is what to pop back to. */
int kura_walk__push(kura_walk_path *p, const char *name);
/* Append the string as is (no separator). */
int kura_walk__append(kura_walk_path *p, const char *s);
/* Cut back to `len` bytes. */
void kura_walk__pop(kura_walk_path *p, size_t len);
void kura_walk__path_free(kura_walk_path *p);

#endif
