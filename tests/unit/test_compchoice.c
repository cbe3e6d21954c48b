/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_compchoice.c - the per-chunk compression choice: the policy itself
 * (kura_comp_choose), and blobs the pack writer stored by it (raw,
 * cheap level, full level, and a hint that lies) reading back exactly.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "detect/blockstat.h"
#include "format/compchoice.h"
#include "format/pack.h"

#define BIG (1024 * 1024)

static kura_keys keys;
static kura_mac *id_mac;

static int setup(void **state)
{
	assert_ok(kura_crypto_init());
	assert_ok(kura_keys_generate(&keys));
	assert_ok(kura_mac_new(&id_mac, keys.id_key));
	return 0;
}

static int teardown(void **state)
{
	kura_mac_free(id_mac);
	kura_keys_wipe(&keys);
	return 0;
}

/* Bytes from a 160-letter alphabet: not uniform, and zstd saves only ~8 %. */
static void fill_borderline(uint8_t *p, size_t n)
{
	kura_random(p, n);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(p[i] % 160);
}

static void fill_text(uint8_t *p, size_t n)
{
	static const char *const words[] = {"patient ", "ward ", "dose ", "chart\n", "nurse "};
	size_t i = 0, k = 0;

	while (i < n) {
		const char *w = words[(k++ * 7) % 5];
		size_t l = strlen(w) < n - i ? strlen(w) : n - i;

		memcpy(p + i, w, l);
		i += l;
	}
}

static void test_policy(void **state)
{
	kura_comp_facts f = {.level = 3, .len = BIG};

	/* never compress: the repository says so, or nothing to compress */
	f.level = 0;
	assert_int_equal(kura_comp_choose(&f), 0);
	f.level = 3;
	f.len = 0;
	assert_int_equal(kura_comp_choose(&f), 0);

	/* ciphertext-like scan: stored raw without a sample */
	f.len = BIG;
	f.blocks = 256;
	f.random = 256;
	assert_int_equal(kura_comp_choose(&f), 0);
	f.random = 240; /* 15/16 */
	assert_int_equal(kura_comp_choose(&f), 0);
	f.random = 239;
	assert_int_equal(kura_comp_choose(&f), KURA_COMP_SAMPLE);
	/* too few blocks judged to trust the scan */
	f.blocks = 7;
	f.random = 7;
	assert_int_equal(kura_comp_choose(&f), KURA_COMP_SAMPLE);

	/* small blobs: simply compressed */
	f.blocks = f.random = 0;
	f.len = KURA_COMP_SAMPLE_MIN - 1;
	assert_int_equal(kura_comp_choose(&f), 3);
	f.len = BIG;
	assert_int_equal(kura_comp_choose(&f), KURA_COMP_SAMPLE);

	/* by the sample: no saving, a small one (cheap level), a real one */
	f.sampled = 1;
	f.sample_in = 32768;
	f.sample_out = 32768 - 32768 / 64 + 1;
	assert_int_equal(kura_comp_choose(&f), 0);
	f.sample_out = 32768 - 32768 / 64 - 1;
	assert_int_equal(kura_comp_choose(&f), 1);
	f.sample_out = 32768 - 32768 / 8 + 1;
	assert_int_equal(kura_comp_choose(&f), 1);
	f.sample_out = 32768 - 32768 / 8 - 1;
	assert_int_equal(kura_comp_choose(&f), 3);
	f.sample_out = 4000;
	assert_int_equal(kura_comp_choose(&f), 3);
	/* a level below the cheap one is kept; a failed sample compresses */
	f.level = 1;
	f.sample_out = 32000;
	assert_int_equal(kura_comp_choose(&f), 1);
	f.level = 19;
	f.sample_in = f.sample_out = 0;
	assert_int_equal(kura_comp_choose(&f), 19);
}

/* The detector's scan of random bytes settles the choice without a sample. */
static void test_scan_feeds_choice(void **state)
{
	uint8_t *p = malloc(BIG);
	kura_blockscan scan;
	kura_comp_facts f = {.level = 3, .len = BIG};

	assert_non_null(p);
	kura_random(p, BIG);
	kura_detect_scan(p, BIG, 0, &scan);
	f.blocks = scan.blocks;
	f.random = scan.random;
	assert_int_equal(kura_comp_choose(&f), 0);
	fill_text(p, BIG);
	kura_detect_scan(p, BIG, 0, &scan);
	f.blocks = scan.blocks;
	f.random = scan.random;
	assert_int_equal(kura_comp_choose(&f), KURA_COMP_SAMPLE);
	fill_borderline(p, BIG);
	kura_detect_scan(p, BIG, 0, &scan);
	assert_int_equal(scan.random, 0);
	free(p);
}

typedef struct {
	uint8_t *plain;
	size_t len;
	kura_comp_hint hint;
	int use_hint;
	uint8_t want_flags;
	uint8_t id[KURA_HASH_SIZE];
} case_blob;

/* Every kind of blob through the writer, then read back, each checked against its id. */
static void test_writer_roundtrip(void **state)
{
	enum { N = 6 };
	case_blob c[N];
	kura_pack_writer *w;
	const uint8_t *data;
	const kura_pack_entry *entries;
	kura_pack_entry *read;
	uint8_t name[KURA_HASH_SIZE], key[KURA_KEY_SIZE];
	size_t len, count, stored;

	memset(c, 0, sizeof(c));
	for (int i = 0; i < N; i++) {
		c[i].len = BIG - 1000 * (size_t)i;
		c[i].plain = malloc(c[i].len);
		assert_non_null(c[i].plain);
	}
	/* random, told so by the scan: raw */
	kura_random(c[0].plain, c[0].len);
	c[0].hint = (kura_comp_hint){.blocks = 256, .random = 256};
	c[0].use_hint = 1;
	/* random, nothing known: the sample finds it, raw */
	kura_random(c[1].plain, c[1].len);
	/* text with a scan that says so: zstd */
	fill_text(c[2].plain, c[2].len);
	c[2].hint = (kura_comp_hint){.blocks = 256, .random = 0};
	c[2].use_hint = 1;
	c[2].want_flags = KURA_BLOB_FLAG_ZSTD;
	/* text with a lying hint: stored raw, which costs space, never correctness */
	fill_text(c[3].plain, c[3].len);
	c[3].hint = (kura_comp_hint){.blocks = 256, .random = 256};
	c[3].use_hint = 1;
	/* borderline: the cheap level, still zstd */
	fill_borderline(c[4].plain, c[4].len);
	c[4].want_flags = KURA_BLOB_FLAG_ZSTD;
	/* a small text blob: compressed without a sample */
	c[5].len = 1000;
	fill_text(c[5].plain, c[5].len);
	c[5].want_flags = KURA_BLOB_FLAG_ZSTD;

	assert_ok(kura_pack_writer_new(&w, &keys));
	for (int i = 0; i < N; i++) {
		assert_ok(kura_mac_compute(id_mac, c[i].id, c[i].plain, c[i].len));
		assert_ok(kura_pack_writer_add_hinted(w, KURA_BLOB_DATA, c[i].id, c[i].plain,
						      c[i].len, 3,
						      c[i].use_hint ? &c[i].hint : NULL, &stored));
		if (!c[i].want_flags)
			assert_int_equal(stored, c[i].len + KURA_AEAD_OVERHEAD);
		else
			assert_true(stored < c[i].len + KURA_AEAD_OVERHEAD);
	}
	assert_ok(kura_pack_writer_finish(w, &data, &len, name, &entries, &count));
	assert_int_equal(count, N);

	assert_ok(kura_pack_read_entries(&read, &count, &keys, data, len));
	assert_int_equal(count, N);
	assert_ok(kura_pack_open_key(key, &keys, data, len));
	for (int i = 0; i < N; i++) {
		uint8_t *plain;

		assert_int_equal(read[i].flags, c[i].want_flags);
		assert_int_equal(read[i].raw_len, c[i].len);
		assert_ok(kura_blob_decode(&plain, key, id_mac, &read[i], data + read[i].offset,
					   read[i].stored_len));
		assert_memory_equal(plain, c[i].plain, c[i].len);
		free(plain);
	}
	/* a raw blob whose flag is turned to zstd, or to an unknown bit, is refused */
	for (int i = 0; i < 2; i++) {
		kura_pack_entry e = read[0];
		uint8_t *plain = NULL;

		e.flags = i == 0 ? KURA_BLOB_FLAG_ZSTD : 0x80;
		assert_true(
		    kura_blob_decode(&plain, key, id_mac, &e, data + e.offset, e.stored_len) < 0);
		assert_null(plain);
	}
	free(read);
	kura_wipe(key, sizeof(key));
	kura_pack_writer_free(w);
	for (int i = 0; i < N; i++)
		free(c[i].plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policy),
	    cmocka_unit_test(test_scan_feeds_choice),
	    cmocka_unit_test(test_writer_roundtrip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
