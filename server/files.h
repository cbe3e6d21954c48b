/* SPDX-License-Identifier: Apache-2.0 */
/*
 * files.h - small files of the vault directory: what the vault's
 * state, administration, policy and deletion code all need, written once.
 */
#ifndef KURA_SERVER_FILES_H
#define KURA_SERVER_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* Settings, records and keys are small: larger is corrupt. */
#define VAULT_SMALL_FILE_MAX (1 << 20)

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

/* Make DIR/SUB (mode 0700) if missing.  _subdir: and *out is its path (malloc'd). */
int vault_make_dir(const char *dir, const char *sub);
int vault_subdir(const char *dir, const char *sub, char **out);

/* A JSON document as text with a final newline; malloc'd, NULL when out of memory. */
char *vault_json_text(const json_t *doc);

/* RFC 3339 UTC with nanoseconds: "2026-11-25T21:40:00.123456789Z". */
void vault_format_time(char out[40], int64_t ns);

/* The same to the second: "2026-11-25T21:40:00Z" (what approvers read). */
void vault_format_time_s(char out[40], int64_t ns);

#endif
