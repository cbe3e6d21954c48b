/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_alert_out.c - where alerts go (server/alert_out.c,
 * alert_webhook.c, alert_syslog.c): the webhook's signature against an
 * HMAC computed independently (Python's hmac module), the vault.json
 * members accepted and refused with their reasons, the secret file's
 * rules, the syslog line (syslog(3) itself writes to /dev/log, which the
 * tests cannot redirect: the line's text is checked here), the document
 * sent, and a delivery refused, and counted, when no sender runs.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alert_out.h"
#include "alert_syslog.h"
#include "alert_webhook.h"
#include "crypto/crypto.h"

#define P "vault.json"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Parse `json`; the code returned, *out set. */
static int parse(const char *json, alert_webhook_conf **out)
{
	return alert_webhook_parse(json, strlen(json), P, out);
}

static void test_sign_matches_hmac_sha256(void **state)
{
	static const char body[] = "{\"a\":1}";
	char sig[ALERT_WEBHOOK_SIG_SIZE];

	/* python3: hmac.new(b"0123456789abcdef0123", b'1700000000.{"a":1}', "sha256") */
	alert_webhook_sign(sig, (const uint8_t *)"0123456789abcdef0123", 20, 1700000000, body,
			   strlen(body));
	assert_string_equal(
	    sig, "sha256=34e41bd41c08899dd901e050eca2824e8dfecfe16d4778add8a6f330817db525");
	/* Another time, another signature: a replay with a new timestamp does not verify. */
	alert_webhook_sign(sig, (const uint8_t *)"0123456789abcdef0123", 20, 1700000001, body,
			   strlen(body));
	assert_string_not_equal(
	    sig, "sha256=34e41bd41c08899dd901e050eca2824e8dfecfe16d4778add8a6f330817db525");
}

static void test_parse_accepts(void **state)
{
	alert_webhook_conf *c;

	assert_ok(parse("{\"listen\": \"x\"}", &c));
	assert_null(c);
	assert_ok(parse("{\"alert_webhook\": null}", &c));
	assert_null(c);
	assert_ok(
	    parse("{\"alert_webhook\": {\"url\": \"https://hooks.example.org/kura\", "
		  "\"secret_file\": \"/etc/kura/hook.secret\", \"ca_file\": \"/etc/ca.pem\"}}",
		  &c));
	assert_non_null(c);
	assert_string_equal(c->url, "https://hooks.example.org/kura");
	assert_string_equal(c->secret_file, "/etc/kura/hook.secret");
	assert_string_equal(c->ca_file, "/etc/ca.pem");
	alert_webhook_conf_free(c);
	/* Plain http only to loopback. */
	assert_ok(parse("{\"alert_webhook\": {\"url\": \"http://127.0.0.1:8080/h\", "
			"\"secret_file\": \"/s\"}}",
			&c));
	assert_null(c->ca_file);
	alert_webhook_conf_free(c);
	assert_ok(parse("{\"alert_webhook\": {\"url\": \"http://[::1]:9/h\", \"secret_file\": "
			"\"/s\"}}",
			&c));
	alert_webhook_conf_free(c);
	assert_ok(parse("{\"alert_webhook\": {\"url\": \"http://localhost/h\", \"secret_file\": "
			"\"/s\"}}",
			&c));
	alert_webhook_conf_free(c);
}

static void test_parse_refuses(void **state)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
	    {"{\"alert_webhook\": \"https://x\"}", "must be an object"},
	    {"{\"alert_webhook\": {\"secret_file\": \"/s\"}}", "needs a \"url\""},
	    {"{\"alert_webhook\": {\"url\": \"https://x/\"}}", "needs \"secret_file\""},
	    {"{\"alert_webhook\": {\"url\": \"https://x/\", \"secret_file\": \"s\"}}",
	     "absolute path"},
	    {"{\"alert_webhook\": {\"url\": \"https://x/\", \"secret_file\": \"/s\", "
	     "\"ca_file\": 3}}",
	     "absolute path"},
	    {"{\"alert_webhook\": {\"url\": \"http://example.org/\", \"secret_file\": \"/s\"}}",
	     "loopback"},
	    {"{\"alert_webhook\": {\"url\": \"http://128.0.0.1/\", \"secret_file\": \"/s\"}}",
	     "loopback"},
	    {"{\"alert_webhook\": {\"url\": \"http://127.0.0.1.example.org/\", \"secret_file\": "
	     "\"/s\"}}",
	     "loopback"},
	    {"{\"alert_webhook\": {\"url\": \"ftp://127.0.0.1/\", \"secret_file\": \"/s\"}}",
	     "https://"},
	    {"{\"alert_webhook\": {\"url\": \"https://u:p@x/\", \"secret_file\": \"/s\"}}",
	     "user name"},
	    {"{\"alert_webhook\": {\"url\": \"not a url\", \"secret_file\": \"/s\"}}", "not a URL"},
	    {"{\"alert_webhook\": {\"url\": \"https://x/\", \"secret_file\": \"/s\", "
	     "\"retries\": 3}}",
	     "unknown member \"retries\""},
	    {"{\"alert_webhook\": {\"url\": \"https://x/\\u0000y\", \"secret_file\": \"/s\"}}",
	     "JSON_ALLOW_NUL"},
	    {"{\"alert_webhook\": 1, \"alert_webhook\": 2}", "duplicate"},
	};
	alert_webhook_conf *c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].json, &c), KURA_ECORRUPT);
		assert_null(c);
		if (!strstr(kura_error_message(), bad[i].why))
			fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].json,
				 kura_error_message(), bad[i].why);
	}
}

static void test_secret_file(void **state)
{
	char dir[] = "/tmp/kura-test-alert-out-XXXXXX", path[64];
	alert_webhook_conf c = {.url = "https://x/", .secret_file = path};
	uint8_t *s;
	size_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);
	assert_int_equal(alert_webhook_secret(&c, &s, &n), KURA_ENOTFOUND);
	write_file(path, "0123456789abcdef\n");
	assert_ok(alert_webhook_secret(&c, &s, &n));
	/* One trailing newline is not part of the secret (`openssl rand -hex 32 > FILE`). */
	assert_int_equal(n, 16);
	assert_memory_equal(s, "0123456789abcdef", 16);
	free(s);
	write_file(path, "short\n");
	assert_int_equal(alert_webhook_secret(&c, &s, &n), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "5 bytes, want 16"));
	unlink(path);
	rmdir(dir);
}

static void test_syslog(void **state)
{
	char line[ALERT_SYSLOG_LINE_MAX];
	json_t *doc;
	bool on;

	assert_ok(alert_syslog_parse("{}", 2, P, &on));
	assert_false(on);
	assert_ok(alert_syslog_parse("{\"alert_syslog\": true}", 22, P, &on));
	assert_true(on);
	assert_int_equal(alert_syslog_parse("{\"alert_syslog\": \"yes\"}", 23, P, &on),
			 KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "true or false"));

	doc = json_pack("{s:i, s:s, s:s, s:s, s:i}", "id", 7, "repo", "clinic", "kind",
			"bytes-surge", "summary", "4 MiB\nnew\x7f", "count", 3);
	alert_syslog_line(line, sizeof(line), doc, "opened");
	assert_string_equal(
	    line, "kura alert 7 opened: kind=bytes-surge repo=clinic count=3: 4 MiB?new?");
	json_object_set_new(doc, "repo", json_null());
	alert_syslog_line(line, 64, doc, "closed");
	assert_int_equal(strlen(line), 63);
	assert_non_null(strstr(line, "kura alert 7 closed: kind=bytes-surge repo=- count=3"));
	json_decref(doc);
}

static void test_document_and_no_sender(void **state)
{
	json_t *rec, *d;
	alert_webhook_conf c = {.url = "http://127.0.0.1:1/", .secret_file = "/nonexistent"};
	uint64_t dropped = alert_webhook_dropped();

	rec = json_pack("{s:i, s:n, s:s, s:s, s:{s:i}, s:i, s:I, s:I, s:n, s:[], s:b}", "id", 3,
			"repo", "kind", "login-burst", "summary", "101 logins refused", "details",
			"refused", 101, "count", 1, "raised_ns", (json_int_t)5, "last_seen_ns",
			(json_int_t)6, "resolved_ns", "approvals", "resolve_logged", 0);
	d = alert_out_document(rec, "opened");
	assert_string_equal(json_string_value(json_object_get(d, "event")), "opened");
	assert_int_equal(json_integer_value(json_object_get(d, "id")), 3);
	assert_true(json_is_null(json_object_get(d, "repo")));
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(d, "details"), "refused")), 101);
	/* Vault-internal bookkeeping stays inside. */
	assert_null(json_object_get(d, "approvals"));
	assert_null(json_object_get(d, "resolve_logged"));
	assert_int_equal(json_object_size(d), 10);
	json_decref(d);
	json_decref(rec);
	/* Without a readable secret, or without a sender thread: refused and counted. */
	assert_int_equal(alert_webhook_enqueue(&c, "3-opened", "{}"), KURA_EIO);
	assert_non_null(strstr(kura_error_message(), "secret"));
	assert_int_equal(alert_webhook_dropped(), dropped + 1);
}

/*
 * A receiver that accepts connections and never answers holds the sender
 * on its first try; the queue fills, the next delivery is dropped and
 * counted, and stopping cuts the hung try short.
 */
static void test_queue_full_and_stop(void **state)
{
	char dir[] = "/tmp/kura-test-alert-out-XXXXXX", secret[64], url[64];
	alert_webhook_conf c = {.url = url, .secret_file = secret};
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	uint64_t dropped = alert_webhook_dropped();
	struct timespec t0, t1;
	int s, i;

	assert_non_null(mkdtemp(dir));
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	write_file(secret, "0123456789abcdef0123\n");
	assert_true((s = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 128), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", ntohs(a.sin_port));

	assert_ok(alert_webhook_start());
	assert_ok(alert_webhook_start()); /* once per process */
	/* One taken by the sender (hung), ALERT_WEBHOOK_QUEUE_MAX waiting: one more at most fits.
	 */
	for (i = 0; i < ALERT_WEBHOOK_QUEUE_MAX + 2; i++)
		if (alert_webhook_enqueue(&c, "1-opened", "{}") < 0)
			break;
	assert_true(i <= ALERT_WEBHOOK_QUEUE_MAX + 1);
	assert_non_null(strstr(kura_error_message(), "the queue is full"));
	assert_int_equal(alert_webhook_dropped(), dropped + 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	alert_webhook_stop();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Well under the 10 s a try may last. */
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	/* What was still queued is dropped and counted. */
	assert_true(alert_webhook_dropped() >= dropped + 1 + (uint64_t)i - 1);
	assert_int_equal(alert_webhook_enqueue(&c, "2-opened", "{}"), KURA_EIO);
	assert_non_null(strstr(kura_error_message(), "no delivery thread"));
	close(s);
	unlink(secret);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_matches_hmac_sha256),
	    cmocka_unit_test(test_parse_accepts),
	    cmocka_unit_test(test_parse_refuses),
	    cmocka_unit_test(test_secret_file),
	    cmocka_unit_test(test_syslog),
	    cmocka_unit_test(test_document_and_no_sender),
	    cmocka_unit_test(test_queue_full_and_stop),
	};

	if (kura_crypto_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
