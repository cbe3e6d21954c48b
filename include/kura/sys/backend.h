/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sys/backend.h - the interface a storage backend implements: the header
 * for whoever writes a backend (lib/backend/local*.c, vault.c, an object
 * store next), and for the code that drives one (lib/repo, kurad).  A user
 * of the library needs only kura/backend.h: open functions, file types
 * and the opaque handle.
 *
 * A repository is a set of write-once files, each named by the lowercase
 * hex SHA-256 of its own bytes and filed under a type (config, keys, index,
 * snapshots, data).  A backend stores and returns those files; it never
 * needs a key.  An implementation embeds `kura_backend` as its first
 * member `parent`, sets `version` to KURA_BACKEND_VERSION (the _INIT macro
 * or kura_backend_init() does), fills the required slots and those
 * optional slots it has, and leaves the others NULL.  Whoever calls a slot
 * checks an optional one for NULL first and falls back or refuses with a
 * message that says what the store cannot do (kura/backend.h has the
 * checked calls for users).
 *
 * Rules every backend keeps:
 *  - put() makes the file visible only when all its bytes are durable (for
 *    a local disk: written, fsynced, renamed, directory fsynced); so does
 *    stream_commit();
 *  - put() never replaces an existing file: if the name exists it returns 0
 *    without writing (the same name means the same bytes);
 *  - a crash during put() or a stream leaves either nothing or the whole
 *    file visible; what a crash leaves half-written, nothing lists or reads
 *    (clean_tmp() may remove it);
 *  - names are validated (64 lowercase hex digits) before they reach any
 *    path, URL or key the store builds: a hostile name is KURA_EINVAL;
 *  - put/get/get_range/list/list_detail may run concurrently from several
 *    threads; a stream belongs to one thread at a time;
 *  - errors are a negative KURA_E* code with a message naming the file and
 *    the store (kura_error_set); a backend never prints and never aborts.
 *
 * Versions: `version` is checked whenever a repository opens a backend
 * (kura_backend_check); a struct of another version is refused
 * before any slot is read, since its layout is not this one.  The version
 * changes whenever a slot is added, removed or changes meaning.
 */
#ifndef KURA_SYS_BACKEND_H
#define KURA_SYS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kura/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * 1: put/get/get_range/list/free, lock/unlock, list_detail.
 * 2: the optional streaming, remove, mtime, clean_tmp, access and
 *    deletion-request slots.
 * 3: the read_parallel hint.
 */
#define KURA_BACKEND_VERSION 3

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

/* How a repository lock is held (the optional lock slot below). */
typedef enum {
	KURA_LOCK_SHARED = 1,	 /* a backup: any number at once */
	KURA_LOCK_EXCLUSIVE = 2, /* a prune: alone, no backup beside it */
} kura_lock_mode;

/* A held repository lock; what it is belongs to the backend. */
typedef struct kura_backend_lock kura_backend_lock;

/*
 * A file being written piece by piece; what it is belongs to the backend:
 * each backend with streams completes `struct kura_backend_stream` in its
 * own .c file, and nobody else looks inside (C allows each translation
 * unit its own completion of an opaque tag).
 */
typedef struct kura_backend_stream kura_backend_stream;

struct kura_backend {
	unsigned version; /* KURA_BACKEND_VERSION */

	/* ---- required ---------------------------------------------------- */

	/* Store `len` bytes under `name` (64 hex digits, the SHA-256 of data). */
	int (*put)(kura_backend *b, kura_file_type type, const char *name, const void *data,
		   size_t len);

	/* Read a whole file into a malloc'd buffer (*out, owned by the caller). */
	int (*get)(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
		   size_t *out_len);

	/* Read `len` bytes at `offset` into `buf`; short files are KURA_ECORRUPT. */
	int (*get_range)(kura_backend *b, kura_file_type type, const char *name, uint64_t offset,
			 size_t len, uint8_t *buf);

	/*
	 * Call fn for every file of `type`, in no particular order.  A
	 * non-zero return from fn stops the listing; a negative one is
	 * passed back to the caller with its message.
	 */
	int (*list)(kura_backend *b, kura_file_type type, kura_backend_list_fn fn, void *ctx);

	void (*free)(kura_backend *b);

	/* ---- optional: NULL when the backend has no such thing ------------ */

	/*
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

	/*
	 * Streaming writes, for a file whose name is known only when its last
	 * byte is (a backup's pack) or that is too large to hold in memory
	 * (an upload the vault receives).  All four or none.
	 *
	 * stream_open() starts a private temporary file that nothing lists or
	 * reads; stream_append() adds `len` bytes at its end (an error, such
	 * as a full disk, names the temporary file); stream_commit() makes it
	 * durable and visible as `name` of `type` without replacing an
	 * existing file: *out_existed (may be NULL) is true when the name was
	 * taken already (nothing replaced: the same name means the same
	 * bytes).  The caller must have checked that the content hashes to
	 * `name`.  stream_free() ends the stream: one not committed is
	 * discarded with its temporary file; it accepts NULL.  A stream is
	 * freed exactly once, whether its commit succeeded or not.
	 *
	 * A backend without these slots is written through put(): the caller
	 * buffers the whole file (lib/repo/blobstore.c does).
	 */
	int (*stream_open)(kura_backend *b, kura_backend_stream **out);
	int (*stream_append)(kura_backend_stream *s, const void *data, size_t len);
	int (*stream_commit)(kura_backend_stream *s, kura_file_type type, const char *name,
			     bool *out_existed);
	void (*stream_free)(kura_backend_stream *s);

	/*
	 * The file descriptor of a stream's bytes (read-write; after a commit
	 * that stored the file, the stored file itself), for a caller on the
	 * same host that reads an upload back or sets file flags on it (the
	 * vault maps a snapshot's pack list and makes stored files
	 * immutable).  Borrowed: it lives as long as the stream.  NULL where
	 * a stream is not a local file.
	 */
	int (*stream_fd)(kura_backend_stream *s);

	/*
	 * Remove a stored file: `kura prune` and `kura forget` on a store the
	 * user may delete from, and the vault's garbage collection.
	 * KURA_ENOTFOUND if the file is not there.  NULL for a store where
	 * deletions go through approvals (a vault: request_deletion below).
	 */
	int (*remove)(kura_backend *b, kura_file_type type, const char *name);

	/*
	 * When a stored file was written (ns since the epoch): prune keeps
	 * what is younger than its cutoff.  KURA_ENOTFOUND if it is not there.
	 */
	int (*mtime)(kura_backend *b, kura_file_type type, const char *name, int64_t *out_ns);

	/*
	 * Remove what crashes left half-written (streams never committed):
	 * those not modified for `older_than_s` seconds.  *out_files and
	 * *out_bytes count what was (with dry_run: would be) removed.  NULL
	 * where nothing is ever left behind.
	 */
	int (*clean_tmp)(kura_backend *b, int64_t older_than_s, bool dry_run, uint64_t *out_files,
			 uint64_t *out_bytes);

	/*
	 * What this opening of the store may do: KURA_BACKEND_READ and/or
	 * KURA_BACKEND_WRITE (a vault credential's role allows one of them).
	 * NULL: both.
	 */
	unsigned (*access)(kura_backend *b);

	/*
	 * Deletions through the store's own approvals (the vault,
	 * docs/PROTOCOL.md "Deletion requests"): file a request with
	 * `body_json` (request_deletion) or list the requests (list_deletions,
	 * body_json NULL).  0 whenever the store answered, whatever the
	 * answer: *out_status is its status (HTTP: 202 when filed) and
	 * *out_body (malloc'd, NUL-terminated, *out_len bytes not counting
	 * the NUL) its JSON.  A negative code only when no answer came.
	 */
	int (*request_deletion)(kura_backend *b, const char *body_json, long *out_status,
				uint8_t **out_body, size_t *out_len);
	int (*list_deletions)(kura_backend *b, long *out_status, uint8_t **out_body,
			      size_t *out_len);

	/*
	 * What the store keeps hidden from readers (the vault's quarantine,
	 * docs/PROTOCOL.md "Quarantine"), with the answer conventions of
	 * list_deletions.
	 */
	int (*list_quarantine)(kura_backend *b, long *out_status, uint8_t **out_body,
			       size_t *out_len);

	/* ---- hints: 0 when the backend has no opinion --------------------- */

	/*
	 * How many get_range() calls are worth having in flight at once.  A
	 * store reached over a network (S3, a vault) answers each one after a
	 * round trip, so a reader keeps this many going, apart from the
	 * threads that decode; 0 (a local disk): the reader's CPU count is
	 * enough.  Readers bound it by their own memory budget.
	 */
	unsigned read_parallel;
};

/* A backend struct with its version set and every slot NULL. */
#define KURA_BACKEND_INIT                                                                          \
	{                                                                                          \
		.version = KURA_BACKEND_VERSION                                                    \
	}

/*
 * Set `b` to KURA_BACKEND_INIT for `version` (give KURA_BACKEND_VERSION).
 * KURA_EINVAL for another version: this library cannot fill a layout it
 * does not know.
 */
int kura_backend_init(kura_backend *b, unsigned version);

/*
 * 0 if `b` is a backend this library can drive: its version is
 * KURA_BACKEND_VERSION and its required slots are set, and its optional
 * slots come in their groups (lock with unlock, the four stream slots
 * together).  KURA_EUNSUPPORTED naming both versions, or KURA_EINVAL
 * naming the missing slot.  A repository checks every backend it opens.
 */
int kura_backend_check(const kura_backend *b);

/*
 * For a backend's slots: 0 if `type` is a file type and `name` a file
 * name (64 lowercase hex digits); else KURA_EINVAL with a message that
 * starts with `who` ("local backend") and names the type and the name.
 */
int kura_backend_check_name(const char *who, kura_file_type type, const char *name);

/*
 * For a backend's get_range: 0 if `len` bytes from `offset` can lie in a
 * file, that is both ends fit in a file offset (off_t, int64_t) without
 * overflow; else KURA_EINVAL naming the type, the name and the range.  A
 * range past the end of the file passes: only the store knows the size.
 */
int kura_backend_check_range(kura_file_type type, const char *name, uint64_t offset, size_t len);

/*
 * Read a whole file of `type` through b->get and check that its bytes hash
 * to its name, as every reader must (a thief with the writer's credential
 * can put anything under any name).  *out is malloc'd.  The backend's
 * error as it gave it, or KURA_ECORRUPT naming the file and the hash its
 * bytes have.
 */
int kura_backend_get_verified(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
			      size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
