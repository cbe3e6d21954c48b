/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chunker.h - content-defined chunking (FastCDC with normalized chunking,
 * docs/FORMAT.md "Chunking").
 *
 * The gear table is derived from the repository's secret chunker seed, so
 * chunk boundaries (and so chunk sizes) reveal nothing about the content to
 * someone without the key.  Boundaries depend only on the bytes since the
 * previous boundary, so an insertion moves at most the chunks around it.
 */
#ifndef KURA_CHUNKER_CHUNKER_H
#define KURA_CHUNKER_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint32_t min; /* >= 4 KiB, < avg */
	uint32_t avg; /* a power of two, 16 KiB .. 16 MiB */
	uint32_t max; /* > avg, <= 64 MiB */
} kura_chunker_params;

#define KURA_CHUNK_MIN_DEFAULT (256u * 1024)
#define KURA_CHUNK_AVG_DEFAULT (1024u * 1024)
#define KURA_CHUNK_MAX_DEFAULT (4096u * 1024)

/* 0 if the parameters are usable, else KURA_EINVAL with a message. */
int kura_chunker_params_check(const kura_chunker_params *p);

/*
 * The small parameter set (docs/FORMAT.md "Chunking", "Small chunks"),
 * for files rewritten in place a few pages at a time (databases): min 4
 * KiB, avg 16 KiB, max 64 KiB, the same gear table.  Only defined when
 * the repository's own average is at least four times larger: returns 1
 * and fills *out then, 0 when every file keeps the repository's set.
 */
#define KURA_CHUNK_SMALL_MIN (4u * 1024)
#define KURA_CHUNK_SMALL_AVG (16u * 1024)
#define KURA_CHUNK_SMALL_MAX (64u * 1024)
int kura_chunker_params_small(kura_chunker_params *out, const kura_chunker_params *large);

typedef struct kura_chunker kura_chunker;

int kura_chunker_new(kura_chunker **out, const kura_chunker_params *p, const uint8_t seed[32]);
void kura_chunker_free(kura_chunker *c);

/*
 * The length of the chunk that starts at data[0], given `len` bytes of
 * lookahead.  When no boundary is found within `len` and `len < max` and
 * the input is not at its end (`eof` == 0), returns 0: call again with
 * more data.  At eof, returns min(len, boundary).  Never returns more than
 * max or more than len.
 */
size_t kura_chunker_next(const kura_chunker *c, const uint8_t *data, size_t len, int eof);

#endif
