/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_policy.c - the vault's deletion policy (server/policy.c):
 * policy.json parsing and formatting, durations, load/save, which
 * snapshots retention keeps, its explanations, and the receive-time
 * reader.
 *
 * The retention cases are computed by hand from a calendar, not by a
 * second implementation: the expected sets are written out below.
 */
#include "testutil.h"

#include <sys/stat.h>
#include <time.h>

#include "files.h"
#include "policy.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* Seconds since the epoch of a UTC date and time (timegm is not under test). */
static int64_t utc(int y, int mon, int d, int h, int min, int s)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = min;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

#define NS(sec) ((int64_t)(sec)*1000000000)

/* A 64-hex-digit snapshot name made from a number. */
static void snap_name(char out[65], unsigned i)
{
	snprintf(out, 65, "%064x", i);
}

/* The six members, each as `"name": value`; `skip` drops one, `repl` replaces it. */
static char *policy_json(const char *skip, const char *repl_name, const char *repl_value,
			 const char *extra)
{
	static const char *const names[] = {"min_age",	    "keep_daily", "keep_weekly",
					    "keep_monthly", "quorum",	  "delay"};
	static const char *const values[] = {"\"30d\"", "7", "4", "12", "2", "\"7d\""};
	char buf[1024];
	size_t off = 0, i;

	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "{");
	for (i = 0; i < 6; i++) {
		const char *v = values[i];

		if (skip && strcmp(skip, names[i]) == 0)
			continue;
		if (repl_name && strcmp(repl_name, names[i]) == 0)
			v = repl_value;
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s\"%s\": %s",
					off > 1 ? ", " : "", names[i], v);
	}
	if (extra)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, ", %s", extra);
	snprintf(buf + off, sizeof(buf) - off, "}");
	return strdup(buf);
}

static int parse_str(const char *text, vault_policy *out)
{
	return policy_parse(text, strlen(text), out);
}

/* ------------------------------------------------------------------ */
/* Defaults, parse, format                                             */

static void test_defaults(void **state)
{
	vault_policy p;

	(void)state;
	policy_default(&p);
	assert_int_equal(p.min_age_s, 30 * 86400);
	assert_int_equal(p.keep_daily, 7);
	assert_int_equal(p.keep_weekly, 4);
	assert_int_equal(p.keep_monthly, 12);
	assert_int_equal(p.quorum, 2);
	assert_int_equal(p.delay_s, 7 * 86400);
}

static void test_parse_accepts(void **state)
{
	static const struct {
		const char *text;
		vault_policy want;
	} cases[] = {
	    {"{\"min_age\": \"30d\", \"keep_daily\": 7, \"keep_weekly\": 4, \"keep_monthly\": 12, "
	     "\"quorum\": 2, \"delay\": \"7d\"}",
	     {30 * 86400, 7, 4, 12, 2, 7 * 86400, 0, .quota = {.count = 0}}},
	    /* any order, any whitespace */
	    {"\n{\"delay\":\"90s\",\"quorum\":1,\"keep_monthly\":0,\"keep_weekly\":0,"
	     "\"keep_daily\":0,\"min_age\":\"0\"}\n\n",
	     {0, 0, 0, 0, 1, 90, 0, .quota = {.count = 0}}},
	    /* the largest values */
	    {"{\"min_age\": \"36500d\", \"keep_daily\": 100000, \"keep_weekly\": 100000, "
	     "\"keep_monthly\": 100000, \"quorum\": 100, \"delay\": \"876000h\"}",
	     {36500LL * 86400, 100000, 100000, 100000, 100, 36500LL * 86400, 0, .quota = {.count = 0}}},
	    {"{\"min_age\": \"12h\", \"keep_daily\": 1, \"keep_weekly\": 2, \"keep_monthly\": 3, "
	     "\"quorum\": 5, \"delay\": \"15m\"}",
	     {12 * 3600, 1, 2, 3, 5, 900, 0, .quota = {.count = 0}}},
	    /* drill_every is optional (policies written before drills lack it) */
	    {"{\"min_age\": \"0\", \"keep_daily\": 0, \"keep_weekly\": 0, \"keep_monthly\": 0, "
	     "\"quorum\": 1, \"delay\": \"0\", \"drill_every\": \"8d\"}",
	     {0, 0, 0, 0, 1, 0, 8 * 86400, .quota = {.count = 0}}},
	};
	vault_policy p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&p, 0xa5, sizeof(p));
		assert_ok(parse_str(cases[i].text, &p));
		assert_int_equal(p.min_age_s, cases[i].want.min_age_s);
		assert_int_equal(p.keep_daily, cases[i].want.keep_daily);
		assert_int_equal(p.keep_weekly, cases[i].want.keep_weekly);
		assert_int_equal(p.keep_monthly, cases[i].want.keep_monthly);
		assert_int_equal(p.quorum, cases[i].want.quorum);
		assert_int_equal(p.delay_s, cases[i].want.delay_s);
		assert_int_equal(p.drill_every_s, cases[i].want.drill_every_s);
	}
}

static void test_parse_rejects_members(void **state)
{
	static const char *const members[] = {"min_age",      "keep_daily", "keep_weekly",
					      "keep_monthly", "quorum",	    "delay"};
	/* Wrong for every member: the wrong JSON type or an impossible value. */
	static const char *const wrong_any[] = {"null", "true", "[]", "{}", "\"\""};
	static const char *const wrong_count[] = {"\"7\"",  "7.0", "-1",
						  "100001", "1e3", "9223372036854775807"};
	static const char *const wrong_duration[] = {
	    "7", "0", "\"7x\"", "\"-1d\"", "\"36501d\"", "\"0d\"", "\"7d \"", "\"99999999999d\""};
	vault_policy p, orig;
	char *text;
	size_t i, j;

	(void)state;
	policy_default(&orig);
	for (i = 0; i < 6; i++) {
		bool duration = i == 0 || i == 5;

		/* missing */
		text = policy_json(members[i], NULL, NULL, NULL);
		p = orig;
		assert_int_equal(parse_str(text, &p), KURA_EINVAL);
		assert_non_null(strstr(kura_error_message(), members[i]));
		assert_non_null(strstr(kura_error_message(), "missing"));
		assert_memory_equal(&p, &orig, sizeof(p)); /* untouched on error */
		free(text);

		for (j = 0; j < sizeof(wrong_any) / sizeof(wrong_any[0]); j++) {
			text = policy_json(NULL, members[i], wrong_any[j], NULL);
			assert_int_equal(parse_str(text, &p), KURA_EINVAL);
			if (!strstr(kura_error_message(), members[i]))
				fail_msg("%s: message '%s' does not name the member", text,
					 kura_error_message());
			free(text);
		}
		for (j = 0; duration && j < sizeof(wrong_duration) / sizeof(wrong_duration[0]);
		     j++) {
			text = policy_json(NULL, members[i], wrong_duration[j], NULL);
			assert_int_equal(parse_str(text, &p), KURA_EINVAL);
			if (!strstr(kura_error_message(), members[i]))
				fail_msg("%s: message '%s' does not name the member", text,
					 kura_error_message());
			free(text);
		}
		for (j = 0; !duration && j < sizeof(wrong_count) / sizeof(wrong_count[0]); j++) {
			text = policy_json(NULL, members[i], wrong_count[j], NULL);
			assert_int_equal(parse_str(text, &p), KURA_EINVAL);
			if (!strstr(kura_error_message(), members[i]))
				fail_msg("%s: message '%s' does not name the member", text,
					 kura_error_message());
			free(text);
		}
	}

	/* quorum's own range: 1..100 */
	text = policy_json(NULL, "quorum", "0", NULL);
	assert_int_equal(parse_str(text, &p), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "quorum"));
	free(text);
	text = policy_json(NULL, "quorum", "101", NULL);
	assert_int_equal(parse_str(text, &p), KURA_EINVAL);
	free(text);
	text = policy_json(NULL, "quorum", "100", NULL);
	assert_ok(parse_str(text, &p));
	assert_int_equal(p.quorum, 100);
	free(text);

	/* an unknown member (a rule we would not apply) */
	text = policy_json(NULL, NULL, NULL, "\"keep_yearly\": 3");
	assert_int_equal(parse_str(text, &p), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "keep_yearly"));
	free(text);
	/* a duplicate (which one would count?) */
	text = policy_json(NULL, NULL, NULL, "\"quorum\": 1");
	assert_int_equal(parse_str(text, &p), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "quorum"));
	free(text);
	/* an embedded NUL in a duration */
	text = policy_json(NULL, "delay", "\"7d\\u0000x\"", NULL);
	assert_int_equal(parse_str(text, &p), KURA_EINVAL);
	free(text);
}

static void test_parse_rejects_documents(void **state)
{
	static const char *const bad[] = {
	    "",
	    " ",
	    "{",
	    "[]",
	    "null",
	    "7",
	    "\"x\"",
	    "[{\"min_age\": \"30d\", \"keep_daily\": 7, \"keep_weekly\": 4, \"keep_monthly\": 12, "
	    "\"quorum\": 2, \"delay\": \"7d\"}]",
	    "{\"min_age\": \"30d\", \"keep_daily\": 7, \"keep_weekly\": 4, \"keep_monthly\": 12, "
	    "\"quorum\": 2, \"delay\": \"7d\"} {}",
	    "{\"min_age\": \"30d\", \"keep_daily\": 7, \"keep_weekly\": 4, \"keep_monthly\": 12, "
	    "\"quorum\": 2, \"delay\": \"7d\",}",
	};
	vault_policy p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_str(bad[i], &p) != KURA_EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	/* the length is honoured: the valid prefix of a longer buffer */
	assert_int_equal(policy_parse("{}", 1, &p), KURA_EINVAL);
}

static void assert_policy_equal(const vault_policy *a, const vault_policy *b)
{
	assert_int_equal(a->min_age_s, b->min_age_s);
	assert_int_equal(a->keep_daily, b->keep_daily);
	assert_int_equal(a->keep_weekly, b->keep_weekly);
	assert_int_equal(a->keep_monthly, b->keep_monthly);
	assert_int_equal(a->quorum, b->quorum);
	assert_int_equal(a->delay_s, b->delay_s);
	assert_int_equal(a->drill_every_s, b->drill_every_s);
}

static void test_format_roundtrip(void **state)
{
	const vault_policy cases[] = {
	    {30 * 86400, 7, 4, 12, 2, 7 * 86400, 0, .quota = {.count = 0}},
	    {0, 0, 0, 0, 1, 0, 7 * 86400, .quota = {.count = 0}},
	    {1, 1, 1, 1, 1, 59, 1, .quota = {.count = 0}},
	    {36 * 3600, 100000, 100000, 100000, 100, 36500LL * 86400, 36 * 3600, .quota = {.count = 0}},
	    {5400, 3, 0, 24, 3, 86399, 86399, .quota = {.count = 0}},
	};
	vault_policy p;
	char *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_non_null(text = policy_format(&cases[i]));
		assert_int_equal(text[strlen(text) - 1], '\n');
		assert_ok(parse_str(text, &p));
		assert_policy_equal(&p, &cases[i]);
		free(text);
	}
	policy_default(&p);
	assert_non_null(text = policy_format(&p));
	assert_string_equal(text, "{\n"
				  "  \"min_age\": \"30d\",\n"
				  "  \"keep_daily\": 7,\n"
				  "  \"keep_weekly\": 4,\n"
				  "  \"keep_monthly\": 12,\n"
				  "  \"quorum\": 2,\n"
				  "  \"delay\": \"7d\",\n"
				  "  \"drill_every\": \"0\"\n"
				  "}\n");
	free(text);
}

/* ------------------------------------------------------------------ */
/* Durations                                                           */

static void test_duration_parse(void **state)
{
	static const struct {
		const char *s;
		int64_t want;
	} good[] = {
	    {"0", 0},
	    {"1s", 1},
	    {"90s", 90},
	    {"15m", 900},
	    {"12h", 43200},
	    {"7d", 604800},
	    {"30d", 2592000},
	    {"36500d", 36500LL * 86400},
	    {"876000h", 36500LL * 86400},
	    {"52560000m", 36500LL * 86400},
	    {"3153600000s", 36500LL * 86400},
	    {"10d", 864000},
	};
	static const char *const bad[] = {
	    "",
	    "-1d",
	    "1x",
	    "99999999999d",
	    "36501d",
	    "876001h",
	    "3153600001s",
	    "0d",
	    "0s",
	    "00",
	    "07d",
	    "d",
	    "7",
	    " 7d",
	    "7d ",
	    "7 d",
	    "+7d",
	    "7D",
	    "7dd",
	    "1.5d",
	    "1e3s",
	    "9223372036854775807s",
	    "99999999999999999999999999999s",
	    "-0",
	    "0x10s",
	    "7d\n",
	};
	int64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		if (policy_duration_parse(good[i].s, &v) != 0)
			fail_msg("'%s' refused: %s", good[i].s, kura_error_message());
		assert_int_equal(v, good[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		if (policy_duration_parse(bad[i], &v) != KURA_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(v, 12345);
	}
	assert_int_equal(policy_duration_parse(NULL, &v), KURA_EINVAL);
	assert_int_equal(policy_duration_parse("36501d", &v), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "100 years"));
}

static void test_duration_format(void **state)
{
	static const struct {
		int64_t s;
		const char *want;
	} cases[] = {
	    {0, "0"},	     {1, "1s"},	     {59, "59s"},	{60, "1m"},
	    {90, "90s"},     {3600, "1h"},   {5400, "90m"},	{86400, "1d"},
	    {129600, "36h"}, {604800, "7d"}, {86401, "86401s"}, {36500LL * 86400, "36500d"},
	};
	char buf[32];
	int64_t back;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		policy_duration_format(cases[i].s, buf);
		assert_string_equal(buf, cases[i].want);
		assert_ok(policy_duration_parse(buf, &back));
		assert_int_equal(back, cases[i].s);
	}
}

/* ------------------------------------------------------------------ */
/* Retention                                                           */

static void run_retention(const vault_policy *p, vault_snapshot_time *s, size_t n, int64_t now,
			  unsigned *out)
{
	unsigned *rev = calloc(n ? n : 1, sizeof(*rev));
	vault_snapshot_time *r = calloc(n ? n : 1, sizeof(*r));
	size_t i;

	assert_non_null(rev);
	assert_non_null(r);
	policy_retention(p, s, n, now, out);
	/* The order of the input must not matter. */
	for (i = 0; i < n; i++)
		r[i] = s[n - 1 - i];
	policy_retention(p, r, n, now, rev);
	for (i = 0; i < n; i++)
		assert_int_equal(rev[n - 1 - i], out[i]);
	free(rev);
	free(r);
}

/*
 * Every 6 hours (00, 06, 12, 18 UTC) from Sunday 2023-11-12 to Wednesday
 * 2024-01-10: 60 days, 240 snapshots, across a month and a year
 * boundary.  With keep_daily 7, keep_weekly 4, keep_monthly 2 and no
 * minimum age, exactly these are kept (all at 18:00):
 *   daily:   Jan 10, 9, 8, 7, 6, 5, 4
 *   weekly:  Jan 10 (week of Mon Jan 8), Jan 7 (Sun; week of Jan 1),
 *            Dec 31 (Sun; week of Dec 25), Dec 24 (Sun; week of Dec 18)
 *   monthly: Jan 10, Dec 31
 */
static void test_retention_sixty_days(void **state)
{
	enum { N = 240 };
	vault_policy p = {0, 7, 4, 2, 1, 0, 0, .quota = {.count = 0}};
	vault_snapshot_time s[N];
	char names[N][65];
	unsigned out[N];
	int64_t start = utc(2023, 11, 12, 0, 0, 0), now = utc(2024, 1, 11, 0, 0, 0);
	size_t i, kept = 0;

	(void)state;
	for (i = 0; i < N; i++) {
		snap_name(names[i], (unsigned)i);
		s[i].name = names[i];
		s[i].received_ns = NS(start + (int64_t)i * 6 * 3600);
	}
	assert_int_equal(s[N - 1].received_ns, NS(utc(2024, 1, 10, 18, 0, 0)));
	run_retention(&p, s, N, NS(now), out);

	for (i = 0; i < N; i++) {
		int64_t t = s[i].received_ns / 1000000000;
		unsigned want = 0;
		int d;

		for (d = 4; d <= 10; d++)
			if (t == utc(2024, 1, d, 18, 0, 0))
				want |= VAULT_KEEP_DAILY;
		if (t == utc(2024, 1, 10, 18, 0, 0) || t == utc(2024, 1, 7, 18, 0, 0) ||
		    t == utc(2023, 12, 31, 18, 0, 0) || t == utc(2023, 12, 24, 18, 0, 0))
			want |= VAULT_KEEP_WEEKLY;
		if (t == utc(2024, 1, 10, 18, 0, 0) || t == utc(2023, 12, 31, 18, 0, 0))
			want |= VAULT_KEEP_MONTHLY;
		if (out[i] != want)
			fail_msg("snapshot %zu (t=%lld): reasons %u, want %u", i, (long long)t,
				 out[i], want);
		kept += out[i] != 0;
	}
	assert_int_equal(kept, 9);

	/* A minimum age of 36 h at Jan 11 18:00 adds what came after Jan 10 06:00. */
	p.min_age_s = 36 * 3600;
	now = utc(2024, 1, 11, 18, 0, 0);
	run_retention(&p, s, N, NS(now), out);
	assert_int_equal(out[N - 1], VAULT_KEEP_MIN_AGE | VAULT_KEEP_DAILY | VAULT_KEEP_WEEKLY |
					 VAULT_KEEP_MONTHLY);
	assert_int_equal(out[N - 2], VAULT_KEEP_MIN_AGE); /* Jan 10 12:00 */
	assert_int_equal(out[N - 3], 0);		  /* Jan 10 06:00: exactly 36 h */
}

/* Only periods that have snapshots count: gaps do not use up the window. */
static void test_retention_sparse(void **state)
{
	vault_policy p = {0, 3, 0, 0, 1, 0, 0, .quota = {.count = 0}};
	char names[5][65];
	vault_snapshot_time s[5];
	unsigned out[5];
	const int64_t t[5] = {
	    utc(2022, 11, 30, 12, 0, 0), utc(2023, 1, 1, 9, 0, 0), utc(2023, 1, 15, 9, 0, 0),
	    utc(2023, 3, 3, 9, 0, 0),	 utc(2023, 3, 3, 8, 0, 0),
	};
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		snap_name(names[i], (unsigned)i + 100);
		s[i].name = names[i];
		s[i].received_ns = NS(t[i]);
	}
	/* days with snapshots, newest first: Mar 3 (09:00 newest), Jan 15, Jan 1, Nov 30 */
	run_retention(&p, s, 5, NS(utc(2024, 1, 1, 0, 0, 0)), out);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], VAULT_KEEP_DAILY);
	assert_int_equal(out[2], VAULT_KEEP_DAILY);
	assert_int_equal(out[3], VAULT_KEEP_DAILY);
	assert_int_equal(out[4], 0);

	/* months with snapshots: Mar 2023, Jan 2023, Nov 2022 (no Feb, no Dec) */
	p = (vault_policy){0, 0, 0, 2, 1, 0, 0, .quota = {.count = 0}};
	run_retention(&p, s, 5, NS(utc(2024, 1, 1, 0, 0, 0)), out);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], VAULT_KEEP_MONTHLY);
	assert_int_equal(out[3], VAULT_KEEP_MONTHLY);
	assert_int_equal(out[4], 0);
	p.keep_monthly = 3;
	run_retention(&p, s, 5, NS(utc(2024, 1, 1, 0, 0, 0)), out);
	assert_int_equal(out[0], VAULT_KEEP_MONTHLY);
}

/* Day, ISO week, month and year boundaries, to the nanosecond. */
static void test_retention_boundaries(void **state)
{
	char names[4][65];
	vault_snapshot_time s[4];
	unsigned out[4];
	vault_policy p;
	size_t i;
	int64_t now = NS(utc(2030, 1, 1, 0, 0, 0));

	(void)state;
	for (i = 0; i < 4; i++) {
		snap_name(names[i], (unsigned)i + 7);
		s[i].name = names[i];
	}
	/* Thu 2020-12-31 23:59:59.999999999 and Fri 2021-01-01 00:00:00: one ISO week
	 * (Mon Dec 28 - Sun Jan 3), two days, two months, two years. */
	s[0].received_ns = NS(utc(2021, 1, 1, 0, 0, 0)) - 1;
	s[1].received_ns = NS(utc(2021, 1, 1, 0, 0, 0));
	/* Sun 2021-01-03 23:59 ends that week; Mon 2021-01-04 00:00 starts the next. */
	s[2].received_ns = NS(utc(2021, 1, 3, 23, 59, 0));
	s[3].received_ns = NS(utc(2021, 1, 4, 0, 0, 0));

	p = (vault_policy){0, 0, 2, 0, 1, 0, 0, .quota = {.count = 0}};
	run_retention(&p, s, 4, now, out);
	assert_int_equal(out[3], VAULT_KEEP_WEEKLY);
	assert_int_equal(out[2], VAULT_KEEP_WEEKLY);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[0], 0);
	p.keep_weekly = 3; /* there are only two weeks */
	run_retention(&p, s, 4, now, out);
	assert_int_equal(out[0], 0);

	p = (vault_policy){0, 0, 0, 2, 1, 0, 0, .quota = {.count = 0}};
	run_retention(&p, s, 4, now, out);
	assert_int_equal(out[3], VAULT_KEEP_MONTHLY); /* January 2021 */
	assert_int_equal(out[2], 0);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[0], VAULT_KEEP_MONTHLY); /* December 2020 */

	p = (vault_policy){0, 4, 0, 0, 1, 0, 0, .quota = {.count = 0}};
	run_retention(&p, s, 4, now, out);
	for (i = 0; i < 4; i++)
		assert_int_equal(out[i], VAULT_KEEP_DAILY);
	p.keep_daily = 2;
	run_retention(&p, s, 4, now, out);
	assert_int_equal(out[3], VAULT_KEEP_DAILY);
	assert_int_equal(out[2], VAULT_KEEP_DAILY);
	assert_int_equal(out[1], 0);

	/* Before 1970 (negative times round down): Wed 1969-12-31 and Thu 1970-01-01
	 * are two days of one week (Mon 1969-12-29 - Sun 1970-01-04). */
	s[0].received_ns = -1;
	s[1].received_ns = 0;
	s[2].received_ns = NS(utc(1969, 12, 29, 0, 0, 0));
	s[3].received_ns = NS(utc(1969, 12, 29, 0, 0, 0)) - 1; /* Sun Dec 28: week before */
	p = (vault_policy){0, 2, 2, 2, 1, 0, 0, .quota = {.count = 0}};
	run_retention(&p, s, 4, now, out);
	assert_int_equal(out[1], VAULT_KEEP_DAILY | VAULT_KEEP_WEEKLY | VAULT_KEEP_MONTHLY);
	assert_int_equal(out[0], VAULT_KEEP_DAILY | VAULT_KEEP_MONTHLY);
	assert_int_equal(out[2], 0);
	assert_int_equal(out[3], VAULT_KEEP_WEEKLY);
}

static void test_retention_min_age(void **state)
{
	vault_policy p = {30 * 86400, 0, 0, 0, 1, 0, 0, .quota = {.count = 0}};
	char names[5][65];
	vault_snapshot_time s[5];
	unsigned out[5];
	int64_t now = NS(utc(2026, 11, 25, 12, 0, 0));
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		snap_name(names[i], (unsigned)i + 40);
		s[i].name = names[i];
	}
	s[0].received_ns = now - NS(30 * 86400);     /* exactly at the limit: old enough */
	s[1].received_ns = now - NS(30 * 86400) + 1; /* one nanosecond younger */
	s[2].received_ns = now;
	s[3].received_ns = now + 1;		     /* the vault's clock was set back */
	s[4].received_ns = now + NS(3650LL * 86400); /* far in the future */
	run_retention(&p, s, 5, now, out);
	assert_int_equal(out[0], 0);
	for (i = 1; i < 5; i++)
		assert_int_equal(out[i], VAULT_KEEP_MIN_AGE);

	/* Without a minimum age only the future ones are kept. */
	p.min_age_s = 0;
	run_retention(&p, s, 5, now, out);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 0);
	assert_int_equal(out[3], VAULT_KEEP_MIN_AGE);
	assert_int_equal(out[4], VAULT_KEEP_MIN_AGE);

	/* Extremes do not overflow. */
	s[0].received_ns = INT64_MIN;
	s[1].received_ns = INT64_MAX;
	p.min_age_s = 36500LL * 86400;
	run_retention(&p, s, 2, INT64_MAX - 1, out);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], VAULT_KEEP_MIN_AGE);
	run_retention(&p, s, 2, INT64_MIN, out);
	assert_int_equal(out[0], VAULT_KEEP_MIN_AGE);
	assert_int_equal(out[1], VAULT_KEEP_MIN_AGE);
	p.min_age_s = INT64_MAX; /* not from a parsed policy, but still no overflow */
	run_retention(&p, s, 2, 0, out);
	assert_int_equal(out[0], VAULT_KEEP_MIN_AGE);
}

/* Equal receive times: the name that sorts first counts as the newer, in any order. */
static void test_retention_ties(void **state)
{
	vault_policy p = {0, 1, 1, 1, 1, 0, 0, .quota = {.count = 0}};
	char a[65], b[65], c[65];
	vault_snapshot_time s[3];
	unsigned out[3];
	int64_t t = NS(utc(2025, 6, 1, 12, 0, 0));

	(void)state;
	snap_name(a, 0xa);
	snap_name(b, 0xb);
	snap_name(c, 0xc);
	s[0] = (vault_snapshot_time){c, t};
	s[1] = (vault_snapshot_time){a, t};
	s[2] = (vault_snapshot_time){b, t};
	run_retention(&p, s, 3, t + NS(86400), out);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], VAULT_KEEP_DAILY | VAULT_KEEP_WEEKLY | VAULT_KEEP_MONTHLY);
	assert_int_equal(out[2], 0);
}

static void test_retention_empty_and_zero(void **state)
{
	vault_policy p;
	char names[3][65];
	vault_snapshot_time s[3];
	unsigned out[3];
	int64_t now = NS(utc(2026, 1, 1, 0, 0, 0));
	size_t i;

	(void)state;
	policy_default(&p);
	policy_retention(&p, NULL, 0, now, NULL); /* n = 0: nothing to do, no crash */
	policy_retention(&p, s, 0, now, out);

	for (i = 0; i < 3; i++) {
		snap_name(names[i], (unsigned)i + 60);
		s[i].name = names[i];
		s[i].received_ns = now - NS((int64_t)i * 86400 * 2);
	}
	/* All windows zero: only the minimum age protects. */
	p = (vault_policy){3 * 86400, 0, 0, 0, 1, 0, 0, .quota = {.count = 0}};
	run_retention(&p, s, 3, now, out);
	assert_int_equal(out[0], VAULT_KEEP_MIN_AGE);
	assert_int_equal(out[1], VAULT_KEEP_MIN_AGE);
	assert_int_equal(out[2], 0);
	p.min_age_s = 0;
	run_retention(&p, s, 3, now, out);
	for (i = 0; i < 3; i++)
		assert_int_equal(out[i], 0);

	/* One snapshot, the defaults: every window keeps it. */
	policy_default(&p);
	run_retention(&p, s, 1, now, out);
	assert_int_equal(out[0], VAULT_KEEP_MIN_AGE | VAULT_KEEP_DAILY | VAULT_KEEP_WEEKLY |
				     VAULT_KEEP_MONTHLY);
}

static void test_explain(void **state)
{
	vault_policy p;
	char buf[512], tiny[8];
	int64_t now = NS(utc(2026, 11, 25, 0, 0, 0));

	(void)state;
	policy_default(&p);
	policy_retention_explain(VAULT_KEEP_MIN_AGE | VAULT_KEEP_DAILY, &p, now - NS(2 * 86400), now,
				buf, sizeof(buf));
	assert_string_equal(buf, "received 2 days ago, younger than the minimum age of 30d; "
				 "the newest of its day (UTC), one of the 7 newest days with "
				 "snapshots");
	policy_retention_explain(VAULT_KEEP_MIN_AGE, &p, now - NS(3600), now, buf, sizeof(buf));
	assert_string_equal(buf, "received 1 hour ago, younger than the minimum age of 30d");
	policy_retention_explain(VAULT_KEEP_MIN_AGE, &p, now - NS(90), now, buf, sizeof(buf));
	assert_non_null(strstr(buf, "received 90 seconds ago"));
	policy_retention_explain(VAULT_KEEP_MIN_AGE, &p, now + NS(3 * 3600), now, buf, sizeof(buf));
	assert_non_null(strstr(buf, "3 hours in the future"));
	policy_retention_explain(VAULT_KEEP_WEEKLY | VAULT_KEEP_MONTHLY, &p, now - NS(99 * 86400),
				now, buf, sizeof(buf));
	assert_string_equal(buf, "the newest of its ISO week, one of the 4 newest weeks with "
				 "snapshots; the newest of its month (UTC), one of the 12 newest "
				 "months with snapshots");
	policy_retention_explain(0, &p, now, now, buf, sizeof(buf));
	assert_string_equal(buf, "not protected by retention");
	policy_retention_explain(VAULT_KEEP_NOMEM, &p, now, now, buf, sizeof(buf));
	assert_non_null(strstr(buf, "out of memory"));
	/* Times no clock gives: no overflow (the sanitizer build checks). */
	policy_retention_explain(VAULT_KEEP_MIN_AGE, &p, INT64_MAX, INT64_MIN, buf, sizeof(buf));
	assert_non_null(strstr(buf, "days in the future"));
	policy_retention_explain(VAULT_KEEP_MIN_AGE, &p, INT64_MIN, INT64_MAX, buf, sizeof(buf));
	assert_non_null(strstr(buf, "days ago"));
	/* Cut short, still a string. */
	policy_retention_explain(VAULT_KEEP_MIN_AGE | VAULT_KEEP_DAILY | VAULT_KEEP_WEEKLY, &p, now,
				now, tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	policy_retention_explain(VAULT_KEEP_DAILY, &p, now, now, buf, 0);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

typedef struct {
	char dir[64];
} tmpdir;

static int setup_dir(void **state)
{
	tmpdir *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/kura-test-policy-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	*state = t;
	return 0;
}

static int teardown_dir(void **state)
{
	tmpdir *t = *state;

	if (test_remove_tree(t->dir) != 0)
		return -1;
	free(t);
	return 0;
}

static void write_file(const char *dir, const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_load_save(void **state)
{
	tmpdir *t = *state;
	vault_policy p, q, orig;
	char path[256];
	struct stat st;

	/* not a vault */
	assert_int_equal(policy_load(t->dir, &p), KURA_ENOTFOUND);
	assert_non_null(strstr(kura_error_message(), "no vault"));
	/* a vault from before policies: the defaults */
	write_file(t->dir, "vault.json", "{}\n");
	memset(&p, 0, sizeof(p));
	assert_ok(policy_load(t->dir, &p));
	policy_default(&q);
	assert_policy_equal(&p, &q);

	orig = (vault_policy){3600, 1, 2, 3, 4, 60, 0, .quota = {.count = 0}};
	assert_ok(policy_save(t->dir, &orig));
	snprintf(path, sizeof(path), "%s/policy.json", t->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_ok(policy_load(t->dir, &p));
	assert_policy_equal(&p, &orig);

	/* replace */
	q.quorum = 3;
	assert_ok(policy_save(t->dir, &q));
	assert_ok(policy_load(t->dir, &p));
	assert_policy_equal(&p, &q);

	/* a policy load would refuse is not written; the file stays as it was */
	p.quorum = 0;
	assert_int_equal(policy_save(t->dir, &p), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "quorum"));
	p = q;
	p.min_age_s = -5;
	assert_int_equal(policy_save(t->dir, &p), KURA_EINVAL);
	p = q;
	p.keep_daily = VAULT_POLICY_KEEP_MAX + 1;
	assert_int_equal(policy_save(t->dir, &p), KURA_EINVAL);
	assert_ok(policy_load(t->dir, &p));
	assert_policy_equal(&p, &q);
	/* no temporary files left behind */
	snprintf(path, sizeof(path), "test -z \"$(ls -A '%s' | grep '^\\.\\(policy\\|tmp-\\)')\"", t->dir);
	assert_int_equal(system(path), 0);

	/* a broken file is an error naming the file and the member */
	write_file(t->dir, "policy.json", "{\"min_age\": \"30d\"}");
	assert_int_equal(policy_load(t->dir, &p), KURA_EINVAL);
	assert_non_null(strstr(kura_error_message(), "policy.json"));
	assert_non_null(strstr(kura_error_message(), "keep_daily"));

	/* a missing directory */
	assert_int_equal(policy_save("/nonexistent/kura-policy", &q), KURA_ENOTFOUND);
}

static void put_snapshot(kura_backend *b, const char *name)
{
	assert_ok(b->put(b, KURA_FILE_SNAPSHOT, name, "x", 1));
}

static void test_snapshot_times(void **state)
{
	tmpdir *t = *state;
	char repo[256], meta[256], a[65], b[65], c[65], d[65], gone[65], lines[4096];
	kura_backend *be = NULL;
	vault_snapshot_time *st = NULL;
	size_t n = 99;
	int64_t mtime;

	snprintf(repo, sizeof(repo), "%s/repos", t->dir);
	assert_int_equal(mkdir(repo, 0700), 0);
	snprintf(repo, sizeof(repo), "%s/repos/r1", t->dir);
	assert_ok(kura_backend_local_create(&be, repo));

	/* no snapshots: an empty list */
	assert_ok(policy_snapshot_times(t->dir, "r1", be, &st, &n));
	assert_int_equal(n, 0);
	policy_snapshot_times_free(st, n);

	snap_name(a, 0xa1);
	snap_name(b, 0xb2);
	snap_name(c, 0xc3);
	snap_name(d, 0xd4);
	snap_name(gone, 0xee);
	put_snapshot(be, d);
	put_snapshot(be, c);
	put_snapshot(be, b);
	put_snapshot(be, a);

	/* no snapshot-times file at all: every time from mtimes */
	assert_ok(policy_snapshot_times(t->dir, "r1", be, &st, &n));
	assert_int_equal(n, 4);
	assert_ok(kura_backend_mtime(be, KURA_FILE_SNAPSHOT, a, &mtime));
	assert_string_equal(st[0].name, a);
	assert_int_equal(st[0].received_ns, mtime);
	policy_snapshot_times_free(st, n);

	snprintf(meta, sizeof(meta), "%s/meta", t->dir);
	assert_int_equal(mkdir(meta, 0700), 0);
	snprintf(meta, sizeof(meta), "%s/meta/r1", t->dir);
	assert_int_equal(mkdir(meta, 0700), 0);
	snprintf(lines, sizeof(lines),
		 "%s 1000 w1\n"	   /* gone: not stored, ignored */
		 "%s 2000 w1\n"	   /* a: first line wins */
		 "%s 2500 w2\n"	   /* a again */
		 "%s 0 w1\n"	   /* b: malformed (zero) */
		 "%s -5 w1\n"	   /* b: malformed (negative) */
		 "%s 12x w1\n"	   /* b: malformed */
		 "%s 3000\n"	   /* b: no client */
		 "%s 3000 w 1\n"   /* b: two words for a client */
		 "%.63s 3000 w1\n" /* a short name */
		 "garbage\n"
		 "\n"
		 "%s 4000 w1\n"			/* c */
		 "%s 99999999999999999999 w1\n" /* d: out of range */
		 "%s 5000 w1",			/* d: torn last line, no newline */
		 gone, a, a, b, b, b, b, b, d, c, d, d);
	write_file(t->dir, "meta/r1/snapshot-times", lines);

	assert_ok(policy_snapshot_times(t->dir, "r1", be, &st, &n));
	assert_int_equal(n, 4);
	/* sorted by name */
	assert_string_equal(st[0].name, a);
	assert_string_equal(st[1].name, b);
	assert_string_equal(st[2].name, c);
	assert_string_equal(st[3].name, d);
	assert_int_equal(st[0].received_ns, 2000);
	assert_ok(kura_backend_mtime(be, KURA_FILE_SNAPSHOT, b, &mtime));
	assert_int_equal(st[1].received_ns, mtime);
	assert_int_equal(st[2].received_ns, 4000);
	assert_ok(kura_backend_mtime(be, KURA_FILE_SNAPSHOT, d, &mtime));
	assert_int_equal(st[3].received_ns, mtime);
	policy_snapshot_times_free(st, n);

	/* the torn line completed by a later append is read */
	snprintf(lines, sizeof(lines), "%s/meta/r1/snapshot-times", t->dir);
	{
		FILE *f = fopen(lines, "a");

		assert_non_null(f);
		fputs("\n", f);
		fclose(f);
	}
	assert_ok(policy_snapshot_times(t->dir, "r1", be, &st, &n));
	assert_int_equal(st[3].received_ns, 5000);
	policy_snapshot_times_free(st, n);

	/* bad repository names */
	assert_int_equal(policy_snapshot_times(t->dir, "../r1", be, &st, &n), KURA_EINVAL);
	assert_int_equal(policy_snapshot_times(t->dir, "", be, &st, &n), KURA_EINVAL);
	assert_null(st);
	assert_int_equal(n, 0);
	policy_snapshot_times_free(NULL, 0);
	be->free(be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_parse_accepts),
	    cmocka_unit_test(test_parse_rejects_members),
	    cmocka_unit_test(test_parse_rejects_documents),
	    cmocka_unit_test(test_format_roundtrip),
	    cmocka_unit_test(test_duration_parse),
	    cmocka_unit_test(test_duration_format),
	    cmocka_unit_test(test_retention_sixty_days),
	    cmocka_unit_test(test_retention_sparse),
	    cmocka_unit_test(test_retention_boundaries),
	    cmocka_unit_test(test_retention_min_age),
	    cmocka_unit_test(test_retention_ties),
	    cmocka_unit_test(test_retention_empty_and_zero),
	    cmocka_unit_test(test_explain),
	    cmocka_unit_test_setup_teardown(test_load_save, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_snapshot_times, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
