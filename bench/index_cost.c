/* SPDX-License-Identifier: Apache-2.0 */
/*
 * index_cost.c - what the in-memory index (lib/repo/idmap.c) costs per chunk.
 *
 * Inserts N synthetic blob entries (default 10,000,000) with uniformly
 * random ids, as loading the index of a repository of N chunks does, then
 * prints the entries, the bytes the table has allocated, bytes per entry
 * (at the end, and the worst seen while the table grew from N/2 to N, which
 * covers a whole growth cycle of any scheme that grows by at most 2x), the
 * peak RSS of the process, and inserts and lookups per second of CPU time
 * (hits and misses; the best of three rounds).
 *
 *   make index-cost && build/bench/index_cost [N]
 *
 * Ids are regenerated from their ordinal rather than kept, so the process
 * holds little besides the index and the peak RSS is mostly the index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/buf.h"
#include "repo/idmap.h"

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The i-th id of stream `seed`: stream 1 is inserted, stream 2 never is. */
static void make_id(uint8_t id[KURA_HASH_SIZE], uint64_t seed, uint64_t i)
{
	uint64_t s = seed * 0xD1B54A32D192ED03ull ^ (i * 4);

	for (int k = 0; k < 4; k++)
		kura_le64(id + 8 * k, splitmix(&s));
}

static void make_loc(kura_blob_loc *loc, uint64_t i)
{
	uint64_t s = i;
	uint64_t r = splitmix(&s);

	make_id(loc->id, 1, i);
	loc->pack = (uint32_t)(i / 1000);
	loc->offset = KURA_PACK_HEADER_SIZE + (uint32_t)(r % 1000) * 1048576u;
	loc->raw_len = (uint32_t)(r >> 32) % (KURA_BLOB_MAX_RAW + 1);
	loc->flags = r & 1;
	loc->stored_len = loc->flags ? loc->raw_len / 2 + 28 : loc->raw_len + 28;
	loc->type = (r & 2) ? 1 : 2;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Lookups per second of CPU time, the best of three rounds (the machine may be shared). */
static double lookups(const kura_idmap *m, uint64_t seed, uint64_t n, uint64_t range,
		      size_t *found)
{
	uint8_t id[KURA_HASH_SIZE];
	kura_blob_loc loc;
	double best = 0;

	for (int round = 0; round < 3; round++) {
		uint64_t s = 42 + (uint64_t)round;
		double t0 = now(), rate;

		*found = 0;
		for (uint64_t i = 0; i < n; i++) {
			make_id(id, seed, splitmix(&s) % range);
			if (kura_idmap_get(&loc, m, id))
				(*found)++;
		}
		rate = (double)n / (now() - t0);
		if (rate > best)
			best = rate;
	}
	return best;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
	uint64_t nlook = n < 1000000 ? n : 1000000;
	kura_idmap *m = NULL;
	kura_blob_loc loc;
	struct rusage ru;
	double t0, ins, worst = 0, hit, miss;
	size_t hits, misses;
	int err;

	if (n == 0 || (err = kura_idmap_new(&m)) < 0)
		return fprintf(stderr, "usage: index_cost [N > 0]\n"), 2;
	t0 = now();
	for (uint64_t i = 0; i < n; i++) {
		make_loc(&loc, i);
		if ((err = kura_idmap_put(m, &loc)) < 0) {
			fprintf(stderr, "index_cost: put %llu failed: %d\n", (unsigned long long)i, err);
			return 1;
		}
		if (i + 1 >= n / 2) {
			double b = (double)kura_idmap_bytes(m) / (double)(i + 1);

			if (b > worst)
				worst = b;
		}
	}
	ins = (double)n / (now() - t0);
	hit = lookups(m, 1, nlook, n, &hits);
	miss = lookups(m, 2, nlook, n, &misses);
	getrusage(RUSAGE_SELF, &ru);

	printf("entries              %zu\n", kura_idmap_count(m));
	printf("bytes allocated      %zu\n", kura_idmap_bytes(m));
	printf("bytes per entry      %.2f\n", (double)kura_idmap_bytes(m) / (double)n);
	printf("worst bytes/entry    %.2f  (while growing from N/2 to N)\n", worst);
	printf("peak RSS             %.1f MiB  (%.2f bytes per entry)\n", ru.ru_maxrss / 1024.0,
	       ru.ru_maxrss * 1024.0 / (double)n);
	printf("inserts/s            %.0f\n", ins);
	printf("lookups/s, hits      %.0f  (%zu of %llu found)\n", hit, hits,
	       (unsigned long long)nlook);
	printf("lookups/s, misses    %.0f  (%zu of %llu found)\n", miss, misses,
	       (unsigned long long)nlook);
	kura_idmap_free(m);
	return hits == nlook && misses == 0 ? 0 : 1;
}
