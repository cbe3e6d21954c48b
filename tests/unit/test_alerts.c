/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_alerts.c - the vault's alerts room (server/alerts.c,
 * alert_record.c, alert_resolve.c, alert_command.c): raising and
 * refreshing, the hold's question, the operator's command (once per
 * alert opened), resolution only by an approver quorum (and not by editing the
 * record), hostile records, the audit entries and the status.
 *
 * Every test builds a vault with a writer for repository "clinic", a
 * writer for "lab", three approvers (alice, bob, carol) and quorum 2.
 */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alert_command.h"
#include "alert_resolve.h"
#include "alerts.h"
#include "approvers.h"
#include "files.h"
#include "policy.h"
#include "status.h"
#include "vault_admin.h"
#include "vault_state.h"

#define S(x) ((int64_t)(x)*1000000000LL)

typedef struct {
	char dir[64];
	char vault[96];
	char keys[3][128];
	char out[128]; /* what the alert command writes */
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
	static const char *const names[3] = {"alice", "bob", "carol"};
	fixture *f = calloc(1, sizeof(*f));
	char *pin = NULL, cred[128], dir[sizeof(f->dir)];
	vault_policy p;

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-alerts-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	memcpy(dir, f->dir, sizeof(dir));
	snprintf(f->vault, sizeof(f->vault), "%s/v", dir);
	/* the approver keys' passphrase (approver_pass.h) */
	snprintf(cred, sizeof(cred), "%s/approver.pass", dir);
	{
		FILE *pf = fopen(cred, "w");

		assert_non_null(pf);
		fputs("correct horse battery staple approver\n", pf);
		fclose(pf);
		setenv("KURA_APPROVER_PASSWORD_FILE", cred, 1);
	}
	snprintf(f->out, sizeof(f->out), "%s/alert-ran", dir);
	assert_ok(vault_init(f->vault, NULL, &pin));
	free(pin);
	snprintf(cred, sizeof(cred), "%s/w.cred", dir);
	assert_ok(vault_client_add(f->vault, "w", VAULT_ROLE_WRITER, "clinic", cred));
	snprintf(cred, sizeof(cred), "%s/l.cred", dir);
	assert_ok(vault_client_add(f->vault, "l", VAULT_ROLE_WRITER, "lab", cred));
	for (int i = 0; i < 3; i++) {
		snprintf(f->keys[i], sizeof(f->keys[i]), "%s/%s.key", dir, names[i]);
		assert_ok(approvers_add(f->vault, names[i], f->keys[i], KURA_KDF_INTERACTIVE));
	}
	policy_default(&p);
	p.quorum = 2;
	assert_ok(policy_save(f->vault, &p));
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

/* Rewrite vault.json with "alert_command" set to the JSON text `cmd`. */
static void set_command(fixture *f, const char *cmd)
{
	char *path = NULL, *text = NULL, *out = NULL;
	json_t *doc;

	assert_true(asprintf(&path, "%s/vault.json", f->vault) > 0);
	assert_ok(files_read(path, 1 << 20, &text, NULL));
	doc = json_loads(text, JSON_ALLOW_NUL, NULL);
	assert_non_null(doc);
	assert_int_equal(
	    json_object_set_new(doc, "alert_command",
				json_loads(cmd, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)),
	    0);
	out = files_json_text(doc);
	assert_ok(files_write_atomic(f->vault, "vault.json", out, false));
	json_decref(doc);
	free(out);
	free(text);
	free(path);
}

/* The alert `id` as alerts_list shows it (a new reference). */
static json_t *listed(fixture *f, unsigned long id)
{
	json_t *arr = NULL, *a, *found = NULL;
	size_t i;

	assert_ok(alerts_list(f->vault, true, now_ns(), &arr));
	json_array_foreach(arr, i,
			   a) if ((unsigned long)json_integer_value(json_object_get(a, "id")) == id)
	    found = json_incref(a);
	json_decref(arr);
	assert_non_null(found);
	return found;
}

static const char *state_of(fixture *f, unsigned long id)
{
	static char s[32];
	json_t *a = listed(f, id);

	snprintf(s, sizeof(s), "%s", json_string_value(json_object_get(a, "state")));
	json_decref(a);
	return s;
}

static void resolve(fixture *f, unsigned long id, int who)
{
	char *summary = NULL;

	assert_ok(alert_resolve(f->vault, id, f->keys[who], now_ns(), &summary));
	assert_non_null(summary);
	free(summary);
}

static char *audit_text(fixture *f)
{
	char *path = NULL, *text = NULL;

	assert_true(asprintf(&path, "%s/audit/log.jsonl", f->vault) > 0);
	assert_ok(files_read(path, 1 << 24, &text, NULL));
	free(path);
	return text;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Wait up to 5 s for `path` to exist (the command runs detached). */
static bool appears(const char *path)
{
	const struct timespec step = {0, 20 * 1000 * 1000};
	struct stat st;

	for (int i = 0; i < 250; i++) {
		if (stat(path, &st) == 0 && st.st_size > 0)
			return true;
		nanosleep(&step, NULL);
	}
	return false;
}

/* ------------------------------------------------------------------ */

static void test_raise_and_refresh(void **state)
{
	fixture *f = *state;
	unsigned long a, b, c, d;
	json_t *rec;

	assert_false(alerts_open_for_repo(f->v, "clinic"));
	assert_ok(alerts_raise_id(f->v, "clinic", "bytes-surge", "40 MiB new, usual 1 MiB",
				  "{\"bytes\": 41943040}", &a));
	assert_int_equal(a, 1);
	assert_true(alerts_open_for_repo(f->v, "clinic"));
	assert_false(alerts_open_for_repo(f->v, "lab"));
	/* The same (repo, kind) again refreshes it. */
	assert_ok(alerts_raise_id(f->v, "clinic", "bytes-surge", "50 MiB new", NULL, &b));
	assert_int_equal(b, a);
	rec = listed(f, a);
	assert_int_equal(json_integer_value(json_object_get(rec, "count")), 2);
	assert_string_equal(json_string_value(json_object_get(rec, "summary")), "50 MiB new");
	assert_true(json_is_null(json_object_get(rec, "details")));
	assert_string_equal(json_string_value(json_object_get(rec, "state")), "open");
	assert_true(json_integer_value(json_object_get(rec, "last_seen_ns")) >=
		    json_integer_value(json_object_get(rec, "raised_ns")));
	json_decref(rec);
	/* Another kind, another repository, the whole vault: new alerts. */
	assert_ok(alerts_raise_id(f->v, "clinic", "silence", "no backup for 3 days", NULL, &c));
	assert_int_equal(c, 2);
	assert_ok(
	    alerts_raise_id(f->v, NULL, "login-burst", "500 failed logins\x1b[31m", NULL, &d));
	assert_int_equal(d, 3);
	rec = listed(f, d);
	assert_true(json_is_null(json_object_get(rec, "repo")));
	/* Control characters never reach a terminal or a log line. */
	assert_string_equal(json_string_value(json_object_get(rec, "summary")),
			    "500 failed logins?[31m");
	json_decref(rec);
	/* A vault-wide alert holds no repository. */
	assert_false(alerts_open_for_repo(f->v, "lab"));
	/* The hold starts at the repository's earliest open alert. */
	{
		json_t *first = listed(f, a);
		int64_t since;
		unsigned long which;

		assert_true(alerts_open_since(f->vault, "clinic", &since, &which));
		assert_int_equal(which, a);
		assert_int_equal(since, json_integer_value(json_object_get(first, "raised_ns")));
		assert_false(alerts_open_since(f->vault, "lab", &since, &which));
		json_decref(first);
		/* A raiser that knows when it began moves the start back, never forward. */
		assert_ok(
		    alerts_raise_id(f->v, "lab", "bytes-surge", "s", "{\"since_ns\": 5}", &which));
		assert_true(alerts_open_since(f->vault, "lab", &since, &which));
		assert_int_equal(since, 5);
		assert_ok(
		    alerts_raise_id(f->v, "lab", "silence", "s", "{\"since_ns\": 9e99}", &which));
		assert_true(alerts_open_since(f->vault, "lab", &since, &which));
		assert_int_equal(since, 5);
	}
}

static void test_bad_raises(void **state)
{
	fixture *f = *state;

	assert_int_equal(alerts_raise(f->v, "clinic", "Bytes", "x", NULL), KURA_EINVAL);
	assert_int_equal(alerts_raise(f->v, "clinic", "", "x", NULL), KURA_EINVAL);
	assert_int_equal(
	    alerts_raise(f->v, "clinic", "a-kind-that-is-much-too-long-to-keep", "x", NULL),
	    KURA_EINVAL);
	assert_int_equal(alerts_raise(f->v, "../etc", "silence", "x", NULL), KURA_EINVAL);
	assert_int_equal(alerts_raise(f->v, "clinic", "silence", "x", "[1,2]"), KURA_EINVAL);
	assert_int_equal(alerts_raise(f->v, "clinic", "silence", "x", "{bad"), KURA_EINVAL);
	assert_false(alerts_open_for_repo(f->v, "clinic"));
}

static void test_command_runs_once_per_alert(void **state)
{
	fixture *f = *state;
	char cmd[512], *text = NULL;
	json_t *rec;
	int64_t first;
	unsigned long id;

	snprintf(
	    cmd, sizeof(cmd),
	    "[\"/bin/sh\", \"-c\", \"echo \\\"$KURA_ALERT_ID $KURA_ALERT_KIND $KURA_ALERT_REPO "
	    "$KURA_ALERT_COUNT $KURA_ALERT_SUMMARY\\\" >> %s\"]",
	    f->out);
	set_command(f, cmd);
	assert_ok(
	    alerts_raise_id(f->v, "clinic", "bytes-surge", "it's $(rm -rf /) `x`", NULL, &id));
	assert_true(appears(f->out));
	assert_ok(files_read(f->out, 4096, &text, NULL));
	/* The summary reached the command as data, never through a shell line. */
	assert_string_equal(text, "1 bytes-surge clinic 1 it's $(rm -rf /) `x`\n");
	free(text);
	rec = listed(f, id);
	assert_string_equal(json_string_value(json_object_get(rec, "command")), "started");
	first = json_integer_value(json_object_get(rec, "command_ns"));
	assert_true(first > 0);
	json_decref(rec);
	/* Refreshed: recorded, the command not run again (it runs when the alert opens and closes). */
	assert_ok(alerts_raise(f->v, "clinic", "bytes-surge", "again", NULL));
	rec = listed(f, id);
	assert_int_equal(json_integer_value(json_object_get(rec, "count")), 2);
	assert_int_equal(json_integer_value(json_object_get(rec, "command_ns")), first);
	json_decref(rec);
	/* Another alert gets its own run. */
	unlink(f->out);
	assert_ok(alerts_raise(f->v, "lab", "silence", "quiet", NULL));
	assert_true(appears(f->out));
	assert_ok(files_read(f->out, 4096, &text, NULL));
	assert_string_equal(text, "2 silence lab 1 quiet\n");
	free(text);
}

static void test_bad_commands(void **state)
{
	fixture *f = *state;
	char **argv = NULL;
	json_t *rec;
	unsigned long id;

	set_command(f, "[\"sh\", \"-c\", \"true\"]");
	assert_int_equal(alert_command_load(f->vault, &argv), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "absolute path"));
	/* The alert is still raised and says why nothing ran. */
	assert_ok(alerts_raise_id(f->v, "clinic", "silence", "quiet", NULL, &id));
	rec = listed(f, id);
	assert_non_null(strstr(json_string_value(json_object_get(rec, "command")), "not run"));
	json_decref(rec);
	set_command(f, "[]");
	assert_int_equal(alert_command_load(f->vault, &argv), KURA_ECORRUPT);
	set_command(f, "\"/bin/true\"");
	assert_int_equal(alert_command_load(f->vault, &argv), KURA_ECORRUPT);
	set_command(f, "[\"/bin/true\", 3]");
	assert_int_equal(alert_command_load(f->vault, &argv), KURA_ECORRUPT);
	set_command(f, "[\"/bin/tr\\u0000ue\"]");
	assert_int_equal(alert_command_load(f->vault, &argv), KURA_ECORRUPT);
	set_command(f, "null");
	assert_ok(alert_command_load(f->vault, &argv));
	assert_null(argv);
	/* A program that does not exist: the record says so. */
	set_command(f, "[\"/nonexistent/kura-alert\"]");
	assert_ok(alerts_raise_id(f->v, "lab", "silence", "quiet", NULL, &id));
	rec = listed(f, id);
	assert_non_null(strstr(json_string_value(json_object_get(rec, "command")), "failed"));
	json_decref(rec);
	/* vault.json with the member still loads for serving. */
	vault_free(f->v);
	f->v = NULL;
	assert_ok(vault_open(&f->v, f->vault));
}

static void test_quorum_resolves(void **state)
{
	fixture *f = *state;
	char *summary = NULL, *log;
	json_t *rec;
	unsigned long id, again;

	assert_ok(alerts_raise_id(f->v, "clinic", "bytes-surge", "surge", NULL, &id));
	resolve(f, id, 0);
	assert_string_equal(state_of(f, id), "open");
	assert_true(alerts_open_for_repo(f->v, "clinic"));
	/* One approver, once. */
	assert_int_equal(alert_resolve(f->vault, id, f->keys[0], now_ns(), &summary), KURA_EEXISTS);
	resolve(f, id, 1);
	assert_string_equal(state_of(f, id), "resolved");
	assert_false(alerts_open_for_repo(f->v, "clinic"));
	rec = listed(f, id);
	assert_int_equal(json_integer_value(json_object_get(rec, "approvals_valid")), 2);
	assert_int_equal(json_integer_value(json_object_get(rec, "quorum")), 2);
	json_decref(rec);
	assert_int_equal(alert_resolve(f->vault, id, f->keys[2], now_ns(), &summary), KURA_EINVAL);
	assert_int_equal(alert_resolve(f->vault, 99, f->keys[2], now_ns(), &summary),
			 KURA_ENOTFOUND);
	/* A new surge after the resolution is a new alert. */
	assert_ok(alerts_raise_id(f->v, "clinic", "bytes-surge", "surge", NULL, &again));
	assert_int_not_equal(again, id);
	assert_true(alerts_open_for_repo(f->v, "clinic"));
	/* serve's tick logs the approvals and the resolution, once. */
	assert_ok(alerts_tick(f->v));
	assert_ok(alerts_tick(f->v));
	log = audit_text(f);
	assert_non_null(strstr(log, "\"method\":\"ALERT\""));
	assert_non_null(strstr(log, "\"client\":\"alice\",\"role\":\"approver\","
				    "\"method\":\"RESOLVE-APPROVE\""));
	assert_non_null(strstr(log, "\"client\":\"bob\",\"role\":\"approver\","
				    "\"method\":\"RESOLVE-APPROVE\""));
	assert_non_null(strstr(log, "\"method\":\"RESOLVE\",\"path\":\"/v1/alerts/1?"));
	assert_int_equal(count_of(log, "\"method\":\"RESOLVE\","), 1);
	assert_int_equal(count_of(log, "\"method\":\"RESOLVE-APPROVE\","), 2);
	free(log);
}

static void test_refresh_voids_approvals(void **state)
{
	fixture *f = *state;
	json_t *rec;
	unsigned long id;

	assert_ok(alerts_raise_id(f->v, "clinic", "login-burst", "burst", NULL, &id));
	resolve(f, id, 0);
	/* The attack goes on after alice looked: her approval no longer counts. */
	assert_ok(alerts_raise(f->v, "clinic", "login-burst", "burst goes on", NULL));
	rec = listed(f, id);
	assert_int_equal(json_integer_value(json_object_get(rec, "approvals_valid")), 0);
	json_decref(rec);
	resolve(f, id, 1);
	assert_string_equal(state_of(f, id), "open");
	/* alice may approve again what she has now seen. */
	resolve(f, id, 0);
	assert_string_equal(state_of(f, id), "resolved");
}

/* Replace ID.json with `text`, as someone with write access to the directory could. */
static void write_record(fixture *f, unsigned long id, const char *text)
{
	char adir[160], name[32];

	snprintf(adir, sizeof(adir), "%s/alerts", f->vault);
	snprintf(name, sizeof(name), "%lu.json", id);
	assert_ok(files_write_atomic(adir, name, text, false));
}

static void test_edits_do_not_resolve(void **state)
{
	fixture *f = *state;
	json_t *rec, *apps;
	unsigned long id;
	char *text;

	assert_ok(alerts_raise_id(f->v, "clinic", "bytes-surge", "surge", NULL, &id));
	resolve(f, id, 0);
	/* Marked resolved with a quorum of 1, and alice's approval copied as bob's. */
	rec = listed(f, id);
	json_object_del(rec, "state");
	json_object_del(rec, "approvals_valid");
	json_object_del(rec, "quorum_needed");
	apps = json_object_get(rec, "approvals");
	json_object_del(json_array_get(apps, 0), "valid");
	json_object_set_new(json_array_get(apps, 0), "approver", json_string("bob"));
	json_object_set_new(rec, "resolved_ns", json_integer(now_ns()));
	json_object_set_new(rec, "quorum", json_integer(1));
	text = files_json_text(rec);
	write_record(f, id, text);
	free(text);
	json_decref(rec);
	assert_string_equal(state_of(f, id), "open");
	assert_true(alerts_open_for_repo(f->v, "clinic"));
	/* No approvals at all, quorum 0. */
	write_record(
	    f, id,
	    "{\"id\": 1, \"repo\": \"clinic\", \"kind\": \"bytes-surge\", \"summary\": \"s\", "
	    "\"details\": null, \"raised_ns\": 5, \"last_seen_ns\": 5, \"count\": 1, "
	    "\"command_ns\": null, \"command\": null, \"approvals\": [], \"resolved_ns\": 6, "
	    "\"quorum\": 0, \"resolve_logged\": true}");
	assert_string_equal(state_of(f, id), "corrupt");
	assert_true(alerts_open_for_repo(f->v, "clinic"));
}

static void test_hostile_records(void **state)
{
	fixture *f = *state;
	static const char *const bad[] = {
	    "",
	    "not json",
	    "[]",
	    "{\"id\": 1}",
	    /* an unknown member */
	    "{\"id\": 1, \"repo\": \"lab\", \"kind\": \"silence\", \"summary\": \"s\", "
	    "\"details\": "
	    "null, \"raised_ns\": 5, \"last_seen_ns\": 5, \"count\": 1, \"command_ns\": null, "
	    "\"command\": null, \"approvals\": [], \"resolved_ns\": null, \"quorum\": null, "
	    "\"resolve_logged\": false, \"x\": 1}",
	    /* the id of another file */
	    "{\"id\": 2, \"repo\": \"lab\", \"kind\": \"silence\", \"summary\": \"s\", "
	    "\"details\": "
	    "null, \"raised_ns\": 5, \"last_seen_ns\": 5, \"count\": 1, \"command_ns\": null, "
	    "\"command\": null, \"approvals\": [], \"resolved_ns\": null, \"quorum\": null, "
	    "\"resolve_logged\": false}",
	    /* last seen before raised */
	    "{\"id\": 1, \"repo\": \"lab\", \"kind\": \"silence\", \"summary\": \"s\", "
	    "\"details\": "
	    "null, \"raised_ns\": 5, \"last_seen_ns\": 4, \"count\": 1, \"command_ns\": null, "
	    "\"command\": null, \"approvals\": [], \"resolved_ns\": null, \"quorum\": null, "
	    "\"resolve_logged\": false}",
	    /* a bad signature */
	    "{\"id\": 1, \"repo\": \"lab\", \"kind\": \"silence\", \"summary\": \"s\", "
	    "\"details\": "
	    "null, \"raised_ns\": 5, \"last_seen_ns\": 5, \"count\": 1, \"command_ns\": null, "
	    "\"command\": null, \"approvals\": [{\"approver\": \"bob\", \"time_ns\": 7, \"sig\": "
	    "\"xx\", \"logged\": false}], \"resolved_ns\": null, \"quorum\": null, "
	    "\"resolve_logged\": false}",
	    /* the same name twice */
	    "{\"id\": 1, \"repo\": \"lab\", \"kind\": \"silence\", \"summary\": \"s\", "
	    "\"details\": "
	    "null, \"raised_ns\": 5, \"last_seen_ns\": 5, \"count\": 1, \"command_ns\": null, "
	    "\"command\": null, \"approvals\": [], \"resolved_ns\": null, \"quorum\": null, "
	    "\"resolve_logged\": false, \"count\": 2}",
	};
	char *summary = NULL;
	json_t *arr = NULL;

	assert_ok(alerts_raise(f->v, "lab", "silence", "quiet", NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_record(f, 1, bad[i]);
		assert_string_equal(state_of(f, 1), "corrupt");
		/* Unreadable: held, never resolved, never changed by a raise. */
		assert_true(alerts_open_for_repo(f->v, "lab"));
		assert_int_equal(alert_resolve(f->vault, 1, f->keys[0], now_ns(), &summary),
				 KURA_EINVAL);
		assert_ok(alerts_json(f->v, &arr));
		json_decref(arr);
	}
	/* A record that names its repository holds that one ... */
	assert_false(alerts_open_for_repo(f->v, "clinic"));
	/* ... one that does not say holds them all. */
	write_record(f, 1, "not json");
	assert_true(alerts_open_for_repo(f->v, "clinic"));
	assert_ok(alerts_raise(f->v, "lab", "silence", "quiet", NULL));
	assert_string_equal(state_of(f, 2), "open");
	assert_string_equal(state_of(f, 1), "corrupt");
	/* Other names in the directory are not records. */
	write_record(f, 1, "{}");
	{
		char adir[160];

		snprintf(adir, sizeof(adir), "%s/alerts", f->vault);
		assert_ok(files_write_atomic(adir, "01.json", "junk", false));
		assert_ok(files_write_atomic(adir, "notes.txt", "junk", false));
	}
	assert_ok(alerts_list(f->vault, true, now_ns(), &arr));
	assert_int_equal(json_array_size(arr), 2);
	json_decref(arr);
}

static void test_status_shows_alerts(void **state)
{
	fixture *f = *state;
	json_t *doc, *alerts;
	char *text = NULL;

	assert_ok(alerts_raise(f->v, "clinic", "bytes-surge", "surge", "{\"z\": 9.5}"));
	assert_ok(status_json(f->v, &text));
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	alerts = json_object_get(doc, "alerts");
	assert_int_equal(json_array_size(alerts), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(alerts, 0), "kind")),
			    "bytes-surge");
	assert_true(json_real_value(json_object_get(
			json_object_get(json_array_get(alerts, 0), "details"), "z")) == 9.5);
	json_decref(doc);
	free(text);
	/* Resolved more than a week ago: only in the full listing. */
	resolve(f, 1, 0);
	resolve(f, 1, 2);
	assert_ok(alerts_list(f->vault, false, now_ns() + S(8 * 24 * 3600), &alerts));
	assert_int_equal(json_array_size(alerts), 0);
	json_decref(alerts);
	assert_ok(alerts_list(f->vault, true, now_ns() + S(8 * 24 * 3600), &alerts));
	assert_int_equal(json_array_size(alerts), 1);
	json_decref(alerts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_raise_and_refresh, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_raises, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_command_runs_once_per_alert, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_commands, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quorum_resolves, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_voids_approvals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edits_do_not_resolve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_shows_alerts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
