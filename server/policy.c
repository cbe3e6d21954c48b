/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.c - the vault's deletion policy: DIR/policy.json, durations, and
 * which snapshots retention keeps.
 *
 * Retention is computed on the vault's own receive times (never on a
 * client's claim), in UTC, so a client with a wrong clock or a hostile one
 * cannot age its snapshots into deletion.  The computation is pure: the
 * caller passes the clock, which keeps it testable and lets the deletion
 * code evaluate a request at the moment it takes effect.
 *
 * Invariants: a policy that policy_save() writes is one that
 * policy_parse() accepts (save checks by parsing what it formats),
 * and format(parse(x)) parses back to the same policy (the fuzz target
 * checks this).  Anything retention cannot decide safely (a time in the
 * future, no memory) keeps the snapshot.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/error.h"
#include "files.h"
#include "kura/keyless.h"
#include "policy.h"
#include "snaptimes.h"

#define POLICY_NS ((int64_t)1000000000)
#define POLICY_DAY_S ((int64_t)86400)
#define POLICY_DURATION_MAX (36500 * POLICY_DAY_S) /* 100 years of 365 days */
#define POLICY_FILE_MAX 65536

void policy_default(vault_policy *p)
{
	p->min_age_s = 30 * POLICY_DAY_S;
	p->keep_daily = 7;
	p->keep_weekly = 4;
	p->keep_monthly = 12;
	p->quorum = 2;
	p->delay_s = 7 * POLICY_DAY_S;
	p->drill_every_s = 0;
	memset(&p->quota, 0, sizeof(p->quota));
}

/* ------------------------------------------------------------------ */
/* Durations                                                           */

int policy_duration_parse(const char *s, int64_t *out_s)
{
	static const struct {
		char unit;
		int64_t secs;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', POLICY_DAY_S}};
	const char *p = s;
	int64_t n = 0, mul = 0;
	size_t i;

	if (!s)
		return kura_error_set(KURA_EINVAL, "no duration given");
	if (strcmp(s, "0") == 0) {
		*out_s = 0;
		return 0;
	}
	/* No sign, no leading zero, no spaces: one spelling per value. */
	if (*p < '1' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		/* Stop growing long before int64 could overflow; too long anyway. */
		if (n <= POLICY_DURATION_MAX)
			n = n * 10 + (*p - '0');
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (p[0] == units[i].unit)
			mul = units[i].secs;
	if (!mul || p[1] != '\0')
		goto bad;
	if (n > POLICY_DURATION_MAX / mul)
		return kura_error_set(KURA_EINVAL,
				      "duration '%.40s' is longer than 100 years (%" PRId64 "d)", s,
				      POLICY_DURATION_MAX / POLICY_DAY_S);
	*out_s = n * mul;
	return 0;
bad:
	return kura_error_set(KURA_EINVAL,
			      "'%.40s' is not a duration (0, or a positive whole "
			      "number with s, m, h or d, such as 30d)",
			      s);
}

void policy_duration_format(int64_t s, char out[32])
{
	if (s == 0)
		snprintf(out, 32, "0");
	else if (s % POLICY_DAY_S == 0)
		snprintf(out, 32, "%" PRId64 "d", s / POLICY_DAY_S);
	else if (s % 3600 == 0)
		snprintf(out, 32, "%" PRId64 "h", s / 3600);
	else if (s % 60 == 0)
		snprintf(out, 32, "%" PRId64 "m", s / 60);
	else
		snprintf(out, 32, "%" PRId64 "s", s);
}

/* ------------------------------------------------------------------ */
/* policy.json                                                         */

static const char *const policy_members[] = {"min_age", "keep_daily", "keep_weekly", "keep_monthly",
					     "quorum",	"delay",      "drill_every", "quota"};

static int policy_duration_member(const json_t *doc, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(doc, name);
	int err;

	if (!v)
		return kura_error_set(KURA_EINVAL, "policy: missing member '%s'", name);
	if (!json_is_string(v))
		return kura_error_set(KURA_EINVAL,
				      "policy: '%s' must be a duration string such "
				      "as \"30d\"",
				      name);
	if ((err = policy_duration_parse(json_string_value(v), out)) < 0)
		return kura_error_wrap(err, "policy: '%s'", name);
	return 0;
}

static int policy_count_member(const json_t *doc, const char *name, unsigned lo, unsigned hi,
			       unsigned *out)
{
	const json_t *v = json_object_get(doc, name);
	json_int_t n;

	if (!v)
		return kura_error_set(KURA_EINVAL, "policy: missing member '%s'", name);
	if (!json_is_integer(v))
		return kura_error_set(KURA_EINVAL, "policy: '%s' must be a whole number", name);
	n = json_integer_value(v);
	if (n < (json_int_t)lo || n > (json_int_t)hi)
		return kura_error_set(
		    KURA_EINVAL,
		    "policy: '%s' must be between %u and %u, not %" JSON_INTEGER_FORMAT, name, lo,
		    hi, n);
	*out = (unsigned)n;
	return 0;
}

int policy_parse(const char *text, size_t len, vault_policy *out)
{
	vault_policy p;
	json_error_t jerr;
	json_t *doc, *val;
	const char *key;
	size_t i;
	int err = 0;

	if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)))
		return kura_error_set(KURA_EINVAL, "policy: line %d: %s", jerr.line, jerr.text);
	if (!json_is_object(doc)) {
		err = kura_error_set(KURA_EINVAL, "policy: not a JSON object");
		goto done;
	}
	/* A member we do not know may be a rule we would silently not apply. */
	json_object_foreach(doc, key, val)
	{
		for (i = 0; i < sizeof(policy_members) / sizeof(policy_members[0]); i++)
			if (strcmp(key, policy_members[i]) == 0)
				break;
		if (i == sizeof(policy_members) / sizeof(policy_members[0])) {
			err = kura_error_set(KURA_EINVAL, "policy: unknown member '%.64s'", key);
			goto done;
		}
	}
	if ((err = policy_duration_member(doc, "min_age", &p.min_age_s)) < 0 ||
	    (err = policy_count_member(doc, "keep_daily", 0, VAULT_POLICY_KEEP_MAX,
				       &p.keep_daily)) < 0 ||
	    (err = policy_count_member(doc, "keep_weekly", 0, VAULT_POLICY_KEEP_MAX,
				       &p.keep_weekly)) < 0 ||
	    (err = policy_count_member(doc, "keep_monthly", 0, VAULT_POLICY_KEEP_MAX,
				       &p.keep_monthly)) < 0 ||
	    (err = policy_count_member(doc, "quorum", 1, VAULT_POLICY_QUORUM_MAX, &p.quorum)) < 0 ||
	    (err = policy_duration_member(doc, "delay", &p.delay_s)) < 0)
		goto done;
	/* Optional: policies written before drills have none. */
	p.drill_every_s = 0;
	if (json_object_get(doc, "drill_every") &&
	    (err = policy_duration_member(doc, "drill_every", &p.drill_every_s)) < 0)
		goto done;

	/* Optional: policy files written before quotas existed have none. */
	memset(&p.quota, 0, sizeof(p.quota));
	if ((val = json_object_get(doc, "quota")) && (err = quota_conf_parse(val, &p.quota)) < 0)
		goto done;
	*out = p;
done:
	json_decref(doc);
	return err;
}

char *policy_format(const vault_policy *p)
{
	char min_age[32], delay[32], every[32], *text, *out = NULL;
	json_t *doc, *quota = NULL;

	policy_duration_format(p->min_age_s, min_age);
	policy_duration_format(p->delay_s, delay);
	policy_duration_format(p->drill_every_s, every);
	doc = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:s}", "min_age", min_age, "keep_daily",
			(json_int_t)p->keep_daily, "keep_weekly", (json_int_t)p->keep_weekly,
			"keep_monthly", (json_int_t)p->keep_monthly, "quorum",
			(json_int_t)p->quorum, "delay", delay, "drill_every", every);
	/* Left out when nothing is set, so older files and the default stay as they were. */
	if (doc && !quota_conf_empty(&p->quota) &&
	    (!(quota = quota_conf_format(&p->quota)) ||
	     json_object_set_new(doc, "quota", quota) < 0)) {
		json_decref(doc);
		doc = NULL;
	}
	text = doc ? json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2)) : NULL;
	if (!text || asprintf(&out, "%s\n", text) < 0) {
		out = NULL;
		kura_error_set(KURA_ENOMEM, "policy: out of memory");
	}
	free(text);
	json_decref(doc);
	return out;
}

static char *policy_path(const char *vault_dir, const char *file)
{
	char *path;

	if (asprintf(&path, "%s/%s", vault_dir, file) < 0) {
		kura_error_set(KURA_ENOMEM, "out of memory");
		return NULL;
	}
	return path;
}

int policy_load(const char *vault_dir, vault_policy *out)
{
	char *path = NULL, *text = NULL;
	size_t len = 0;
	struct stat st;
	int err;

	if (!(path = policy_path(vault_dir, "policy.json")))
		return KURA_ENOMEM;
	err = files_read(path, POLICY_FILE_MAX, &text, &len);
	if (err == KURA_ENOTFOUND) {
		/*
		 * Vaults made before policies existed have none: they get the
		 * defaults.  A directory that is not a vault at all is an
		 * error, not a default policy.
		 */
		free(path);
		if (!(path = policy_path(vault_dir, "vault.json")))
			return KURA_ENOMEM;
		if (lstat(path, &st) < 0) {
			err = kura_error_set(KURA_ENOTFOUND, "%s: no vault here (no vault.json)",
					     vault_dir);
			goto done;
		}
		kura_error_clear();
		policy_default(out);
		err = 0;
		goto done;
	}
	if (err < 0)
		goto done;
	if ((err = policy_parse(text, len, out)) < 0)
		err = kura_error_wrap(err, "%s", path);
done:
	free(text);
	free(path);
	return err;
}

int policy_save(const char *vault_dir, const vault_policy *p)
{
	vault_policy check;
	char *text;
	int err;

	if (!(text = policy_format(p)))
		return KURA_ENOMEM;
	/* Never write a file that load would refuse (and serve then ignore). */
	if ((err = policy_parse(text, strlen(text), &check)) == 0)
		/* replaced atomically: a reader sees the old policy or the new one */
		err = files_write_atomic(vault_dir, "policy.json", text, false);
	free(text);
	return err;
}

/* ------------------------------------------------------------------ */
/* Retention                                                           */

typedef struct {
	size_t index; /* into the caller's array */
	int64_t received_ns;
	const char *name;
	int64_t day, week, month; /* the calendar periods it falls in (UTC) */
} policy_item;

static int64_t policy_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void policy_periods(policy_item *it)
{
	time_t sec;
	struct tm tm;

	it->day = policy_floor_div(it->received_ns, POLICY_DAY_S * POLICY_NS);
	/* Day 0, 1970-01-01, was a Thursday: day + 3 counts from a Monday. */
	it->week = policy_floor_div(it->day + 3, 7);
	sec = (time_t)(it->day * POLICY_DAY_S);
	if (gmtime_r(&sec, &tm))
		it->month = (int64_t)tm.tm_year * 12 + tm.tm_mon;
	else
		it->month = it->day; /* unreachable for int64 nanoseconds; still distinct */
}

/* Newest first; of equal times, the name that sorts first counts as newer. */
static int policy_newest_first(const void *a, const void *b)
{
	const policy_item *x = a, *y = b;

	if (x->received_ns != y->received_ns)
		return x->received_ns > y->received_ns ? -1 : 1;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static bool policy_young(int64_t received_ns, int64_t now_ns, int64_t min_age_s)
{
	/* Received "in the future": the clock was set back; keep it. */
	if (received_ns > now_ns)
		return true;
	if (min_age_s <= 0)
		return false;
	if (min_age_s >= INT64_MAX / POLICY_NS)
		return true;
	/* An age beyond int64 is far older than any minimum age. */
	if (now_ns >= 0 && received_ns < now_ns - INT64_MAX)
		return false;
	return now_ns - received_ns < min_age_s * POLICY_NS;
}

enum { POLICY_DAY, POLICY_WEEK, POLICY_MONTH };

/*
 * Walking newest first, the first snapshot of each period is the newest
 * of it; mark those of the first `keep` distinct periods.
 */
static void policy_window(const policy_item *it, size_t n, unsigned keep, int which, unsigned bit,
			  unsigned *out)
{
	unsigned count = 0;
	int64_t key, last = 0;
	size_t i;

	for (i = 0; i < n && count < keep; i++) {
		key = which == POLICY_DAY    ? it[i].day
		      : which == POLICY_WEEK ? it[i].week
					     : it[i].month;
		if (i > 0 && key == last)
			continue;
		last = key;
		count++;
		out[it[i].index] |= bit;
	}
}

void policy_retention(const vault_policy *p, const vault_snapshot_time *snaps, size_t n,
		      int64_t now_ns, unsigned *out_reasons)
{
	policy_item *it;
	size_t i;

	for (i = 0; i < n; i++)
		out_reasons[i] = policy_young(snaps[i].received_ns, now_ns, p->min_age_s)
				     ? VAULT_KEEP_MIN_AGE
				     : 0;
	if (n == 0)
		return;
	if (!(it = calloc(n, sizeof(*it)))) {
		/* Cannot rank them: keep everything rather than guess. */
		for (i = 0; i < n; i++)
			out_reasons[i] |= VAULT_KEEP_NOMEM;
		return;
	}
	for (i = 0; i < n; i++) {
		it[i].index = i;
		it[i].received_ns = snaps[i].received_ns;
		it[i].name = snaps[i].name;
		policy_periods(&it[i]);
	}
	qsort(it, n, sizeof(*it), policy_newest_first);
	policy_window(it, n, p->keep_daily, POLICY_DAY, VAULT_KEEP_DAILY, out_reasons);
	policy_window(it, n, p->keep_weekly, POLICY_WEEK, VAULT_KEEP_WEEKLY, out_reasons);
	policy_window(it, n, p->keep_monthly, POLICY_MONTH, VAULT_KEEP_MONTHLY, out_reasons);
	free(it);
}

/*
 * later - earlier (later >= earlier) as "3 days", "1 hour", "45 seconds":
 * the largest unit that gives at least 2 (or exactly 1).  Saturates rather
 * than overflow, for times no real clock gives.
 */
static void policy_span(int64_t later, int64_t earlier, char out[48])
{
	static const struct {
		int64_t secs;
		const char *unit;
	} units[] = {{POLICY_DAY_S, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
	int64_t s;
	size_t i;

	if (earlier < 0 && later > INT64_MAX + earlier)
		s = INT64_MAX / POLICY_NS;
	else
		s = (later - earlier) / POLICY_NS;

	for (i = 0; i < sizeof(units) / sizeof(units[0]) - 1; i++)
		if (s >= 2 * units[i].secs || s == units[i].secs)
			break;
	s /= units[i].secs;
	snprintf(out, 48, "%" PRId64 " %s%s", s, units[i].unit, s == 1 ? "" : "s");
}

static void policy_append(char *out, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void policy_append(char *out, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	if (*off > 0) {
		n = snprintf(out + *off, len - *off, "; ");
		*off += n > 0 ? (size_t)n : 0;
		if (*off >= len)
			return;
	}
	va_start(ap, fmt);
	n = vsnprintf(out + *off, len - *off, fmt, ap);
	va_end(ap);
	*off += n > 0 ? (size_t)n : 0;
}

void policy_retention_explain(unsigned reasons, const vault_policy *p, int64_t received_ns,
			      int64_t now_ns, char *out, size_t len)
{
	char span[48], min_age[32];
	size_t off = 0;

	if (!out || len == 0)
		return;
	out[0] = '\0';
	if (reasons == 0) {
		snprintf(out, len, "not protected by retention");
		return;
	}
	if (reasons & VAULT_KEEP_MIN_AGE) {
		policy_duration_format(p->min_age_s, min_age);
		if (received_ns > now_ns) {
			policy_span(received_ns, now_ns, span);
			policy_append(out, len, &off,
				      "received %s in the future by the vault's "
				      "clock (was it set back?), so counted as younger than the "
				      "minimum age of %s",
				      span, min_age);
		} else {
			policy_span(now_ns, received_ns, span);
			policy_append(out, len, &off,
				      "received %s ago, younger than the minimum "
				      "age of %s",
				      span, min_age);
		}
	}
	if (reasons & VAULT_KEEP_DAILY)
		policy_append(out, len, &off,
			      "the newest of its day (UTC), one of the %u newest "
			      "days with snapshots",
			      p->keep_daily);
	if (reasons & VAULT_KEEP_WEEKLY)
		policy_append(out, len, &off,
			      "the newest of its ISO week, one of the %u newest "
			      "weeks with snapshots",
			      p->keep_weekly);
	if (reasons & VAULT_KEEP_MONTHLY)
		policy_append(out, len, &off,
			      "the newest of its month (UTC), one of the %u newest "
			      "months with snapshots",
			      p->keep_monthly);
	if (reasons & VAULT_KEEP_NOMEM)
		policy_append(out, len, &off,
			      "kept because retention could not be computed (out "
			      "of memory)");
}

/* ------------------------------------------------------------------ */
/* Receive times                                                       */

#define POLICY_UNSET INT64_MIN

typedef struct {
	vault_snapshot_time *v;
	size_t n, cap;
	int err;
} policy_list;

static int policy_collect(const char *name, uint64_t size, void *ctx)
{
	policy_list *l = ctx;
	vault_snapshot_time *nv;
	char *copy;

	(void)size;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;

		if (!(nv = realloc(l->v, cap * sizeof(*nv)))) {
			l->err = kura_error_set(KURA_ENOMEM, "out of memory");
			return 1;
		}
		l->v = nv;
		l->cap = cap;
	}
	if (!(copy = strdup(name))) {
		l->err = kura_error_set(KURA_ENOMEM, "out of memory");
		return 1;
	}
	l->v[l->n].name = copy;
	l->v[l->n].received_ns = POLICY_UNSET;
	l->n++;
	return 0;
}

static int policy_by_name(const void *a, const void *b)
{
	return strcmp(((const vault_snapshot_time *)a)->name,
		      ((const vault_snapshot_time *)b)->name);
}

/* One line of snapshot-times: fill in its snapshot's time if unset. */
static int policy_apply_line(const snaptimes_line *line, unsigned long long lineno, void *ctx)
{
	policy_list *l = ctx;
	vault_snapshot_time key = {.name = line->name}, *hit;

	hit = bsearch(&key, l->v, l->n, sizeof(*l->v), policy_by_name);
	/* The first line wins: a later one is a retried upload of the same bytes. */
	if (hit && hit->received_ns == POLICY_UNSET)
		hit->received_ns = line->received_ns;
	return 0;
}

void policy_snapshot_times_free(vault_snapshot_time *t, size_t n)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < n; i++)
		free((char *)t[i].name);
	free(t);
}

int policy_snapshot_times(const char *vault_dir, const char *repo, kura_backend *b,
			  vault_snapshot_time **out, size_t *out_count)
{
	policy_list l = {NULL, 0, 0, 0};
	snaptimes_skipped bad;
	size_t i, j;
	int err;

	*out = NULL;
	*out_count = 0;
	if (!repo || !*repo || repo[0] == '.' || strchr(repo, '/'))
		return kura_error_set(KURA_EINVAL, "bad repository name '%s'", repo ? repo : "");
	if ((err = b->list(b, KURA_FILE_SNAPSHOT, policy_collect, &l)) < 0 || (err = l.err) < 0)
		goto done;
	if (l.n == 0)
		goto done;
	qsort(l.v, l.n, sizeof(*l.v), policy_by_name);
	/* Skipped, never fatal: one damaged line must not stop retention. */
	err = snaptimes_each(vault_dir, repo, policy_apply_line, &l, &bad);
	snaptimes_warn(vault_dir, repo, &bad);
	if (err < 0)
		goto done;
	/* Snapshots stored without a record (older vaults): the file's mtime. */
	for (i = 0; i < l.n; i++) {
		if (l.v[i].received_ns != POLICY_UNSET)
			continue;
		err = kura_backend_mtime(b, KURA_FILE_SNAPSHOT, l.v[i].name, &l.v[i].received_ns);
		if (err == KURA_ENOTFOUND) {
			/* Removed since the listing: no longer stored. */
			kura_error_clear();
			l.v[i].received_ns = POLICY_UNSET;
			err = 0;
		}
		if (err < 0)
			goto done;
	}
	for (i = j = 0; i < l.n; i++) {
		if (l.v[i].received_ns == POLICY_UNSET)
			free((char *)l.v[i].name);
		else
			l.v[j++] = l.v[i];
	}
	l.n = j;
	*out = l.v;
	*out_count = l.n;
	l.v = NULL;
	l.n = 0;
done:
	policy_snapshot_times_free(l.v, l.n);
	return err;
}
