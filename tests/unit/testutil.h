/* SPDX-License-Identifier: Apache-2.0 */
/* testutil.h - what every cmocka unit test includes. */
#ifndef KURA_TESTUTIL_H
#define KURA_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kura/kura.h"

/* Assert a kura call succeeded, printing the library's message if not. */
#define assert_ok(expr)                                                                            \
	do {                                                                                       \
		int assert_ok_rc_ = (expr);                                                        \
		if (assert_ok_rc_ != 0)                                                            \
			print_error("%s -> %d: %s\n", #expr, assert_ok_rc_, kura_error_message()); \
		assert_int_equal(assert_ok_rc_, 0);                                                \
	} while (0)

/* A file of `len` bytes that depend only on `seed` (rand(): test data, not secrets). */
static inline void test_write_random(const char *path, size_t len, unsigned seed)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	srand(seed);
	for (size_t i = 0; i < len; i++)
		fputc(rand() & 0xff, f);
	assert_int_equal(fclose(f), 0);
}

/* Write `text` to DIR/REL, made or truncated. */
static inline void test_put(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* What DIR/REL holds (its first 255 bytes, in a static buffer), or NULL if it cannot be read. */
static inline char *test_get(const char *dir, const char *rel)
{
	static char buf[256];
	char path[512];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (!(f = fopen(path, "r")))
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Back up the directory `src` of `repo` with two threads and the file cache in `cache_dir`. */
static inline int test_backup_dir(kura_repo *repo, const char *src, const char *cache_dir,
				  kura_backup_result *out)
{
	kura_backup_options bo;
	const char *paths[1] = {src};

	memset(&bo, 0, sizeof(bo));
	bo.paths = paths;
	bo.npaths = 1;
	bo.hostname = "test";
	bo.cache_dir = cache_dir;
	bo.threads = 2;
	bo.stdin_fd = -1;
	return kura_backup(repo, &bo, out);
}

/* Remove a test's scratch tree, made writable first (tests make read-only parts); 0 or -1. */
static inline int test_remove_tree(const char *dir)
{
	char cmd[512];

	if (snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", dir, dir) >=
	    (int)sizeof(cmd))
		return -1;
	return system(cmd) == 0 ? 0 : -1;
}

#endif
