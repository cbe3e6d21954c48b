/* SPDX-License-Identifier: Apache-2.0 */
/*
 * compchoice.h - how one blob is compressed, chosen from what is already
 * known about its bytes.
 *
 * zstd is most of a backup's CPU, and it is wasted on chunks that will not
 * shrink (already-compressed media, archives, ciphertext): those are stored
 * as they are (flag 0, a form every reader accepts), and chunks that barely
 * shrink get a cheaper level.  What is known comes in two steps, each
 * cheaper than compressing: the detector's byte-distribution scan of the
 * chunk (detect/blockstat.h, computed once and shared), then, if that does
 * not settle it, a few small pieces compressed at level 1 (the sample,
 * which the pack writer runs when asked).  kura_comp_choose() holds the
 * whole policy, as a pure function, so that another input (a chunking
 * set, a file type) is one more field and one more rule here.
 */
#ifndef KURA_FORMAT_COMPCHOICE_H
#define KURA_FORMAT_COMPCHOICE_H

#include <stddef.h>
#include <stdint.h>

/* Ask again with the sample filled in (kura_comp_choose). */
#define KURA_COMP_SAMPLE (-1)

/*
 * The sample: KURA_COMP_SAMPLE_COUNT pieces of KURA_COMP_SAMPLE_SIZE bytes
 * spread evenly over the blob, each compressed on its own at level 1;
 * blobs shorter than KURA_COMP_SAMPLE_MIN are not sampled.
 */
#define KURA_COMP_SAMPLE_SIZE 4096
#define KURA_COMP_SAMPLE_COUNT 8
#define KURA_COMP_SAMPLE_MIN (8 * KURA_COMP_SAMPLE_SIZE * KURA_COMP_SAMPLE_COUNT)

/*
 * What the caller already knows of a blob's bytes (the detector's scan of
 * the chunk, kura_blockscan); zeroes: nothing.
 */
typedef struct {
	uint32_t blocks; /* 4 KiB blocks judged */
	uint32_t random; /* of which look uniformly random */
} kura_comp_hint;

typedef struct {
	int level;  /* the repository's zstd level; 0: never compress */
	size_t len; /* the blob's length */
	/* from the detector's scan (kura_blockscan); blocks = 0: not scanned */
	uint32_t blocks; /* 4 KiB blocks judged */
	uint32_t random; /* of which look uniformly random */
	/* the sample, once taken (sampled = 1) */
	int sampled;
	size_t sample_in, sample_out; /* bytes in, bytes out */
} kura_comp_facts;

/*
 * The zstd level to compress the blob at, 0 to store it uncompressed, or
 * KURA_COMP_SAMPLE: take the sample (fill sample_in/_out, set sampled)
 * and call again.  Never returns KURA_COMP_SAMPLE once sampled is set.
 */
int kura_comp_choose(const kura_comp_facts *f);

#endif
