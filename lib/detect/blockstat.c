/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blockstat.c - per-block chi-square and text share, onion addresses and
 * ransom-note wording (blockstat.h).
 *
 * The histogram is counted into four tables in turn, so that runs of one
 * byte value (zero pages) do not serialise on one counter: the cost per
 * byte stays near one cycle, which keeps detection within its CPU budget
 * beside hashing, compression and encryption.
 */
#include "detect/blockstat.h"

#include <string.h>

static void histogram(const uint8_t *p, size_t n, uint32_t out[256])
{
	uint32_t h[4][256];
	size_t i = 0;

	memset(h, 0, sizeof(h));
	for (; i + 4 <= n; i += 4) {
		h[0][p[i]]++;
		h[1][p[i + 1]]++;
		h[2][p[i + 2]]++;
		h[3][p[i + 3]]++;
	}
	for (; i < n; i++)
		h[0][p[i]]++;
	for (int b = 0; b < 256; b++)
		out[b] = h[0][b] + h[1][b] + h[2][b] + h[3][b];
}

static double chi2_of(const uint32_t h[256], size_t n)
{
	double expect = (double)n / 256.0, sum = 0;

	if (n == 0)
		return 0;
	for (int b = 0; b < 256; b++) {
		double d = (double)h[b] - expect;

		sum += d * d;
	}
	return sum / expect;
}

double kura_detect_chi2(const uint8_t *p, size_t n)
{
	uint32_t h[256];

	histogram(p, n, h);
	return chi2_of(h, n);
}

/* Printable ASCII, whitespace, and bytes of UTF-8 sequences (>= 0x80) are text. */
static int is_text(const uint32_t h[256], size_t n)
{
	size_t bad = 0, high = 0;

	for (int b = 0; b < 0x20; b++)
		if (b != '\t' && b != '\n' && b != '\r' && b != '\f')
			bad += h[b];
	bad += h[0x7f];
	/* high bytes: UTF-8 text has them, but never most of a block */
	for (int b = 0x80; b < 256; b++)
		high += h[b];
	if (n == 0)
		return 0;
	return bad * 100 <= n * 3 && high * 100 <= n * 30;
}

void kura_detect_scan(const uint8_t *data, size_t len, uint64_t offset, kura_blockscan *out)
{
	/* the first block that starts in this chunk, on the file's grid */
	size_t first =
	    (size_t)((KURA_DETECT_BLOCK - offset % KURA_DETECT_BLOCK) % KURA_DETECT_BLOCK);

	memset(out, 0, sizeof(*out));
	for (size_t off = first; off < len; off += KURA_DETECT_BLOCK) {
		size_t n = len - off < KURA_DETECT_SAMPLE ? len - off : KURA_DETECT_SAMPLE;
		uint32_t h[256];
		int rnd, txt;

		histogram(data + off, n, h);
		if (n < KURA_DETECT_MIN_BLOCK) {
			/* too short for the test, long enough to tell text (a small file) */
			if (offset + off == 0)
				out->first_text = is_text(h, n);
			break;
		}
		rnd = chi2_of(h, n) < KURA_DETECT_CHI2_RANDOM;
		txt = !rnd && is_text(h, n);
		out->blocks++;
		out->random += (uint32_t)rnd;
		out->text += (uint32_t)txt;
		if (offset + off == 0) {
			out->first_random = rnd;
			out->first_text = txt;
		}
	}
}

/* c is lower case already */
static int base32_letter(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

/*
 * Phrases of ransom notes, lower case.  Each counts once per file: one
 * word is ordinary prose, several together are a note.
 */
static const char *const ransom_phrases[] = {
    "encrypted",   "decrypt",	  "bitcoin",	"btc",		 "monero",	"ransom",
    "tor browser", "private key", "your files", "your data",	 "personal id", "recover your",
    " pay ",	   "wallet",	  "publish",	"do not rename",
};

void kura_detect_text_clues(const uint8_t *data, size_t len, kura_text_clues *out)
{
	static const char onion[] = ".onion";
	const size_t olen = sizeof(onion) - 1;
	uint8_t low[KURA_DETECT_CLUE_MAX];
	const uint8_t *p;

	/* one lower-case copy, then memmem (vectorised) per phrase: cheap beside the backup */
	if (len > sizeof(low))
		len = sizeof(low);
	for (size_t i = 0; i < len; i++) /* ASCII only, without the locale's function call */
		low[i] = (uint8_t)(data[i] | ((uint8_t)(data[i] - 'A') < 26 ? 0x20 : 0));
	for (p = low; (p = memmem(p, len - (size_t)(p - low), onion, olen)); p += olen) {
		size_t i = (size_t)(p - low), run = 0;

		while (run < i && base32_letter(low[i - 1 - run]))
			run++;
		/* v2 is 16 letters, v3 56; notes mangle them by a few (placeholders, typos) */
		if (run == 16 || (run >= 50 && run <= 60))
			out->onions++;
	}
	for (size_t k = 0; k < sizeof(ransom_phrases) / sizeof(*ransom_phrases); k++)
		if (memmem(low, len, ransom_phrases[k], strlen(ransom_phrases[k])))
			out->ransom_words++;
}
