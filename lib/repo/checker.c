/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checker.c - kura_check(): find damage in a repository and say what it
 * costs, down to the snapshots and files that can no longer be restored.
 *
 * Levels, each adding to the one before:
 *
 *  - Any key.  Every config, key, snapshot and index file is fetched, its
 *    SHA-256 compared with its name, and parsed (index files with the index
 *    key, which backup keys hold too).  There must be exactly one config,
 *    equal to the one the repository was opened with.  Every pack an index
 *    or a snapshot's plaintext pack list names must exist, every index
 *    record must lie inside its pack as the listing sizes it, and a pack
 *    whose records tile it must have exactly the size they imply (which
 *    catches truncation without reading it).  Packs that no index names
 *    are normal after a crashed backup and are not problems.  A pack an
 *    index names but that does not exist is a problem only while some
 *    snapshot's plaintext pack list names it: otherwise it was removed by
 *    a prune (index files are never rewritten, and a vault could not
 *    rewrite them) and is counted as pruned, for information.  A tree a
 *    snapshot reaches that needs a blob only such a pack held is still
 *    damage, found by the walk below.
 *  - Restore key.  Every snapshot's trees are decrypted and walked; every
 *    chunk and tree they reference must be indexed in a pack that exists,
 *    and that pack must be in the snapshot's plaintext pack list, or a
 *    keyless store would consider it garbage and could delete it.  Each
 *    distinct clean tree is walked once (memoised with the set of packs
 *    below it); trees with damage below them are walked again for every
 *    snapshot, so every damaged file is named under every snapshot.
 *  - --read-data.  Every pack is read whole, its SHA-256 compared with its
 *    name, its trailer compared with the index, and every blob decrypted
 *    and verified (the tag, then HMAC(plaintext) == id, which also catches
 *    blobs uploaded under a false id with a stolen backup key).  The tree
 *    walk then names what the bad blobs break.
 *
 * Packs are read in name order by the calling thread alone, one at a time,
 * and only the CPU work (hashing, decryption, decompression) is spread over
 * worker threads: parallel readers turn a sequential scan of a disk into
 * seeks and run several times slower.  Packs are read into threads + 1
 * reusable buffers, so at most that many are in memory.  A worker hashes a
 * pack blob by blob, decrypting and verifying each blob right after the
 * hash has passed over it (while it is in the cache), and hashes the rest
 * at the end: every byte is still hashed, once and in order.
 *
 * Damaged input never stops the check: each parse or hash failure is one
 * problem report (through opts->problem, always from the calling thread)
 * and the check goes on with the rest.  Only failing to list the store or
 * to allocate the checker's own memory ends it early.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <sys/mman.h>
#include <zstd.h>

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
#include "repo/idmap.h"
#include "repo/repo.h"

#define CK_SMALL_FILE_MAX (1u << 16) /* config and key files are far smaller */
#define CK_PROGRESS_INTERVAL 0.25

enum { CK_UNCHECKED = 0, CK_GOOD = 1, CK_BAD = 2 };

/* One pack known from the data listing or named by an index. */
typedef struct {
	uint8_t name[KURA_HASH_SIZE];
	uint64_t size;
	bool present;            /* in the data listing */
	bool indexed;            /* named by some index file */
	bool snap_listed;        /* named by some snapshot's plaintext pack list */
	size_t first_index;      /* the first index file naming it, into ck->index_names */
	int key_state;           /* 0 not tried, 1 key valid, -1 cannot be opened */
	uint8_t key[KURA_KEY_SIZE];
	size_t rec_start, rec_count; /* its records in ck->by_pack, by offset */
	uint64_t beyond, first_beyond; /* records past its end, said once its data is read */
} ck_pack;

/* One index record: a copy of a blob in one pack. */
typedef struct {
	kura_pack_entry e;
	uint32_t pack;           /* ordinal in ck->packs */
	uint32_t index;          /* the index file it came from, into ck->index_names */
	uint8_t state;           /* CK_* */
} ck_copy;

typedef struct {
	char name[KURA_ID_HEX];
	uint64_t size;
} ck_name;

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

/* A tree already walked: clean ones carry the packs everything below needs. */
typedef struct {
	bool clean;
	unsigned height;         /* levels of directories below it: what depth it fits at */
	uint32_t *packs;
	size_t npacks;
} ck_memo;

typedef struct ck_pending {
	struct ck_pending *next;
	char *object;
	char *message;
} ck_pending;

typedef struct {
	kura_repo *repo;
	const kura_check_options *opts;
	bool read_data;
	struct timespec start;

	ck_pack *packs;          /* sorted by name */
	size_t npacks;
	ck_copy *copies;         /* sorted by id, then pack */
	size_t ncopies;
	uint32_t *by_pack;       /* copy indices, sorted by pack then offset */

	ck_names index_names;
	kura_indexfile **indexes;/* decoded, parallel to index_names (NULL if bad) */
	size_t index_problems;
	ck_snap *snaps;
	size_t nsnaps;

	kura_idmap *memo_map;    /* tree id -> loc.offset = index into memos */
	ck_memo *memos;
	size_t nmemos, memos_cap;

	/* Shared with the workers of the --read-data pass. */
	pthread_mutex_t lock;
	ck_pending *pending, **pending_tail;
	uint64_t lost_problems;
	uint64_t blobs_checked;

	uint64_t files_checked, bytes_read, trees, problems, unindexed_packs, pruned_packs;
} checker;

typedef struct {
	checker *ck;
	const ck_snap *snap;
	kura_idmap *seen;        /* trees walked in this snapshot */
	uint8_t *pflags;         /* per pack ordinal: CK_LISTED, CK_REPORTED */
	char *path;
	size_t path_len, path_cap;
} ck_walk;

enum { CK_LISTED = 1, CK_REPORTED = 2 };

/* ------------------------------------------------------------------ */
/* Problems                                                             */

static void ck_report(checker *ck, const char *snap, const char *path, const char *object,
		      const char *message)
{
	ck->problems++;
	if (ck->opts->problem)
		ck->opts->problem(object, message, snap, path, ck->opts->problem_ctx);
}

/* Report a problem from the calling thread. */
__attribute__((format(printf, 5, 6))) static void
ck_problem(checker *ck, const char *snap, const char *path, const char *object, const char *fmt,
	   ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	ck_report(ck, snap, path, object, message);
}

static void ck_drain(checker *ck)
{
	ck_pending *list, *next;

	pthread_mutex_lock(&ck->lock);
	list = ck->pending;
	ck->pending = NULL;
	ck->pending_tail = &ck->pending;
	pthread_mutex_unlock(&ck->lock);
	for (; list; list = next) {
		next = list->next;
		ck_report(ck, NULL, NULL, list->object, list->message);
		free(list->object);
		free(list->message);
		free(list);
	}
}

static void ck_object(char out[96], const char *kind, const uint8_t name[KURA_HASH_SIZE])
{
	char hex[KURA_ID_HEX];

	kura_hex(hex, name, KURA_HASH_SIZE);
	snprintf(out, 96, "%s %s", kind, hex);
}

static double ck_elapsed(const checker *ck)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - ck->start.tv_sec) +
	       (double)(now.tv_nsec - ck->start.tv_nsec) / 1e9;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

static int ck_u32s_push(ck_u32s *s, uint32_t v)
{
	int err;

	if ((err = KURA_ARRAY_GROW(s->v, s->cap, s->n + 1)) < 0)
		return err;
	s->v[s->n++] = v;
	return 0;
}

static int ck_u32s_append(ck_u32s *s, const uint32_t *v, size_t n)
{
	int err;

	for (size_t i = 0; i < n; i++)
		if ((err = ck_u32s_push(s, v[i])) < 0)
			return err;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void ck_u32s_sort_unique(ck_u32s *s)
{
	size_t j = 0;

	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i] != s->v[j])
			s->v[++j] = s->v[i];
	s->n = j + 1;
}

static int names_add(const char *name, uint64_t size, void *ctx)
{
	ck_names *nm = ctx;
	int err;

	if ((err = KURA_ARRAY_GROW(nm->v, nm->cap, nm->n + 1)) < 0)
		return err;
	snprintf(nm->v[nm->n].name, KURA_ID_HEX, "%s", name);
	nm->v[nm->n].size = size;
	nm->n++;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const ck_name *)a)->name, ((const ck_name *)b)->name);
}

static void names_free(ck_names *nm)
{
	free(nm->v);
	memset(nm, 0, sizeof(*nm));
}

/* List every file of a type, sorted by name. */
static int ck_list(checker *ck, kura_file_type type, ck_names *out)
{
	kura_backend *b = ck->repo->backend;
	int err;

	memset(out, 0, sizeof(*out));
	err = b->list(b, type, names_add, out);
	if (err < 0)
		return kura_error_wrap(err, "check: listing %s", kura_file_type_name(type));
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_name);
	return 0;
}

/*
 * Fetch a small file and compare its hash with its name.  Returns 0 with
 * the bytes in *out, or 1 (already reported) when it cannot be read.
 */
static int ck_fetch(checker *ck, kura_file_type type, const char *label, const char *name,
		    uint64_t size, uint64_t max, uint8_t **out, size_t *out_len)
{
	kura_backend *b = ck->repo->backend;
	uint8_t want[KURA_HASH_SIZE], got[KURA_HASH_SIZE];
	char object[96];
	int err;

	*out = NULL;
	*out_len = 0;
	snprintf(object, sizeof(object), "%s %s", label, name);
	if (max && size > max) {
		ck_problem(ck, NULL, NULL, object, "%llu bytes: far too large for a %s file",
			   (unsigned long long)size, label);
		return 1;
	}
	err = b->get(b, type, name, out, out_len);
	if (err < 0) {
		ck_problem(ck, NULL, NULL, object, "cannot read: %s", kura_error_message());
		*out = NULL;
		return 1;
	}
	ck->files_checked++;
	kura_sha256(got, *out, *out_len);
	if (kura_unhex(want, name, KURA_HASH_SIZE) < 0 || memcmp(want, got, KURA_HASH_SIZE) != 0)
		ck_problem(ck, NULL, NULL, object, "content hash does not match its name");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Config, keys, indexes, snapshots                                     */

static int check_config(checker *ck)
{
	uint8_t mine[KURA_CONFIG_SIZE], theirs[KURA_CONFIG_SIZE];
	ck_names nm;
	int err;

	if ((err = ck_list(ck, KURA_FILE_CONFIG, &nm)) < 0)
		goto done;
	if (nm.n != 1)
		ck_problem(ck, NULL, NULL, "config",
			   "%zu config files where exactly one is expected", nm.n);
	kura_config_encode(mine, &ck->repo->config);
	for (size_t i = 0; i < nm.n; i++) {
		char object[96];
		kura_config c;
		uint8_t *data;
		size_t len;

		if (ck_fetch(ck, KURA_FILE_CONFIG, "config", nm.v[i].name, nm.v[i].size,
			     CK_SMALL_FILE_MAX, &data, &len) != 0)
			continue;
		snprintf(object, sizeof(object), "config %s", nm.v[i].name);
		if (kura_config_decode(&c, data, len) < 0) {
			ck_problem(ck, NULL, NULL, object, "%s", kura_error_message());
		} else {
			kura_config_encode(theirs, &c);
			if (memcmp(mine, theirs, sizeof(mine)) != 0)
				ck_problem(ck, NULL, NULL, object,
					   "does not match the config the repository was opened with");
		}
		free(data);
	}
	err = 0;
done:
	names_free(&nm);
	return err;
}

static int check_keys(checker *ck)
{
	ck_names nm;
	int err, kind;

	if ((err = ck_list(ck, KURA_FILE_KEY, &nm)) < 0)
		goto done;
	for (size_t i = 0; i < nm.n; i++) {
		char object[96];
		uint8_t *data;
		size_t len;

		if (ck_fetch(ck, KURA_FILE_KEY, "key", nm.v[i].name, nm.v[i].size, CK_SMALL_FILE_MAX,
			     &data, &len) != 0)
			continue;
		snprintf(object, sizeof(object), "key %s", nm.v[i].name);
		kind = kura_keyfile_kind(data, len);
		if (kind < 0)
			ck_problem(ck, NULL, NULL, object, "%s", kura_error_message());
		else if (kind != KURA_KEY_RESTORE)
			ck_problem(ck, NULL, NULL, object,
				   "is not a restore key (kind %d): only restore keys belong here",
				   kind);
		else if (len < 76 || memcmp(data + 12, ck->repo->config.repo_id, 32) != 0 ||
			 memcmp(data + 44, ck->repo->config.repo_pk, 32) != 0)
			ck_problem(ck, NULL, NULL, object, "belongs to another repository");
		free(data);
	}
	err = 0;
done:
	names_free(&nm);
	return err;
}

static int check_indexes(checker *ck)
{
	ck_names *nm = &ck->index_names;
	int err;

	if ((err = ck_list(ck, KURA_FILE_INDEX, nm)) < 0)
		return err;
	if (nm->n) {
		ck->indexes = calloc(nm->n, sizeof(*ck->indexes));
		if (!ck->indexes)
			return kura_error_set(KURA_ENOMEM, "check: out of memory");
	}
	for (size_t i = 0; i < nm->n; i++) {
		uint64_t before = ck->problems;
		char object[96];
		uint8_t *data;
		size_t len;

		if (ck_fetch(ck, KURA_FILE_INDEX, "index", nm->v[i].name, nm->v[i].size, 0, &data,
			     &len) != 0) {
			ck->index_problems++;
			continue;
		}
		snprintf(object, sizeof(object), "index %s", nm->v[i].name);
		if (kura_indexfile_decode(&ck->indexes[i], &ck->repo->keys, data, len) < 0) {
			ck_problem(ck, NULL, NULL, object, "%s", kura_error_message());
			ck->indexes[i] = NULL;
		}
		if (ck->problems != before)
			ck->index_problems++;
		free(data);
	}
	return 0;
}

static int cmp_snap(const void *a, const void *b)
{
	const ck_snap *x = a, *y = b;

	if (x->s->time_ns != y->s->time_ns)
		return x->s->time_ns < y->s->time_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int check_snapshots(checker *ck)
{
	ck_names nm;
	int err;

	if ((err = ck_list(ck, KURA_FILE_SNAPSHOT, &nm)) < 0)
		goto done;
	if (nm.n) {
		ck->snaps = calloc(nm.n, sizeof(*ck->snaps));
		if (!ck->snaps) {
			err = kura_error_set(KURA_ENOMEM, "check: out of memory");
			goto done;
		}
	}
	for (size_t i = 0; i < nm.n; i++) {
		char object[96];
		kura_snapshot *s = NULL;
		uint8_t *data;
		size_t len;

		if (ck_fetch(ck, KURA_FILE_SNAPSHOT, "snapshot", nm.v[i].name, nm.v[i].size, 0, &data,
			     &len) != 0)
			continue;
		snprintf(object, sizeof(object), "snapshot %s", nm.v[i].name);
		if (kura_snapshot_decode(&s, &ck->repo->keys, data, len) < 0) {
			ck_problem(ck, nm.v[i].name, NULL, object, "%s", kura_error_message());
			/* The plaintext header may still be whole: keep checking its pack list. */
			s = NULL;
			if (kura_snapshot_decode(&s, NULL, data, len) < 0)
				s = NULL;
		}
		if (s) {
			memcpy(ck->snaps[ck->nsnaps].id, nm.v[i].name, KURA_ID_HEX);
			ck->snaps[ck->nsnaps++].s = s;
		}
		free(data);
	}
	if (ck->nsnaps > 1)
		qsort(ck->snaps, ck->nsnaps, sizeof(*ck->snaps), cmp_snap);
	err = 0;
done:
	names_free(&nm);
	return err;
}

/* ------------------------------------------------------------------ */
/* The pack table and the copies of every blob                          */

static int cmp_pack(const void *a, const void *b)
{
	return memcmp(((const ck_pack *)a)->name, ((const ck_pack *)b)->name, KURA_HASH_SIZE);
}

static ck_pack *find_pack(checker *ck, const uint8_t name[KURA_HASH_SIZE])
{
	ck_pack key;

	memcpy(key.name, name, KURA_HASH_SIZE);
	return ck->npacks ? bsearch(&key, ck->packs, ck->npacks, sizeof(*ck->packs), cmp_pack)
			  : NULL;
}

static int cmp_copy(const void *a, const void *b)
{
	const ck_copy *x = a, *y = b;
	int c = memcmp(x->e.id, y->e.id, KURA_HASH_SIZE);

	if (c)
		return c;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->e.offset < y->e.offset ? -1 : x->e.offset > y->e.offset;
}

typedef struct {
	uint32_t pack, offset, copy;
} ck_pos;

static int cmp_pos(const void *a, const void *b)
{
	const ck_pos *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Pack names from the listing and from every index, merged and sorted. */
static int build_pack_table(checker *ck, const ck_names *listed)
{
	size_t cap = listed->n, n = 0;
	ck_pack *p;

	for (size_t i = 0; i < ck->index_names.n; i++)
		if (ck->indexes[i])
			cap += ck->indexes[i]->npacks;
	ck->packs = calloc(cap ? cap : 1, sizeof(*ck->packs));
	if (!ck->packs)
		return kura_error_set(KURA_ENOMEM, "check: out of memory");
	for (size_t i = 0; i < listed->n; i++) {
		p = &ck->packs[n];
		if (kura_unhex(p->name, listed->v[i].name, KURA_HASH_SIZE) < 0)
			continue; /* the backend only lists hex names */
		p->size = listed->v[i].size;
		p->present = true;
		n++;
	}
	for (size_t i = 0; i < ck->index_names.n; i++) {
		const kura_indexfile *idx = ck->indexes[i];

		for (size_t j = 0; idx && j < idx->npacks; j++) {
			p = &ck->packs[n++];
			memcpy(p->name, idx->packs[j], KURA_HASH_SIZE);
			p->indexed = true;
			p->first_index = i;
		}
	}
	if (n > 1)
		qsort(ck->packs, n, sizeof(*ck->packs), cmp_pack);
	/* Merge duplicates; the listed entry and the first index win. */
	ck->npacks = 0;
	for (size_t i = 0; i < n; i++) {
		ck_pack *last = ck->npacks ? &ck->packs[ck->npacks - 1] : NULL;
		ck_pack cur = ck->packs[i];

		if (last && memcmp(last->name, cur.name, KURA_HASH_SIZE) == 0) {
			if (cur.present) {
				last->present = true;
				last->size = cur.size;
			}
			if (cur.indexed && (!last->indexed || cur.first_index < last->first_index))
				last->first_index = cur.first_index;
			last->indexed |= cur.indexed;
			continue;
		}
		ck->packs[ck->npacks++] = cur;
	}
	return 0;
}

/* Every index record as a copy, sorted by id; duplicates in one pack merged. */
static int build_copies(checker *ck)
{
	size_t n = 0, total = 0;
	ck_pos *pos;
	ck_copy *cp;

	for (size_t i = 0; i < ck->index_names.n; i++)
		if (ck->indexes[i])
			total += ck->indexes[i]->nrecords;
	ck->copies = calloc(total ? total : 1, sizeof(*ck->copies));
	if (!ck->copies)
		return kura_error_set(KURA_ENOMEM, "check: out of memory");
	for (size_t i = 0; i < ck->index_names.n; i++) {
		const kura_indexfile *idx = ck->indexes[i];

		for (size_t j = 0; idx && j < idx->nrecords; j++) {
			const kura_index_record *r = &idx->records[j];
			ck_pack *p;

			if (r->pack >= idx->npacks)
				continue; /* the decoder refuses these */
			p = find_pack(ck, idx->packs[r->pack]);
			if (!p)
				continue;
			cp = &ck->copies[n++];
			cp->e = r->blob;
			cp->pack = (uint32_t)(p - ck->packs);
			cp->index = (uint32_t)i;
		}
	}
	if (n > 1)
		qsort(ck->copies, n, sizeof(*ck->copies), cmp_copy);
	ck->ncopies = 0;
	for (size_t i = 0; i < n; i++) {
		ck_copy *last = ck->ncopies ? &ck->copies[ck->ncopies - 1] : NULL;

		cp = &ck->copies[i];
		if (last && last->pack == cp->pack &&
		    memcmp(last->e.id, cp->e.id, KURA_HASH_SIZE) == 0) {
			/* The same blob in the same pack twice: identical records are harmless. */
			if (memcmp(&last->e, &cp->e, sizeof(cp->e)) == 0)
				continue;
			/*
			 * Both stay candidates (index entries are hints): the data
			 * decides, and with --read-data the pack's trailer names the
			 * index file that lies (pack_job).
			 */
			char object[96], hex[KURA_ID_HEX];

			ck_object(object, "pack", ck->packs[cp->pack].name);
			kura_hex(hex, cp->e.id, KURA_HASH_SIZE);
			if (!ck->read_data)
				ck_problem(ck, NULL, NULL, object,
					   "index files %s and %s disagree about blob %s (offsets "
					   "%u and %u)",
					   ck->index_names.v[last->index].name,
					   ck->index_names.v[cp->index].name, hex, last->e.offset,
					   cp->e.offset);
		}
		ck->copies[ck->ncopies++] = *cp;
	}

	pos = malloc((ck->ncopies ? ck->ncopies : 1) * sizeof(*pos));
	ck->by_pack = malloc((ck->ncopies ? ck->ncopies : 1) * sizeof(*ck->by_pack));
	if (!pos || !ck->by_pack) {
		free(pos);
		return kura_error_set(KURA_ENOMEM, "check: out of memory");
	}
	for (size_t i = 0; i < ck->ncopies; i++)
		pos[i] = (ck_pos){ck->copies[i].pack, ck->copies[i].e.offset, (uint32_t)i};
	if (ck->ncopies > 1)
		qsort(pos, ck->ncopies, sizeof(*pos), cmp_pos);
	for (size_t i = 0; i < ck->ncopies; i++)
		ck->by_pack[i] = pos[i].copy;
	free(pos);
	for (size_t i = 0; i < ck->ncopies;) {
		ck_pack *p = &ck->packs[ck->copies[ck->by_pack[i]].pack];
		size_t j = i;

		while (j < ck->ncopies && &ck->packs[ck->copies[ck->by_pack[j]].pack] == p)
			j++;
		p->rec_start = i;
		p->rec_count = j - i;
		i = j;
	}
	return 0;
}

/*
 * When the index records of a pack tile its blob area (as a backup writes
 * them), they give the pack's exact size: blobs, then a trailer of one
 * entry per blob, then the footer.  A pack cut short inside its trailer is
 * caught here without reading it.
 */
static void check_pack_size(checker *ck, const ck_pack *p, const char *object)
{
	uint64_t end = KURA_PACK_HEADER_SIZE, want;

	if (!p->rec_count)
		return;
	for (size_t j = 0; j < p->rec_count; j++) {
		const ck_copy *cp = &ck->copies[ck->by_pack[p->rec_start + j]];

		if (cp->e.offset != end)
			return; /* the index describes part of the pack: no exact size */
		end += cp->e.stored_len;
	}
	want = end + 4 + (uint64_t)KURA_PACK_ENTRY_SIZE * p->rec_count + KURA_AEAD_OVERHEAD +
	       KURA_PACK_FOOTER_SIZE;
	if (p->size != want)
		ck_problem(ck, NULL, NULL, object,
			   "is %llu bytes, but its index entries make it %llu (%s)",
			   (unsigned long long)p->size, (unsigned long long)want,
			   p->size < want ? "truncated" : "extended");
}

/* Index records against the listing: missing packs, records past the end. */
static void check_pack_table(checker *ck)
{
	for (size_t i = 0; i < ck->npacks; i++) {
		ck_pack *p = &ck->packs[i];
		uint64_t beyond = 0, first_off = 0;
		char object[96];

		ck_object(object, "pack", p->name);
		if (p->present && !p->indexed) {
			ck->unindexed_packs++; /* a crashed backup leaves these: not a problem */
			continue;
		}
		if (!p->present && !p->snap_listed) {
			ck->pruned_packs++; /* removed by a prune: no snapshot needs it */
			continue;
		}
		if (!p->present) {
			ck_problem(ck, NULL, NULL, object,
				   "is named by index %s but does not exist (%zu blobs lost)",
				   ck->index_names.v[p->first_index].name, p->rec_count);
			continue;
		}
		for (size_t j = 0; j < p->rec_count; j++) {
			ck_copy *cp = &ck->copies[ck->by_pack[p->rec_start + j]];
			uint64_t end = (uint64_t)cp->e.offset + cp->e.stored_len;

			if (cp->e.offset < KURA_PACK_HEADER_SIZE || p->size < KURA_PACK_FOOTER_SIZE ||
			    end > p->size - KURA_PACK_FOOTER_SIZE) {
				if (!beyond)
					first_off = cp->e.offset;
				beyond++;
				cp->state = CK_BAD;
			}
		}
		/* With --read-data, the pack's trailer says whose fault that is (pack_job). */
		p->beyond = beyond;
		p->first_beyond = first_off;
		if (beyond && !ck->read_data)
			ck_problem(ck, NULL, NULL, object,
				   "%llu index records lie outside the pack's %llu bytes "
				   "(first at offset %llu)",
				   (unsigned long long)beyond, (unsigned long long)p->size,
				   (unsigned long long)first_off);
		else if (!beyond)
			check_pack_size(ck, p, object);
	}
}

/* Note which packs some snapshot's plaintext list names (see check_pack_table). */
static void mark_snapshot_packs(checker *ck)
{
	for (size_t i = 0; i < ck->nsnaps; i++)
		for (size_t j = 0; j < ck->snaps[i].s->npacks; j++) {
			ck_pack *p = find_pack(ck, ck->snaps[i].s->packs[j]);

			if (p)
				p->snap_listed = true;
		}
}

/* Every pack a snapshot lists in plaintext must exist and be indexed. */
static void check_snapshot_packs(checker *ck)
{
	for (size_t i = 0; i < ck->nsnaps; i++) {
		const ck_snap *sn = &ck->snaps[i];
		char object[96];

		snprintf(object, sizeof(object), "snapshot %s", sn->id);
		for (size_t j = 0; j < sn->s->npacks; j++) {
			const ck_pack *p = find_pack(ck, sn->s->packs[j]);
			char hex[KURA_ID_HEX];

			kura_hex(hex, sn->s->packs[j], KURA_HASH_SIZE);
			if (!p || !p->present)
				ck_problem(ck, sn->id, NULL, object,
					   "lists pack %s, which does not exist", hex);
			else if (!p->indexed)
				ck_problem(ck, sn->id, NULL, object,
					   "lists pack %s, which no index describes", hex);
		}
	}
}

/* ------------------------------------------------------------------ */
/* --read-data: every pack, read in order, verified by the workers      */

/*
 * A slot holds one pack in flight; there are threads + 1 (one being filled
 * while each worker verifies one).  A scratch is what one worker decrypts
 * and decompresses blobs into; there is one per worker.  Both are allocated
 * once and reused, so the pass neither faults in fresh pages for every pack
 * nor creates a zstd context for every blob, and they bound its memory.
 */
typedef struct ck_slot {
	struct ck_slot *next_free;
	uint8_t *buf;            /* the pack, when read into the slot */
	size_t cap;
} ck_slot;

typedef struct ck_scratch {
	struct ck_scratch *next_free;
	uint8_t *payload, *plain;/* one blob, decrypted and decompressed */
	size_t payload_cap, plain_cap;
	ZSTD_DCtx *dctx;
} ck_scratch;

typedef struct {
	uint32_t pack;
	uint8_t *data;
	size_t len;
	uint8_t *owned;          /* data, when it did not fit the slot's own buffer */
	ck_slot *slot;
	ck_scratch *scratch;     /* the worker's, while it runs the job */
} ck_job;

/* Problems of one pack, queued together so their order is the same as ever. */
typedef struct {
	ck_pending *head, **tail;
	uint64_t lost;
} ck_plist;

typedef struct {
	checker *ck;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	ck_slot *slots, *free;
	size_t nslots;
	ck_scratch *scratch, *free_scratch;
	size_t nscratch;
} ck_reader;

__attribute__((format(printf, 3, 4))) static void ck_plist_add(ck_plist *l, const char *object,
							       const char *fmt, ...)
{
	char message[1024];
	ck_pending *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	p = calloc(1, sizeof(*p));
	if (p) {
		p->object = strdup(object);
		p->message = strdup(message);
	}
	if (!p || !p->object || !p->message) {
		/* Still counted, so the check cannot pass by running out of memory. */
		l->lost++;
		if (p) {
			free(p->object);
			free(p->message);
			free(p);
		}
		return;
	}
	*l->tail = p;
	l->tail = &p->next;
}

/* Hand a pack's problems to the calling thread, which reports them. */
static void ck_plist_queue(checker *ck, ck_plist *l)
{
	pthread_mutex_lock(&ck->lock);
	ck->lost_problems += l->lost;
	if (l->head) {
		*ck->pending_tail = l->head;
		ck->pending_tail = l->tail;
	}
	pthread_mutex_unlock(&ck->lock);
}

static int cmp_entry_offset(const void *key, const void *elem)
{
	uint32_t off = *(const uint32_t *)key;
	const kura_pack_entry *e = elem;

	return off < e->offset ? -1 : off > e->offset;
}

static bool entries_agree(const kura_pack_entry *a, const kura_pack_entry *b)
{
	return a->type == b->type && a->flags == b->flags && a->offset == b->offset &&
	       a->stored_len == b->stored_len && a->raw_len == b->raw_len &&
	       memcmp(a->id, b->id, KURA_HASH_SIZE) == 0;
}

/*
 * The buffers of the pass are mapped, not malloc'd: one that grows gives
 * its old pages back at once instead of leaving them resident in some
 * thread's malloc arena, so peak memory is what the buffers hold now.
 */
static void big_free(uint8_t **buf, size_t *cap, bool wipe)
{
	if (*buf) {
		if (wipe)
			kura_wipe(*buf, *cap);
		munmap(*buf, *cap);
	}
	*buf = NULL;
	*cap = 0;
}

static int big_grow(uint8_t **buf, size_t *cap, size_t need, bool wipe)
{
	void *nb;

	if (need <= *cap)
		return 0;
	big_free(buf, cap, wipe);
	need = (need + 65535) & ~(size_t)65535;
	nb = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (nb == MAP_FAILED)
		return KURA_ENOMEM;
	*buf = nb;
	*cap = need;
	return 0;
}

static int grow_scratch(uint8_t **buf, size_t *cap, size_t need, const char *hex)
{
	if (big_grow(buf, cap, need, true) < 0)
		return kura_error_set(KURA_ENOMEM, "blob %s: out of memory (%zu bytes)", hex, need);
	return 0;
}

/* Decrypt and verify one blob in memory, into the worker's reused buffers. */
static int ck_blob_verify(ck_scratch *s, const uint8_t key[KURA_KEY_SIZE], const kura_mac *mac,
			  const kura_pack_entry *e, const uint8_t *stored)
{
	char hex[KURA_ID_HEX];
	const uint8_t *plain;
	size_t payload_len, plain_len;
	int err;

	kura_hex(hex, e->id, KURA_HASH_SIZE);
	if ((err = kura_blob_sizes(e, &payload_len, &plain_len)) < 0 ||
	    (err = grow_scratch(&s->payload, &s->payload_cap, payload_len ? payload_len : 1,
				hex)) < 0 ||
	    (plain_len && (err = grow_scratch(&s->plain, &s->plain_cap, plain_len, hex)) < 0))
		return err;
	if (plain_len && !s->dctx && !(s->dctx = ZSTD_createDCtx()))
		return kura_error_set(KURA_ENOMEM, "blob %s: out of memory", hex);
	return kura_blob_decode_into(&plain, s->payload, s->plain, s->dctx, key, mac, e, stored,
				     e->stored_len);
}

/* Bounds, then the blob itself; 0 or the error. */
static int verify_blob(checker *ck, const uint8_t key[KURA_KEY_SIZE], const kura_pack_entry *e,
		       const ck_job *job)
{
	if ((uint64_t)e->offset + e->stored_len > job->len) {
		char hex[KURA_ID_HEX];

		kura_hex(hex, e->id, KURA_HASH_SIZE);
		return kura_error_set(KURA_ECORRUPT, "blob %s: %u bytes run past the end of the pack",
				      hex, e->stored_len);
	}
	return ck_blob_verify(job->scratch, key, ck->repo->mac, e, job->data + e->offset);
}

/*
 * Hash the pack up to `end` (where the next blob ends), so each blob is
 * decrypted while the hash has just brought it into the cache.  Every byte
 * is hashed once, in order, whatever the records claim.
 */
static void hash_to(kura_sha256_ctx *h, const ck_job *job, size_t *hashed, uint64_t end)
{
	if (end > job->len)
		end = job->len;
	if (end > *hashed) {
		kura_sha256_update(h, job->data + *hashed, (size_t)end - *hashed);
		*hashed = (size_t)end;
	}
}

static void slot_release(ck_reader *rd, ck_slot *s)
{
	pthread_mutex_lock(&rd->lock);
	s->next_free = rd->free;
	rd->free = s;
	pthread_cond_signal(&rd->freed);
	pthread_mutex_unlock(&rd->lock);
}

/* Append b's problems to a's. */
static void ck_plist_cat(ck_plist *a, ck_plist *b)
{
	if (b->head) {
		*a->tail = b->head;
		a->tail = b->tail;
	}
	a->lost += b->lost;
	b->head = NULL;
	b->tail = &b->head;
	b->lost = 0;
}

static void ck_plist_free(ck_plist *l)
{
	while (l->head) {
		ck_pending *next = l->head->next;

		free(l->head->object);
		free(l->head->message);
		free(l->head);
		l->head = next;
	}
	l->tail = &l->head;
}

/*
 * The pack is intact (its content matches its name, its trailer
 * authenticates), so the records that disagree with its trailer are the
 * index files' lies: one problem per lying index file, naming it.  `lies`
 * holds positions among the pack's records; it is used up.
 */
static void report_lies(checker *ck, ck_plist *pl, const ck_pack *p, uint32_t *lies,
			size_t nlies)
{
	char object[96 + KURA_ID_HEX], pack[KURA_ID_HEX], hex[KURA_ID_HEX];

	kura_hex(pack, p->name, KURA_HASH_SIZE);
	for (size_t i = 0; i < nlies; i++) {
		const ck_copy *first;
		size_t count = 0;

		if (lies[i] == UINT32_MAX)
			continue;
		first = &ck->copies[ck->by_pack[p->rec_start + lies[i]]];
		for (size_t j = i; j < nlies; j++)
			if (lies[j] != UINT32_MAX &&
			    ck->copies[ck->by_pack[p->rec_start + lies[j]]].index == first->index) {
				lies[j] = UINT32_MAX;
				count++;
			}
		snprintf(object, sizeof(object), "index %s", ck->index_names.v[first->index].name);
		kura_hex(hex, first->e.id, KURA_HASH_SIZE);
		ck_plist_add(pl, object,
			     "%zu record(s) place blobs in pack %s where its intact trailer has "
			     "other blobs (first: blob %s at offset %u): the index lies",
			     count, pack, hex, first->e.offset);
	}
}

static void pack_job(void *arg, void *ctx)
{
	ck_reader *rd = ctx;
	checker *ck = rd->ck;
	ck_job *job = arg;
	const ck_pack *p = &ck->packs[job->pack];
	kura_pack_entry *entries = NULL;
	kura_sha256_ctx *h = NULL;
	ck_plist pl = {.tail = &pl.head};
	ck_plist dl = {.tail = &dl.head}; /* about records: the pack's fault unless it is intact */
	uint32_t *lies = NULL;            /* records that disagree with the trailer */
	size_t nentries = 0, hashed = 0, nlies = 0;
	uint8_t hash[KURA_HASH_SIZE], key[KURA_KEY_SIZE];
	uint8_t *matched = NULL;
	uint64_t checked = 0;
	bool have_key;
	char object[96], hex[KURA_ID_HEX];

	/* At most `threads` jobs run at once, so there is always a scratch. */
	pthread_mutex_lock(&rd->lock);
	job->scratch = rd->free_scratch;
	rd->free_scratch = job->scratch->next_free;
	pthread_mutex_unlock(&rd->lock);
	ck_object(object, "pack", p->name);
	if (kura_sha256_new(&h) < 0)
		h = NULL; /* hashed in one go at the end */
	if (kura_pack_read_entries(&entries, &nentries, &ck->repo->keys, job->data, job->len) < 0) {
		ck_plist_add(&pl, object, "trailer: %s", kura_error_message());
		entries = NULL;
		nentries = 0;
	} else {
		if (nentries)
			matched = calloc(nentries, 1);
		if (p->rec_count)
			lies = malloc(p->rec_count * sizeof(*lies));
	}
	have_key = kura_pack_open_key(key, &ck->repo->keys, job->data, job->len) == 0;
	if (!have_key)
		ck_plist_add(&pl, object, "data key: %s (no blob in it can be read)",
			     kura_error_message());

	for (size_t i = 0; i < p->rec_count; i++) {
		ck_copy *cp = &ck->copies[ck->by_pack[p->rec_start + i]];
		const kura_pack_entry *e = NULL;
		bool lie = false;

		kura_hex(hex, cp->e.id, KURA_HASH_SIZE);
		if (entries) {
			e = bsearch(&cp->e.offset, entries, nentries, sizeof(*entries),
				    cmp_entry_offset);
			if (!e)
				ck_plist_add(&dl, object,
					     "blob %s is indexed at offset %u, where the "
					     "pack's trailer has no blob",
					     hex, cp->e.offset);
			else if (!entries_agree(e, &cp->e))
				ck_plist_add(&dl, object,
					     "the index and the pack's trailer disagree "
					     "about the blob at offset %u (%s)",
					     cp->e.offset, hex);
			lie = !e || !entries_agree(e, &cp->e);
			if (lie && lies)
				lies[nlies++] = (uint32_t)i;
			if (e && matched && !lie)
				matched[e - entries] = 1;
		}
		if (cp->state == CK_BAD || !have_key) {
			cp->state = CK_BAD; /* reported already, with the reason */
			continue;
		}
		checked++;
		if (h)
			hash_to(h, job, &hashed, (uint64_t)cp->e.offset + cp->e.stored_len);
		if (verify_blob(ck, key, &cp->e, job) < 0) {
			/* The decoder's message names the blob. */
			ck_plist_add(lie ? &dl : &pl, object, "at offset %u: %s", cp->e.offset,
				     kura_error_message());
			cp->state = CK_BAD;
		} else {
			cp->state = CK_GOOD;
		}
	}
	/* Blobs no index mentions are unreachable, but damage is still damage. */
	for (size_t i = 0; have_key && i < nentries; i++) {
		if (matched && matched[i])
			continue;
		checked++;
		if (h)
			hash_to(h, job, &hashed, (uint64_t)entries[i].offset + entries[i].stored_len);
		if (verify_blob(ck, key, &entries[i], job) < 0)
			ck_plist_add(&pl, object, "unindexed, at offset %u: %s", entries[i].offset,
				     kura_error_message());
	}
	if (h) {
		hash_to(h, job, &hashed, job->len);
		kura_sha256_final(h, hash);
		kura_sha256_free(h);
	} else {
		kura_sha256(hash, job->data, job->len);
	}
	if (memcmp(hash, p->name, KURA_HASH_SIZE) != 0 || !entries || (p->rec_count && !lies)) {
		/* Reported first, as it always was: it says the most. */
		ck_plist pre = {.tail = &pre.head};

		if (memcmp(hash, p->name, KURA_HASH_SIZE) != 0)
			ck_plist_add(&pre, object, "content hash does not match its name");
		if (p->beyond)
			ck_plist_add(&pre, object,
				     "%llu index records lie outside the pack's %llu bytes "
				     "(first at offset %llu)",
				     (unsigned long long)p->beyond, (unsigned long long)p->size,
				     (unsigned long long)p->first_beyond);
		ck_plist_cat(&pre, &pl);
		ck_plist_cat(&pre, &dl);
		pl = pre;
		if (!pl.head)
			pl.tail = &pl.head;
	} else {
		/* intact: what disagrees with its trailer is some index file's lie */
		report_lies(ck, &pl, p, lies, nlies);
		ck_plist_free(&dl);
	}
	kura_wipe(key, sizeof(key));
	ck_plist_queue(ck, &pl);
	pthread_mutex_lock(&ck->lock);
	ck->blobs_checked += checked;
	pthread_mutex_unlock(&ck->lock);
	free(matched);
	free(lies);
	free(entries);
	free(job->owned);
	pthread_mutex_lock(&rd->lock);
	job->scratch->next_free = rd->free_scratch;
	rd->free_scratch = job->scratch;
	pthread_mutex_unlock(&rd->lock);
	slot_release(rd, job->slot);
	free(job);
}

static void ck_progress(checker *ck, uint64_t done, uint64_t total, uint64_t packs_done,
			double *last, bool force)
{
	kura_progress pr;
	double now;

	if (!ck->opts->progress)
		return;
	now = ck_elapsed(ck);
	if (!force && now - *last < CK_PROGRESS_INTERVAL)
		return;
	*last = now;
	memset(&pr, 0, sizeof(pr));
	pr.files_done = packs_done;
	pr.files_total = ck->npacks;
	pr.bytes_done = done;
	pr.bytes_total = total;
	pr.elapsed = now;
	ck->opts->progress(&pr, ck->opts->progress_ctx);
}

static ck_slot *slot_take(ck_reader *rd)
{
	ck_slot *s;

	pthread_mutex_lock(&rd->lock);
	while (!rd->free)
		pthread_cond_wait(&rd->freed, &rd->lock);
	s = rd->free;
	rd->free = s->next_free;
	pthread_mutex_unlock(&rd->lock);
	return s;
}

/*
 * Read pack `name` into slot `s`: into its own buffer when the listing's
 * size fits (it is the size the pack had when listed), else (the pack
 * changed since, or the slot cannot grow) the backend's whole-file read,
 * which reports exactly what it finds.
 */
static int read_pack(checker *ck, const ck_pack *p, const char *name, ck_slot *s, ck_job *job)
{
	kura_backend *b = ck->repo->backend;
	size_t want = (size_t)p->size;

	if (want > s->cap)
		(void)big_grow(&s->buf, &s->cap, want ? want : 1, false);
	if (s->buf && want <= s->cap &&
	    b->get_range(b, KURA_FILE_PACK, name, 0, want, s->buf) == 0) {
		job->data = s->buf;
		job->len = want;
		return 0;
	}
	if (b->get(b, KURA_FILE_PACK, name, &job->owned, &job->len) < 0)
		return -1;
	job->data = job->owned;
	return 0;
}

static int read_packs(checker *ck)
{
	ck_reader rd = {.ck = ck};
	kura_pool *pool = NULL;
	uint64_t total = 0, packs_done = 0;
	double last = -1.0;
	int threads = ck->opts->threads > 0 ? ck->opts->threads : kura_cpu_count();
	int err;

	pthread_mutex_init(&rd.lock, NULL);
	pthread_cond_init(&rd.freed, NULL);
	for (size_t i = 0; i < ck->npacks; i++)
		if (ck->packs[i].present)
			total += ck->packs[i].size;
	rd.nslots = (size_t)threads + 1;
	rd.nscratch = (size_t)threads;
	rd.slots = calloc(rd.nslots, sizeof(*rd.slots));
	rd.scratch = calloc(rd.nscratch, sizeof(*rd.scratch));
	if (!rd.slots || !rd.scratch) {
		err = kura_error_set(KURA_ENOMEM, "check: out of memory");
		goto done;
	}
	for (size_t i = 0; i < rd.nslots; i++) {
		rd.slots[i].next_free = rd.free;
		rd.free = &rd.slots[i];
	}
	for (size_t i = 0; i < rd.nscratch; i++) {
		rd.scratch[i].next_free = rd.free_scratch;
		rd.free_scratch = &rd.scratch[i];
	}
	/* The slots bound the packs in flight; the queue needs no more room. */
	if ((err = kura_pool_new(&pool, threads, 1)) < 0)
		goto done;
	ck_progress(ck, 0, total, 0, &last, true);
	for (size_t i = 0; i < ck->npacks; i++) {
		ck_pack *p = &ck->packs[i];
		char object[96], name[KURA_ID_HEX];
		ck_job *job;
		ck_slot *s;

		if (!p->present)
			continue;
		ck_object(object, "pack", p->name);
		kura_hex(name, p->name, KURA_HASH_SIZE);
		packs_done++;
		if (p->size > KURA_PACK_MAX_SIZE) {
			ck_problem(ck, NULL, NULL, object, "%llu bytes: larger than any pack can be",
				   (unsigned long long)p->size);
			continue;
		}
		if (!(job = calloc(1, sizeof(*job)))) {
			err = kura_error_set(KURA_ENOMEM, "check: out of memory");
			goto done;
		}
		s = slot_take(&rd);
		if (read_pack(ck, p, name, s, job) < 0) {
			ck_problem(ck, NULL, NULL, object, "cannot read: %s", kura_error_message());
			slot_release(&rd, s);
			free(job);
			continue;
		}
		ck->files_checked++;
		ck->bytes_read += job->len;
		job->pack = (uint32_t)i;
		job->slot = s;
		kura_pool_add(pool, pack_job, job, &rd); /* blocks while the queue is full */
		ck_drain(ck);
		ck_progress(ck, ck->bytes_read, total, packs_done, &last, false);
	}
	kura_pool_wait(pool);
	ck_progress(ck, ck->bytes_read, total, packs_done, &last, true);
	err = 0;
done:
	kura_pool_free(pool);
	ck_drain(ck);
	for (size_t i = 0; rd.slots && i < rd.nslots; i++)
		big_free(&rd.slots[i].buf, &rd.slots[i].cap, false);
	for (size_t i = 0; rd.scratch && i < rd.nscratch; i++) {
		ck_scratch *s = &rd.scratch[i];

		big_free(&s->payload, &s->payload_cap, true);
		big_free(&s->plain, &s->plain_cap, true);
		ZSTD_freeDCtx(s->dctx);
	}
	free(rd.slots);
	free(rd.scratch);
	pthread_cond_destroy(&rd.freed);
	pthread_mutex_destroy(&rd.lock);
	return err;
}

/* ------------------------------------------------------------------ */
/* The tree walk                                                        */

/* The copies of blob `id`: *first is an index into ck->copies; returns the count. */
static size_t copies_of(const checker *ck, const uint8_t id[KURA_HASH_SIZE], size_t *first)
{
	size_t lo = 0, hi = ck->ncopies, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(ck->copies[mid].e.id, id, KURA_HASH_SIZE) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo + n < ck->ncopies && memcmp(ck->copies[lo + n].e.id, id, KURA_HASH_SIZE) == 0)
		n++;
	return n;
}

static bool copy_usable(const checker *ck, const ck_copy *cp)
{
	if (!ck->packs[cp->pack].present || cp->state == CK_BAD)
		return false;
	return !ck->read_data || cp->state == CK_GOOD;
}

/*
 * The copy of a blob this snapshot can use, preferring one in a pack the
 * snapshot lists; NULL with the reason in `why` if there is none.
 */
static const ck_copy *pick_copy(const ck_walk *w, const uint8_t id[KURA_HASH_SIZE], char *why,
				size_t why_len)
{
	const checker *ck = w->ck;
	const ck_copy *best = NULL;
	size_t first, n = copies_of(ck, id, &first);
	char hex[KURA_ID_HEX];

	for (size_t i = 0; i < n; i++) {
		const ck_copy *cp = &ck->copies[first + i];

		if (!copy_usable(ck, cp))
			continue;
		if (w->pflags[cp->pack] & CK_LISTED)
			return cp;
		if (!best)
			best = cp;
	}
	if (best)
		return best;
	if (n == 0) {
		snprintf(why, why_len, "is in no index");
		return NULL;
	}
	kura_hex(hex, ck->packs[ck->copies[first].pack].name, KURA_HASH_SIZE);
	if (!ck->packs[ck->copies[first].pack].present)
		snprintf(why, why_len, "is in pack %s, which is missing", hex);
	else
		snprintf(why, why_len, "is damaged in pack %s", hex);
	return NULL;
}

static const char *walk_path(const ck_walk *w)
{
	return w->path_len ? w->path : "/";
}

/* The snapshot needs pack `ord`: report once if its plaintext list lacks it. */
static void need_pack(ck_walk *w, uint32_t ord)
{
	char object[96], hex[KURA_ID_HEX];

	if (w->pflags[ord] & (CK_LISTED | CK_REPORTED))
		return;
	w->pflags[ord] |= CK_REPORTED;
	snprintf(object, sizeof(object), "snapshot %s", w->snap->id);
	kura_hex(hex, w->ck->packs[ord].name, KURA_HASH_SIZE);
	ck_problem(w->ck, w->snap->id, walk_path(w), object,
		   "needs pack %s but does not list it: a keyless store could delete it", hex);
}

static int path_push(ck_walk *w, const char *name, size_t *saved)
{
	size_t len = strlen(name);

	*saved = w->path_len;
	if (w->path_len + len + 2 > w->path_cap) {
		size_t cap = (w->path_len + len + 2) * 2;
		char *np = realloc(w->path, cap);

		if (!np)
			return kura_error_set(KURA_ENOMEM, "check: out of memory");
		w->path = np;
		w->path_cap = cap;
	}
	w->path[w->path_len++] = '/';
	memcpy(w->path + w->path_len, name, len + 1);
	w->path_len += len;
	return 0;
}

static void path_pop(ck_walk *w, size_t saved)
{
	w->path_len = saved;
	if (w->path)
		w->path[saved] = '\0';
}

/* The data key of a pack, from its header, cached in the pack table. */
static int pack_key(checker *ck, ck_pack *p, uint8_t out[KURA_KEY_SIZE])
{
	kura_backend *b = ck->repo->backend;
	uint8_t header[KURA_PACK_HEADER_SIZE];
	char name[KURA_ID_HEX];
	int err;

	if (p->key_state == 0) {
		kura_hex(name, p->name, KURA_HASH_SIZE);
		p->key_state = -1;
		err = b->get_range(b, KURA_FILE_PACK, name, 0, sizeof(header), header);
		if (err < 0)
			return kura_error_wrap(err, "pack %s: header", name);
		err = kura_pack_open_key(p->key, &ck->repo->keys, header, sizeof(header));
		if (err < 0)
			return kura_error_wrap(err, "pack %s", name);
		p->key_state = 1;
	}
	if (p->key_state < 0)
		return kura_error_set(KURA_ECORRUPT, "the pack's data key cannot be opened");
	memcpy(out, p->key, KURA_KEY_SIZE);
	return 0;
}

/* Read, decrypt, verify and parse one tree from the copy `cp`. */
static int load_tree(checker *ck, const ck_copy *cp, kura_tree **out)
{
	kura_backend *b = ck->repo->backend;
	ck_pack *p = &ck->packs[cp->pack];
	uint8_t key[KURA_KEY_SIZE], *stored = NULL, *plain = NULL;
	char name[KURA_ID_HEX];
	int err;

	*out = NULL;
	if ((err = pack_key(ck, p, key)) < 0)
		goto done;
	stored = malloc(cp->e.stored_len ? cp->e.stored_len : 1);
	if (!stored) {
		err = kura_error_set(KURA_ENOMEM, "check: out of memory");
		goto done;
	}
	kura_hex(name, p->name, KURA_HASH_SIZE);
	err = b->get_range(b, KURA_FILE_PACK, name, cp->e.offset, cp->e.stored_len, stored);
	if (err < 0)
		goto done;
	err = kura_blob_decode(&plain, key, ck->repo->mac, &cp->e, stored, cp->e.stored_len);
	if (err < 0) {
		plain = NULL;
		goto done;
	}
	err = kura_tree_decode(out, plain, cp->e.raw_len);
done:
	kura_wipe(key, sizeof(key));
	if (plain) {
		kura_wipe(plain, cp->e.raw_len);
		free(plain);
	}
	free(stored);
	return err;
}

/*
 * The copy *cp of a tree failed (its index entry may lie): name it, and
 * try the blob's other usable copies, as readers do (lib/repo/locate.c).
 * On success *cp is the copy that worked.
 */
static int load_tree_elsewhere(ck_walk *w, const uint8_t id[KURA_HASH_SIZE], const ck_copy **cp,
			       kura_tree **out)
{
	checker *ck = w->ck;
	size_t first, n = copies_of(ck, id, &first);
	char object[96], hex[KURA_ID_HEX], msg[256];
	int err = KURA_ECORRUPT;

	kura_hex(hex, ck->packs[(*cp)->pack].name, KURA_HASH_SIZE);
	snprintf(object, sizeof(object), "pack %s", hex);
	snprintf(msg, sizeof(msg), "%s", kura_error_message());
	kura_hex(hex, id, KURA_HASH_SIZE);
	ck_problem(ck, NULL, NULL, object, "tree %s is not at offset %u as an index says: %s",
		   hex, (*cp)->e.offset, msg);
	for (size_t i = 0; i < n; i++) {
		const ck_copy *other = &ck->copies[first + i];

		if (other == *cp || !copy_usable(ck, other))
			continue;
		if ((err = load_tree(ck, other, out)) == 0) {
			*cp = other;
			return 0;
		}
		if (err == KURA_ENOMEM)
			return err;
	}
	kura_error_set(KURA_ECORRUPT, "no copy of tree %s is intact (%s)", hex, msg);
	return KURA_ECORRUPT;
}

/* Check every chunk of a file; one report per damaged file. */
static int walk_file(ck_walk *w, const kura_node *node, ck_u32s *packs, bool *clean)
{
	uint64_t offset = 0, bad_offset = 0;
	uint32_t nbad = 0, nchunks = 0;
	uint8_t bad_id[KURA_HASH_SIZE];
	char why[160] = "", bad_why[160] = "";
	int err;

	for (uint32_t i = 0; i < node->nextents; i++) {
		const kura_extent *x = &node->extents[i];
		const ck_copy *cp;

		if (x->kind == KURA_EXTENT_CHUNK) {
			nchunks++;
			cp = pick_copy(w, x->id, why, sizeof(why));
			if (!cp) {
				if (!nbad++) {
					bad_offset = offset;
					memcpy(bad_id, x->id, KURA_HASH_SIZE);
					memcpy(bad_why, why, sizeof(why));
				}
			} else {
				need_pack(w, cp->pack);
				if ((err = ck_u32s_push(packs, cp->pack)) < 0)
					return err;
			}
		}
		offset += x->len;
	}
	if (nbad) {
		char object[96], hex[KURA_ID_HEX];

		*clean = false;
		snprintf(object, sizeof(object), "snapshot %s", w->snap->id);
		kura_hex(hex, bad_id, KURA_HASH_SIZE);
		ck_problem(w->ck, w->snap->id, walk_path(w), object,
			   "file content lost: %u of %u chunks unreadable; first at offset %llu: "
			   "chunk %s %s",
			   nbad, nchunks, (unsigned long long)bad_offset, hex, bad_why);
	}
	return 0;
}

static bool memo_all_listed(const ck_walk *w, const ck_memo *m)
{
	for (size_t i = 0; i < m->npacks; i++)
		if (!(w->pflags[m->packs[i]] & CK_LISTED))
			return false;
	return true;
}

static int memo_add(checker *ck, const uint8_t id[KURA_HASH_SIZE], bool clean, ck_u32s *packs)
{
	kura_blob_loc loc;
	ck_memo *m;
	int err;

	if ((err = KURA_ARRAY_GROW(ck->memos, ck->memos_cap, ck->nmemos + 1)) < 0)
		return err;
	memset(&loc, 0, sizeof(loc));
	memcpy(loc.id, id, KURA_HASH_SIZE);
	loc.offset = (uint32_t)ck->nmemos;
	if ((err = kura_idmap_put(ck->memo_map, &loc)) < 0)
		return err;
	m = &ck->memos[ck->nmemos++];
	m->clean = clean;
	m->packs = NULL;
	m->npacks = 0;
	if (clean && packs->n) {
		m->packs = malloc(packs->n * sizeof(*m->packs));
		if (!m->packs) {
			m->clean = false;
			return kura_error_set(KURA_ENOMEM, "check: out of memory");
		}
		memcpy(m->packs, packs->v, packs->n * sizeof(*m->packs));
		m->npacks = packs->n;
	}
	return 0;
}

/*
 * A tree being walked.  The walk keeps these on an explicit stack, not
 * the C stack: a snapshot may nest KURA_TREE_MAX_DEPTH trees, and a
 * hostile one tries to nest more.  The frame at index k is a tree at depth
 * k (the root is 0).
 */
typedef struct {
	kura_tree *t;
	size_t next;             /* the node to visit next */
	size_t saved;            /* path length before the node being visited */
	unsigned height;         /* levels of directories below it, so far */
	ck_u32s mine;            /* packs needed at and below this tree */
	bool clean, memoised;
	uint8_t id[KURA_HASH_SIZE];
} ck_frame;

typedef struct {
	ck_frame *v;
	size_t n, cap;
} ck_frames;

/*
 * Start on the tree `id`: settled at once (returns 0: known from the memo
 * or this snapshot, or lost, its packs added to `out` and *clean cleared
 * if anything below is unreadable) or pushed as a frame (returns 1).
 * Negative only when the check itself cannot go on.
 */
static int tree_enter(ck_walk *w, ck_frames *st, const uint8_t id[KURA_HASH_SIZE], ck_u32s *out,
		      bool *clean, unsigned *height)
{
	checker *ck = w->ck;
	kura_blob_loc memo;
	const ck_copy *cp;
	kura_tree *t = NULL;
	kura_blob_loc seen;
	ck_frame *f;
	bool memoised;
	char why[160], object[96], hex[KURA_ID_HEX];
	int err;

	*height = 0;
	memoised = kura_idmap_get(&memo, ck->memo_map, id);
	if (memoised && ck->memos[memo.offset].clean &&
	    st->n + ck->memos[memo.offset].height > KURA_TREE_MAX_DEPTH) {
		/* walked clean at a shallower place; here it ends too deep */
		*clean = false;
		snprintf(object, sizeof(object), "snapshot %s", w->snap->id);
		ck_problem(ck, w->snap->id, walk_path(w), object,
			   "directories nested more than %u deep below here", KURA_TREE_MAX_DEPTH);
		return 0;
	}
	if (memoised) {
		const ck_memo *m = &ck->memos[memo.offset];

		*height = m->height;
		if (m->clean && memo_all_listed(w, m))
			return ck_u32s_append(out, m->packs, m->npacks);
	}
	if (kura_idmap_get(NULL, w->seen, id)) {
		/* Walked already in this snapshot; its problems are reported. */
		if (memoised && ck->memos[memo.offset].clean)
			return ck_u32s_append(out, ck->memos[memo.offset].packs,
					      ck->memos[memo.offset].npacks);
		*clean = false;
		return 0;
	}
	memset(&seen, 0, sizeof(seen));
	memcpy(seen.id, id, KURA_HASH_SIZE);
	if ((err = kura_idmap_put(w->seen, &seen)) < 0)
		return err;

	snprintf(object, sizeof(object), "snapshot %s", w->snap->id);
	kura_hex(hex, id, KURA_HASH_SIZE);
	cp = pick_copy(w, id, why, sizeof(why));
	if (!cp) {
		*clean = false;
		ck_problem(ck, w->snap->id, walk_path(w), object,
			   "directory listing lost: tree %s %s", hex, why);
		return 0;
	}
	err = load_tree(ck, cp, &t);
	if (err == KURA_ENOMEM)
		return err;
	if (err < 0)
		err = load_tree_elsewhere(w, id, &cp, &t);
	if (err == KURA_ENOMEM)
		return err;
	if (err < 0) {
		*clean = false;
		ck_problem(ck, w->snap->id, walk_path(w), object,
			   "directory listing lost: tree %s: %s", hex, kura_error_message());
		return 0;
	}
	need_pack(w, cp->pack);
	if ((err = KURA_ARRAY_GROW(st->v, st->cap, st->n + 1)) < 0) {
		kura_tree_free(t);
		return err;
	}
	f = &st->v[st->n++];
	memset(f, 0, sizeof(*f));
	f->t = t;
	f->clean = true;
	f->memoised = memoised;
	memcpy(f->id, id, KURA_HASH_SIZE);
	if ((err = ck_u32s_push(&f->mine, cp->pack)) < 0)
		return err;
	return 1;
}

/* Finish the top frame: memoise it and hand its packs, cleanliness and height up. */
static int tree_leave(ck_walk *w, ck_frames *st, ck_u32s *out, bool *clean, unsigned *height)
{
	ck_frame *f = &st->v[--st->n];
	int err = 0;

	ck_u32s_sort_unique(&f->mine);
	if (!f->memoised) {
		w->ck->trees++;
		if ((err = memo_add(w->ck, f->id, f->clean, &f->mine)) == 0)
			w->ck->memos[w->ck->nmemos - 1].height = f->height;
	}
	if (f->height + 1 > *height)
		*height = f->height + 1;
	if (err == 0)
		err = ck_u32s_append(out, f->mine.v, f->mine.n);
	if (!f->clean)
		*clean = false;
	kura_tree_free(f->t);
	free(f->mine.v);
	return err;
}

/*
 * Walk a snapshot's trees from its root.  Adds the ordinals of every pack
 * needed to `out`; clears *clean if anything is unreadable.  Returns a
 * negative code only when the check itself cannot go on.
 */
static int walk_tree(ck_walk *w, const uint8_t id[KURA_HASH_SIZE], ck_u32s *out, bool *clean)
{
	ck_frames st = {0};
	unsigned height;
	int err = tree_enter(w, &st, id, out, clean, &height);

	while (err >= 0 && st.n > 0) {
		ck_frame *f = &st.v[st.n - 1];
		const kura_node *node;

		if (f->next == f->t->count) {
			bool top = st.n == 1;

			err = tree_leave(w, &st, top ? out : &st.v[st.n - 2].mine,
					 top ? clean : &st.v[st.n - 2].clean,
					 top ? &height : &st.v[st.n - 2].height);
			if (!top)
				path_pop(w, st.v[st.n - 1].saved);
			continue;
		}
		node = &f->t->nodes[f->next++];
		if ((err = path_push(w, node->name, &f->saved)) < 0)
			break;
		if (node->type == KURA_NODE_FILE || node->type == KURA_NODE_HARDLINK) {
			err = walk_file(w, node, &f->mine, &f->clean);
		} else if (node->type == KURA_NODE_DIR && st.n > KURA_TREE_MAX_DEPTH) {
			char object[96];

			f->clean = false;
			snprintf(object, sizeof(object), "snapshot %s", w->snap->id);
			ck_problem(w->ck, w->snap->id, walk_path(w), object,
				   "directories nested more than %u deep", KURA_TREE_MAX_DEPTH);
		} else if (node->type == KURA_NODE_DIR) {
			/* may move the stack: f is not used after this */
			err = tree_enter(w, &st, node->subtree, &f->mine, &f->clean, &height);
			if (err == 1)
				continue; /* its path is popped when it is left */
			if (height + 1 > f->height)
				f->height = height + 1;
		}
		path_pop(w, st.v[st.n - 1].saved);
	}
	while (st.n > 0) {
		ck_frame *f = &st.v[--st.n];

		kura_tree_free(f->t);
		free(f->mine.v);
	}
	free(st.v);
	return err;
}

static int walk_snapshot(checker *ck, const ck_snap *sn, uint8_t *pflags)
{
	ck_walk w = {.ck = ck, .snap = sn, .pflags = pflags};
	ck_u32s all = {0};
	bool clean = true;
	int err;

	memset(pflags, 0, ck->npacks ? ck->npacks : 1);
	for (size_t i = 0; i < sn->s->npacks; i++) {
		const ck_pack *p = find_pack(ck, sn->s->packs[i]);

		if (p)
			pflags[p - ck->packs] |= CK_LISTED;
	}
	if ((err = kura_idmap_new(&w.seen)) < 0)
		goto done;
	err = walk_tree(&w, sn->s->tree, &all, &clean);
done:
	kura_idmap_free(w.seen);
	free(w.path);
	free(all.v);
	return err;
}

/* ------------------------------------------------------------------ */

static void checker_free(checker *ck)
{
	for (size_t i = 0; i < ck->index_names.n; i++)
		if (ck->indexes)
			kura_indexfile_free(ck->indexes[i]);
	free(ck->indexes);
	names_free(&ck->index_names);
	for (size_t i = 0; i < ck->nsnaps; i++)
		kura_snapshot_free(ck->snaps[i].s);
	free(ck->snaps);
	for (size_t i = 0; i < ck->npacks; i++)
		kura_wipe(ck->packs[i].key, sizeof(ck->packs[i].key));
	free(ck->packs);
	free(ck->copies);
	free(ck->by_pack);
	for (size_t i = 0; i < ck->nmemos; i++)
		free(ck->memos[i].packs);
	free(ck->memos);
	kura_idmap_free(ck->memo_map);
	while (ck->pending) {
		ck_pending *next = ck->pending->next;

		free(ck->pending->object);
		free(ck->pending->message);
		free(ck->pending);
		ck->pending = next;
	}
	pthread_mutex_destroy(&ck->lock);
}

int kura_check(kura_repo *repo, const kura_check_options *opts, kura_check_result *out)
{
	static const kura_check_options no_opts;
	checker ck;
	ck_names packs_listed = {0};
	uint8_t *pflags = NULL;
	int err;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!repo)
		return kura_error_set(KURA_EINVAL, "check: no repository");
	if (!opts)
		opts = &no_opts;
	if (opts->read_data && (err = kura_repo__need_restore_key(repo, "check --read-data")) < 0)
		return err;

	memset(&ck, 0, sizeof(ck));
	ck.repo = repo;
	ck.opts = opts;
	ck.read_data = opts->read_data;
	ck.pending_tail = &ck.pending;
	pthread_mutex_init(&ck.lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &ck.start);

	if ((err = check_config(&ck)) < 0 || (err = check_keys(&ck)) < 0 ||
	    (err = check_indexes(&ck)) < 0 || (err = check_snapshots(&ck)) < 0)
		goto done;
	if ((err = ck_list(&ck, KURA_FILE_PACK, &packs_listed)) < 0)
		goto done;
	if ((err = build_pack_table(&ck, &packs_listed)) < 0 || (err = build_copies(&ck)) < 0)
		goto done;
	mark_snapshot_packs(&ck);
	check_pack_table(&ck);
	check_snapshot_packs(&ck);

	/* What backup and restore will load; damaged index files are reported above. */
	err = kura_repo__load_index(repo);
	if (err == KURA_ENOMEM)
		goto done;
	if (err < 0 && ck.index_problems == 0)
		ck_problem(&ck, NULL, NULL, "index", "the index cannot be loaded: %s",
			   kura_error_message());

	if (ck.read_data && (err = read_packs(&ck)) < 0)
		goto done;

	if (kura_repo_can_read(repo)) {
		if ((err = kura_idmap_new(&ck.memo_map)) < 0)
			goto done;
		pflags = malloc(ck.npacks ? ck.npacks : 1);
		if (!pflags) {
			err = kura_error_set(KURA_ENOMEM, "check: out of memory");
			goto done;
		}
		for (size_t i = 0; i < ck.nsnaps; i++) {
			if (!ck.snaps[i].s->readable)
				continue;
			if ((err = walk_snapshot(&ck, &ck.snaps[i], pflags)) < 0)
				goto done;
		}
		if (!ck.read_data)
			ck.blobs_checked += ck.trees;
	}
	err = 0;

done:
	ck.problems += ck.lost_problems;
	if (out) {
		out->files_checked = ck.files_checked;
		out->packs = packs_listed.n;
		out->indexes = ck.index_names.n;
		out->snapshots = ck.nsnaps;
		out->trees = ck.trees;
		out->blobs_checked = ck.blobs_checked;
		out->bytes_read = ck.bytes_read;
		out->problems = ck.problems;
		out->packs_pruned = ck.pruned_packs;
		out->seconds = ck_elapsed(&ck);
	}
	if (err == 0 && ck.problems)
		err = kura_error_set(KURA_ECORRUPT, "%llu problems found",
				     (unsigned long long)ck.problems);
	free(pflags);
	names_free(&packs_listed);
	checker_free(&ck);
	return err;
}
