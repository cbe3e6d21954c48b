/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_keyless.c - what a store without a key refuses
 * (kura_keyless_validate): for every file type, files from the real
 * encoders pass, each plaintext field broken is refused with a message
 * naming it, every truncation is judged exactly as the format allows, and
 * every file of the golden repository and of a fresh backup passes.
 */
#include "testutil.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "format/config.h"
#include "format/indexfile.h"
#include "format/pack.h"
#include "format/snapshot.h"
#include "kura/keyless.h"

#define PASSPHRASE "correct horse battery staple keyless"

static kura_keys restore_keys, backup_keys;

static int setup(void **state)
{
	assert_ok(kura_crypto_init());
	assert_ok(kura_keys_generate(&restore_keys));
	kura_keys_to_backup(&backup_keys, &restore_keys);
	return 0;
}

static int teardown(void **state)
{
	kura_keys_wipe(&restore_keys);
	kura_keys_wipe(&backup_keys);
	return 0;
}

static void expect_ok(kura_file_type t, const uint8_t *data, size_t len)
{
	assert_ok(kura_keyless_validate(t, data, len));
}

static void expect_refused(kura_file_type t, const uint8_t *data, size_t len, const char *msg)
{
	int rc = kura_keyless_validate(t, data, len);

	if (rc >= 0 || !strstr(kura_error_message(), msg)) {
		print_error("type %d, %zu bytes: got %d \"%s\", expected a refusal naming \"%s\"\n",
			    (int)t, len, rc, rc < 0 ? kura_error_message() : "", msg);
		fail();
	}
}

/* A copy of `data` with `n` bytes at `off` replaced by `with`, then refused. */
static void expect_broken(kura_file_type t, const uint8_t *data, size_t len, size_t off,
			  const void *with, size_t n, const char *msg)
{
	uint8_t *copy = malloc(len);

	assert_non_null(copy);
	memcpy(copy, data, len);
	memcpy(copy + off, with, n);
	expect_refused(t, copy, len, msg);
	free(copy);
}

static void expect_broken_u8(kura_file_type t, const uint8_t *data, size_t len, size_t off,
			     uint8_t v, const char *msg)
{
	expect_broken(t, data, len, off, &v, 1, msg);
}

static void expect_broken_le32(kura_file_type t, const uint8_t *data, size_t len, size_t off,
			       uint32_t v, const char *msg)
{
	uint8_t b[4];

	kura_le32(b, v);
	expect_broken(t, data, len, off, b, 4, msg);
}

static void expect_broken_le64(kura_file_type t, const uint8_t *data, size_t len, size_t off,
			       uint64_t v, const char *msg)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	expect_broken(t, data, len, off, b, 8, msg);
}

/*
 * Each prefix of `data` passes exactly when `ok` says the format allows it
 * (NULL: none does); a refusal names `what`.
 */
static void check_truncations(kura_file_type t, const uint8_t *data, size_t len, const char *what,
			      int (*ok)(size_t len, size_t full))
{
	for (size_t l = 0; l < len; l++) {
		int rc = kura_keyless_validate(t, data, l);

		if (ok && ok(l, len)) {
			if (rc != 0)
				print_error("%s cut to %zu: %s\n", what, l, kura_error_message());
			assert_int_equal(rc, 0);
			continue;
		}
		if (rc >= 0 || !strstr(kura_error_message(), what)) {
			print_error("%s cut to %zu: got %d \"%s\"\n", what, l, rc,
				    rc < 0 ? kura_error_message() : "");
			fail();
		}
	}
}

/* -------------------------------------------------------------------- */
/* Config                                                                */

static void test_config(void **state)
{
	kura_config c;
	uint8_t data[KURA_CONFIG_SIZE + 1];

	memset(&c, 0, sizeof(c));
	memcpy(c.repo_id, restore_keys.repo_id, 32);
	memcpy(c.repo_pk, restore_keys.repo_pk, KURA_PUBKEY_SIZE);
	c.chunker.min = 256 << 10;
	c.chunker.avg = 1 << 20;
	c.chunker.max = 4 << 20;
	c.pack_size = 16 << 20;
	c.compression = KURA_COMPRESS_ZSTD;
	c.level = 3;
	kura_config_encode(data, &c);
	data[KURA_CONFIG_SIZE] = 0;
	expect_ok(KURA_FILE_CONFIG, data, KURA_CONFIG_SIZE);

	expect_refused(KURA_FILE_CONFIG, data, 0, "config: empty file");
	expect_refused(KURA_FILE_CONFIG, data, KURA_CONFIG_SIZE + 1,
		       "config: 97 bytes, expected 96");
	expect_broken_u8(KURA_FILE_CONFIG, data, 96, 0, 'k', "config: bad magic");
	expect_broken_u8(KURA_FILE_CONFIG, data, 96, 8, 2, "config: format version 2");
	expect_broken_u8(KURA_FILE_CONFIG, data, 96, 10, 1, "config: reserved");
	expect_broken_u8(KURA_FILE_CONFIG, data, 96, 95, 1, "config: reserved");
	expect_broken_le32(KURA_FILE_CONFIG, data, 96, 76, 1024, "min 1024 is below 4 KiB");
	expect_broken_le32(KURA_FILE_CONFIG, data, 96, 80, 3 << 20, "avg 3145728 is not a power");
	expect_broken_le32(KURA_FILE_CONFIG, data, 96, 84, 128 << 20, "max 134217728 is above");
	expect_broken_le32(KURA_FILE_CONFIG, data, 96, 88, 1000, "config: pack_size 1000");
	expect_broken_u8(KURA_FILE_CONFIG, data, 96, 92, 2, "config: unknown compression 2");
	expect_broken_u8(KURA_FILE_CONFIG, data, 96, 93, 20, "config: zstd level 20");
	check_truncations(KURA_FILE_CONFIG, data, KURA_CONFIG_SIZE, "config", NULL);
}

/* -------------------------------------------------------------------- */
/* Key files                                                             */

static void test_key(void **state)
{
	uint8_t *rk = NULL, *bk = NULL;
	size_t rlen = 0, blen = 0;

	assert_ok(kura_keyfile_encode_restore(&rk, &rlen, &restore_keys, PASSPHRASE,
					      KURA_KDF_INTERACTIVE));
	assert_int_equal(rlen, 276);
	expect_ok(KURA_FILE_KEY, rk, rlen);

	/* A backup key is well formed but must never be stored: its secrets are plaintext. */
	assert_ok(kura_keyfile_encode_backup(&bk, &blen, &restore_keys));
	expect_refused(KURA_FILE_KEY, bk, blen, "key file: kind 2 is a backup key");

	expect_refused(KURA_FILE_KEY, rk, 0, "key file: empty file");
	expect_broken_u8(KURA_FILE_KEY, rk, rlen, 3, 'x', "key file: bad magic");
	expect_broken_u8(KURA_FILE_KEY, rk, rlen, 8, 2, "key file: version 2");
	expect_broken_u8(KURA_FILE_KEY, rk, rlen, 9, 3, "key file: unknown kind 3");
	expect_broken_u8(KURA_FILE_KEY, rk, rlen, 9, 2,
			 "backup key file: length 276, expected 204");
	expect_broken_u8(KURA_FILE_KEY, rk, rlen, 11, 1, "key file: reserved bytes 10..11");
	expect_broken_le64(KURA_FILE_KEY, rk, rlen, 92, 0, "restore key: opslimit 0");
	expect_broken_le64(KURA_FILE_KEY, rk, rlen, 92, 11, "restore key: opslimit 11");
	expect_broken_le64(KURA_FILE_KEY, rk, rlen, 100, 1 << 20, "restore key: memlimit 1048576");
	expect_broken_le64(KURA_FILE_KEY, rk, rlen, 100, (uint64_t)2 << 30,
			   "restore key: memlimit");
	check_truncations(KURA_FILE_KEY, rk, rlen, "key file", NULL);
	/* The wrapped secrets cannot be judged without the passphrase. */
	rk[200] ^= 1;
	expect_ok(KURA_FILE_KEY, rk, rlen);
	free(rk);
	free(bk);
}

/* -------------------------------------------------------------------- */
/* Snapshots                                                             */

#define SNAP_PACKS 3

static uint8_t *make_snapshot(size_t *out_len, size_t npacks)
{
	static uint8_t packs[SNAP_PACKS][KURA_HASH_SIZE];
	static char *paths[] = {"/etc"};
	kura_snapshot s;
	uint8_t *data = NULL, name[KURA_HASH_SIZE];

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < SNAP_PACKS; i++)
		memset(packs[i], 0x20 * (i + 1), KURA_HASH_SIZE);
	s.time_ns = 1795638667LL * 1000000000LL;
	s.packs = packs;
	s.npacks = npacks;
	memset(s.tree, 0xab, KURA_HASH_SIZE);
	s.hostname = "web1";
	s.username = "root";
	s.paths = paths;
	s.npaths = 1;
	s.program = "kura 0.1.0";
	assert_ok(kura_snapshot_encode(&data, out_len, name, &backup_keys, &s));
	return data;
}

/* Header 24, names, sealed key 80: the rest is the AEAD box (>= 28 bytes). */
static int snapshot_prefix_ok(size_t len, size_t full)
{
	return len >= 24 + 32 * SNAP_PACKS + 80 + 28;
}

static void test_snapshot(void **state)
{
	const size_t names = 24, body = 24 + 32 * SNAP_PACKS + 80;
	uint8_t *data, *empty, *big;
	size_t len, elen, blen;

	data = make_snapshot(&len, SNAP_PACKS);
	empty = make_snapshot(&elen, 0);
	expect_ok(KURA_FILE_SNAPSHOT, data, len);
	expect_ok(KURA_FILE_SNAPSHOT, empty, elen);

	expect_refused(KURA_FILE_SNAPSHOT, data, 0, "snapshot: empty file");
	expect_broken_u8(KURA_FILE_SNAPSHOT, data, len, 4, 'x', "snapshot: bad magic");
	expect_broken_u8(KURA_FILE_SNAPSHOT, data, len, 8, 3, "snapshot: version 3");
	expect_broken_u8(KURA_FILE_SNAPSHOT, data, len, 11, 1, "snapshot: reserved");
	expect_broken_le32(KURA_FILE_SNAPSHOT, data, len, 20, (1u << 24) + 1,
			   "snapshot: pack count 16777217 exceeds 16777216");
	expect_broken_le32(KURA_FILE_SNAPSHOT, data, len, 20, 1000, "reading pack names");
	/* As many names as fit, leaving no room for the sealed key. */
	expect_broken_le32(KURA_FILE_SNAPSHOT, data, len, 20, (uint32_t)((len - 24) / 32),
			   "reading sealed key");
	/* Names sorted and unique. */
	expect_broken(KURA_FILE_SNAPSHOT, data, len, names, data + names + 64, 32,
		      "snapshot: pack name 1 is not sorted");
	expect_broken(KURA_FILE_SNAPSHOT, data, len, names + 32, data + names, 32,
		      "snapshot: pack name 1 is not sorted");
	expect_broken(KURA_FILE_SNAPSHOT, data, len, names + 64, data + names + 32, 32,
		      "snapshot: pack name 2 is not sorted");
	/* The body: at least the AEAD's 28 bytes, at most 16 MiB more. */
	expect_refused(KURA_FILE_SNAPSHOT, data, body + 27,
		       "snapshot: encrypted body of 27 bytes out of range");
	blen = body + 28 + (16u << 20) + 1;
	big = calloc(1, blen);
	assert_non_null(big);
	memcpy(big, data, body);
	expect_refused(KURA_FILE_SNAPSHOT, big, blen, "snapshot: encrypted body of 16777245 bytes");
	expect_ok(KURA_FILE_SNAPSHOT, big, blen - 1);
	free(big);
	/* A random body behind a valid header cannot be judged without a key. */
	kura_random(data + body, len - body);
	expect_ok(KURA_FILE_SNAPSHOT, data, len);

	check_truncations(KURA_FILE_SNAPSHOT, data, len, "snapshot", snapshot_prefix_ok);
	free(data);
	free(empty);
}

/* -------------------------------------------------------------------- */
/* Index files                                                           */

#define INDEX_PACKS 2
#define INDEX_RECORDS 3

static uint8_t *make_index(size_t *out_len, size_t nrecords)
{
	static uint8_t packs[INDEX_PACKS][KURA_HASH_SIZE];
	kura_index_record records[INDEX_RECORDS];
	kura_indexfile idx;
	uint8_t *data = NULL, name[KURA_HASH_SIZE];

	memset(records, 0, sizeof(records));
	for (int i = 0; i < INDEX_PACKS; i++)
		memset(packs[i], 0x10 + i, KURA_HASH_SIZE);
	for (int i = 0; i < INDEX_RECORDS; i++) {
		records[i].pack = (uint32_t)(i % INDEX_PACKS);
		records[i].blob.type = KURA_BLOB_DATA;
		kura_random(records[i].blob.id, KURA_HASH_SIZE);
		records[i].blob.raw_len = 100;
		records[i].blob.stored_len = 128;
		records[i].blob.offset = KURA_PACK_HEADER_SIZE + 128u * (uint32_t)(i / 2);
	}
	idx.packs = packs;
	idx.npacks = INDEX_PACKS;
	idx.records = records;
	idx.nrecords = nrecords;
	assert_ok(kura_indexfile_encode(&data, out_len, name, &backup_keys, &idx));
	return data;
}

static int index_prefix_ok(size_t len, size_t full)
{
	size_t box = 48 + 32 * INDEX_PACKS;

	return len >= box + 32 && (len - box - 32) % 52 == 0;
}

/* A sparse file of `size` bytes starting with `head`, validated through its descriptor. */
static int validate_sparse(kura_file_type t, const uint8_t *head, size_t hlen, const uint8_t *tail,
			   size_t tlen, uint64_t size)
{
	char path[] = "/tmp/kura-test-keyless-XXXXXX";
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	assert_int_equal(pwrite(fd, head, hlen, 0), (ssize_t)hlen);
	if (tlen)
		assert_int_equal(pwrite(fd, tail, tlen, (off_t)(size - tlen)), (ssize_t)tlen);
	rc = kura_keyless_validate_fd(t, fd);
	close(fd);
	return rc;
}

static void test_index(void **state)
{
	const size_t box = 48 + 32 * INDEX_PACKS;
	uint8_t *data, *none;
	size_t len, nlen;
	uint64_t huge;

	data = make_index(&len, INDEX_RECORDS);
	none = make_index(&nlen, 0);
	assert_int_equal(len, box + 32 + 52 * INDEX_RECORDS);
	expect_ok(KURA_FILE_INDEX, data, len);
	expect_ok(KURA_FILE_INDEX, none, nlen);

	expect_refused(KURA_FILE_INDEX, data, 0, "index: empty file");
	expect_broken_u8(KURA_FILE_INDEX, data, len, 0, 'k', "index: bad magic");
	expect_broken_u8(KURA_FILE_INDEX, data, len, 8, 2, "index: version 2");
	expect_broken_u8(KURA_FILE_INDEX, data, len, 9, 1, "index: reserved");
	expect_broken_le32(KURA_FILE_INDEX, data, len, 44, 0,
			   "index: pack count 0 out of range (1..1048576)");
	expect_broken_le32(KURA_FILE_INDEX, data, len, 44, (1u << 20) + 1,
			   "index: pack count 1048577 out of range");
	expect_broken_le32(KURA_FILE_INDEX, data, len, 44, 100, "reading pack names");
	expect_broken_le32(KURA_FILE_INDEX, data, len, 44, 3,
			   "index: encrypted records of 124 bytes are not whole 52-byte records");
	expect_refused(KURA_FILE_INDEX, data, box + 31,
		       "index: truncated: 31 bytes left for the encrypted records");
	expect_refused(KURA_FILE_INDEX, data, len - 1, "are not whole 52-byte records");
	/* A random encrypted part of the right length cannot be judged without a key. */
	kura_random(data + box, len - box);
	expect_ok(KURA_FILE_INDEX, data, len);

	/* 2^26 records fit the format; one more does not (sparse files, never read). */
	huge = box + 32 + 52ull * (1u << 26);
	assert_int_equal(validate_sparse(KURA_FILE_INDEX, data, box, NULL, 0, huge), 0);
	assert_true(validate_sparse(KURA_FILE_INDEX, data, box, NULL, 0, huge + 52) < 0);
	assert_non_null(strstr(kura_error_message(), "index: 67108865 records exceed 67108864"));

	check_truncations(KURA_FILE_INDEX, data, len, "index", index_prefix_ok);
	free(data);
	free(none);
}

/* -------------------------------------------------------------------- */
/* Packs                                                                 */

static uint8_t *make_pack(size_t *out_len, size_t nblobs)
{
	kura_pack_writer *w = NULL;
	const kura_pack_entry *entries;
	const uint8_t *data;
	uint8_t name[KURA_HASH_SIZE], id[KURA_HASH_SIZE], plain[100], *copy;
	size_t len, count, stored;

	assert_ok(kura_pack_writer_new(&w, &backup_keys));
	for (size_t i = 0; i < nblobs; i++) {
		memset(plain, (int)i, sizeof(plain));
		kura_random(id, sizeof(id));
		assert_ok(kura_pack_writer_add_plain(w, KURA_BLOB_DATA, id, plain, sizeof(plain),
						     i % 2 ? 3 : 0, &stored));
	}
	assert_ok(kura_pack_writer_finish(w, &data, &len, name, &entries, &count));
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, data, len);
	kura_pack_writer_free(w);
	*out_len = len;
	return copy;
}

static void test_pack(void **state)
{
	uint8_t *data, *empty, *grown, footer[12];
	size_t len, elen, tlen;

	data = make_pack(&len, 3);
	empty = make_pack(&elen, 0);
	assert_int_equal(elen, 124 + 32 + 12);
	expect_ok(KURA_FILE_PACK, data, len);
	expect_ok(KURA_FILE_PACK, empty, elen);
	tlen = kura_get_le32(data + len - 12);
	assert_int_equal(tlen, 32 + 3 * 48);

	expect_refused(KURA_FILE_PACK, data, 0, "pack: empty file");
	expect_broken_u8(KURA_FILE_PACK, data, len, 0, 'k', "pack: bad magic");
	expect_broken_u8(KURA_FILE_PACK, data, len, 8, 2, "pack: version 2");
	expect_broken_u8(KURA_FILE_PACK, data, len, 10, 1, "pack: reserved");
	expect_broken_u8(KURA_FILE_PACK, data, len, len - 1, 'd', "pack: bad end magic");
	expect_broken_le32(KURA_FILE_PACK, data, len, len - 12, 31,
			   "pack: trailer length 31 out of range");
	expect_broken_le32(KURA_FILE_PACK, data, len, len - 12, (uint32_t)(len - 12 - 124 + 1),
			   "out of range");
	expect_broken_le32(KURA_FILE_PACK, data, len, len - 12, (uint32_t)tlen + 1,
			   "pack: trailer length 177 does not hold whole 48-byte entries");
	/* More entries than the blob area could hold (each blob takes 28 bytes at least). */
	expect_broken_le32(KURA_FILE_PACK, data, len, len - 12,
			   (uint32_t)(tlen + (len - 12 - 124 - tlen) / 48 * 48),
			   "cannot hold the trailer's");
	/* Blob bytes with no entry for them. */
	grown = calloc(1, elen + 28);
	assert_non_null(grown);
	memcpy(grown, empty, 124);
	memcpy(grown + 124 + 28, empty + 124, elen - 124);
	expect_refused(KURA_FILE_PACK, grown, elen + 28,
		       "pack: blob area of 28 bytes cannot hold the trailer's 0 blobs");
	free(grown);
	/* The blobs and the trailer themselves cannot be judged without a key. */
	kura_random(data + 124, len - 124 - 12);
	expect_ok(KURA_FILE_PACK, data, len);
	check_truncations(KURA_FILE_PACK, data, len, "pack", NULL);
	check_truncations(KURA_FILE_PACK, empty, elen, "pack", NULL);

	/* Size limit, through a sparse file: 4 GiB - 1 is allowed, 4 GiB is not. */
	memcpy(footer, empty + elen - 12, 12);
	kura_le32(footer, 32);
	assert_true(validate_sparse(KURA_FILE_PACK, empty, 124, footer, 12, 1ull << 32) < 0);
	assert_non_null(strstr(kura_error_message(), "pack: 4294967296 bytes exceeds the 4 GiB"));
	free(data);
	free(empty);
}

/* -------------------------------------------------------------------- */
/* Descriptors, types                                                    */

static void test_fd(void **state)
{
	char path[] = "/tmp/kura-test-keyless-XXXXXX";
	uint8_t *data;
	size_t len;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_true(kura_keyless_validate_fd(KURA_FILE_INDEX, fd) < 0);
	assert_string_equal(kura_error_message(), "index: empty file");
	data = make_index(&len, 1);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_ok(kura_keyless_validate_fd(KURA_FILE_INDEX, fd));
	assert_true(kura_keyless_validate_fd(KURA_FILE_SNAPSHOT, fd) < 0);
	assert_non_null(strstr(kura_error_message(), "snapshot: bad magic"));
	assert_int_equal(kura_keyless_validate((kura_file_type)KURA_FILE_TYPES, data, len), KURA_EINVAL);
	close(fd);
	free(data);
}

/* -------------------------------------------------------------------- */
/* Whole repositories: the golden one and a fresh backup                */

static int tree_counts[KURA_FILE_TYPES];
static size_t tree_root_len;

static int validate_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	static const char *const dirs[KURA_FILE_TYPES] = {"/config/", "/keys/", "/snapshots/",
							  "/index/", "/data/", "/drills/",
							  "/proofs/", "/accepts/"};
	const char *rel = path + tree_root_len;
	uint8_t *buf;
	FILE *f;
	int type = -1;

	if (flag != FTW_F)
		return 0;
	for (int t = 0; t < KURA_FILE_TYPES; t++)
		if (strncmp(rel, dirs[t], strlen(dirs[t])) == 0)
			type = t;
	if (type < 0)
		return 0;
	buf = malloc(st->st_size ? (size_t)st->st_size : 1);
	assert_non_null(buf);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, (size_t)st->st_size, f), (size_t)st->st_size);
	fclose(f);
	if (kura_keyless_validate((kura_file_type)type, buf, (size_t)st->st_size) != 0) {
		print_error("%s: %s\n", path, kura_error_message());
		fail();
	}
	tree_counts[type]++;
	free(buf);
	return 0;
}

static void validate_repo(const char *root)
{
	memset(tree_counts, 0, sizeof(tree_counts));
	tree_root_len = strlen(root);
	assert_int_equal(nftw(root, validate_one, 16, FTW_PHYS), 0);
	/* every type a backup writes (drill records come from drills) */
	for (int t = 0; t <= KURA_FILE_PACK; t++)
		assert_true(tree_counts[t] > 0);
}

static void test_golden_repo(void **state)
{
	const char *root = getenv("KURA_TEST_ROOT");
	char path[4096];

	snprintf(path, sizeof(path), "%s/tests/vectors/repo-v1", root ? root : ".");
	validate_repo(path);
}

static void test_fresh_backup(void **state)
{
	char dir[] = "/tmp/kura-test-keyless-XXXXXX", repo[128], src[128], cache[128], p[160];
	kura_init_options io;
	kura_backup_result br;
	kura_repo *r = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(repo, sizeof(repo), "%s/repo", dir);
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	assert_int_equal(mkdir(src, 0700), 0);
	snprintf(p, sizeof(p), "%s/random.bin", src);
	test_write_random(p, 600000, 7);
	snprintf(p, sizeof(p), "%s/zeros.bin", src);
	test_write_random(p, 0, 8);
	kura_init_options_default(&io);
	io.kdf_profile = KURA_KDF_INTERACTIVE;
	io.chunk_min = 16 << 10;
	io.chunk_avg = 64 << 10;
	io.chunk_max = 256 << 10;
	io.pack_size = 1 << 20;
	assert_ok(kura_repo_init(&r, repo, PASSPHRASE, &io));
	assert_ok(test_backup_dir(r, src, cache, &br));
	assert_ok(test_backup_dir(r, src, cache, &br));
	kura_repo_free(r);
	validate_repo(repo);
	assert_int_equal(test_remove_tree(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config),	cmocka_unit_test(test_key),
	    cmocka_unit_test(test_snapshot),	cmocka_unit_test(test_index),
	    cmocka_unit_test(test_pack),	cmocka_unit_test(test_fd),
	    cmocka_unit_test(test_golden_repo), cmocka_unit_test(test_fresh_backup),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
