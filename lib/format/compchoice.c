/* SPDX-License-Identifier: Apache-2.0 */
/*
 * compchoice.c - the compression policy for one blob (see compchoice.h).
 *
 * Thresholds, and why:
 *  - RANDOM_SHARE: a chunk whose scanned blocks are (nearly) all
 *    statistically uniform is ciphertext or the body of a compressed
 *    format; zstd cannot shrink uniform bytes, so neither the sample nor
 *    zstd is run.  A random block passes the detector's test 9,999 times
 *    in 10,000, text never; a single structured block (a header) in a
 *    chunk of random ones costs at most its own 4 KiB of compression.
 *  - SAMPLE_SLACK: a sample that saves less than 1/64 means the blob does
 *    not compress (images, video, archives whose bytes are not uniform).
 *  - CHEAP_SHARE: a sample that saves less than 1/8 is borderline (mostly
 *    compressed media with some structure); level 1 finds the same matches
 *    a few percent less tightly, at half the time of level 3 on such data.
 */
#include "format/compchoice.h"

#define RANDOM_SHARE_NUM 15 /* of RANDOM_SHARE_DEN blocks */
#define RANDOM_SHARE_DEN 16
#define RANDOM_MIN_BLOCKS 8 /* fewer judged blocks say too little */
#define SAMPLE_SLACK 64
#define CHEAP_SHARE 8
#define CHEAP_LEVEL 1

int kura_comp_choose(const kura_comp_facts *f)
{
	if (f->level <= 0 || f->len == 0)
		return 0;
	if (f->blocks >= RANDOM_MIN_BLOCKS &&
	    (uint64_t)f->random * RANDOM_SHARE_DEN >= (uint64_t)f->blocks * RANDOM_SHARE_NUM)
		return 0;
	if (f->len < KURA_COMP_SAMPLE_MIN)
		return f->level;
	if (!f->sampled)
		return KURA_COMP_SAMPLE;
	if (f->sample_in == 0)
		return f->level;
	/* out >= in * (1 - 1/SLACK): saves less than one part in SLACK */
	if ((uint64_t)f->sample_out * SAMPLE_SLACK >= (uint64_t)f->sample_in * (SAMPLE_SLACK - 1))
		return 0;
	if ((uint64_t)f->sample_out * CHEAP_SHARE >= (uint64_t)f->sample_in * (CHEAP_SHARE - 1))
		return f->level < CHEAP_LEVEL ? f->level : CHEAP_LEVEL;
	return f->level;
}
