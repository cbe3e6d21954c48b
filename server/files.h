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
int files_read(const char *path, size_t max, char **out, size_t *out_len);

/* Create `path` (must not exist) with `len` bytes and `mode`, fsynced. */
int files_write_new(const char *path, const void *data, size_t len, mode_t mode);

/*
 * Put `text` at DIRPATH/NAME through a fsynced temporary file: renamed
 * over the old file, or (`fresh`) linked into place only if NAME is free
 * (KURA_EEXISTS otherwise); then the directory is fsynced.
 */
int files_write_atomic(const char *dirpath, const char *name, const char *text, bool fresh);

int files_fsync_dir(const char *path);

/* Make DIR/SUB (mode 0700) if missing.  _subdir: and *out is its path (malloc'd). */
int files_make_dir(const char *dir, const char *sub);
int files_subdir(const char *dir, const char *sub, char **out);

/*
 * The numbered records of a store directory (deletion requests, alerts,
 * quarantine records): the ids of its files "ID.json", ID 1..999999999
 * without leading zeros, ascending; other names are not records.  *out
 * malloc'd (NULL when there are none); a missing directory has none.
 */
#define FILES_RECORD_ID_MAX 999999999UL
int files_record_ids(const char *dir, unsigned long **out, size_t *out_n);

/* A JSON document as text with a final newline; malloc'd, NULL when out of memory. */
char *files_json_text(const json_t *doc);

/* RFC 3339 UTC with nanoseconds: "2026-11-25T21:40:00.123456789Z". */
void files_format_time(char out[40], int64_t ns);

/* The same to the second: "2026-11-25T21:40:00Z" (what approvers read). */
void files_format_time_s(char out[40], int64_t ns);

#endif
