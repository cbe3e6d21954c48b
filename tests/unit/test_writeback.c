/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_writeback.c - the restore's write-behind queue.
 *
 * The queue never holds more than its byte limit, nor as many ranges as
 * its ring; draining empties it; the caller may close its own fd at once
 * (the queue keeps a dup) and no fd is left open afterwards; data written
 * and dropped reads back intact; and on a disk file system the dropped
 * pages really leave the page cache (mincore), which is what the queue is
 * for.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "testutil.h"

#include "repo/writeback.h"

#define PIECE (64u << 10)
#define PIECES 64

static char path[64];

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static uint8_t byte_at(size_t i) { return (uint8_t)(i * 2654435761u >> 13); }

/* Write PIECES pieces through the queue, each from a fresh fd closed at once. */
static void write_pieces(kura_writeback *wb, uint64_t limit_bytes, uint32_t limit_ranges)
{
	static uint8_t buf[PIECE];

	for (size_t p = 0; p < PIECES; p++) {
		int fd = open(path, O_WRONLY | O_CREAT, 0600);
		uint64_t bytes;
		uint32_t ranges;

		assert_true(fd >= 0);
		for (size_t i = 0; i < PIECE; i++)
			buf[i] = byte_at(p * PIECE + i);
		assert_int_equal(pwrite(fd, buf, PIECE, (off_t)(p * PIECE)), PIECE);
		kura_writeback_add(wb, fd, p * PIECE, PIECE);
		close(fd);
		kura_writeback_queued(wb, &bytes, &ranges);
		assert_true(bytes <= limit_bytes);
		assert_true(ranges < limit_ranges);
	}
}

static void check_content(void)
{
	static uint8_t buf[PIECE];
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	for (size_t p = 0; p < PIECES; p++) {
		assert_int_equal(pread(fd, buf, PIECE, (off_t)(p * PIECE)), PIECE);
		for (size_t i = 0; i < PIECE; i++)
			if (buf[i] != byte_at(p * PIECE + i))
				fail_msg("byte %zu of piece %zu differs", i, p);
	}
	close(fd);
}

static void test_limits_and_drain(void **state)
{
	kura_writeback *wb;
	uint64_t bytes;
	uint32_t ranges;
	int fds = open_fds();

	(void)state;
	/* the byte limit binds */
	assert_ok(kura_writeback_new(&wb, 4 * PIECE, 1000));
	write_pieces(wb, 4 * PIECE, 1000);
	kura_writeback_queued(wb, &bytes, &ranges);
	assert_true(ranges > 0); /* the last pieces wait */
	kura_writeback_drain(wb);
	kura_writeback_queued(wb, &bytes, &ranges);
	assert_int_equal(bytes, 0);
	assert_int_equal(ranges, 0);
	kura_writeback_free(wb);
	assert_int_equal(open_fds(), fds);
	check_content();

	/* the ring binds */
	unlink(path);
	assert_ok(kura_writeback_new(&wb, UINT64_MAX, 5));
	write_pieces(wb, UINT64_MAX, 5);
	kura_writeback_free(wb); /* drains */
	assert_int_equal(open_fds(), fds);
	check_content();
	unlink(path);
}

/* Pages of the file in the page cache, by mincore. */
static size_t resident_pages(void)
{
	size_t len = (size_t)PIECES * PIECE, page = (size_t)sysconf(_SC_PAGESIZE), n = 0;
	unsigned char *vec = malloc(len / page);
	int fd = open(path, O_RDONLY);
	void *map;

	assert_non_null(vec);
	assert_true(fd >= 0);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mincore(map, len, vec), 0);
	for (size_t i = 0; i < len / page; i++)
		n += vec[i] & 1;
	munmap(map, len);
	close(fd);
	free(vec);
	return n;
}

static void test_pages_leave_the_cache(void **state)
{
	kura_writeback *wb;
	struct statfs sf;
	int fd;

	(void)state;
	assert_int_equal(statfs("/var/tmp", &sf), 0);
	if (sf.f_type != EXT4_SUPER_MAGIC && sf.f_type != XFS_SUPER_MAGIC &&
	    sf.f_type != BTRFS_SUPER_MAGIC) {
		/* tmpfs and overlays keep their pages whatever we advise */
		skip();
	}
	assert_ok(kura_writeback_new(&wb, 4 * PIECE, 1000));
	write_pieces(wb, 4 * PIECE, 1000);
	kura_writeback_free(wb);
	assert_int_equal(resident_pages(), 0);
	check_content(); /* reads it back in */
	assert_true(resident_pages() > 0); /* so mincore does see cached pages */

	/* without the queue the written pages stay cached */
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	for (size_t p = 0; p < PIECES; p++) {
		static uint8_t buf[PIECE];

		assert_int_equal(pwrite(fd, buf, PIECE, (off_t)(p * PIECE)), PIECE);
	}
	assert_int_equal(fsync(fd), 0);
	close(fd);
	assert_true(resident_pages() > 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limits_and_drain),
	    cmocka_unit_test(test_pages_leave_the_cache),
	};
	int rc;

	/* /var/tmp: on a disk file system where /tmp may be tmpfs */
	snprintf(path, sizeof(path), "/var/tmp/kura-test-writeback-%d", (int)getpid());
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return rc;
}
