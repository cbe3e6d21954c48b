/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chunker.c - FastCDC with normalized chunking, level 2 (docs/FORMAT.md,
 * "Chunking").
 *
 * The gear hash h = (h << 1) + gear[byte] forgets a byte after 64 steps:
 * the contribution of a byte j to h at position i is gear[byte] << (i - j),
 * which is zero mod 2^64 once i - j >= 64.  So h at any position i >= 63 is
 * a function of bytes i-63..i alone.  Because no boundary is considered
 * before `min` (>= 4 KiB), the scan can start at min - 64 with h = 0 and
 * produce exactly the h the spec defines (starting at 0) for every i >= min
 * - 1; the bytes before that are never read.  This is what makes the hot
 * loop cost about (chunk length - min) steps, and it is checked against a
 * byte-by-byte reference in tests/unit/test_chunker.c.
 *
 * A kura_chunker is immutable after kura_chunker_new(), so one may be
 * shared by any number of threads.
 */
#include "chunker/chunker.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"

#define CHUNK_MIN_LOW (4u * 1024)
#define CHUNK_AVG_LOW (16u * 1024)
#define CHUNK_AVG_HIGH (16u * 1024 * 1024)
#define CHUNK_MAX_HIGH (64u * 1024 * 1024)
#define GEAR_WINDOW 64

struct kura_chunker {
	uint64_t gear[256];
	uint64_t mask_s; /* before avg: harder to match */
	uint64_t mask_l; /* from avg on: easier */
	size_t min, avg, max;
};

int kura_chunker_params_check(const kura_chunker_params *p)
{
	if (p->min < CHUNK_MIN_LOW)
		return kura_error_set(KURA_EINVAL, "chunker: min %u is below 4 KiB", p->min);
	if (p->avg < CHUNK_AVG_LOW || p->avg > CHUNK_AVG_HIGH)
		return kura_error_set(KURA_EINVAL, "chunker: avg %u outside 16 KiB .. 16 MiB",
				      p->avg);
	if (p->avg & (p->avg - 1))
		return kura_error_set(KURA_EINVAL, "chunker: avg %u is not a power of two", p->avg);
	if (p->min >= p->avg)
		return kura_error_set(KURA_EINVAL, "chunker: min %u is not below avg %u", p->min,
				      p->avg);
	if (p->max <= p->avg)
		return kura_error_set(KURA_EINVAL, "chunker: max %u is not above avg %u", p->max,
				      p->avg);
	if (p->max > CHUNK_MAX_HIGH)
		return kura_error_set(KURA_EINVAL, "chunker: max %u is above 64 MiB", p->max);
	return 0;
}

int kura_chunker_params_small(kura_chunker_params *out, const kura_chunker_params *large)
{
	if (large->avg < 4 * KURA_CHUNK_SMALL_AVG)
		return 0;
	*out =
	    (kura_chunker_params){KURA_CHUNK_SMALL_MIN, KURA_CHUNK_SMALL_AVG, KURA_CHUNK_SMALL_MAX};
	return 1;
}

/* The 64-bit word with the top n bits set (1 <= n <= 63). */
static uint64_t top_mask(unsigned n)
{
	return ~UINT64_C(0) << (64 - n);
}

int kura_chunker_new(kura_chunker **out, const kura_chunker_params *p, const uint8_t seed[32])
{
	static const char label[] = "kura gear";
	kura_chunker *c = NULL;
	kura_mac *mac = NULL;
	uint8_t msg[sizeof(label)], digest[KURA_HASH_SIZE];
	unsigned bits = 0;
	int err;

	*out = NULL;
	if ((err = kura_chunker_params_check(p)) < 0)
		goto done;
	if (!(c = calloc(1, sizeof(*c)))) {
		err = kura_error_set(KURA_ENOMEM, "chunker: out of memory");
		goto done;
	}
	if ((err = kura_mac_new(&mac, seed)) < 0)
		goto done;
	/* "kura gear" without its NUL, then the byte */
	memcpy(msg, label, sizeof(label) - 1);
	for (unsigned i = 0; i < 256; i++) {
		msg[sizeof(label) - 1] = (uint8_t)i;
		if ((err = kura_mac_compute(mac, digest, msg, sizeof(msg))) < 0)
			goto done;
		c->gear[i] = kura_get_le64(digest);
	}
	while ((UINT32_C(1) << bits) < p->avg)
		bits++;
	c->mask_s = top_mask(bits + 2);
	c->mask_l = top_mask(bits - 2);
	c->min = p->min;
	c->avg = p->avg;
	c->max = p->max;
	*out = c;
	c = NULL;
done:
	kura_wipe(digest, sizeof(digest));
	kura_mac_free(mac);
	kura_chunker_free(c);
	return err;
}

void kura_chunker_free(kura_chunker *c)
{
	if (!c)
		return;
	kura_wipe(c->gear, sizeof(c->gear));
	free(c);
}

/*
 * Scan data[i..end) with hash h, returning the first i at which h & mask is
 * zero (after updating h with data[i]), or `end` if none.  *hp carries h in
 * and out.  Unrolled by eight: each step is one load, one shift-add and one
 * well-predicted branch.
 */
static inline size_t scan(const uint64_t *gear, const uint8_t *data, size_t i, size_t end,
			  uint64_t mask, uint64_t *hp)
{
	uint64_t h = *hp;

#define STEP                                        \
	do {                                        \
		h = (h << 1) + gear[data[i]];       \
		if (!(h & mask))                    \
			goto found;                 \
		i++;                                \
	} while (0)

	while (i + 8 <= end) {
		STEP; STEP; STEP; STEP;
		STEP; STEP; STEP; STEP;
	}
	while (i < end)
		STEP;
#undef STEP
	*hp = h;
	return end;
found:
	*hp = h;
	return i;
}

size_t kura_chunker_next(const kura_chunker *c, const uint8_t *data, size_t len, int eof)
{
	uint64_t h = 0;
	size_t i, end;

	if (len <= c->min)
		return eof ? len : 0;
	/* Warm up h over the 64 bytes before min; see the comment at the top. */
	for (i = c->min - GEAR_WINDOW; i < c->min; i++)
		h = (h << 1) + c->gear[data[i]];
	end = len < c->avg ? len : c->avg;
	i = scan(c->gear, data, c->min, end, c->mask_s, &h);
	if (i < end)
		return i + 1;
	if (end == len)
		goto need_more;
	end = len < c->max ? len : c->max;
	i = scan(c->gear, data, c->avg, end, c->mask_l, &h);
	if (i < end)
		return i + 1;
	if (end == c->max)
		return c->max;
need_more:
	return eof ? len : 0;
}
