/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_worker_errors.c - a backup that fails in a worker thread reports
 * that worker's error, code and message.
 *
 * Messages live per thread (error.c).  When a pack cannot be stored, a
 * worker fails while the calling thread is still reading files; the
 * calling thread must then report the worker's message, not whatever its
 * own thread-local message happened to hold (it used to print "wrong
 * passphrase: ..." left over from opening the repository, or "no error").
 * Two stores: a local repository whose streamed pack write fails (past
 * RLIMIT_FSIZE: EFBIG, the path a full disk takes), and a store that
 * buffers packs (as a vault does) whose put() refuses with its own text.
 */
#include "testutil.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "common/error.h"
#include "repo/repo.h"

static char base[64];

#define STALE "stale: wrong passphrase, left over from an earlier call"

static kura_repo *new_repo(const char *name)
{
	kura_init_options o;
	kura_repo *repo = NULL;
	char path[128];

	kura_init_options_default(&o);
	o.kdf_profile = KURA_KDF_INTERACTIVE;
	o.chunk_min = 64 * 1024;
	o.chunk_avg = 128 * 1024;
	o.chunk_max = 256 * 1024;
	o.pack_size = 1024 * 1024; /* the smallest */
	snprintf(path, sizeof(path), "%s/%s", base, name);
	assert_ok(kura_repo_init(&repo, path, "correct horse battery staple workers", &o));
	return repo;
}

/* Enough incompressible data that the walker is still reading when the first pack fails. */
static void make_source(char *out, size_t size)
{
	char file[256];

	snprintf(out, size, "%s/src", base);
	assert_int_equal(mkdir(out, 0700), 0);
	for (unsigned i = 0; i < 8; i++) {
		snprintf(file, sizeof(file), "%s/f%u.bin", out, i);
		test_write_random(file, 2u << 20, 100 + i);
	}
}

/* The backup must fail with `code` and `needle` in its message, and no stale text. */
static void backup_fails(kura_repo *repo, const char *src, int code, const char *needle)
{
	kura_backup_result res;
	char cache[128];
	int rc;

	snprintf(cache, sizeof(cache), "%s/cache", base);
	kura_error_set(KURA_EAUTH, STALE);
	rc = test_backup_dir(repo, src, cache, &res);
	if (!strstr(kura_error_message(), needle))
		print_error("message: %s\n", kura_error_message());
	assert_int_equal(rc, code);
	assert_non_null(strstr(kura_error_message(), needle));
	assert_null(strstr(kura_error_message(), "stale"));
	assert_int_equal(kura_error_code(), code);
}

static void test_streamed_pack_fails(void **state)
{
	struct rlimit old, small = {.rlim_cur = 256 * 1024};
	kura_repo *repo = new_repo("local");
	char src[128];

	make_source(src, sizeof(src));
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	backup_fails(repo, src, KURA_EIO, "write: File too large");
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	kura_repo_free(repo);
}

/* A store that keeps packs in memory until put(), and refuses every pack. */
typedef struct {
	kura_backend parent;
	kura_backend *real;
} refusing;

static int r_put(kura_backend *b, kura_file_type type, const char *name, const void *data,
		 size_t len)
{
	refusing *r = (refusing *)b;

	if (type == KURA_FILE_PACK)
		return kura_error_set(KURA_EIO, "test store: pack %.8s refused: the disk is full",
				      name);
	return r->real->put(r->real, type, name, data, len);
}

static int r_get(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
		 size_t *out_len)
{
	refusing *r = (refusing *)b;

	return r->real->get(r->real, type, name, out, out_len);
}

static int r_get_range(kura_backend *b, kura_file_type type, const char *name, uint64_t offset,
		       size_t len, uint8_t *buf)
{
	refusing *r = (refusing *)b;

	return r->real->get_range(r->real, type, name, offset, len, buf);
}

static int r_list(kura_backend *b, kura_file_type type, kura_backend_list_fn fn, void *ctx)
{
	refusing *r = (refusing *)b;

	return r->real->list(r->real, type, fn, ctx);
}

static void r_free(kura_backend *b)
{
	refusing *r = (refusing *)b;

	r->real->free(r->real);
	free(r);
}

static void test_buffered_put_refused(void **state)
{
	kura_repo *repo = new_repo("buffered");
	refusing *r = calloc(1, sizeof(*r));
	char src[128];

	assert_non_null(r);
	make_source(src, sizeof(src));
	/* a store of its own, like a vault's: the required slots only (no lock, no streams) */
	assert_int_equal(kura_backend_init(&r->parent, KURA_BACKEND_VERSION), 0);
	r->parent.put = r_put;
	r->parent.get = r_get;
	r->parent.get_range = r_get_range;
	r->parent.list = r_list;
	r->parent.free = r_free;
	assert_int_equal(kura_backend_check(&r->parent), 0);
	r->real = repo->backend;
	repo->backend = &r->parent;
	backup_fails(repo, src, KURA_EIO, "refused: the disk is full");
	kura_repo_free(repo);
}

static int setup_dir(void **state)
{
	/* past RLIMIT_FSIZE a write fails with EFBIG instead of killing us */
	signal(SIGXFSZ, SIG_IGN);
	snprintf(base, sizeof(base), "/tmp/kura-workers-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	return test_remove_tree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_streamed_pack_fails, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_buffered_put_refused, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
