/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_chunkchoice.c - the rule that picks a file's chunking parameter set
 * (lib/repo/chunkchoice.c): database formats by header and name, the
 * size floor, the file cache's memory of a file, and telling a rewrite in
 * place from an append.
 */
#include "testutil.h"

#include "repo/chunkchoice.h"

#define MIB (1024u * 1024)

static void test_database_kind(void **state)
{
	static const uint8_t sqlite[16] = "SQLite format 3";
	static const uint8_t almost[16] = "SQLite format 4";

	assert_string_equal(kura_chunk_database_kind("/srv/x.bin", sqlite, 16), "sqlite");
	assert_null(kura_chunk_database_kind("/srv/x.bin", almost, 16));
	assert_null(kura_chunk_database_kind("/srv/x.bin", sqlite, 15)); /* cut short */
	assert_null(kura_chunk_database_kind("/srv/x.bin", NULL, 0));
	/* PostgreSQL relation segments */
	assert_string_equal(
	    kura_chunk_database_kind("/var/lib/postgresql/15/main/base/16384/16385", NULL, 0),
	    "postgresql");
	assert_string_equal(kura_chunk_database_kind("/pg/base/5/2619.3", NULL, 0), "postgresql");
	assert_string_equal(kura_chunk_database_kind("/pg/global/1262", NULL, 0), "postgresql");
	assert_string_equal(kura_chunk_database_kind("base/1/1259", NULL, 0), "postgresql");
	assert_string_equal(
	    kura_chunk_database_kind("/pg/pg_tblspc/16400/PG_15_202209061/16384/16401", NULL, 0),
	    "postgresql");
	assert_null(kura_chunk_database_kind("/pg/base/16384/16385_fsm", NULL, 0));
	assert_null(kura_chunk_database_kind("/pg/base/16384/16385.", NULL, 0));
	assert_null(kura_chunk_database_kind("/pg/base/abc/16385", NULL, 0));
	assert_null(kura_chunk_database_kind("/pg/other/16384/16385", NULL, 0));
	assert_null(kura_chunk_database_kind("/16384/16385", NULL, 0));
	assert_null(kura_chunk_database_kind("16385", NULL, 0));
	assert_null(kura_chunk_database_kind("/pg/pg_wal/000000010000000000000001", NULL, 0));
	/* by name */
	assert_string_equal(kura_chunk_database_kind("/mysql/emr/visits.ibd", NULL, 0), "innodb");
	assert_string_equal(kura_chunk_database_kind("/mysql/ibdata1", NULL, 0), "innodb");
	assert_string_equal(kura_chunk_database_kind("/mssql/EMR.MDF", NULL, 0), "mssql");
	assert_string_equal(kura_chunk_database_kind("/mssql/emr_2.ndf", NULL, 0), "mssql");
	assert_string_equal(kura_chunk_database_kind("/app/ehr_main.db", NULL, 0), "sqlite");
	assert_string_equal(kura_chunk_database_kind("/app/x.sqlite3", NULL, 0), "sqlite");
	assert_null(kura_chunk_database_kind("/app/.db", NULL, 0));
	assert_null(kura_chunk_database_kind("/app/report.pdf", NULL, 0));
	assert_null(kura_chunk_database_kind("/app/db", NULL, 0));
}

static struct stat stat_of(uint64_t dev, uint64_t ino, uint64_t size)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_dev = (dev_t)dev;
	st.st_ino = (ino_t)ino;
	st.st_size = (off_t)size;
	return st;
}

static void test_choose(void **state)
{
	struct stat big = stat_of(1, 7, 8 * MIB), tiny = stat_of(1, 7, 4096);
	kura_filecache_prev prev = {.found = 1, .dev = 1, .ino = 7, .size = 4096};

	assert_int_equal(kura_chunk_choose("/a/ehr.db", &big, NULL, 0, NULL, MIB),
			 KURA_CHUNKING_SMALL);
	assert_int_equal(kura_chunk_choose("/a/ehr.db", &tiny, NULL, 0, NULL, MIB),
			 KURA_CHUNKING_LARGE);
	assert_int_equal(kura_chunk_choose("/a/video.mp4", &big, NULL, 0, NULL, MIB),
			 KURA_CHUNKING_LARGE);
	/* PostgreSQL relation segments: fixed pieces of pages, not below min_size */
	assert_int_equal(kura_chunk_choose("/pg/base/16384/16397", &big, NULL, 0, NULL, MIB),
			 KURA_CHUNKING_PAGES);
	assert_int_equal(kura_chunk_choose("/pg/global/1262.1", &big, NULL, 0, NULL, MIB),
			 KURA_CHUNKING_PAGES);
	assert_int_equal(kura_chunk_choose("/pg/base/16384/16397", &tiny, NULL, 0, NULL, MIB),
			 KURA_CHUNKING_LARGE);
	/* the WAL is written once, not rewritten in place */
	assert_int_equal(
	    kura_chunk_choose("/pg/pg_wal/000000010000000000000001", &big, NULL, 0, NULL, MIB),
	    KURA_CHUNKING_LARGE);
	/* SQLite by its header, InnoDB, SQL Server: pages too; a .db name alone may be anything */
	assert_int_equal(
	    kura_chunk_choose("/a/x.bin", &big, (const uint8_t *)"SQLite format 3", 16, NULL, MIB),
	    KURA_CHUNKING_PAGES);
	assert_int_equal(kura_chunk_choose("/a/lis.ibd", &big, NULL, 0, NULL, MIB),
			 KURA_CHUNKING_PAGES);
	assert_int_equal(kura_chunk_choose("/a/pacs.mdf", &big, NULL, 0, NULL, MIB),
			 KURA_CHUNKING_PAGES);
	assert_int_equal(
	    kura_chunk_choose("/a/ehr.db", &big, (const uint8_t *)"not a database!", 16, NULL, MIB),
	    KURA_CHUNKING_SMALL);
	/* the cache's memory: the same file keeps the small set at any size */
	prev.chunking = KURA_CHUNKING_SMALL;
	assert_int_equal(kura_chunk_choose("/a/video.mp4", &tiny, NULL, 0, &prev, MIB),
			 KURA_CHUNKING_SMALL);
	/* another inode under the same name: judged afresh */
	prev.ino = 8;
	assert_int_equal(kura_chunk_choose("/a/video.mp4", &big, NULL, 0, &prev, MIB),
			 KURA_CHUNKING_LARGE);
	prev.ino = 7;
	prev.chunking = KURA_CHUNKING_LARGE;
	assert_int_equal(kura_chunk_choose("/a/video.mp4", &big, NULL, 0, &prev, MIB),
			 KURA_CHUNKING_LARGE);
	/* pieces of pages are kept as well, and a file cut small before stays small */
	prev.chunking = KURA_CHUNKING_PAGES;
	assert_int_equal(kura_chunk_choose("/a/video.mp4", &tiny, NULL, 0, &prev, MIB),
			 KURA_CHUNKING_PAGES);
	prev.chunking = KURA_CHUNKING_SMALL;
	assert_int_equal(kura_chunk_choose("/pg/base/1/2", &big, NULL, 0, &prev, MIB),
			 KURA_CHUNKING_SMALL);
}

/* Extents of chunks whose ids are the bytes `ids` (one chunk each, 1 MiB). */
static void make_extents(kura_extent *x, const char *ids)
{
	for (size_t i = 0; ids[i]; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		x[i].kind = KURA_EXTENT_CHUNK;
		x[i].len = MIB;
		memset(x[i].id, ids[i], KURA_HASH_SIZE);
	}
}

static int rewritten(const char *old_ids, const char *new_ids, uint64_t ino, uint64_t size)
{
	kura_extent old[16], now[16];
	kura_filecache_prev prev = {.found = 1, .dev = 1, .ino = 7};
	kura_chunk_baseline *b = NULL;
	struct stat st = stat_of(1, ino, size ? size : strlen(new_ids) * MIB);
	int r;

	make_extents(old, old_ids);
	make_extents(now, new_ids);
	prev.size = strlen(old_ids) * MIB;
	prev.extents = old;
	prev.count = (uint32_t)strlen(old_ids);
	assert_ok(kura_chunk_baseline_new(&b, &prev));
	r = kura_chunk_baseline_rewritten(b, &st, now, (uint32_t)strlen(new_ids));
	kura_chunk_baseline_free(b);
	return r;
}

static void test_rewritten_in_place(void **state)
{
	assert_int_equal(rewritten("abcdef", "abXdeY", 7, 0), 1);  /* scattered pages */
	assert_int_equal(rewritten("abcdef", "abcdeYZ", 7, 0), 0); /* appended: last chunk only */
	assert_int_equal(rewritten("abcdef", "abcdef", 7, 0), 0);  /* unchanged */
	assert_int_equal(rewritten("abcdef", "UVWXYZ", 7, 0), 0);  /* made anew or encrypted */
	assert_int_equal(rewritten("abcdef", "abXdeY", 8, 0), 0);  /* another inode */
	assert_int_equal(rewritten("abcdef", "abXde", 7, 0), 0);   /* shorter */
	assert_int_equal(rewritten("aaaaab", "aaXaab", 7, 0), 0);  /* repeated ids: one kept */
	assert_int_equal(rewritten("abcabd", "XbcabZ", 7, 0), 0);  /* every old id still there */
	assert_int_equal(rewritten("abcabd", "XbcXbd", 7, 0), 1);
	{
		/* one old chunk: nothing to compare, no baseline */
		kura_extent one[1];
		kura_filecache_prev prev = {.found = 1, .dev = 1, .ino = 7, .size = MIB};
		kura_chunk_baseline *b = (kura_chunk_baseline *)&prev;
		struct stat st = stat_of(1, 7, MIB);

		make_extents(one, "a");
		prev.extents = one;
		prev.count = 1;
		assert_ok(kura_chunk_baseline_new(&b, &prev));
		assert_null(b);
		assert_int_equal(kura_chunk_baseline_rewritten(NULL, &st, one, 1), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_database_kind),
	    cmocka_unit_test(test_choose),
	    cmocka_unit_test(test_rewritten_in_place),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
