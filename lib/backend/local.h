/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local.h - what the local directory backend's files share (private to
 * lib/backend): local.c (opening and creating a repository directory, the
 * struct and its slots), local_write.c (atomic writes: put and the stream
 * slots), local_read.c (get, get_range, mtime), local_list.c (listing)
 * and local_remove.c (removing a file, cleaning tmp/).
 *
 * The backend keeps only open directory fds, never changed after open;
 * each slot works on its own local state.
 */
#ifndef KURA_LOCAL_H
#define KURA_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kura/sys/backend.h"

#define LOCAL_NAME_LEN 64
#define LOCAL_REL_MAX (LOCAL_NAME_LEN + 4) /* "ab/<name>" and its NUL */
#define LOCAL_DIR_MODE 0700
#define LOCAL_FILE_MODE 0400

typedef struct {
	kura_backend parent;
	char *path;
	int root_fd;
	int tmp_fd;
	int type_fd[KURA_FILE_TYPES]; /* -1: an optional directory missing on a read-only disk */
} local_backend;

/* 0 if `type` and `name` are valid and the type's directory is open; else a KURA_E* code. */
int local_check_args(const local_backend *lb, kura_file_type type, const char *name);

/*
 * The path of a file relative to its type directory: the name itself, or
 * "ab/<name>" for packs.  `out` holds LOCAL_REL_MAX bytes.
 */
void local_rel_path(char out[LOCAL_REL_MAX], kura_file_type type, const char *name);

/* fsync the directory that holds (or held) `name`, so a new or removed name survives a crash. */
int local_fsync_dir(local_backend *lb, kura_file_type type, const char *name);

/* The slots, each as kura/sys/backend.h describes it. */
int local_put(kura_backend *b, kura_file_type type, const char *name, const void *data, size_t len);
int local_stream_open(kura_backend *b, kura_backend_stream **out);
int local_stream_append(kura_backend_stream *s, const void *data, size_t len);
int local_stream_commit(kura_backend_stream *s, kura_file_type type, const char *name,
			bool *out_existed);
void local_stream_free(kura_backend_stream *s);
int local_stream_fd(kura_backend_stream *s);
int local_get(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
	      size_t *out_len);
int local_get_range(kura_backend *b, kura_file_type type, const char *name, uint64_t offset,
		    size_t len, uint8_t *buf);
int local_mtime(kura_backend *b, kura_file_type type, const char *name, int64_t *out_ns);
int local_list(kura_backend *b, kura_file_type type, kura_backend_list_fn fn, void *ctx);
int local_remove(kura_backend *b, kura_file_type type, const char *name);
int local_clean_tmp(kura_backend *b, int64_t older_than_s, bool dry_run, uint64_t *out_files,
		    uint64_t *out_bytes);

#endif
