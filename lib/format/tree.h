/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tree.h - trees: the encoded listing of one directory (docs/FORMAT.md,
 * "Trees").  A tree is stored as a blob of type KURA_BLOB_TREE; its id is
 * the HMAC of its encoding, so identical directories are stored once.
 *
 * Invariants a decoded tree always satisfies (the decoder rejects anything
 * else): names are non-empty, at most 255 bytes, contain no '/' or NUL and
 * are neither "." nor ".."; nodes are sorted by name in byte order with no
 * duplicates; the fields present match the node type.
 */
#ifndef KURA_FORMAT_TREE_H
#define KURA_FORMAT_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "kura/kura.h"
#include "common/buf.h"
#include "crypto/crypto.h"

enum { KURA_EXTENT_CHUNK = 0, KURA_EXTENT_HOLE = 1 };
/* On disk only: a chunk stored against another blob (decoded as CHUNK with has_ref). */
#define KURA_EXTENT_CHUNK_REF 2

typedef struct {
	uint8_t kind;                   /* KURA_EXTENT_* */
	uint8_t has_ref;                /* CHUNK: the chunk is stored against blob `ref` */
	uint64_t len;                   /* bytes of the file this extent covers */
	uint8_t id[KURA_HASH_SIZE];     /* chunk id (KURA_EXTENT_CHUNK only) */
	/*
	 * The blob the chunk is stored against (docs/FORMAT.md "Blobs stored
	 * against another"): a reader needs it to read the chunk, so whatever
	 * keeps, checks or copies the chunk keeps, checks or copies it too.
	 */
	uint8_t ref[KURA_HASH_SIZE];
} kura_extent;

typedef struct {
	char *name;
	uint8_t *value;
	uint32_t len;
} kura_xattr;

typedef struct {
	char *name;
	uint8_t type;                   /* KURA_NODE_* from kura.h */
	uint32_t mode;                  /* 07777 bits */
	uint32_t uid, gid;
	char *user, *group;             /* "" when the id has no name */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t size;                  /* files: logical size; symlinks: target length */
	uint64_t rdev;                  /* devices */
	char *target;                   /* symlink target; hard link: path from the snapshot root */
	kura_xattr *xattrs;             /* sorted by name, includes system.posix_acl_* */
	uint32_t nxattrs;
	kura_extent *extents;           /* files: the content in order */
	uint32_t nextents;
	uint8_t subtree[KURA_HASH_SIZE];/* directories: the tree id */
} kura_node;

typedef struct {
	kura_node *nodes;
	size_t count;
} kura_tree;

#define KURA_NAME_MAX 255
#define KURA_TARGET_MAX 4095 /* symlink and hard-link targets, like PATH_MAX - 1 */
#define KURA_XATTR_NAME_MAX 255
#define KURA_XATTR_VALUE_MAX (64u * 1024)

/*
 * The deepest a directory may be nested in a snapshot: the root tree is at
 * depth 0, the tree of /a at 1, of /a/b at 2.  Backup does not store a
 * directory whose tree would be deeper (it warns and skips it), and check,
 * ls, diff and restore refuse to descend deeper, so they all agree on what
 * a snapshot holds and a hostile repository cannot make a reader walk
 * without end.  4096 is twice what a path of PATH_MAX (4096) bytes can
 * name, so only trees built on purpose with openat() reach it, and it is
 * the bound readers have always applied: snapshots that were readable stay
 * readable.
 */
#define KURA_TREE_MAX_DEPTH 4096

/* 0 if `name` may appear in a tree (see the invariants above). */
int kura_tree_name_ok(const char *name, size_t len);

/* Encode (after validating, including sort order) into *out (appended). */
int kura_tree_encode(kura_buf *out, const kura_tree *t);

/* Decode and validate; *out owns every string and array. */
int kura_tree_decode(kura_tree **out, const uint8_t *data, size_t len);

/* Free one node's owned fields (not the node itself). */
void kura_node_clear(kura_node *n);
void kura_tree_free(kura_tree *t);

#endif
