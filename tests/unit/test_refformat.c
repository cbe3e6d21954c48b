/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_refformat.c - blobs stored against another (docs/FORMAT.md, "Blobs
 * stored against another"): the codec, the entry rules, the index map's
 * flags, the tree extent that names a reference, and reading and storing
 * them through a real local repository.
 */
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/keyfile.h"
#include "format/pack.h"
#include "format/tree.h"
#include "repo/blobstore.h"
#include "repo/idmap.h"
#include "repo/repo.h"

#define PIECE (16 * 1024)
#define PASSPHRASE "refblob test passphrase"

static kura_keys keys;
static kura_mac *mac;
static uint8_t v1[PIECE], v2[PIECE], other[PIECE];
static uint8_t v1_id[KURA_HASH_SIZE], v2_id[KURA_HASH_SIZE];

/* Bytes that compress about 3:1 alone, like database rows, from a fixed seed. */
static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (i % 4 == 0) ? (uint8_t)(seed >> 16) : (uint8_t)('a' + (i / 64) % 26);
	}
}

static int setup(void **state)
{
	assert_ok(kura_crypto_init());
	assert_ok(kura_keys_generate(&keys));
	assert_ok(kura_mac_new(&mac, keys.id_key));
	fill(v1, PIECE, 1);
	memcpy(v2, v1, PIECE);
	/* a rewritten row or two: the new version is mostly the old one */
	fill(v2 + 3000, 200, 2);
	fill(v2 + 12000, 100, 3);
	fill(other, PIECE, 4);
	assert_ok(kura_mac_compute(mac, v1_id, v1, PIECE));
	assert_ok(kura_mac_compute(mac, v2_id, v2, PIECE));
	return 0;
}

static int teardown(void **state)
{
	kura_mac_free(mac);
	kura_keys_wipe(&keys);
	return 0;
}

/* A fetch that hands out one plaintext (or fails), counting its calls. */
typedef struct {
	const uint8_t *plain;
	size_t len;
	int calls;
	uint8_t asked[KURA_HASH_SIZE];
} fake_refs;

static int fake_fetch(void *ctx, const uint8_t id[KURA_HASH_SIZE], uint8_t **out, size_t *out_len)
{
	fake_refs *f = ctx;

	f->calls++;
	memcpy(f->asked, id, KURA_HASH_SIZE);
	if (!f->plain)
		return kura_error_set(KURA_ENOTFOUND, "no such blob here");
	*out = malloc(f->len ? f->len : 1);
	assert_non_null(*out);
	memcpy(*out, f->plain, f->len);
	*out_len = f->len;
	return 0;
}

/*
 * One pack holding v2 stored against v1 (or on its own, if that does not
 * pay, by the caller's bound or its estimate of v2 alone: 0, measure it).
 */
static uint8_t *pack_with_v2(size_t *out_len, size_t max_payload, size_t alone, int *used,
			     kura_pack_entry *e)
{
	kura_pack_ref ref = {v1_id, v1, PIECE, max_payload, alone};
	kura_pack_writer *w;
	const kura_pack_entry *entries;
	const uint8_t *data;
	uint8_t name[KURA_HASH_SIZE], *copy;
	size_t stored, len, count;

	assert_ok(kura_pack_writer_new(&w, &keys));
	assert_ok(kura_pack_writer_add_ref(w, v2_id, v2, PIECE, &ref, 3, NULL, &stored, used));
	assert_ok(kura_pack_writer_finish(w, &data, &len, name, &entries, &count));
	assert_int_equal(count, 1);
	*e = entries[0];
	assert_int_equal(e->stored_len, stored);
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, data, len);
	kura_pack_writer_free(w);
	*out_len = len;
	return copy;
}

static void test_roundtrip(void **state)
{
	kura_pack_entry e, *read;
	uint8_t key[KURA_KEY_SIZE], *plain, *file;
	fake_refs f = {.plain = v1, .len = PIECE};
	kura_blob_refs refs = {fake_fetch, &f};
	size_t len, count;
	int used;

	file = pack_with_v2(&len, PIECE, 0, &used, &e);
	assert_int_equal(used, 1);
	assert_int_equal(e.flags, KURA_BLOB_FLAG_REF);
	/* a few changed rows: a small fraction of what the piece weighs alone */
	assert_true(e.stored_len < PIECE / 8);
	/* the trailer (index key only) says the same */
	assert_ok(kura_pack_read_entries(&read, &count, &keys, file, len));
	assert_int_equal(read[0].flags, KURA_BLOB_FLAG_REF);
	free(read);

	assert_ok(kura_pack_open_key(key, &keys, file, len));
	assert_ok(
	    kura_blob_decode_with(&plain, key, mac, &e, file + e.offset, e.stored_len, &refs));
	assert_memory_equal(plain, v2, PIECE);
	assert_memory_equal(f.asked, v1_id, KURA_HASH_SIZE);
	free(plain);

	/* a reader that cannot fetch says which blob it would need */
	assert_int_equal(kura_blob_decode(&plain, key, mac, &e, file + e.offset, e.stored_len),
			 KURA_EUNSUPPORTED);
	assert_non_null(strstr(kura_error_message(), "stored against blob"));

	/* the reference cannot be had: its error, naming it */
	f.plain = NULL;
	assert_int_equal(
	    kura_blob_decode_with(&plain, key, mac, &e, file + e.offset, e.stored_len, &refs),
	    KURA_ENOTFOUND);
	assert_non_null(strstr(kura_error_message(), "no such blob here"));

	/* a wrong reference plaintext never yields a blob that does not match its id */
	f.plain = other;
	assert_int_equal(
	    kura_blob_decode_with(&plain, key, mac, &e, file + e.offset, e.stored_len, &refs),
	    KURA_ECORRUPT);
	/* nor does a reference of another length */
	f.plain = v1;
	f.len = PIECE / 2;
	assert_int_equal(
	    kura_blob_decode_with(&plain, key, mac, &e, file + e.offset, e.stored_len, &refs),
	    KURA_ECORRUPT);
	kura_wipe(key, sizeof(key));
	free(file);
}

static void test_not_worth_it(void **state)
{
	kura_pack_entry e;
	uint8_t key[KURA_KEY_SIZE], *plain, *file;
	size_t len;
	int used;

	/* a frame of a few hundred bytes is kept whatever the estimate: tiny beside the plaintext */
	free(pack_with_v2(&len, PIECE, 300, &used, &e));
	assert_int_equal(used, 1);
	/* a larger one only when at most half of what the blob alone is said to weigh */
	{
		static uint8_t big[PIECE];
		uint8_t big_id[KURA_HASH_SIZE];
		kura_pack_writer *w;
		size_t stored;

		memcpy(big, v1, PIECE);
		fill(big + 1000, 6000, 9);
		assert_ok(kura_mac_compute(mac, big_id, big, PIECE));
		for (int fair = 0; fair < 2; fair++) {
			kura_pack_ref ref = {v1_id, v1, PIECE, SIZE_MAX, fair ? PIECE : 2000};

			assert_ok(kura_pack_writer_new(&w, &keys));
			assert_ok(kura_pack_writer_add_ref(w, big_id, big, PIECE, &ref, 3, NULL,
							   &stored, &used));
			/* the frame is over 1 KiB (a sixteenth) and over 1,000 bytes */
			assert_int_equal(used, fair);
			kura_pack_writer_free(w);
		}
	}
	/* the caller's bound is below what the frame weighs: stored on its own */
	file = pack_with_v2(&len, 40, 0, &used, &e);
	assert_int_equal(used, 0);
	assert_int_equal(e.flags, KURA_BLOB_FLAG_ZSTD);
	assert_ok(kura_pack_open_key(key, &keys, file, len));
	assert_ok(kura_blob_decode(&plain, key, mac, &e, file + e.offset, e.stored_len));
	assert_memory_equal(plain, v2, PIECE);
	free(plain);
	kura_wipe(key, sizeof(key));
	free(file);
}

static void test_entry_rules(void **state)
{
	kura_pack_entry e = {.type = KURA_BLOB_DATA,
			     .flags = KURA_BLOB_FLAG_REF,
			     .stored_len = KURA_AEAD_OVERHEAD + 100,
			     .raw_len = 1000};

	assert_ok(kura_pack__entry_check(&e, "t"));
	/* trees are never stored against another */
	e.type = KURA_BLOB_TREE;
	assert_int_equal(kura_pack__entry_check(&e, "t"), KURA_ECORRUPT);
	e.type = KURA_BLOB_DATA;
	/* both flags at once mean nothing */
	e.flags = KURA_BLOB_FLAG_REF | KURA_BLOB_FLAG_ZSTD;
	assert_int_equal(kura_pack__entry_check(&e, "t"), KURA_ECORRUPT);
	e.flags = KURA_BLOB_FLAG_REF;
	/* room for the reference id and at least one byte of frame */
	e.stored_len = KURA_AEAD_OVERHEAD + KURA_HASH_SIZE;
	assert_int_equal(kura_pack__entry_check(&e, "t"), KURA_ECORRUPT);
	/* kept only when smaller than the plaintext */
	e.stored_len = KURA_AEAD_OVERHEAD + 1000;
	assert_int_equal(kura_pack__entry_check(&e, "t"), KURA_ECORRUPT);
	e.flags = 0x04;
	assert_int_equal(kura_pack__entry_check(&e, "t"), KURA_ECORRUPT);
}

static void test_idmap_flags(void **state)
{
	kura_idmap *m;
	kura_blob_loc in = {0}, out;

	assert_ok(kura_idmap_new(&m));
	for (uint8_t type = 1; type <= KURA_IDMAP_MAX_TYPE; type++)
		for (uint8_t flags = 0; flags <= KURA_IDMAP_MAX_FLAGS; flags++) {
			memset(in.id, 0, sizeof(in.id));
			in.id[0] = type;
			in.id[1] = flags;
			in.pack = 7;
			in.offset = 0xFFFFFFF0u;
			in.type = type;
			in.flags = flags;
			/* the largest lengths beside each pair */
			in.raw_len = KURA_IDMAP_MAX_RAW;
			in.stored_len = KURA_IDMAP_MAX_STORED;
			assert_ok(kura_idmap_put(m, &in));
			assert_true(kura_idmap_get(&out, m, in.id));
			assert_int_equal(out.type, type);
			assert_int_equal(out.flags, flags);
			assert_int_equal(out.raw_len, in.raw_len);
			assert_int_equal(out.stored_len, in.stored_len);
		}
	in.flags = KURA_IDMAP_MAX_FLAGS + 1;
	assert_int_equal(kura_idmap_put(m, &in), KURA_EINVAL);
	kura_idmap_free(m);
}

static void test_tree_extent(void **state)
{
	kura_extent ext[2] = {{.kind = KURA_EXTENT_CHUNK, .len = PIECE, .has_ref = 1},
			      {.kind = KURA_EXTENT_HOLE, .len = 100}};
	kura_node node = {.name = "rel",
			  .type = KURA_NODE_FILE,
			  .mode = 0600,
			  .user = "",
			  .group = "",
			  .size = PIECE + 100,
			  .extents = ext,
			  .nextents = 2};
	kura_tree t = {&node, 1}, *back;
	kura_buf b = KURA_BUF_INIT, again = KURA_BUF_INIT;

	memcpy(ext[0].id, v2_id, KURA_HASH_SIZE);
	memcpy(ext[0].ref, v1_id, KURA_HASH_SIZE);
	assert_ok(kura_tree_encode(&b, &t));
	assert_ok(kura_tree_decode(&back, b.data, b.len));
	assert_int_equal(back->nodes[0].extents[0].kind, KURA_EXTENT_CHUNK);
	assert_int_equal(back->nodes[0].extents[0].has_ref, 1);
	assert_memory_equal(back->nodes[0].extents[0].ref, v1_id, KURA_HASH_SIZE);
	assert_int_equal(back->nodes[0].extents[1].has_ref, 0);
	/* canonical: decoding and encoding again gives the same bytes */
	assert_ok(kura_tree_encode(&again, back));
	assert_int_equal(again.len, b.len);
	assert_memory_equal(again.data, b.data, b.len);
	kura_tree_free(back);
	kura_buf_free(&again);

	/* the reference id cut short */
	assert_int_equal(kura_tree_decode(&back, b.data, b.len - 2 - 10), KURA_ECORRUPT);
	kura_buf_free(&b);

	/* a chunk against itself, or a hole with a reference, is refused */
	memcpy(ext[0].ref, v2_id, KURA_HASH_SIZE);
	assert_int_equal(kura_tree_encode(&b, &t), KURA_EINVAL);
	kura_buf_free(&b);
	memcpy(ext[0].ref, v1_id, KURA_HASH_SIZE);
	ext[1].has_ref = 1;
	assert_int_equal(kura_tree_encode(&b, &t), KURA_EINVAL);
	kura_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Through a repository                                                 */

typedef struct {
	char dir[64], repo[96];
	kura_repo *r;
	uint8_t v1_id[KURA_HASH_SIZE], v2_id[KURA_HASH_SIZE];
} fixture;

static int repo_setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	kura_init_options io;

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-refblob-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	kura_init_options_default(&io);
	io.kdf_profile = KURA_KDF_INTERACTIVE;
	if (kura_repo_init(&f->r, f->repo, PASSPHRASE, &io) < 0)
		return -1;
	/* ids under this repository's id key */
	if (kura_mac_compute(f->r->mac, f->v1_id, v1, PIECE) < 0 ||
	    kura_mac_compute(f->r->mac, f->v2_id, v2, PIECE) < 0)
		return -1;
	*state = f;
	return 0;
}

static int repo_teardown(void **state)
{
	fixture *f = *state;

	kura_repo_free(f->r);
	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* Blobs the last store() wrote. */
static uint64_t stored_new;

/* Store data (against ref, if any) in a blobstore of its own; its packs in *packs. */
static int store(fixture *f, const uint8_t *data, const kura_blobstore_ref *ref,
		 uint8_t (**packs)[KURA_HASH_SIZE], size_t *npacks)
{
	kura_blobstore *s;
	kura_blobstore_stats st;
	uint8_t id[KURA_HASH_SIZE];
	size_t stored;
	int used;

	assert_ok(kura_repo__load_index(f->r));
	assert_ok(kura_blobstore_new(&s, f->r));
	assert_ok(
	    kura_blobstore_add_ref(s, KURA_BLOB_DATA, data, PIECE, NULL, ref, id, 0, &stored, &used, NULL));
	assert_ok(kura_blobstore_flush(s));
	assert_ok(kura_blobstore_packs(s, packs, npacks));
	kura_blobstore_stats_get(s, &st);
	stored_new = st.blobs_new;
	kura_blobstore_free(s);
	return used;
}

static bool has_pack(uint8_t (*packs)[KURA_HASH_SIZE], size_t n, const uint8_t *name)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(packs[i], name, KURA_HASH_SIZE) == 0)
			return true;
	return false;
}

/* The pack that holds id's index entry. */
static void entry_pack(fixture *f, const uint8_t *id, uint8_t name[KURA_HASH_SIZE],
		       kura_blob_loc *loc)
{
	assert_true(kura_idmap_get(loc, f->r->index, id));
	memcpy(name, f->r->packs[loc->pack], KURA_HASH_SIZE);
}

/* Reopen the repository, so that its index is read from the files. */
static void reopen(fixture *f)
{
	kura_repo_free(f->r);
	assert_ok(kura_repo_open_passphrase(&f->r, f->repo, PASSPHRASE));
	assert_ok(kura_repo__load_index(f->r));
}

static void test_repo_store_and_read(void **state)
{
	fixture *f = *state;
	kura_blobstore_ref ref = {.plain = v1, .len = PIECE, .max_payload = PIECE / 2};
	uint8_t(*packs)[KURA_HASH_SIZE], v1_pack[KURA_HASH_SIZE], v2_pack[KURA_HASH_SIZE];
	uint8_t *plain;
	kura_blob_loc loc;
	size_t n, len;

	memcpy(ref.id, f->v1_id, KURA_HASH_SIZE);
	/* v1 on its own, then v2 against it */
	assert_int_equal(store(f, v1, NULL, &packs, &n), 0);
	free(packs);
	assert_int_equal(store(f, v2, &ref, &packs, &n), 1);
	entry_pack(f, f->v1_id, v1_pack, &loc);
	entry_pack(f, f->v2_id, v2_pack, &loc);
	assert_int_equal(loc.flags, KURA_BLOB_FLAG_REF);
	/* the backup's pack list keeps the reference's pack */
	assert_true(has_pack(packs, n, v1_pack));
	assert_true(has_pack(packs, n, v2_pack));
	free(packs);

	reopen(f);
	assert_ok(kura_repo__read_blob(f->r, f->v2_id, &plain, &len));
	assert_int_equal(len, PIECE);
	assert_memory_equal(plain, v2, PIECE);
	free(plain);

	/*
	 * v2 again against v1, without saying it was stored so last time: the
	 * index does not say which blob v2's payload names, so it is stored
	 * anew (against v1 again, since that pays)...
	 */
	assert_int_equal(store(f, v2, &ref, &packs, &n), 1);
	assert_int_equal(stored_new, 1);
	assert_true(has_pack(packs, n, v1_pack));
	free(packs);
	/* ... and, said, it is reused as it is: v1 still in the pack list */
	memcpy(ref.last_id, f->v2_id, KURA_HASH_SIZE);
	ref.last_against = 1;
	assert_int_equal(store(f, v2, &ref, &packs, &n), 1);
	assert_int_equal(stored_new, 0);
	assert_true(has_pack(packs, n, v1_pack));
	free(packs);
	ref.last_against = 0;

	/* something stored against v2, which is itself stored against another: on its own */
	memcpy(ref.id, f->v2_id, KURA_HASH_SIZE);
	ref.plain = v2;
	assert_int_equal(store(f, other, &ref, &packs, &n), 0);
	free(packs);
}

static void test_repo_lost_reference(void **state)
{
	fixture *f = *state;
	kura_blobstore_ref ref = {.plain = v1, .len = PIECE, .max_payload = PIECE / 2};
	uint8_t(*packs)[KURA_HASH_SIZE], v1_pack[KURA_HASH_SIZE], *plain;
	char hex[KURA_ID_HEX], path[256];
	kura_blob_loc loc;
	size_t n, len;

	memcpy(ref.id, f->v1_id, KURA_HASH_SIZE);
	assert_int_equal(store(f, v1, NULL, &packs, &n), 0);
	free(packs);
	assert_int_equal(store(f, v2, &ref, &packs, &n), 1);
	free(packs);
	entry_pack(f, f->v1_id, v1_pack, &loc);

	/* the reference's pack is gone: v2 cannot be read, and the error names v1 */
	kura_hex(hex, v1_pack, KURA_HASH_SIZE);
	snprintf(path, sizeof(path), "%s/data/%.2s/%s", f->repo, hex, hex);
	assert_int_equal(unlink(path), 0);
	reopen(f);
	assert_true(kura_repo__read_blob(f->r, f->v2_id, &plain, &len) < 0);
	kura_hex(hex, f->v1_id, KURA_HASH_SIZE);
	assert_non_null(strstr(kura_error_message(), hex));

	/*
	 * A backup that does not know v2's reference stores v2 again on its
	 * own rather than depend on a blob it cannot name; then v2 reads.
	 */
	assert_int_equal(store(f, v2, NULL, &packs, &n), 0);
	free(packs);
	reopen(f);
	assert_ok(kura_repo__read_blob(f->r, f->v2_id, &plain, &len));
	assert_memory_equal(plain, v2, PIECE);
	free(plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_not_worth_it),
	    cmocka_unit_test(test_entry_rules),
	    cmocka_unit_test(test_idmap_flags),
	    cmocka_unit_test(test_tree_extent),
	    cmocka_unit_test_setup_teardown(test_repo_store_and_read, repo_setup, repo_teardown),
	    cmocka_unit_test_setup_teardown(test_repo_lost_reference, repo_setup, repo_teardown),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
