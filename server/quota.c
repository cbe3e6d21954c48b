/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quota.c - the running quota table of `kurad serve` (quota.h).
 *
 * An upload is admitted at its start, by its Content-Length, before a
 * byte of it is stored: the bytes are drawn from the repository's bucket
 * and the writer's, and held against the repository's cap, until the
 * upload is stored (they count toward today) or not (they are given
 * back: only stored bytes use a quota, so a refused or broken upload
 * costs its writer nothing).  Uploads of a name already stored are never
 * charged: they store nothing.
 *
 * One mutex guards the table; it is held for arithmetic only.  Loading a
 * repository's ledger (a listing of the repository, once per serve) and
 * writing ledgers and audit entries happen outside it.
 */
#include "quota.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "files.h"
#include "policy.h"
#include "quota_ledger.h"

#define NS_PER_S 1000000000LL
#define WINDOW_NS (QUOTA_REFUSAL_WINDOW_S * NS_PER_S)
#define WINDOWS 256 /* credentials with an open refusal window; beyond, they share "*" */
#define RECOUNT_NS (60 * NS_PER_S) /* a repository at its cap is recounted at most this often */

typedef struct {
	char name[VAULT_NAME_MAX + 1];
	bool loaded, dirty;
	uint64_t pending; /* admitted, not yet stored or given back */
	int64_t counted;  /* CLOCK_MONOTONIC of the last count of its size */
	quota_ledger l;
} q_repo;

/* One credential's refusals in the current window. */
typedef struct {
	char client[VAULT_NAME_MAX + 1]; /* "" free; "*" the rest */
	char repo[VAULT_NAME_MAX + 1];
	char peer[INET6_ADDRSTRLEN];
	quota_limit limit; /* of the last one */
	int64_t opened;	   /* CLOCK_MONOTONIC */
	uint64_t count;	   /* after the window's first */
	int64_t first, last;
} q_window;

struct quota {
	pthread_mutex_t lock;
	vault *v;
	vault_quota_conf conf;
	q_repo **repos;
	size_t nrepos, cap;
	q_window win[WINDOWS + 1];
};

static int64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

const char *quota_limit_name(quota_limit l)
{
	switch (l) {
	case QUOTA_LIMIT_DAILY:
		return "daily";
	case QUOTA_LIMIT_BURST:
		return "burst";
	case QUOTA_LIMIT_CAP:
		return "cap";
	case QUOTA_LIMIT_RESERVE:
		return "reserve";
	}
	return "?";
}

int quota_new(quota **out, vault *v)
{
	quota *q = calloc(1, sizeof(*q));
	vault_policy *p = malloc(sizeof(*p));

	*out = NULL;
	if (!q || !p) {
		free(q);
		free(p);
		return kura_error_set(KURA_ENOMEM, "quota table: out of memory");
	}
	/* A policy that does not load leaves every limit derived; serve's tick reports it. */
	if (policy_load(vault_dir(v), p) == 0)
		q->conf = p->quota;
	kura_error_clear();
	free(p);
	pthread_mutex_init(&q->lock, NULL);
	q->v = v;
	snprintf(q->win[WINDOWS].client, sizeof(q->win[WINDOWS].client), "*");
	*out = q;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Repositories                                                        */

static q_repo *repo_find(quota *q, const char *repo)
{
	for (size_t i = 0; i < q->nrepos; i++)
		if (strcmp(q->repos[i]->name, repo) == 0)
			return q->repos[i];
	return NULL;
}

/*
 * The loaded entry of `repo`, lock held on entry and on return.  A new
 * one is loaded with the lock released (a listing of the repository);
 * entries never move, so another thread's pointer stays valid.
 */
static int repo_get(quota *q, const char *repo, int64_t now, q_repo **out)
{
	q_repo *r = repo_find(q, repo), *fresh, **grown;
	int err;

	*out = NULL;
	if (r && r->loaded) {
		*out = r;
		return 0;
	}
	pthread_mutex_unlock(&q->lock);
	fresh = calloc(1, sizeof(*fresh));
	err = fresh ? quota_ledger_load(q->v, repo, now, &fresh->l)
		    : kura_error_set(KURA_ENOMEM, "out of memory");
	pthread_mutex_lock(&q->lock);
	if (err < 0) {
		free(fresh);
		return err;
	}
	if ((r = repo_find(q, repo))) { /* loaded meanwhile by another upload */
		free(fresh);
		*out = r;
		return 0;
	}
	if (q->nrepos == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 16;

		if (!(grown = realloc(q->repos, cap * sizeof(*grown)))) {
			free(fresh);
			return kura_error_set(KURA_ENOMEM, "out of memory");
		}
		q->repos = grown;
		q->cap = cap;
	}
	snprintf(fresh->name, sizeof(fresh->name), "%s", repo);
	fresh->loaded = true;
	fresh->counted = now_ns(CLOCK_MONOTONIC);
	q->repos[q->nrepos++] = fresh;
	*out = fresh;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Admission                                                           */

static void when(char out[40], int64_t ns)
{
	files_format_time_s(out, ns);
}

static void refuse_bucket(quota_refusal *why, int fit, bool client, const char *name,
			  const quota_limits *lim, const quota_bucket *b, uint64_t bytes,
			  int64_t now, int64_t wait)
{
	char daily[32], burst[32], need[32], avail[32], at[40];
	const char *who = client ? "credential" : "repository";
	uint64_t debt = quota_bucket_debt(b, lim->daily, now);

	why->client = client;
	why->value = fit == QUOTA_OVER_BURST ? lim->burst : lim->daily;
	why->burst = lim->burst;
	why->available = debt < lim->burst ? lim->burst - debt : 0;
	quota_size_human(lim->daily, daily);
	quota_size_human(lim->burst, burst);
	quota_size_human(bytes, need);
	quota_size_human(why->available, avail);
	if (fit == QUOTA_OVER_BURST) {
		why->limit = QUOTA_LIMIT_BURST;
		why->refill_ns = 0;
		snprintf(why->message, sizeof(why->message),
			 "quota: this upload of %s is larger than %s %s's burst of %s: it can never "
			 "be stored under this limit (the vault's operator can raise it)",
			 need, who, name, burst);
		return;
	}
	why->limit = QUOTA_LIMIT_DAILY;
	why->refill_ns = now + wait;
	when(at, why->refill_ns);
	snprintf(why->message, sizeof(why->message),
		 "quota: %s %s may store %s a day (at most %s at once); %s is left now and this "
		 "upload needs %s: it fits again at %s (in %" PRId64 " s)",
		 who, name, daily, burst, avail, need, at, (int64_t)((wait + NS_PER_S - 1) / NS_PER_S));
}

static bool over_cap(const q_repo *r, const quota_limits *lim, uint64_t bytes)
{
	uint64_t used = r->l.size + r->pending;

	return lim->cap != QUOTA_UNLIMITED && (used > lim->cap || bytes > lim->cap - used);
}

/*
 * The size is counted once and then followed upload by upload; what
 * approved deletions remove is not followed.  So a repository that
 * meets its cap is counted again (lock released for the listing), at
 * most once a RECOUNT_NS: true if it was.  Uploads stored during the
 * count may be missed by it, an error of what was in flight.
 */
static bool recount(quota *q, q_repo *r, const char *repo)
{
	int64_t mono = now_ns(CLOCK_MONOTONIC);
	uint64_t size;
	int err;

	if (mono - r->counted < RECOUNT_NS)
		return false;
	r->counted = mono;
	pthread_mutex_unlock(&q->lock);
	err = quota_ledger_size(q->v, repo, &size);
	pthread_mutex_lock(&q->lock);
	if (err < 0) {
		fprintf(stderr, "kurad: quota of repository %s: %s\n", repo, kura_error_message());
		return false;
	}
	r->l.size = size;
	return true;
}

int quota_admit(quota *q, const char *repo, const char *client, uint64_t bytes, quota_refusal *why)
{
	int64_t now = now_ns(CLOCK_REALTIME), wait_r = 0, wait_c = 0;
	quota_ledger_client *c;
	quota_limits lim, clim;
	q_repo *r = NULL;
	int fit_r, fit_c, err;

	memset(why, 0, sizeof(*why));
	pthread_mutex_lock(&q->lock);
	if ((err = repo_get(q, repo, now, &r)) < 0) {
		pthread_mutex_unlock(&q->lock);
		fprintf(stderr, "kurad: quota of repository %s: %s (upload let through)\n", repo,
			kura_error_message());
		return err;
	}
	lim = quota_ledger_limits(&r->l, &q->conf, repo, now, NULL);
	if (over_cap(r, &lim, bytes) && recount(q, r, repo))
		lim = quota_ledger_limits(&r->l, &q->conf, repo, now, NULL);
	if (over_cap(r, &lim, bytes)) {
		char cap[32], size[32], need[32];

		why->limit = QUOTA_LIMIT_CAP;
		why->value = lim.cap;
		why->available = r->l.size + r->pending < lim.cap ? lim.cap - r->l.size - r->pending : 0;
		quota_size_human(lim.cap, cap);
		quota_size_human(r->l.size, size);
		quota_size_human(bytes, need);
		snprintf(why->message, sizeof(why->message),
			 "quota: this upload of %s would take repository %s past its hard cap of %s "
			 "(%s stored): nothing refills a cap; the vault's operator can raise it",
			 need, repo, cap, size);
		pthread_mutex_unlock(&q->lock);
		return 1;
	}
	c = quota_ledger_client_get(&r->l, client);
	clim = quota_resolve_client(&q->conf, client, &lim, NULL);
	fit_r = quota_bucket_fits(&r->l.bucket, &lim, bytes, now, &wait_r);
	fit_c = quota_bucket_fits(&c->bucket, &clim, bytes, now, &wait_c);
	/* The limit that holds the upload back longest is the one to name. */
	if (fit_r == QUOTA_OVER_BURST || (fit_r && fit_c != QUOTA_OVER_BURST && wait_r >= wait_c))
		refuse_bucket(why, fit_r, false, repo, &lim, &r->l.bucket, bytes, now, wait_r);
	else if (fit_c)
		refuse_bucket(why, fit_c, true, client, &clim, &c->bucket, bytes, now, wait_c);
	if (fit_r || fit_c) {
		pthread_mutex_unlock(&q->lock);
		return 1;
	}
	quota_bucket_take(&r->l.bucket, lim.daily, bytes, now);
	quota_bucket_take(&c->bucket, clim.daily, bytes, now);
	r->pending += bytes;
	r->dirty = true;
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void quota_stored(quota *q, const char *repo, const char *client, uint64_t bytes)
{
	int64_t now = now_ns(CLOCK_REALTIME);
	q_repo *r;

	pthread_mutex_lock(&q->lock);
	if ((r = repo_find(q, repo))) {
		r->pending -= bytes < r->pending ? bytes : r->pending;
		r->l.size += bytes;
		quota_ledger_add_day(&r->l, quota_day_of(now), bytes);
		r->dirty = true;
	}
	pthread_mutex_unlock(&q->lock);
}

void quota_release(quota *q, const char *repo, const char *client, uint64_t bytes)
{
	int64_t now = now_ns(CLOCK_REALTIME);
	quota_limits lim, clim;
	q_repo *r;

	pthread_mutex_lock(&q->lock);
	if ((r = repo_find(q, repo))) {
		lim = quota_ledger_limits(&r->l, &q->conf, repo, now, NULL);
		clim = quota_resolve_client(&q->conf, client, &lim, NULL);
		r->pending -= bytes < r->pending ? bytes : r->pending;
		quota_bucket_give(&r->l.bucket, lim.daily, bytes, now);
		quota_bucket_give(&quota_ledger_client_get(&r->l, client)->bucket, clim.daily, bytes,
				  now);
		r->dirty = true;
	}
	pthread_mutex_unlock(&q->lock);
}

/* ------------------------------------------------------------------ */
/* Refusals                                                            */

bool quota_refused(quota *q, const char *repo, const char *client, const char *peer,
		   quota_limit limit)
{
	int64_t mono = now_ns(CLOCK_MONOTONIC), wall = now_ns(CLOCK_REALTIME);
	q_window *w = NULL, *free_slot = NULL;
	bool first = false;

	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < WINDOWS && !w; i++) {
		if (!q->win[i].client[0]) {
			if (!free_slot)
				free_slot = &q->win[i];
		} else if (strcmp(q->win[i].client, client) == 0) {
			w = &q->win[i];
		}
	}
	if (!w && free_slot) {
		w = free_slot;
		snprintf(w->client, sizeof(w->client), "%s", client);
	}
	if (!w)
		w = &q->win[WINDOWS];
	snprintf(w->repo, sizeof(w->repo), "%s", repo);
	snprintf(w->peer, sizeof(w->peer), "%s", peer);
	w->limit = limit;
	if (!w->opened) {
		/* The window's first refusal: logged as a request of its own. */
		w->opened = mono;
		first = true;
	} else {
		if (w->count++ == 0)
			w->first = wall;
		w->last = wall;
	}
	pthread_mutex_unlock(&q->lock);
	return first;
}

static int write_summary(quota *q, const q_window *w)
{
	char first[40], last[40], path[VAULT_NAME_MAX + 40];
	vault_audit *a = vault_get_audit(q->v);
	vault_audit_entry e = {
	    .peer = w->peer,
	    .client = w->client,
	    .role = "writer",
	    .method = "REFUSED",
	    .path = path,
	    .status = 507,
	    .count = w->count,
	    .first = first,
	    .last = last,
	};
	int err;

	if (!a || w->count == 0)
		return 0;
	snprintf(path, sizeof(path), "/v1/repos/%s/quota/%s", w->repo, quota_limit_name(w->limit));
	audit_time(first, w->first);
	audit_time(last, w->last);
	if ((err = audit_append(a, &e)) < 0)
		err = kura_error_wrap(err, "quota refusals of %s (%" PRIu64 ") not logged", w->client,
				      w->count);
	return err;
}

/* Write and clear the windows open longer than `age_ns` (all: -1). */
static int close_windows(quota *q, int64_t age_ns)
{
	int64_t mono = now_ns(CLOCK_MONOTONIC);
	q_window *out = malloc((WINDOWS + 1) * sizeof(*out));
	size_t n = 0;
	int err = 0, e;

	if (!out)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i <= WINDOWS; i++) {
		q_window *w = &q->win[i];

		if (!w->opened || (age_ns >= 0 && mono - w->opened <= age_ns))
			continue;
		if (w->count)
			out[n++] = *w;
		if (i < WINDOWS) {
			memset(w, 0, sizeof(*w));
		} else { /* the shared slot keeps its name, "*" */
			w->opened = 0;
			w->count = 0;
		}
	}
	pthread_mutex_unlock(&q->lock);
	for (size_t i = 0; i < n; i++)
		if ((e = write_summary(q, &out[i])) < 0 && err == 0)
			err = e;
	free(out);
	return err;
}

/* ------------------------------------------------------------------ */
/* The tick                                                            */

/* Write the ledgers that changed. */
static int flush_ledgers(quota *q)
{
	int64_t now = now_ns(CLOCK_REALTIME);
	quota_ledger *copy = malloc(sizeof(*copy));
	char name[VAULT_NAME_MAX + 1];
	int err = 0, e;

	if (!copy)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	for (size_t i = 0;; i++) {
		q_repo *r;
		quota_limits lim, clim;

		pthread_mutex_lock(&q->lock);
		if (i >= q->nrepos) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		r = q->repos[i];
		if (!r->dirty) {
			pthread_mutex_unlock(&q->lock);
			continue;
		}
		/* Every bucket brought to now, so that the file holds one time. */
		lim = quota_ledger_limits(&r->l, &q->conf, r->name, now, NULL);
		quota_bucket_take(&r->l.bucket, lim.daily, 0, now);
		for (size_t c = 0; c < r->l.nclients; c++) {
			clim = quota_resolve_client(&q->conf, r->l.clients[c].name, &lim, NULL);
			quota_bucket_take(&r->l.clients[c].bucket, clim.daily, 0, now);
		}
		*copy = r->l;
		r->dirty = false;
		snprintf(name, sizeof(name), "%s", r->name);
		pthread_mutex_unlock(&q->lock);
		if ((e = quota_ledger_save(q->v, name, copy, now)) < 0) {
			pthread_mutex_lock(&q->lock);
			r->dirty = true; /* tried again at the next tick */
			pthread_mutex_unlock(&q->lock);
			if (err == 0)
				err = e;
		}
	}
	free(copy);
	return err;
}

/* A changed policy's quotas take effect. */
static int reload_policy(quota *q)
{
	vault_policy *p = malloc(sizeof(*p));
	int err;

	if (!p)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = policy_load(vault_dir(q->v), p)) == 0) {
		pthread_mutex_lock(&q->lock);
		if (!quota_conf_equal(&q->conf, &p->quota))
			q->conf = p->quota;
		pthread_mutex_unlock(&q->lock);
	} else {
		err = kura_error_wrap(err, "quotas unchanged");
	}
	free(p);
	return err;
}

int quota_tick(quota *q)
{
	int err = reload_policy(q), e;

	if ((e = flush_ledgers(q)) < 0 && err == 0)
		err = e;
	if ((e = close_windows(q, WINDOW_NS)) < 0 && err == 0)
		err = e;
	return err;
}

void quota_free(quota *q)
{
	if (!q)
		return;
	/* Nothing to report to at shutdown but stderr. */
	if (flush_ledgers(q) < 0 || close_windows(q, -1) < 0)
		fprintf(stderr, "kurad: quota: %s\n", kura_error_message());
	for (size_t i = 0; i < q->nrepos; i++)
		free(q->repos[i]);
	free(q->repos);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* ------------------------------------------------------------------ */
/* Status                                                              */

/* A limit as JSON: a number, or null for no limit. */
static json_t *limit_json(uint64_t n)
{
	return n == QUOTA_UNLIMITED ? json_null() : json_integer((json_int_t)n);
}

static json_t *set_by(unsigned from, bool cap)
{
	return cap ? json_pack("{s:s, s:s, s:s}", "daily", from & 1 ? "policy" : "derived", "burst",
			       from & 2 ? "policy" : "derived", "cap",
			       from & 4 ? "policy" : "derived")
		   : json_pack("{s:s, s:s}", "daily", from & 1 ? "policy" : "repository", "burst",
			       from & 2 ? "policy" : "repository");
}

static uint64_t available(const quota_bucket *b, const quota_limits *l, int64_t now)
{
	uint64_t debt;

	if (l->daily == QUOTA_UNLIMITED || l->burst == QUOTA_UNLIMITED)
		return QUOTA_UNLIMITED;
	debt = quota_bucket_debt(b, l->daily, now);
	return debt < l->burst ? l->burst - debt : 0;
}

static int clients_json(vault *v, const char *repo, quota_ledger *l, const vault_quota_conf *conf,
			const quota_limits *lim, int64_t now, json_t *arr)
{
	size_t n = vault_client_count(v);

	for (size_t i = 0; i < n; i++) {
		const vault_client *c = vault_client_at(v, i);
		quota_bucket none = {0, now}, *b = &none;
		quota_limits clim;
		unsigned from = 0;
		json_t *item;

		if (c->role != VAULT_ROLE_WRITER || strcmp(c->repo, repo) != 0)
			continue;
		for (size_t k = 0; k < l->nclients; k++)
			if (strcmp(l->clients[k].name, c->name) == 0)
				b = &l->clients[k].bucket;
		clim = quota_resolve_client(conf, c->name, lim, &from);
		item = json_pack("{s:s, s:o, s:o, s:o, s:o}", "name", c->name, "daily",
				 limit_json(clim.daily), "burst", limit_json(clim.burst),
				 "available", limit_json(available(b, &clim, now)), "set_by",
				 set_by(from, false));
		if (!item || json_array_append_new(arr, item) < 0)
			return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	return 0;
}

int quota_status_json(vault *v, const char *repo, uint64_t stored_bytes, json_t **out)
{
	int64_t now = now_ns(CLOCK_REALTIME);
	vault_policy *p = malloc(sizeof(*p));
	quota_ledger *l = malloc(sizeof(*l));
	quota_limits lim;
	unsigned from = 0;
	json_t *doc = NULL;
	int err;

	*out = NULL;
	if (!p || !l) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = policy_load(vault_dir(v), p)) < 0 ||
	    (err = quota_ledger_load(v, repo, now, l)) < 0)
		goto done;
	lim = quota_ledger_limits(l, &p->quota, repo, now, &from);
	doc = json_pack("{s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:[]}", "daily",
			limit_json(lim.daily), "burst", limit_json(lim.burst), "cap",
			limit_json(lim.cap), "set_by", set_by(from, true), "available",
			limit_json(available(&l->bucket, &lim, now)), "stored_today",
			(json_int_t)quota_ledger_day(l, quota_day_of(now)), "largest_day_30d",
			(json_int_t)quota_ledger_largest_day(l, quota_day_of(now)), "size",
			(json_int_t)stored_bytes, "clients");
	if (!doc) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = clients_json(v, repo, l, &p->quota, &lim, now,
				json_object_get(doc, "clients"))) < 0) {
		json_decref(doc);
		goto done;
	}
	*out = doc;
done:
	free(p);
	free(l);
	return err;
}

/* A limit for people: "12.0 MiB", or "none". */
static void human_limit(const json_t *v, char out[32])
{
	if (json_is_integer(v))
		quota_size_human((uint64_t)json_integer_value(v), out);
	else
		snprintf(out, 32, "none");
}

void quota_status_print(const json_t *repositories)
{
	char daily[32], burst[32], left[32], today[32], cap[32];
	const json_t *r, *q, *by;
	size_t i;

	if (json_array_size(repositories) == 0)
		return;
	printf("%-24s %10s %10s %10s %12s %10s  %s\n", "UPLOAD QUOTA", "PER DAY", "BURST", "LEFT",
	       "STORED TODAY", "CAP", "SET BY (daily/burst/cap)");
	json_array_foreach(repositories, i, r)
	{
		q = json_object_get(r, "quota");
		by = json_object_get(q, "set_by");
		human_limit(json_object_get(q, "daily"), daily);
		human_limit(json_object_get(q, "burst"), burst);
		human_limit(json_object_get(q, "available"), left);
		human_limit(json_object_get(q, "stored_today"), today);
		human_limit(json_object_get(q, "cap"), cap);
		printf("%-24s %10s %10s %10s %12s %10s  %s/%s/%s\n",
		       json_string_value(json_object_get(r, "name")), daily, burst, left, today, cap,
		       json_string_value(json_object_get(by, "daily")),
		       json_string_value(json_object_get(by, "burst")),
		       json_string_value(json_object_get(by, "cap")));
	}
}
