/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quota_conf.c - the "quota" member of policy.json (quota_conf.h): sizes,
 * the member's parser and formatter, and which limits are in force for a
 * repository or a writer credential.
 *
 * The parser is as strict as the rest of the policy's: an unknown member
 * may be a limit the vault would silently not apply, so it is refused,
 * and every size has one spelling.  format(parse(x)) parses back to the
 * same settings (the policy fuzz target checks it).
 */
#include "quota_conf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

static const struct {
	const char *unit;
	unsigned shift;
} quota_units[] = {{"PiB", 50}, {"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}};

#define QUOTA_NUNITS (sizeof(quota_units) / sizeof(quota_units[0]))

int quota_size_parse(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t n = 0;
	unsigned shift = 0;
	size_t i;

	if (!s)
		return kura_error_set(KURA_EINVAL, "no size given");
	if (strcmp(s, "none") == 0) {
		*out = QUOTA_UNLIMITED;
		return 0;
	}
	if (*p < '1' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > QUOTA_SIZE_MAX)
			goto big; /* long before uint64 could overflow */
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		for (i = 0; i < QUOTA_NUNITS; i++)
			if (strcmp(p, quota_units[i].unit) == 0)
				shift = quota_units[i].shift;
		if (!shift)
			goto bad;
	}
	if (n > QUOTA_SIZE_MAX >> shift)
		goto big;
	*out = n << shift;
	return 0;
big:
	return kura_error_set(KURA_EINVAL, "size '%.40s' is larger than 1 EiB", s);
bad:
	return kura_error_set(KURA_EINVAL,
			      "'%.40s' is not a size (\"none\", or a positive whole number of "
			      "bytes, or with KiB, MiB, GiB, TiB or PiB, such as \"20GiB\")",
			      s);
}

void quota_size_format(uint64_t n, char out[32])
{
	size_t i;

	if (n == QUOTA_UNLIMITED) {
		snprintf(out, 32, "none");
		return;
	}
	for (i = 0; i < QUOTA_NUNITS; i++) {
		uint64_t unit = (uint64_t)1 << quota_units[i].shift;

		if (n >= unit && n % unit == 0) {
			snprintf(out, 32, "%" PRIu64 "%s", n / unit, quota_units[i].unit);
			return;
		}
	}
	snprintf(out, 32, "%" PRIu64, n);
}

void quota_size_human(uint64_t n, char out[32])
{
	size_t i;

	if (n == QUOTA_UNLIMITED) {
		snprintf(out, 32, "no limit");
		return;
	}
	for (i = 0; i < QUOTA_NUNITS; i++) {
		uint64_t unit = (uint64_t)1 << quota_units[i].shift;

		if (n >= unit) {
			snprintf(out, 32, "%.1f %s", (double)n / (double)unit, quota_units[i].unit);
			return;
		}
	}
	snprintf(out, 32, "%" PRIu64 " B", n);
}

/* ------------------------------------------------------------------ */
/* The member                                                          */

/* A name as the vault's (vault_state.h): [a-z0-9][a-z0-9._-]{0,62}. */
static bool quota_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > QUOTA_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (i > 0 && (c == '.' || c == '_' || c == '-'))))
			return false;
	}
	return true;
}

static bool quota_limits_empty(const quota_limits *l);

/* One limit from the command line: a size, "none", or "derived" (0: not set). */
static int quota_value_parse(const char *opt, const char *s, uint64_t *out)
{
	if (!s)
		return 0;
	if (strcmp(s, "derived") == 0) {
		*out = 0;
		return 0;
	}
	if (quota_size_parse(s, out) < 0)
		return kura_error_set(KURA_EINVAL,
				      "%s: '%s' is not a size (like 20GiB), 'none' or 'derived'", opt,
				      s);
	return 0;
}

int quota_conf_set(vault_quota_conf *q, const char *who, const char *daily, const char *burst,
		   const char *cap)
{
	bool client = false, named = false;
	const char *name = NULL;
	quota_limits *lim, nl = {0};
	unsigned i;

	if (!who || strcmp(who, "repositories") == 0) {
		lim = &q->repository;
	} else if (strcmp(who, "clients") == 0) {
		lim = &q->client;
		client = true;
	} else if (strncmp(who, "repo:", 5) == 0 || strncmp(who, "client:", 7) == 0) {
		client = who[0] == 'c';
		name = who + (client ? 7 : 5);
		named = true;
		if (!quota_name_ok(name))
			return kura_error_set(KURA_EINVAL, "--quota-for: '%s' is not a %s name", name,
					      client ? "client" : "repository");
		for (i = 0; i < q->count; i++)
			if (q->named[i].client == client && strcmp(q->named[i].name, name) == 0)
				break;
		if (i == q->count) {
			if (q->count == QUOTA_NAMED_MAX)
				return kura_error_set(KURA_EINVAL,
						      "the policy already names %d repositories "
						      "and clients",
						      QUOTA_NAMED_MAX);
			memset(&q->named[i], 0, sizeof(q->named[i]));
			snprintf(q->named[i].name, sizeof(q->named[i].name), "%s", name);
			q->named[i].client = client;
		}
		lim = &nl;
		nl = i < q->count ? q->named[i].lim : nl;
	} else {
		return kura_error_set(KURA_EINVAL,
				      "--quota-for: '%s' is not repositories, clients, repo:NAME or "
				      "client:NAME",
				      who);
	}
	if (client && cap)
		return kura_error_set(KURA_EINVAL,
				      "--quota-cap: a writer credential has no cap (its repository "
				      "has)");
	if (quota_value_parse("--quota-daily", daily, &lim->daily) < 0 ||
	    quota_value_parse("--quota-burst", burst, &lim->burst) < 0 ||
	    quota_value_parse("--quota-cap", cap, &lim->cap) < 0)
		return KURA_EINVAL;
	if (!named)
		return 0;
	/* A named entry left with nothing set is removed: it inherits again. */
	for (i = 0; i < q->count; i++)
		if (q->named[i].client == client && strcmp(q->named[i].name, name) == 0)
			break;
	if (quota_limits_empty(lim)) {
		if (i < q->count) {
			memmove(&q->named[i], &q->named[i + 1],
				(q->count - i - 1) * sizeof(q->named[0]));
			q->count--;
		}
		return 0;
	}
	q->named[i].lim = *lim;
	if (i == q->count)
		q->count++;
	return 0;
}

static int quota_limits_parse(const json_t *obj, bool client, const char *where,
			      quota_limits *out)
{
	const char *key;
	json_t *val;
	uint64_t *slot;
	int err;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return kura_error_set(KURA_EINVAL,
				      "policy: quota: %s must be an object such as "
				      "{\"daily\": \"20GiB\"}",
				      where);
	json_object_foreach((json_t *)obj, key, val)
	{
		if (strcmp(key, "daily") == 0)
			slot = &out->daily;
		else if (strcmp(key, "burst") == 0)
			slot = &out->burst;
		else if (strcmp(key, "cap") == 0 && !client)
			slot = &out->cap;
		else
			return kura_error_set(KURA_EINVAL, "policy: quota: %s: unknown member '%.64s'%s",
					      where, key,
					      client && strcmp(key, "cap") == 0
						  ? " (a cap is a repository's)"
						  : "");
		if (!json_is_string(val))
			return kura_error_set(KURA_EINVAL,
					      "policy: quota: %s: '%s' must be a size string such as "
					      "\"20GiB\"",
					      where, key);
		if ((err = quota_size_parse(json_string_value(val), slot)) < 0)
			return kura_error_wrap(err, "policy: quota: %s: '%s'", where, key);
	}
	return 0;
}

static int quota_named_parse(const json_t *obj, bool client, vault_quota_conf *out)
{
	const char *what = client ? "clients" : "repositories", *key;
	char where[QUOTA_NAME_MAX + 32];
	json_t *val;
	quota_named *n;
	int err;

	if (!json_is_object(obj))
		return kura_error_set(KURA_EINVAL, "policy: quota: '%s' must be an object of names",
				      what);
	json_object_foreach((json_t *)obj, key, val)
	{
		if (!quota_name_ok(key))
			return kura_error_set(KURA_EINVAL,
					      "policy: quota: %s: '%.64s' is not a %s name", what,
					      key, client ? "client" : "repository");
		if (out->count == QUOTA_NAMED_MAX)
			return kura_error_set(KURA_EINVAL,
					      "policy: quota: more than %d repositories and clients "
					      "named",
					      QUOTA_NAMED_MAX);
		n = &out->named[out->count];
		snprintf(where, sizeof(where), "%s '%s'", what, key);
		if ((err = quota_limits_parse(val, client, where, &n->lim)) < 0)
			return err;
		snprintf(n->name, sizeof(n->name), "%s", key);
		n->client = client;
		out->count++;
	}
	return 0;
}

int quota_conf_parse(const json_t *obj, vault_quota_conf *out)
{
	vault_quota_conf q;
	const char *key;
	json_t *val;
	int err;

	memset(&q, 0, sizeof(q));
	if (!json_is_object(obj))
		return kura_error_set(KURA_EINVAL, "policy: 'quota' must be an object");
	json_object_foreach((json_t *)obj, key, val)
	{
		if (strcmp(key, "repository") == 0)
			err = quota_limits_parse(val, false, "'repository'", &q.repository);
		else if (strcmp(key, "client") == 0)
			err = quota_limits_parse(val, true, "'client'", &q.client);
		else if (strcmp(key, "repositories") == 0)
			err = quota_named_parse(val, false, &q);
		else if (strcmp(key, "clients") == 0)
			err = quota_named_parse(val, true, &q);
		else
			err = kura_error_set(KURA_EINVAL, "policy: quota: unknown member '%.64s'",
					     key);
		if (err < 0)
			return err;
	}
	*out = q;
	return 0;
}

static bool quota_limits_empty(const quota_limits *l)
{
	return !l->daily && !l->burst && !l->cap;
}

bool quota_conf_empty(const vault_quota_conf *q)
{
	return quota_limits_empty(&q->repository) && quota_limits_empty(&q->client) &&
	       q->count == 0;
}

/* {"daily": ..., ...} with the members that are set; NULL when out of memory. */
static json_t *quota_limits_format(const quota_limits *l)
{
	json_t *o = json_object();
	const uint64_t *vals[] = {&l->daily, &l->burst, &l->cap};
	const char *names[] = {"daily", "burst", "cap"};
	char text[32];

	for (size_t i = 0; o && i < 3; i++) {
		if (!*vals[i])
			continue;
		quota_size_format(*vals[i], text);
		if (json_object_set_new(o, names[i], json_string(text)) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

json_t *quota_conf_format(const vault_quota_conf *q)
{
	json_t *doc, *repos = NULL, *clients = NULL;
	unsigned i;

	if (quota_conf_empty(q) || !(doc = json_object()))
		return NULL;
	if (!quota_limits_empty(&q->repository) &&
	    json_object_set_new(doc, "repository", quota_limits_format(&q->repository)) < 0)
		goto nomem;
	if (!quota_limits_empty(&q->client) &&
	    json_object_set_new(doc, "client", quota_limits_format(&q->client)) < 0)
		goto nomem;
	for (i = 0; i < q->count; i++) {
		json_t **group = q->named[i].client ? &clients : &repos;

		if (!*group && !(*group = json_object()))
			goto nomem;
		if (json_object_set_new(*group, q->named[i].name,
					quota_limits_format(&q->named[i].lim)) < 0)
			goto nomem;
	}
	if (repos && json_object_set_new(doc, "repositories", repos) < 0) {
		repos = NULL;
		goto nomem;
	}
	repos = NULL;
	if (clients && json_object_set_new(doc, "clients", clients) < 0) {
		clients = NULL;
		goto nomem;
	}
	return doc;
nomem:
	json_decref(repos);
	json_decref(clients);
	json_decref(doc);
	kura_error_set(KURA_ENOMEM, "policy: out of memory");
	return NULL;
}

static const quota_named *quota_find(const vault_quota_conf *q, const char *name, bool client)
{
	for (unsigned i = 0; i < q->count; i++)
		if (q->named[i].client == client && strcmp(q->named[i].name, name) == 0)
			return &q->named[i];
	return NULL;
}

static bool quota_limits_same(const quota_limits *a, const quota_limits *b)
{
	return a->daily == b->daily && a->burst == b->burst && a->cap == b->cap;
}

bool quota_conf_equal(const vault_quota_conf *a, const vault_quota_conf *b)
{
	if (!quota_limits_same(&a->repository, &b->repository) ||
	    !quota_limits_same(&a->client, &b->client) || a->count != b->count)
		return false;
	for (unsigned i = 0; i < a->count; i++) {
		const quota_named *o = quota_find(b, a->named[i].name, a->named[i].client);

		if (!o || !quota_limits_same(&a->named[i].lim, &o->lim))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* What is in force                                                    */

quota_limits quota_derived(uint64_t largest_day, uint64_t fs_size)
{
	uint64_t floor = fs_size / QUOTA_FLOOR_FS_DIVISOR, daily;
	quota_limits l;

	if (floor < QUOTA_FLOOR_MIN)
		floor = QUOTA_FLOOR_MIN;
	daily = largest_day > QUOTA_SIZE_MAX / QUOTA_DAILY_MULTIPLE
		    ? QUOTA_SIZE_MAX
		    : largest_day * QUOTA_DAILY_MULTIPLE;
	if (daily < floor)
		daily = floor;
	l.daily = daily;
	l.burst = daily;
	l.cap = QUOTA_UNLIMITED;
	return l;
}

/* The first of a, b, c that is set (0 if none is). */
static uint64_t quota_pick(uint64_t a, uint64_t b, uint64_t c, unsigned bit, unsigned *from)
{
	if (a || b) {
		*from |= bit;
		return a ? a : b;
	}
	return c;
}

quota_limits quota_resolve_repo(const vault_quota_conf *q, const char *repo,
				const quota_limits *derived, unsigned *from_policy)
{
	const quota_named *n = quota_find(q, repo, false);
	quota_limits none = {0, 0, 0}, l;
	const quota_limits *own = n ? &n->lim : &none;
	unsigned from = 0;

	l.daily = quota_pick(own->daily, q->repository.daily, derived->daily, 1, &from);
	/* A daily allowance from the policy without a burst: a whole day's worth at once. */
	l.burst = quota_pick(own->burst, q->repository.burst,
			     (from & 1) ? l.daily : derived->burst, 2, &from);
	from |= (from & 1) << 1; /* that whole day's worth is the policy's too */
	l.cap = quota_pick(own->cap, q->repository.cap, derived->cap, 4, &from);
	if (from_policy)
		*from_policy = from;
	return l;
}

quota_limits quota_resolve_client(const vault_quota_conf *q, const char *client,
				  const quota_limits *repo_limits, unsigned *from_policy)
{
	const quota_named *n = quota_find(q, client, true);
	quota_limits none = {0, 0, 0}, l;
	const quota_limits *own = n ? &n->lim : &none;
	unsigned from = 0;

	l.daily = quota_pick(own->daily, q->client.daily, repo_limits->daily, 1, &from);
	l.burst = quota_pick(own->burst, q->client.burst,
			     (from & 1) ? l.daily : repo_limits->burst, 2, &from);
	from |= (from & 1) << 1;
	l.cap = QUOTA_UNLIMITED;
	if (from_policy)
		*from_policy = from;
	return l;
}

/* ------------------------------------------------------------------ */
/* Buckets                                                             */

uint64_t quota_bucket_debt(const quota_bucket *b, uint64_t daily, int64_t now_ns)
{
	unsigned __int128 refill;

	if (daily == QUOTA_UNLIMITED)
		return 0;
	if (now_ns <= b->at_ns || b->debt == 0)
		return b->debt;
	refill = (unsigned __int128)daily * (uint64_t)(now_ns - b->at_ns) / (uint64_t)QUOTA_DAY_NS;
	return refill >= b->debt ? 0 : b->debt - (uint64_t)refill;
}

int quota_bucket_fits(const quota_bucket *b, const quota_limits *l, uint64_t need, int64_t now_ns,
		      int64_t *out_wait_ns)
{
	uint64_t debt, over;
	unsigned __int128 wait;

	*out_wait_ns = 0;
	if (l->daily == QUOTA_UNLIMITED || l->burst == QUOTA_UNLIMITED)
		return QUOTA_FITS;
	if (need > l->burst)
		return QUOTA_OVER_BURST;
	debt = quota_bucket_debt(b, l->daily, now_ns);
	if (debt <= l->burst - need)
		return QUOTA_FITS;
	over = debt - (l->burst - need);
	/* rounded up, so that a retry at that time fits */
	wait = ((unsigned __int128)over * (uint64_t)QUOTA_DAY_NS + l->daily - 1) / l->daily;
	*out_wait_ns = wait > (unsigned __int128)INT64_MAX ? INT64_MAX : (int64_t)wait;
	return QUOTA_OVER_DAILY;
}

void quota_bucket_take(quota_bucket *b, uint64_t daily, uint64_t n, int64_t now_ns)
{
	uint64_t debt = quota_bucket_debt(b, daily, now_ns);

	b->debt = debt > UINT64_MAX - n ? UINT64_MAX : debt + n;
	if (now_ns > b->at_ns)
		b->at_ns = now_ns;
}

void quota_bucket_give(quota_bucket *b, uint64_t daily, uint64_t n, int64_t now_ns)
{
	uint64_t debt = quota_bucket_debt(b, daily, now_ns);

	b->debt = debt > n ? debt - n : 0;
	if (now_ns > b->at_ns)
		b->at_ns = now_ns;
}
