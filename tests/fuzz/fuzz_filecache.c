/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_filecache.c - the client's file cache from hostile bytes.  A damaged
 * cache must be ignored (treated as empty), never crash or be trusted for
 * a file whose stat does not match.  The input is written as the cache of
 * a fixed repository id in a private directory, then opened and queried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repo/filecache.h"

#define REPO_ID "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	char path[160];
	kura_filecache *c = NULL;
	const kura_extent *ext;
	uint32_t count;
	struct stat st = {0};
	kura_filecache_prev prev;
	int known;
	FILE *f;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/kura-fuzz-cache-%d", (int)getpid());
		mkdir(dir, 0700);
		snprintf(path, sizeof(path), "%s/%s", dir, REPO_ID);
		mkdir(path, 0700);
	}
	snprintf(path, sizeof(path), "%s/%s/files", dir, REPO_ID);
	if (!(f = fopen(path, "wb")))
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (kura_filecache_open(&c, dir, REPO_ID) == 0) {
		/* the record the corpus files hold: must match only its own stat */
		st.st_dev = 1;
		st.st_ino = 2;
		st.st_size = 3;
		if (kura_filecache_lookup(c, "/a", &st, &ext, &count, &known) == 1) {
			uint64_t sum = 0;

			for (uint32_t i = 0; i < count; i++)
				sum += ext[i].len;
			(void)sum; /* reading every extent is what ASan checks */
		}
		/* the old record of a file that changed: what chunkchoice.c reads */
		st.st_size = 4;
		kura_filecache_lookup(c, "/a", &st, &ext, &count, &known);
		if (kura_filecache_previous(c, &prev) == 1) {
			uint64_t sum = 0;

			for (uint32_t i = 0; i < prev.count; i++)
				sum += prev.extents[i].len + prev.extents[i].id[31];
			(void)sum;
		}
		kura_filecache_lookup(c, "/missing", &st, &ext, &count, &known);
		kura_filecache_free(c);
	}
	return 0;
}
