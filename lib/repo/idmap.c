/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmap.c - the in-memory index as sorted shards of packed entries (see
 * idmap.h).
 *
 * The budget is 48 bytes per entry with everything counted, at the worst
 * moment of growth (issue 4; restic needs 56).  The information itself is
 * 32 bytes of id and 15 bytes of location, 47 in all, which rules out any
 * table with a load factor: a hash table of such slots would have to stay
 * above 98 % full even just after it grew.  So entries are kept full, in
 * sorted arrays, and the bytes that the position already says are dropped:
 *
 * - A directory of 2^depth slots, indexed by the leading `depth` bits of the
 *   id, describes shards.  As in extendible hashing, a shard of local depth
 *   d holds every id with one particular d-bit prefix and fills the 2^(depth
 *   - d) consecutive slots of that prefix, each holding a copy of its
 *   pointer and count (so a lookup goes straight from the slot to the
 *   entry, with no header to read first).  A shard that reaches SHARD_MAX
 *   entries is split in two by its next id bit, each half allocated to fit;
 *   the directory doubles only when a shard as deep as it splits, and then
 *   costs 16 bytes per 45-90 entries.  Growth is therefore one shard at a
 *   time: no step where the whole table is copied, no moment when memory
 *   doubles, and no slack beyond CAP_STEP - 1 entries per shard.
 *
 * - A shard is its entries sorted by id.  An entry stores the id without
 *   the depth / 8 leading bytes its shard implies (so 30 of 32 bytes from
 *   2^16 shards, about 6 million entries, on), the pack ordinal and offset
 *   as u32 (packs may be 4 GiB - 1 long), and in 56 bits the raw length,
 *   stored length, type and flags: the format bounds raw_len by 64 MiB and
 *   stored_len by 64 MiB + 28, which makes (2^26 + 1) * (2^26 + 29) length
 *   pairs, 53 bits as the mixed-radix number raw * (MAX_STORED + 1) +
 *   stored, and that number times the 9 pairs of type (0-2) and flags
 *   (0-2), plus the pair, is below 2^56.  So 45
 *   bytes per entry (46 below about 6 million entries, 47 below about 20
 *   thousand), and with the slack and the directory about 46 bytes per
 *   entry at 10 million entries, 47 at 1 million.  A value outside these
 *   bounds is refused (KURA_EINVAL), never truncated.
 *
 * - Lookup: one directory load, then an interpolation guess inside the
 *   shard (ids are uniform, so the bits after the shard's prefix say where
 *   an id falls, within a few entries), then a short scan from the guess,
 *   and a binary search if the scan did not settle it, which keeps the cost
 *   logarithmic when ids are not uniform (the map then only gets slower).
 *   The full 32-byte id is compared: the archiver's dedup decision rests on
 *   it, so there are no fingerprints and no false positives.
 *
 * What the compactness costs: an insert moves the tail of one shard (about
 * 2 KiB), and a lookup reads a directory slot before the entry, so at 10
 * million entries lookups are 1.5-2x and inserts 2.5x slower than the
 * 52-byte hash table this replaced (bench/index_cost.c), though still well
 * under a microsecond.  Not chosen: a hash table of compact slots (its load
 * factor alone breaks the budget), a shorter id in memory (the dedup
 * decision would then depend on a verification elsewhere), pack ordinals
 * narrower than u32 (a limit the format does not have).
 *
 * Invariants: entries are never removed; a shard's entries are all the ids
 * with its prefix, in strictly increasing order; every slot of a prefix
 * holds the same copy of its shard.
 */
#include "repo/idmap.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"

#define SHARD_MAX 128     /* a shard that holds this many entries is split before it grows */
#define CAP_STEP 4        /* a shard has room for its entries rounded up to this */
#define SCAN 8            /* entries scanned from the guess before a binary search */
#define MAX_DEPTH 30      /* leading id bits a directory may index */
#define DIR_PER_ENTRY 16  /* at most one directory slot per this many entries */
/* type and flags pairs */
#define KINDS ((KURA_IDMAP_MAX_TYPE + 1) * (KURA_IDMAP_MAX_FLAGS + 1))
#define TAIL 15           /* pack, offset, and the 56-bit lengths, type and flags */
#define LEN_RADIX ((uint64_t)KURA_IDMAP_MAX_STORED + 1)
_Static_assert(((uint64_t)KURA_IDMAP_MAX_RAW * LEN_RADIX + LEN_RADIX) * KINDS <= (uint64_t)1 << 56,
	       "lengths, type and flags fit in 56 bits");

/*
 * A directory slot: a shard.  Every slot of a shard holds the same copy, so
 * a lookup reads the entry count without touching the shard's memory twice.
 */
typedef struct {
	uint8_t *rec;      /* n entries of stride(depth) bytes, sorted; NULL if none */
	uint32_t n;
	uint8_t depth;     /* leading id bits that every entry here shares */
} shard;

struct kura_idmap {
	shard *dir;        /* 1 << depth slots */
	unsigned depth;
	size_t count;
	size_t bytes;      /* allocated for dir and entries */
};

static unsigned skip_of(unsigned depth) { return depth / 8; }

static unsigned stride_of(unsigned depth) { return KURA_HASH_SIZE - skip_of(depth) + TAIL; }

static size_t cap_of(size_t n) { return (n + CAP_STEP - 1) / CAP_STEP * CAP_STEP; }

static size_t rec_size(size_t n, unsigned depth) { return cap_of(n) * stride_of(depth); }

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static size_t slot_of(const kura_idmap *m, const uint8_t *id)
{
	return m->depth ? (size_t)(get_be64(id) >> (64 - m->depth)) : 0;
}

/* The slots of the shard of depth d that fills `slot`: the first and how many. */
static size_t group_of(const kura_idmap *m, unsigned d, size_t slot, size_t *width)
{
	*width = (size_t)1 << (m->depth - d);
	return slot & ~(*width - 1);
}

/* Store s in every slot of its group. */
static void set_group(kura_idmap *m, size_t slot, const shard *s)
{
	size_t width, first = group_of(m, s->depth, slot, &width);

	for (size_t i = 0; i < width; i++)
		m->dir[first + i] = *s;
}

/* -------------------------------------------------------------------- */
/* Entries                                                              */

static int check_loc(const kura_blob_loc *loc)
{
	const char *field = NULL;
	unsigned value = 0, max = 0;
	char hex[17];

	if (loc->type > KURA_IDMAP_MAX_TYPE)
		field = "type", value = loc->type, max = KURA_IDMAP_MAX_TYPE;
	else if (loc->flags > KURA_IDMAP_MAX_FLAGS)
		field = "flags", value = loc->flags, max = KURA_IDMAP_MAX_FLAGS;
	else if (loc->raw_len > KURA_IDMAP_MAX_RAW)
		field = "raw length", value = loc->raw_len, max = KURA_IDMAP_MAX_RAW;
	else if (loc->stored_len > KURA_IDMAP_MAX_STORED)
		field = "stored length", value = loc->stored_len, max = KURA_IDMAP_MAX_STORED;
	if (!field)
		return 0;
	kura_hex(hex, loc->id, 8);
	return kura_error_set(KURA_EINVAL, "index entry %s…: %s %u exceeds the limit %u", hex, field,
			      value, max);
}

static void encode(uint8_t *rec, const kura_blob_loc *loc, unsigned skip)
{
	size_t idlen = KURA_HASH_SIZE - skip;
	uint64_t v = ((uint64_t)loc->raw_len * LEN_RADIX + loc->stored_len) * KINDS +
		     (uint64_t)loc->type * (KURA_IDMAP_MAX_FLAGS + 1) + loc->flags;

	memcpy(rec, loc->id + skip, idlen);
	kura_le32(rec + idlen, loc->pack);
	kura_le32(rec + idlen + 4, loc->offset);
	for (int i = 0; i < 7; i++)
		rec[idlen + 8 + i] = (uint8_t)(v >> (8 * i));
}

/* The entry at rec, whose first `skip` id bytes are those of prefix. */
static void decode(kura_blob_loc *out, const uint8_t *rec, const uint8_t *prefix, unsigned skip)
{
	size_t idlen = KURA_HASH_SIZE - skip;
	uint64_t v = 0, lens;

	memcpy(out->id, prefix, skip);
	memcpy(out->id + skip, rec, idlen);
	out->pack = kura_get_le32(rec + idlen);
	out->offset = kura_get_le32(rec + idlen + 4);
	for (int i = 0; i < 7; i++)
		v |= (uint64_t)rec[idlen + 8 + i] << (8 * i);
	out->type = (uint8_t)(v % KINDS / (KURA_IDMAP_MAX_FLAGS + 1));
	out->flags = (uint8_t)(v % KINDS % (KURA_IDMAP_MAX_FLAGS + 1));
	lens = v / KINDS;
	out->raw_len = (uint32_t)(lens / LEN_RADIX);
	out->stored_len = (uint32_t)(lens % LEN_RADIX);
}

/* -------------------------------------------------------------------- */
/* Search                                                               */

/* Entry i of s against id; key is the 8 id bytes from skip on, big-endian. */
static inline int cmp_at(const uint8_t *rec, unsigned stride, unsigned skip, size_t i,
			 const uint8_t *id, uint64_t key)
{
	const uint8_t *r = rec + i * stride;
	uint64_t k = get_be64(r);

	if (k != key)
		return k < key ? -1 : 1;
	return memcmp(r + 8, id + skip + 8, KURA_HASH_SIZE - skip - 8);
}

/*
 * Where id is or would go in s: the index of the first entry not below it,
 * and *found if that entry is id.  Ids are uniform, so the bits after the
 * shard's prefix say where id falls, give or take sqrt(n) / 2 entries: a
 * short scan from that guess finds it, and a binary search takes over for
 * ids that are not uniform.  Every entry below lo is below id, every entry
 * from hi on is above it.
 */
static size_t search(const shard *s, const uint8_t *id, bool *found)
{
	size_t n = s->n, lo = 0, hi = n, g, j;
	unsigned skip = skip_of(s->depth), stride = stride_of(s->depth);
	const uint8_t *rec = s->rec;
	uint64_t key;
	int c;

	*found = false;
	if (n == 0)
		return 0;
	key = get_be64(id + skip);
	g = (size_t)((((key << (s->depth - 8 * skip)) >> 32) * n) >> 32);
	if ((c = cmp_at(rec, stride, skip, g, id, key)) == 0)
		goto hit;
	if (c < 0) {
		for (lo = j = g + 1; j < n && j <= g + SCAN; lo = ++j) {
			if (cmp_at(rec, stride, skip, j, id, key) >= 0) {
				hi = j;
				break;
			}
		}
	} else {
		for (hi = j = g; j > 0 && j + SCAN >= g; hi = --j) {
			if (cmp_at(rec, stride, skip, j - 1, id, key) < 0) {
				lo = j;
				break;
			}
		}
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_at(rec, stride, skip, mid, id, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && cmp_at(rec, stride, skip, lo, id, key) == 0) {
		g = lo;
		goto hit;
	}
	return lo;
hit:
	*found = true;
	return g;
}

/* -------------------------------------------------------------------- */
/* Growth                                                               */

static int no_memory(const kura_idmap *m)
{
	return kura_error_set(KURA_ENOMEM, "out of memory for an index of %zu entries", m->count);
}

/* Double the directory if the limits allow: 1 if done, 0 if not, or an error. */
static int grow_dir(kura_idmap *m)
{
	size_t n = (size_t)1 << m->depth;
	shard *dir;

	if (m->depth >= MAX_DEPTH || 2 * n > m->count / DIR_PER_ENTRY)
		return 0;
	if (!(dir = malloc(2 * n * sizeof(*dir))))
		return no_memory(m);
	for (size_t i = 0; i < n; i++)
		dir[2 * i] = dir[2 * i + 1] = m->dir[i];
	free(m->dir);
	m->dir = dir;
	m->depth++;
	m->bytes += n * sizeof(*dir);
	return 1;
}

/* Copy n entries, dropping the leading id bytes the destination implies. */
static void move_entries(uint8_t *dst, unsigned dstride, const uint8_t *src, unsigned sstride,
			 size_t n)
{
	if (n == 0)
		return;
	if (dstride == sstride) {
		memmove(dst, src, n * dstride);
		return;
	}
	for (size_t i = 0; i < n; i++)
		memmove(dst + i * dstride, src + i * sstride + (sstride - dstride), dstride);
}

/*
 * Split the shard that fills `slot` by its next id bit into two shards
 * allocated to fit.  1 if split, 0 if the limits forbid it, or an error
 * with the shard unchanged.
 */
static int split(kura_idmap *m, size_t slot)
{
	shard s = m->dir[slot], lo, hi;
	unsigned d = s.depth, bit = 7 - d % 8, stride = stride_of(d);
	size_t a = 0, b = s.n;
	int err;

	if (d >= MAX_DEPTH)
		return 0;
	if (d == m->depth) {
		if ((err = grow_dir(m)) <= 0)
			return err;
		slot *= 2;
	}
	/* Bit d is in the first stored byte; entries with it clear come first. */
	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if ((s.rec[mid * stride] >> bit) & 1)
			b = mid;
		else
			a = mid + 1;
	}
	lo = (shard){NULL, (uint32_t)a, (uint8_t)(d + 1)};
	hi = (shard){NULL, (uint32_t)(s.n - a), (uint8_t)(d + 1)};
	if ((lo.n && !(lo.rec = malloc(rec_size(lo.n, d + 1)))) ||
	    (hi.n && !(hi.rec = malloc(rec_size(hi.n, d + 1))))) {
		free(lo.rec);
		return no_memory(m);
	}
	move_entries(lo.rec, stride_of(d + 1), s.rec, stride, lo.n);
	move_entries(hi.rec, stride_of(d + 1), s.rec + a * stride, stride, hi.n);
	m->bytes += rec_size(lo.n, d + 1) + rec_size(hi.n, d + 1);
	m->bytes -= rec_size(s.n, d);
	free(s.rec);
	/* The group of s is the groups of lo and then of hi. */
	set_group(m, slot & ~((size_t)1 << (m->depth - d - 1)), &lo);
	set_group(m, slot | ((size_t)1 << (m->depth - d - 1)), &hi);
	return 1;
}

static int insert_at(kura_idmap *m, size_t slot, size_t i, const kura_blob_loc *loc)
{
	shard s = m->dir[slot];
	size_t stride = stride_of(s.depth);

	if (s.n == UINT32_MAX)
		return kura_error_set(KURA_ENOMEM, "index: too many entries share a prefix");
	if (cap_of(s.n + 1) > cap_of(s.n)) {
		uint8_t *rec = realloc(s.rec, rec_size(s.n + 1, s.depth));

		if (!rec)
			return no_memory(m);
		m->bytes += rec_size(s.n + 1, s.depth) - rec_size(s.n, s.depth);
		s.rec = rec;
	}
	memmove(s.rec + (i + 1) * stride, s.rec + i * stride, (s.n - i) * stride);
	encode(s.rec + i * stride, loc, skip_of(s.depth));
	s.n++;
	set_group(m, slot, &s);
	m->count++;
	return 0;
}

/* -------------------------------------------------------------------- */
/* API                                                                  */

int kura_idmap_new(kura_idmap **out)
{
	kura_idmap *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m || !(m->dir = calloc(1, sizeof(*m->dir)))) {
		free(m);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	m->bytes = sizeof(*m->dir);
	*out = m;
	return 0;
}

void kura_idmap_free(kura_idmap *m)
{
	size_t nslots;

	if (!m)
		return;
	nslots = (size_t)1 << m->depth;
	for (size_t slot = 0, width; slot < nslots; slot += width) {
		group_of(m, m->dir[slot].depth, slot, &width);
		free(m->dir[slot].rec);
	}
	free(m->dir);
	free(m);
}

size_t kura_idmap_count(const kura_idmap *m) { return m->count; }

size_t kura_idmap_bytes(const kura_idmap *m) { return sizeof(*m) + m->bytes; }

bool kura_idmap_get(kura_blob_loc *out, const kura_idmap *m, const uint8_t id[KURA_HASH_SIZE])
{
	const shard *s = &m->dir[slot_of(m, id)];
	bool found;
	size_t i = search(s, id, &found);

	if (found && out)
		decode(out, s->rec + i * stride_of(s->depth), id, skip_of(s->depth));
	return found;
}

int kura_idmap_put(kura_idmap *m, const kura_blob_loc *loc)
{
	size_t slot, i;
	shard *s;
	bool found;
	int err;

	if ((err = check_loc(loc)) < 0)
		return err;
	for (;;) {
		slot = slot_of(m, loc->id);
		s = &m->dir[slot];
		i = search(s, loc->id, &found);
		if (found) {
			encode(s->rec + i * stride_of(s->depth), loc, skip_of(s->depth));
			return 0;
		}
		if (s->n < SHARD_MAX || (err = split(m, slot)) == 0)
			break;
		if (err < 0)
			return err;
	}
	return insert_at(m, slot, i, loc);
}

int kura_idmap_each(const kura_idmap *m, int (*fn)(const kura_blob_loc *loc, void *ctx), void *ctx)
{
	size_t nslots = (size_t)1 << m->depth;

	for (size_t slot = 0, width; slot < nslots; slot += width) {
		const shard *s = &m->dir[slot];
		unsigned skip = skip_of(s->depth), stride = stride_of(s->depth);
		uint8_t prefix[8];

		group_of(m, s->depth, slot, &width);
		/* The slot number is the ids' leading bits, which include the bytes not stored. */
		put_be64(prefix, m->depth ? (uint64_t)slot << (64 - m->depth) : 0);
		for (size_t i = 0; i < s->n; i++) {
			kura_blob_loc loc;
			int rc;

			decode(&loc, s->rec + i * stride, prefix, skip);
			if ((rc = fn(&loc, ctx)) != 0)
				return rc;
		}
	}
	return 0;
}
