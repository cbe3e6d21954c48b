/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blockstat.h - what one chunk's bytes say about their nature, computed on
 * the chunk the backup pipeline already holds in memory (no second read).
 *
 * The file is seen as 4 KiB blocks on its own offsets (where encryptors
 * cut it), and the first 1 KiB of each block is tested against the
 * uniform distribution with Pearson's chi-square (255 degrees of freedom):
 * a quarter of the bytes keeps the cost near a quarter of a cycle a byte,
 * and a block an attacker encrypted is random in every part.  Ciphertext is uniform: its statistic
 * stays near 255 (standard deviation ~22.6).  Text, page-structured databases and most real
 * compressed formats (JPEG's byte stuffing, deflate's headers) land far above.  Entropy alone
 * cannot draw that line; the chi-square draws it for a block, and the file's magic bytes (magic.h)
 * then say whether a dense body is that format's business.  The same histogram gives a text share,
 * and small text chunks are searched for Tor onion addresses and ransom-note wording.
 */
#ifndef KURA_DETECT_BLOCKSTAT_H
#define KURA_DETECT_BLOCKSTAT_H

#include <stddef.h>
#include <stdint.h>

#define KURA_DETECT_BLOCK 4096
/* The bytes of each block that are tested, from its start. */
#define KURA_DETECT_SAMPLE 1024
/* A sample shorter than this (a block cut by the chunk's end) is not judged. */
#define KURA_DETECT_MIN_BLOCK 512
/*
 * A block whose statistic is below this looks random.  For uniform bytes
 * the statistic is chi-square(255): P(>= 350) is about 1e-4, so a random
 * block is missed once in ten thousand (measured for 512 and 1024-byte
 * samples); text scores above 7,000.
 */
#define KURA_DETECT_CHI2_RANDOM 350.0

typedef struct {
	uint32_t blocks;  /* blocks judged */
	uint32_t random;  /* of which look random */
	uint32_t text;	  /* of which are text (>= 97 % printable or whitespace) */
	int first_random; /* the file's first block looks random (a chunk at offset 0) */
	int first_text;	  /* the file's first block is text */
} kura_blockscan;

/* Pearson's chi-square of the bytes of p[0..n) against the uniform distribution. */
double kura_detect_chi2(const uint8_t *p, size_t n);

/* Judge the blocks that start in a chunk found at file offset `offset` (zeroes *out first). */
void kura_detect_scan(const uint8_t *data, size_t len, uint64_t offset, kura_blockscan *out);

/* What a small text file says (kura_detect_text_clues). */
typedef struct {
	uint32_t
	    onions; /* Tor onion addresses: 16 (v2) or 50..60 (v3: 56) base32 letters, ".onion" */
	uint32_t ransom_words; /* distinct ransom-note phrases found (see blockstat.c) */
} kura_text_clues;

/*
 * The bytes of a file kura_detect_text_clues looks at, from its start:
 * notes are short (a few KiB), and the search costs about 2 ns a byte per
 * phrase.
 */
#define KURA_DETECT_CLUE_MAX (8 * 1024)

/* Search text (its first KURA_DETECT_CLUE_MAX bytes) for onion addresses and ransom-note
 * phrases (adds to *out). */
void kura_detect_text_clues(const uint8_t *data, size_t len, kura_text_clues *out);

#endif
