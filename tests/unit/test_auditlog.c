/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_auditlog.c - the auditor's verifier of a vault's audit log
 * (lib/repo/auditlog.c), on logs built here with a known signing key.
 *
 * The logs are written by the vault's own writer (server/audit.c, from
 * build/libkurad.a as test_audit.c links it), so the two sides cannot drift
 * apart unnoticed; each tamper case then edits the bytes in memory and
 * checks that kura_auditlog_verify names the damaged line, and that the
 * vault's verifier agrees on the same bytes.
 */
#include "testutil.h"

#include <sys/stat.h>

#include <sodium.h>

#include "audit.h"
#include "common/buf.h"

#include "kura/auditlog.h"

#define NENTRIES 100 /* a checkpoint after 64 entries, another at close */

typedef struct {
	char dir[64];
	char log[96];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	char *lines[NENTRIES + 8]; /* the log's lines, each with its newline */
	int n;
} fixture;

typedef struct {
	uint64_t line[16];
	char msg[16][256];
	int n;
} found;

static void collect(uint64_t line, const char *message, void *ctx)
{
	found *fd = ctx;

	if (fd->n < 16) {
		fd->line[fd->n] = line;
		snprintf(fd->msg[fd->n], sizeof(fd->msg[0]), "%s", message);
	}
	fd->n++;
}

static int setup(void **state)
{
	static const uint8_t seed[crypto_sign_SEEDBYTES] = "kura audit log test key seed 32";
	fixture *f = calloc(1, sizeof(*f));
	char path[128];
	FILE *pub, *in;
	vault_audit *a = NULL;
	char *line = NULL;
	size_t cap = 0;

	if (!f || kura_crypto_init() < 0)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-auditlog-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/audit", f->dir);
	if (mkdir(path, 0700) < 0)
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/audit/log.jsonl", f->dir);
	crypto_sign_seed_keypair(f->pk, f->sk, seed);
	snprintf(path, sizeof(path), "%s/signing.pub", f->dir);
	if (!(pub = fopen(path, "wb")) || fwrite(f->pk, 1, sizeof(f->pk), pub) != sizeof(f->pk))
		return -1;
	fclose(pub);

	if (audit_open(&a, f->dir, f->sk, false) < 0)
		return -1;
	for (int i = 0; i < NENTRIES; i++) {
		vault_audit_entry e = {.peer = "127.0.0.1",
				       .client = i % 7 ? "ward4" : "",
				       .role = i % 7 ? "writer" : "",
				       .method = "PUT",
				       .path = path,
				       .status = i % 5 ? 201 : 403,
				       .bytes = (uint64_t)(1000 + i)};

		/* entry 3 summarises refusals, with the three members only summaries have */
		if (i == 3) {
			e = (vault_audit_entry){.peer = "127.0.0.9", .client = "", .role = "",
						.method = "REFUSED", .path = "", .status = 429,
						.count = 41, .first = "2026-12-02T08:00:00.000000001Z",
						.last = "2026-12-02T08:00:59.000000001Z"};
		}
		snprintf(path, sizeof(path), "/v1/repos/clinic/data/%064d", i);
		if (audit_append(a, &e) < 0)
			return -1;
	}
	audit_close(a);
	if (!(in = fopen(f->log, "r")))
		return -1;
	while (getline(&line, &cap, in) > 0 && f->n < NENTRIES + 8)
		f->lines[f->n++] = strdup(line);
	free(line);
	fclose(in);
	*state = f;
	return f->n == NENTRIES + 2 ? 0 : -1;
}

static int teardown(void **state)
{
	fixture *f = *state;

	if (test_remove_tree(f->dir) != 0)
		return -1;
	for (int i = 0; i < f->n; i++)
		free(f->lines[i]);
	free(f);
	return 0;
}

/* The lines (NULL ones left out) joined; also written to the vault's file. */
static char *join(fixture *f, size_t *len)
{
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len), *out = fopen(f->log, "w");

	assert_non_null(m);
	assert_non_null(out);
	for (int i = 0; i < f->n; i++)
		if (f->lines[i]) {
			fputs(f->lines[i], m);
			fputs(f->lines[i], out);
		}
	fclose(m);
	fclose(out);
	return buf;
}

/* Verify the current lines with `pk`; both verifiers must agree. */
static int check(fixture *f, const uint8_t *pk, found *fd, kura_auditlog_summary *sum)
{
	size_t len;
	char *log = join(f, &len);
	int err, server;

	memset(fd, 0, sizeof(*fd));
	err = kura_auditlog_verify(sum, (const uint8_t *)log, len, pk, collect, fd);
	free(log);
	server = audit_verify(f->dir, NULL);
	if (pk == f->pk)
		assert_int_equal(err, server);
	assert_int_equal(err == 0, fd->n == 0);
	return err;
}

static void expect_one(const found *fd, uint64_t line, const char *needle)
{
	assert_true(fd->n >= 1);
	if (fd->line[0] != line || !strstr(fd->msg[0], needle))
		print_error("expected line %llu '%s', got line %llu '%s'\n",
			    (unsigned long long)line, needle, (unsigned long long)fd->line[0],
			    fd->msg[0]);
	assert_int_equal(fd->line[0], line);
	assert_non_null(strstr(fd->msg[0], needle));
}

#define HEX64 "0000000000000000000000000000000000000000000000000000000000000000"

static void test_intact(void **state)
{
	fixture *f = *state;
	kura_auditlog_summary s;
	found fd;

	assert_ok(check(f, f->pk, &fd, &s));
	assert_int_equal(s.lines, NENTRIES + 2);
	assert_int_equal(s.entries, NENTRIES);
	assert_int_equal(s.checkpoints, 2);
	assert_int_equal(s.problems, 0);
	assert_int_equal(s.uncovered, 0);
	assert_int_equal(s.first_uncovered, 0);
}

static void test_empty(void **state)
{
	fixture *f = *state;
	kura_auditlog_summary s;
	found fd = {0};

	assert_ok(kura_auditlog_verify(&s, (const uint8_t *)"", 0, f->pk, collect, &fd));
	assert_int_equal(s.entries + s.checkpoints + s.problems, 0);
}

static void test_uncovered_is_information(void **state)
{
	fixture *f = *state;
	kura_auditlog_summary s;
	found fd;

	/* without the closing checkpoint, entries 64..99 (lines 66..101) are uncovered */
	free(f->lines[NENTRIES + 1]);
	f->lines[NENTRIES + 1] = NULL;
	assert_ok(check(f, f->pk, &fd, &s));
	assert_int_equal(s.uncovered, NENTRIES - 64);
	assert_int_equal(s.first_uncovered, 66);
	assert_int_equal(s.checkpoints, 1);
}

static void test_edited_entry(void **state)
{
	fixture *f = *state;
	kura_auditlog_summary s;
	found fd;
	char *p = strstr(f->lines[29], "\"bytes\":10");

	assert_non_null(p);
	p[9] = '9'; /* 1029 -> 9029 */
	assert_int_equal(check(f, f->pk, &fd, &s), KURA_ECORRUPT);
	expect_one(&fd, 30, "entry 29 does not match its hash");
	assert_int_equal(fd.n, 1);
	assert_int_equal(s.problems, 1);
}

static void test_deleted_entry(void **state)
{
	fixture *f = *state;
	kura_auditlog_summary s;
	found fd;

	free(f->lines[40]);
	f->lines[40] = NULL; /* entry 40 */
	assert_int_equal(check(f, f->pk, &fd, &s), KURA_ECORRUPT);
	/* the gap shows where entry 41 now stands, on line 41 */
	expect_one(&fd, 41, "entry 41 where entry 40 was expected");
	assert_int_equal(s.entries, NENTRIES - 1);
}

static void test_deleted_tail_entry_caught_by_checkpoint(void **state)
{
	fixture *f = *state;
	kura_auditlog_summary s;
	found fd;

	free(f->lines[63]);
	f->lines[63] = NULL; /* entry 63, just before the first checkpoint */
	assert_int_equal(check(f, f->pk, &fd, &s), KURA_ECORRUPT);
	expect_one(&fd, 64, "checkpoint at entry 64 does not match");
}

static void test_reordered_entries(void **state)
{
	fixture *f = *state;
	kura_auditlog_summary s;
	found fd;
	char *t = f->lines[10];

	f->lines[10] = f->lines[11];
	f->lines[11] = t;
	assert_int_equal(check(f, f->pk, &fd, &s), KURA_ECORRUPT);
	expect_one(&fd, 11, "entry 11 where entry 10 was expected");
}

static void test_forged_checkpoint(void **state)
{
	fixture *f = *state;
	uint8_t pk2[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES], h[32];
	uint8_t sig[crypto_sign_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	char hex[65], *line;
	kura_auditlog_summary s;
	found fd;

	/* the first checkpoint (line 65) re-signed by someone else's key */
	crypto_sign_keypair(pk2, sk2);
	memcpy(hex, strstr(f->lines[64], "\"checkpoint\":\"") + 14, 64);
	hex[64] = '\0';
	assert_ok(kura_unhex(h, hex, 32));
	crypto_sign_detached(sig, NULL, h, sizeof(h), sk2);
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	assert_true(asprintf(&line, "{\"seq\":64,\"checkpoint\":\"%s\",\"sig\":\"%s\"}\n", hex,
			     b64) > 0);
	free(f->lines[64]);
	f->lines[64] = line;
	assert_int_equal(check(f, f->pk, &fd, &s), KURA_ECORRUPT);
	expect_one(&fd, 65, "signature does not verify");
	assert_int_equal(fd.n, 1);

	/* and the whole log against a key that is not the vault's */
	assert_int_equal(check(f, pk2, &fd, &s), KURA_ECORRUPT);
	assert_int_equal(fd.n, 1); /* line 65 verifies with pk2, line 102 does not */
	expect_one(&fd, 102, "signature does not verify");
}

static void test_partial_and_garbage(void **state)
{
	fixture *f = *state;
	kura_auditlog_summary s;
	found fd;
	size_t n = strlen(f->lines[NENTRIES + 1]);

	free(f->lines[5]);
	f->lines[5] = strdup("{\"seq\": 5, \"hello\"\n");
	f->lines[NENTRIES + 1][n - 1] = '\0'; /* the last line loses its newline */
	assert_int_equal(check(f, f->pk, &fd, &s), KURA_ECORRUPT);
	assert_int_equal(fd.n, 2);
	expect_one(&fd, 6, "not a JSON object");
	assert_int_equal(fd.line[1], NENTRIES + 2);
	assert_non_null(strstr(fd.msg[1], "partial line"));
}

/* A summary's members are part of its hash; an entry's shape is exact. */
static void test_refusal_summary(void **state)
{
	fixture *f = *state;
	kura_auditlog_summary s;
	found fd;
	char *l = f->lines[3], *c = strstr(l, "\"count\":41");

	assert_non_null(c);
	assert_non_null(strstr(l, "\"first\":\"2026-12-02T08:00:00.000000001Z\""));
	c[9] = '2'; /* 41 -> 42: the hash no longer matches */
	assert_int_equal(check(f, f->pk, &fd, &s), KURA_ECORRUPT);
	expect_one(&fd, 4, "does not match its hash");

	/* "count" on an entry without "first" and "last" is not an entry */
	free(f->lines[6]);
	f->lines[6] = strdup("{\"seq\":6,\"time\":\"x\",\"peer\":\"x\",\"client\":\"\",\"role\":"
			     "\"\",\"method\":\"GET\",\"path\":\"\",\"status\":401,\"bytes\":0,"
			     "\"count\":1,\"prev\":\"" HEX64 "\",\"hash\":\"" HEX64 "\"}\n");
	assert_int_equal(check(f, f->pk, &fd, &s), KURA_ECORRUPT);
	assert_int_equal(fd.line[1], 7);
	assert_non_null(strstr(fd.msg[1], "malformed entry"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_intact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uncovered_is_information, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edited_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_tail_entry_caught_by_checkpoint, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reordered_entries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forged_checkpoint, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_and_garbage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusal_summary, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
