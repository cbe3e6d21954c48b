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
 *
 * This file holds kura_check() itself, which runs the stages in order,
 * problem reporting and the small helpers every stage shares.  The stages
 * live in checkmeta.c (config, keys, indexes, snapshots), checkpacks.c (the
 * pack table and copies), checkdata.c (--read-data) and checkwalk.c (the
 * tree walk); checker.h is what they share.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "repo/checker.h"

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
__attribute__((format(printf, 5, 6))) void kura_check__problem(checker *ck, const char *snap,
							       const char *path, const char *object,
							       const char *fmt, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	ck_report(ck, snap, path, object, message);
}

void kura_check__drain(checker *ck)
{
	kura_msglist list;

	kura_msgqueue_take(&ck->pending, &list);
	ck->lost_problems += list.lost;
	for (kura_msg *m = list.head; m; m = m->next)
		ck_report(ck, NULL, NULL, m->text, m->text + m->second);
	kura_msglist_free(&list);
}

void kura_check__object(char out[96], const char *kind, const uint8_t name[KURA_HASH_SIZE])
{
	char hex[KURA_ID_HEX];

	kura_hex(hex, name, KURA_HASH_SIZE);
	snprintf(out, 96, "%s %s", kind, hex);
}

double kura_check__elapsed(const checker *ck)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - ck->start.tv_sec) +
	       (double)(now.tv_nsec - ck->start.tv_nsec) / 1e9;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

int kura_check__u32s_push(ck_u32s *s, uint32_t v)
{
	int err;

	if ((err = KURA_ARRAY_GROW(s->v, s->cap, s->n + 1)) < 0)
		return err;
	s->v[s->n++] = v;
	return 0;
}

int kura_check__u32s_append(ck_u32s *s, const uint32_t *v, size_t n)
{
	int err;

	for (size_t i = 0; i < n; i++)
		if ((err = kura_check__u32s_push(s, v[i])) < 0)
			return err;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void kura_check__u32s_sort_unique(ck_u32s *s)
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

void kura_check__names_free(ck_names *nm)
{
	free(nm->v);
	memset(nm, 0, sizeof(*nm));
}

/* List every file of a type, sorted by name. */
int kura_check__list(checker *ck, kura_file_type type, ck_names *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = kura_list_files(&out->v, &out->n, ck->repo->backend, type)) < 0)
		return kura_error_wrap(err, "check: listing %s", kura_file_type_name(type));
	out->cap = out->n;
	return 0;
}

/*
 * Fetch a small file and compare its hash with its name.  Returns 0 with
 * the bytes in *out, or 1 (already reported) when it cannot be read.
 */
int kura_check__fetch(checker *ck, kura_file_type type, const char *label, const char *name,
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
		kura_check__problem(ck, NULL, NULL, object,
				    "%llu bytes: far too large for a %s file",
				    (unsigned long long)size, label);
		return 1;
	}
	err = b->get(b, type, name, out, out_len);
	if (err < 0) {
		kura_check__problem(ck, NULL, NULL, object, "cannot read: %s",
				    kura_error_message());
		*out = NULL;
		return 1;
	}
	ck->files_checked++;
	kura_sha256(got, *out, *out_len);
	if (kura_unhex(want, name, KURA_HASH_SIZE) < 0 || memcmp(want, got, KURA_HASH_SIZE) != 0)
		kura_check__problem(ck, NULL, NULL, object, "content hash does not match its name");
	return 0;
}

/* ------------------------------------------------------------------ */

static void checker_free(checker *ck)
{
	for (size_t i = 0; i < ck->index_names.n; i++)
		if (ck->indexes)
			kura_indexfile_free(ck->indexes[i]);
	free(ck->indexes);
	kura_check__names_free(&ck->index_names);
	for (size_t i = 0; i < ck->nsnaps; i++)
		kura_snapshot_free(ck->snaps[i].s);
	free(ck->snaps);
	for (size_t i = 0; i < ck->npacks; i++)
		kura_wipe(ck->packs[i].key, sizeof(ck->packs[i].key));
	free(ck->packs);
	free(ck->copies);
	free(ck->by_pack);
	free(ck->refnames);
	for (size_t i = 0; i < ck->nmemos; i++)
		free(ck->memos[i].packs);
	free(ck->memos);
	kura_idmap_free(ck->memo_map);
	kura_msgqueue_destroy(&ck->pending);
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
	if (opts->version > KURA_CHECK_OPTIONS_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED,
				      "check options version %u: this library knows up to %d",
				      opts->version, KURA_CHECK_OPTIONS_VERSION);
	if (opts->read_data && (err = kura_repo__need_restore_key(repo, "check --read-data")) < 0)
		return err;

	memset(&ck, 0, sizeof(ck));
	ck.repo = repo;
	ck.opts = opts;
	ck.read_data = opts->read_data;
	kura_msgqueue_init(&ck.pending);
	pthread_mutex_init(&ck.lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &ck.start);

	if ((err = kura_check__config(&ck)) < 0 || (err = kura_check__keys(&ck)) < 0 ||
	    (err = kura_check__indexes(&ck)) < 0 || (err = kura_check__snapshots(&ck)) < 0)
		goto done;
	if ((err = kura_check__list(&ck, KURA_FILE_PACK, &packs_listed)) < 0)
		goto done;
	if ((err = kura_check__build_pack_table(&ck, &packs_listed)) < 0 ||
	    (err = kura_check__build_copies(&ck)) < 0)
		goto done;
	kura_check__mark_snapshot_packs(&ck);
	kura_check__pack_table(&ck);
	kura_check__snapshot_packs(&ck);

	/* What backup and restore will load; damaged index files are reported above. */
	err = kura_repo__load_index(repo);
	if (err == KURA_ENOMEM)
		goto done;
	if (err < 0 && ck.index_problems == 0)
		kura_check__problem(&ck, NULL, NULL, "index", "the index cannot be loaded: %s",
				    kura_error_message());

	if (ck.read_data && (err = kura_check__read_packs(&ck)) < 0)
		goto done;

	if (kura_repo_can_read(repo)) {
		if ((err = kura_idmap_new(&ck.memo_map)) < 0)
			goto done;
		pflags = malloc(ck.npacks ? ck.npacks : 1);
		if (!pflags) {
			err = kura_error_set(KURA_ENOMEM, "check: out of memory");
			goto done;
		}
		if ((err = kura_check__trees_ahead(&ck)) < 0)
			goto done;
		for (size_t i = 0; i < ck.nsnaps; i++) {
			if (!ck.snaps[i].s->readable)
				continue;
			if ((err = kura_check__walk_snapshot(&ck, &ck.snaps[i], pflags)) < 0)
				goto done;
		}
		kura_check__trees_ahead_free(&ck);
		if (!ck.read_data)
			ck.blobs_checked += ck.trees;
	}
	err = 0;

done:
	kura_check__trees_ahead_free(&ck);
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
		out->seconds = kura_check__elapsed(&ck);
	}
	if (err == 0 && ck.problems)
		err = kura_error_set(KURA_ECORRUPT, "%llu problems found",
				     (unsigned long long)ck.problems);
	free(pflags);
	kura_check__names_free(&packs_listed);
	checker_free(&ck);
	return err;
}
