/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_keyshare.c - the restore key split among people: any M of N shares
 * rebuild the key, M-1 are refused with how many are missing, every single
 * wrong character in a share is caught by line before combining, shares
 * of another repository or another split are refused, a forged share is
 * caught by the check value, and the combined key file opens with the new
 * passphrase.
 */
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/keyfile.h"
#include "crypto/keyshare_int.h"

#define NEWPASS "a new passphrase for the rebuilt key"

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void assert_same_keys(const kura_keys *a, const kura_keys *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_memory_equal(a->repo_id, b->repo_id, 32);
	assert_memory_equal(a->repo_pk, b->repo_pk, 32);
	assert_memory_equal(a->id_key, b->id_key, 32);
	assert_memory_equal(a->index_key, b->index_key, 32);
	assert_memory_equal(a->chunker_seed, b->chunker_seed, 32);
	assert_memory_equal(a->repo_sk, b->repo_sk, 32);
}

static kura_keyshare *parse(const char *text, const char *name)
{
	kura_keyshare *s = NULL;

	assert_ok(kura_keyshare_parse(&s, text, strlen(text), name));
	return s;
}

static void split(kura_keys *k, char ***texts, unsigned m, unsigned n)
{
	assert_ok(kura_keys_generate(k));
	assert_ok(kura_keyshare_split_keys(texts, k, m, n));
}

/* Every subset of 3 of 5 shares (and the 4s and the 5) rebuilds the key; every 2 is refused. */
static void test_any_m_of_n(void **state)
{
	kura_keys k, got;
	kura_keyshare *s[5];
	char **texts = NULL, name[24];
	size_t combined = 0, refused = 0;

	split(&k, &texts, 3, 5);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "share%d", i + 1);
		s[i] = parse(texts[i], name);
	}
	for (unsigned mask = 1; mask < 32; mask++) {
		const kura_keyshare *use[5];
		size_t n = 0;

		for (int i = 0; i < 5; i++)
			if (mask & (1u << i))
				use[n++] = s[i];
		if (n >= 3) {
			assert_ok(kura_keyshare_combine_keys(&got, use, n));
			assert_same_keys(&got, &k);
			combined++;
		} else {
			char want[64];

			assert_int_equal(kura_keyshare_combine_keys(&got, use, n), KURA_EINVAL);
			snprintf(want, sizeof(want), "need 3 shares, have %zu", n);
			assert_non_null(strstr(kura_error_message(), want));
			refused++;
		}
	}
	assert_int_equal(combined, 16); /* 10 + 5 + 1 */
	assert_int_equal(refused, 15);
	for (int i = 0; i < 5; i++)
		kura_keyshare_free(s[i]);
	kura_keyshare_texts_free(texts, 5);
	kura_keys_wipe(&k);
}

/* The same share twice counts once. */
static void test_duplicates(void **state)
{
	kura_keys k, got;
	char **texts = NULL;
	kura_keyshare *a, *a2, *b;

	split(&k, &texts, 3, 4);
	a = parse(texts[0], "a");
	a2 = parse(texts[0], "a-again");
	b = parse(texts[1], "b");
	const kura_keyshare *use[] = {a, a2, b};
	assert_int_equal(kura_keyshare_combine_keys(&got, use, 3), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "need 3 shares, have 2"));
	kura_keyshare_free(a);
	kura_keyshare_free(a2);
	kura_keyshare_free(b);
	kura_keyshare_texts_free(texts, 4);
}

/* Byte offsets of the characters of data line `line` in `text`. */
static size_t data_chars(const char *text, unsigned line, size_t *at, size_t max)
{
	char label[8];
	const char *p, *end;
	size_t n = 0;

	snprintf(label, sizeof(label), "\n%u: ", line);
	assert_non_null(p = strstr(text, label));
	p += strlen(label);
	end = strchr(p, '\n');
	/* the last word is the checksum: stop at the two spaces before it */
	end = strstr(p, "  ") && strstr(p, "  ") < end ? strstr(p, "  ") : end;
	for (; p < end && n < max; p++)
		if (*p != ' ')
			at[n++] = (size_t)(p - text);
	return n;
}

/* Every character of every data line, changed to every other one, is caught naming the line. */
static void test_every_wrong_char(void **state)
{
	kura_keys k;
	char **texts = NULL, *t, want[32];
	size_t at[40], n, tried = 0;
	kura_keyshare *s = NULL;

	split(&k, &texts, 2, 3);
	t = strdup(texts[1]);
	assert_non_null(t);
	for (unsigned line = 1; line <= 7; line++) {
		n = data_chars(t, line, at, 40);
		assert_int_equal(n, line < 7 ? 32 : 13);
		for (size_t i = 0; i < n; i++) {
			char orig = t[at[i]];

			for (int v = 0; v < 32; v++) {
				if (b32[v] == orig)
					continue;
				t[at[i]] = b32[v];
				assert_int_equal(kura_keyshare_parse(&s, t, strlen(t), "s.txt"),
						 KURA_ECORRUPT);
				assert_null(s);
				/* the data lines are lines 11..17 of a split's share text */
				snprintf(want, sizeof(want), "s.txt: line %u:", line + 10);
				if (!strstr(kura_error_message(), want))
					fail_msg("line %u char %zu -> %c: %s", line, i, b32[v],
						 kura_error_message());
				tried++;
			}
			t[at[i]] = orig;
		}
	}
	assert_int_equal(tried, (6 * 32 + 13) * 31);
	/* two neighbours swapped, and a character dropped */
	n = data_chars(t, 3, at, 40);
	for (size_t i = 0; i + 1 < n; i++) {
		char c = t[at[i]];

		if (c == t[at[i + 1]])
			continue;
		t[at[i]] = t[at[i + 1]];
		t[at[i + 1]] = c;
		assert_int_equal(kura_keyshare_parse(&s, t, strlen(t), "s.txt"), KURA_ECORRUPT);
		t[at[i + 1]] = t[at[i]];
		t[at[i]] = c;
	}
	memmove(t + at[0], t + at[0] + 1, strlen(t + at[0] + 1) + 1);
	assert_int_equal(kura_keyshare_parse(&s, t, strlen(t), "s.txt"), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "31 characters before the checksum"));
	free(t);
	kura_keyshare_texts_free(texts, 3);
}

/* A header or sum mistyped is caught by the share's sum; the rest of the grammar holds. */
static void test_header_and_grammar(void **state)
{
	kura_keys k;
	char **texts = NULL, *t, *p;
	kura_keyshare *s = NULL;
	kura_keyshare_info info;

	split(&k, &texts, 2, 3);
	t = strdup(texts[0]);
	assert_non_null(t);
	/* lowercase, O for 0 and I or L for 1 read the same; comments and blanks are skipped */
	for (p = t; *p; p++) {
		if (*p == '#')
			p = strchr(p, '\n');
		else if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	if (kura_keyshare_parse(&s, t, strlen(t), "lower") < 0)
		fail_msg("%s\n%s", kura_error_message(), t);
	kura_keyshare_get_info(&info, s);
	assert_int_equal(info.index, 1);
	assert_int_equal(info.threshold, 2);
	assert_int_equal(info.total, 3);
	kura_keyshare_free(s);
	free(t);

	/* "share 1 of 3" typed "share 2 of 3": the sum catches it */
	t = strdup(texts[0]);
	assert_non_null(p = strstr(t, "\nshare 1 of 3"));
	p[7] = '2';
	assert_int_equal(kura_keyshare_parse(&s, t, strlen(t), "h"), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "sum does not match"));
	free(t);

	/* a version 2 share is not read as version 1 */
	t = strdup(texts[0]);
	assert_non_null(p = strstr(t, "kura-key-share 1"));
	p[15] = '2';
	assert_int_equal(kura_keyshare_parse(&s, t, strlen(t), "v"), KURA_EUNSUPPORTED);
	free(t);

	/* lines out of order, a line missing, text after the sum, truncation, garbage */
	t = strdup(texts[0]);
	assert_non_null(p = strstr(t, "\n2: "));
	p[1] = '3';
	assert_int_equal(kura_keyshare_parse(&s, t, strlen(t), "o"), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "expected data line \"2:\""));
	free(t);
	assert_ok(asprintf(&t, "%sextra\n", texts[0]) < 0 ? -1 : 0);
	assert_int_equal(kura_keyshare_parse(&s, t, strlen(t), "x"), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "after the sum"));
	free(t);
	for (size_t cut = 0; cut < strlen(texts[0]) - 1; cut += 7)
		assert_int_not_equal(kura_keyshare_parse(&s, texts[0], cut, "cut"), 0);
	assert_int_equal(kura_keyshare_parse(&s, "\0\0\0", 3, "nul"), KURA_ECORRUPT);
	assert_int_equal(kura_keyshare_parse(&s, "hello\n", 6, "hi"), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "not a kura key share"));
	kura_keyshare_texts_free(texts, 3);
}

/* Shares of another repository, or of another split of the same one, never combine. */
static void test_other_repo_and_split(void **state)
{
	kura_keys k1, k2, got;
	char **t1 = NULL, **t2 = NULL, **t3 = NULL;
	kura_keyshare *a, *b, *c;

	split(&k1, &t1, 2, 3);
	split(&k2, &t2, 2, 3);
	a = parse(t1[0], "mine.txt");
	b = parse(t2[1], "theirs.txt");
	const kura_keyshare *ab[] = {a, b};
	assert_int_equal(kura_keyshare_combine_keys(&got, ab, 2), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "different repositories"));
	assert_non_null(strstr(kura_error_message(), "theirs.txt"));
	kura_keyshare_free(b);

	assert_ok(kura_keyshare_split_keys(&t3, &k1, 2, 3));
	c = parse(t3[1], "older.txt");
	const kura_keyshare *ac[] = {a, c};
	assert_int_equal(kura_keyshare_combine_keys(&got, ac, 2), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "different splits"));
	kura_keyshare_free(a);
	kura_keyshare_free(c);
	kura_keyshare_texts_free(t1, 3);
	kura_keyshare_texts_free(t2, 3);
	kura_keyshare_texts_free(t3, 3);
}

/* A share altered past its checksums gives a key that fails the check value: nothing comes out. */
static void test_forged(void **state)
{
	kura_keys k, got;
	char **texts = NULL;
	kura_keyshare *a, *b;

	split(&k, &texts, 2, 3);
	a = parse(texts[0], "a");
	b = parse(texts[2], "b");
	b->data[5] ^= 1; /* id_key only: repo_sk still matches repo_pk */
	const kura_keyshare *ab[] = {a, b};
	assert_int_equal(kura_keyshare_combine_keys(&got, ab, 2), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "check value"));
	assert_int_equal(got.kind, 0);
	/* with one more share than needed, the odd one out is named */
	kura_keyshare *c = parse(texts[1], "c");
	const kura_keyshare *abc[] = {a, b, c};
	assert_int_equal(kura_keyshare_combine_keys(&got, abc, 3), KURA_ECORRUPT);
	if (!strstr(kura_error_message(), "b does not fit"))
		fail_msg("%s", kura_error_message());
	const kura_keyshare *bac[] = {b, a, c};
	assert_int_equal(kura_keyshare_combine_keys(&got, bac, 3), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "b does not fit"));
	/* and the honest ones still combine */
	const kura_keyshare *ac[] = {a, c};
	assert_ok(kura_keyshare_combine_keys(&got, ac, 2));
	assert_same_keys(&got, &k);
	kura_keyshare_free(c);
	kura_keyshare_free(a);
	kura_keyshare_free(b);
	kura_keyshare_texts_free(texts, 3);
}

static void test_split_limits(void **state)
{
	kura_keys k, backup;
	char **texts = NULL;

	assert_ok(kura_keys_generate(&k));
	assert_int_equal(kura_keyshare_split_keys(&texts, &k, 1, 3), KURA_EINVAL);
	assert_int_equal(kura_keyshare_split_keys(&texts, &k, 4, 3), KURA_EINVAL);
	assert_int_equal(kura_keyshare_split_keys(&texts, &k, 2, 256), KURA_EINVAL);
	assert_null(texts);
	kura_keys_to_backup(&backup, &k);
	assert_int_equal(kura_keyshare_split_keys(&texts, &backup, 2, 3), KURA_ENEEDKEY);
	/* the largest split works, and its last share combines with its first */
	assert_ok(kura_keyshare_split_keys(&texts, &k, 2, 255));
	kura_keyshare *a = parse(texts[0], "1"), *z = parse(texts[254], "255");
	const kura_keyshare *az[] = {a, z};
	kura_keys got;
	assert_ok(kura_keyshare_combine_keys(&got, az, 2));
	assert_same_keys(&got, &k);
	kura_keyshare_free(a);
	kura_keyshare_free(z);
	kura_keyshare_texts_free(texts, 255);
}

/* The file combine writes is a restore key file that opens with the new passphrase. */
static void test_combine_file(void **state)
{
	kura_keys k, got;
	char **texts = NULL, dir[64], path[96], id[KURA_ID_HEX], want[KURA_ID_HEX];
	kura_keyshare *a, *b;
	uint8_t buf[512];
	struct stat st;
	ssize_t len;
	int fd;

	strcpy(dir, "/tmp/kura-test-keyshare-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/restore.key", dir);
	split(&k, &texts, 2, 3);
	a = parse(texts[2], "a");
	b = parse(texts[0], "b");
	const kura_keyshare *ab[] = {a, b};
	assert_int_equal(kura_keyshare_combine_file(ab, 2, "short", KURA_KDF_INTERACTIVE, path, id),
			 KURA_EWEAK);
	assert_int_equal(stat(path, &st), -1);
	assert_ok(kura_keyshare_combine_file(ab, 2, NEWPASS, KURA_KDF_INTERACTIVE, path, id));
	kura_hex(want, k.repo_id, 32);
	assert_string_equal(id, want);
	assert_ok(stat(path, &st));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	len = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(len, 276);
	assert_ok(kura_keyfile_decode(&got, buf, (size_t)len, NEWPASS));
	assert_same_keys(&got, &k);
	assert_int_equal(kura_keyfile_decode(&got, buf, (size_t)len, "wrong passphrase here ok"),
			 KURA_EAUTH);
	/* never overwritten */
	assert_int_equal(kura_keyshare_combine_file(ab, 2, NEWPASS, KURA_KDF_INTERACTIVE, path, NULL),
			 KURA_EEXISTS);
	unlink(path);
	rmdir(dir);
	kura_keyshare_free(a);
	kura_keyshare_free(b);
	kura_keyshare_texts_free(texts, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_any_m_of_n),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_every_wrong_char),
	    cmocka_unit_test(test_header_and_grammar),
	    cmocka_unit_test(test_other_repo_and_split),
	    cmocka_unit_test(test_forged),
	    cmocka_unit_test(test_split_limits),
	    cmocka_unit_test(test_combine_file),
	};

	if (kura_crypto_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
