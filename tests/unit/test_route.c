/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_route.c - the vault's request parsers (server/route.c): paths,
 * Range, Content-Length, bearer tokens, URL decoding, listen addresses.
 * route.c is compiled in here: unit tests link only libkura.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "route.h"

#define N64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_route_valid(void **state)
{
	vault_route r;

	assert_int_equal(route_parse("/v1/status", &r), 0);
	assert_int_equal(r.kind, VAULT_ROUTE_STATUS);
	assert_int_equal(route_parse("/v1/log", &r), 0);
	assert_int_equal(r.kind, VAULT_ROUTE_LOG);

	assert_int_equal(route_parse("/v1/repos/clinic/data/", &r), 0);
	assert_int_equal(r.kind, VAULT_ROUTE_LIST);
	assert_string_equal(r.repo, "clinic");
	assert_int_equal(r.type, KURA_FILE_PACK);
	assert_string_equal(r.name, "");

	assert_int_equal(route_parse("/v1/repos/w4.b_k-9/snapshots/" N64, &r), 0);
	assert_int_equal(r.kind, VAULT_ROUTE_FILE);
	assert_string_equal(r.repo, "w4.b_k-9");
	assert_int_equal(r.type, KURA_FILE_SNAPSHOT);
	assert_string_equal(r.name, N64);

	static const struct {
		const char *t;
		kura_file_type type;
	} types[] = {{"config", KURA_FILE_CONFIG},
		     {"keys", KURA_FILE_KEY},
		     {"snapshots", KURA_FILE_SNAPSHOT},
		     {"index", KURA_FILE_INDEX},
		     {"data", KURA_FILE_PACK}};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char url[200];

		snprintf(url, sizeof(url), "/v1/repos/r/%s/" N64, types[i].t);
		assert_int_equal(route_parse(url, &r), 0);
		assert_int_equal(r.type, types[i].type);
	}

	assert_int_equal(route_parse("/v1/repos/clinic/deletions", &r), 0);
	assert_int_equal(r.kind, VAULT_ROUTE_DELETIONS);
	assert_string_equal(r.repo, "clinic");
	assert_string_equal(r.name, "");

	assert_int_equal(route_parse("/v1/repos/clinic/quarantine", &r), 0);
	assert_int_equal(r.kind, VAULT_ROUTE_QUARANTINE);
	assert_string_equal(r.repo, "clinic");
	assert_string_equal(r.name, "");

	/* a 63-character repository name is the longest */
	char url[200];
	snprintf(url, sizeof(url), "/v1/repos/%s/index/",
		 "a23456789012345678901234567890123456789012345678901234567890123");
	assert_int_equal(route_parse(url, &r), 0);
	assert_int_equal(strlen(r.repo), 63);
}

static void test_route_not_found(void **state)
{
	static const char *const paths[] = {
	    "",
	    "/",
	    "/v1",
	    "/v1/",
	    "/v1/status/",
	    "/v1/statusx",
	    "/v1/log/",
	    "/v2/status",
	    "/V1/status",
	    "//v1/status",
	    "/v1/repos",
	    "/v1/repo/r/data/",
	    "v1/status",
	    "/v1/logs",
	    "/v1/status?x",
	    "/v1/repos//r/data/",
	};
	vault_route r;

	assert_int_equal(route_parse(NULL, &r), KURA_ENOTFOUND);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int rc = route_parse(paths[i], &r);

		if (rc != KURA_ENOTFOUND &&
		    !(rc == KURA_EINVAL && strncmp(paths[i], "/v1/repos/", 10) == 0))
			fail_msg("\"%s\" -> %d", paths[i], rc);
	}
}

static void test_route_rejects(void **state)
{
	static const char *const paths[] = {
	    /* traversal, dots, empty components */
	    "/v1/repos/../data/",
	    "/v1/repos/./data/",
	    "/v1/repos/r/../r/data/",
	    "/v1/repos/r/data/../" N64,
	    "/v1/repos/r/data/..",
	    "/v1/repos/.hidden/data/",
	    "/v1/repos/%2e%2e/data/",
	    "/v1/repos/r/data/%2e%2e",
	    "/v1/repos//data/",
	    "/v1/repos/r//data/",
	    "/v1/repos/r/data//",
	    "/v1/repos/r/data//" N64,
	    "/v1/repos/r/data/" N64 "/",
	    "/v1/repos/r/",
	    "/v1/repos/r",
	    /* repository names */
	    "/v1/repos/R/data/",
	    "/v1/repos/-r/data/",
	    "/v1/repos/_r/data/",
	    "/v1/repos/r r/data/",
	    "/v1/repos/r%20r/data/",
	    "/v1/repos/r\\x/data/",
	    "/v1/repos/a234567890123456789012345678901234567890123456789012345678901234/data/",
	    /* types */
	    "/v1/repos/r/pack/",
	    "/v1/repos/r/Data/",
	    "/v1/repos/r/datax/",
	    "/v1/repos/r/dat/",
	    "/v1/repos/r/key/",
	    "/v1/repos/r/snapshot/",
	    /* names */
	    "/v1/repos/r/data/0",
	    "/v1/repos/r/data/" N64 "0",
	    "/v1/repos/r/data/" N64 "?x=1",
	    "/v1/repos/r/data/" N64 "%00",
	    "/v1/repos/r/data/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	    "/v1/repos/r/data/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
	    "/v1/repos/r/data/ 123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    "/v1/repos/r/data/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
	    "/v1/repos/r/data/.",
	    /* deletion requests: exactly that word, no slash, no id */
	    "/v1/repos/r/deletions/",
	    "/v1/repos/r/deletions/1",
	    "/v1/repos/r/deletion",
	    "/v1/repos/r/deletionsx",
	    "/v1/repos/r/Deletions",
	    "/v1/repos/r/deletions%00",
	    "/v1/repos/r//deletions",
	    "/v1/repos/../deletions",
	    "/v1/repos/R/deletions",
	    /* the quarantine list: the same */
	    "/v1/repos/r/quarantine/",
	    "/v1/repos/r/quarantine/1",
	    "/v1/repos/r/quarantinex",
	    "/v1/repos/r/Quarantine",
	    "/v1/repos/r//quarantine",
	    "/v1/repos/../quarantine",
	};
	vault_route r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int rc = route_parse(paths[i], &r);

		if (rc != KURA_EINVAL)
			fail_msg("\"%s\" -> %d, want KURA_EINVAL", paths[i], rc);
		assert_int_equal(r.repo[0], '\0');
		assert_int_equal(r.name[0], '\0');
	}
}

static void test_range(void **state)
{
	uint64_t s, l;

	assert_int_equal(route_range_parse("bytes=0-0", 10, &s, &l), 0);
	assert_int_equal(s, 0);
	assert_int_equal(l, 1);
	assert_int_equal(route_range_parse("bytes=2-5", 10, &s, &l), 0);
	assert_int_equal(s, 2);
	assert_int_equal(l, 4);
	assert_int_equal(route_range_parse("bytes=3-", 10, &s, &l), 0);
	assert_int_equal(s, 3);
	assert_int_equal(l, 7);
	assert_int_equal(route_range_parse("bytes=9-9", 10, &s, &l), 0);
	assert_int_equal(l, 1);
	/* an end beyond the file is clamped */
	assert_int_equal(route_range_parse("bytes=4-1000", 10, &s, &l), 0);
	assert_int_equal(s, 4);
	assert_int_equal(l, 6);
	assert_int_equal(route_range_parse("bytes=0-18446744073709551615", 10, &s, &l), 0);
	assert_int_equal(l, 10);
	assert_int_equal(route_range_parse("bytes=0-", UINT64_MAX, &s, &l), 0);
	assert_true(l == UINT64_MAX);
	assert_int_equal(route_range_parse("bytes=18446744073709551614-", UINT64_MAX, &s, &l), 0);
	assert_true(s == UINT64_MAX - 1 && l == 1);

	/* beyond the end: unsatisfiable */
	assert_int_equal(route_range_parse("bytes=10-", 10, &s, &l), KURA_ENOTFOUND);
	assert_int_equal(route_range_parse("bytes=10-20", 10, &s, &l), KURA_ENOTFOUND);
	assert_int_equal(route_range_parse("bytes=0-", 0, &s, &l), KURA_ENOTFOUND);
	assert_int_equal(route_range_parse("bytes=0-0", 0, &s, &l), KURA_ENOTFOUND);

	static const char *const bad[] = {
	    "",
	    "bytes=",
	    "bytes=-",
	    "bytes=-5",
	    "bytes=5-4",
	    "bytes=a-b",
	    "bytes=1-2,4-5",
	    "bytes=1-2 ",
	    "bytes= 1-2",
	    "bytes=1 -2",
	    "bytes=+1-2",
	    "bytes=1-+2",
	    "bytes=1--2",
	    "Bytes=1-2",
	    "bits=1-2",
	    "bytes=1-2x",
	    "bytes=0x1-2",
	    "bytes=18446744073709551616-",
	    "bytes=0-18446744073709551616",
	    "bytes=99999999999999999999999-",
	    "bytes=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = route_range_parse(bad[i], 10, &s, &l);

		if (rc != KURA_EINVAL)
			fail_msg("\"%s\" -> %d, want KURA_EINVAL", bad[i], rc);
		assert_true(s == 0 && l == 0);
	}
	assert_int_equal(route_range_parse(NULL, 10, &s, &l), KURA_EINVAL);
}

static void test_length(void **state)
{
	uint64_t v;

	assert_int_equal(route_length_parse("0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(route_length_parse("1073807360", &v), 0);
	assert_true(v == 1073807360u);
	assert_int_equal(route_length_parse("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(route_length_parse("18446744073709551616", &v), KURA_EINVAL);
	assert_int_equal(route_length_parse("000000000000000000001", &v), KURA_EINVAL);
	assert_int_equal(route_length_parse("", &v), KURA_EINVAL);
	assert_int_equal(route_length_parse("-1", &v), KURA_EINVAL);
	assert_int_equal(route_length_parse("+1", &v), KURA_EINVAL);
	assert_int_equal(route_length_parse(" 1", &v), KURA_EINVAL);
	assert_int_equal(route_length_parse("1 ", &v), KURA_EINVAL);
	assert_int_equal(route_length_parse("1,2", &v), KURA_EINVAL);
	assert_int_equal(route_length_parse(NULL, &v), KURA_EINVAL);
}

static void test_bearer(void **state)
{
	char long_tok[300];

	assert_string_equal(route_bearer_token("Bearer abc-_DEF123"), "abc-_DEF123");
	assert_string_equal(route_bearer_token("bearer x"), "x");
	assert_string_equal(route_bearer_token("BEARER x"), "x");
	assert_null(route_bearer_token(NULL));
	assert_null(route_bearer_token(""));
	assert_null(route_bearer_token("Bearer"));
	assert_null(route_bearer_token("Bearer "));
	assert_null(route_bearer_token("Bearer  x"));
	assert_null(route_bearer_token("Bearer x y"));
	assert_null(route_bearer_token("Bearer x\t"));
	assert_null(route_bearer_token("Bearer x\x7f"));
	assert_null(route_bearer_token("Basic dXNlcjpwYXNz"));
	assert_null(route_bearer_token("Bearerx"));

	memcpy(long_tok, "Bearer ", 7);
	memset(long_tok + 7, 'a', 256);
	long_tok[7 + 256] = '\0';
	assert_non_null(route_bearer_token(long_tok));
	long_tok[7 + 256] = 'a';
	long_tok[7 + 257] = '\0';
	assert_null(route_bearer_token(long_tok));
}

static void test_unescape(void **state)
{
	struct {
		const char *in, *out;
	} cases[] = {
	    {"/v1/status", "/v1/status"},
	    {"/v1/repos/%2e%2e/data/", "/v1/repos/../data/"},
	    {"%2E%2e", ".."},
	    {"%252e", "%2e"},	/* once only */
	    {"a%00b", "a%00b"}, /* a NUL is never made */
	    {"a%0ab%1F%7f", "a%0ab%1F%7f"},
	    {"%", "%"},
	    {"%4", "%4"},
	    {"%zz", "%zz"},
	    {"%41%", "A%"},
	    {"%c3%a9", "\xc3\xa9"},
	};
	vault_route r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		size_t n;

		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		n = route_url_unescape(buf);
		assert_string_equal(buf, cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
	}

	/* decoded once, then checked: still refused */
	char url[] = "/v1/repos/r/data/" N64 "%00";
	route_url_unescape(url);
	assert_int_equal(route_parse(url, &r), KURA_EINVAL);
	char url2[] = "/v1/repos/%2e%2e/data/";
	route_url_unescape(url2);
	assert_int_equal(route_parse(url2, &r), KURA_EINVAL);
	char url3[] = "/v1/repos/r/%64ata/";
	route_url_unescape(url3);
	assert_int_equal(route_parse(url3, &r), 0);
	assert_int_equal(r.type, KURA_FILE_PACK);
}

/* /v1/deletions/ID: the approvers' path (approve_remote.h) */
static void test_deletion_id(void **state)
{
	static const char *const bad[] = {
	    "/v1/deletions/",	  "/v1/deletions/0",	      "/v1/deletions/01",
	    "/v1/deletions/1/",	  "/v1/deletions/1/approve", "/v1/deletions/1000000000",
	    "/v1/deletions/-1",	  "/v1/deletions/+1",	      "/v1/deletions/1a",
	    "/v1/deletions/%31", "/v1/deletions/ 1",
	};
	unsigned long id;

	(void)state;
	assert_int_equal(route_deletion_id("/v1/deletions/7", &id), 0);
	assert_int_equal(id, 7);
	assert_int_equal(route_deletion_id("/v1/deletions/999999999", &id), 0);
	assert_int_equal(id, 999999999UL);
	assert_int_equal(route_deletion_id("/v1/repos/clinic/deletions", &id), KURA_ENOTFOUND);
	assert_int_equal(route_deletion_id("/v1/deletions", &id), KURA_ENOTFOUND);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(route_deletion_id(bad[i], &id), KURA_EINVAL);
}

static void test_addr(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;

	assert_int_equal(route_addr_parse("127.0.0.1:7443", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(a4->sin_port), 7443);
	assert_int_equal(ntohl(a4->sin_addr.s_addr), 0x7f000001);

	assert_int_equal(route_addr_parse("[::1]:65535", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(a6->sin6_port), 65535);
	assert_true(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));

	assert_int_equal(route_addr_parse("0.0.0.0:1", &ss, &len), 0);
	assert_int_equal(route_addr_parse("[fe80::1:2]:443", &ss, &len), 0);

	static const char *const bad[] = {
	    "",
	    "127.0.0.1",
	    "127.0.0.1:",
	    "127.0.0.1:0",
	    "127.0.0.1:65536",
	    "127.0.0.1:-1",
	    "127.0.0.1:+80",
	    "127.0.0.1:80x",
	    "127.0.0.1:080800",
	    "localhost:80",
	    "127.1:80",
	    "::1:80",
	    "[::1]",
	    "[::1]80",
	    "[::1]:",
	    "[::1:80",
	    "[127.0.0.1]:80",
	    "[::1]:0",
	    " 127.0.0.1:80",
	    "127.0.0.1: 80",
	    "[]:80",
	    ":80",
	    "[::1]:80]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (route_addr_parse(bad[i], &ss, &len) != KURA_EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(len, 0);
	}
	assert_int_equal(route_addr_parse(NULL, &ss, &len), KURA_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_valid),	  cmocka_unit_test(test_route_not_found),
	    cmocka_unit_test(test_route_rejects), cmocka_unit_test(test_range),
	    cmocka_unit_test(test_length),	  cmocka_unit_test(test_bearer),
	    cmocka_unit_test(test_unescape),	  cmocka_unit_test(test_addr),
	    cmocka_unit_test(test_deletion_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
