/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backend.h - the interface a storage backend implements.
 *
 * A repository is a set of write-once files, each named by the lowercase
 * hex SHA-256 of its own bytes and filed under a type (config, keys, index,
 * snapshots, data, drills).  A backend stores and returns those files; it never
 * needs a key.  Implementations embed `kura_backend` as their first member
 * (see lib/backend/local.c) and fill in the function pointers.
 *
 * Rules every backend keeps:
 *  - put() makes the file visible only when all its bytes are durable (for
 *    a local disk: written, fsynced, renamed, directory fsynced);
 *  - put() never replaces an existing file: if the name exists it returns 0
 *    without writing (the same name means the same bytes);
 *  - a crash during put() leaves either nothing or the whole file visible.
 */
#ifndef KURA_BACKEND_H
#define KURA_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KURA_BACKEND_VERSION 1

typedef enum {
	KURA_FILE_CONFIG = 0,
	KURA_FILE_KEY = 1,
	KURA_FILE_SNAPSHOT = 2,
	KURA_FILE_INDEX = 3,
	KURA_FILE_PACK = 4,
	KURA_FILE_DRILL = 5, /* drill records (docs/FORMAT.md, "Drill records") */
} kura_file_type;

#define KURA_FILE_TYPES 6

/* Called once per file by list(); return non-zero to stop listing. */
typedef int (*kura_backend_list_fn)(const char *name, uint64_t size, void *ctx);

/*
 * What a backend knows of one listed file beyond its name and size (the
 * optional list_detail slot below).  Fields may be added at the end; a
 * backend fills what it knows and leaves the rest zero.
 */
typedef struct {
	const char *name;
	uint64_t size;
	/* When the backend itself received the file (ns since the epoch, UTC):
	 * a vault's own clock, not a client's claim.  0: unknown. */
	int64_t received_ns;
	/* Non-NULL when the backend should know received_ns but sent none it
	 * could use (missing, malformed, absurd): why, in a few words. */
	const char *received_problem;
} kura_backend_entry;

typedef int (*kura_backend_entry_fn)(const kura_backend_entry *entry, void *ctx);

typedef struct kura_backend kura_backend;

/* How a repository lock is held (the optional lock slot below). */
typedef enum {
	KURA_LOCK_SHARED = 1,    /* a backup: any number at once */
	KURA_LOCK_EXCLUSIVE = 2, /* a prune: alone, no backup beside it */
} kura_lock_mode;

/* A held repository lock; what it is belongs to the backend. */
typedef struct kura_backend_lock kura_backend_lock;

struct kura_backend {
	unsigned version; /* KURA_BACKEND_VERSION */

	/* Store `len` bytes under `name` (64 hex digits, the SHA-256 of data). */
	int (*put)(kura_backend *b, kura_file_type type, const char *name, const void *data,
		   size_t len);

	/* Read a whole file into a malloc'd buffer (*out, owned by the caller). */
	int (*get)(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
		   size_t *out_len);

	/* Read `len` bytes at `offset` into `buf`; short files are KURA_ECORRUPT. */
	int (*get_range)(kura_backend *b, kura_file_type type, const char *name, uint64_t offset,
			 size_t len, uint8_t *buf);

	/* Call fn for every file of `type`, in no particular order. */
	int (*list)(kura_backend *b, kura_file_type type, kura_backend_list_fn fn, void *ctx);

	void (*free)(kura_backend *b);

	/*
	 * Optional slots: NULL when the backend has no such thing.
	 *
	 * lock() keeps backups and prunes apart (docs/FORMAT.md, "Backups and
	 * prunes"): take the repository's lock in `mode`, waiting at most
	 * `wait_ms` milliseconds (0: not at all) while it is held in a mode
	 * that conflicts.  KURA_EBUSY, saying whether a backup or a prune holds
	 * it, if it is still held then.  *out is the held lock, released by
	 * unlock() (which accepts NULL) or when the process ends; every call
	 * takes a lock of its own, so two in one process conflict as two
	 * processes would.  The vault backend leaves these NULL: the vault
	 * serialises its own garbage collection against the snapshots it
	 * receives.
	 */
	int (*lock)(kura_backend *b, kura_lock_mode mode, int64_t wait_ms, kura_backend_lock **out);
	void (*unlock)(kura_backend *b, kura_backend_lock *lock);

	/*
	 * list() with what the backend knows of each file (kura_backend_entry),
	 * in one listing: the vault's receive time of each snapshot, which
	 * orders the snapshots (docs/FORMAT.md, "Snapshot time").  A local
	 * repository has no receive time and leaves this NULL.
	 */
	int (*list_detail)(kura_backend *b, kura_file_type type, kura_backend_entry_fn fn,
			   void *ctx);
};

/* The directory name of each file type ("config", "keys", ...). */
const char *kura_file_type_name(kura_file_type type);

/* Open an existing local repository directory. KURA_ENOTFOUND if it is not one. */
int kura_backend_local_open(kura_backend **out, const char *path);

/* Create the directory layout of a new local repository (empty or missing dir). */
int kura_backend_local_create(kura_backend **out, const char *path);

/*
 * Open the repository `url` ("vault://HOST:PORT/REPO") held by a kurad
 * vault, with the credential file at `credentials_path` (from `kurad
 * client add`; docs/PROTOCOL.md).  The location must match the
 * credential's vault and repository (KURA_EINVAL otherwise).  Nothing is
 * sent until the first call; the vault then decides what the credential's
 * role may do.  *out belongs to the caller (free with ->free).
 */
int kura_backend_vault_open(kura_backend **out, const char *url, const char *credentials_path);

/* 1 if `b` is a vault's repository (kura_backend_vault_open), else 0; 0 for NULL. */
int kura_backend_is_vault(const kura_backend *b);

/* 1 if `b` is a local repository (kura_backend_local_open/_create), else 0; 0 for NULL. */
int kura_backend_is_local(const kura_backend *b);

struct kura_repo;

/*
 * The backend an open repository reads and writes through; borrowed, it
 * lives as long as the repository.  Commands that act on stored files
 * without a key (`kura forget`, `kura prune`) reach it this way after the
 * repository was opened with a key.
 */
kura_backend *kura_repo_backend(struct kura_repo *repo);

/*
 * Ask the vault holding the repository of `b` (a vault backend) to delete:
 * POST /v1/repos/REPO/deletions with `body_json` (docs/PROTOCOL.md,
 * "Deletion requests": {"snapshots": [...], "prune": true|false}, at most
 * 1 MiB).  The vault only files the request; it takes effect after its
 * approvals and delay.  Returns 0 whenever the vault answered, whatever
 * the answer: *out_status is the HTTP status (202 when filed) and *out_body
 * (malloc'd, owned by the caller, *out_len bytes, NUL-terminated for
 * convenience but not counted) the JSON it sent, so the caller can show
 * the vault's own explanation.  A negative code only when no answer came
 * (transport, pin, memory) or the arguments are wrong (KURA_EINVAL: not a
 * vault backend, body too large).
 */
int kura_vault_request_deletion(kura_backend *b, const char *body_json, long *out_status,
				uint8_t **out_body, size_t *out_len);

/*
 * GET /v1/repos/REPO/deletions: the repository's deletion requests as a
 * JSON array, with the same conventions as kura_vault_request_deletion().
 */
int kura_vault_list_deletions(kura_backend *b, long *out_status, uint8_t **out_body,
			      size_t *out_len);

#define KURA_VAULT_SIGNING_KEY_SIZE 32 /* an Ed25519 public key */

/*
 * An auditor's request to the vault named by the credential at
 * `credentials_path`: `what` is "log" (GET /v1/log, the audit log as JSON
 * lines) or "status" (GET /v1/status, JSON).  The vault decides whether
 * the credential's role may ask (KURA_EDENIED for its 403).  *out is the
 * body, malloc'd and owned by the caller, with *out_len bytes (not
 * NUL-terminated).
 */
int kura_vault_fetch(const char *credentials_path, const char *what, uint8_t **out,
		     size_t *out_len);

/*
 * The vault's public signing key (which signs the audit log's
 * checkpoints) from the credential's "signing_key".  KURA_ENOTFOUND if
 * the credential has none (issued by an older kurad).
 */
int kura_vault_signing_key(uint8_t out[KURA_VAULT_SIGNING_KEY_SIZE], const char *credentials_path);

/*
 * Streaming uploads into a local repository (the vault stores what it
 * receives without holding it in memory, a backup streams its packs):
 * tmpfile() creates a private temporary file in the repository's tmp/ and
 * returns its fd and name; append() writes `len` bytes at the fd's offset
 * (an error, such as a full disk, names the temporary file); commit()
 * fsyncs it, links it into place as `name` of `type` without replacing an
 * existing file, fsyncs the directory and removes the temporary name; it
 * returns 0 when it stored the file, 1 when the name already existed
 * (nothing replaced), or a negative error, and leaves the fd open for the
 * caller.  The caller must have checked that the content hashes to
 * `name`.  abort() closes the fd and removes the temporary file.  A crash
 * leaves the temporary file in tmp/, where anything may be deleted.
 */
int kura_backend_local_tmpfile(kura_backend *b, int *out_fd, char out_tmp[48]);
int kura_backend_local_append(kura_backend *b, int fd, const char *tmp, const void *data,
			      size_t len);
int kura_backend_local_commit(kura_backend *b, kura_file_type type, const char *name, int fd,
			      const char *tmp);
void kura_backend_local_abort(kura_backend *b, int fd, const char *tmp);

/*
 * Remove a stored file of a local repository: `kura prune` on a local
 * repository and the vault's garbage collection, never a client of the
 * vault.  Clears the immutable attribute first where it is set (which
 * needs CAP_LINUX_IMMUTABLE), then unlinks and fsyncs the directory.
 * KURA_ENOTFOUND if the file is not there.
 */
int kura_backend_local_remove(kura_backend *b, kura_file_type type, const char *name);

/*
 * When a stored file of a local repository was written (its mtime, ns
 * since the epoch).  Both remove() and mtime() refuse a backend that is
 * not local (KURA_EINVAL).
 */
int kura_backend_local_mtime(kura_backend *b, kura_file_type type, const char *name,
			     int64_t *out_ns);

/*
 * Remove what crashes left in a local repository's tmp/: regular files not
 * modified for `older_than_s` seconds.  Callers keep a wide margin: a
 * backup's half-filled pack waits in tmp/, untouched, while the backup
 * walks files that did not change.  *out_files and *out_bytes count what was (with
 * dry_run: would be) removed.  Refuses a backend that is not local.
 */
int kura_backend_local_clean_tmp(kura_backend *b, int64_t older_than_s, int dry_run,
				 uint64_t *out_files, uint64_t *out_bytes);

#ifdef __cplusplus
}
#endif
#endif
