/* SPDX-License-Identifier: Apache-2.0 */
/* test_config.c - the config file: byte layout, roundtrip and rejections. */
#include "testutil.h"

#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "format/config.h"

static void make_config(kura_config *c)
{
	memset(c, 0, sizeof(*c));
	c->version = KURA_FORMAT_VERSION;
	memset(c->repo_id, 0x11, sizeof(c->repo_id));
	memset(c->repo_pk, 0x22, sizeof(c->repo_pk));
	c->chunker.min = KURA_CHUNK_MIN_DEFAULT;
	c->chunker.avg = KURA_CHUNK_AVG_DEFAULT;
	c->chunker.max = KURA_CHUNK_MAX_DEFAULT;
	c->pack_size = 16u << 20;
	c->compression = KURA_COMPRESS_ZSTD;
	c->level = 3;
}

static void test_roundtrip(void **state)
{
	kura_config c, d;
	uint8_t buf[KURA_CONFIG_SIZE];

	make_config(&c);
	kura_config_encode(buf, &c);
	assert_memory_equal(buf, "KURACONF\x01\0\0\0", 12);
	assert_int_equal(buf[12], 0x11);
	assert_int_equal(buf[44], 0x22);
	assert_int_equal(kura_get_le32(buf + 76), KURA_CHUNK_MIN_DEFAULT);
	assert_int_equal(kura_get_le32(buf + 80), KURA_CHUNK_AVG_DEFAULT);
	assert_int_equal(kura_get_le32(buf + 84), KURA_CHUNK_MAX_DEFAULT);
	assert_int_equal(kura_get_le32(buf + 88), 16u << 20);
	assert_int_equal(buf[92], 1);
	assert_int_equal(buf[93], 3);
	assert_int_equal(buf[94] | buf[95], 0);
	assert_ok(kura_config_decode(&d, buf, sizeof(buf)));
	assert_int_equal(d.version, 1);
	assert_memory_equal(d.repo_id, c.repo_id, 32);
	assert_memory_equal(d.repo_pk, c.repo_pk, 32);
	assert_int_equal(d.chunker.min, c.chunker.min);
	assert_int_equal(d.chunker.avg, c.chunker.avg);
	assert_int_equal(d.chunker.max, c.chunker.max);
	assert_int_equal(d.pack_size, c.pack_size);
	assert_int_equal(d.compression, KURA_COMPRESS_ZSTD);
	assert_int_equal(d.level, 3);

	c.compression = KURA_COMPRESS_NONE;
	c.level = 0;
	c.pack_size = 1u << 30;
	kura_config_encode(buf, &c);
	assert_ok(kura_config_decode(&d, buf, sizeof(buf)));
	assert_int_equal(d.compression, KURA_COMPRESS_NONE);
	assert_int_equal(d.level, 0);
	assert_int_equal(d.pack_size, 1u << 30);
}

/* Encode a valid config, patch one byte (or u32), expect `code`. */
static void expect_rejected(size_t off, int width, uint32_t value, int code, const char *fragment)
{
	kura_config c, d;
	uint8_t buf[KURA_CONFIG_SIZE];

	make_config(&c);
	kura_config_encode(buf, &c);
	if (width == 4)
		kura_le32(buf + off, value);
	else
		buf[off] = (uint8_t)value;
	assert_int_equal(kura_config_decode(&d, buf, sizeof(buf)), code);
	if (!strstr(kura_error_message(), fragment))
		print_error("message '%s' lacks '%s'\n", kura_error_message(), fragment);
	assert_non_null(strstr(kura_error_message(), fragment));
}

static void test_rejects(void **state)
{
	kura_config c, d;
	uint8_t buf[KURA_CONFIG_SIZE + 1];

	expect_rejected(0, 1, 'k', KURA_ECORRUPT, "magic");
	expect_rejected(8, 1, 2, KURA_EUNSUPPORTED, "version 2");
	expect_rejected(8, 1, 0, KURA_EUNSUPPORTED, "version 0");
	expect_rejected(10, 1, 1, KURA_ECORRUPT, "reserved");
	expect_rejected(95, 1, 1, KURA_ECORRUPT, "reserved");
	expect_rejected(76, 4, 4095, KURA_ECORRUPT, "min");
	expect_rejected(76, 4, KURA_CHUNK_AVG_DEFAULT, KURA_ECORRUPT, "min");
	expect_rejected(80, 4, 3u << 19, KURA_ECORRUPT, "power of two");
	expect_rejected(80, 4, 32u << 20, KURA_ECORRUPT, "avg");
	expect_rejected(84, 4, KURA_CHUNK_AVG_DEFAULT, KURA_ECORRUPT, "max");
	expect_rejected(84, 4, (64u << 20) + 1, KURA_ECORRUPT, "max");
	expect_rejected(88, 4, (1u << 20) - 1, KURA_ECORRUPT, "pack_size");
	expect_rejected(88, 4, (1u << 30) + 1, KURA_ECORRUPT, "pack_size");
	expect_rejected(92, 1, 2, KURA_EUNSUPPORTED, "compression");
	expect_rejected(93, 1, 0, KURA_ECORRUPT, "level");
	expect_rejected(93, 1, 20, KURA_ECORRUPT, "level");
	expect_rejected(93, 1, 0xff, KURA_ECORRUPT, "level");

	/* no compression with a level */
	make_config(&c);
	c.compression = KURA_COMPRESS_NONE;
	kura_config_encode(buf, &c);
	assert_int_equal(kura_config_decode(&d, buf, KURA_CONFIG_SIZE), KURA_ECORRUPT);

	/* wrong lengths */
	make_config(&c);
	kura_config_encode(buf, &c);
	buf[KURA_CONFIG_SIZE] = 0;
	assert_int_equal(kura_config_decode(&d, buf, KURA_CONFIG_SIZE - 1), KURA_ECORRUPT);
	assert_int_equal(kura_config_decode(&d, buf, KURA_CONFIG_SIZE + 1), KURA_ECORRUPT);
	assert_int_equal(kura_config_decode(&d, buf, 0), KURA_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
