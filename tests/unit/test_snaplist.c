/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_snaplist.c - which time orders the snapshots (lib/repo/snaplist.c)
 * and how a vault's receive time is read (lib/backend/vault_time.c).
 *
 * A repository whose backend reports receive times (as the vault backend
 * does through list_detail) is made by wrapping a local backend: the
 * wrapper hands out the receive times, or the hostile answers, each test
 * sets.  The snapshots are real backups whose claimed times are set
 * through kura_backup_options.time_ns.
 */
#include "testutil.h"

#include <sys/stat.h>
#include <unistd.h>

#include "backend/vault_time.h"
#include "repo/repo.h"

#define NS 1000000000LL
#define T2056 (2713910400LL * NS) /* 2056-01-01T00:00:00Z */
#define T2026 (1795000000LL * NS) /* 2026-11-18T11:06:40Z */

static char base[64];

/* A local backend that also answers list_detail with the times set here. */
typedef struct {
	kura_backend parent;
	kura_backend *inner;
	char ids[2][KURA_ID_HEX];
	int64_t received[2];
	const char *problem[2];
	kura_backend_entry_fn fn;
	void *ctx;
} timed_backend;

static timed_backend *timed_of(kura_backend *b)
{
	return (timed_backend *)b;
}

static int t_put(kura_backend *b, kura_file_type t, const char *n, const void *d, size_t l)
{
	return timed_of(b)->inner->put(timed_of(b)->inner, t, n, d, l);
}

static int t_get(kura_backend *b, kura_file_type t, const char *n, uint8_t **o, size_t *ol)
{
	return timed_of(b)->inner->get(timed_of(b)->inner, t, n, o, ol);
}

static int t_get_range(kura_backend *b, kura_file_type t, const char *n, uint64_t off, size_t len,
		       uint8_t *buf)
{
	return timed_of(b)->inner->get_range(timed_of(b)->inner, t, n, off, len, buf);
}

static int t_list(kura_backend *b, kura_file_type t, kura_backend_list_fn fn, void *ctx)
{
	return timed_of(b)->inner->list(timed_of(b)->inner, t, fn, ctx);
}

static int t_one(const char *name, uint64_t size, void *ctx)
{
	timed_backend *tb = ctx;
	kura_backend_entry e = {.name = name, .size = size};

	for (int i = 0; i < 2; i++)
		if (strcmp(name, tb->ids[i]) == 0) {
			e.received_ns = tb->received[i];
			e.received_problem = tb->problem[i];
		}
	return tb->fn(&e, tb->ctx);
}

static int t_list_detail(kura_backend *b, kura_file_type t, kura_backend_entry_fn fn, void *ctx)
{
	timed_backend *tb = timed_of(b);

	tb->fn = fn;
	tb->ctx = ctx;
	return tb->inner->list(tb->inner, t, t_one, tb);
}

static void t_free(kura_backend *b)
{
	timed_backend *tb = timed_of(b);

	tb->inner->free(tb->inner);
	free(tb);
}

typedef struct {
	kura_repo *repo;
	timed_backend *tb; /* owned by repo */
	char future[KURA_ID_HEX], normal[KURA_ID_HEX];
} fixture;

static void backup_claiming(kura_repo *repo, const char *src, int64_t time_ns,
			    char out[KURA_ID_HEX])
{
	kura_backup_options bo;
	kura_backup_result r;
	const char *paths[1] = {src};
	char cache[128];

	memset(&bo, 0, sizeof(bo));
	snprintf(cache, sizeof(cache), "%s/cache", base);
	bo.paths = paths;
	bo.npaths = 1;
	bo.hostname = "test";
	bo.cache_dir = cache;
	bo.threads = 2;
	bo.stdin_fd = -1;
	bo.time_ns = time_ns;
	assert_ok(kura_backup(repo, &bo, &r));
	memcpy(out, r.snapshot_id, KURA_ID_HEX);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	kura_init_options o;
	char path[128], src[128];

	strcpy(base, "/tmp/kura-test-snaplist-XXXXXX");
	if (!f || !mkdtemp(base))
		return -1;
	snprintf(src, sizeof(src), "%s/src", base);
	mkdir(src, 0700);
	snprintf(path, sizeof(path), "%s/src/a", base);
	test_write_random(path, 1000, 1);
	kura_init_options_default(&o);
	o.kdf_profile = KURA_KDF_INTERACTIVE;
	snprintf(path, sizeof(path), "%s/repo", base);
	assert_ok(kura_repo_init(&f->repo, path, "correct horse battery staple snaplist", &o));
	/* the 2056 snapshot is written first, the normal one after it */
	backup_claiming(f->repo, src, T2056, f->future);
	backup_claiming(f->repo, src, T2026, f->normal);
	if (!(f->tb = calloc(1, sizeof(*f->tb))))
		return -1;
	f->tb->parent = *f->repo->backend;
	f->tb->parent.put = t_put;
	f->tb->parent.get = t_get;
	f->tb->parent.get_range = t_get_range;
	f->tb->parent.list = t_list;
	f->tb->parent.list_detail = NULL; /* a local repository until a test says otherwise */
	f->tb->parent.free = t_free;
	f->tb->parent.lock = NULL;
	f->tb->parent.unlock = NULL;
	f->tb->inner = f->repo->backend;
	memcpy(f->tb->ids[0], f->future, KURA_ID_HEX);
	memcpy(f->tb->ids[1], f->normal, KURA_ID_HEX);
	f->repo->backend = &f->tb->parent;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	kura_repo_free(f->repo);
	free(f);
	return test_remove_tree(base);
}

/* The two snapshots in list order, and what "latest" resolves to. */
static void listed(fixture *f, const char *first, const char *second, kura_snapshot_info **out)
{
	char latest[KURA_ID_HEX];
	size_t n;

	assert_ok(kura_snapshots_list(f->repo, out, &n));
	assert_int_equal(n, 2);
	assert_string_equal((*out)[0].id, first);
	assert_string_equal((*out)[1].id, second);
	assert_ok(kura_snapshot_resolve(f->repo, "latest", latest));
	assert_string_equal(latest, second);
}

static void test_local_orders_by_claim(void **state)
{
	fixture *f = *state;
	kura_snapshot_info *list;

	listed(f, f->normal, f->future, &list);
	assert_int_equal(list[1].time_ns, T2056);
	assert_int_equal(list[1].received_ns, 0);
	assert_null(list[1].time_problem);
	assert_int_equal(kura_snapshot_order_ns(&list[1]), T2056);
	kura_snapshots_free(list, 2);
}

static void test_receive_time_orders(void **state)
{
	fixture *f = *state;
	kura_snapshot_info *list;

	f->tb->parent.list_detail = t_list_detail;
	f->tb->received[0] = T2026 + 10 * NS; /* the 2056 one arrived first */
	f->tb->received[1] = T2026 + 20 * NS;
	listed(f, f->future, f->normal, &list);
	assert_int_equal(list[0].time_ns, T2056); /* the claim is kept beside it */
	assert_int_equal(list[0].received_ns, T2026 + 10 * NS);
	assert_int_equal(kura_snapshot_order_ns(&list[0]), T2026 + 10 * NS);
	assert_null(list[0].time_problem);
	kura_snapshots_free(list, 2);

	/* Received in the other order: the list follows the vault, not the claims. */
	f->tb->received[0] = T2026 + 30 * NS;
	listed(f, f->normal, f->future, &list);
	kura_snapshots_free(list, 2);
}

static void test_hostile_listing_falls_back(void **state)
{
	fixture *f = *state;
	kura_snapshot_info *list;

	/* No usable receive time for the 2056 one: its claim orders, with the reason. */
	f->tb->parent.list_detail = t_list_detail;
	f->tb->received[0] = 0;
	f->tb->problem[0] = "not an RFC 3339 UTC time";
	f->tb->received[1] = T2026 + 20 * NS;
	listed(f, f->normal, f->future, &list);
	assert_string_equal(list[1].time_problem, "not an RFC 3339 UTC time");
	assert_int_equal(list[1].received_ns, 0);
	assert_null(list[0].time_problem);
	kura_snapshots_free(list, 2);

	/* A negative time from a backend is unknown, never an order. */
	f->tb->received[0] = -5;
	f->tb->problem[0] = NULL;
	listed(f, f->normal, f->future, &list);
	assert_int_equal(list[1].received_ns, 0);
	kura_snapshots_free(list, 2);
}

static void test_parse_received(void **state)
{
	const int64_t now = T2026;
	int64_t t;

	(void)state;
	assert_null(kura_vault__parse_received("2026-11-18T00:00:00.000000001Z", now, &t));
	assert_int_equal(t, 1794960000LL * NS + 1);
	assert_null(kura_vault__parse_received("2026-11-17T23:59:59Z", now, &t));
	assert_int_equal(t, 1794959999LL * NS);
	assert_null(kura_vault__parse_received("2024-02-29T12:00:00.5Z", now, &t));
	assert_int_equal(t % NS, 500000000);

	static const char *const bad[] = {
	    "",
	    "2026-11-18",
	    "2026-11-18T00:00:00",
	    "2026-11-18T00:00:00+00:00",
	    "2026-11-18 00:00:00Z",
	    "2026-13-18T00:00:00Z",
	    "2025-02-29T00:00:00Z",
	    "2026-11-31T00:00:00Z",
	    "2026-11-18T24:00:00Z",
	    "2026-11-18T00:00:60Z",
	    "2026-11-18T00:00:00.Z",
	    "2026-11-18T00:00:00.0000000001Z",
	    "2026-11-18T00:00:00ZZ",
	    "+026-11-18T00:00:00Z",
	    "2026-11-18T00:00:00z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		t = 42;
		assert_string_equal(kura_vault__parse_received(bad[i], now, &t),
				    "not an RFC 3339 UTC time");
		assert_int_equal(t, 0);
	}
	assert_string_equal(kura_vault__parse_received(NULL, now, &t), "missing");
	assert_string_equal(kura_vault__parse_received("1999-12-31T23:59:59Z", now, &t),
			    "before 2000");
	assert_string_equal(kura_vault__parse_received("2056-01-01T00:00:00Z", now, &t),
			    "more than a day in the future");
	assert_string_equal(kura_vault__parse_received("9999-12-31T23:59:59.999999999Z", now, &t),
			    "more than a day in the future");
	assert_int_equal(t, 0);
	/* a vault clock a little ahead of ours is still a time */
	assert_null(kura_vault__parse_received("2026-11-19T10:00:00Z", now, &t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_local_orders_by_claim, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_receive_time_orders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_listing_falls_back, setup, teardown),
	    cmocka_unit_test(test_parse_received),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
