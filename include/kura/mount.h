/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mount.h - snapshots as a read-only file system, for `kura mount` (a FUSE
 * front end in the client) or any other program that wants to browse a
 * snapshot by inode numbers without restoring it.
 *
 * A kura_fs is a tree of inodes over an open repository (restore key, or a
 * vault reader credential).  With every snapshot ("all") the root holds:
 *
 *   snapshots/<id>        a directory per readable snapshot (its full id),
 *                         holding that snapshot's tree
 *   by-time/<time>        a symlink to ../snapshots/<id> per snapshot, named
 *                         by its ordering time (kura_snapshot_order_ns) in
 *                         local time, YYYY-MM-DDTHH:MM:SS, "-1", "-2"... added
 *                         when two fall in the same second
 *   latest                a symlink to snapshots/<id> of the newest one
 *
 * With one snapshot its tree is the root.  The snapshot list is read once,
 * by kura_fs_open.
 *
 * Inode numbers are handed out a directory at a time, the first time that
 * directory is listed or looked into: its entries get consecutive numbers
 * in name order, so a number always names the same entry for the life of
 * the kura_fs and nothing needs to be forgotten.  Decoded trees stay in
 * memory once visited (the metadata of what was browsed, as restic's mount
 * keeps it); file content goes through a cache of decoded chunks bounded
 * by kura_fs_options.cache_bytes, so reading every file of a snapshot does
 * not grow memory with the data.
 *
 * Names come from decoded trees, whose decoder refuses "", ".", "..", "/"
 * and NUL (docs/FORMAT.md, "Trees"): a directory whose tree holds such a
 * name cannot be decoded and answers KURA_ECORRUPT, so no entry can name
 * a place outside the mount.  Hard links are shown as files of their own
 * (their node carries the content; the first name's path is never
 * followed); symlink targets are returned as stored.
 *
 * Threads: every function may be called from several threads at once on
 * one kura_fs (the repository read path is thread-safe; the inode table
 * and the chunk cache have their own lock).  Pointers a function returns
 * as borrowed stay valid until kura_fs_free.
 */
#ifndef KURA_MOUNT_H
#define KURA_MOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "kura/kura.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kura_fs kura_fs;
typedef struct kura_fs_file kura_fs_file;

/* The root directory's inode number (as FUSE numbers its root). */
#define KURA_FS_ROOT 1

#define KURA_FS_CACHE_DEFAULT (64u * 1024 * 1024)

#define KURA_FS_OPTIONS_VERSION 1

typedef struct {
	unsigned version; /* KURA_FS_OPTIONS_VERSION */
	/* NULL or "all": every snapshot (the layout above); else one snapshot,
	 * by any name kura_snapshot_resolve takes ("latest", an id prefix). */
	const char *snapshot;
	/* Bytes of decoded file content kept for reuse; 0: KURA_FS_CACHE_DEFAULT.
	 * Reads in progress hold at most one chunk each beyond it. */
	uint64_t cache_bytes;
	/* Damaged snapshots left out of "all" (from kura_fs_open only). */
	kura_warning_fn warning;
	void *warning_ctx;
} kura_fs_options;

#define KURA_FS_OPTIONS_INIT                                                                       \
	{                                                                                          \
		.version = KURA_FS_OPTIONS_VERSION                                                 \
	}

/* What stat says about an inode. */
typedef struct {
	uint64_t ino;
	int type;      /* KURA_NODE_*, never KURA_NODE_HARDLINK (shown as a file) */
	uint32_t mode; /* permission bits (07777) */
	uint32_t uid, gid;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t size; /* files: content; symlinks: target length */
	uint64_t rdev;
	uint32_t nlink;
} kura_fs_attr;

/*
 * Build the file system over `repo` (which must stay open until
 * kura_fs_free).  KURA_ENEEDKEY without the restore key; KURA_ENOTFOUND
 * or KURA_EAMBIGUOUS for a snapshot name that names none or several.
 */
int kura_fs_open(kura_fs **out, kura_repo *repo, const kura_fs_options *opts);

/* Free everything, open files included (none may be in use). */
void kura_fs_free(kura_fs *fs);

/* The snapshot shown at the root, or the number shown under snapshots/. */
const char *kura_fs_snapshot(const kura_fs *fs);
size_t kura_fs_snapshot_count(const kura_fs *fs);

/* Attributes of `ino`: KURA_ENOTFOUND for a number never handed out. */
int kura_fs_getattr(kura_fs *fs, uint64_t ino, kura_fs_attr *out);

/*
 * The entry `name` of the directory `parent`: KURA_ENOTFOUND when there is
 * none, KURA_EINVAL when `parent` is not a directory, KURA_ECORRUPT (and
 * other read errors) when its tree cannot be read.
 */
int kura_fs_lookup(kura_fs *fs, uint64_t parent, const char *name, kura_fs_attr *out);

/*
 * Called per entry: `next` is the offset to pass to resume after it.
 * Return non-zero to stop (kura_fs_readdir then returns 0).
 */
typedef int (*kura_fs_dir_fn)(const char *name, const kura_fs_attr *attr, uint64_t next, void *ctx);

/* The entries of directory `ino` from position `offset` (0: the first), in name order. */
int kura_fs_readdir(kura_fs *fs, uint64_t ino, uint64_t offset, kura_fs_dir_fn fn, void *ctx);

/* A symlink's target, borrowed.  KURA_EINVAL if `ino` is not a symlink. */
int kura_fs_readlink(kura_fs *fs, uint64_t ino, const char **out);

/*
 * The value of extended attribute `name` (borrowed; *out_len bytes):
 * KURA_ENOTFOUND when `ino` has none of that name.
 */
int kura_fs_getxattr(kura_fs *fs, uint64_t ino, const char *name, const uint8_t **out,
		     size_t *out_len);

/*
 * The names of `ino`'s extended attributes, each followed by a NUL, as
 * listxattr(2) gives them, into buf (`size` bytes; size 0: only measure).
 * *out_len is the length the whole list needs; KURA_EINVAL when it does
 * not fit in a non-zero `size`.
 */
int kura_fs_listxattr(kura_fs *fs, uint64_t ino, char *buf, size_t size, size_t *out_len);

/* Open a regular file (or hard link) for reading: KURA_EINVAL for anything else. */
int kura_fs_file_open(kura_fs_file **out, kura_fs *fs, uint64_t ino);

/*
 * Read up to `size` bytes at `offset` into buf; *out_len is what was read
 * (short only at the end of the file).  Only the chunks that hold the
 * range are fetched and decrypted, through the cache.  A chunk that
 * cannot be read, or decodes to another length than the tree says, is
 * an error for the whole call (KURA_ECORRUPT, KURA_EIO...).
 */
int kura_fs_file_read(kura_fs_file *f, uint64_t offset, void *buf, size_t size, size_t *out_len);

void kura_fs_file_close(kura_fs_file *f);

#ifdef __cplusplus
}
#endif
#endif
