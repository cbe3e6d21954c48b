/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_audit.c - the vault's audit log (server/audit.c).
 *
 * Each tamper test writes a clean log, damages it the way an intruder
 * would (edit a byte, delete a line, swap two lines, forge a checkpoint)
 * and checks that `log verify` fails and names the damaged line.
 */
#include "testutil.h"

#include <sys/stat.h>

#include <sodium.h>

#include "audit.h"
#include "common/buf.h"

#define NENTRIES 100 /* one checkpoint after 64, one at close */

typedef struct {
	char dir[64];
	char log[96];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char path[128];
	FILE *pub;

	if (!f || kura_crypto_init() < 0)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-audit-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/audit", f->dir);
	if (mkdir(path, 0700) < 0)
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/audit/log.jsonl", f->dir);
	crypto_sign_keypair(f->pk, f->sk);
	snprintf(path, sizeof(path), "%s/signing.pub", f->dir);
	if (!(pub = fopen(path, "wb")) || fwrite(f->pk, 1, sizeof(f->pk), pub) != sizeof(f->pk))
		return -1;
	fclose(pub);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

static void append_n(fixture *f, int n, int first)
{
	vault_audit *a = NULL;
	char path[128];

	assert_ok(audit_open(&a, f->dir, f->sk, false));
	for (int i = 0; i < n; i++) {
		vault_audit_entry e = {.peer = "127.0.0.1", .client = "ward4", .role = "writer",
				       .method = "PUT", .path = path, .status = 201,
				       .bytes = (uint64_t)(1000 + i)};

		snprintf(path, sizeof(path), "/v1/repos/clinic/data/%064d", first + i);
		assert_ok(audit_append(a, &e));
	}
	audit_close(a);
}

/* Run verify; returns its code, with its report in *out (malloc'd). */
static int verify(fixture *f, char **out)
{
	size_t len;
	FILE *m = open_memstream(out, &len);
	int err;

	assert_non_null(m);
	err = audit_verify(f->dir, m);
	fclose(m);
	return err;
}

/* The log as an array of lines (each with its newline). */
static char **read_lines(fixture *f, int *count)
{
	FILE *in = fopen(f->log, "r");
	char **lines = NULL, *line = NULL;
	size_t cap = 0;
	int n = 0;

	assert_non_null(in);
	while (getline(&line, &cap, in) > 0) {
		lines = realloc(lines, sizeof(*lines) * (size_t)(n + 1));
		assert_non_null(lines);
		lines[n++] = strdup(line);
	}
	free(line);
	fclose(in);
	*count = n;
	return lines;
}

static void write_lines(fixture *f, char **lines, int count)
{
	FILE *out = fopen(f->log, "w");

	assert_non_null(out);
	for (int i = 0; i < count; i++)
		if (lines[i])
			fputs(lines[i], out);
	fclose(out);
}

static void free_lines(char **lines, int count)
{
	for (int i = 0; i < count; i++)
		free(lines[i]);
	free(lines);
}

static void expect_problem(fixture *f, const char *needle)
{
	char *report = NULL;

	assert_int_equal(verify(f, &report), KURA_ECORRUPT);
	if (!strstr(report, needle))
		print_error("expected '%s' in:\n%s", needle, report);
	assert_non_null(strstr(report, needle));
	free(report);
}

static void test_intact(void **state)
{
	fixture *f = *state;
	char *report = NULL;
	char **lines;
	int n;

	append_n(f, NENTRIES, 0);
	assert_ok(verify(f, &report));
	assert_non_null(strstr(report, "100 entries, 2 checkpoints, intact"));
	assert_null(strstr(report, "not yet covered"));
	free(report);

	/* Line 65 is the first checkpoint, covering entries 0..63; the last line the second. */
	lines = read_lines(f, &n);
	assert_int_equal(n, NENTRIES + 2);
	assert_non_null(strstr(lines[64], "{\"seq\":64,\"checkpoint\":\""));
	assert_non_null(strstr(lines[n - 1], "{\"seq\":100,\"checkpoint\":\""));
	assert_true(strncmp(lines[0], "{\"seq\":0,\"time\":\"", 17) == 0);
	assert_non_null(strstr(lines[0], "\"prev\":\"0000000000000000"));
	free_lines(lines, n);
}

static void test_edit_byte(void **state)
{
	fixture *f = *state;
	char **lines, *p;
	int n;

	append_n(f, NENTRIES, 0);
	lines = read_lines(f, &n);
	p = strstr(lines[29], "\"bytes\":10");
	assert_non_null(p);
	p[9] = '9'; /* bytes 1029 -> 9029 */
	write_lines(f, lines, n);
	free_lines(lines, n);
	expect_problem(f, "line 30: entry 29 does not match its hash");
}

static void test_edit_and_rehash(void **state)
{
	fixture *f = *state;
	uint8_t prev[32], h[32];
	char **lines, *p, hex[65];
	int n;

	/* An intruder who recomputes the edited entry's hash breaks the next link. */
	append_n(f, NENTRIES, 0);
	lines = read_lines(f, &n);
	p = strstr(lines[9], "\"status\":201");
	assert_non_null(p);
	p[11] = '4'; /* 201 -> 204 */
	p = strstr(lines[9], "\"prev\":\"");
	memcpy(hex, p + 8, 64);
	hex[64] = '\0';
	assert_ok(kura_unhex(prev, hex, 32));
	assert_ok(audit_entry_hash(h, prev, lines[9], strlen(lines[9]) - 1 - (sizeof(",\"hash\":\"\"}") - 1 + 64)));
	kura_hex(hex, h, 32);
	memcpy(lines[9] + strlen(lines[9]) - 1 - 2 - 64, hex, 64);
	write_lines(f, lines, n);
	free_lines(lines, n);
	expect_problem(f, "line 11: entry 10 does not link to the entry before it");
}

static void test_delete_line(void **state)
{
	fixture *f = *state;
	char **lines;
	int n;

	append_n(f, NENTRIES, 0);
	lines = read_lines(f, &n);
	free(lines[9]);
	lines[9] = NULL; /* entry 9 */
	write_lines(f, lines, n);
	free_lines(lines, n);
	expect_problem(f, "line 10: entry 10 where entry 9 was expected");
}

static void test_swap_lines(void **state)
{
	fixture *f = *state;
	char **lines, *t;
	int n;

	append_n(f, NENTRIES, 0);
	lines = read_lines(f, &n);
	t = lines[4];
	lines[4] = lines[5];
	lines[5] = t;
	write_lines(f, lines, n);
	free_lines(lines, n);
	expect_problem(f, "line 5: entry 5 where entry 4 was expected");
	expect_problem(f, "line 6: entry 4 where entry 6 was expected");
}

static void test_forged_checkpoint(void **state)
{
	fixture *f = *state;
	uint8_t pk[32], sk[64], h[32], sig[64];
	char **lines, *p, *line, hex[65];
	char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	int n;

	append_n(f, NENTRIES, 0);
	lines = read_lines(f, &n);
	/* Signed with another key, as anyone without the vault's key would have to. */
	p = strstr(lines[64], "\"checkpoint\":\"");
	assert_non_null(p);
	memcpy(hex, p + 14, 64);
	hex[64] = '\0';
	assert_ok(kura_unhex(h, hex, 32));
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, h, 32, sk);
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	assert_true(asprintf(&line, "{\"seq\":64,\"checkpoint\":\"%.64s\",\"sig\":\"%s\"}\n",
			     p + 14, b64) > 0);
	free(lines[64]);
	lines[64] = line;
	write_lines(f, lines, n);
	free_lines(lines, n);
	expect_problem(f, "line 65: checkpoint at entry 64: signature does not verify");
}

static void test_uncovered_and_truncated(void **state)
{
	fixture *f = *state;
	char *report = NULL, **lines;
	int n;

	/* Cut off the final checkpoint and 6 entries: only the count shows it. */
	append_n(f, NENTRIES, 0);
	lines = read_lines(f, &n);
	for (int i = n - 7; i < n; i++) {
		free(lines[i]);
		lines[i] = NULL;
	}
	write_lines(f, lines, n);
	free_lines(lines, n);
	assert_ok(verify(f, &report));
	assert_non_null(strstr(report, "lines 66-95: 30 entries not yet covered by a signed "
				       "checkpoint"));
	free(report);
}

static void test_reopen_continues(void **state)
{
	fixture *f = *state;
	char *report = NULL, **lines;
	int n;

	append_n(f, 10, 0);
	append_n(f, 3, 10);
	assert_ok(verify(f, &report));
	assert_non_null(strstr(report, "13 entries, 2 checkpoints, intact"));
	free(report);

	/* After a last line that is an entry, not a checkpoint (a crash). */
	lines = read_lines(f, &n);
	free(lines[n - 1]);
	lines[n - 1] = NULL;
	write_lines(f, lines, n);
	free_lines(lines, n);
	append_n(f, 2, 13);
	assert_ok(verify(f, &report));
	assert_non_null(strstr(report, "15 entries, 2 checkpoints, intact"));
	free(report);
}

static void test_broken_tail_refused(void **state)
{
	fixture *f = *state;
	vault_audit *a = NULL;
	char **lines, *p;
	FILE *out;
	int n;

	append_n(f, 5, 0);
	out = fopen(f->log, "a");
	assert_non_null(out);
	fputs("{\"seq\":5,\"ti", out); /* a write cut short */
	fclose(out);
	assert_int_equal(audit_open(&a, f->dir, f->sk, false), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "partial line"));
	expect_problem(f, "line 7: partial line");

	/* An edited last entry is refused too. */
	lines = read_lines(f, &n);
	free(lines[n - 1]);
	lines[n - 1] = NULL; /* the partial line */
	free(lines[n - 2]);
	lines[n - 2] = NULL; /* the checkpoint */
	p = strstr(lines[n - 3], "\"status\":201");
	p[11] = '0'; /* 201 -> 200 */
	write_lines(f, lines, n);
	free_lines(lines, n);
	assert_int_equal(audit_open(&a, f->dir, f->sk, false), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "does not match its hash"));
}

static void test_one_writer_and_hostile_text(void **state)
{
	fixture *f = *state;
	vault_audit *a = NULL, *b = NULL;
	vault_audit_entry e = {.peer = "::1", .client = "", .role = "", .method = "GET",
			       .path = "/v1/\xff\xfe\n\"x", .status = 401};
	char *report = NULL;

	assert_ok(audit_open(&a, f->dir, f->sk, false));
	assert_int_equal(audit_open(&b, f->dir, f->sk, false), KURA_EDENIED);
	assert_ok(audit_append(a, &e));
	audit_close(a);
	assert_ok(verify(f, &report));
	assert_non_null(strstr(report, "1 entry, 1 checkpoint, intact"));
	free(report);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_intact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edit_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edit_and_rehash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_swap_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forged_checkpoint, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uncovered_and_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_continues, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_broken_tail_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_writer_and_hostile_text, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
