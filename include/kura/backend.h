/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backend.h - storage backends as a user of the library sees them: the
 * file types a repository holds, how to open a local directory or a
 * vault's repository, and the checked calls that reach what only some
 * stores can do (remove a file, clean up after crashes, take a deletion
 * request).  The handle is opaque here; kura/sys/backend.h is the header
 * for writing a backend (the struct, its slots and the rules every
 * backend keeps).
 *
 * Every call returns 0 or a negative KURA_E* code (kura/kura.h) with a
 * per-thread message.  A call that needs an optional slot the backend
 * does not have answers KURA_EUNSUPPORTED saying what this store cannot
 * do; kura_backend_has() asks first.
 */
#ifndef KURA_BACKEND_H
#define KURA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
	KURA_FILE_CONFIG = 0,
	KURA_FILE_KEY = 1,
	KURA_FILE_SNAPSHOT = 2,
	KURA_FILE_INDEX = 3,
	KURA_FILE_PACK = 4,
	KURA_FILE_DRILL = 5, /* drill records (docs/FORMAT.md, "Drill records") */
	KURA_FILE_PROOF = 6, /* copy and check records (docs/FORMAT.md, "Proof records") */
	KURA_FILE_ACCEPT = 7, /* acceptance records (docs/FORMAT.md, "Acceptance records") */
} kura_file_type;

#define KURA_FILE_TYPES 8

/* The directory name of each file type ("config", "keys", ...). */
const char *kura_file_type_name(kura_file_type type);

/* What one file of a type is called in messages ("pack", "drill record", ...; "file" if unknown). */
const char *kura_file_type_what(kura_file_type type);

/* A store of repository files; opaque here (kura/sys/backend.h). */
typedef struct kura_backend kura_backend;

/* What an opening of a store may do (kura_backend_access). */
#define KURA_BACKEND_READ 1u
#define KURA_BACKEND_WRITE 2u

/* The optional abilities a caller may ask about (kura_backend_has). */
typedef enum {
	KURA_BACKEND_HAS_LOCK = 1,	       /* keeps backups and prunes apart */
	KURA_BACKEND_HAS_LIST_DETAIL = 2,      /* lists with receive times */
	KURA_BACKEND_HAS_STREAM = 3,	       /* writes a file piece by piece */
	KURA_BACKEND_HAS_REMOVE = 4,	       /* removes files at once */
	KURA_BACKEND_HAS_MTIME = 5,	       /* knows when a file was written */
	KURA_BACKEND_HAS_CLEAN_TMP = 6,	       /* leaves crash debris to clean */
	KURA_BACKEND_HAS_DELETION_REQUESTS = 7, /* deletes only through approvals */
	KURA_BACKEND_HAS_QUARANTINE = 8	        /* hides a revoked writer's uploads */
} kura_backend_ability;

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
 * role may do.  *out belongs to the caller (kura_backend_free).
 */
int kura_backend_vault_open(kura_backend **out, const char *url, const char *credentials_path);

/* Free a backend; accepts NULL. */
void kura_backend_free(kura_backend *b);

/* true if `b` has the optional ability; false for NULL. */
bool kura_backend_has(const kura_backend *b, kura_backend_ability ability);

/* KURA_BACKEND_READ | KURA_BACKEND_WRITE, or what this opening is limited to. */
unsigned kura_backend_access(kura_backend *b);

/*
 * Remove a stored file at once (`kura forget`, `kura prune` on a local
 * repository).  KURA_ENOTFOUND if it is not there; KURA_EUNSUPPORTED on a
 * store that deletes only through approved requests (a vault).
 */
int kura_backend_remove(kura_backend *b, kura_file_type type, const char *name);

/* When a stored file was written (ns since the epoch); KURA_EUNSUPPORTED if unknown. */
int kura_backend_mtime(kura_backend *b, kura_file_type type, const char *name, int64_t *out_ns);

/*
 * Remove what crashes left half-written and untouched for `older_than_s`
 * seconds.  Callers keep a wide margin: a backup's half-filled pack waits,
 * untouched, while the backup walks files that did not change.
 * *out_files and *out_bytes count what was (with dry_run: would be)
 * removed; both 0 on a store that leaves nothing behind.
 */
int kura_backend_clean_tmp(kura_backend *b, int64_t older_than_s, bool dry_run, uint64_t *out_files,
			   uint64_t *out_bytes);

struct kura_repo;

/*
 * The backend an open repository reads and writes through; borrowed, it
 * lives as long as the repository.  Commands that act on stored files
 * without a key (`kura forget`, `kura prune`) reach it this way after the
 * repository was opened with a key.
 */
kura_backend *kura_repo_backend(struct kura_repo *repo);

/*
 * Ask the store holding `b`'s repository to delete (a vault: POST
 * /v1/repos/REPO/deletions with `body_json`, docs/PROTOCOL.md "Deletion
 * requests": {"snapshots": [...], "prune": true|false}, at most 1 MiB).
 * The vault only files the request; it takes effect after its approvals
 * and delay.  Returns 0 whenever the vault answered, whatever the answer:
 * *out_status is the HTTP status (202 when filed) and *out_body (malloc'd,
 * owned by the caller, *out_len bytes, NUL-terminated for convenience but
 * not counted) the JSON it sent, so the caller can show the vault's own
 * explanation.  A negative code only when no answer came (transport, pin,
 * memory) or the arguments are wrong (KURA_EINVAL: a store without
 * deletion requests, body too large).
 */
int kura_vault_request_deletion(kura_backend *b, const char *body_json, long *out_status,
				uint8_t **out_body, size_t *out_len);

/*
 * GET /v1/repos/REPO/deletions: the repository's deletion requests as a
 * JSON array, with the same conventions as kura_vault_request_deletion().
 */
int kura_vault_list_deletions(kura_backend *b, long *out_status, uint8_t **out_body,
			      size_t *out_len);

/*
 * GET /v1/repos/REPO/quarantine: the repository's quarantine records (what
 * the vault hides from readers after `kurad client revoke --since`), with
 * the same conventions as kura_vault_request_deletion().
 */
int kura_vault_list_quarantine(kura_backend *b, long *out_status, uint8_t **out_body,
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

/* -------------------------------------------------------------------- */
/* S3 (docs/FORMAT.md, "S3 layout and Object Lock")                      */

#define KURA_S3_OPTIONS_VERSION 1
#define KURA_S3_LOCK_DAYS_DEFAULT 30

/*
 * How to reach an S3 store.  The library reads no environment: the
 * command line fills these from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, AWS_REGION and AWS_ENDPOINT_URL.  Strings are
 * borrowed for the call.
 */
typedef struct kura_s3_options {
	unsigned version;	   /* KURA_S3_OPTIONS_VERSION */
	const char *access_key;	   /* required */
	const char *secret_key;	   /* required */
	const char *session_token; /* NULL: none */
	const char *region;	   /* NULL: us-east-1 */
	const char *endpoint;	   /* "http(s)://HOST[:PORT]" for s3://BUCKET/PREFIX */
	bool virtual_host;	   /* BUCKET.HOST/KEY instead of HOST/BUCKET/KEY */
	/* creating only */
	uint32_t lock_days;  /* 0: KURA_S3_LOCK_DAYS_DEFAULT */
	bool no_object_lock; /* allow a bucket without Object Lock */
} kura_s3_options;

/* true if `location` is "s3://..." or "s3:http(s)://...". */
bool kura_location_is_s3(const char *location);

/*
 * Open the repository at `url` ("s3://BUCKET/PREFIX" with o->endpoint, or
 * "s3:http(s)://HOST[:PORT]/BUCKET/PREFIX"): reads its lock settings
 * (PREFIX/kura-s3.json; KURA_ENOTFOUND without them).  *out belongs to the
 * caller.
 */
int kura_backend_s3_open(kura_backend **out, const char *url, const kura_s3_options *o);

/*
 * Make `url` ready for a new repository: create the bucket with Object
 * Lock and a default COMPLIANCE retention of o->lock_days, or check that
 * an existing one has Object Lock (KURA_EUNSUPPORTED if it has not,
 * unless o->no_object_lock); KURA_EEXISTS if a repository is there
 * already.  Writes the lock settings, locked and confirmed.
 */
int kura_backend_s3_create(kura_backend **out, const char *url, const kura_s3_options *o);

/* Whether an S3 repository locks its files, and for how many days. */
int kura_s3_lock_info(kura_backend *b, bool *out_locking, uint32_t *out_days);

/* One file seen by kura_s3_extend_locks(). */
typedef struct {
	kura_file_type type;
	const char *name;
	int64_t kept_until; /* the confirmed new lock end (epoch s); 0 dry run; -1 let expire */
} kura_s3_extend_event;

typedef int (*kura_s3_extend_fn)(const kura_s3_extend_event *ev, void *ctx);

typedef struct {
	uint64_t files;	     /* files that kept snapshots need */
	uint64_t extended;   /* of those, locks extended and confirmed */
	uint64_t let_expire; /* snapshots let expire and packs only they (or none) need */
	int64_t until;	     /* the lock end asked for (epoch s) */
} kura_s3_extend_result;

/*
 * Extend the Object Lock of every file the snapshots still need (all
 * but those in `let_expire`) to now + the repository's lock period, each
 * confirmed by a separate request.  No key needed.  fn (may be NULL) is
 * told of each file; a negative return stops.  Run it from the
 * operator's side, never from a backup client (docs/THREATS.md).
 */
int kura_s3_extend_locks(kura_backend *b, const char (*let_expire)[65], size_t nlet, bool dry_run,
			 kura_s3_extend_fn fn, void *ctx, kura_s3_extend_result *out);

/*
 * One repository file a thief with the writer's S3 keys tampered with
 * (kura_s3_audit): its name now shows junk (a newer version with other
 * bytes) or nothing (a delete marker).  Object Lock kept the version kura
 * wrote; reads already find it.
 */
typedef struct {
	kura_file_type type;
	const char *name;
	bool overwritten;    /* a newer version with other bytes */
	bool hidden;	     /* the current version is a delete marker */
	bool intact;	     /* a stored version hashes to the name */
	bool healed;	     /* with heal: the name shows the right bytes again */
	const char *problem; /* why it could not be healed, or NULL */
} kura_s3_attack;

typedef int (*kura_s3_attack_fn)(const kura_s3_attack *a, void *ctx);

/*
 * Look at every version of every repository file (ListObjectVersions) for
 * the work of a thief with the writer's keys: fn (may be NULL) is called
 * for each file overwritten or hidden; *out_count counts them.  With
 * `heal`, each one that a stored version still holds intact is repaired
 * in the store's view: its delete markers are deleted (S3 allows that
 * under Object Lock) and, if junk is on top, the intact version is copied
 * back on top with the repository's lock, confirmed, and read back; what
 * cannot be repaired has kura_s3_attack.problem.  Needs no key.
 */
int kura_s3_audit(kura_backend *b, bool heal, kura_s3_attack_fn fn, void *ctx, uint64_t *out_count);

#ifdef __cplusplus
}
#endif
#endif
