/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyless.h - what a store that holds no key may know about a repository:
 * file names are SHA-256 hashes of their bytes, and snapshot files carry a
 * plaintext header with the client's claimed time and the packs they
 * reference.  The vault (kurad) and object-store backends build on this.
 *
 * It can also judge most of a file's structure: kura_keyless_validate()
 * is what a store refuses at upload time, so that a stolen writer
 * credential cannot store junk that no reader could ever parse.
 */
#ifndef KURA_KEYLESS_H
#define KURA_KEYLESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kura/backend.h"
#include "kura/kura.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Incremental SHA-256 for data that arrives in pieces (an upload). */
typedef struct kura_hasher kura_hasher;

int kura_hasher_new(kura_hasher **out);
void kura_hasher_update(kura_hasher *h, const void *data, size_t len);
/* The lowercase hex digest: what the file's name must be. */
void kura_hasher_final(kura_hasher *h, char out[KURA_ID_HEX]);
void kura_hasher_free(kura_hasher *h);

/* Whether `name` is a valid repository file name (64 lowercase hex digits); false for NULL. */
bool kura_file_name_is_valid(const char *name);

/*
 * Read a snapshot file's plaintext header without a key: the client's
 * claimed time and the names of the packs it references.  *out_packs is
 * malloc'd (count entries of 65 bytes: hex and NUL).  KURA_ECORRUPT for a
 * file that is not a valid snapshot header.
 */
int kura_snapshot_peek(const uint8_t *data, size_t len, int64_t *out_client_time_ns,
		       char (**out_packs)[KURA_ID_HEX], size_t *out_count);

/*
 * The detection summary a snapshot carries in its plaintext header
 * (docs/FORMAT.md, "Detection summary"): the backup client's verdict, its
 * score and its counts per signal, never a file name.  The client may lie
 * (it may be the attacker's): a vault takes it as a claim to alert on,
 * never as proof that a snapshot is clean.
 */
enum {
	KURA_DETECTION_NONE = 0,    /* no summary (a version 1 snapshot, or detection off) */
	KURA_DETECTION_CLEAN = 1,
	KURA_DETECTION_PARTIAL = 2, /* nothing found, but judged without the client's history */
	KURA_DETECTION_SUSPECT = 3,
};

#define KURA_DETECTION_MAX_BYTES 4096 /* a summary's JSON text */
#define KURA_DETECTION_MAX_COUNTS 32
#define KURA_DETECTION_NAME_MAX 32

typedef struct {
	int verdict;   /* KURA_DETECTION_* */
	int score;     /* 0..100 */
	int history;   /* 1: judged against the previous backup of the same source */
	size_t ncounts;
	struct {
		char name[KURA_DETECTION_NAME_MAX + 1]; /* [a-z0-9-]{1,32}, e.g. "type-mismatch" */
		uint64_t value;
	} counts[KURA_DETECTION_MAX_COUNTS];
} kura_detection_summary;

/*
 * Parse a summary's JSON text (n bytes, at most KURA_DETECTION_MAX_BYTES):
 * 0, or KURA_ECORRUPT naming what is wrong.  Unknown keys are refused, so
 * that no name or other free text can ride along in the clear.
 */
int kura_detection_summary_parse(const uint8_t *text, size_t n, kura_detection_summary *out);

/*
 * The detection summary of a snapshot file, without a key: 0 with
 * out->verdict KURA_DETECTION_NONE for a snapshot without one, KURA_ECORRUPT
 * for a file whose header does not parse.
 */
int kura_snapshot_detection(const uint8_t *data, size_t len, kura_detection_summary *out);

/*
 * An acceptance record's plaintext header (FORMAT.md, "Acceptance
 * records"): the snapshot whose alarm an operator judged false (hex) and
 * when (the operator's clock).  0, or KURA_ECORRUPT / KURA_EUNSUPPORTED.
 */
int kura_accept_peek(const uint8_t *data, size_t len, char out_snapshot[KURA_ID_HEX],
		     int64_t *out_time_ns);

/*
 * Every check a store without a key can make on a whole file of `type`
 * (docs/FORMAT.md, "What a store without a key can check"): not empty;
 * config: the full decoder (every field is plaintext); key: a restore key
 * (kind 1, 276 bytes, KDF limits; a backup key never belongs in a
 * repository); snapshot: the header, sorted unique pack names, room for
 * the sealed key and an encrypted body of 28 .. 16 MiB + 28 bytes; index: the header,
 * 1..2^20 pack names and an encrypted part of a whole number of records;
 * pack: at most 4 GiB - 1, the header, the footer and a trailer length
 * consistent with the size; drill record: the plaintext summary's every
 * field in range and consistent, a details box of 28 .. 64 KiB + 28 bytes;
 * acceptance record: the same of its header, hashes sorted and unique.
 * Every file the real writer produces passes.  0, or KURA_ECORRUPT
 * / KURA_EUNSUPPORTED with a message naming the type and the field
 * ("index: pack count 0 out of range (1..1048576)"); KURA_EINVAL for an
 * unknown type.
 */
int kura_keyless_validate(kura_file_type type, const uint8_t *data, size_t len);

/*
 * The same on a whole file open for reading (the vault's temporary file of
 * an upload).  It is mapped, not read: a pack of 1 GiB costs two pages, an
 * index one.  KURA_EIO if it cannot be mapped.
 */
int kura_keyless_validate_fd(kura_file_type type, int fd);

/* A file as a backend lists it. */
typedef struct {
	char name[KURA_ID_HEX];
	uint64_t size;
} kura_listed_file;

struct kura_backend;

/*
 * Every file of `type` that `b` lists, sorted by name: *out is malloc'd
 * (free() it), *out_count entries, NULL when there are none.  A name that
 * is not a valid file name is skipped.  0, or the backend's error as it
 * gave it (or KURA_ENOMEM).
 */
int kura_list_files(kura_listed_file **out, size_t *out_count, struct kura_backend *b,
		    kura_file_type type);

/* Pack names with their sizes (malloc'd; free with kura_pack_list_free). */
typedef struct {
	char (*names)[KURA_ID_HEX];
	uint64_t *sizes;
	size_t count;
} kura_pack_list;

void kura_pack_list_free(kura_pack_list *l);

struct kura_backend;

/*
 * Keyless garbage collection's plan: the packs stored in `b` that no
 * snapshot's plaintext pack list names, counting the snapshots in `gone`
 * (which the caller is about to remove) as removed already.  Every other
 * snapshot is read, its SHA-256 compared with its name and its header
 * parsed; a snapshot that fails makes the whole plan fail (KURA_ECORRUPT
 * naming it), because its packs are then unknown and nothing may be
 * collected.  The result is sorted by name.
 */
int kura_gc_unreferenced(struct kura_backend *b, const char (*gone)[KURA_ID_HEX], size_t ngone,
			 kura_pack_list *out);

/* What kura_prune() tells its callback, once per event. */
typedef enum {
	KURA_PRUNE_WAITING = 1, /* the repository is held (`message` says by whom): waiting
				   up to lock_wait_ms */
	KURA_PRUNE_REMOVING,    /* about to remove `name`: return >0 to keep it, <0 to stop */
	KURA_PRUNE_REMOVED,     /* removed (dry run: would be) */
	KURA_PRUNE_YOUNG,       /* kept: written at or after the cutoff */
	KURA_PRUNE_GONE,        /* not there any more (another prune took it) */
	KURA_PRUNE_KEPT,        /* kept because the callback said so */
	KURA_PRUNE_FAILED,      /* its time could not be read or it could not be removed:
				   skipped and counted; `error`/`message` say why */
} kura_prune_event_type;

typedef struct {
	kura_prune_event_type type;
	const char *name;    /* the pack (not for WAITING) */
	uint64_t size;       /* its size as listed */
	int64_t mtime_ns;    /* when it was written (0 where unknown) */
	int error;           /* FAILED: the KURA_E* code */
	const char *message; /* FAILED: what went wrong, naming the pack; WAITING: who holds
				the repository */
	size_t done, total;  /* packs decided so far (this one included), of the plan's */
} kura_prune_event;

/*
 * The callback of kura_prune(), called for every event: a negative return
 * stops the prune, which returns that code with the thread's message as
 * the callback left it (the vault: "cannot write the audit entry, so
 * nothing more is removed").  For KURA_PRUNE_REMOVING, >0 keeps the pack
 * (KURA_PRUNE_KEPT follows) and 0 lets it be removed; for the others, 0
 * and >0 are the same.  A KURA_PRUNE_FAILED after a KURA_PRUNE_REMOVING of
 * the same pack means the removal failed; without one, its time could not
 * be read.
 */
typedef int (*kura_prune_fn)(const kura_prune_event *ev, void *ctx);

#define KURA_PRUNE_OPTIONS_VERSION 1

typedef struct {
	unsigned version;         /* KURA_PRUNE_OPTIONS_VERSION */
	int64_t cutoff_ns;        /* remove only packs written before this (ns since the epoch) */
	const char (*gone)[KURA_ID_HEX]; /* snapshots to count as removed already (a dry run of */
	size_t ngone;                    /*   forget --prune), as for kura_gc_unreferenced */
	int dry_run;              /* decide and report, remove nothing, take no lock */
	int64_t lock_wait_ms;     /* how long to wait for backups holding the repository */
	kura_prune_fn fn;         /* may be NULL */
	void *ctx;
} kura_prune_options;

#define KURA_PRUNE_OPTIONS_INIT {KURA_PRUNE_OPTIONS_VERSION, 0, NULL, 0, 0, 0, NULL, NULL}

typedef struct {
	uint64_t unreferenced, unreferenced_bytes; /* the plan */
	uint64_t removed, removed_bytes;           /* dry run: would be */
	uint64_t young, young_bytes;
	uint64_t gone, kept, failed;
} kura_prune_result;

/*
 * Remove from `b` the packs no snapshot lists that were written before
 * opts->cutoff_ns: the one prune of kura, used by `kura prune`, `kura
 * forget --prune` and the vault's garbage collection.
 *
 * Unless it is a dry run, the backend's repository lock is held exclusive
 * (where the backend has one: its lock slot, kura/sys/backend.h) from
 * before the plan is made until the last removal, so no backup runs beside it; if backups hold it
 * longer than opts->lock_wait_ms (KURA_PRUNE_WAITING is reported before
 * waiting), KURA_EBUSY and nothing is removed.  The plan is
 * kura_gc_unreferenced's: if a snapshot cannot be read, it fails and
 * nothing is removed.  Then, pack by pack: its time is read, a pack not
 * older than the cutoff is kept, the callback may veto, the pack is
 * removed.  One rule on errors: a pack whose time cannot be read or that
 * cannot be removed is skipped, counted in out->failed and reported
 * (KURA_PRUNE_FAILED), and the prune goes on; it still returns 0, so the
 * caller decides what a failure means.  <0 only when nothing could be
 * planned, the lock was not had, or the callback stopped it.  The backend
 * must have the remove and mtime slots (a local repository, which the
 * vault's repositories are too); KURA_EINVAL otherwise.  *out counts what was done
 * even when a negative code is returned.
 */
int kura_prune(struct kura_backend *b, const kura_prune_options *opts, kura_prune_result *out);

#ifdef __cplusplus
}
#endif
#endif
