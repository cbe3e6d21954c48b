/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_gate.c - the vault's lockout and refusal accounting (server/gate.c):
 * the lockout counts per address, and every refusal is either logged on
 * its own or counted in exactly one summary, even when there are more
 * addresses than the table holds.
 */
#include "testutil.h"

#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "audit.h"
#include "gate.h"

typedef struct {
	char dir[64];
	char log[96];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	vault_audit *audit;
	gate *g;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	char path[128];
	gate_limits lim;

	if (!f || kura_crypto_init() < 0)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-gate-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/audit", f->dir);
	if (mkdir(path, 0700) < 0)
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/audit/log.jsonl", f->dir);
	crypto_sign_keypair(pk, f->sk);
	if (gate_limits_make(0, 0, &lim) < 0 || audit_open(&f->audit, f->dir, f->sk, false) < 0 ||
	    gate_new(&f->g, f->audit, &lim) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	gate_free(f->g);
	audit_close(f->audit);
	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* Close the gate and the log; the sum of the summaries' counts, and how many there are. */
static uint64_t summaries(fixture *f, const char *peer, unsigned *entries)
{
	char line[4096];
	uint64_t total = 0;
	FILE *in;

	gate_free(f->g);
	f->g = NULL;
	audit_close(f->audit);
	f->audit = NULL;
	*entries = 0;
	assert_non_null(in = fopen(f->log, "r"));
	while (fgets(line, sizeof(line), in)) {
		json_t *e = json_loads(line, 0, NULL);
		const char *m = json_string_value(json_object_get(e, "method"));

		assert_non_null(e);
		if (m && strcmp(m, "REFUSED") == 0 &&
		    (!peer || strcmp(json_string_value(json_object_get(e, "peer")), peer) == 0)) {
			total += (uint64_t)json_integer_value(json_object_get(e, "count"));
			(*entries)++;
		}
		json_decref(e);
	}
	fclose(in);
	return total;
}

static void test_lockout_per_address(void **state)
{
	fixture *f = *state;

	for (int i = 0; i < 9; i++)
		gate_peer_failed(f->g, "192.0.2.1");
	assert_false(gate_peer_blocked(f->g, "192.0.2.1"));
	gate_peer_failed(f->g, "192.0.2.1");
	assert_true(gate_peer_blocked(f->g, "192.0.2.1"));
	assert_false(gate_peer_blocked(f->g, "192.0.2.2"));
}

static void test_one_summary_per_window(void **state)
{
	fixture *f = *state;
	unsigned entries;

	assert_true(gate_refusal(f->g, "192.0.2.1", 401));
	for (int i = 0; i < 999; i++)
		assert_false(gate_refusal(f->g, "192.0.2.1", 429));
	assert_true(gate_refusal(f->g, "192.0.2.2", 401)); /* its own window */
	assert_ok(gate_tick(f->g));			    /* the window is still open */
	assert_int_equal(summaries(f, "192.0.2.1", &entries), 999);
	assert_int_equal(entries, 1);
}

/*
 * More addresses than the table holds: the rest share one slot, so the log
 * still grows by a bounded amount, and no refusal is lost.
 */
static void test_many_addresses_lose_nothing(void **state)
{
	fixture *f = *state;
	uint64_t logged = 0;
	unsigned entries;
	char addr[32];

	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 1500; i++) {
			snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
			logged += gate_refusal(f->g, addr, 401);
		}
	/* the first of each address in the table and the first of "*" are logged in full */
	assert_int_equal(logged, 1024 + 1);
	assert_int_equal(logged + summaries(f, NULL, &entries), 3 * 1500);
	assert_true(entries <= 1024 + 1);
}

/* The connection limits: defaults, a quarter kept for clients with a token, bounds. */
static void test_limits(void **state)
{
	gate_limits l;

	(void)state;
	assert_int_equal(gate_limits_make(0, 0, &l), 0);
	assert_int_equal(l.connections, GATE_CONNECTIONS_DEFAULT);
	assert_int_equal(l.per_address, GATE_PER_ADDRESS_DEFAULT);
	assert_int_equal(l.unauthenticated, 768);
	assert_int_equal(gate_limits_make(16, 0, &l), 0);
	assert_int_equal(l.per_address, 16); /* never more than in all */
	assert_int_equal(l.unauthenticated, 12);
	assert_int_equal(gate_limits_make(9, 2, &l), 0);
	assert_int_equal(l.unauthenticated, 7); /* rounds toward keeping more for clients */
	assert_int_equal(gate_limits_make(GATE_CONNECTIONS_MIN - 1, 0, &l), KURA_EINVAL);
	assert_int_equal(gate_limits_make(GATE_CONNECTIONS_MAX + 1, 0, &l), KURA_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test_setup_teardown(test_lockout_per_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_summary_per_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_addresses_lose_nothing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
