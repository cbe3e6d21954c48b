/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_chunker.c - the FastCDC chunker against a byte-by-byte reference
 * written from docs/FORMAT.md "Chunking" (with its own gear table from
 * OpenSSL's HMAC), plus size distribution, insertion stability, streaming
 * and parameter checks.
 */
#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "chunker/chunker.h"
#include "common/error.h"

#define MIB (1024u * 1024)

static const kura_chunker_params small = {4096, 16384, 65536};
static const kura_chunker_params medium = {16384, 65536, 262144};

static uint8_t seed_a[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static uint8_t seed_b[32] = {42};

static void fill_random(uint8_t *p, size_t len, uint64_t s)
{
	for (size_t i = 0; i < len; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		p[i] = (uint8_t)(s >> 24);
	}
}

/* ---- the reference: the spec, literally ---- */

typedef struct {
	uint64_t gear[256];
	uint64_t mask_s, mask_l;
	size_t min, avg, max;
} ref_chunker;

static void ref_init(ref_chunker *r, const kura_chunker_params *p, const uint8_t seed[32])
{
	uint8_t msg[10], md[32];
	unsigned int mdlen = 0;
	unsigned b = 0;

	memcpy(msg, "kura gear", 9);
	for (int i = 0; i < 256; i++) {
		msg[9] = (uint8_t)i;
		assert_non_null(HMAC(EVP_sha256(), seed, 32, msg, sizeof(msg), md, &mdlen));
		r->gear[i] = 0;
		for (int k = 7; k >= 0; k--)
			r->gear[i] = r->gear[i] << 8 | md[k];
	}
	while ((1u << b) < p->avg)
		b++;
	r->mask_s = ~0ull << (64 - (b + 2));
	r->mask_l = ~0ull << (64 - (b - 2));
	r->min = p->min;
	r->avg = p->avg;
	r->max = p->max;
}

/* Length of the chunk at data[0] when data[0..len) is the rest of the file. */
static size_t ref_next(const ref_chunker *r, const uint8_t *data, size_t len)
{
	uint64_t h = 0;

	for (size_t i = 0; i < len; i++) {
		h = (h << 1) + r->gear[data[i]];
		if (i >= r->min && i < r->avg && !(h & r->mask_s))
			return i + 1;
		if (i >= r->avg && i < r->max && !(h & r->mask_l))
			return i + 1;
		if (i == r->max - 1)
			return r->max;
	}
	return len;
}

/* Cut all of data with the real chunker at eof; returns the chunk count. */
static size_t cut_all(const kura_chunker *c, const uint8_t *data, size_t len, size_t *lens,
		      size_t cap)
{
	size_t pos = 0, n = 0, k;

	while (pos < len) {
		k = kura_chunker_next(c, data + pos, len - pos, 1);
		assert_true(k > 0 && k <= len - pos);
		assert_true(n < cap);
		lens[n++] = k;
		pos += k;
	}
	return n;
}

static void compare_with_reference(const kura_chunker_params *p, const uint8_t *data, size_t len)
{
	kura_chunker *c = NULL;
	ref_chunker ref;
	size_t pos = 0, k, want;

	ref_init(&ref, p, seed_a);
	assert_ok(kura_chunker_new(&c, p, seed_a));
	while (pos < len) {
		want = ref_next(&ref, data + pos, len - pos);
		k = kura_chunker_next(c, data + pos, len - pos, 1);
		assert_int_equal(k, want);
		pos += k;
	}
	kura_chunker_free(c);
}

static void test_matches_reference(void **state)
{
	size_t len = 8 * MIB;
	uint8_t *data = malloc(len);

	assert_non_null(data);
	fill_random(data, len, 12345);
	compare_with_reference(&small, data, len);
	compare_with_reference(&medium, data, len);
	/* low entropy: every chunk hits max, and a short tail */
	memset(data, 0, len);
	compare_with_reference(&small, data, len - 12345);
	/* a repeating short pattern */
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i % 7);
	compare_with_reference(&small, data, len);
	free(data);
}

static void test_sizes(void **state)
{
	size_t len = 64 * MIB, cap = len / medium.min + 1, n;
	uint8_t *data = malloc(len);
	size_t *lens = calloc(cap, sizeof(*lens));
	kura_chunker *c = NULL;
	double mean;

	assert_non_null(data);
	assert_non_null(lens);
	fill_random(data, len, 777);
	assert_ok(kura_chunker_new(&c, &medium, seed_a));
	n = cut_all(c, data, len, lens, cap);
	for (size_t i = 0; i + 1 < n; i++) {
		assert_true(lens[i] > medium.min);
		assert_true(lens[i] <= medium.max);
	}
	mean = (double)len / (double)n;
	print_message("64 MiB: %zu chunks, mean %.0f bytes (avg %u)\n", n, mean, medium.avg);
	assert_true(mean > medium.avg / 2.0 && mean < medium.avg * 2.0);
	kura_chunker_free(c);
	free(lens);
	free(data);
}

static void test_insertion_stability(void **state)
{
	size_t len = 16 * MIB, ins = 100, at = 5000, cap = len / small.min + 2, n1, n2, same = 0;
	uint8_t *a = malloc(len), *b = malloc(len + ins);
	size_t *l1 = calloc(cap, sizeof(size_t)), *l2 = calloc(cap, sizeof(size_t));
	kura_chunker *c = NULL;

	assert_true(a && b && l1 && l2);
	fill_random(a, len, 99);
	memcpy(b, a, at);
	fill_random(b + at, ins, 5);
	memcpy(b + at + ins, a + at, len - at);
	assert_ok(kura_chunker_new(&c, &small, seed_a));
	n1 = cut_all(c, a, len, l1, cap);
	n2 = cut_all(c, b, len + ins, l2, cap);
	/* both end at the same bytes: count the chunks that match from the end */
	while (same < n1 && same < n2 && l1[n1 - 1 - same] == l2[n2 - 1 - same])
		same++;
	print_message("%zu chunks, %zu changed after inserting %zu bytes\n", n1, n1 - same, ins);
	assert_true(n1 - same <= 2);
	assert_true(n2 - same <= 2);
	kura_chunker_free(c);
	free(l1);
	free(l2);
	free(a);
	free(b);
}

static void test_streaming(void **state)
{
	size_t len = 4 * MIB + 333, cap = len / small.min + 2, n, i = 0, pos = 0, avail = 0, k;
	uint64_t s = 1;
	uint8_t *data = malloc(len);
	size_t *lens = calloc(cap, sizeof(size_t));
	kura_chunker *c = NULL;

	assert_true(data && lens);
	fill_random(data, len, 4242);
	assert_ok(kura_chunker_new(&c, &small, seed_a));
	n = cut_all(c, data, len, lens, cap);
	/* data arrives in pieces of 1 .. ~40000 bytes; the window is data[pos..avail) */
	while (pos < len) {
		k = kura_chunker_next(c, data + pos, avail - pos, avail == len);
		if (k == 0) {
			assert_true(avail < len);
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			avail += 1 + (s >> 33) % ((s >> 60) < 4 ? 17 : 40000);
			if (avail > len)
				avail = len;
			continue;
		}
		assert_true(i < n);
		assert_int_equal(k, lens[i]);
		i++;
		pos += k;
	}
	assert_int_equal(i, n);
	kura_chunker_free(c);
	free(lens);
	free(data);
}

static void test_edges(void **state)
{
	kura_chunker *c = NULL;
	uint8_t data[70000];

	fill_random(data, sizeof(data), 3);
	assert_ok(kura_chunker_new(&c, &small, seed_a));
	assert_int_equal(kura_chunker_next(c, data, 0, 0), 0);
	assert_int_equal(kura_chunker_next(c, data, 0, 1), 0);
	assert_int_equal(kura_chunker_next(c, data, 100, 0), 0);
	assert_int_equal(kura_chunker_next(c, data, 100, 1), 100);
	assert_int_equal(kura_chunker_next(c, data, small.min, 0), 0);
	assert_int_equal(kura_chunker_next(c, data, small.min, 1), small.min);
	/* with at least max bytes an answer never waits */
	assert_true(kura_chunker_next(c, data, sizeof(data), 0) > 0);
	assert_true(kura_chunker_next(c, data, sizeof(data), 0) <= small.max);
	memset(data, 0, sizeof(data));
	assert_int_equal(kura_chunker_next(c, data, sizeof(data), 0), small.max);
	assert_int_equal(kura_chunker_next(c, data, small.max, 0), small.max);
	assert_int_equal(kura_chunker_next(c, data, small.max - 1, 0), 0);
	kura_chunker_free(c);
	kura_chunker_free(NULL);
}

static void test_seeds_differ(void **state)
{
	size_t len = 2 * MIB, cap = len / small.min + 2, n1, n2;
	uint8_t *data = malloc(len);
	size_t *l1 = calloc(cap, sizeof(size_t)), *l2 = calloc(cap, sizeof(size_t));
	kura_chunker *c1 = NULL, *c2 = NULL;

	assert_true(data && l1 && l2);
	fill_random(data, len, 8);
	assert_ok(kura_chunker_new(&c1, &small, seed_a));
	assert_ok(kura_chunker_new(&c2, &small, seed_b));
	n1 = cut_all(c1, data, len, l1, cap);
	n2 = cut_all(c2, data, len, l2, cap);
	assert_true(n1 != n2 || memcmp(l1, l2, n1 * sizeof(size_t)) != 0);
	kura_chunker_free(c1);
	kura_chunker_free(c2);
	free(l1);
	free(l2);
	free(data);
}

static void test_params_check(void **state)
{
	static const kura_chunker_params bad[] = {
		{4095, 16384, 65536},                /* min too small */
		{16384, 16384, 65536},               /* min == avg */
		{20000, 16384, 65536},               /* min > avg */
		{4096, 8192, 65536},                 /* avg too small */
		{4096, 20000, 65536},                /* avg not a power of two */
		{4096, 32u * MIB, 64u * MIB},        /* avg too large */
		{4096, 16384, 16384},                /* max == avg */
		{4096, 16384, 8192},                 /* max < avg */
		{4096, 16u * MIB, 64u * MIB + 1},    /* max too large */
		{0, 0, 0},
	};
	kura_chunker_params def = {KURA_CHUNK_MIN_DEFAULT, KURA_CHUNK_AVG_DEFAULT,
				   KURA_CHUNK_MAX_DEFAULT};
	kura_chunker_params edge = {4096, 16u * MIB, 64u * MIB};
	kura_chunker *c = NULL;

	assert_ok(kura_chunker_params_check(&def));
	assert_ok(kura_chunker_params_check(&small));
	assert_ok(kura_chunker_params_check(&edge));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(kura_chunker_params_check(&bad[i]), KURA_EINVAL);
		assert_int_equal(kura_chunker_new(&c, &bad[i], seed_a), KURA_EINVAL);
		assert_null(c);
	}
}

/*
 * The small set files rewritten in place are cut with: derived from the
 * config only when four times smaller, and cutting within its min and max
 * with a mean near its average.
 */
static void test_small_set(void **state)
{
	const kura_chunker_params large = {KURA_CHUNK_MIN_DEFAULT, KURA_CHUNK_AVG_DEFAULT,
					   KURA_CHUNK_MAX_DEFAULT};
	const kura_chunker_params tiny = {8192, 32768, 131072};
	kura_chunker_params got;
	size_t len = 16 * MIB, cap = len / KURA_CHUNK_SMALL_MIN + 1, n;
	uint8_t *data = malloc(len);
	size_t *lens = calloc(cap, sizeof(*lens));
	kura_chunker *c = NULL;
	double mean;

	assert_true(data && lens);
	assert_int_equal(kura_chunker_params_small(&got, &large), 1);
	assert_int_equal(got.min, small.min);
	assert_int_equal(got.avg, small.avg);
	assert_int_equal(got.max, small.max);
	assert_ok(kura_chunker_params_check(&got));
	assert_int_equal(kura_chunker_params_small(&got, &medium), 1); /* 64 KiB: four times */
	assert_int_equal(kura_chunker_params_small(&got, &tiny), 0);   /* 32 KiB: not */
	assert_int_equal(kura_chunker_params_small(&got, &small), 0);
	fill_random(data, len, 4242);
	assert_int_equal(kura_chunker_params_small(&got, &large), 1);
	assert_ok(kura_chunker_new(&c, &got, seed_b));
	n = cut_all(c, data, len, lens, cap);
	for (size_t i = 0; i + 1 < n; i++) {
		assert_true(lens[i] > got.min);
		assert_true(lens[i] <= got.max);
	}
	mean = (double)len / (double)n;
	print_message("small set, 16 MiB: %zu chunks, mean %.0f bytes\n", n, mean);
	assert_true(mean > got.avg / 2.0 && mean < got.avg * 2.0);
	/* a run of zeros: every chunk is max */
	memset(data, 0, len);
	assert_int_equal(kura_chunker_next(c, data, len, 1), got.max);
	kura_chunker_free(c);
	free(lens);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_matches_reference),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_insertion_stability),
	    cmocka_unit_test(test_streaming),
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_seeds_differ),
	    cmocka_unit_test(test_params_check),
	    cmocka_unit_test(test_small_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
