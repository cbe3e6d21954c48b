/* SPDX-License-Identifier: Apache-2.0 */
/* test_indexfile.c - index files: roundtrip, keyless pack list, damage. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "format/indexfile.h"

static kura_keys restore_keys, backup_keys;

static int setup(void **state)
{
	assert_ok(kura_crypto_init());
	assert_ok(kura_keys_generate(&restore_keys));
	kura_keys_to_backup(&backup_keys, &restore_keys);
	return 0;
}

static int teardown(void **state)
{
	kura_keys_wipe(&restore_keys);
	kura_keys_wipe(&backup_keys);
	return 0;
}

#define NPACKS 3
#define NRECORDS 7

static uint8_t packs[NPACKS][KURA_HASH_SIZE];
static kura_index_record records[NRECORDS];

static void make_index(kura_indexfile *idx)
{
	uint32_t offset[NPACKS] = {KURA_PACK_HEADER_SIZE, KURA_PACK_HEADER_SIZE,
				   KURA_PACK_HEADER_SIZE};

	for (int i = 0; i < NPACKS; i++)
		memset(packs[i], 0x10 + i, KURA_HASH_SIZE);
	for (int i = 0; i < NRECORDS; i++) {
		kura_index_record *r = &records[i];

		memset(r, 0, sizeof(*r));
		r->pack = (uint32_t)(i % NPACKS);
		r->blob.type = i % 2 ? KURA_BLOB_TREE : KURA_BLOB_DATA;
		r->blob.flags = i % 3 ? KURA_BLOB_FLAG_ZSTD : 0;
		kura_random(r->blob.id, KURA_HASH_SIZE);
		r->blob.raw_len = 1000u * (uint32_t)(i + 1);
		r->blob.stored_len = r->blob.flags ? 500u + (uint32_t)i : r->blob.raw_len + 28;
		r->blob.offset = offset[r->pack];
		offset[r->pack] += r->blob.stored_len;
	}
	idx->packs = packs;
	idx->npacks = NPACKS;
	idx->records = records;
	idx->nrecords = NRECORDS;
}

static void test_roundtrip(void **state)
{
	kura_indexfile idx, *back = NULL;
	uint8_t(*names)[KURA_HASH_SIZE] = NULL;
	uint8_t *data, name[KURA_HASH_SIZE], check[KURA_HASH_SIZE];
	size_t len, count;

	make_index(&idx);
	assert_ok(kura_indexfile_encode(&data, &len, name, &backup_keys, &idx));
	assert_int_equal(len, 48 + 32 * NPACKS + 4 + 52 * NRECORDS + 28);
	kura_sha256(check, data, len);
	assert_memory_equal(check, name, KURA_HASH_SIZE);
	assert_memory_equal(data, "KURAINDX\1\0\0\0", 12);

	/* either key reads it */
	for (int k = 0; k < 2; k++) {
		assert_ok(
		    kura_indexfile_decode(&back, k ? &restore_keys : &backup_keys, data, len));
		assert_int_equal(back->npacks, NPACKS);
		assert_memory_equal(back->packs, packs, sizeof(packs));
		assert_int_equal(back->nrecords, NRECORDS);
		for (int i = 0; i < NRECORDS; i++) {
			const kura_index_record *a = &records[i], *b = &back->records[i];

			assert_int_equal(a->pack, b->pack);
			assert_int_equal(a->blob.type, b->blob.type);
			assert_int_equal(a->blob.flags, b->blob.flags);
			assert_memory_equal(a->blob.id, b->blob.id, KURA_HASH_SIZE);
			assert_int_equal(a->blob.offset, b->blob.offset);
			assert_int_equal(a->blob.stored_len, b->blob.stored_len);
			assert_int_equal(a->blob.raw_len, b->blob.raw_len);
		}
		kura_indexfile_free(back);
	}

	/* without a key: only the pack list */
	assert_ok(kura_indexfile_packs(&names, &count, data, len));
	assert_int_equal(count, NPACKS);
	assert_memory_equal(names, packs, sizeof(packs));
	free(names);
	kura_indexfile_free(NULL);
	free(data);
}

static void test_empty_records(void **state)
{
	kura_indexfile idx = {.packs = packs, .npacks = 1}, *back;
	uint8_t *data, name[KURA_HASH_SIZE];
	size_t len;

	memset(packs, 0x42, sizeof(packs));
	assert_ok(kura_indexfile_encode(&data, &len, name, &restore_keys, &idx));
	assert_ok(kura_indexfile_decode(&back, &restore_keys, data, len));
	assert_int_equal(back->npacks, 1);
	assert_int_equal(back->nrecords, 0);
	kura_indexfile_free(back);
	free(data);
}

static void test_damage(void **state)
{
	kura_indexfile idx, *back = NULL;
	kura_keys other;
	uint8_t(*names)[KURA_HASH_SIZE] = NULL;
	uint8_t *data, name[KURA_HASH_SIZE];
	size_t len, count;

	make_index(&idx);
	assert_ok(kura_indexfile_encode(&data, &len, name, &restore_keys, &idx));

	/* every truncation is refused by both readers (the pack list needs the box to follow) */
	for (size_t cut = 0; cut < len; cut++) {
		assert_true(kura_indexfile_decode(&back, &restore_keys, data, cut) < 0);
		assert_null(back);
		if (cut < 48 + 32 * NPACKS + 32) {
			assert_true(kura_indexfile_packs(&names, &count, data, cut) < 0);
			assert_null(names);
		}
	}
	/* every flipped byte is refused */
	for (size_t pos = 0; pos < len; pos++) {
		data[pos] ^= 0x01;
		assert_true(kura_indexfile_decode(&back, &restore_keys, data, len) < 0);
		assert_null(back);
		data[pos] ^= 0x01;
	}
	/* a trailing byte too */
	{
		uint8_t *longer = malloc(len + 1);

		memcpy(longer, data, len);
		longer[len] = 0;
		assert_true(kura_indexfile_decode(&back, &restore_keys, longer, len + 1) < 0);
		free(longer);
	}
	/* another repository's key */
	assert_ok(kura_keys_generate(&other));
	assert_int_equal(kura_indexfile_decode(&back, &other, data, len), KURA_EAUTH);
	kura_keys_wipe(&other);
	/* a future version */
	data[8] = 2;
	assert_int_equal(kura_indexfile_decode(&back, &restore_keys, data, len), KURA_EUNSUPPORTED);
	assert_int_equal(kura_indexfile_packs(&names, &count, data, len), KURA_EUNSUPPORTED);
	data[8] = 1;
	/* a huge pack count must not allocate: refused by bounds */
	data[44] = 0xff;
	data[45] = 0xff;
	data[46] = 0x0f;
	assert_int_equal(kura_indexfile_packs(&names, &count, data, len), KURA_ECORRUPT);
	data[46] = 0xff;
	data[47] = 0xff;
	assert_int_equal(kura_indexfile_packs(&names, &count, data, len), KURA_ECORRUPT);
	free(data);
}

static void test_encode_rejects(void **state)
{
	kura_indexfile idx;
	uint8_t *data = NULL, name[KURA_HASH_SIZE];
	size_t len;

	make_index(&idx);
	idx.npacks = 0;
	assert_int_equal(kura_indexfile_encode(&data, &len, name, &restore_keys, &idx),
			 KURA_EINVAL);
	make_index(&idx);
	records[2].pack = NPACKS;
	assert_int_equal(kura_indexfile_encode(&data, &len, name, &restore_keys, &idx),
			 KURA_EINVAL);
	make_index(&idx);
	records[1].blob.type = 0;
	assert_int_equal(kura_indexfile_encode(&data, &len, name, &restore_keys, &idx),
			 KURA_EINVAL);
	make_index(&idx);
	records[1].blob.stored_len = 10;
	assert_int_equal(kura_indexfile_encode(&data, &len, name, &restore_keys, &idx),
			 KURA_EINVAL);
	make_index(&idx);
	records[1].blob.offset = 0;
	assert_int_equal(kura_indexfile_encode(&data, &len, name, &restore_keys, &idx),
			 KURA_EINVAL);
	assert_null(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_empty_records),
	    cmocka_unit_test(test_damage),
	    cmocka_unit_test(test_encode_rejects),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
