/* SPDX-License-Identifier: Apache-2.0 */
/* test_common.c - buffers, readers, hex, the error message and the pool. */
#include "testutil.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/pool.h"
#include "common/utf8.h"

static void test_buf_roundtrip(void **state)
{
	kura_buf b = KURA_BUF_INIT;
	kura_reader r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	assert_ok(kura_buf_put_u8(&b, 0xab));
	assert_ok(kura_buf_put_u16(&b, 0x1234));
	assert_ok(kura_buf_put_u32(&b, 0xdeadbeef));
	assert_ok(kura_buf_put_u64(&b, 0x0102030405060708ull));
	assert_int_equal(b.len, 15);
	assert_int_equal(b.data[1], 0x34); /* little-endian */
	kura_reader_init(&r, b.data, b.len, "test");
	assert_ok(kura_reader_u8(&r, &u8, "a"));
	assert_ok(kura_reader_u16(&r, &u16, "b"));
	assert_ok(kura_reader_u32(&r, &u32, "c"));
	assert_ok(kura_reader_u64(&r, &u64, "d"));
	assert_int_equal(u8, 0xab);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(u32, 0xdeadbeef);
	assert_true(u64 == 0x0102030405060708ull);
	assert_int_equal(kura_reader_left(&r), 0);
	assert_int_equal(kura_reader_u8(&r, &u8, "past the end"), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "past the end"));
	kura_buf_free(&b);
}

static void test_hex(void **state)
{
	uint8_t in[3] = {0x00, 0x7f, 0xff}, out[3];
	char hex[7];

	kura_hex(hex, in, 3);
	assert_string_equal(hex, "007fff");
	assert_ok(kura_unhex(out, hex, 3));
	assert_memory_equal(in, out, 3);
	assert_int_equal(kura_unhex(out, "007ff", 3), KURA_EINVAL);
	assert_int_equal(kura_unhex(out, "007fffa", 3), KURA_EINVAL);
	assert_int_equal(kura_unhex(out, "00zfff", 3), KURA_EINVAL);
}

static void test_error_wrap(void **state)
{
	kura_error_set(KURA_ECORRUPT, "bad tag at offset %d", 42);
	kura_error_wrap(KURA_ECORRUPT, "pack %s", "3f2a");
	assert_string_equal(kura_error_message(), "pack 3f2a: bad tag at offset 42");
	assert_int_equal(kura_error_code(), KURA_ECORRUPT);
}

static atomic_int counter;
static void count_job(void *job, void *ctx) { atomic_fetch_add(&counter, (int)(intptr_t)job); }

static void test_pool(void **state)
{
	kura_pool *pool;

	assert_ok(kura_pool_new(&pool, 3, 2));
	for (int i = 1; i <= 1000; i++)
		assert_ok(kura_pool_add(pool, count_job, (void *)(intptr_t)i, NULL));
	kura_pool_wait(pool);
	assert_int_equal(atomic_load(&counter), 500500);
	kura_pool_free(pool);
}

static void test_utf8(void **state)
{
	char *s;

	assert_true(kura_utf8_valid("plain", 5));
	assert_true(kura_utf8_valid("K\xc3\xa4tze \xe8\x94\xb5 \xf0\x9f\x98\x80", 15));
	assert_false(kura_utf8_valid("caf\xe9", 4));          /* Latin-1 */
	assert_false(kura_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	assert_false(kura_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(kura_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(kura_utf8_valid("\xe8\x94", 2));         /* truncated */
	s = kura_utf8_sanitize("/data/caf\xe9/x");
	assert_string_equal(s, "/data/caf\xef\xbf\xbd/x");
	free(s);
	s = kura_utf8_sanitize("ok \xe8\x94\xb5");
	assert_string_equal(s, "ok \xe8\x94\xb5");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_roundtrip),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_error_wrap),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
