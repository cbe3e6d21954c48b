/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ui.c - the status page's and /metrics' pure parts: HTML escaping
 * (server/ui_html.c), the session cookie and login form parsers and the
 * session table (ui_session.c), the SVG plot (ui_plot.c), Prometheus label
 * escaping, route labels and the exposition of counters (metrics.c).
 */
#include "testutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "metrics.h"
#include "ui_html.h"
#include "ui_plot.h"
#include "ui_session.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NS 1000000000LL

/* Run fn(f, arg) into a string (malloc'd). */
static char *capture_text(const char *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	ui_html_text(f, s);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void test_escape(void **state)
{
	char *t = capture_text("<script>alert('x')&\"</script>\x01\x7f\tok ü");

	assert_string_equal(t,
			    "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;??\tok ü");
	free(t);
	t = capture_text(NULL);
	assert_true(t == NULL || t[0] == '\0');
	free(t);
}

static void test_cut(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	/* "ü" is two bytes: a cut inside it backs up to its start. */
	ui_html_text_cut(f, "abü<cd", 3);
	fclose(f);
	assert_string_equal(text, "ab\xe2\x80\xa6");
	free(text);
}

static void test_formats(void **state)
{
	char s[32];

	ui_html_bytes(s, 812);
	assert_string_equal(s, "812 B");
	ui_html_bytes(s, 3 * 1024 * 1024 + 400 * 1024);
	assert_string_equal(s, "3.4 MiB");
	ui_html_age(s, 45);
	assert_string_equal(s, "45 s");
	ui_html_age(s, 3 * 86400);
	assert_string_equal(s, "3.0 d");
	ui_html_age(s, -5);
	assert_string_equal(s, "0 s");
}

static void test_cookie(void **state)
{
	char id[UI_SESSION_ID_HEX];

	assert_int_equal(ui_cookie_parse("kura_ui=" H64, id), 0);
	assert_string_equal(id, H64);
	assert_int_equal(ui_cookie_parse("a=1; kura_ui=" H64 "; b=2", id), 0);
	assert_string_equal(id, H64);
	assert_int_equal(ui_cookie_parse("a=1;kura_ui=" H64, id), 0);
	assert_int_equal(ui_cookie_parse(NULL, id), KURA_ENOTFOUND);
	assert_int_equal(ui_cookie_parse("", id), KURA_ENOTFOUND);
	assert_int_equal(ui_cookie_parse("xkura_ui=" H64, id), KURA_ENOTFOUND);
	assert_int_equal(ui_cookie_parse("kura_uix=" H64, id), KURA_ENOTFOUND);
	/* Malformed or twice: refused, never the first one taken. */
	assert_int_equal(ui_cookie_parse("kura_ui=" H64 "; kura_ui=" H64, id), KURA_EINVAL);
	assert_int_equal(ui_cookie_parse("kura_ui=" H64 "0", id), KURA_EINVAL);
	assert_int_equal(ui_cookie_parse("kura_ui=0123", id), KURA_EINVAL);
	assert_int_equal(ui_cookie_parse("kura_ui=0123456789ABCDEF0123456789abcdef0123456789abcdef"
					 "0123456789abcdef",
					 id),
			 KURA_EINVAL);
	assert_int_equal(ui_cookie_parse("kura_ui=", id), KURA_EINVAL);
}

static void test_form(void **state)
{
	char t[UI_TOKEN_MAX + 1], big[600];
	static const char *const bad[] = {
	    "",		"token=",	"tok=abc",	   "token=a+b", "token=%zz",
	    "token=%4", "token=%00abc", "token=a&token=b", "token=%20", "token=\x01",
	};

	assert_int_equal(ui_form_token("token=abc", 9, t), 0);
	assert_string_equal(t, "abc");
	assert_int_equal(ui_form_token("x=1&token=a%2Bb%2f&y=", 21, t), 0);
	assert_string_equal(t, "a+b/");
	/* The length given is the body's: a NUL inside ends nothing early. */
	assert_int_equal(ui_form_token("token=ab\0&x", 11, t), KURA_EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ui_form_token(bad[i], strlen(bad[i]), t) != KURA_EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	memcpy(big, "token=", 6);
	memset(big + 6, 'a', UI_TOKEN_MAX);
	assert_int_equal(ui_form_token(big, 6 + UI_TOKEN_MAX, t), 0);
	assert_int_equal(strlen(t), UI_TOKEN_MAX);
	big[6 + UI_TOKEN_MAX] = 'a';
	assert_int_equal(ui_form_token(big, 7 + UI_TOKEN_MAX, t), KURA_EINVAL);
}

static void test_sessions(void **state)
{
	static vault_client soc = {.name = "soc", .role = VAULT_ROLE_AUDITOR};
	static vault_client other = {.name = "other", .role = VAULT_ROLE_AUDITOR};
	ui_sessions *s;
	char id[UI_SESSION_ID_HEX], id2[UI_SESSION_ID_HEX], first[UI_SESSION_ID_HEX];
	int64_t now = 1000 * NS;

	assert_ok(ui_sessions_new(&s));
	ui_session_open(s, &soc, now, id);
	assert_int_equal(strlen(id), 64);
	assert_ptr_equal(ui_session_find(s, id, now + NS), &soc);
	assert_int_equal(ui_session_count(s, now), 1);
	/* Another id, even one digit off, finds nothing. */
	memcpy(id2, id, sizeof(id));
	id2[10] = id2[10] == '0' ? '1' : '0';
	assert_null(ui_session_find(s, id2, now));
	assert_null(ui_session_find(s, "zz", now));
	assert_null(ui_session_find(s, NULL, now));
	/* Expired at the end of its life. */
	assert_null(ui_session_find(s, id, now + (int64_t)UI_SESSION_TTL_S * NS));
	/* A revoked client's session ends at once. */
	ui_session_open(s, &other, now, id2);
	assert_ptr_equal(ui_session_find(s, id2, now), &other);
	atomic_store(&other.revoked, true);
	assert_null(ui_session_find(s, id2, now));
	atomic_store(&other.revoked, false);
	/* Signing out ends that session only. */
	ui_session_open(s, &soc, now, id2);
	ui_session_close(s, id2);
	assert_null(ui_session_find(s, id2, now));
	ui_session_close(s, "not hex");
	/* Full: the session closest to its expiry makes room. */
	ui_session_open(s, &soc, now + 1, first);
	for (int i = 0; i < UI_SESSION_MAX; i++)
		ui_session_open(s, &soc, now + 10 + i, id);
	assert_null(ui_session_find(s, first, now + 100));
	assert_ptr_equal(ui_session_find(s, id, now + 100), &soc);
	assert_int_equal(ui_session_count(s, now + 100), UI_SESSION_MAX);
	ui_sessions_free(s);
	ui_sessions_free(NULL);
}

static void test_plot(void **state)
{
	ui_plot_day days[3] = {{100, 1}, {0, 0}, {300, 2}};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	/* Day 20789 is 2026-12-02. */
	assert_ok(ui_plot_svg(f, "repo <x>", days, 3, 20789, 4));
	assert_int_equal(ui_plot_svg(f, "x", days, 0, 20789, 0), KURA_EINVAL);
	assert_int_equal(ui_plot_svg(f, "x", days, UI_PLOT_DAYS_MAX + 1, 20789, 0), KURA_EINVAL);
	fclose(f);
	assert_non_null(strstr(text, "<svg "));
	assert_non_null(strstr(text, "repo &lt;x&gt;"));
	assert_null(strstr(text, "<x>"));
	assert_non_null(
	    strstr(text, "data-day=\"2026-11-30\" data-bytes=\"100\" data-snapshots=\"1\""));
	assert_non_null(
	    strstr(text, "data-day=\"2026-12-02\" data-bytes=\"300\" data-snapshots=\"2\""));
	/* 4 before the window + 3 in it. */
	assert_non_null(strstr(text, "7 snapshots"));
	/* The tallest bar fills the plot; no inline style anywhere. */
	assert_non_null(strstr(text, "height=\"170.0\""));
	assert_null(strstr(text, "style="));
	assert_non_null(strstr(text, "</svg>"));
	free(text);
}

static void test_labels(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	metrics_label(f, "a\"b\\c\nd");
	fclose(f);
	assert_string_equal(text, "a\\\"b\\\\c\\nd");
	free(text);

	assert_int_equal(metrics_route_of("/metrics"), METRICS_ROUTE_METRICS);
	assert_int_equal(metrics_route_of("/ui/"), METRICS_ROUTE_UI);
	assert_int_equal(metrics_route_of("/ui"), METRICS_ROUTE_UI);
	assert_int_equal(metrics_route_of("/v1/status"), METRICS_ROUTE_STATUS);
	assert_int_equal(metrics_route_of("/v1/repos/a/data/"), METRICS_ROUTE_LIST);
	assert_int_equal(metrics_route_of("/v1/repos/a/data/" H64), METRICS_ROUTE_FILE);
	assert_int_equal(metrics_route_of("/v1/repos/a/deletions"), METRICS_ROUTE_DELETIONS);
	assert_int_equal(metrics_route_of("/v1/repos/a/../data/"), METRICS_ROUTE_OTHER);
	assert_int_equal(metrics_route_of("/uix"), METRICS_ROUTE_OTHER);
	assert_int_equal(metrics_route_of(NULL), METRICS_ROUTE_OTHER);
	assert_string_equal(metrics_route_name(METRICS_ROUTE_FILE), "file");
	assert_string_equal(metrics_route_name((metrics_route)99), "other");
}

static void test_exposition(void **state)
{
	metrics *m;
	json_t *doc;
	char *text;

	assert_ok(metrics_new(&m));
	metrics_observe(m, METRICS_ROUTE_FILE, 200, 3 * 1000 * 1000);  /* 3 ms */
	metrics_observe(m, METRICS_ROUTE_FILE, 200, 30 * 1000 * 1000); /* 30 ms */
	metrics_observe(m, METRICS_ROUTE_FILE, 404, 20LL * NS);	       /* past every bucket */
	metrics_observe(m, METRICS_ROUTE_UI, 999, 0);		       /* not a status: code 0 */
	metrics_observe(NULL, METRICS_ROUTE_UI, 200, 0);
	doc = json_pack("{s:[{s:s, s:i, s:i, s:i, s:{s:s, s:s, s:f}, s:b}],"
			" s:[{s:s, s:s, s:s}, {s:s, s:s, s:n}],"
			" s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}],"
			" s:[{s:s, s:s}], s:i, s:b}",
			"repositories", "name", "cli\"nic", "bytes", 1234, "files", 9, "snapshots",
			3, "last_drill", "received", "2026-12-02T13:49:32.5Z", "result", "failed",
			"rto_seconds", 1.5, "drill_overdue", 1, "clients", "name", "w4", "repo",
			"cli\"nic", "last_backup", "2026-12-02T00:00:01Z", "name", "soc", "repo",
			"", "last_backup", "alerts", "repo", "cli\"nic", "kind", "silence", "state",
			"open", "repo", "cli\"nic", "kind", "silence", "state", "open", "repo", "",
			"kind", "login-burst", "state", "resolved", "deletions", "repo", "cli\"nic",
			"state", "pending", "audit_entries", 77, "audit_intact", 1);
	assert_non_null(doc);
	assert_ok(metrics_render(m, doc, 5 * NS, &text));
	assert_non_null(strstr(text, "kura_repository_stored_bytes{repo=\"cli\\\"nic\"} 1234\n"));
	assert_non_null(strstr(text, "kura_snapshots{repo=\"cli\\\"nic\"} 3\n"));
	assert_non_null(strstr(text, "kura_last_drill_success{repo=\"cli\\\"nic\"} 0\n"));
	assert_non_null(strstr(
	    text, "kura_last_drill_timestamp_seconds{repo=\"cli\\\"nic\"} 1796219372.500\n"));
	assert_non_null(strstr(text, "kura_drill_overdue{repo=\"cli\\\"nic\"} 1\n"));
	assert_non_null(strstr(text, "kura_last_backup_timestamp_seconds{repo=\"cli\\\"nic\","
				     "client=\"w4\"} 1796169601.000\n"));
	assert_null(strstr(text, "client=\"soc\""));
	assert_non_null(strstr(text, "kura_alerts_open{repo=\"cli\\\"nic\",kind=\"silence\"} 2\n"));
	assert_null(strstr(text, "login-burst"));
	assert_non_null(strstr(text, "kura_deletions_pending{repo=\"cli\\\"nic\"} 1\n"));
	assert_non_null(strstr(text, "kura_audit_log_entries 77\n"));
	assert_non_null(strstr(text, "kura_audit_log_verified 1\n"));
	assert_non_null(strstr(text, "kura_http_requests_total{route=\"file\",code=\"200\"} 2\n"));
	assert_non_null(strstr(text, "kura_http_requests_total{route=\"file\",code=\"404\"} 1\n"));
	assert_non_null(strstr(text, "kura_http_requests_total{route=\"ui\",code=\"0\"} 1\n"));
	/* Cumulative buckets: 3 ms in le=0.005, 30 ms from le=0.05, 20 s only in +Inf. */
	assert_non_null(strstr(
	    text, "kura_http_request_duration_seconds_bucket{route=\"file\",le=\"0.005\"} 1\n"));
	assert_non_null(strstr(
	    text, "kura_http_request_duration_seconds_bucket{route=\"file\",le=\"0.025\"} 1\n"));
	assert_non_null(strstr(
	    text, "kura_http_request_duration_seconds_bucket{route=\"file\",le=\"0.05\"} 2\n"));
	assert_non_null(strstr(
	    text, "kura_http_request_duration_seconds_bucket{route=\"file\",le=\"10\"} 2\n"));
	assert_non_null(strstr(
	    text, "kura_http_request_duration_seconds_bucket{route=\"file\",le=\"+Inf\"} 3\n"));
	assert_non_null(
	    strstr(text, "kura_http_request_duration_seconds_count{route=\"file\"} 3\n"));
	assert_non_null(
	    strstr(text, "kura_http_request_duration_seconds_sum{route=\"file\"} 20.033000\n"));
	assert_non_null(strstr(text, "# TYPE kura_http_request_duration_seconds histogram\n"));
	free(text);
	json_decref(doc);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),     cmocka_unit_test(test_cut),
	    cmocka_unit_test(test_formats),    cmocka_unit_test(test_cookie),
	    cmocka_unit_test(test_form),       cmocka_unit_test(test_sessions),
	    cmocka_unit_test(test_plot),       cmocka_unit_test(test_labels),
	    cmocka_unit_test(test_exposition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
