/* SPDX-License-Identifier: Apache-2.0 */
/*
 * copy.h - copy snapshots, and every file they need, from one store of a
 * repository to a mirror of it (docs/FORMAT.md, "Mirrors"): a removable
 * disk for the offline copy, a second vault for the off-site one.
 *
 * Files are named by the SHA-256 of their bytes and their plaintext parts
 * say which packs a snapshot or an index needs, so a copy needs no key:
 * both sides are plain backends.  Every file is re-hashed and validated
 * without a key (kura_keyless_validate) after it is read and before it is
 * written; a file that fails is reported and left behind, and so is every
 * snapshot that needs it.  Only what the target lacks is copied, in the
 * order a backup writes (keys, config, packs, index files, snapshots), so
 * a copy killed at any point leaves a mirror that is consistent as far as
 * it goes and a rerun copies only what is missing.  A keyless
 * verification of the target follows.
 */
#ifndef KURA_COPY_H
#define KURA_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "kura/backend.h"
#include "kura/kura.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What kura_copy() tells its callback. */
typedef enum {
	KURA_COPY_PLANNED = 1, /* the plan is made: `total`/`total_bytes` files to copy */
	KURA_COPY_COPIED,      /* `name` was copied */
	KURA_COPY_FAILED,      /* `name` was not copied: `message` says why */
	KURA_COPY_SKIPPED,     /* snapshot `name` left behind: a file it needs failed */
	KURA_COPY_VERIFYING,   /* the plan is copied; checking the target (`total` files) */
	KURA_COPY_VERIFIED,    /* `name` is in the target as it must be */
	KURA_COPY_BAD_TARGET,  /* `name` is missing or wrong in the target: `message` */
} kura_copy_event_type;

typedef struct {
	kura_copy_event_type type;
	kura_file_type file_type;
	const char *name;      /* the file (not for PLANNED, VERIFYING) */
	uint64_t size;         /* its size, where known */
	const char *message;   /* FAILED, SKIPPED, BAD_TARGET */
	size_t done, total;    /* files done so far (this one included), of the phase's */
	uint64_t done_bytes, total_bytes; /* the same in bytes (copying only) */
} kura_copy_event;

/* Called for every event; a negative return stops the copy with that code. */
typedef int (*kura_copy_fn)(const kura_copy_event *ev, void *ctx);

#define KURA_COPY_OPTIONS_VERSION 1

typedef struct {
	unsigned version; /* KURA_COPY_OPTIONS_VERSION */
	/* Snapshots to copy, each a full id or a unique prefix of one in the
	 * source; none: every snapshot of the source. */
	const char *const *snapshots;
	size_t nsnapshots;
	kura_copy_fn fn; /* may be NULL */
	void *ctx;
} kura_copy_options;

#define KURA_COPY_OPTIONS_INIT {KURA_COPY_OPTIONS_VERSION, NULL, 0, NULL, NULL}

typedef struct {
	uint64_t snapshots;       /* snapshots asked for (all, or those named) */
	uint64_t needed;          /* files the target must hold for them */
	uint64_t present;         /* of those, already in the target before */
	uint64_t copied, copied_bytes;
	uint64_t failed;          /* source files not copied (unreadable, bad hash, invalid) */
	uint64_t skipped;         /* snapshots left behind because a file they need failed */
	uint64_t verified;        /* target files re-hashed after the copy */
	uint64_t verified_listed; /* target files only seen listed with the right size
				     (a vault writer may not read them back; the vault
				     re-hashed each on arrival) */
	uint64_t bad_target;      /* target files missing or wrong */
	uint64_t accepts_refused; /* acceptance records the target would not take from this
				     credential (a vault takes them only from a reader):
				     not copied, not counted as failed */
} kura_copy_result;

/*
 * Copy from `src` to `dst` (a mirror: the same config file, or none yet,
 * in which case the source's key and config files are copied first).
 * Returns 0 when every file was looked at, whatever failed: out->failed,
 * ->skipped and ->bad_target say what did, and the callback was told each.
 * A negative code when nothing sensible could be done: KURA_EINVAL for a
 * target that is another repository (its config differs) or a source with
 * no config, KURA_ENOTFOUND / KURA_EAMBIGUOUS for a snapshot name, the
 * backends' errors for a listing that failed, or the callback's code.
 * *out counts what was done even then.
 */
int kura_copy(kura_backend *src, kura_backend *dst, const kura_copy_options *opts,
	      kura_copy_result *out);

#ifdef __cplusplus
}
#endif
#endif
