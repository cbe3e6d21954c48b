/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_watch.c - the vault's own judgment and the hold (server/watch.c,
 * hold.c): the surge and silence rules at their edges, the settings in
 * vault.json, silence, login and deletion bursts raising alerts through
 * a real vault directory, and which snapshots an open alert holds.
 */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "common/buf.h"
#include "files.h"
#include "hold.h"
#include "policy.h"
#include "vault_admin.h"
#include "vault_state.h"
#include "watch.h"

#include "crypto/keyfile.h"
#include "format/snapshot.h"

#define S(x) ((int64_t)(x)*1000000000LL)
#define MiB (1024ULL * 1024)

typedef struct {
	char dir[64];
	char vault[96];
	vault *v;
} fixture;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * S(1) + ts.tv_nsec;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char *pin = NULL, cred[128], dir[sizeof(f->dir)];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-watch-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	memcpy(dir, f->dir, sizeof(dir));
	snprintf(f->vault, sizeof(f->vault), "%s/v", dir);
	assert_ok(vault_init(f->vault, NULL, &pin));
	free(pin);
	snprintf(cred, sizeof(cred), "%s/w.cred", dir);
	assert_ok(vault_client_add(f->vault, "w", VAULT_ROLE_WRITER, "clinic", cred));
	snprintf(cred, sizeof(cred), "%s/x.cred", dir);
	assert_ok(vault_client_add(f->vault, "x", VAULT_ROLE_WRITER, "clinic", cred));
	assert_ok(vault_open(&f->v, f->vault));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	vault_free(f->v);
	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* vault.json's "detect" set to the JSON text `detect`. */
static void set_detect(fixture *f, const char *detect)
{
	char *path = NULL, *text = NULL, *out;
	json_t *doc;

	assert_true(asprintf(&path, "%s/vault.json", f->vault) > 0);
	assert_ok(files_read(path, 1 << 20, &text, NULL));
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(
	    json_object_set_new(doc, "detect", json_loads(detect, JSON_DECODE_ANY, NULL)), 0);
	out = files_json_text(doc);
	assert_ok(files_write_atomic(f->vault, "vault.json", out, false));
	json_decref(doc);
	free(out);
	free(text);
	free(path);
}

static size_t alerts_of_kind(fixture *f, const char *kind, json_t **out_first)
{
	json_t *arr = NULL, *a;
	size_t i, n = 0;

	if (out_first)
		*out_first = NULL;
	assert_ok(alerts_list(f->vault, true, now_ns(), &arr));
	json_array_foreach(arr, i,
			   a) if (strcmp(json_string_value(json_object_get(a, "kind")), kind) == 0)
	{
		if (n++ == 0 && out_first)
			*out_first = json_incref(a);
	}
	json_decref(arr);
	return n;
}

/* ------------------------------------------------------------------ */

static void test_surge_rule(void **state)
{
	const uint64_t small[] = {6000, 6100, 5900, 6050};
	const uint64_t first_full[] = {1024 * MiB, 10 * MiB, 12 * MiB, 11 * MiB};
	const uint64_t huge[] = {UINT64_MAX, UINT64_MAX, UINT64_MAX};
	const uint64_t zeros[] = {0, 0, 0};
	uint64_t m, limit;

	(void)state;
	/* Learning: fewer than WATCH_HISTORY_MIN measures judge nothing. */
	assert_false(watch_surge(small, 2, 100 * MiB, 0, NULL, NULL));
	/* Small days: the floor decides. */
	assert_true(watch_surge(small, 4, 4 * MiB, (int64_t)MiB, &m, &limit));
	assert_int_equal(m, 6025);
	assert_int_equal(limit, MiB);
	assert_false(watch_surge(small, 4, 900 * 1024, (int64_t)MiB, NULL, NULL));
	/* The first, full backup does not move the median. */
	assert_false(watch_surge(first_full, 4, 30 * MiB, 0, &m, &limit));
	assert_int_equal(m, 11 * MiB + MiB / 2);
	assert_int_equal(limit, 46 * MiB);
	assert_false(watch_surge(first_full, 4, 46 * MiB, 0, NULL, NULL));
	assert_true(watch_surge(first_full, 4, 46 * MiB + 1, 0, NULL, NULL));
	/* A client that usually adds nothing: only the floor stands between. */
	assert_false(watch_surge(zeros, 3, WATCH_SURGE_MIN, WATCH_SURGE_MIN, NULL, NULL));
	assert_true(watch_surge(zeros, 3, WATCH_SURGE_MIN + 1, WATCH_SURGE_MIN, NULL, NULL));
	/* No overflow at the edges. */
	assert_false(watch_surge(huge, 3, UINT64_MAX, 0, NULL, &limit));
	assert_int_equal(limit, UINT64_MAX);
}

static void test_silence_rule(void **state)
{
	const int64_t t[] = {S(0), S(10), S(20), S(30)};
	const int64_t uneven[] = {S(0), S(10), S(11), S(40), S(41)};
	int64_t usual, limit;

	(void)state;
	assert_false(watch_silent(t, 3, S(1000), 1, &usual, &limit));
	assert_false(watch_silent(t, 4, S(50), 1, &usual, &limit));
	assert_int_equal(usual, S(10));
	assert_int_equal(limit, S(20));
	assert_true(watch_silent(t, 4, S(51), 1, &usual, &limit));
	/* The minimum: usual + silence_min when that is longer. */
	assert_false(watch_silent(t, 4, S(30 + 3600), 3600, &usual, &limit));
	assert_int_equal(limit, S(3610));
	/* The median interval, not the mean. */
	assert_false(watch_silent(uneven, 5, S(41) + S(11), 0, &usual, &limit));
	assert_int_equal(usual, S(5) + S(1) / 2);
	assert_true(watch_silent(uneven, 5, S(41) + S(11) + 1, 0, &usual, &limit));
}

static void test_settings(void **state)
{
	fixture *f = *state;
	static const char *const bad[] = {
	    "[]",
	    "{\"x\": 1}",
	    "{\"surge_min\": -1}",
	    "{\"surge_min\": 1.5}",
	    "{\"silence_min\": 5}",
	    "{\"silence_min\": \"5 hours\"}",
	    "{\"silence_min\": \"-1s\"}",
	};
	watch_settings s;
	watch *w = NULL;

	assert_ok(watch_settings_load(f->vault, &s));
	assert_int_equal(s.surge_min, WATCH_SURGE_MIN);
	assert_int_equal(s.silence_min_s, WATCH_SILENCE_MIN_S);
	set_detect(f, "{\"surge_min\": 1024, \"silence_min\": \"90s\"}");
	assert_ok(watch_settings_load(f->vault, &s));
	assert_int_equal(s.surge_min, 1024);
	assert_int_equal(s.silence_min_s, 90);
	/* The settings still load for serving with the member. */
	vault_free(f->v);
	f->v = NULL;
	assert_ok(vault_open(&f->v, f->vault));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_detect(f, bad[i]);
		assert_int_equal(watch_settings_load(f->vault, &s), KURA_ECORRUPT);
		assert_int_equal(watch_new(&w, f->v), KURA_ECORRUPT);
		assert_null(w);
	}
}

/* Append "NAME NS CLIENT" lines to meta/clinic/snapshot-times. */
static void record(fixture *f, const char *name, int64_t ns, const char *client)
{
	assert_ok(vault_record_snapshot(f->v, "clinic", name, ns, client));
}

static void snap_name(char out[KURA_ID_HEX], int i)
{
	memset(out, "0123456789abcdef"[i % 16], KURA_ID_HEX - 1);
	out[KURA_ID_HEX - 1] = '\0';
}

static void test_silence_raises_once(void **state)
{
	fixture *f = *state;
	char name[KURA_ID_HEX];
	int64_t t0 = now_ns() - S(100);
	json_t *a;
	watch *w = NULL;

	set_detect(f, "{\"silence_min\": \"1s\"}");
	for (int i = 0; i < 4; i++) {
		snap_name(name, i);
		record(f, name, t0 + S(10) * i, "w");
	}
	/* x sent only two: no judgment. */
	snap_name(name, 9);
	record(f, name, t0, "x");
	snap_name(name, 10);
	record(f, name, t0 + S(1), "x");
	assert_ok(watch_new(&w, f->v));
	assert_ok(watch_tick(w, 0, t0 + S(45)));
	assert_int_equal(alerts_of_kind(f, "silence", NULL), 0);
	assert_ok(watch_tick(w, 0, t0 + S(51)));
	assert_int_equal(alerts_of_kind(f, "silence", &a), 1);
	assert_string_equal(json_string_value(json_object_get(a, "repo")), "clinic");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(a, "details"), "client")), "w");
	json_decref(a);
	/* Once per silence. */
	assert_ok(watch_tick(w, 0, t0 + S(60)));
	assert_int_equal(alerts_of_kind(f, "silence", &a), 1);
	assert_int_equal(json_integer_value(json_object_get(a, "count")), 1);
	json_decref(a);
	/* A restart remembers the silence it raised. */
	watch_free(w);
	w = NULL;
	assert_ok(watch_new(&w, f->v));
	assert_ok(watch_tick(w, 0, t0 + S(70)));
	assert_int_equal(alerts_of_kind(f, "silence", &a), 1);
	assert_int_equal(json_integer_value(json_object_get(a, "count")), 1);
	json_decref(a);
	/* A revoked client is not missed. */
	watch_free(w);
	w = NULL;
	assert_ok(vault_client_revoke(f->vault, "w"));
	assert_ok(vault_reload(f->v));
	assert_ok(watch_new(&w, f->v));
	assert_ok(watch_tick(w, 0, t0 + S(500)));
	assert_int_equal(alerts_of_kind(f, "silence", &a), 1);
	assert_int_equal(json_integer_value(json_object_get(a, "count")), 1);
	json_decref(a);
	watch_free(w);
}

static void test_login_burst_aggregated(void **state)
{
	fixture *f = *state;
	int64_t t = now_ns();
	uint64_t total = 0;
	json_t *a;
	watch *w = NULL;

	assert_ok(watch_new(&w, f->v));
	/* A trickle: 1 a second for two minutes is no burst. */
	for (int s = 0; s < 120; s++)
		assert_ok(watch_tick(w, total += 1, t + S(s)));
	assert_int_equal(alerts_of_kind(f, "login-burst", NULL), 0);
	/* 40 a second for 30 seconds: one alert, however long it lasts. */
	for (int s = 120; s < 150; s++)
		assert_ok(watch_tick(w, total += 40, t + S(s)));
	assert_int_equal(alerts_of_kind(f, "login-burst", &a), 1);
	assert_true(json_is_null(json_object_get(a, "repo")));
	assert_int_equal(json_integer_value(json_object_get(a, "count")), 1);
	json_decref(a);
	/* Quiet for two minutes, then a second burst refreshes the same open alert. */
	for (int s = 150; s < 270; s++)
		assert_ok(watch_tick(w, total, t + S(s)));
	for (int s = 270; s < 275; s++)
		assert_ok(watch_tick(w, total += 40, t + S(s)));
	assert_int_equal(alerts_of_kind(f, "login-burst", &a), 1);
	assert_int_equal(json_integer_value(json_object_get(a, "count")), 2);
	json_decref(a);
	watch_free(w);
}

static void test_deletion_burst(void **state)
{
	fixture *f = *state;
	int64_t t = now_ns();
	json_t *a;
	watch *w = NULL;

	assert_ok(watch_new(&w, f->v));
	/* Nine an hour, spread out, twice: no burst. */
	for (int i = 0; i < WATCH_DELETION_BURST - 1; i++)
		assert_ok(watch_deletion(w, "clinic", "w", 1, t + S(400) * i));
	assert_int_equal(alerts_of_kind(f, "deletion-burst", NULL), 0);
	t += S(4 * 3600);
	for (int i = 0; i < WATCH_DELETION_BURST; i++)
		assert_ok(watch_deletion(w, "clinic", "w", 3, t + S(i)));
	assert_int_equal(alerts_of_kind(f, "deletion-burst", &a), 1);
	assert_string_equal(json_string_value(json_object_get(a, "repo")), "clinic");
	json_decref(a);
	/* Another repository has its own count. */
	for (int i = 0; i < WATCH_DELETION_BURST - 1; i++)
		assert_ok(watch_deletion(w, "lab", "x", 1, t + S(i)));
	assert_int_equal(alerts_of_kind(f, "deletion-burst", NULL), 1);
	watch_free(w);
}

static void test_hold_marks(void **state)
{
	fixture *f = *state;
	char names[6][KURA_ID_HEX], adir[160];
	vault_snapshot_time t[6];
	unsigned reasons[6];
	unsigned long which;
	int64_t base = now_ns() - S(10000), since = base + S(300);
	vault_policy p;
	char details[128], why[256];

	policy_default(&p);
	p.min_age_s = 0;
	/* w: 100 200 300(suspect) 400; x: 150 250 */
	static const int64_t at[6] = {100, 200, 300, 400, 150, 250};
	static const char *const by[6] = {"w", "w", "w", "w", "x", "x"};
	for (int i = 0; i < 6; i++) {
		snap_name(names[i], i);
		t[i].name = names[i];
		t[i].received_ns = base + S(at[i]);
		record(f, names[i], t[i].received_ns, by[i]);
	}
	/* No alert: no hold. */
	memset(reasons, 0, sizeof(reasons));
	assert_ok(hold_mark(f->vault, "clinic", &p, t, 6, reasons, &which));
	assert_int_equal(which, 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(reasons[i], 0);
	snprintf(details, sizeof(details), "{\"since_ns\": %lld}", (long long)since);
	assert_ok(alerts_raise(f->v, "clinic", "bytes-surge", "surge", details));
	memset(reasons, 0, sizeof(reasons));
	assert_ok(hold_mark(f->vault, "clinic", &p, t, 6, reasons, &which));
	assert_int_equal(which, 1);
	assert_int_equal(reasons[0], 0);
	assert_int_equal(reasons[1], HOLD_KEEP_LAST);  /* w's last clean */
	assert_int_equal(reasons[2], HOLD_KEEP_SINCE); /* the suspect one: evidence */
	assert_int_equal(reasons[3], HOLD_KEEP_SINCE);
	assert_int_equal(reasons[4], 0);
	assert_int_equal(reasons[5], HOLD_KEEP_LAST); /* x's last clean */
	hold_explain(reasons[1], why, sizeof(why));
	assert_non_null(strstr(why, "newest snapshot of its client before the alert"));
	/* min_age at the alert keeps what it kept then. */
	p.min_age_s = 160;
	memset(reasons, 0, sizeof(reasons));
	assert_ok(hold_mark(f->vault, "clinic", &p, t, 6, reasons, NULL));
	assert_int_equal(reasons[0], 0);
	assert_int_equal(reasons[1], HOLD_KEEP_LAST | HOLD_KEEP_SINCE);
	assert_int_equal(reasons[4], HOLD_KEEP_SINCE);
	assert_int_equal(reasons[5], HOLD_KEEP_LAST | HOLD_KEEP_SINCE);
	/* Another repository is not held. */
	memset(reasons, 0, sizeof(reasons));
	assert_ok(hold_mark(f->vault, "lab", &p, t, 6, reasons, &which));
	assert_int_equal(which, 0);
	assert_int_equal(reasons[1], 0);
	/* An unreadable alert record holds everything. */
	snprintf(adir, sizeof(adir), "%s/alerts", f->vault);
	assert_ok(files_write_atomic(adir, "1.json", "{broken", false));
	p.min_age_s = 0;
	memset(reasons, 0, sizeof(reasons));
	assert_ok(hold_mark(f->vault, "clinic", &p, t, 6, reasons, NULL));
	for (int i = 0; i < 6; i++)
		assert_true(reasons[i] & HOLD_KEEP_SINCE);
}

/* A pack of `len` bytes of `fill` stored in clinic; its name into out. */
static void put_pack(fixture *f, size_t len, int fill, char out[KURA_ID_HEX])
{
	uint8_t *data = malloc(len), hash[KURA_HASH_SIZE];
	kura_backend *b;

	assert_non_null(data);
	memset(data, fill, len);
	kura_sha256(hash, data, len);
	kura_hex(out, hash, sizeof(hash));
	assert_ok(vault_repo(f->v, "clinic", &b));
	assert_ok(b->put(b, KURA_FILE_PACK, out, data, len));
	free(data);
	/* The kernel stamps files from a coarse clock that can lag now_ns() by a tick, so a
	 * pack stored right after an upload could look older than it.  In life backups are
	 * seconds apart; here the order is pinned: stored now, by the clock uploads use. */
	char path[4096];
	int64_t t = now_ns();
	struct timespec ts[2] = {{.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000},
				 {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000}};

	snprintf(path, sizeof(path), "%s/repos/clinic/data/%.2s/%s", f->vault, out, out);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* A real snapshot naming one pack, judged as `kurad serve` judges an upload. */
static void upload(fixture *f, watch *w, const kura_keys *keys, const char *pack, int64_t at,
		   char out[KURA_ID_HEX])
{
	uint8_t packs[1][KURA_HASH_SIZE], name[KURA_HASH_SIZE], *data = NULL;
	char *paths[] = {"/srv"};
	kura_snapshot s;
	size_t len;

	memset(&s, 0, sizeof(s));
	assert_ok(kura_unhex(packs[0], pack, KURA_HASH_SIZE));
	s.time_ns = at;
	s.packs = packs;
	s.npacks = 1;
	s.hostname = "ward4";
	s.username = "root";
	s.paths = paths;
	s.npaths = 1;
	s.program = "kura test";
	assert_ok(kura_snapshot_encode(&data, &len, name, keys, &s));
	kura_hex(out, name, KURA_HASH_SIZE);
	assert_ok(vault_record_snapshot(f->v, "clinic", out, at, "w"));
	assert_ok(watch_snapshot(w, "clinic", "w", out, at, data, len));
	free(data);
}

static void test_snapshot_surge(void **state)
{
	fixture *f = *state;
	char pack[KURA_ID_HEX], snap[KURA_ID_HEX], path[256], *text = NULL;
	kura_keys restore, backup;
	json_t *a;
	watch *w = NULL;
	int64_t at;

	set_detect(f, "{\"surge_min\": 1048576}");
	assert_ok(kura_keys_generate(&restore));
	kura_keys_to_backup(&backup, &restore);
	assert_ok(watch_new(&w, f->v));
	for (int i = 0; i < 4; i++) {
		put_pack(f, 1000 + i, i, pack);
		upload(f, w, &backup, pack, at = now_ns(), snap);
		/* Junk lines in the record are skipped; a well-formed outlier is one measure, which
		 * the median ignores. */
		if (i == 1) {
			snprintf(path, sizeof(path), "%s/meta/clinic/volumes", f->vault);
			FILE *fp = fopen(path, "a");

			assert_non_null(fp);
			fputs("junk\n9 9 w 99999999999 1 0\nx -5 w 1 1 7\n", fp);
			fclose(fp);
		}
	}
	assert_int_equal(alerts_of_kind(f, "bytes-surge", NULL), 0);
	/* A snapshot naming an old pack adds nothing. */
	upload(f, w, &backup, pack, now_ns(), snap);
	put_pack(f, 2 << 20, 0x55, pack);
	upload(f, w, &backup, pack, at = now_ns(), snap);
	assert_int_equal(alerts_of_kind(f, "bytes-surge", &a), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(a, "details"), "snapshot")), snap);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(a, "details"), "new_bytes")),
	    2 << 20);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(a, "details"), "since_ns")), at);
	json_decref(a);
	snprintf(path, sizeof(path), "%s/meta/clinic/volumes", f->vault);
	assert_ok(files_read(path, 1 << 20, &text, NULL));
	assert_non_null(strstr(text, " w 0 0 0\n"));
	assert_non_null(strstr(text, " w 2097152 1 1\n"));
	free(text);
	/* While the alert is open the surge does not become the baseline: the next is suspect too.
	 */
	put_pack(f, 2 << 20, 0x66, pack);
	upload(f, w, &backup, pack, now_ns(), snap);
	assert_int_equal(alerts_of_kind(f, "bytes-surge", &a), 1);
	assert_int_equal(json_integer_value(json_object_get(a, "count")), 2);
	json_decref(a);
	/* Junk is not a snapshot: an error, nothing recorded. */
	assert_int_equal(
	    watch_snapshot(w, "clinic", "w", snap, now_ns(), (const uint8_t *)"junk", 4),
	    KURA_ECORRUPT);
	kura_keys_wipe(&restore);
	kura_keys_wipe(&backup);
	watch_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_surge_rule),
	    cmocka_unit_test(test_silence_rule),
	    cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_silence_raises_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login_burst_aggregated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deletion_burst, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hold_marks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_surge, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
