/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_packstream.c - packs streamed out while they are built.
 *
 * A pack writer whose pending bytes are taken piece by piece must produce
 * exactly the file a writer that keeps everything produces.  Packs are
 * random (data key, salt, nonces), so this binary replaces libsodium's
 * random source with a seeded one and reseeds it before each pack: two
 * writers fed the same blobs then draw the same bytes.  The blob store's
 * streamed packs (a local repository) must appear only whole, under their
 * name, and a write error must leave neither a pack nor a temporary file.
 */
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/buf.h"
#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "format/pack.h"
#include "repo/blobstore.h"
#include "repo/repo.h"

#define PIECE (1u << 20) /* the blob store's STREAM_PIECE */

/* -------------------------------------------------------------------- */
/* A seeded random source                                                */

static uint8_t rng_seed[randombytes_SEEDBYTES];
static uint64_t rng_calls;

static void seeded_buf(void *buf, size_t size)
{
	uint8_t seed[randombytes_SEEDBYTES];

	memcpy(seed, rng_seed, sizeof(seed));
	memcpy(seed, &rng_calls, sizeof(rng_calls));
	rng_calls++;
	randombytes_buf_deterministic(buf, size, seed);
}

static uint32_t seeded_random(void)
{
	uint32_t v;

	seeded_buf(&v, sizeof(v));
	return v;
}

static const char *seeded_name(void) { return "kura-test-seeded"; }

static randombytes_implementation seeded_impl = {
    .implementation_name = seeded_name,
    .random = seeded_random,
    .buf = seeded_buf,
};

static void reseed(uint8_t tag)
{
	memset(rng_seed, tag, sizeof(rng_seed));
	rng_calls = 0;
}

/* -------------------------------------------------------------------- */
/* Packs                                                                 */

typedef struct {
	uint8_t type;
	uint8_t *plain;
	size_t len;
	uint8_t id[KURA_HASH_SIZE];
} test_blob;

enum drain { DRAIN_NEVER, DRAIN_EACH_BLOB, DRAIN_PIECES };

static kura_keys restore_keys, backup_keys;
static kura_mac *id_mac;
static test_blob *blobs;
static size_t nblobs;

static void add_blob(uint8_t type, size_t len, bool compressible)
{
	test_blob *b;

	blobs = realloc(blobs, (nblobs + 1) * sizeof(*blobs));
	assert_non_null(blobs);
	b = &blobs[nblobs++];
	b->type = type;
	b->len = len;
	b->plain = malloc(len ? len : 1);
	assert_non_null(b->plain);
	if (compressible)
		for (size_t i = 0; i < len; i++)
			b->plain[i] = "ward round notes: stable, afebrile\n"[i % 35];
	else
		randombytes_buf_deterministic(b->plain, len, rng_seed);
	b->plain[0] = (uint8_t)nblobs; /* no two alike */
	assert_ok(kura_mac_compute(id_mac, b->id, b->plain, b->len));
}

static int setup(void **state)
{
	assert_int_equal(randombytes_set_implementation(&seeded_impl), 0);
	reseed(1);
	assert_ok(kura_crypto_init());
	assert_ok(kura_keys_generate(&restore_keys));
	kura_keys_to_backup(&backup_keys, &restore_keys);
	assert_ok(kura_mac_new(&id_mac, restore_keys.id_key));

	/* larger than a piece, compressible and not */
	add_blob(KURA_BLOB_DATA, 3 * PIECE + 17, true);
	add_blob(KURA_BLOB_DATA, 2 * PIECE + PIECE / 2, false);
	/* with the header, exactly one piece */
	add_blob(KURA_BLOB_DATA, PIECE - KURA_PACK_HEADER_SIZE - KURA_AEAD_OVERHEAD, false);
	add_blob(KURA_BLOB_TREE, 0, false);
	for (size_t i = 0; i < 120; i++)
		add_blob(i % 3 ? KURA_BLOB_DATA : KURA_BLOB_TREE, (i * 7919) % 30000 + 1, i % 2);
	add_blob(KURA_BLOB_DATA, PIECE - 1, false);
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < nblobs; i++)
		free(blobs[i].plain);
	free(blobs);
	kura_mac_free(id_mac);
	kura_keys_wipe(&restore_keys);
	kura_keys_wipe(&backup_keys);
	return 0;
}

/* Append what the writer has pending to `file` and let it go. */
static void take(kura_pack_writer *w, kura_buf *file)
{
	const uint8_t *data;
	size_t len;

	data = kura_pack_writer_pending(w, &len);
	assert_int_equal(kura_pack_writer_size(w), file->len + len);
	assert_ok(kura_buf_put(file, data, len));
	kura_pack_writer_consume(w);
	kura_pack_writer_pending(w, &len);
	assert_int_equal(len, 0);
}

/* Build one pack of every test blob, taking its bytes as `how` says. */
static void build(kura_pack_writer *w, enum drain how, kura_buf *file,
		  uint8_t name[KURA_HASH_SIZE])
{
	const kura_pack_entry *entries;
	const uint8_t *data;
	size_t len, count, stored;

	for (size_t i = 0; i < nblobs; i++) {
		size_t pending;

		kura_pack_writer_pending(w, &pending);
		/* what the blob store does: keep the buffer to a piece or a blob */
		if (how == DRAIN_PIECES && pending + blobs[i].len + KURA_AEAD_OVERHEAD > PIECE)
			take(w, file);
		assert_ok(kura_pack_writer_add_plain(w, blobs[i].type, blobs[i].id, blobs[i].plain,
						     blobs[i].len, 3, &stored));
		if (how == DRAIN_EACH_BLOB)
			take(w, file);
		if (how == DRAIN_PIECES) {
			kura_pack_writer_pending(w, &pending);
			assert_true(pending <= PIECE || pending == stored);
		}
	}
	assert_ok(kura_pack_writer_finish(w, &data, &len, name, &entries, &count));
	assert_int_equal(count, nblobs);
	assert_ok(kura_buf_put(file, data, len));
	kura_pack_writer_consume(w);
	assert_int_equal(kura_pack_writer_size(w), file->len);
	/* a second finish changes nothing and has nothing left to give */
	assert_ok(kura_pack_writer_finish(w, &data, &len, name, NULL, NULL));
	assert_int_equal(len, 0);
}

/* The file hashes to its name, decodes, and holds every blob. */
static void verify(const kura_buf *file, const uint8_t name[KURA_HASH_SIZE])
{
	kura_pack_entry *entries;
	uint8_t key[KURA_KEY_SIZE], check[KURA_HASH_SIZE];
	size_t count;

	kura_sha256(check, file->data, file->len);
	assert_memory_equal(check, name, KURA_HASH_SIZE);
	assert_ok(kura_pack_read_entries(&entries, &count, &backup_keys, file->data, file->len));
	assert_int_equal(count, nblobs);
	assert_ok(kura_pack_open_key(key, &restore_keys, file->data, file->len));
	for (size_t i = 0; i < count; i++) {
		uint8_t *plain;

		assert_memory_equal(entries[i].id, blobs[i].id, KURA_HASH_SIZE);
		assert_ok(kura_blob_decode(&plain, key, id_mac, &entries[i],
					   file->data + entries[i].offset, entries[i].stored_len));
		if (blobs[i].len)
			assert_memory_equal(plain, blobs[i].plain, blobs[i].len);
		free(plain);
	}
	free(entries);
}

static void test_streamed_is_buffered(void **state)
{
	kura_buf files[3] = {KURA_BUF_INIT, KURA_BUF_INIT, KURA_BUF_INIT};
	uint8_t names[3][KURA_HASH_SIZE];

	for (int how = DRAIN_NEVER; how <= DRAIN_PIECES; how++) {
		kura_pack_writer *w;

		reseed(7);
		assert_ok(kura_pack_writer_new(&w, &backup_keys));
		build(w, (enum drain)how, &files[how], names[how]);
		kura_pack_writer_free(w);
		verify(&files[how], names[how]);
	}
	for (int how = DRAIN_EACH_BLOB; how <= DRAIN_PIECES; how++) {
		assert_int_equal(files[how].len, files[DRAIN_NEVER].len);
		assert_memory_equal(files[how].data, files[DRAIN_NEVER].data, files[how].len);
		assert_memory_equal(names[how], names[DRAIN_NEVER], KURA_HASH_SIZE);
	}
	/* the seed is what made them equal: another one gives another pack */
	{
		kura_buf other = KURA_BUF_INIT;
		uint8_t name[KURA_HASH_SIZE];
		kura_pack_writer *w;

		reseed(8);
		assert_ok(kura_pack_writer_new(&w, &backup_keys));
		build(w, DRAIN_PIECES, &other, name);
		kura_pack_writer_free(w);
		assert_memory_not_equal(name, names[DRAIN_NEVER], KURA_HASH_SIZE);
		kura_buf_free(&other);
	}
	for (int i = 0; i < 3; i++)
		kura_buf_free(&files[i]);
}

/* A writer reset after a streamed pack starts the next one at offset 0. */
static void test_streamed_reset(void **state)
{
	kura_buf first = KURA_BUF_INIT, second = KURA_BUF_INIT, alone = KURA_BUF_INIT;
	uint8_t name1[KURA_HASH_SIZE], name2[KURA_HASH_SIZE], name3[KURA_HASH_SIZE];
	kura_pack_writer *w;

	reseed(9);
	assert_ok(kura_pack_writer_new(&w, &backup_keys));
	build(w, DRAIN_PIECES, &first, name1);
	assert_ok(kura_pack_writer_reset(w));
	assert_int_equal(kura_pack_writer_size(w), KURA_PACK_HEADER_SIZE);
	assert_int_equal(kura_pack_writer_count(w), 0);
	build(w, DRAIN_EACH_BLOB, &second, name2);
	kura_pack_writer_free(w);
	verify(&first, name1);
	verify(&second, name2);
	assert_memory_not_equal(name1, name2, KURA_HASH_SIZE);

	/* the same draws in a fresh buffered writer give the same second pack */
	reseed(9);
	assert_ok(kura_pack_writer_new(&w, &backup_keys));
	build(w, DRAIN_PIECES, &alone, name3);
	kura_buf_free(&alone);
	assert_ok(kura_pack_writer_reset(w));
	build(w, DRAIN_NEVER, &alone, name3);
	kura_pack_writer_free(w);
	assert_int_equal(alone.len, second.len);
	assert_memory_equal(alone.data, second.data, alone.len);
	assert_memory_equal(name3, name2, KURA_HASH_SIZE);
	kura_buf_free(&first);
	kura_buf_free(&second);
	kura_buf_free(&alone);
}

/* -------------------------------------------------------------------- */
/* The blob store on a local repository                                  */

static char base[64];

static kura_repo *new_repo(const char *sub)
{
	kura_init_options o;
	kura_repo *repo;
	char path[128];

	kura_init_options_default(&o);
	o.kdf_profile = KURA_KDF_INTERACTIVE;
	o.pack_size = 4 * PIECE; /* several packs from the test blobs, several pieces a pack */
	snprintf(path, sizeof(path), "%s/%s", base, sub);
	assert_ok(kura_repo_init(&repo, path, "correct horse battery staple stream", &o));
	assert_ok(kura_repo__load_index(repo));
	return repo;
}

/* Regular files in `<base>/<sub>/<dir>`. */
static size_t count_files(const char *sub, const char *dir)
{
	char path[192];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s/%s", base, sub, dir);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		if (de->d_type == DT_REG)
			n++;
	closedir(d);
	return n;
}

typedef struct {
	kura_repo *repo;
	size_t packs;
} pack_walk;

/* Every listed pack hashes to its name and has a readable trailer. */
static int check_pack(const char *name, uint64_t size, void *ctx)
{
	pack_walk *pw = ctx;
	kura_backend *b = pw->repo->backend;
	kura_pack_entry *entries;
	uint8_t *data, hash[KURA_HASH_SIZE];
	char hex[KURA_ID_HEX];
	size_t len, count;

	assert_ok(b->get(b, KURA_FILE_PACK, name, &data, &len));
	assert_int_equal(len, size);
	kura_sha256(hash, data, len);
	kura_hex(hex, hash, sizeof(hash));
	assert_string_equal(hex, name);
	assert_ok(kura_pack_read_entries(&entries, &count, &pw->repo->keys, data, len));
	assert_true(count > 0);
	free(entries);
	free(data);
	pw->packs++;
	return 0;
}

static size_t check_packs(kura_repo *repo)
{
	pack_walk pw = {.repo = repo};

	assert_ok(repo->backend->list(repo->backend, KURA_FILE_PACK, check_pack, &pw));
	return pw.packs;
}

static void test_blobstore_streams(void **state)
{
	kura_repo *repo = new_repo("streams");
	kura_blobstore_stats stats;
	kura_blobstore *s;
	uint8_t id[KURA_HASH_SIZE];

	assert_ok(kura_blobstore_new(&s, repo));
	/* a piece, then a blob: the piece is in tmp/, nothing is visible yet */
	assert_ok(kura_blobstore_add(s, KURA_BLOB_DATA, blobs[2].plain, blobs[2].len, id));
	assert_ok(kura_blobstore_add(s, KURA_BLOB_DATA, blobs[5].plain, blobs[5].len, id));
	assert_int_equal(count_files("streams", "tmp"), 1);
	assert_int_equal(check_packs(repo), 0);
	for (size_t i = 0; i < nblobs; i++)
		assert_ok(kura_blobstore_add(s, blobs[i].type, blobs[i].plain, blobs[i].len, id));
	assert_ok(kura_blobstore_flush(s));
	kura_blobstore_stats_get(s, &stats);
	kura_blobstore_free(s);
	assert_true(stats.packs_written >= 2);
	assert_int_equal(check_packs(repo), stats.packs_written);
	assert_int_equal(count_files("streams", "tmp"), 0);
	assert_int_equal(count_files("streams", "index"), 1);
	kura_repo_free(repo);
}

/* A backup that fails mid-pack (no flush) leaves no pack and no temporary file. */
static void test_blobstore_abandoned(void **state)
{
	kura_repo *repo = new_repo("abandoned");
	kura_blobstore *s;
	uint8_t id[KURA_HASH_SIZE];

	assert_ok(kura_blobstore_new(&s, repo));
	assert_ok(kura_blobstore_add(s, KURA_BLOB_DATA, blobs[2].plain, blobs[2].len, id));
	assert_ok(kura_blobstore_add(s, KURA_BLOB_DATA, blobs[5].plain, blobs[5].len, id));
	assert_int_equal(count_files("abandoned", "tmp"), 1);
	kura_blobstore_free(s);
	assert_int_equal(count_files("abandoned", "tmp"), 0);
	assert_int_equal(check_packs(repo), 0);
	kura_repo_free(repo);
}

/*
 * A write that fails (here: past RLIMIT_FSIZE, EFBIG; a full disk takes the
 * same path) fails the add with a message naming the temporary file, and
 * leaves neither a pack nor the temporary file; flush registers nothing.
 */
static void write_fails(const char *sub, bool at_flush)
{
	struct rlimit old, small = {.rlim_cur = 300 * 1024};
	kura_repo *repo = new_repo(sub);
	kura_blobstore_stats stats;
	kura_blobstore *s;
	uint8_t id[KURA_HASH_SIZE];
	int rc = 0;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	assert_ok(kura_blobstore_new(&s, repo));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	if (at_flush) {
		/* under one piece: all of it is written when the pack is finished */
		assert_ok(kura_blobstore_add(s, KURA_BLOB_DATA, blobs[1].plain, PIECE / 2, id));
		rc = kura_blobstore_flush(s);
	} else {
		for (size_t i = 0; i < nblobs && rc == 0; i++)
			rc = kura_blobstore_add(s, blobs[i].type, blobs[i].plain, blobs[i].len, id);
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(rc, KURA_EIO);
	assert_non_null(strstr(kura_error_message(), "writing a new pack"));
	assert_non_null(strstr(kura_error_message(), "/tmp/"));
	assert_non_null(strstr(kura_error_message(), ".tmp: write: File too large"));
	if (!at_flush)
		assert_ok(kura_blobstore_flush(s));
	kura_blobstore_stats_get(s, &stats);
	kura_blobstore_free(s);
	assert_int_equal(stats.packs_written, 0);
	assert_int_equal(check_packs(repo), 0);
	assert_int_equal(count_files(sub, "tmp"), 0);
	assert_int_equal(count_files(sub, "index"), 0);
	kura_repo_free(repo);
}

static void test_write_error_mid_pack(void **state) { write_fails("midpack", false); }
static void test_write_error_at_flush(void **state) { write_fails("atflush", true); }

static int setup_dir(void **state)
{
	/* past RLIMIT_FSIZE a write fails with EFBIG instead of killing us */
	signal(SIGXFSZ, SIG_IGN);
	snprintf(base, sizeof(base), "/tmp/kura-packstream-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	return test_remove_tree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_streamed_is_buffered),
	    cmocka_unit_test(test_streamed_reset),
	    cmocka_unit_test_setup_teardown(test_blobstore_streams, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_blobstore_abandoned, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_write_error_mid_pack, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_write_error_at_flush, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
