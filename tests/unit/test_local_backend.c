/* SPDX-License-Identifier: Apache-2.0 */
/* test_local_backend.c - the local directory backend (lib/backend/local*.c). */
#include "testutil.h"

#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "kura/sys/backend.h"

typedef struct {
	char dir[64];  /* the mkdtemp directory */
	char repo[96]; /* dir/repo */
	kura_backend *b;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-local-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	if (kura_backend_local_create(&f->b, f->repo) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (f->b)
		f->b->free(f->b);
	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* A valid name that differs per seed (the backend does not check hashes). */
static void make_name(char *out, unsigned seed)
{
	for (int i = 0; i < 64; i++)
		out[i] = "0123456789abcdef"[(seed * 7 + (unsigned)i * (seed | 1)) % 16];
	out[64] = '\0';
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_create_open(void **state)
{
	fixture *f = *state;
	kura_backend *b = NULL;
	char path[160];
	struct stat st;

	assert_ok(kura_backend_local_open(&b, f->repo));
	assert_non_null(b);
	assert_int_equal(b->version, KURA_BACKEND_VERSION);
	b->free(b);
	const char *subs[] = {"config",	 "keys",   "snapshots", "index",   "data", "data/00",
			      "data/ff", "drills", "proofs",	"accepts", "tmp"};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->repo, subs[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
	}
	assert_int_equal(count_entries(f->repo), 9);
	snprintf(path, sizeof(path), "%s/data", f->repo);
	assert_int_equal(count_entries(path), 256);
	assert_string_equal(kura_file_type_name(KURA_FILE_CONFIG), "config");
	assert_string_equal(kura_file_type_name(KURA_FILE_KEY), "keys");
	assert_string_equal(kura_file_type_name(KURA_FILE_SNAPSHOT), "snapshots");
	assert_string_equal(kura_file_type_name(KURA_FILE_INDEX), "index");
	assert_string_equal(kura_file_type_name(KURA_FILE_PACK), "data");
	assert_string_equal(kura_file_type_name(KURA_FILE_PROOF), "proofs");
}

static void test_open_not_repo(void **state)
{
	fixture *f = *state;
	kura_backend *b = NULL;
	char path[160];

	snprintf(path, sizeof(path), "%s/plain", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(kura_backend_local_open(&b, path), KURA_ENOTFOUND);
	assert_null(b);
	assert_non_null(strstr(kura_error_message(), "no kura repository at"));
	snprintf(path, sizeof(path), "%s/missing", f->dir);
	assert_int_equal(kura_backend_local_open(&b, path), KURA_ENOTFOUND);
	/* A copy that dropped empty directories (git, rsync filters) still opens ... */
	snprintf(path, sizeof(path), "%s/tmp", f->repo);
	assert_int_equal(rmdir(path), 0);
	snprintf(path, sizeof(path), "%s/data/ab", f->repo);
	assert_int_equal(rmdir(path), 0);
	assert_ok(kura_backend_local_open(&b, f->repo));
	snprintf(path, sizeof(path), "%s/tmp", f->repo);
	assert_int_equal(access(path, F_OK), 0);
	/* ... and a pack whose data/ab is gone can still be stored */
	{
		char name[65];
		uint8_t *got = NULL;
		size_t len = 0;

		memset(name, 'a', 64);
		name[1] = 'b';
		name[64] = '\0';
		assert_ok(b->put(b, KURA_FILE_PACK, name, "xyz", 3));
		assert_ok(b->get(b, KURA_FILE_PACK, name, &got, &len));
		assert_int_equal(len, 3);
		free(got);
	}
	b->free(b);
	/* ... but without config/ it is not a repository */
	snprintf(path, sizeof(path), "%s/plain/data", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/plain", f->dir);
	assert_int_equal(kura_backend_local_open(&b, path), KURA_ENOTFOUND);
}

static void test_create_not_empty(void **state)
{
	fixture *f = *state;
	kura_backend *b = NULL;
	char path[160];
	int fd;

	/* The existing repository is not empty. */
	assert_int_equal(kura_backend_local_create(&b, f->repo), KURA_EEXISTS);
	assert_non_null(strstr(kura_error_message(), "is not empty"));
	snprintf(path, sizeof(path), "%s/other", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/other/file", f->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/other", f->dir);
	assert_int_equal(kura_backend_local_create(&b, path), KURA_EEXISTS);
	assert_null(b);
	/* An existing empty directory is fine. */
	snprintf(path, sizeof(path), "%s/empty", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_ok(kura_backend_local_create(&b, path));
	b->free(b);
}

static void test_put_get(void **state)
{
	fixture *f = *state;
	kura_backend *b = f->b;
	char name[65], path[200];
	const char data[] = "hello, kura";
	uint8_t *out = NULL;
	size_t len = 0;

	make_name(name, 1);
	assert_ok(b->put(b, KURA_FILE_SNAPSHOT, name, data, sizeof(data)));
	assert_ok(b->get(b, KURA_FILE_SNAPSHOT, name, &out, &len));
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(out, data, len);
	free(out);
	snprintf(path, sizeof(path), "%s/snapshots/%s", f->repo, name);
	assert_int_equal(access(path, F_OK), 0);

	/* An empty file. */
	make_name(name, 2);
	assert_ok(b->put(b, KURA_FILE_KEY, name, NULL, 0));
	assert_ok(b->get(b, KURA_FILE_KEY, name, &out, &len));
	assert_int_equal(len, 0);
	free(out);

	/* A pack lands in data/<first two digits>/. */
	make_name(name, 3);
	assert_ok(b->put(b, KURA_FILE_PACK, name, data, 5));
	snprintf(path, sizeof(path), "%s/data/%.2s/%s", f->repo, name, name);
	assert_int_equal(access(path, F_OK), 0);
	assert_ok(b->get(b, KURA_FILE_PACK, name, &out, &len));
	assert_int_equal(len, 5);
	assert_memory_equal(out, data, 5);
	free(out);

	/* Wrong type: not found. */
	assert_int_equal(b->get(b, KURA_FILE_INDEX, name, &out, &len), KURA_ENOTFOUND);
	assert_null(out);
	assert_non_null(strstr(kura_error_message(), name));

	snprintf(path, sizeof(path), "%s/tmp", f->repo);
	assert_int_equal(count_entries(path), 0);
}

static void test_put_existing(void **state)
{
	fixture *f = *state;
	kura_backend *b = f->b;
	char name[65], path[200];
	uint8_t *out = NULL;
	size_t len = 0;
	struct stat st1, st2;

	make_name(name, 4);
	assert_ok(b->put(b, KURA_FILE_INDEX, name, "first", 5));
	snprintf(path, sizeof(path), "%s/index/%s", f->repo, name);
	assert_int_equal(stat(path, &st1), 0);
	assert_ok(b->put(b, KURA_FILE_INDEX, name, "second!", 7));
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_ok(b->get(b, KURA_FILE_INDEX, name, &out, &len));
	assert_int_equal(len, 5);
	assert_memory_equal(out, "first", 5);
	free(out);
	snprintf(path, sizeof(path), "%s/tmp", f->repo);
	assert_int_equal(count_entries(path), 0);
}

static void test_bad_names(void **state)
{
	fixture *f = *state;
	kura_backend *b = f->b;
	char good[65], bad[80];
	uint8_t *out = NULL, buf[4];
	size_t len;
	const char *names[] = {
	    "../x",
	    "abc",
	    "",
	    "../../../../../../../../../../../../../../../../../../../../../etc/x",
	};

	make_name(good, 5);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(b->put(b, KURA_FILE_CONFIG, names[i], "x", 1), KURA_EINVAL);
		assert_int_equal(b->get(b, KURA_FILE_CONFIG, names[i], &out, &len), KURA_EINVAL);
	}
	assert_int_equal(b->put(b, KURA_FILE_CONFIG, NULL, "x", 1), KURA_EINVAL);
	/* Uppercase. */
	strcpy(bad, good);
	bad[10] = 'A';
	assert_int_equal(b->put(b, KURA_FILE_PACK, bad, "x", 1), KURA_EINVAL);
	/* A slash inside. */
	strcpy(bad, good);
	bad[2] = '/';
	assert_int_equal(b->put(b, KURA_FILE_PACK, bad, "x", 1), KURA_EINVAL);
	assert_int_equal(b->get_range(b, KURA_FILE_PACK, bad, 0, 1, buf), KURA_EINVAL);
	/* Too long. */
	snprintf(bad, sizeof(bad), "%s0", good);
	assert_int_equal(b->put(b, KURA_FILE_PACK, bad, "x", 1), KURA_EINVAL);
	/* Bad type. */
	assert_int_equal(b->put(b, (kura_file_type)KURA_FILE_TYPES, good, "x", 1), KURA_EINVAL);
	assert_int_equal(b->put(b, (kura_file_type)-1, good, "x", 1), KURA_EINVAL);
}

typedef struct {
	char names[8][65];
	uint64_t sizes[8];
	int n;
} seen;

static int collect(const char *name, uint64_t size, void *ctx)
{
	seen *s = ctx;

	if (s->n >= 8)
		return -1;
	strcpy(s->names[s->n], name);
	s->sizes[s->n++] = size;
	return 0;
}

static int stop_now(const char *name, uint64_t size, void *ctx)
{
	(*(int *)ctx)++;
	return 1;
}

static int fail_now(const char *name, uint64_t size, void *ctx)
{
	return KURA_ECANCELED;
}

static int find(const seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return i;
	return -1;
}

static void test_list(void **state)
{
	fixture *f = *state;
	kura_backend *b = f->b;
	char n1[65], n2[65], n3[65], path[200];
	seen s = {0};
	int calls = 0, fd, i;

	make_name(n1, 6);
	make_name(n2, 9);
	make_name(n3, 10);
	assert_true(strncmp(n1, n2, 2) != 0);
	assert_ok(b->put(b, KURA_FILE_PACK, n1, "abc", 3));
	assert_ok(b->put(b, KURA_FILE_PACK, n2, "abcdef", 6));
	assert_ok(b->put(b, KURA_FILE_INDEX, n3, "x", 1));
	/* Junk that must be skipped: a tmp-like name, and a pack in the wrong subdir. */
	snprintf(path, sizeof(path), "%s/data/%.2s/junk", f->repo, n1);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/data/%.2s/%s", f->repo, n1, n2);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);

	assert_ok(b->list(b, KURA_FILE_PACK, collect, &s));
	assert_int_equal(s.n, 2);
	assert_true((i = find(&s, n1)) >= 0);
	assert_int_equal(s.sizes[i], 3);
	assert_true((i = find(&s, n2)) >= 0);
	assert_int_equal(s.sizes[i], 6);

	memset(&s, 0, sizeof(s));
	assert_ok(b->list(b, KURA_FILE_INDEX, collect, &s));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], n3);
	memset(&s, 0, sizeof(s));
	assert_ok(b->list(b, KURA_FILE_CONFIG, collect, &s));
	assert_int_equal(s.n, 0);

	assert_ok(b->list(b, KURA_FILE_PACK, stop_now, &calls));
	assert_int_equal(calls, 1);
	assert_int_equal(b->list(b, KURA_FILE_PACK, fail_now, NULL), KURA_ECANCELED);
}

static void test_get_range(void **state)
{
	fixture *f = *state;
	kura_backend *b = f->b;
	char name[65], missing[65];
	uint8_t buf[16];

	make_name(name, 11);
	make_name(missing, 12);
	assert_ok(b->put(b, KURA_FILE_PACK, name, "0123456789", 10));
	assert_ok(b->get_range(b, KURA_FILE_PACK, name, 3, 4, buf));
	assert_memory_equal(buf, "3456", 4);
	assert_ok(b->get_range(b, KURA_FILE_PACK, name, 0, 10, buf));
	assert_memory_equal(buf, "0123456789", 10);
	assert_ok(b->get_range(b, KURA_FILE_PACK, name, 10, 0, buf));
	assert_int_equal(b->get_range(b, KURA_FILE_PACK, name, 5, 6, buf), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "file is 10 bytes, wanted range 5..11"));
	assert_non_null(strstr(kura_error_message(), "pack "));
	assert_int_equal(b->get_range(b, KURA_FILE_PACK, name, 100, 1, buf), KURA_ECORRUPT);
	assert_int_equal(b->get_range(b, KURA_FILE_PACK, name, UINT64_MAX - 1, 4, buf),
			 KURA_EINVAL);
	assert_int_equal(b->get_range(b, KURA_FILE_PACK, missing, 0, 1, buf), KURA_ENOTFOUND);
}

static void test_get_missing(void **state)
{
	fixture *f = *state;
	kura_backend *b = f->b;
	char name[65];
	uint8_t *out = (uint8_t *)"sentinel";
	size_t len = 99;

	make_name(name, 13);
	assert_int_equal(b->get(b, KURA_FILE_SNAPSHOT, name, &out, &len), KURA_ENOTFOUND);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_non_null(strstr(kura_error_message(), "snapshot"));
	assert_non_null(strstr(kura_error_message(), name));
	assert_int_equal(b->get(b, KURA_FILE_PACK, name, &out, &len), KURA_ENOTFOUND);
}

static void *put_many(void *arg)
{
	kura_backend *b = arg;
	char name[65];
	uint8_t *out;
	size_t len;

	/* Every thread writes the same names: racing puts of one name must all succeed. */
	for (unsigned i = 0; i < 40; i++) {
		make_name(name, 100 + i);
		if (b->put(b, i % 2 ? KURA_FILE_PACK : KURA_FILE_INDEX, name, name, 64) < 0)
			return (void *)1;
		if (b->get(b, i % 2 ? KURA_FILE_PACK : KURA_FILE_INDEX, name, &out, &len) < 0)
			return (void *)1;
		if (len != 64 || memcmp(out, name, 64) != 0)
			return (void *)1;
		free(out);
	}
	return NULL;
}

static void test_concurrent_put(void **state)
{
	fixture *f = *state;
	pthread_t t[4];
	void *rc;
	char path[200];

	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, put_many, f->b), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &rc), 0);
		assert_null(rc);
	}
	snprintf(path, sizeof(path), "%s/tmp", f->repo);
	assert_int_equal(count_entries(path), 0);
}

/* Streaming writes: stream_open, append, then commit or free (the vault's PUT, a backup's packs).
 */
static void test_stream_commit(void **state)
{
	fixture *f = *state;
	kura_backend *b = f->b;
	kura_backend_stream *s = NULL, *s2 = NULL;
	char name[65], path[200];
	uint8_t *got = NULL;
	struct stat st;
	size_t len = 0;
	bool existed = true;
	int fd;

	assert_ok(kura_backend_check(b));
	assert_non_null(b->stream_fd);
	make_name(name, 21);
	snprintf(path, sizeof(path), "%s/tmp", f->repo);
	assert_ok(b->stream_open(b, &s));
	fd = b->stream_fd(s);
	assert_true(fd >= 0);
	assert_int_equal(count_entries(path), 1);
	assert_ok(b->stream_append(s, "hel", 3));
	assert_ok(b->stream_append(s, "lo", 2));
	/* not visible before commit */
	assert_int_equal(b->get(b, KURA_FILE_PACK, name, &got, &len), KURA_ENOTFOUND);
	assert_ok(b->stream_commit(s, KURA_FILE_PACK, name, &existed));
	assert_false(existed);
	/* the fd is still open and refers to the stored file */
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(st.st_mode & 0777, 0400);
	/* a committed stream takes no more bytes and no second commit */
	assert_int_equal(b->stream_append(s, "x", 1), KURA_EINVAL);
	assert_int_equal(b->stream_commit(s, KURA_FILE_PACK, name, NULL), KURA_EINVAL);
	b->stream_free(s);
	/* stream_free() closed the fd, and left the stored file alone */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(count_entries(path), 0);
	assert_ok(b->get(b, KURA_FILE_PACK, name, &got, &len));
	assert_int_equal(len, 5);
	assert_memory_equal(got, "hello", 5);
	free(got);

	/* a second upload of the same name: existed, nothing replaced, tmp removed */
	assert_ok(b->stream_open(b, &s2));
	assert_ok(b->stream_append(s2, "other", 5));
	assert_ok(b->stream_commit(s2, KURA_FILE_PACK, name, &existed));
	assert_true(existed);
	b->stream_free(s2);
	assert_int_equal(count_entries(path), 0);
	assert_ok(b->get(b, KURA_FILE_PACK, name, &got, &len));
	assert_memory_equal(got, "hello", 5);
	free(got);

	/* other types land in their directory */
	make_name(name, 22);
	assert_ok(b->stream_open(b, &s));
	assert_ok(b->stream_append(s, "cfg", 3));
	assert_ok(b->stream_commit(s, KURA_FILE_CONFIG, name, NULL));
	b->stream_free(s);
	snprintf(path, sizeof(path), "%s/config/%s", f->repo, name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 3);
}

static void test_stream_abort(void **state)
{
	fixture *f = *state;
	kura_backend *b = f->b;
	kura_backend_stream *s = NULL;
	char name[65], path[200];
	int fd;

	snprintf(path, sizeof(path), "%s/tmp", f->repo);
	assert_ok(b->stream_open(b, &s));
	fd = b->stream_fd(s);
	assert_ok(b->stream_append(s, "junk", 4));
	assert_int_equal(count_entries(path), 1);
	b->stream_free(s);
	assert_int_equal(count_entries(path), 0);
	/* stream_free() closed the fd */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	/* freeing nothing is harmless */
	b->stream_free(NULL);

	/* bad arguments to commit() are refused, and the tmp file goes */
	make_name(name, 23);
	assert_ok(b->stream_open(b, &s));
	assert_int_equal(b->stream_commit(s, KURA_FILE_PACK, "../x", NULL), KURA_EINVAL);
	assert_int_equal(count_entries(path), 0);
	b->stream_free(s);
	assert_ok(b->stream_open(b, &s));
	assert_int_equal(b->stream_commit(s, (kura_file_type)9, name, NULL), KURA_EINVAL);
	b->stream_free(s);
	assert_int_equal(count_entries(path), 0);
	/* what is not a stream's own temporary file is never unlinked */
	snprintf(path, sizeof(path), "%s/tmp/keep", f->repo);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_ok(b->stream_open(b, &s));
	b->stream_free(s);
	assert_int_equal(access(path, F_OK), 0);
}

/*
 * A repository made before drill records, that cannot get a drills/ (a
 * read-only disk; here a file in its place): it still opens, lists no
 * records, and refuses to store one with a clear error.
 */
static void test_no_drills_dir(void **state)
{
	fixture *f = *state;
	kura_backend *b = NULL;
	char name[65], path[200];
	uint8_t *out = NULL;
	size_t len = 0;
	int calls = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/drills", f->repo);
	assert_int_equal(rmdir(path), 0);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	assert_ok(kura_backend_local_open(&b, f->repo));
	assert_ok(b->list(b, KURA_FILE_DRILL, stop_now, &calls));
	assert_int_equal(calls, 0);
	make_name(name, 7);
	assert_int_equal(b->put(b, KURA_FILE_DRILL, name, "x", 1), KURA_ENOTFOUND);
	assert_non_null(strstr(kura_error_message(), "drills/"));
	assert_int_equal(b->get(b, KURA_FILE_DRILL, name, &out, &len), KURA_ENOTFOUND);
	/* everything else works as before */
	assert_ok(b->put(b, KURA_FILE_SNAPSHOT, name, "x", 1));
	b->free(b);
	assert_int_equal(unlink(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_drills_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_not_repo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_not_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_existing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_put, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stream_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stream_abort, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
