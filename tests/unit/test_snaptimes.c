/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_snaptimes.c - the one reader of DIR/meta/REPO/snapshot-times
 * (server/snaptimes.c): what a line must be, and what the streaming
 * reader does with damaged, torn and missing files.
 */
#include "testutil.h"

#include <sys/stat.h>
#include <unistd.h>

#include "snaptimes.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* DIR/meta/r1/snapshot-times holding `len` bytes of `text` (DIR/meta/r1 made first). */
static void write_times(const char *dir, const char *text, size_t len)
{
	char path[160];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/meta", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/meta/r1", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/meta/r1/snapshot-times", dir);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void test_parse(void **state)
{
	static const char good[] = H64 " 1764720000000000000 ward4";
	snaptimes_line l;

	assert_ok(snaptimes_parse(&l, good, strlen(good)));
	assert_string_equal(l.name, H64);
	assert_true(l.received_ns == 1764720000000000000LL);
	assert_string_equal(l.client, "ward4");

	static const char *const bad[] = {
	    H64 " 1764720000000000000 ward4\n", /* the newline is not part of a line */
	    H64 " 01 ward4",			/* leading zero */
	    H64 " 0 ward4",			/* not positive */
	    H64 " -5 ward4",
	    H64 " 9223372036854775808 ward4", /* past INT64_MAX */
	    H64 "  5 ward4",		      /* two spaces */
	    H64 " 5 Ward4",		      /* not a vault name */
	    H64 " 5 ward4 more",
	    H64 " 5 ",
	    H64 " 5",
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef 5 ward4",
	    "0123456789abcdef 5 ward4",
	    "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l.received_ns = 7;
		assert_int_equal(snaptimes_parse(&l, bad[i], strlen(bad[i])), KURA_ECORRUPT);
		assert_true(l.received_ns == 0);
	}
	/* a NUL inside the client would end it early and hide the rest */
	assert_int_equal(snaptimes_parse(&l, H64 " 5 wa\0rd4", sizeof(H64) - 1 + 9), KURA_ECORRUPT);
}

typedef struct {
	int n;
	int stop_at;
	int64_t ns[8];
	unsigned long long lineno[8];
} seen;

static int collect(const snaptimes_line *l, unsigned long long lineno, void *ctx)
{
	seen *s = ctx;

	if (s->n == s->stop_at)
		return KURA_EIO;
	if (s->n < 8) {
		s->ns[s->n] = l->received_ns;
		s->lineno[s->n] = lineno;
	}
	s->n++;
	return 0;
}

static void test_each(void **state)
{
	char dir[] = "/tmp/kura-test-snaptimes-XXXXXX";
	static const char text[] = H64 " 11 ward4\n"
				       "garbage\n" H64 " 22 ward5\n" H64 " 0 ward4\n" H64
				       " 33 ward4\n" H64 " 44 ward4"; /* torn: no newline */
	snaptimes_skipped bad;
	seen s = {.stop_at = -1};
	char link[160], target[160];

	assert_non_null(mkdtemp(dir));

	/* no file yet: no lines */
	assert_ok(snaptimes_each(dir, "r1", collect, &s, &bad));
	assert_int_equal(s.n, 0);
	assert_true(bad.count == 0);

	write_times(dir, text, sizeof(text) - 1);
	assert_ok(snaptimes_each(dir, "r1", collect, &s, &bad));
	assert_int_equal(s.n, 3);
	assert_true(s.ns[0] == 11 && s.ns[1] == 22 && s.ns[2] == 33);
	assert_true(s.lineno[0] == 1 && s.lineno[1] == 3 && s.lineno[2] == 5);
	assert_true(bad.count == 3); /* garbage, the zero time, the torn last line */
	assert_true(bad.first_line == 2);

	/* fn's error stops the stream and is passed back */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(snaptimes_each(dir, "r1", collect, &s, NULL), KURA_EIO);
	assert_int_equal(s.n, 1);

	/* a hostile repository name never reaches the file system */
	assert_int_equal(snaptimes_each(dir, "../r1", collect, &s, NULL), KURA_EINVAL);

	/* a symlink in place of the file is refused, not followed */
	snprintf(link, sizeof(link), "%s/meta/r1/snapshot-times", dir);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	assert_int_equal(rename(link, target), 0);
	assert_int_equal(symlink(target, link), 0);
	assert_true(snaptimes_each(dir, "r1", collect, &s, NULL) < 0);
	assert_int_equal(test_remove_tree(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_each),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
