/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kura.h - the public API of libkura, the library behind the `kura` client.
 *
 * A repository is opened with a key: either the *restore key* (full access,
 * stored in the repository wrapped under a passphrase with Argon2id, and
 * exportable to a file) or a *backup key* (write-only: it can deduplicate
 * and add snapshots, but cannot decrypt any existing chunk, tree or
 * snapshot).  Functions that need to decrypt return KURA_ENEEDKEY when the
 * repository was opened with a backup key.
 *
 * Conventions: every function returns 0 or a negative KURA_E* code, with a
 * message for the calling thread in kura_error_message().  Results passed
 * back through `out` pointers belong to the caller and are released with the
 * matching _free function, all of which accept NULL.  Snapshot and blob ids
 * cross this API as 64-character lowercase hex strings.
 *
 * Options structs carry a `version` first: initialise them with their
 * _INIT macro (KURA_BACKUP_OPTIONS_INIT...), then set what differs.  A
 * function refuses a struct of a newer version than it knows with
 * KURA_EUNSUPPORTED (a program built against a newer kura.h, linked with
 * an older library); version 0, a struct zeroed by hand, is read as
 * version 1.  Fields are only ever added at the end, with a new version.
 *
 * Threads.  The library may be used from several threads; what may be
 * shared between them:
 *  - Errors are per thread: kura_error_message() and kura_error_code()
 *    describe the last failure of a kura call made on the calling thread,
 *    whatever other threads do meanwhile.  Read them before the next kura
 *    call on that thread.
 *  - A kura_repo may be shared by threads that only read through it:
 *    kura_snapshots_list, kura_snapshot_resolve, kura_ls, kura_diff,
 *    kura_restore, kura_check, kura_repo_damage and the kura_repo_*
 *    getters and exports may run on one handle at once (the index it
 *    loads, its cache of pack keys and its list of damaged files are
 *    behind the handle's own locks).  kura_backup and kura_repair_index
 *    want the handle to themselves: at most one of them at a time, and no
 *    other call on that handle meanwhile (open one handle per concurrent
 *    backup).  kura_repo_free only when no call on the handle is running.
 *  - kura_repo_damage() lists what any thread using the handle found
 *    damaged so far; it returns a copy, safe to read while others add.
 *  - Backup, restore and check --read-data run worker threads of their own
 *    (`threads` in their options) and join them before they return.
 *    Every callback they take (progress, warning, problem, the restore's
 *    problem, kura_ls's and kura_diff's node functions) is called only on
 *    the thread that called the function, one call at a time, never after
 *    it returned: a callback needs no lock unless the caller shares its
 *    ctx with threads of its own.
 *  - A kura_backend (backend.h) is called from the library's worker
 *    threads at once: an implementation must allow that.
 */
#ifndef KURA_KURA_H
#define KURA_KURA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KURA_VERSION "0.1.0"
#define KURA_ID_HEX 65 /* 64 hex digits and a NUL */

enum {
	KURA_OK = 0,
	KURA_ERROR = -1,        /* unspecified failure */
	KURA_ENOMEM = -2,       /* out of memory */
	KURA_EINVAL = -3,       /* invalid argument from the caller */
	KURA_ENOTFOUND = -4,    /* no such repository, snapshot, path, file */
	KURA_EEXISTS = -5,      /* refusing to overwrite */
	KURA_ECORRUPT = -6,     /* stored data fails a structural or hash check */
	KURA_EAUTH = -7,        /* wrong passphrase or failed authentication tag */
	KURA_EDENIED = -8,      /* the store or OS refused the operation */
	KURA_EIO = -9,          /* I/O error from the OS */
	KURA_EUNSUPPORTED = -10,/* format version or feature not understood */
	KURA_ENEEDKEY = -11,    /* the operation needs the restore key */
	KURA_EWEAK = -12,       /* passphrase refused as weak or common */
	KURA_EAMBIGUOUS = -13,  /* snapshot prefix names more than one */
	KURA_ECANCELED = -14,   /* interrupted by the caller */
	KURA_EBUSY = -15,       /* the repository is held by another operation (a backup, a prune) */
};

/* The calling thread's last error message; never NULL. */
const char *kura_error_message(void);
/* The code that went with it. */
int kura_error_code(void);
/* A short, static name for a code ("corrupt data"). */
const char *kura_error_name(int code);

/* The library version string, e.g. "0.1.0". */
const char *kura_version(void);

/*
 * The clock `clock` (CLOCK_REALTIME, CLOCK_MONOTONIC...) in nanoseconds:
 * since the epoch for CLOCK_REALTIME, since an arbitrary point for the
 * others.  Cannot fail for the clocks Linux always has.
 */
int64_t kura_now_ns(clockid_t clock);

/* -------------------------------------------------------------------- */
/* Passphrases                                                           */

/*
 * 0 if `passphrase` is acceptable for a restore key; KURA_EWEAK with a
 * message saying why not (too short, a dictionary word, too simple).
 * Long passphrases are welcome; no complexity rules are imposed.
 */
int kura_passphrase_check(const char *passphrase);

/* -------------------------------------------------------------------- */
/* Repositories                                                          */

typedef struct kura_repo kura_repo;

enum { KURA_KDF_INTERACTIVE = 0, KURA_KDF_MODERATE = 1, KURA_KDF_SENSITIVE = 2 };

#define KURA_INIT_OPTIONS_VERSION 2 /* 2: s3 */

typedef struct {
	unsigned version;        /* KURA_INIT_OPTIONS_VERSION (kura_init_options_default sets it) */
	uint32_t chunk_min;      /* bytes; default 256 KiB */
	uint32_t chunk_avg;      /* bytes, a power of two; default 1 MiB */
	uint32_t chunk_max;      /* bytes; default 4 MiB */
	uint32_t pack_size;      /* target pack file size; default 16 MiB */
	int compression_level;   /* zstd level 1..19, 0 = store uncompressed; default 3 */
	int kdf_profile;         /* KURA_KDF_*; default KURA_KDF_MODERATE */
	/* The credential file for a vault:// location (from `kurad client
	 * add`); the library reads no environment.  Default NULL. */
	const char *vault_credentials;
	/* Version 2: how to reach an S3 location (kura/backend.h); NULL for
	 * others.  Not read from version 1 callers. */
	const struct kura_s3_options *s3;
} kura_init_options;

/* The defaults listed above. */
#define KURA_INIT_OPTIONS_INIT                                                              \
	{KURA_INIT_OPTIONS_VERSION, 256u * 1024, 1024u * 1024, 4096u * 1024, 16u * 1024 * 1024, 3, \
	 KURA_KDF_MODERATE, NULL, NULL}

/* Fill `opts` with the defaults listed above (as KURA_INIT_OPTIONS_INIT does). */
void kura_init_options_default(kura_init_options *opts);

/*
 * Create a new repository at `location` (a local directory that must not
 * exist or be empty, or "vault://HOST:PORT/REPO" with
 * opts->vault_credentials), generate its keys, and store the restore key
 * wrapped under `passphrase`.  The passphrase is checked with
 * kura_passphrase_check() first.  `opts` NULL means the defaults; options
 * of another version are KURA_EINVAL.  On success *out is the open
 * repository.
 */
int kura_repo_init(kura_repo **out, const char *location, const char *passphrase,
		   const kura_init_options *opts);

struct kura_backend;

/* How kura_repo_open_ext() opens a repository. */
typedef struct {
	unsigned version; /* KURA_REPO_OPEN_OPTIONS_VERSION */
	/* A key file: a backup key (no passphrase needed) or an exported
	 * restore key (then `passphrase` unwraps it).  NULL: the restore key
	 * stored in the repository, unwrapped with `passphrase`. */
	const char *key_path;
	const char *passphrase;
	/* The credential file for a vault:// location (from `kurad client
	 * add`); the library reads no environment. */
	const char *vault_credentials;
	/* Open through this backend instead of the one `location` names
	 * (which then only names the repository in messages).  Checked with
	 * kura_backend_check() (kura/sys/backend.h) before anything else;
	 * the repository takes it over on success, the caller keeps it on
	 * failure. */
	struct kura_backend *backend;
	/* Version 2: how to reach an S3 location (kura/backend.h); NULL for
	 * others.  Not read from version 1 callers. */
	const struct kura_s3_options *s3;
	/* Version 3: while the passphrase's Argon2id runs, SHA-256 the packs
	 * of a local repository on a second thread, so that a following
	 * kura_check() with read_data need not hash them again (it still
	 * reads and verifies every blob).  For callers about to run
	 * check --read-data; ignored for vault and S3 repositories, where it
	 * would download packs twice.  Not read from older callers. */
	bool hash_packs_while_unlocking;
} kura_repo_open_options;

#define KURA_REPO_OPEN_OPTIONS_VERSION 3 /* 2: s3, 3: hash_packs_while_unlocking */
#define KURA_REPO_OPEN_OPTIONS_INIT {.version = KURA_REPO_OPEN_OPTIONS_VERSION}

/*
 * Open the repository at `location` as `opts` says (see above).  Options
 * of another version are KURA_EINVAL; a backend of another interface
 * version is KURA_EUNSUPPORTED naming both versions.
 */
int kura_repo_open_ext(kura_repo **out, const char *location, const kura_repo_open_options *opts);

/* Open with the passphrase of a restore key stored in the repository
 * (kura_repo_open_ext() with only a passphrase: a local directory). */
int kura_repo_open_passphrase(kura_repo **out, const char *location, const char *passphrase);

/*
 * Open with a key file: a backup key (no passphrase needed) or an exported
 * restore key (then `passphrase` unwraps it).  kura_repo_open_ext() with
 * only these: a local directory.
 */
int kura_repo_open_keyfile(kura_repo **out, const char *location, const char *key_path,
			   const char *passphrase);

/* true if the repository was opened with the restore key. */
bool kura_repo_can_read(const kura_repo *repo);

/* The repository id as hex; borrowed. */
const char *kura_repo_id(const kura_repo *repo);

/* Write the backup key to `path` (created with mode 0600, never overwritten). */
int kura_repo_export_backup_key(const kura_repo *repo, const char *path);

/* Write the passphrase-wrapped restore key to `path` (mode 0600, never overwritten). */
int kura_repo_export_restore_key(const kura_repo *repo, const char *path);

void kura_repo_free(kura_repo *repo);

/*
 * A repository file that a reader skipped because it does not parse,
 * decrypt or authenticate (or a blob location that does not hold what the
 * index says).  Readers never stop at such a file when they can do
 * without it; they note it here, once per file.
 */
typedef struct {
	char file[96];            /* "index/<hex>", "snapshot/<hex>", "pack/<hex>" */
	char message[256];        /* why */
} kura_damage;

/*
 * The damaged files this handle has seen so far, in the order seen.  *out
 * is a malloc'd copy (free with free()), NULL when there are none.
 */
int kura_repo_damage(kura_repo *repo, kura_damage **out, size_t *out_count);

/* -------------------------------------------------------------------- */
/* Progress and warnings                                                 */

typedef struct {
	uint64_t files_done;
	uint64_t files_total;    /* 0 when not known yet */
	uint64_t bytes_done;
	uint64_t bytes_total;    /* 0 when not known yet */
	double elapsed;          /* seconds since the operation began */
	const char *current;     /* a path being worked on, or NULL */
} kura_progress;

/* Called from the caller's thread at most a few times per second. */
typedef void (*kura_progress_fn)(const kura_progress *progress, void *ctx);

/* A non-fatal problem with one path (unreadable file, failed chmod...). */
typedef void (*kura_warning_fn)(const char *path, const char *message, void *ctx);

/* -------------------------------------------------------------------- */
/* Snapshots                                                             */

typedef struct {
	char id[KURA_ID_HEX];     /* the snapshot file's name */
	int64_t time_ns;          /* the time the snapshot claims (the writing client's
	                             clock): nanoseconds since the epoch, UTC */
	int64_t received_ns;      /* when the vault received it (its own clock); 0: unknown
	                             (a local repository, or a vault answer not usable) */
	char *time_problem;       /* non-NULL: the vault should have said when it received
	                             the snapshot but sent nothing usable (why): ordered by
	                             the claimed time */
	size_t npacks;            /* pack files the snapshot references */
	int detection;            /* the backup's ransomware verdict from the plaintext header:
	                             KURA_DETECTION_* (keyless.h), 0 when none was made */
	int detection_score;      /* 0..100 */
	bool readable;            /* false with a backup key: fields below are empty */
	char tree[KURA_ID_HEX];
	char *hostname;
	char *username;
	char **paths;
	size_t npaths;
	char **tags;
	size_t ntags;
	uint64_t files;           /* regular files in the snapshot */
	uint64_t bytes;           /* their total size */
	bool damaged;             /* the file does not parse or authenticate: only id is set */
	char *damage;             /* why, when damaged */
} kura_snapshot_info;

/*
 * The time that orders a snapshot: the vault's receive time where known,
 * else the time the snapshot claims (docs/FORMAT.md, "Snapshot time").
 */
int64_t kura_snapshot_order_ns(const kura_snapshot_info *s);

/*
 * All snapshots, oldest first by kura_snapshot_order_ns(); damaged ones
 * are listed first, marked, and noted in kura_repo_damage(): one bad file
 * never hides the others.
 */
int kura_snapshots_list(kura_repo *repo, kura_snapshot_info **out, size_t *out_count);
void kura_snapshots_free(kura_snapshot_info *list, size_t count);

/*
 * Resolve "latest" (the last undamaged snapshot of kura_snapshots_list) or a unique
 * prefix (at least 4 hex digits) of a snapshot id.  KURA_ENOTFOUND,
 * KURA_EAMBIGUOUS.
 */
int kura_snapshot_resolve(kura_repo *repo, const char *name, char out[KURA_ID_HEX]);

/* -------------------------------------------------------------------- */
/* Backup                                                                */

#define KURA_BACKUP_OPTIONS_VERSION 1

typedef struct {
	unsigned int version;           /* KURA_BACKUP_OPTIONS_VERSION */
	const char *const *paths;       /* what to back up */
	size_t npaths;
	const char *const *tags;
	size_t ntags;
	const char *const *excludes;    /* fnmatch patterns (see kura(1)) */
	size_t nexcludes;
	int stdin_fd;                   /* with stdin_filename: read this fd */
	const char *stdin_filename;     /* non-NULL: back up stdin as this name */
	const char *hostname;           /* NULL: gethostname() */
	int64_t time_ns;                /* the time the snapshot claims (ns since the epoch,
	                                   UTC); 0: now.  On a vault the receive time orders */
	const char *cache_dir;          /* NULL: $KURA_CACHE_DIR, $XDG_CACHE_HOME/kura, ~/.cache/kura */
	int threads;                    /* 0: one per online CPU */
	kura_progress_fn progress;
	void *progress_ctx;
	kura_warning_fn warning;
	void *warning_ctx;
	int no_detect;                  /* 1: no ransomware detection (docs/DETECTION.md) */
	int want_detection_record;      /* 1: out->detection_record gets the record (the
	                                   caller frees it: kura_backup_result_clear) */
} kura_backup_options;

/* Nothing to back up yet; every other field 0: its default (stdin_fd 0: standard input). */
#define KURA_BACKUP_OPTIONS_INIT {.version = KURA_BACKUP_OPTIONS_VERSION}

typedef struct {
	char snapshot_id[KURA_ID_HEX];
	uint64_t files_new;
	uint64_t files_changed;
	uint64_t files_unmodified;      /* skipped through the cache */
	uint64_t files_unreadable;      /* warned about and left out */
	uint64_t files_changed_during_read; /* stored as read, warned about, marked in the snapshot */
	uint64_t dirs;
	uint64_t others;                /* symlinks, devices, fifos, hard links */
	uint64_t bytes_total;           /* size of all regular files */
	uint64_t bytes_read;            /* bytes actually read */
	uint64_t blobs_new;
	uint64_t bytes_new_raw;         /* new blobs before compression */
	uint64_t bytes_new_stored;      /* new bytes written to the repository */
	double seconds;
	int detection;                  /* KURA_DETECTION_* (keyless.h): 0 when detection was off */
	int detection_score;            /* 0..100 */
	char *detection_record;         /* with opts->want_detection_record: the snapshot's
	                                   detection record, JSON (malloc'd; free with
	                                   kura_backup_result_clear), or NULL */
} kura_backup_result;

/* Free what a kura_backup_result owns (its detection record). */
void kura_backup_result_clear(kura_backup_result *r);

/*
 * Back up and write a snapshot.  Unless opts->no_detect, the backup is
 * judged for ransomware as it is read (docs/DETECTION.md): a suspect
 * backup is still saved and returns 0; its verdict is in out->detection.
 * Returns 0 even when some files could not
 * be read (counted in files_unreadable and reported through `warning`) or
 * changed while they were read (stored as read, counted in
 * files_changed_during_read, reported, and listed in the snapshot); the
 * snapshot is written only when everything else succeeded.  A failure
 * comes with the message of the thread that met it.
 */
int kura_backup(kura_repo *repo, const kura_backup_options *opts, kura_backup_result *out);

/* -------------------------------------------------------------------- */
/* Browsing                                                              */

enum {
	KURA_NODE_FILE = 1,
	KURA_NODE_DIR = 2,
	KURA_NODE_SYMLINK = 3,
	KURA_NODE_HARDLINK = 4,   /* another name for an earlier file */
	KURA_NODE_FIFO = 5,
	KURA_NODE_CHARDEV = 6,
	KURA_NODE_BLOCKDEV = 7,
	KURA_NODE_SOCKET = 8,
};

typedef struct {
	const char *path;         /* "/dir/name" within the snapshot */
	int type;                 /* KURA_NODE_* */
	uint32_t mode;            /* permission bits (07777) */
	uint32_t uid, gid;
	const char *user, *group; /* "" when unknown */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t size;
	uint64_t rdev;
	const char *target;       /* symlink target or hard-link path, else "" */
	const uint8_t *content_digest; /* 32 bytes summarising the content ids, or NULL */
	bool changed_during_read;  /* listed by the snapshot: stored as read while it changed (ls only) */
} kura_node_info;

/* Return non-zero to stop the walk (that value is returned). */
typedef int (*kura_node_fn)(const kura_node_info *node, void *ctx);

/*
 * Walk the snapshot below `path` ("/" or NULL for everything), parents
 * before children, names in byte order.
 */
int kura_ls(kura_repo *repo, const char *snapshot_id, const char *path, kura_node_fn fn,
	    void *ctx);

typedef enum { KURA_DIFF_ADDED = '+', KURA_DIFF_REMOVED = '-', KURA_DIFF_MODIFIED = 'M',
	       KURA_DIFF_TYPE = 'T' } kura_diff_kind;

typedef int (*kura_diff_fn)(kura_diff_kind kind, const kura_node_info *old_node,
			    const kura_node_info *new_node, void *ctx);

/* Compare two snapshots, reporting each path that differs. */
int kura_diff(kura_repo *repo, const char *old_id, const char *new_id, kura_diff_fn fn, void *ctx);

/* -------------------------------------------------------------------- */
/* Restore                                                               */

/*
 * Something of the snapshot that is not in the target after the restore,
 * with why.  Either it failed (`exists` false: content that could not be
 * read, decoded or written, or an object that could not be made) or the
 * name was already taken in the target and what is there was left as it
 * was (`exists` true: not an error, nothing was damaged).  A regular file
 * that failed is never left under its name: the part that was written is
 * kept under `partial` (its name plus ".kura-partial", mode 0600, the time
 * of the restore) when some of its content came from the repository, and
 * removed otherwise (nothing written, or the target could not take it).
 */
typedef struct {
	const char *path;               /* below the target, as restored: TARGET/... */
	const char *error;              /* what failed, or why it was not overwritten */
	const char *partial;            /* TARGET/.../NAME.kura-partial, or NULL */
	bool exists;                    /* already in the target: skipped, not failed */
} kura_restore_problem;

/* Called from the caller's thread, once per path. */
typedef void (*kura_restore_problem_fn)(const kura_restore_problem *problem, void *ctx);

/* What an in-place restore does to a path (kura_restore_options.change). */
typedef enum { KURA_RESTORE_CREATE = '+', KURA_RESTORE_REPLACE = 'M',
	       KURA_RESTORE_DELETE = '-' } kura_restore_change;

/* Called from the caller's thread, once per path created, replaced or deleted. */
typedef void (*kura_restore_change_fn)(kura_restore_change what, const char *path, void *ctx);

/* kura_restore_options.overwrite: what becomes of a path already in the target. */
enum { KURA_OVERWRITE_NEVER = 0, KURA_OVERWRITE_IF_CHANGED = 1, KURA_OVERWRITE_ALWAYS = 2 };

#define KURA_RESTORE_OPTIONS_VERSION 2

typedef struct {
	unsigned int version;           /* KURA_RESTORE_OPTIONS_VERSION */
	const char *target;             /* directory to restore into (created if needed) */
	const char *subpath;            /* restore only this path of the snapshot; NULL = all */
	const char *const *includes;    /* fnmatch patterns on snapshot paths; none = all */
	size_t nincludes;
	bool numeric_owner;             /* ignore user/group names */
	int threads;
	kura_progress_fn progress;
	void *progress_ctx;
	kura_warning_fn warning;
	void *warning_ctx;
	kura_restore_problem_fn problem; /* failed and existing paths; NULL: said as warnings */
	void *problem_ctx;
	/* version 2: restore in place (lib/repo/restplan.c) */
	int overwrite;                  /* KURA_OVERWRITE_*: if-changed compares type, size, mtime */
	bool verify;                    /* if-changed also hashes the content against the chunk ids */
	bool delete_extra;              /* remove what the snapshot does not have, in restored dirs */
	bool dry_run;                   /* change nothing; report what would be done */
	bool cross_fs;                  /* replace and delete on other file systems too */
	kura_restore_change_fn change;  /* in place: each path created, replaced, deleted */
	void *change_ctx;
} kura_restore_options;

/* No target yet; every other field 0: its default. */
#define KURA_RESTORE_OPTIONS_INIT {.version = KURA_RESTORE_OPTIONS_VERSION}

typedef struct {
	uint64_t files, dirs, others;   /* restored completely (files: content and all) */
	uint64_t bytes;                 /* of the files restored */
	uint64_t warnings;              /* metadata that could not be applied */
	uint64_t errors;                /* paths that failed: not restored, or not completely */
	uint64_t skipped_existing;      /* paths already in the target, left as they were */
	double seconds;
	uint64_t created, replaced;     /* in place: paths made new, and made over */
	uint64_t unchanged, deleted;    /* left as they were (they matched), and removed */
} kura_restore_result;

/*
 * Restore a snapshot below opts->target.  Never writes outside the target:
 * planted symlinks are not followed, hostile names are refused and nothing
 * already there is overwritten unless opts->overwrite says so (then each
 * file is written beside its name and renamed over it).  Everything that
 * can be restored is.
 * Returns KURA_ECORRUPT if some paths failed (out->errors; each reported
 * through opts->problem), else KURA_EEXISTS if some were skipped because
 * their name was taken (out->skipped_existing), else 0.
 */
int kura_restore(kura_repo *repo, const char *snapshot_id, const kura_restore_options *opts,
		 kura_restore_result *out);

/* -------------------------------------------------------------------- */
/* Check                                                                 */

/* One problem found by check: `object` is "pack <id>", "snapshot <id>"... */
typedef void (*kura_problem_fn)(const char *object, const char *message,
				const char *snapshot_id, const char *path, void *ctx);

#define KURA_CHECK_OPTIONS_VERSION 1

typedef struct {
	unsigned int version;           /* KURA_CHECK_OPTIONS_VERSION */
	bool read_data;                 /* decrypt and verify every blob */
	int threads;
	kura_progress_fn progress;
	void *progress_ctx;
	kura_problem_fn problem;
	void *problem_ctx;
} kura_check_options;

/* Every field 0: its default (a check without --read-data). */
#define KURA_CHECK_OPTIONS_INIT {.version = KURA_CHECK_OPTIONS_VERSION}

typedef struct {
	uint64_t files_checked;         /* repository files hashed or parsed */
	uint64_t packs, indexes, snapshots, trees;
	uint64_t blobs_checked;
	uint64_t bytes_read;
	uint64_t problems;
	double seconds;
	uint64_t packs_pruned;          /* indexed packs removed by a prune that no
					   snapshot lists: information, not a problem */
} kura_check_result;

/*
 * Check the repository.  Returns 0 when no problem was found, KURA_ECORRUPT
 * when some were (each reported through opts->problem), or another error if
 * the check itself could not run.  --read-data needs the restore key.
 */
int kura_check(kura_repo *repo, const kura_check_options *opts, kura_check_result *out);

/* -------------------------------------------------------------------- */
/* Repair                                                                */

typedef struct {
	uint64_t packs_scanned;
	uint64_t blobs_indexed;         /* entries written to new index files */
	uint64_t files_written;         /* new index files */
	uint64_t damaged_packs;         /* trailers that do not authenticate (noted as damage) */
} kura_repair_result;

struct kura_backend;

/*
 * Rebuild the index from the packs' trailers (either key: the trailers
 * need only the index key): write new index files for every pack whose
 * blobs the readable index files do not all locate as its trailer does.
 * Deletes nothing.
 *
 * `upload` is where the new index files go; NULL: the repository's own
 * backend.  Through a vault the repository is opened with a reader
 * credential (it reads the packs) and `upload` is a second vault backend
 * for the same location opened with a writer credential
 * (kura_backend_vault_open, which checks that the credential names that
 * vault and repository): a reader may not upload.  `upload` stays the
 * caller's.  Before reading any pack, `upload` must list the same config
 * file as the repository (KURA_EINVAL otherwise: another repository).
 * KURA_EINVAL too for a vault repository without `upload`, or an `upload`
 * beside a local repository.
 */
int kura_repair_index(kura_repo *repo, struct kura_backend *upload, kura_repair_result *out);

#ifdef __cplusplus
}
#endif
#endif
