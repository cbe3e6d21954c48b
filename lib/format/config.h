/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - the repository config file (docs/FORMAT.md, "Config file"):
 * the public, keyless facts about a repository.  A client checks that
 * repo_id and repo_pk match its key before writing anything.
 */
#ifndef KURA_FORMAT_CONFIG_H
#define KURA_FORMAT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "chunker/chunker.h"
#include "crypto/crypto.h"

#define KURA_FORMAT_VERSION 1
#define KURA_CONFIG_SIZE 96

enum { KURA_COMPRESS_NONE = 0, KURA_COMPRESS_ZSTD = 1 };

typedef struct {
	uint32_t version;
	uint8_t repo_id[32];
	uint8_t repo_pk[KURA_PUBKEY_SIZE];
	kura_chunker_params chunker;
	uint32_t pack_size;      /* target pack size in bytes, 1 MiB .. 1 GiB */
	uint8_t compression;     /* KURA_COMPRESS_* */
	int8_t level;            /* zstd level, 1..19 */
} kura_config;

/* Encode into exactly KURA_CONFIG_SIZE bytes. */
void kura_config_encode(uint8_t out[KURA_CONFIG_SIZE], const kura_config *c);
/* Decode and validate. KURA_ECORRUPT, KURA_EUNSUPPORTED. */
int kura_config_decode(kura_config *out, const uint8_t *data, size_t len);

#endif
