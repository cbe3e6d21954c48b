/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_basestore.c - the client's copies of database pieces' bases
 * (lib/repo/basestore.h): slots and their plaintext across reopening, a
 * piece stored against its base, compaction of replaced bases, damage
 * that only loses slots, and the sweep of files no backup reads.
 */
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "common/buf.h"
#include "crypto/crypto.h"
#include "repo/basestore.h"

#define PIECE 16384
#define NPIECES 200

typedef struct {
	char dir[64];
	kura_basestore *s;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-basestore-XXXXXX");
	if (!mkdtemp(f->dir) || kura_basestore_open(&f->s, f->dir, "repo") < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	kura_basestore_free(f->s);
	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* Piece k of version v: random bytes (so a frame weighs what the piece does), and a fake id. */
static void piece(uint8_t *out, uint8_t id[KURA_HASH_SIZE], unsigned k, unsigned v)
{
	unsigned seed = k * 7919u + v * 104729u + 1;

	for (size_t i = 0; i < PIECE; i++) {
		seed = seed * 1103515245u + 12345u;
		out[i] = (uint8_t)(seed >> 16);
	}
	memset(id, 0, KURA_HASH_SIZE);
	memcpy(id, &k, sizeof(k));
	memcpy(id + 8, &v, sizeof(v));
}

/* The file of `path`'s bases with `suffix` (named by the path's SHA-256). */
static void file_of(char *out, size_t cap, const fixture *f, const char *path, const char *suffix)
{
	uint8_t digest[KURA_HASH_SIZE];
	char hex[2 * KURA_HASH_SIZE + 1];

	kura_sha256(digest, path, strlen(path));
	kura_hex(hex, digest, sizeof(digest));
	snprintf(out, cap, "%s/repo/bases/%s%s", f->dir, hex, suffix);
}

static off_t size_of(const fixture *f, const char *path, const char *suffix)
{
	char name[256];
	struct stat st;

	file_of(name, sizeof(name), f, path, suffix);
	assert_int_equal(stat(name, &st), 0);
	return st.st_size;
}

static void test_slots_and_compaction(void **state)
{
	fixture *f = *state;
	static uint8_t data[PIECE], got[PIECE];
	uint8_t id[KURA_HASH_SIZE];
	kura_basefile *b;
	kura_base_slot slot;

	/* three versions of every piece, each stored on its own: the first two become garbage */
	for (unsigned v = 0; v < 3; v++) {
		assert_ok(kura_basefile_open(&b, f->s, "/db/base/1/2"));
		for (unsigned k = 0; k < NPIECES; k++) {
			piece(data, id, k, v);
			assert_ok(kura_basefile_put(b, k, id, 0, data, PIECE, NULL, 0));
		}
		kura_basefile_close(b);
	}
	/* closed with two thirds of its frames replaced: compacted to the live ones */
	assert_true(size_of(f, "/db/base/1/2", ".dat") <= (off_t)NPIECES * (PIECE + 64));

	assert_ok(kura_basefile_open(&b, f->s, "/db/base/1/2"));
	for (unsigned k = 0; k < NPIECES; k++) {
		uint8_t want[KURA_HASH_SIZE];

		piece(data, want, k, 2);
		assert_int_equal(kura_basefile_get(b, k, &slot, got, sizeof(got)), 1);
		assert_memory_equal(slot.base_id, want, KURA_HASH_SIZE);
		assert_int_equal(slot.base_len, PIECE);
		assert_memory_equal(got, data, PIECE);
		assert_int_equal(slot.last_against, 0);
	}
	/* a base given as the frame the pack got: kept as it is, read back the same */
	{
		static uint8_t frame[PIECE + 1024];
		size_t n;

		memset(data, 'q', PIECE);
		memset(id, 0x77, KURA_HASH_SIZE);
		n = ZSTD_compress(frame, sizeof(frame), data, PIECE, 3);
		assert_false(ZSTD_isError(n));
		assert_ok(kura_basefile_put(b, 7, id, 0, data, PIECE, frame, n));
		assert_int_equal(kura_basefile_get(b, 7, &slot, got, sizeof(got)), 1);
		assert_memory_equal(slot.base_id, id, KURA_HASH_SIZE);
		assert_memory_equal(got, data, PIECE);
	}
	/* a piece stored against its base: the base stays, the last id changes */
	piece(data, id, 5, 9);
	assert_ok(kura_basefile_put(b, 5, id, 1, NULL, 0, NULL, 0));
	assert_int_equal(kura_basefile_get(b, 5, &slot, NULL, 0), 1);
	assert_int_equal(slot.last_against, 1);
	assert_memory_equal(slot.last_id, id, KURA_HASH_SIZE);
	assert_int_equal(kura_basefile_get(b, 5, &slot, got, sizeof(got)), 1);
	piece(data, id, 5, 2);
	assert_memory_equal(slot.base_id, id, KURA_HASH_SIZE);
	assert_memory_equal(got, data, PIECE);
	/* a piece never stored, one past the end, or a buffer too small: none */
	assert_int_equal(kura_basefile_get(b, NPIECES + 3, &slot, got, sizeof(got)), 0);
	assert_int_equal(kura_basefile_get(b, 1ull << 40, &slot, got, sizeof(got)), 0);
	assert_int_equal(kura_basefile_get(b, 1, &slot, got, 100), 0);
	/* against a slot that does not exist: nothing to keep */
	assert_ok(kura_basefile_put(b, NPIECES + 3, id, 1, NULL, 0, NULL, 0));
	assert_int_equal(kura_basefile_get(b, NPIECES + 3, &slot, NULL, 0), 0);
	kura_basefile_close(b);
}

static void test_damage(void **state)
{
	fixture *f = *state;
	static uint8_t data[PIECE], got[PIECE];
	uint8_t id[KURA_HASH_SIZE];
	kura_basefile *b;
	kura_base_slot slot;
	char path[256];
	int fd;

	assert_ok(kura_basefile_open(&b, f->s, "/db/x"));
	for (unsigned k = 0; k < 4; k++) {
		piece(data, id, k, 0);
		assert_ok(kura_basefile_put(b, k, id, 0, data, PIECE, NULL, 0));
	}
	kura_basefile_close(b);

	/* the data file cut short: the slots past its end are no more */
	file_of(path, sizeof(path), f, "/db/x", ".dat");
	assert_int_equal(truncate(path, PIECE), 0);
	assert_ok(kura_basefile_open(&b, f->s, "/db/x"));
	assert_int_equal(kura_basefile_get(b, 3, &slot, got, sizeof(got)), 0);
	kura_basefile_close(b);

	/* a header that is not ours: both files start again, empty */
	file_of(path, sizeof(path), f, "/db/x", ".idx");
	assert_true((fd = open(path, O_WRONLY)) >= 0);
	assert_int_equal(pwrite(fd, "JUNKJUNK", 8, 0), 8);
	close(fd);
	assert_ok(kura_basefile_open(&b, f->s, "/db/x"));
	assert_int_equal(kura_basefile_get(b, 0, &slot, NULL, 0), 0);
	kura_basefile_close(b);
}

static void test_sweep(void **state)
{
	fixture *f = *state;
	static uint8_t data[PIECE];
	uint8_t id[KURA_HASH_SIZE];
	struct timespec times[2] = {{0}, {0}};
	kura_basefile *b;
	char path[256];

	assert_ok(kura_basefile_open(&b, f->s, "/db/old"));
	piece(data, id, 0, 0);
	assert_ok(kura_basefile_put(b, 0, id, 0, data, PIECE, NULL, 0));
	kura_basefile_close(b);
	assert_ok(kura_basefile_open(&b, f->s, "/db/new"));
	kura_basefile_close(b);
	/* the old one last opened 40 days ago */
	file_of(path, sizeof(path), f, "/db/old", ".idx");
	times[0].tv_sec = times[1].tv_sec = time(NULL) - 40 * 86400;
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	kura_basestore_sweep(f->s, 30);
	assert_int_equal(access(path, F_OK), -1);
	file_of(path, sizeof(path), f, "/db/old", ".dat");
	assert_int_equal(access(path, F_OK), -1);
	file_of(path, sizeof(path), f, "/db/new", ".idx");
	assert_int_equal(access(path, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_slots_and_compaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
