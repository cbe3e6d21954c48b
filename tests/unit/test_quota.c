/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_quota.c - the vault's upload quotas: sizes, the policy's "quota"
 * member (server/quota_conf.c), which limits are in force, the token
 * bucket's arithmetic, and the day history of a ledger
 * (server/quota_ledger.c).  The expected numbers are worked out by hand
 * in the comments, not by a second implementation.
 */
#include "testutil.h"

#include <jansson.h>

#include "policy.h"
#include "quota_conf.h"
#include "quota_ledger.h"

#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)
#define S ((int64_t)1000000000)

static int parse_text(const char *text, vault_quota_conf *out)
{
	json_t *doc = json_loads(text, 0, NULL);
	int rc;

	assert_non_null(doc);
	rc = quota_conf_parse(doc, out);
	json_decref(doc);
	return rc;
}

static void test_sizes(void **state)
{
	static const struct {
		const char *text;
		uint64_t n;
		const char *back;
	} ok[] = {
	    {"1", 1, "1"},
	    {"4096", 4096, "4KiB"},
	    {"20GiB", 20 * GiB, "20GiB"},
	    {"1536MiB", 1536 * MiB, "1536MiB"},
	    {"1024MiB", GiB, "1GiB"},
	    {"3KiB", 3072, "3KiB"},
	    {"2TiB", 2048 * GiB, "2TiB"},
	    {"1024PiB", (uint64_t)1 << 60, "1024PiB"},
	    {"none", QUOTA_UNLIMITED, "none"},
	};
	static const char *const bad[] = {"",	    "0",     "0MiB", "01GiB", "-1",    "1.5GiB",
					  "1 GiB", "1gib",  "1GB",  "1G",    " 1",    "1025PiB",
					  "99999999999999999999999", "None", "1KiBx"};
	char out[32];
	uint64_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_ok(quota_size_parse(ok[i].text, &n));
		assert_true(n == ok[i].n);
		quota_size_format(n, out);
		assert_string_equal(out, ok[i].back);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(quota_size_parse(bad[i], &n), KURA_EINVAL);
	quota_size_human(12 * MiB, out);
	assert_string_equal(out, "12.0 MiB");
	quota_size_human(512, out);
	assert_string_equal(out, "512 B");
}

static void test_parse_and_format(void **state)
{
	static const char text[] =
	    "{\"repository\": {\"daily\": \"64GiB\", \"cap\": \"2TiB\"},"
	    " \"client\": {\"burst\": \"8GiB\"},"
	    " \"repositories\": {\"clinic\": {\"daily\": \"12MiB\", \"burst\": \"none\"}},"
	    " \"clients\": {\"ward4\": {\"daily\": \"1GiB\"}}}";
	vault_quota_conf q, back;
	json_t *doc;

	(void)state;
	assert_ok(parse_text(text, &q));
	assert_true(q.repository.daily == 64 * GiB && q.repository.burst == 0 &&
		    q.repository.cap == 2048 * GiB);
	assert_true(q.client.burst == 8 * GiB && q.client.daily == 0);
	assert_int_equal(q.count, 2);
	assert_false(quota_conf_empty(&q));
	assert_non_null(doc = quota_conf_format(&q));
	assert_ok(quota_conf_parse(doc, &back));
	json_decref(doc);
	assert_true(quota_conf_equal(&q, &back));
	back.named[0].lim.daily++;
	assert_false(quota_conf_equal(&q, &back));

	assert_ok(parse_text("{}", &q));
	assert_true(quota_conf_empty(&q));
	assert_null(quota_conf_format(&q));
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
	    "[]",
	    "{\"repositry\": {}}",
	    "{\"repository\": {\"daily\": 5}}",
	    "{\"repository\": {\"daily\": \"5GB\"}}",
	    "{\"repository\": {\"weekly\": \"5GiB\"}}",
	    "{\"repository\": []}",
	    "{\"client\": {\"cap\": \"5GiB\"}}",
	    "{\"clients\": {\"ward4\": {\"cap\": \"5GiB\"}}}",
	    "{\"repositories\": {\"Clinic\": {}}}",
	    "{\"repositories\": {\"../x\": {}}}",
	    "{\"repositories\": {\"\": {}}}",
	    "{\"repositories\": []}",
	};
	vault_quota_conf q;
	char many[QUOTA_NAMED_MAX * 24 + 64];
	size_t off = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_text(bad[i], &q), KURA_EINVAL);
	/* One name more than the table holds. */
	off += (size_t)snprintf(many + off, sizeof(many) - off, "{\"clients\": {");
	for (int i = 0; i <= QUOTA_NAMED_MAX; i++)
		off += (size_t)snprintf(many + off, sizeof(many) - off, "%s\"c%d\": {}",
					i ? ", " : "", i);
	snprintf(many + off, sizeof(many) - off, "}}");
	assert_int_equal(parse_text(many, &q), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "more than"));
}

/* The policy file with and without the member: older files still load, and save keeps it. */
static void test_policy_member(void **state)
{
	static const char base[] = "{\"min_age\": \"30d\", \"keep_daily\": 7, \"keep_weekly\": 4, "
				   "\"keep_monthly\": 12, \"quorum\": 2, \"delay\": \"7d\"";
	char text[512], *out;
	vault_policy p, back;

	(void)state;
	snprintf(text, sizeof(text), "%s}", base);
	assert_ok(policy_parse(text, strlen(text), &p));
	assert_true(quota_conf_empty(&p.quota));
	assert_non_null(out = policy_format(&p));
	assert_null(strstr(out, "quota"));
	free(out);

	snprintf(text, sizeof(text), "%s, \"quota\": {\"repositories\": {\"clinic\": "
		 "{\"daily\": \"12MiB\"}}}}", base);
	assert_ok(policy_parse(text, strlen(text), &p));
	assert_int_equal(p.quota.count, 1);
	assert_non_null(out = policy_format(&p));
	assert_ok(policy_parse(out, strlen(out), &back));
	free(out);
	assert_true(quota_conf_equal(&p.quota, &back.quota));

	snprintf(text, sizeof(text), "%s, \"quota\": {\"repository\": {\"daily\": \"0\"}}}", base);
	assert_int_equal(policy_parse(text, strlen(text), &p), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "'daily'"));
}

/* `kurad policy set --quota-*`: defaults, named entries added, changed and removed. */
static void test_conf_set(void **state)
{
	vault_quota_conf q;

	(void)state;
	memset(&q, 0, sizeof(q));
	assert_ok(quota_conf_set(&q, NULL, "64GiB", NULL, "2TiB"));
	assert_int_equal(q.repository.daily, 64 * GiB);
	assert_int_equal(q.repository.cap, 2048 * GiB);
	assert_ok(quota_conf_set(&q, "clients", NULL, "none", NULL));
	assert_int_equal(q.client.burst, QUOTA_UNLIMITED);
	assert_ok(quota_conf_set(&q, "repo:clinic", "12MiB", NULL, NULL));
	assert_ok(quota_conf_set(&q, "client:ward4", "1GiB", "512KiB", NULL));
	assert_int_equal(q.count, 2);
	assert_ok(quota_conf_set(&q, "repo:clinic", NULL, "4MiB", NULL)); /* keeps daily */
	assert_int_equal(q.count, 2);
	assert_string_equal(q.named[0].name, "clinic");
	assert_int_equal(q.named[0].lim.daily, 12 * MiB);
	assert_int_equal(q.named[0].lim.burst, 4 * MiB);
	/* everything cleared: the entry goes, the other stays */
	assert_ok(quota_conf_set(&q, "repo:clinic", "derived", "derived", NULL));
	assert_int_equal(q.count, 1);
	assert_string_equal(q.named[0].name, "ward4");
	assert_true(q.named[0].client);
	/* a cleared default is "not set" */
	assert_ok(quota_conf_set(&q, "repositories", NULL, NULL, "derived"));
	assert_int_equal(q.repository.cap, 0);

	assert_int_equal(quota_conf_set(&q, "client:ward4", NULL, NULL, "1GiB"), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "no cap"));
	assert_int_equal(quota_conf_set(&q, "repo:../x", "1GiB", NULL, NULL), KURA_EINVAL);
	assert_int_equal(quota_conf_set(&q, "everyone", "1GiB", NULL, NULL), KURA_EINVAL);
	assert_int_equal(quota_conf_set(&q, NULL, "12MB", NULL, NULL), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "--quota-daily"));
	assert_int_equal(q.count, 1); /* refusals change nothing named */
}

static void test_resolve(void **state)
{
	vault_quota_conf q;
	quota_limits derived = quota_derived(0, 0), r, c;
	unsigned from;

	(void)state;
	/* Nothing set: the floor of 1 GiB a day (a file system smaller than 32 GiB), no cap. */
	assert_true(derived.daily == GiB && derived.burst == GiB && derived.cap == QUOTA_UNLIMITED);
	/* 4 x the largest day when that is more; the file system's 1/32 as the floor. */
	derived = quota_derived(3 * GiB, 64 * GiB);
	assert_true(derived.daily == 12 * GiB && derived.burst == 12 * GiB);
	derived = quota_derived(GiB, 640 * GiB);
	assert_true(derived.daily == 20 * GiB);

	assert_ok(parse_text("{\"repository\": {\"cap\": \"1TiB\"},"
			     " \"client\": {\"daily\": \"2GiB\"},"
			     " \"repositories\": {\"clinic\": {\"daily\": \"5GiB\"}},"
			     " \"clients\": {\"ward4\": {\"burst\": \"1GiB\"}}}",
			     &q));
	/* clinic: its own daily, the burst follows it, the default cap. */
	r = quota_resolve_repo(&q, "clinic", &derived, &from);
	assert_true(r.daily == 5 * GiB && r.burst == 5 * GiB && r.cap == 1024 * GiB);
	assert_int_equal(from, 1 | 2 | 4);
	/* another repository: derived daily and burst, the default cap. */
	r = quota_resolve_repo(&q, "lab", &derived, &from);
	assert_true(r.daily == 20 * GiB && r.burst == 20 * GiB && r.cap == 1024 * GiB);
	assert_int_equal(from, 4);
	/* ward4: the client default daily, its own burst. */
	c = quota_resolve_client(&q, "ward4", &r, &from);
	assert_true(c.daily == 2 * GiB && c.burst == GiB && c.cap == QUOTA_UNLIMITED);
	assert_int_equal(from, 1 | 2);
	/* with no client settings at all, a credential has its repository's limits */
	memset(&q, 0, sizeof(q));
	c = quota_resolve_client(&q, "ward4", &r, &from);
	assert_true(c.daily == r.daily && c.burst == r.burst);
	assert_int_equal(from, 0);
}

static void test_bucket(void **state)
{
	/* 86400 MiB a day is 1 MiB a second: easy to follow. */
	quota_limits l = {86400 * MiB, 10 * MiB, QUOTA_UNLIMITED};
	quota_bucket b = {0, 1000 * S};
	int64_t wait;

	(void)state;
	assert_int_equal(quota_bucket_fits(&b, &l, 10 * MiB, 1000 * S, &wait), QUOTA_FITS);
	assert_int_equal(quota_bucket_fits(&b, &l, 10 * MiB + 1, 1000 * S, &wait), QUOTA_OVER_BURST);
	quota_bucket_take(&b, l.daily, 8 * MiB, 1000 * S);
	assert_true(b.debt == 8 * MiB);
	/* 2 MiB left; 5 MiB fit once 3 MiB refilled: 3 s */
	assert_int_equal(quota_bucket_fits(&b, &l, 5 * MiB, 1000 * S, &wait), QUOTA_OVER_DAILY);
	assert_int_equal(wait, 3 * S);
	assert_int_equal(quota_bucket_fits(&b, &l, 5 * MiB, 1003 * S, &wait), QUOTA_FITS);
	/* half a second refills half a MiB */
	assert_true(quota_bucket_debt(&b, l.daily, 1000 * S + S / 2) == 8 * MiB - MiB / 2);
	/* a clock set back refills nothing */
	assert_true(quota_bucket_debt(&b, l.daily, 900 * S) == 8 * MiB);
	/* a refused upload gives back what it held, never below empty */
	quota_bucket_give(&b, l.daily, 20 * MiB, 1001 * S);
	assert_true(b.debt == 0 && b.at_ns == 1001 * S);
	/* after a day everything is refilled */
	quota_bucket_take(&b, l.daily, 10 * MiB, 1001 * S);
	assert_true(quota_bucket_debt(&b, l.daily, 1001 * S + QUOTA_DAY_NS) == 0);
	/* no daily limit: anything fits */
	l.daily = QUOTA_UNLIMITED;
	assert_int_equal(quota_bucket_fits(&b, &l, UINT64_MAX, 0, &wait), QUOTA_FITS);
}

static void test_days(void **state)
{
	quota_ledger l;
	int64_t today = 20424; /* 2025-12-02 */

	(void)state;
	memset(&l, 0, sizeof(l));
	for (size_t i = 0; i < QUOTA_LEDGER_DAYS; i++)
		l.day[i] = INT64_MIN;
	assert_int_equal(quota_day_of(today * QUOTA_DAY_NS + 5), today);
	assert_int_equal(quota_day_of(-1), -1);
	quota_ledger_add_day(&l, today, 100 * MiB);     /* today does not count */
	quota_ledger_add_day(&l, today - 1, 3 * MiB);
	quota_ledger_add_day(&l, today - 30, 7 * MiB);  /* the oldest day that counts */
	quota_ledger_add_day(&l, today - 31, 50 * MiB); /* too old */
	assert_true(quota_ledger_largest_day(&l, today) == 7 * MiB);
	assert_true(quota_ledger_day(&l, today) == 100 * MiB);
	/* a day 32 later takes the same slot: the old one is gone */
	quota_ledger_add_day(&l, today + QUOTA_LEDGER_DAYS, 1);
	assert_true(quota_ledger_day(&l, today) == 0);
	/* credentials: a table, then one shared slot */
	for (int i = 0; i < QUOTA_LEDGER_CLIENTS + 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "w%d", i);
		assert_non_null(quota_ledger_client_get(&l, name));
	}
	assert_int_equal(l.nclients, QUOTA_LEDGER_CLIENTS);
	assert_string_equal(l.clients[QUOTA_LEDGER_CLIENTS - 1].name, "*");
	assert_string_equal(quota_ledger_client_get(&l, "w3")->name, "w3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),	  cmocka_unit_test(test_parse_and_format),
	    cmocka_unit_test(test_parse_rejects), cmocka_unit_test(test_policy_member),
	    cmocka_unit_test(test_conf_set),	  cmocka_unit_test(test_resolve),	  cmocka_unit_test(test_bucket),
	    cmocka_unit_test(test_days),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
