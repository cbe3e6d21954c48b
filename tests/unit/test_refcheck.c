/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_refcheck.c - snapshots whose chunks are stored against other blobs
 * (docs/FORMAT.md, "Blobs stored against another"), written by
 * tests/tools/refsnap.h into a real local repository: the file restores
 * byte for byte and checks clean; with the reference's pack gone or
 * damaged, check names the file, the chunk and the reference (and
 * --read-data blames the reference's pack, not the chunk's), and restore
 * fails that file alone with the reference named; a snapshot that does
 * not list the reference's pack, or whose tree names no reference or one
 * no index holds, is caught, and with --read-data one that names another
 * blob than the chunk's own payload does.  A chunk also stored on its own in a pack
 * the snapshot lists needs no reference.
 */
#include "testutil.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tools/refsnap.h"
#include "common/error.h"
#include "format/snapshot.h"
#include "kura/backend.h"
#include "repo/refahead.h"
#include "repo/repo.h"
#include "repo/restorer.h"

#define PASSPHRASE "correct horse battery staple vertically integrated marmalade"
#define V1_LEN (1u << 20)
#define OTHER_LEN 200000u

typedef struct {
	char dir[64], repo[96];
	kura_repo *r;
	uint8_t *v1, *v2, *other;
	char s1[KURA_ID_HEX], s2[KURA_ID_HEX];
	unsigned refs;
	char ref_hex[KURA_ID_HEX];    /* the reference of db's first chunk in s2 */
	char ref_pack[KURA_ID_HEX];   /* the pack holding it */
	char chunk_pack[KURA_ID_HEX]; /* the pack holding db's first chunk in s2 */
	unsigned parallel;	      /* restores: the store's read_parallel (0: a local disk) */
} fixture;

typedef struct {
	int count;
	char messages[16384];
} problems;

static void fill_random(uint8_t *p, size_t len, unsigned seed)
{
	srand(seed);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(rand() & 0xff);
}

/* The name of the pack holding blob `id`, from the index. */
static void pack_of(kura_repo *r, const uint8_t id[KURA_HASH_SIZE], char out[KURA_ID_HEX])
{
	kura_blob_loc loc;

	assert_ok(kura_repo__load_index(r));
	assert_true(kura_idmap_get(&loc, r->index, id));
	assert_true(loc.pack < r->npacks);
	kura_hex(out, r->packs[loc.pack], KURA_HASH_SIZE);
}

/* Write a snapshot of `files` through a fresh handle (as a separate run would). */
static void write_snap(fixture *f, const refsnap_file *files, size_t n, char out[KURA_ID_HEX],
		       unsigned *refs)
{
	kura_repo *r = NULL;

	assert_ok(kura_repo_open_passphrase(&r, f->repo, PASSPHRASE));
	assert_ok(refsnap_write(r, files, n, out, refs));
	kura_repo_free(r);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	kura_init_options io;
	uint8_t first[KURA_HASH_SIZE];
	unsigned refs = 0;

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-refblobs-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	f->v1 = malloc(V1_LEN);
	f->v2 = malloc(V1_LEN);
	f->other = malloc(OTHER_LEN);
	if (!f->v1 || !f->v2 || !f->other)
		return -1;
	fill_random(f->v1, V1_LEN, 1);
	fill_random(f->other, OTHER_LEN, 2);
	/* a scattered rewrite: 8 bytes in every piece */
	memcpy(f->v2, f->v1, V1_LEN);
	for (size_t at = 100; at < V1_LEN; at += REFSNAP_PIECE)
		memcpy(f->v2 + at, "CHANGED!", 8);
	kura_init_options_default(&io);
	io.kdf_profile = KURA_KDF_INTERACTIVE;
	if (kura_repo_init(&f->r, f->repo, PASSPHRASE, &io) < 0) {
		print_error("init: %s\n", kura_error_message());
		return -1;
	}
	kura_repo_free(f->r);
	f->r = NULL;
	{
		refsnap_file one = {.name = "db", .data = f->v1, .len = V1_LEN};
		refsnap_file two[2] = {
		    {.name = "db", .data = f->v2, .len = V1_LEN, .old = f->v1, .old_len = V1_LEN},
		    {.name = "other", .data = f->other, .len = OTHER_LEN}};

		write_snap(f, &one, 1, f->s1, &refs);
		write_snap(f, two, 2, f->s2, &f->refs);
	}
	if (kura_repo_open_passphrase(&f->r, f->repo, PASSPHRASE) < 0)
		return -1;
	assert_ok(kura_mac_compute(f->r->mac, first, f->v1, REFSNAP_PIECE));
	kura_hex(f->ref_hex, first, KURA_HASH_SIZE);
	pack_of(f->r, first, f->ref_pack);
	assert_ok(kura_mac_compute(f->r->mac, first, f->v2, REFSNAP_PIECE));
	pack_of(f->r, first, f->chunk_pack);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	kura_repo_free(f->r);
	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f->v1);
	free(f->v2);
	free(f->other);
	free(f);
	return 0;
}

static void on_problem(const char *object, const char *message, const char *snapshot_id,
		       const char *path, void *ctx)
{
	problems *p = ctx;
	size_t n = strlen(p->messages);

	p->count++;
	snprintf(p->messages + n, sizeof(p->messages) - n, "%s: %s [%s %s]\n", object, message,
		 snapshot_id ? snapshot_id : "-", path ? path : "-");
}

/* A check through a fresh handle; its result code. */
static int run_check(fixture *f, bool read_data, problems *p)
{
	kura_check_options o;
	kura_check_result res;
	kura_repo *r = NULL;
	int err;

	memset(&o, 0, sizeof(o));
	memset(p, 0, sizeof(*p));
	o.read_data = read_data;
	o.threads = 2;
	o.problem = on_problem;
	o.problem_ctx = p;
	assert_ok(kura_repo_open_passphrase(&r, f->repo, PASSPHRASE));
	err = kura_check(r, &o, &res);
	kura_repo_free(r);
	return err;
}

typedef struct {
	int count;
	char paths[1024], errors[4096];
} restore_problems;

static void on_restore_problem(const kura_restore_problem *q, void *ctx)
{
	restore_problems *p = ctx;
	size_t n = strlen(p->paths), m = strlen(p->errors);

	p->count++;
	snprintf(p->paths + n, sizeof(p->paths) - n, "%s\n", q->path);
	snprintf(p->errors + m, sizeof(p->errors) - m, "%s\n", q->error);
}

/* get_range of the local backend, counted for pack files */
static int (*real_get_range)(kura_backend *, kura_file_type, const char *, uint64_t, size_t,
			     uint8_t *);
static atomic_size_t pack_reads;

static int counting_get_range(kura_backend *b, kura_file_type type, const char *name,
			      uint64_t offset, size_t len, uint8_t *buf)
{
	if (type == KURA_FILE_PACK)
		atomic_fetch_add(&pack_reads, 1);
	return real_get_range(b, type, name, offset, len, buf);
}

/*
 * A restore through a fresh handle, as on a remote store when f->parallel
 * is set (references and trees read ahead); its pack reads in pack_reads.
 */
static int run_restore(fixture *f, const char *snap, const char *target, restore_problems *p,
		       kura_restore_result *res)
{
	kura_restore_options o = KURA_RESTORE_OPTIONS_INIT;
	kura_repo *r = NULL;
	kura_backend *b;
	int err;

	memset(p, 0, sizeof(*p));
	o.target = target;
	o.threads = 2;
	o.problem = on_restore_problem;
	o.problem_ctx = p;
	assert_ok(kura_repo_open_passphrase(&r, f->repo, PASSPHRASE));
	b = kura_repo_backend(r);
	real_get_range = b->get_range;
	b->get_range = counting_get_range;
	b->read_parallel = f->parallel;
	atomic_store(&pack_reads, 0);
	err = kura_restore(r, snap, &o, res);
	kura_repo_free(r);
	return err;
}

/* Whether DIR/NAME holds exactly `len` bytes equal to `want`. */
static bool same_file(const char *dir, const char *name, const uint8_t *want, size_t len)
{
	char path[256];
	uint8_t *buf = malloc(len + 1);
	FILE *fp;
	size_t n;
	bool same;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!buf || !(fp = fopen(path, "rb"))) {
		free(buf);
		return false;
	}
	n = fread(buf, 1, len + 1, fp);
	fclose(fp);
	same = n == len && memcmp(buf, want, len) == 0;
	free(buf);
	return same;
}

static int strcmp32(const void *a, const void *b)
{
	return memcmp(a, b, KURA_HASH_SIZE);
}

static void pack_path(const fixture *f, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/data/%.2s/%s", f->repo, name, name);
}

static void test_restores_and_checks_clean(void **state)
{
	fixture *f = *state;
	char target[160];
	restore_problems rp;
	kura_restore_result res;
	problems p;

	/* every piece changed by 8 bytes: each is stored against the old one */
	assert_int_equal(f->refs, V1_LEN / REFSNAP_PIECE);
	assert_string_not_equal(f->ref_pack, f->chunk_pack);
	snprintf(target, sizeof(target), "%s/out", f->dir);
	assert_ok(run_restore(f, f->s2, target, &rp, &res));
	assert_int_equal(res.errors, 0);
	assert_true(same_file(target, "db", f->v2, V1_LEN));
	assert_true(same_file(target, "other", f->other, OTHER_LEN));
	assert_ok(run_check(f, false, &p));
	assert_int_equal(p.count, 0);
	assert_ok(run_check(f, true, &p));
	assert_int_equal(p.count, 0);
}

static void test_reference_pack_missing(void **state)
{
	fixture *f = *state;
	char path[256], target[160], want[200];
	restore_problems rp;
	kura_restore_result res;
	problems p;

	pack_path(f, f->ref_pack, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	snprintf(want, sizeof(want),
		 "is stored against blob %s, which is in pack %s, which is missing", f->ref_hex,
		 f->ref_pack);
	for (int rd = 0; rd < 2; rd++) {
		assert_int_equal(run_check(f, rd, &p), KURA_ECORRUPT);
		assert_non_null(strstr(p.messages, want));
		/* under the snapshot that needs it, at the file */
		snprintf(path, sizeof(path), "[%s /db]", f->s2);
		assert_non_null(strstr(p.messages, path));
		assert_null(strstr(p.messages, "/other]"));
	}
	/* only db fails, and its error names the reference */
	snprintf(target, sizeof(target), "%s/out", f->dir);
	assert_int_equal(run_restore(f, f->s2, target, &rp, &res), KURA_ECORRUPT);
	assert_int_equal(res.errors, 1);
	assert_non_null(strstr(rp.paths, "/db"));
	snprintf(want, sizeof(want), "is stored against blob %s", f->ref_hex);
	assert_non_null(strstr(rp.errors, want));
	assert_true(same_file(target, "other", f->other, OTHER_LEN));
}

static void test_reference_pack_damaged(void **state)
{
	fixture *f = *state;
	char path[256], target[160], want[300];
	restore_problems rp;
	kura_restore_result res;
	problems p;
	int fd;

	/* one bit in the reference's ciphertext (the first blob starts after the header) */
	pack_path(f, f->ref_pack, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	{
		uint8_t b;

		assert_int_equal(pread(fd, &b, 1, 1000), 1);
		b ^= 1;
		assert_int_equal(pwrite(fd, &b, 1, 1000), 1);
	}
	close(fd);
	/* without --read-data the pack looks whole */
	assert_ok(run_check(f, false, &p));
	assert_int_equal(run_check(f, true, &p), KURA_ECORRUPT);
	/* the reference's pack is damaged, the chunk's is not */
	snprintf(want, sizeof(want), "pack %s: at offset", f->ref_pack);
	assert_non_null(strstr(p.messages, want));
	snprintf(want, sizeof(want), "pack %s:", f->chunk_pack);
	assert_null(strstr(p.messages, want));
	snprintf(want, sizeof(want), "is stored against blob %s, which is damaged in pack %s",
		 f->ref_hex, f->ref_pack);
	assert_non_null(strstr(p.messages, want));
	snprintf(want, sizeof(want), "[%s /db]", f->s2);
	assert_non_null(strstr(p.messages, want));

	/* on a local disk, and on a remote store with the references read ahead */
	for (f->parallel = 0; f->parallel <= 4; f->parallel += 4) {
		snprintf(target, sizeof(target), "%s/out%u", f->dir, f->parallel);
		assert_int_equal(run_restore(f, f->s2, target, &rp, &res), KURA_ECORRUPT);
		assert_int_equal(res.errors, 1);
		snprintf(want, sizeof(want), "is stored against blob %s", f->ref_hex);
		assert_non_null(strstr(rp.errors, want));
		assert_true(same_file(target, "other", f->other, OTHER_LEN));
	}
}

/*
 * On a remote store a restore reads the references ahead: in merged
 * ranged reads, not one per chunk stored against another, and the file
 * comes back byte for byte.  On a local disk each is fetched alone.
 */
static void test_restore_reads_references_ahead(void **state)
{
	fixture *f = *state;
	char target[160];
	restore_problems rp;
	kura_restore_result res;
	size_t local, remote;

	snprintf(target, sizeof(target), "%s/local", f->dir);
	assert_ok(run_restore(f, f->s2, target, &rp, &res));
	local = atomic_load(&pack_reads);
	assert_true(same_file(target, "db", f->v2, V1_LEN));
	f->parallel = 4;
	snprintf(target, sizeof(target), "%s/remote", f->dir);
	assert_ok(run_restore(f, f->s2, target, &rp, &res));
	remote = atomic_load(&pack_reads);
	assert_int_equal(res.errors, 0);
	assert_true(same_file(target, "db", f->v2, V1_LEN));
	assert_true(same_file(target, "other", f->other, OTHER_LEN));
	/* a read a reference on the local disk; all of them in a span or two ahead */
	if (!(local >= f->refs && remote + f->refs / 2 <= local))
		print_error("%zu pack reads on a local disk, %zu ahead, %u references\n", local,
			    remote, f->refs);
	assert_true(local >= f->refs);
	assert_true(remote + f->refs / 2 <= local);

	/* a batch a file (the references' bytes end each): still read ahead, still whole */
	kura_restore__batch_ref_bytes = 1;
	snprintf(target, sizeof(target), "%s/batches", f->dir);
	assert_ok(run_restore(f, f->s2, target, &rp, &res));
	kura_restore__batch_ref_bytes = KURA_REFAHEAD_BYTES / 2;
	assert_int_equal(res.errors, 0);
	assert_true(same_file(target, "db", f->v2, V1_LEN));
	assert_true(same_file(target, "other", f->other, OTHER_LEN));
	assert_true(atomic_load(&pack_reads) + f->refs / 2 <= local);
}

/*
 * The read-ahead itself: each reference read once however often it is
 * named, given out as often as it was named (copies, then its own
 * plaintext), then no more; one not read (unknown) is not given out.
 */
static void test_refahead_gives_each_as_named(void **state)
{
	fixture *f = *state;
	size_t n = V1_LEN / REFSNAP_PIECE;
	uint8_t(*ids)[KURA_HASH_SIZE] = calloc(2 * n + 1, KURA_HASH_SIZE);
	kura_backend *b = kura_repo_backend(f->r);

	assert_non_null(ids);
	for (size_t i = 0; i < n; i++) {
		assert_ok(
		    kura_mac_compute(f->r->mac, ids[i], f->v1 + i * REFSNAP_PIECE, REFSNAP_PIECE));
		memcpy(ids[n + i], ids[i], KURA_HASH_SIZE); /* each named twice */
	}
	memset(ids[2 * n], 0x5a, KURA_HASH_SIZE); /* in no index */
	real_get_range = b->get_range;
	b->get_range = counting_get_range;
	atomic_store(&pack_reads, 0);
	assert_ok(kura_repo__refahead(f->r, (const uint8_t(*)[KURA_HASH_SIZE])ids, 2 * n + 1, 4));
	b->get_range = real_get_range;
	/* one span of the references' pack, and its header for the key */
	assert_true(atomic_load(&pack_reads) <= 2);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < n; i++) {
			uint8_t *data = NULL;
			size_t len = 0;
			bool got = kura_repo__refahead_take(f->r, ids[i], &data, &len);

			assert_int_equal(got, round < 2);
			if (got) {
				assert_int_equal(len, REFSNAP_PIECE);
				assert_memory_equal(data, f->v1 + i * REFSNAP_PIECE, REFSNAP_PIECE);
			}
			free(data);
		}
	{
		uint8_t *data = NULL;
		size_t len = 0;

		assert_false(kura_repo__refahead_take(f->r, ids[2 * n], &data, &len));
	}
	/* fewer than two requests at a time: nothing is read ahead */
	assert_ok(kura_repo__refahead(f->r, (const uint8_t(*)[KURA_HASH_SIZE])ids, n, 1));
	{
		uint8_t *data = NULL;
		size_t len = 0;

		assert_false(kura_repo__refahead_take(f->r, ids[0], &data, &len));
	}
	kura_repo__refahead_drop(f->r);
	free(ids);
}

/*
 * Store snapshot `id` again with its pack list changed: without pack
 * `drop`, or with the packs of snapshot `add` too; the old one removed,
 * the new one's id in `out`.
 */
static void relist(fixture *f, const char *id, const char *drop, const char *add,
		   char out[KURA_ID_HEX])
{
	kura_backend *b = f->r->backend;
	uint8_t *data = NULL, *more = NULL, *enc = NULL, newname[KURA_HASH_SIZE];
	size_t len, more_len, enc_len, kept = 0;
	kura_snapshot *s = NULL, *t = NULL;
	char hex[KURA_ID_HEX];

	assert_ok(b->get(b, KURA_FILE_SNAPSHOT, id, &data, &len));
	assert_ok(kura_snapshot_decode(&s, &f->r->keys, data, len));
	for (size_t i = 0; i < s->npacks; i++) {
		kura_hex(hex, s->packs[i], KURA_HASH_SIZE);
		if (!drop || strcmp(hex, drop) != 0)
			memmove(s->packs[kept++], s->packs[i], KURA_HASH_SIZE);
	}
	assert_int_equal(kept, s->npacks - (drop ? 1 : 0));
	s->npacks = kept;
	if (add) {
		uint8_t(*all)[KURA_HASH_SIZE];

		assert_ok(b->get(b, KURA_FILE_SNAPSHOT, add, &more, &more_len));
		assert_ok(kura_snapshot_decode(&t, &f->r->keys, more, more_len));
		all = malloc((s->npacks + t->npacks) * KURA_HASH_SIZE);
		assert_non_null(all);
		memcpy(all, s->packs, s->npacks * KURA_HASH_SIZE);
		memcpy(all + s->npacks, t->packs, t->npacks * KURA_HASH_SIZE);
		/* sorted and unique, as a backup writes it */
		qsort(all, s->npacks + t->npacks, KURA_HASH_SIZE, strcmp32);
		kept = 0;
		for (size_t i = 0; i < s->npacks + t->npacks; i++)
			if (!kept || memcmp(all[kept - 1], all[i], KURA_HASH_SIZE) != 0)
				memmove(all[kept++], all[i], KURA_HASH_SIZE);
		free(s->packs);
		s->packs = all;
		s->npacks = kept;
	}
	assert_ok(kura_snapshot_encode(&enc, &enc_len, newname, &f->r->keys, s));
	kura_hex(out, newname, KURA_HASH_SIZE);
	assert_ok(b->put(b, KURA_FILE_SNAPSHOT, out, enc, enc_len));
	assert_ok(kura_backend_remove(b, KURA_FILE_SNAPSHOT, id));
	kura_snapshot_free(s);
	kura_snapshot_free(t);
	free(data);
	free(more);
	free(enc);
}

/* Snapshot s2 again without the reference's pack in its plaintext list. */
static void test_reference_pack_unlisted(void **state)
{
	fixture *f = *state;
	char hex[KURA_ID_HEX], want[300];
	problems p;

	relist(f, f->s2, f->ref_pack, NULL, hex);
	assert_int_equal(run_check(f, false, &p), KURA_ECORRUPT);
	snprintf(want, sizeof(want), "needs pack %s for blob %s, which chunk", f->ref_pack,
		 f->ref_hex);
	assert_non_null(strstr(p.messages, want));
	snprintf(want, sizeof(want), "[%s /db]", hex);
	assert_non_null(strstr(p.messages, want));
}

/*
 * The chunks are stored on their own too (a later backup that named no
 * reference), in packs the snapshot lists: with the reference's pack gone
 * the file still checks and restores, whichever copy the index offers
 * first.
 */
static void test_chunk_also_stored_alone(void **state)
{
	fixture *f = *state;
	refsnap_file plain = {.name = "db", .data = f->v2, .len = V1_LEN};
	char s3[KURA_ID_HEX], s2[KURA_ID_HEX], path[256], target[160];
	restore_problems rp;
	kura_restore_result res;
	unsigned refs = 0;
	problems p;

	write_snap(f, &plain, 1, s3, &refs);
	assert_int_equal(refs, 0);
	relist(f, f->s2, NULL, s3, s2);
	pack_path(f, f->ref_pack, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(run_check(f, false, &p), KURA_ECORRUPT); /* s1 and s2 list it */
	snprintf(path, sizeof(path), "[%s /db]", s2);
	assert_null(strstr(p.messages, path));
	snprintf(path, sizeof(path), "[%s /db]", s3);
	assert_null(strstr(p.messages, path));
	snprintf(target, sizeof(target), "%s/out", f->dir);
	assert_ok(run_restore(f, s2, target, &rp, &res));
	assert_true(same_file(target, "db", f->v2, V1_LEN));
	assert_true(same_file(target, "other", f->other, OTHER_LEN));
}

/* A tree that hides or misnames what its chunks are stored against. */
static void test_tree_lies_about_reference(void **state)
{
	fixture *f = *state;
	char snap[KURA_ID_HEX], want[300];
	unsigned refs = 0;
	problems p;

	for (int lie = REFSNAP_OMIT; lie <= REFSNAP_UNKNOWN; lie++) {
		refsnap_file one = {.name = "liar",
				    .data = f->v2,
				    .len = V1_LEN,
				    .old = f->v1,
				    .old_len = V1_LEN,
				    .lie = lie};

		write_snap(f, &one, 1, snap, &refs);
		assert_int_equal(refs, V1_LEN / REFSNAP_PIECE);
		assert_int_equal(run_check(f, false, &p), KURA_ECORRUPT);
		snprintf(want, sizeof(want), "[%s /liar]", snap);
		assert_non_null(strstr(p.messages, want));
		assert_non_null(strstr(p.messages, lie == REFSNAP_OMIT
						       ? "is stored only against another blob, "
							 "and its tree names none"
						       : "which is in no index"));
		/* the honest snapshot stays clean */
		snprintf(want, sizeof(want), "[%s /db]", f->s2);
		assert_null(strstr(p.messages, want));
		assert_ok(kura_backend_remove(f->r->backend, KURA_FILE_SNAPSHOT, snap));
	}
}

/* A tree naming another stored blob than the one its chunks are stored against. */
static void test_tree_names_wrong_reference(void **state)
{
	fixture *f = *state;
	refsnap_file one = {.name = "liar",
			    .data = f->v2,
			    .len = V1_LEN,
			    .old = f->v1,
			    .old_len = V1_LEN,
			    .lie = REFSNAP_OTHER};
	char snap[KURA_ID_HEX], want[300];
	unsigned refs = 0;
	problems p;

	write_snap(f, &one, 1, snap, &refs);
	assert_int_equal(refs, V1_LEN / REFSNAP_PIECE);
	/* every blob it names is there: only the blobs' payloads tell */
	assert_ok(run_check(f, false, &p));
	assert_int_equal(run_check(f, true, &p), KURA_ECORRUPT);
	snprintf(want, sizeof(want), "is stored against blob %s, but its tree names blob",
		 f->ref_hex);
	assert_non_null(strstr(p.messages, want));
	snprintf(want, sizeof(want), "[%s /liar]", snap);
	assert_non_null(strstr(p.messages, want));
	assert_int_equal(p.count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_restores_and_checks_clean, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reference_pack_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reference_pack_damaged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_reads_references_ahead, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refahead_gives_each_as_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reference_pack_unlisted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_chunk_also_stored_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tree_lies_about_reference, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tree_names_wrong_reference, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
