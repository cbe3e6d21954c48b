/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_idmap.c - the in-memory index: put/get of many ids (random, and ids
 * sharing low or high bits), growth, field limits, each(), replacement.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "repo/idmap.h"

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

enum { RANDOM, LOW_BITS, HIGH_BITS, SHARED_PREFIX };

/* The i-th id of a family: random, or random except for shared low/high bits. */
static void make_id(uint8_t id[KURA_HASH_SIZE], int family, uint64_t i)
{
	uint64_t s = i * 7919 + (uint64_t)family;

	for (int k = 0; k < 4; k++)
		kura_le64(id + 8 * k, rng(&s));
	switch (family) {
	case LOW_BITS: /* the old table hashed the first 8 bytes little-endian: same low bits */
		id[0] = 0x5a;
		id[1] = 0xa5;
		id[2] &= 0x0f;
		break;
	case HIGH_BITS: /* bytes 4-7 (the old hash's high bits) and the leading 12 bits alike */
		memset(id + 4, 0xee, 4);
		id[0] = 0xc3;
		id[1] = (uint8_t)((id[1] & 0x0f) | 0x70);
		break;
	case SHARED_PREFIX: /* the first 20 bytes are the same: only the tail tells ids apart */
		memset(id, 0x11, 20);
		break;
	}
}

static void make_loc(kura_blob_loc *loc, int family, uint64_t i)
{
	uint64_t s = i ^ 0xabcdef;
	uint64_t r = rng(&s);

	memset(loc, 0, sizeof(*loc));
	make_id(loc->id, family, i);
	loc->pack = (uint32_t)r;
	loc->offset = (uint32_t)(r >> 32);
	loc->raw_len = (uint32_t)(r % (KURA_IDMAP_MAX_RAW + 1));
	loc->stored_len = (uint32_t)((r >> 20) % (KURA_IDMAP_MAX_STORED + 1));
	loc->type = (uint8_t)((r >> 40) % (KURA_IDMAP_MAX_TYPE + 1));
	loc->flags = (uint8_t)((r >> 44) & 1);
}

static void assert_loc_equal(const kura_blob_loc *a, const kura_blob_loc *b)
{
	assert_memory_equal(a->id, b->id, KURA_HASH_SIZE);
	assert_int_equal(a->pack, b->pack);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->stored_len, b->stored_len);
	assert_int_equal(a->raw_len, b->raw_len);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->flags, b->flags);
}

/*
 * The map is one thread's: ThreadSanitizer has nothing to find in it, and its
 * instrumentation makes these loops ten times slower.  The plain and ASan
 * passes run them at full size.
 */
#if defined(__SANITIZE_THREAD__)
#define SIZED(n) ((n) / 10)
#else
#define SIZED(n) (n)
#endif

/* Insert n ids of a family, checking them all back at growing sizes. */
static void put_get_family(int family, uint64_t n)
{
	kura_idmap *m;
	kura_blob_loc want, got;
	uint8_t id[KURA_HASH_SIZE];
	uint64_t next_check = 1;

	assert_ok(kura_idmap_new(&m));
	for (uint64_t i = 0; i < n; i++) {
		make_loc(&want, family, i);
		assert_ok(kura_idmap_put(m, &want));
		if (i + 1 == next_check || i + 1 == n) {
			/* growth across several sizes: every entry so far is still there */
			for (uint64_t j = 0; j <= i; j++) {
				make_loc(&want, family, j);
				assert_true(kura_idmap_get(&got, m, want.id));
				assert_loc_equal(&got, &want);
			}
			next_check *= 4;
		}
	}
	assert_int_equal(kura_idmap_count(m), n);
	/* absent ids: other families, and near misses of present ones */
	for (uint64_t i = 0; i < n; i++) {
		make_id(id, family, i + n);
		assert_false(kura_idmap_get(&got, m, id));
		make_id(id, family, i);
		id[31] ^= 1;
		assert_false(kura_idmap_get(NULL, m, id));
		id[31] ^= 1;
		assert_true(kura_idmap_get(NULL, m, id));
	}
	kura_idmap_free(m);
}

static void test_random_ids(void **state)
{
	put_get_family(RANDOM, SIZED(200000));
}

static void test_ids_sharing_low_bits(void **state)
{
	put_get_family(LOW_BITS, SIZED(20000));
}

static void test_ids_sharing_high_bits(void **state)
{
	put_get_family(HIGH_BITS, SIZED(20000));
}

static void test_ids_sharing_a_long_prefix(void **state)
{
	put_get_family(SHARED_PREFIX, SIZED(3000));
}

static void test_empty(void **state)
{
	kura_idmap *m;
	uint8_t id[KURA_HASH_SIZE] = {0};
	kura_blob_loc got;

	assert_ok(kura_idmap_new(&m));
	assert_int_equal(kura_idmap_count(m), 0);
	assert_false(kura_idmap_get(&got, m, id));
	assert_true(kura_idmap_bytes(m) > 0);
	kura_idmap_free(m);
	kura_idmap_free(NULL);
}

/* The largest values the format allows, the smallest, and every type and flag. */
static void test_field_limits(void **state)
{
	kura_idmap *m;
	kura_blob_loc want, got;
	const uint32_t u32s[] = {0, 1, KURA_PACK_HEADER_SIZE, 0x7FFFFFFFu, KURA_PACK_PENDING};
	int k = 0;

	assert_ok(kura_idmap_new(&m));
	for (unsigned type = 0; type <= KURA_IDMAP_MAX_TYPE; type++)
		for (unsigned flags = 0; flags <= KURA_IDMAP_MAX_FLAGS; flags++)
			for (size_t u = 0; u < sizeof(u32s) / sizeof(u32s[0]); u++, k++) {
				memset(&want, 0, sizeof(want));
				make_id(want.id, RANDOM, (uint64_t)k);
				want.type = (uint8_t)type;
				want.flags = (uint8_t)flags;
				want.pack = u32s[u];
				want.offset = UINT32_MAX - u32s[u];
				want.raw_len = k % 2 ? KURA_IDMAP_MAX_RAW : 0;
				want.stored_len = k % 3 ? KURA_IDMAP_MAX_STORED : 0;
				assert_ok(kura_idmap_put(m, &want));
				assert_true(kura_idmap_get(&got, m, want.id));
				assert_loc_equal(&got, &want);
			}
	/* all at their maximum at once */
	make_id(want.id, RANDOM, 1000);
	want.type = KURA_IDMAP_MAX_TYPE;
	want.flags = KURA_IDMAP_MAX_FLAGS;
	want.pack = UINT32_MAX;
	want.offset = UINT32_MAX;
	want.raw_len = KURA_IDMAP_MAX_RAW;
	want.stored_len = KURA_IDMAP_MAX_STORED;
	assert_ok(kura_idmap_put(m, &want));
	assert_true(kura_idmap_get(&got, m, want.id));
	assert_loc_equal(&got, &want);
	/* what the format says those are */
	assert_int_equal(KURA_IDMAP_MAX_RAW, 64u * 1024 * 1024);
	assert_int_equal(KURA_IDMAP_MAX_STORED, 64u * 1024 * 1024 + 28);
	kura_idmap_free(m);
}

static void test_rejects_values_that_do_not_fit(void **state)
{
	kura_idmap *m;
	kura_blob_loc ok, bad, got;

	assert_ok(kura_idmap_new(&m));
	make_loc(&ok, RANDOM, 1);
	assert_ok(kura_idmap_put(m, &ok));

	bad = ok;
	bad.raw_len = KURA_IDMAP_MAX_RAW + 1;
	assert_int_equal(kura_idmap_put(m, &bad), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "raw length"));
	bad = ok;
	bad.stored_len = KURA_IDMAP_MAX_STORED + 1;
	assert_int_equal(kura_idmap_put(m, &bad), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "stored length"));
	bad = ok;
	bad.stored_len = UINT32_MAX;
	assert_int_equal(kura_idmap_put(m, &bad), KURA_EINVAL);
	bad = ok;
	bad.type = KURA_IDMAP_MAX_TYPE + 1;
	assert_int_equal(kura_idmap_put(m, &bad), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "type"));
	bad = ok;
	bad.flags = 0x80;
	assert_int_equal(kura_idmap_put(m, &bad), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "flags"));

	/* neither the existing entry nor a new one changed */
	assert_int_equal(kura_idmap_count(m), 1);
	assert_true(kura_idmap_get(&got, m, ok.id));
	assert_loc_equal(&got, &ok);
	make_loc(&bad, RANDOM, 2);
	bad.raw_len = UINT32_MAX;
	assert_int_equal(kura_idmap_put(m, &bad), KURA_EINVAL);
	assert_false(kura_idmap_get(NULL, m, bad.id));
	assert_int_equal(kura_idmap_count(m), 1);
	kura_idmap_free(m);
}

typedef struct {
	uint64_t n;
	uint8_t *seen;
	int family;
	uint64_t stop_after;
	uint64_t calls;
} each_ctx;

static int visit(const kura_blob_loc *loc, void *arg)
{
	each_ctx *c = arg;
	kura_blob_loc want;
	uint64_t i = loc->pack % c->n;

	/* entries were made with pack = i, so the entry names its ordinal */
	make_loc(&want, c->family, i);
	want.pack = (uint32_t)i;
	assert_loc_equal(loc, &want);
	assert_int_equal(c->seen[i], 0);
	c->seen[i] = 1;
	c->calls++;
	return c->calls == c->stop_after ? 7 : 0;
}

static void each_family(int family, uint64_t n)
{
	kura_idmap *m;
	kura_blob_loc loc;
	each_ctx c = {n, calloc(n, 1), family, 0, 0};

	assert_non_null(c.seen);
	assert_ok(kura_idmap_new(&m));
	for (uint64_t i = 0; i < n; i++) {
		make_loc(&loc, family, i);
		loc.pack = (uint32_t)i;
		assert_ok(kura_idmap_put(m, &loc));
	}
	assert_ok(kura_idmap_each(m, visit, &c));
	assert_int_equal(c.calls, n);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(c.seen[i], 1);

	/* a non-zero return stops the walk and is returned */
	memset(c.seen, 0, n);
	c.calls = 0;
	c.stop_after = n / 2 + 1;
	assert_int_equal(kura_idmap_each(m, visit, &c), 7);
	assert_int_equal(c.calls, n / 2 + 1);
	kura_idmap_free(m);
	free(c.seen);
}

static void test_each_visits_every_entry_once(void **state)
{
	each_family(RANDOM, 100000);
	each_family(HIGH_BITS, 5000);
	each_family(SHARED_PREFIX, 1000);
}

/* A second put of an id replaces its entry; the count does not change. */
static void test_duplicate_put_replaces(void **state)
{
	kura_idmap *m;
	kura_blob_loc a, b, got;
	const uint64_t n = 5000;

	assert_ok(kura_idmap_new(&m));
	for (uint64_t i = 0; i < n; i++) {
		make_loc(&a, RANDOM, i);
		a.pack = KURA_PACK_PENDING;
		assert_ok(kura_idmap_put(m, &a));
	}
	for (uint64_t i = 0; i < n; i += 2) {
		make_loc(&b, RANDOM, i);
		assert_ok(kura_idmap_put(m, &b));
	}
	assert_int_equal(kura_idmap_count(m), n);
	for (uint64_t i = 0; i < n; i++) {
		make_loc(&a, RANDOM, i);
		if (i % 2)
			a.pack = KURA_PACK_PENDING;
		assert_true(kura_idmap_get(&got, m, a.id));
		assert_loc_equal(&got, &a);
	}
	kura_idmap_free(m);
}

/* The point of the compact layout: bytes per entry at its worst while growing. */
static void test_memory_per_entry(void **state)
{
	kura_idmap *m;
	kura_blob_loc loc;
	const uint64_t n = 1u << 20;
	double worst = 0;

#if defined(__SANITIZE_THREAD__)
	skip(); /* a measure of the layout, the same in every build: taken by the other passes */
#endif

	assert_ok(kura_idmap_new(&m));
	for (uint64_t i = 0; i < n; i++) {
		make_loc(&loc, RANDOM, i);
		assert_ok(kura_idmap_put(m, &loc));
		if (i + 1 >= n / 2) {
			double b = (double)kura_idmap_bytes(m) / (double)(i + 1);

			if (b > worst)
				worst = b;
		}
	}
	print_message("bytes per entry at %llu entries: %.2f, worst from n/2: %.2f\n",
		      (unsigned long long)n, (double)kura_idmap_bytes(m) / (double)n, worst);
	assert_true(worst <= 48.0);
	kura_idmap_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_random_ids),
	    cmocka_unit_test(test_ids_sharing_low_bits),
	    cmocka_unit_test(test_ids_sharing_high_bits),
	    cmocka_unit_test(test_ids_sharing_a_long_prefix),
	    cmocka_unit_test(test_field_limits),
	    cmocka_unit_test(test_rejects_values_that_do_not_fit),
	    cmocka_unit_test(test_each_visits_every_entry_once),
	    cmocka_unit_test(test_duplicate_put_replaces),
	    cmocka_unit_test(test_memory_per_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
