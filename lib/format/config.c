/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - the 96-byte repository config file (docs/FORMAT.md, "Config
 * file").
 *
 * The config is public and keyless, so a decoded config is only as
 * trustworthy as the store it came from: the client compares repo_id and
 * repo_pk with its key before use.  The decoder nevertheless validates
 * every field, so that no later code sees chunker parameters, pack sizes or
 * compression levels outside the ranges the format allows.
 */
#include "format/config.h"

#include <string.h>

#include "common/buf.h"
#include "common/error.h"

#define CONFIG_MAGIC "KURACONF"
#define CONFIG_PACK_MIN (1u << 20)
#define CONFIG_PACK_MAX (1u << 30)
#define CONFIG_LEVEL_MAX 19

void kura_config_encode(uint8_t out[KURA_CONFIG_SIZE], const kura_config *c)
{
	/* This encoder writes format version 1 whatever c->version says. */
	memset(out, 0, KURA_CONFIG_SIZE);
	memcpy(out, CONFIG_MAGIC, 8);
	out[8] = KURA_FORMAT_VERSION;
	memcpy(out + 12, c->repo_id, 32);
	memcpy(out + 44, c->repo_pk, KURA_PUBKEY_SIZE);
	kura_le32(out + 76, c->chunker.min);
	kura_le32(out + 80, c->chunker.avg);
	kura_le32(out + 84, c->chunker.max);
	kura_le32(out + 88, c->pack_size);
	out[92] = c->compression;
	out[93] = (uint8_t)c->level;
}

int kura_config_decode(kura_config *out, const uint8_t *data, size_t len)
{
	kura_config c;
	int err = 0;

	memset(&c, 0, sizeof(c));
	if (len != KURA_CONFIG_SIZE) {
		err = kura_error_set(KURA_ECORRUPT, "config: %zu bytes, expected %d", len,
				     KURA_CONFIG_SIZE);
		goto done;
	}
	if (memcmp(data, CONFIG_MAGIC, 8) != 0) {
		err = kura_error_set(KURA_ECORRUPT, "config: bad magic (not a kura config file)");
		goto done;
	}
	if (data[8] != KURA_FORMAT_VERSION) {
		err = kura_error_set(KURA_EUNSUPPORTED,
				     "config: format version %u is not supported (this is %d)",
				     data[8], KURA_FORMAT_VERSION);
		goto done;
	}
	if (data[9] || data[10] || data[11] || data[94] || data[95]) {
		err = kura_error_set(KURA_ECORRUPT, "config: reserved bytes are not zero");
		goto done;
	}
	c.version = data[8];
	memcpy(c.repo_id, data + 12, 32);
	memcpy(c.repo_pk, data + 44, KURA_PUBKEY_SIZE);
	c.chunker.min = kura_get_le32(data + 76);
	c.chunker.avg = kura_get_le32(data + 80);
	c.chunker.max = kura_get_le32(data + 84);
	c.pack_size = kura_get_le32(data + 88);
	c.compression = data[92];
	if ((err = kura_chunker_params_check(&c.chunker)) < 0) {
		err = kura_error_wrap(KURA_ECORRUPT, "config");
		goto done;
	}
	if (c.pack_size < CONFIG_PACK_MIN || c.pack_size > CONFIG_PACK_MAX) {
		err = kura_error_set(KURA_ECORRUPT,
				     "config: pack_size %u outside 1 MiB .. 1 GiB", c.pack_size);
		goto done;
	}
	switch (c.compression) {
	case KURA_COMPRESS_NONE:
		if (data[93] != 0) {
			err = kura_error_set(KURA_ECORRUPT,
					     "config: zstd level %u without compression", data[93]);
			goto done;
		}
		break;
	case KURA_COMPRESS_ZSTD:
		if (data[93] < 1 || data[93] > CONFIG_LEVEL_MAX) {
			err = kura_error_set(KURA_ECORRUPT, "config: zstd level %u outside 1..%d",
					     data[93], CONFIG_LEVEL_MAX);
			goto done;
		}
		break;
	default:
		err = kura_error_set(KURA_EUNSUPPORTED, "config: unknown compression %u",
				     c.compression);
		goto done;
	}
	c.level = (int8_t)data[93];
	*out = c;
done:
	return err;
}
