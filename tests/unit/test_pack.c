/* SPDX-License-Identifier: Apache-2.0 */
/* test_pack.c - blobs and pack files: roundtrip, key roles, tampering. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "format/pack.h"

typedef struct {
	uint8_t type;
	const uint8_t *plain;
	size_t len;
	uint8_t id[KURA_HASH_SIZE]; /* filled by build_pack unless fake_id */
	bool fake_id;
} test_blob;

static kura_keys restore_keys, backup_keys;
static kura_mac *id_mac;

static int setup(void **state)
{
	assert_ok(kura_crypto_init());
	assert_ok(kura_keys_generate(&restore_keys));
	kura_keys_to_backup(&backup_keys, &restore_keys);
	assert_ok(kura_mac_new(&id_mac, restore_keys.id_key));
	return 0;
}

static int teardown(void **state)
{
	kura_mac_free(id_mac);
	kura_keys_wipe(&restore_keys);
	kura_keys_wipe(&backup_keys);
	return 0;
}

/* Build a pack of `blobs` with `keys`; returns a malloc'd copy of the file. */
static uint8_t *build_pack(size_t *out_len, const kura_keys *keys, test_blob *blobs, size_t n,
			   int level, uint8_t *flags_out)
{
	kura_pack_writer *w;
	const uint8_t *data;
	const kura_pack_entry *entries;
	uint8_t name[KURA_HASH_SIZE], check[KURA_HASH_SIZE];
	size_t len, count;
	uint8_t *copy;

	assert_ok(kura_pack_writer_new(&w, keys));
	assert_int_equal(kura_pack_writer_size(w), KURA_PACK_HEADER_SIZE);
	for (size_t i = 0; i < n; i++) {
		uint8_t *stored, flags;
		size_t stored_len;

		if (!blobs[i].fake_id)
			assert_ok(
			    kura_mac_compute(id_mac, blobs[i].id, blobs[i].plain, blobs[i].len));
		assert_ok(kura_blob_encode(&stored, &stored_len, &flags, kura_pack_writer_key(w),
					   blobs[i].type, blobs[i].id, blobs[i].plain, blobs[i].len,
					   level));
		if (flags_out)
			flags_out[i] = flags;
		assert_ok(kura_pack_writer_add(w, blobs[i].type, flags, blobs[i].id, stored,
					       stored_len, (uint32_t)blobs[i].len));
		free(stored);
	}
	assert_int_equal(kura_pack_writer_count(w), n);
	assert_ok(kura_pack_writer_finish(w, &data, &len, name, &entries, &count));
	assert_int_equal(count, n);
	kura_sha256(check, data, len);
	assert_memory_equal(check, name, KURA_HASH_SIZE);
	assert_memory_equal(data + len - 8, "KURAPEND", 8);
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, data, len);
	kura_pack_writer_free(w);
	*out_len = len;
	return copy;
}

/* Read the pack back with the restore key and compare every blob. */
static void verify_pack(const uint8_t *file, size_t len, const test_blob *blobs, size_t n)
{
	kura_pack_entry *entries;
	uint8_t key[KURA_KEY_SIZE];
	size_t count;

	assert_ok(kura_pack_read_entries(&entries, &count, &restore_keys, file, len));
	assert_int_equal(count, n);
	assert_ok(kura_pack_open_key(key, &restore_keys, file, len));
	for (size_t i = 0; i < n; i++) {
		uint8_t *plain;

		assert_int_equal(entries[i].type, blobs[i].type);
		assert_int_equal(entries[i].raw_len, blobs[i].len);
		assert_memory_equal(entries[i].id, blobs[i].id, KURA_HASH_SIZE);
		assert_ok(kura_blob_decode(&plain, key, id_mac, &entries[i],
					   file + entries[i].offset, entries[i].stored_len));
		if (blobs[i].len)
			assert_memory_equal(plain, blobs[i].plain, blobs[i].len);
		free(plain);
	}
	free(entries);
}

static void test_roundtrip(void **state)
{
	size_t big = 200000, rnd = 50000;
	uint8_t *text = malloc(big), *noise = malloc(rnd);
	uint8_t flags[4];
	size_t len;
	uint8_t *file;

	for (size_t i = 0; i < big; i++)
		text[i] = "the quick brown fox jumps over the lazy dog\n"[i % 44];
	kura_random(noise, rnd);
	test_blob blobs[] = {
	    {.type = KURA_BLOB_DATA, .plain = text, .len = big},
	    {.type = KURA_BLOB_DATA, .plain = noise, .len = rnd},
	    {.type = KURA_BLOB_TREE, .plain = (const uint8_t *)"", .len = 0},
	    {.type = KURA_BLOB_TREE, .plain = text, .len = 1000},
	};

	file = build_pack(&len, &restore_keys, blobs, 4, 3, flags);
	assert_int_equal(flags[0], KURA_BLOB_FLAG_ZSTD);
	assert_int_equal(flags[1], 0); /* random data does not shrink */
	assert_int_equal(flags[2], 0); /* nothing to compress */
	assert_int_equal(flags[3], KURA_BLOB_FLAG_ZSTD);
	assert_true(len < big / 10 + rnd + 2000);
	verify_pack(file, len, blobs, 4);
	free(file);

	/* level 0 never compresses */
	file = build_pack(&len, &restore_keys, blobs, 4, 0, flags);
	for (int i = 0; i < 4; i++)
		assert_int_equal(flags[i], 0);
	verify_pack(file, len, blobs, 4);
	free(file);

	/* an empty pack is well-formed */
	file = build_pack(&len, &restore_keys, NULL, 0, 3, NULL);
	verify_pack(file, len, NULL, 0);
	free(file);
	free(text);
	free(noise);
}

static void test_backup_key(void **state)
{
	const uint8_t text[] = "written by a backup client, readable only with the restore key";
	test_blob blobs[] = {{.type = KURA_BLOB_DATA, .plain = text, .len = sizeof(text)}};
	kura_pack_entry *entries;
	uint8_t key[KURA_KEY_SIZE];
	size_t len, count;
	uint8_t *file;

	/* a backup key writes packs ... */
	file = build_pack(&len, &backup_keys, blobs, 1, 3, NULL);
	/* ... and can list them, but cannot open their data key */
	assert_ok(kura_pack_read_entries(&entries, &count, &backup_keys, file, len));
	assert_int_equal(count, 1);
	free(entries);
	assert_int_equal(kura_pack_open_key(key, &backup_keys, file, len), KURA_ENEEDKEY);
	assert_non_null(strstr(kura_error_message(), "restore key needed"));
	/* the restore key reads what the backup key wrote */
	verify_pack(file, len, blobs, 1);
	free(file);
}

/* Readers that fetch ranges: the header and the tail give the same entries as the whole file. */
static void test_read_trailer_parts(void **state)
{
	const uint8_t a[] = "first blob", b[] = "second blob, a little longer";
	test_blob blobs[] = {{.type = KURA_BLOB_DATA, .plain = a, .len = sizeof(a)},
			     {.type = KURA_BLOB_TREE, .plain = b, .len = sizeof(b)}};
	kura_pack_entry *whole, *parts;
	size_t len, n1, n2, tail_len;
	uint8_t *file;

	file = build_pack(&len, &backup_keys, blobs, 2, 3, NULL);
	assert_ok(kura_pack_read_entries(&whole, &n1, &backup_keys, file, len));
	tail_len = kura_get_le32(file + len - KURA_PACK_FOOTER_SIZE) + KURA_PACK_FOOTER_SIZE;
	assert_ok(kura_pack_read_trailer(&parts, &n2, &backup_keys, file, file + len - tail_len,
					 tail_len, len));
	assert_int_equal(n1, 2);
	assert_int_equal(n2, 2);
	assert_memory_equal(whole, parts, 2 * sizeof(*whole));
	free(whole);
	free(parts);
	/* a tail that stops short of the trailer is refused, never read before its start */
	assert_int_equal(kura_pack_read_trailer(&parts, &n2, &backup_keys, file,
						file + len - tail_len + 1, tail_len - 1, len),
			 KURA_EINVAL);
	assert_null(parts);
	/* a pack length the tail does not fit is refused too */
	assert_int_equal(kura_pack_read_trailer(&parts, &n2, &backup_keys, file, file, len,
						len - 1) < 0, 1);
	free(file);
}

/* Flip every bit position's low bit in turn: every damage must be caught. */
static void test_bitflips(void **state)
{
	const uint8_t a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	const uint8_t b[] = "short blob";
	test_blob blobs[] = {
	    {.type = KURA_BLOB_DATA, .plain = a, .len = sizeof(a)},
	    {.type = KURA_BLOB_TREE, .plain = b, .len = sizeof(b)},
	};
	uint8_t flags[2];
	size_t len;
	uint8_t *file = build_pack(&len, &restore_keys, blobs, 2, 3, flags);

	assert_int_equal(flags[0], KURA_BLOB_FLAG_ZSTD);
	for (size_t pos = 0; pos < len; pos++) {
		for (int bit = 0; bit < 8; bit += 7) {
			kura_pack_entry *entries = NULL;
			uint8_t key[KURA_KEY_SIZE];
			size_t count = 0;
			bool failed = false;

			file[pos] ^= (uint8_t)(1u << bit);
			if (kura_pack_read_entries(&entries, &count, &restore_keys, file, len) <
				0 ||
			    kura_pack_open_key(key, &restore_keys, file, len) < 0) {
				failed = true;
			} else {
				for (size_t i = 0; i < count; i++) {
					uint8_t *plain = NULL;

					if (kura_blob_decode(&plain, key, id_mac, &entries[i],
							     file + entries[i].offset,
							     entries[i].stored_len) < 0) {
						failed = true;
						assert_null(plain);
						continue;
					}
					/* whatever decodes must be the original */
					assert_int_equal(entries[i].raw_len, blobs[i].len);
					assert_memory_equal(plain, blobs[i].plain, blobs[i].len);
					free(plain);
				}
			}
			if (!failed)
				fail_msg("flipping bit %d of byte %zu went unnoticed", bit, pos);
			free(entries);
			file[pos] ^= (uint8_t)(1u << bit);
		}
	}
	verify_pack(file, len, blobs, 2);

	/* truncation anywhere is caught by read_entries */
	for (size_t cut = 0; cut < len; cut++) {
		kura_pack_entry *entries = NULL;
		size_t count = 0;

		assert_true(kura_pack_read_entries(&entries, &count, &restore_keys, file, cut) < 0);
		assert_null(entries);
	}
	free(file);
}

static void test_wrong_id(void **state)
{
	const uint8_t text[] = "the content a stolen backup key uploads under a false id";
	test_blob blobs[] = {
	    {.type = KURA_BLOB_DATA, .plain = text, .len = sizeof(text), .fake_id = true}};
	kura_pack_entry *entries;
	uint8_t key[KURA_KEY_SIZE];
	uint8_t *plain = NULL;
	size_t len, count;
	uint8_t *file;

	assert_ok(kura_mac_compute(id_mac, blobs[0].id, "something else", 14));
	file = build_pack(&len, &backup_keys, blobs, 1, 0, NULL);
	assert_ok(kura_pack_read_entries(&entries, &count, &restore_keys, file, len));
	assert_ok(kura_pack_open_key(key, &restore_keys, file, len));
	assert_int_equal(kura_blob_decode(&plain, key, id_mac, &entries[0],
					  file + entries[0].offset, entries[0].stored_len),
			 KURA_ECORRUPT);
	assert_null(plain);
	assert_non_null(strstr(kura_error_message(), "content does not match its id"));
	/* without a MAC the blob decrypts (callers that skip the check) */
	assert_ok(kura_blob_decode(&plain, key, NULL, &entries[0], file + entries[0].offset,
				   entries[0].stored_len));
	assert_memory_equal(plain, text, sizeof(text));
	free(plain);
	free(entries);
	free(file);
}

static void test_blob_entry_checks(void **state)
{
	uint8_t key[KURA_KEY_SIZE], id[KURA_HASH_SIZE];
	uint8_t text[4096];
	uint8_t *stored, *plain = NULL, flags;
	size_t stored_len;
	kura_pack_entry e;

	memset(text, 'x', sizeof(text));
	kura_random(key, sizeof(key));
	assert_ok(kura_mac_compute(id_mac, id, text, sizeof(text)));
	assert_ok(kura_blob_encode(&stored, &stored_len, &flags, key, KURA_BLOB_DATA, id, text,
				   sizeof(text), 19));
	assert_int_equal(flags, KURA_BLOB_FLAG_ZSTD);
	memset(&e, 0, sizeof(e));
	e.type = KURA_BLOB_DATA;
	e.flags = flags;
	memcpy(e.id, id, sizeof(id));
	e.offset = KURA_PACK_HEADER_SIZE;
	e.stored_len = (uint32_t)stored_len;
	e.raw_len = sizeof(text);
	assert_ok(kura_blob_decode(&plain, key, id_mac, &e, stored, stored_len));
	free(plain);

	/* a raw length that disagrees with the frame */
	e.raw_len = sizeof(text) + 1;
	assert_int_equal(kura_blob_decode(&plain, key, id_mac, &e, stored, stored_len),
			 KURA_ECORRUPT);
	e.raw_len = sizeof(text) - 1;
	assert_int_equal(kura_blob_decode(&plain, key, id_mac, &e, stored, stored_len),
			 KURA_ECORRUPT);
	e.raw_len = KURA_BLOB_MAX_RAW + 1;
	assert_int_equal(kura_blob_decode(&plain, key, id_mac, &e, stored, stored_len),
			 KURA_ECORRUPT);
	e.raw_len = sizeof(text);
	/* the type is authenticated */
	e.type = KURA_BLOB_TREE;
	assert_int_equal(kura_blob_decode(&plain, key, id_mac, &e, stored, stored_len), KURA_EAUTH);
	e.type = 3;
	assert_int_equal(kura_blob_decode(&plain, key, id_mac, &e, stored, stored_len),
			 KURA_ECORRUPT);
	e.type = KURA_BLOB_DATA;
	/* unknown flags, and the flag itself */
	e.flags = 0x02 | KURA_BLOB_FLAG_ZSTD;
	assert_int_equal(kura_blob_decode(&plain, key, id_mac, &e, stored, stored_len),
			 KURA_ECORRUPT);
	e.flags = 0;
	assert_int_equal(kura_blob_decode(&plain, key, id_mac, &e, stored, stored_len),
			 KURA_ECORRUPT);
	e.flags = KURA_BLOB_FLAG_ZSTD;
	/* a length that disagrees with the bytes given */
	assert_int_equal(kura_blob_decode(&plain, key, id_mac, &e, stored, stored_len - 1),
			 KURA_ECORRUPT);
	assert_null(plain);
	free(stored);

	/* the encoder refuses what no reader would accept */
	assert_int_equal(kura_blob_encode(&stored, &stored_len, &flags, key, 7, id, text, 10, 3),
			 KURA_EINVAL);
}

static void test_writer_misuse(void **state)
{
	kura_pack_writer *w;
	const uint8_t *data;
	const kura_pack_entry *entries;
	uint8_t name[KURA_HASH_SIZE], name2[KURA_HASH_SIZE], id[KURA_HASH_SIZE] = {0};
	uint8_t junk[64] = {0};
	size_t len, len2, count;

	assert_ok(kura_pack_writer_new(&w, &restore_keys));
	/* stored length below the AEAD overhead, bad type, bad flags */
	assert_int_equal(kura_pack_writer_add(w, KURA_BLOB_DATA, 0, id, junk, 10, 0), KURA_EINVAL);
	assert_int_equal(kura_pack_writer_add(w, 9, 0, id, junk, 28, 0), KURA_EINVAL);
	assert_int_equal(kura_pack_writer_add(w, KURA_BLOB_DATA, 4, id, junk, 28, 0), KURA_EINVAL);
	assert_ok(kura_pack_writer_finish(w, &data, &len, name, &entries, &count));
	assert_int_equal(count, 0);
	/* finish is idempotent; add after it is refused */
	assert_ok(kura_pack_writer_finish(w, &data, &len2, name2, NULL, NULL));
	assert_int_equal(len, len2);
	assert_memory_equal(name, name2, KURA_HASH_SIZE);
	assert_int_equal(kura_pack_writer_add(w, KURA_BLOB_DATA, 0, id, junk, 28, 0), KURA_EINVAL);
	kura_pack_writer_free(w);
	kura_pack_writer_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),	      cmocka_unit_test(test_backup_key),
	    cmocka_unit_test(test_read_trailer_parts),
	    cmocka_unit_test(test_bitflips),	      cmocka_unit_test(test_wrong_id),
	    cmocka_unit_test(test_blob_entry_checks), cmocka_unit_test(test_writer_misuse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
