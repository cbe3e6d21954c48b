/* SPDX-License-Identifier: Apache-2.0 */
/*
 * files.h - small files of the vault directory: what vault.c, policy.c
 * and deletion.c all need, written once.
 */
#ifndef KURA_SERVER_FILES_H
#define KURA_SERVER_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * A whole regular file of at most `max` bytes, NUL-terminated, never
 * through a symlink; *out malloc'd, *out_len (may be NULL) its length.
 * KURA_ENOTFOUND if absent, KURA_ECORRUPT if not a small regular file.
 */
int vault_read_file(const char *path, size_t max, char **out, size_t *out_len);

/* Create `path` (must not exist) with `len` bytes and `mode`, fsynced. */
int vault_write_new(const char *path, const void *data, size_t len, mode_t mode);

/*
 * Put `text` at DIRPATH/NAME through a fsynced temporary file: renamed
 * over the old file, or (`fresh`) linked into place only if NAME is free
 * (KURA_EEXISTS otherwise); then the directory is fsynced.
 */
int vault_write_atomic(const char *dirpath, const char *name, const char *text, bool fresh);

int vault_fsync_dir(const char *path);

/* RFC 3339 UTC with nanoseconds: "2026-11-25T21:40:00.123456789Z". */
void vault_format_time(char out[40], int64_t ns);

#endif
