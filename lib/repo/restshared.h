/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restshared.h - what the parts of kura_restore share (internal): the
 * restore state rs and its records (files, directories, links, plan
 * entries, messages), the walk frame, the tuning constants, and the
 * helpers one part calls in another.  restorer.c walks and batches;
 * restcontent.c restores a batch's content; restmeta.c makes hard links
 * and applies metadata; restplan.c, restdelete.c and restdry.c restore
 * in place (over what is in the target, --delete, --dry-run).
 * The invariants are those described at the top of restorer.c; the
 * batch knobs are in restorer.h.
 */
#ifndef KURA_REPO_RESTSHARED_H
#define KURA_REPO_RESTSHARED_H

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/array.h"
#include "common/error.h"
#include "common/pool.h"
#include "repo/fsmeta.h"
#include "repo/msgqueue.h"
#include "repo/restpick.h"
#include "repo/walk.h"
#include "repo/writeback.h"

#define RS_SPAN_MAX (32u << 20)        /* bytes of one pack a job reads at once */
#define RS_SPAN_GAP (1u << 20)         /* unneeded bytes worth reading to save a request */
#define RS_SPAN_GAP_REMOTE (4u << 20)  /* the same where a request costs a round trip */
#define RS_REMOTE_BYTES (256u << 20)   /* spans in flight at most from a remote store */
#define RS_PROGRESS_NS 250000000LL     /* at most four progress reports a second */
#define RS_META_MIN 64                 /* the fewest files or directories worth a metadata job */
#define RS_FLUSH_FILE (64u << 10)      /* a finished file this large is queued for writeback */
#define RS_FLUSH_BIG (8u << 20)        /* a file this large has each chunk queued as written */
#define RS_WRITEBACK_BYTES (64u << 20) /* written bytes waiting for the disk before they are dropped */
#define RS_WRITEBACK_RANGES 256        /* and ranges (each holds an fd) */

/* rs_file.state: a file with content is created by the worker that writes its first chunk. */
enum { RS_NEW, RS_CREATING, RS_CREATED, RS_NOFILE };

typedef struct {
	kura_node node;                 /* moved out of its tree; extents freed once planned */
	dev_t dev;                      /* dev and ino are set before state becomes RS_CREATED */
	ino_t ino;
	size_t dir;                     /* index in dirs of its directory; SIZE_MAX: the target */
	atomic_int state;
	atomic_uint_fast32_t remaining; /* chunk writes still to do */
	atomic_bool failed;
	atomic_bool discard;            /* nothing more is written: removed, not kept as partial */
	atomic_uint_fast64_t written;   /* bytes of content written */
	char *reason;                   /* why it failed; set by the first failure */
	atomic_bool meta_done;          /* applied through the fd that wrote the last chunk */
	bool strip_acls;                /* its directory had a default ACL when it was created */
	bool tail_hole;                 /* the last chunk ends before the size: truncate */
	char *tmp;                      /* in place: written as this name beside it, renamed over */
} rs_file;

/*
 * A directory the restore created (or found and reused), as its parent
 * and its name: paths below the target are made only to be said
 * (kura_restore__dir_rel), since a deep chain's paths add up to the square
 * of its depth, and directories are reached from an open one by single
 * names (rs_cursor).  dirs[] is in walk order: a parent before its
 * children.
 */
typedef struct {
	size_t parent;                  /* index in dirs; SIZE_MAX: the target */
	const char *name;               /* borrowed: the name of node (in its tree, then in node) */
	kura_node node;                 /* filled when the walk leaves the directory */
	unsigned depth;
	dev_t dev;                      /* what reaching it again must find */
	ino_t ino;
} rs_dir;

/*
 * One thread's way to the directories of dirs[]: it holds one of them
 * open and reaches the next by ".." up to the nearest common ancestor
 * (checked by device and inode) and single names down, with O_NOFOLLOW,
 * so no system call is given a path longer than one component and a walk
 * over neighbouring directories costs a few calls each, not the depth.
 */
typedef struct {
	size_t dir;                     /* what fd is open on */
	int fd;                         /* -1: none */
	size_t *down;                   /* scratch: the way down */
	size_t cap;
} rs_cursor;

typedef struct {
	size_t dir;                     /* index in dirs of its directory; SIZE_MAX: the target */
	kura_node node;
	const char *from;               /* the first name, restored by us (in node.target), or NULL */
} rs_link;

typedef struct {
	dev_t dev;
	ino_t ino;
} rs_inode;

typedef struct {
	kura_blob_loc loc;              /* id from the plan, the rest from the index */
	uint32_t file;
	uint32_t len;                   /* the extent's length: must equal loc.raw_len */
	uint64_t off;                   /* where in the file */
} rs_use;

/* What a message is about: kura_restore_problem reports RS_FAIL and RS_EXISTS. */
enum { RS_WARN, RS_FAIL, RS_EXISTS };
#define RS_PARTIAL 0x100 /* queued with a message: what was written is kept as REL.kura-partial */

#define RS_DOOMED_STEP 16 /* removals between two looks at the workers */

/* An extra entry --delete removes while the batch's content is written (restdelete.c). */
typedef struct {
	size_t dir; /* index in dirs; SIZE_MAX: the target */
	char *name;
} rs_doomed;

typedef struct {
	kura_repo *repo;
	const kura_restore_options *opts;
	kura_restore_result *res;
	int rootfd;
	char *root_snap;                /* snapshot path the target stands for ("" = the root) */
	const kura_snapshot *snap;
	kura_restore__pick_fn pick;     /* restpick.h: NULL, or which files of each snapshot */
	void *pick_ctx;
	size_t pick_snap;               /* the index of the snapshot walked */

	rs_file *files;
	size_t nfiles, files_cap;
	rs_dir *dirs;
	size_t ndirs, dirs_cap;
	rs_link *links;
	size_t nlinks, links_cap;
	rs_use *uses;
	size_t nuses, uses_cap;
	uint8_t (*refs)[KURA_HASH_SIZE]; /* the references the batch's trees name (refahead.h) */
	size_t nrefs, refs_cap;
	uint64_t ref_bytes;             /* the bytes of the chunks that name them */
	rs_inode *inodes;               /* files created by earlier batches, for hard links */
	size_t ninodes, inodes_cap;

	/* shared with the workers */
	pthread_mutex_t lock;
	pthread_cond_t cond;            /* a job finished */
	size_t jobs_pending;
	size_t span_bytes;              /* of the pending jobs' spans (remote stores: bounded) */
	kura_pool *decode_pool;         /* with a read pool: where read spans are decoded */
	kura_msgqueue msgs;             /* workers' messages: kind RS_* (| RS_PARTIAL), the rel
	                                   path, then the text */
	atomic_uint_fast64_t bytes_done, files_done, errors, existing;
	atomic_uint_fast64_t warnings;  /* from workers; added to res->warnings at the end */
	atomic_int target_errno;        /* the first write into the target that failed */
	uint64_t files_total, bytes_total;
	kura_writeback *wb;             /* what is written goes to disk, then out of the cache */
	rs_cursor cursor;               /* the calling thread's, after the walk */
	size_t *dir_order;              /* dirs deepest first, for their metadata */
	uint64_t files_hint, bytes_hint; /* the snapshot's statistics: totals while walking */

	struct timespec start;
	int64_t last_progress;

	/* in place (restplan.c); all false and 0 for a restore into an empty target */
	bool inplace, dry_run, delete_extra, verify, cross_fs;
	int overwrite;
	dev_t root_dev;                 /* the target's file system, once root_dev_known */
	bool root_dev_known;
	kura_tree *root_tree;           /* in place from SNAPSHOT:DIR: holds root_node, DIR's */
	const kura_node *root_node;     /* stored node, applied to the target last (restmeta.c) */
	rs_doomed *doomed;              /* --delete's removals not done yet: doomed[doomed_next..n) */
	size_t ndoomed, doomed_cap, doomed_next;
	int doomed_err;                 /* KURA_ENOMEM while removing them, for run_batch */
} rs;

/* The name a file is written under now: its temporary name while restored in place. */
#define RS_FNAME(f) ((f)->tmp ? (f)->tmp : (f)->node.name)

typedef struct rs_frame {
	struct rs_frame *parent;
	kura_node *node;                /* NULL for the frame that stands for the target */
	unsigned depth;
	bool included, created, skipped;
	signed char inherit;            /* kura_fsmeta_may_inherit of the directory; -1 not asked */
	int fd;                         /* -1 when closed; reopened on demand */
	size_t dir;                     /* index in rs.dirs once created */
} rs_frame;

typedef struct {
	size_t first, end;              /* uses[first..end) */
	char pack[KURA_ID_HEX];
	uint64_t start;
	size_t len;
	uint8_t *span;                  /* read by job_read: len bytes, or NULL */
	int err;                        /* of the read */
} rs_job;
/* restorer.c: progress, messages of the calling thread, files. */
void kura_restore__tell(rs *r, int kind, const char *rel, const char *text, const char *partial);
__attribute__((format(printf, 4, 5))) void kura_restore__say(rs *r, int kind, const char *rel,
							      const char *fmt, ...);
void kura_restore__progress(rs *r, bool force);
void kura_restore__target_failed(rs *r, int e);
int kura_restore__create_now(rs *r, int dirfd, size_t i, struct stat *st);

/* rs_fail and co. about links[i]: its path is made only to be said. */
#define rs_link_say(r, macro, i, ...)                                                      \
	do {                                                                               \
		char *rel_ = kura_restore__dir_rel((r), (r)->links[i].dir,                 \
						   (r)->links[i].node.name);               \
		macro((r), rel_ ? rel_ : (r)->links[i].node.name, __VA_ARGS__);            \
		free(rel_);                                                                \
	} while (0)

/* restpath.c: the target, and paths beneath it (never through a symlink); -errno or an fd. */
int kura_restore__open_target(const char *target, int *out);
int kura_restore__open_beneath(int rootfd, const char *rel, int flags);
int kura_restore__open_parent(rs *r, const char *rel, const char **out_name);

/*
 * restdirs.c: directories as parent and name.  dir_rel: the path below the
 * target of `name` in dirs[dir] (SIZE_MAX: the target; name NULL: the
 * directory itself), malloc'd, NULL out of memory; file_rel: of files[i].
 * cursor_fd: an fd of dirs[dir] (the target's for SIZE_MAX), borrowed
 * from the cursor until its next call, or -errno (-ESTALE: it is not the
 * directory the restore made any more).
 */
char *kura_restore__dir_rel(const rs *r, size_t dir, const char *name);
char *kura_restore__file_rel(const rs *r, size_t i);
void kura_restore__cursor_init(rs_cursor *c);
int kura_restore__cursor_fd(rs *r, rs_cursor *c, size_t dir);
void kura_restore__cursor_free(rs_cursor *c);

/*
 * restdirs.c, the walk's frames: frame_rel is the path below the target of
 * `name` in f's directory (NULL: f's own), malloc'd or NULL; say_at is
 * kura_restore__say about it (fail_at and co. count it too); frame_reopen
 * opens f's directory again (it was created): from the nearest frame
 * above holding an fd, by single names with O_NOFOLLOW, and it must be the
 * directory made (device and inode).  The fd, or -errno.
 */
char *kura_restore__frame_rel(const rs_frame *f, const char *name);
__attribute__((format(printf, 5, 6))) void kura_restore__say_at(rs *r, int kind, const rs_frame *f,
								   const char *name, const char *fmt, ...);
int kura_restore__frame_reopen(const rs *r, const rs_frame *f);

#define fail_at(r, f, name, ...)                                                \
	do {                                                                    \
		atomic_fetch_add(&(r)->errors, 1);                              \
		kura_restore__say_at((r), RS_FAIL, (f), (name), __VA_ARGS__);   \
	} while (0)
#define warn_at(r, f, name, ...)                                                \
	do {                                                                    \
		(r)->res->warnings++;                                           \
		kura_restore__say_at((r), RS_WARN, (f), (name), __VA_ARGS__);   \
	} while (0)
#define exists_at(r, f, name, ...)                                              \
	do {                                                                    \
		atomic_fetch_add(&(r)->existing, 1);                            \
		kura_restore__say_at((r), RS_EXISTS, (f), (name), __VA_ARGS__); \
	} while (0)

/* restcontent.c: the content of a batch, the messages workers queue, the pool. */
__attribute__((format(printf, 3, 4))) void kura_restore__file_failed(rs *r, uint32_t file,
								      const char *fmt, ...);
void kura_restore__file_exists(rs *r, uint32_t file);
__attribute__((format(printf, 5, 6))) void kura_restore__queue_say(rs *r, int kind, const char *rel,
								    bool partial, const char *fmt,
								    ...);
__attribute__((format(printf, 3, 4))) void kura_restore__queue_warn(rs *r, const char *rel,
								     const char *fmt, ...);
void kura_restore__drain_messages(rs *r);
void kura_restore__wait_jobs(rs *r, size_t below);
int kura_restore__threads(const rs *r);
int kura_restore__content(rs *r, kura_pool *pool);

/* restbatch.c: whether the batch is full; restore it; read trees ahead on a remote store. */
bool kura_restore__batch_full(const rs *r);
int kura_restore__run_batch(rs *r);
int kura_restore__trees_ahead(rs *r, const uint8_t root[KURA_HASH_SIZE]);

/* restmeta.c: hard links and metadata. */
void kura_restore__make_links(rs *r);
void kura_restore__meta_queue(rs *r, kura_pool *pool, int threads, size_t first, size_t end, bool dirs);
int kura_restore__dir_order(rs *r);
void kura_restore__apply_dir_meta(rs *r);
void kura_restore__root_meta(rs *r);

/* restplan.c: restore in place (decide, write beside and rename over, report). */
/*
 * As in restorer.c, what they touch is a directory (an index in dirs,
 * SIZE_MAX: the target) and a name; a path is made only to be said
 * (note_at makes one only for opts->change).
 */
int kura_restore__inplace_init(rs *r);
int kura_restore__plan_file(rs *r, int dirfd, size_t dir, kura_node *n, char **out_tmp);
void kura_restore__fail_tmp(rs *r, int dfd, size_t i);
int kura_restore__commit(rs *r);
int kura_restore__other(rs *r, int dirfd, size_t dir, kura_node *n);
void kura_restore__dir_plan(rs *r, int pfd, size_t pdir, const kura_node *n);
int kura_restore__relink(rs *r, int ffd, const char *from, int tfd, const char *to, size_t dir);
void kura_restore__note(rs *r, int what, const char *rel);
void kura_restore__note_at(rs *r, int what, size_t dir, const char *name);

/* restdelete.c: what the snapshot does not have in a directory restored in place. */
int kura_restore__tidy(rs *r, const rs_frame *f, const kura_node *nodes, size_t count);
int kura_restore__remove(rs *r, int dirfd, const char *name, const char *rel, bool dry);
/* Remove up to `max` of the removals tidy put off (all: SIZE_MAX); whether any remain. */
bool kura_restore__remove_doomed(rs *r, size_t max);
void kura_restore__doomed_free(rs *r);

/* restdry.c: --dry-run, a walk that only looks. */
int kura_restore__dry_walk(rs *r, const rs_frame *root, kura_node *nodes, size_t count);

#define rs_warn(r, rel, ...)                              \
	do {                                              \
		(r)->res->warnings++;                     \
		kura_restore__say((r), RS_WARN, (rel), __VA_ARGS__); \
	} while (0)

#define rs_fail(r, rel, ...)                              \
	do {                                              \
		atomic_fetch_add(&(r)->errors, 1);        \
		kura_restore__say((r), RS_FAIL, (rel), __VA_ARGS__); \
	} while (0)

/* The name is taken in the target: what is there stays, and it is not an error. */
#define rs_exists(r, rel, ...)                              \
	do {                                                \
		atomic_fetch_add(&(r)->existing, 1);        \
		kura_restore__say((r), RS_EXISTS, (rel), __VA_ARGS__); \
	} while (0)


/* restmeta.c: sort the (device, inode) of the first `known` files created, for the next call */
void kura_restore__sort_inodes(rs *r, size_t known);
/*
 * The first name of hard link l below the target if this restore made
 * that file (a regular file whose device and inode it recorded), else NULL
 * (then the link is restored as a copy).  Borrowed from l->node.target.
 */
const char *kura_restore__link_first(rs *r, const rs_link *l, size_t known);

#endif
