/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checker.h - what the parts of kura_check() share: the checker, its pack
 * table and copies, the memo of walked trees, and the stages the driver in
 * checker.c runs in order (checkmeta.c, checkpacks.c, checkdata.c,
 * checkwalk.c).  Internal to lib/repo; nothing here is public API.
 *
 * The checker belongs to the calling thread; only the fields marked as
 * shared with the workers of the --read-data pass are touched by other
 * threads, and only under ck->lock.  Problems are reported from the
 * calling thread alone (kura_check__problem, kura_check__drain).
 */
#ifndef KURA_REPO_CHECKER_H
#define KURA_REPO_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <pthread.h>

#include "common/buf.h"
#include "common/array.h"
#include "common/error.h"
#include "common/pool.h"
#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "format/config.h"
#include "format/indexfile.h"
#include "format/pack.h"
#include "format/snapshot.h"
#include "format/tree.h"
#include "kura/keyless.h"
#include "repo/idmap.h"
#include "repo/msgqueue.h"
#include "repo/repo.h"

#define CK_SMALL_FILE_MAX (1u << 16) /* config and key files are far smaller */
#define CK_PROGRESS_INTERVAL 0.25

/*
 * A copy's state after --read-data.  CK_REFLOST: stored against another
 * blob, its own bytes authentic, but that other blob could not be read, so
 * neither could it (the other blob's damage is reported, not this one's).
 */
enum { CK_UNCHECKED = 0, CK_GOOD = 1, CK_BAD = 2, CK_REFLOST = 3 };

/* One pack known from the data listing or named by an index. */
typedef struct {
	uint8_t name[KURA_HASH_SIZE];
	uint64_t size;
	bool present;	    /* in the data listing */
	bool indexed;	    /* named by some index file */
	bool snap_listed;   /* named by some snapshot's plaintext pack list */
	size_t first_index; /* the first index file naming it, into ck->index_names */
	int key_state;	    /* 0 not tried, 1 key valid, -1 cannot be opened */
	uint8_t key[KURA_KEY_SIZE];
	size_t rec_start, rec_count;   /* its records in ck->by_pack, by offset */
	uint64_t beyond, first_beyond; /* records past its end, said once its data is read */
} ck_pack;

/* One index record: a copy of a blob in one pack. */
typedef struct {
	kura_pack_entry e;
	uint32_t pack;	/* ordinal in ck->packs */
	uint32_t index; /* the index file it came from, into ck->index_names */
	uint8_t state;	/* CK_* */
} ck_copy;

typedef kura_listed_file ck_name; /* kura_list_files */

typedef struct {
	ck_name *v;
	size_t n, cap;
} ck_names;

typedef struct {
	char id[KURA_ID_HEX];
	kura_snapshot *s;
} ck_snap;

typedef struct {
	uint32_t *v;
	size_t n, cap;
} ck_u32s;

/*
 * What a copy stored against another blob names as that blob, learnt by
 * --read-data (its payload is encrypted): a tree must name the same one.
 */
typedef struct {
	uint32_t copy; /* into ck->copies */
	uint8_t ref[KURA_HASH_SIZE];
} ck_refname;

/* A tree already walked: clean ones carry the packs everything below needs. */
typedef struct {
	bool clean;
	unsigned height; /* levels of directories below it: what depth it fits at */
	uint32_t *packs;
	size_t npacks;
} ck_memo;

typedef struct {
	kura_repo *repo;
	const kura_check_options *opts;
	bool read_data;
	struct timespec start;

	ck_pack *packs; /* sorted by name */
	size_t npacks;
	ck_copy *copies; /* sorted by id, then pack */
	size_t ncopies;
	uint32_t *by_pack; /* copy indices, sorted by pack then offset */

	ck_names index_names;
	kura_indexfile **indexes; /* decoded, parallel to index_names (NULL if bad) */
	size_t index_problems;
	ck_snap *snaps;
	size_t nsnaps;

	kura_idmap *memo_map; /* tree id -> loc.offset = index into memos */
	ck_memo *memos;
	size_t nmemos, memos_cap;

	/* Shared with the workers of the --read-data pass. */
	pthread_mutex_t lock;
	kura_msgqueue pending;  /* the workers' problems, for the calling thread to report */
	uint64_t lost_problems; /* problems without a message (no memory): the calling thread's */
	uint64_t blobs_checked;
	ck_refname *refnames; /* sorted by copy once the pass is over */
	size_t nrefnames, refnames_cap;
	bool refnames_lost; /* one could not be kept (no memory) */

	uint64_t files_checked, bytes_read, trees, problems, unindexed_packs, pruned_packs;
	struct ck_ahead *ahead; /* trees read ahead on a remote store (checkahead.c) */
} checker;

typedef struct {
	checker *ck;
	const ck_snap *snap;
	kura_idmap *seen; /* trees walked in this snapshot */
	uint8_t *pflags;  /* per pack ordinal: CK_LISTED, CK_REPORTED */
	char *path;
	size_t path_len, path_cap;
} ck_walk;

enum { CK_LISTED = 1, CK_REPORTED = 2 };

/* checker.c */
__attribute__((format(printf, 5, 6))) void kura_check__problem(checker *ck, const char *snap,
							       const char *path, const char *object,
							       const char *fmt, ...);
void kura_check__drain(checker *ck);
void kura_check__object(char out[96], const char *kind, const uint8_t name[KURA_HASH_SIZE]);
double kura_check__elapsed(const checker *ck);
int kura_check__u32s_push(ck_u32s *s, uint32_t v);
int kura_check__u32s_append(ck_u32s *s, const uint32_t *v, size_t n);
void kura_check__u32s_sort_unique(ck_u32s *s);
void kura_check__names_free(ck_names *nm);
int kura_check__list(checker *ck, kura_file_type type, ck_names *out);
int kura_check__fetch(checker *ck, kura_file_type type, const char *label, const char *name,
		      uint64_t size, uint64_t max, uint8_t **out, size_t *out_len);

/* checkmeta.c */
int kura_check__config(checker *ck);
int kura_check__keys(checker *ck);
int kura_check__indexes(checker *ck);
int kura_check__snapshots(checker *ck);

/* checkpacks.c */
ck_pack *kura_check__find_pack(checker *ck, const uint8_t name[KURA_HASH_SIZE]);
int kura_check__build_pack_table(checker *ck, const ck_names *listed);
int kura_check__build_copies(checker *ck);
void kura_check__pack_table(checker *ck);
void kura_check__mark_snapshot_packs(checker *ck);
void kura_check__snapshot_packs(checker *ck);

/* checkdata.c */
int kura_check__read_packs(checker *ck);
/* The blob copy cp names as its reference, if --read-data learnt it; else NULL. */
const uint8_t *kura_check__ref_named(const checker *ck, const ck_copy *cp);

/* checkwalk.c */
int kura_check__walk_snapshot(checker *ck, const ck_snap *sn, uint8_t *pflags);

/*
 * checkahead.c: on a remote store, read the stored bytes of the index's
 * tree copies ahead, many at once; the walk takes copy cp's bytes
 * (malloc'd, its own) with kura_check__tree_ahead, false if not read.
 */
int kura_check__trees_ahead(checker *ck);
bool kura_check__tree_ahead(checker *ck, const ck_copy *cp, uint8_t **out);
void kura_check__trees_ahead_free(checker *ck);

#endif
