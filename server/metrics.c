/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.c - the Prometheus exposition of the vault (metrics.h).  Names
 * follow Prometheus' conventions: base units (seconds, bytes), _total for
 * counters, _timestamp_seconds for points in time.
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "route.h"

#define STATUS_CODES 600
/* Copies per repository with series of their own: labels come from proof
 * records a reader wrote, and must not add series without bound. */
#define COPIES_MAX 16
static const double bucket_s[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define BUCKETS (sizeof(bucket_s) / sizeof(bucket_s[0]))

struct metrics {
	_Atomic uint64_t count[METRICS_ROUTES][STATUS_CODES];
	_Atomic uint64_t bucket[METRICS_ROUTES][BUCKETS]; /* not cumulative here */
	_Atomic uint64_t sum_ns[METRICS_ROUTES];
	_Atomic uint64_t observed[METRICS_ROUTES];
};

static const char *const route_names[METRICS_ROUTES] = {
    "other", "status", "log", "list", "file", "deletions", "quarantine", "ui", "metrics",
};

int metrics_new(metrics **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : kura_error_set(KURA_ENOMEM, "out of memory");
}

void metrics_free(metrics *m)
{
	free(m);
}

const char *metrics_route_name(metrics_route r)
{
	return (unsigned)r < METRICS_ROUTES ? route_names[r] : "other";
}

metrics_route metrics_route_of(const char *path)
{
	vault_route r;

	if (!path)
		return METRICS_ROUTE_OTHER;
	if (strcmp(path, "/metrics") == 0)
		return METRICS_ROUTE_METRICS;
	if (strcmp(path, "/ui") == 0 || strncmp(path, "/ui/", 4) == 0)
		return METRICS_ROUTE_UI;
	/* approvers' signatures (approve_remote.h): one label, not one per request id */
	if (strncmp(path, "/v1/deletions/", 14) == 0)
		return METRICS_ROUTE_DELETIONS;
	if (route_parse(path, &r) < 0)
		return METRICS_ROUTE_OTHER;
	switch (r.kind) {
	case VAULT_ROUTE_STATUS:
		return METRICS_ROUTE_STATUS;
	case VAULT_ROUTE_LOG:
		return METRICS_ROUTE_LOG;
	case VAULT_ROUTE_LIST:
		return METRICS_ROUTE_LIST;
	case VAULT_ROUTE_FILE:
		return METRICS_ROUTE_FILE;
	case VAULT_ROUTE_DELETIONS:
		return METRICS_ROUTE_DELETIONS;
	case VAULT_ROUTE_QUARANTINE:
		return METRICS_ROUTE_QUARANTINE;
	}
	return METRICS_ROUTE_OTHER;
}

void metrics_observe(metrics *m, metrics_route r, unsigned status, int64_t elapsed_ns)
{
	size_t b;

	if (!m || (unsigned)r >= METRICS_ROUTES)
		return;
	if (status < 100 || status >= STATUS_CODES)
		status = 0;
	if (elapsed_ns < 0)
		elapsed_ns = 0;
	atomic_fetch_add(&m->count[r][status], 1);
	for (b = 0; b < BUCKETS; b++)
		if ((double)elapsed_ns <= bucket_s[b] * 1e9) {
			atomic_fetch_add(&m->bucket[r][b], 1);
			break;
		}
	atomic_fetch_add(&m->sum_ns[r], (uint64_t)elapsed_ns);
	atomic_fetch_add(&m->observed[r], 1);
}

void metrics_label(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* An RFC 3339 time of the status document ("2026-12-02T13:49:30.075127327Z") in seconds. */
static bool rfc3339_seconds(const char *s, double *out)
{
	struct tm tm;
	char *end;
	double frac = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (!s || !(end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return false;
	if (*end == '.') {
		double scale = 0.1;

		for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
			frac += (*end - '0') * scale;
	}
	if (strcmp(end, "Z") != 0 || (t = timegm(&tm)) == (time_t)-1)
		return false;
	*out = (double)t + frac;
	return true;
}

/* A gauge per repository from one integer member of its status. */
static void repo_member(FILE *f, const json_t *repos, const char *metric, const char *help,
			const char *member)
{
	const json_t *r;
	size_t i;

	head(f, metric, "gauge", help);
	json_array_foreach(repos, i, r)
	{
		fprintf(f, "%s{repo=\"", metric);
		metrics_label(f, jstr(r, "name"));
		fprintf(f, "\"} %" JSON_INTEGER_FORMAT "\n",
			json_integer_value(json_object_get(r, member)));
	}
}

static void repo_gauges(FILE *f, const json_t *repos)
{
	const json_t *r;
	size_t i;

	repo_member(f, repos, "kura_repository_stored_bytes", "Bytes stored in the repository.",
		    "bytes");
	repo_member(f, repos, "kura_repository_files", "Files stored in the repository.", "files");
	repo_member(f, repos, "kura_snapshots", "Snapshots stored in the repository.", "snapshots");
	head(f, "kura_last_drill_timestamp_seconds", "gauge",
	     "When the vault received the repository's newest drill record.");
	json_array_foreach(repos, i, r)
	{
		const json_t *d = json_object_get(r, "last_drill");
		double t;

		if (!json_is_object(d) || !rfc3339_seconds(jstr(d, "received"), &t))
			continue;
		fputs("kura_last_drill_timestamp_seconds{repo=\"", f);
		metrics_label(f, jstr(r, "name"));
		fprintf(f, "\"} %.3f\n", t);
	}
	head(f, "kura_last_drill_success", "gauge",
	     "1 if the repository's newest drill passed, 0 if it failed.");
	json_array_foreach(repos, i, r)
	{
		const json_t *d = json_object_get(r, "last_drill");

		if (!json_is_object(d))
			continue;
		fputs("kura_last_drill_success{repo=\"", f);
		metrics_label(f, jstr(r, "name"));
		fprintf(f, "\"} %d\n", strcmp(jstr(d, "result"), "passed") == 0);
	}
	head(f, "kura_last_drill_rto_seconds", "gauge",
	     "Recovery time the newest drill measured for the repository.");
	json_array_foreach(repos, i, r)
	{
		const json_t *d = json_object_get(r, "last_drill");

		if (!json_is_object(d) || !json_is_number(json_object_get(d, "rto_seconds")))
			continue;
		fputs("kura_last_drill_rto_seconds{repo=\"", f);
		metrics_label(f, jstr(r, "name"));
		fprintf(f, "\"} %.3f\n", json_number_value(json_object_get(d, "rto_seconds")));
	}
	head(f, "kura_drill_overdue", "gauge",
	     "1 if the repository was not drilled within the policy's drill_every.");
	json_array_foreach(repos, i, r)
	{
		fputs("kura_drill_overdue{repo=\"", f);
		metrics_label(f, jstr(r, "name"));
		fprintf(f, "\"} %d\n", json_is_true(json_object_get(r, "drill_overdue")));
	}
}

/* A repository's copies and its 3-2-1-1-0 verdict (copies_view.h), where the vault could read them.
 */
static void copies_gauges(FILE *f, const json_t *repos)
{
	const json_t *r, *x;
	size_t i, j;

	head(f, "kura_copies_holding_newest", "gauge",
	     "Copies (the vault's own included) known to hold the repository's newest snapshot.");
	json_array_foreach(repos, i, r)
	{
		const json_t *c = json_object_get(r, "copies");
		size_t n = 0;

		if (!json_is_array(json_object_get(c, "stores")))
			continue;
		json_array_foreach(json_object_get(c, "stores"), j, x) n +=
		    json_is_true(json_object_get(x, "holds_newest"));
		fputs("kura_copies_holding_newest{repo=\"", f);
		metrics_label(f, jstr(r, "name"));
		fprintf(f, "\"} %zu\n", n);
	}
	head(
	    f, "kura_copy_last_sync_timestamp_seconds", "gauge",
	    "When a copy last synced and verified (its proof record; the copying client's clock).");
	json_array_foreach(repos, i, r)
	    json_array_foreach(json_object_get(json_object_get(r, "copies"), "stores"), j, x)
	{
		double t;

		if (j > COPIES_MAX || json_is_true(json_object_get(x, "vault")) ||
		    !rfc3339_seconds(jstr(x, "last_sync"), &t))
			continue;
		fputs("kura_copy_last_sync_timestamp_seconds{repo=\"", f);
		metrics_label(f, jstr(r, "name"));
		fputs("\",copy=\"", f);
		metrics_label(f, jstr(x, "label"));
		fputs("\",media=\"", f);
		metrics_label(f, jstr(x, "media"));
		fputs("\",site=\"", f);
		metrics_label(f, jstr(x, "site"));
		fprintf(f, "\"} %.3f\n", t);
	}
	head(f, "kura_copy_last_success", "gauge",
	     "1 if a copy's newest run copied and verified everything, 0 if not.");
	json_array_foreach(repos, i, r)
	    json_array_foreach(json_object_get(json_object_get(r, "copies"), "stores"), j, x)
	{
		if (j > COPIES_MAX || json_is_true(json_object_get(x, "vault")))
			continue;
		fputs("kura_copy_last_success{repo=\"", f);
		metrics_label(f, jstr(r, "name"));
		fputs("\",copy=\"", f);
		metrics_label(f, jstr(x, "label"));
		fprintf(f, "\"} %d\n", strcmp(jstr(x, "last_copy_result"), "passed") == 0);
	}
	head(f, "kura_321_rule_ok", "gauge",
	     "1 if a rule of 3-2-1-1-0 holds for the repository (copies, media, offsite, "
	     "offline, errors).");
	json_array_foreach(repos, i, r)
	    json_array_foreach(json_object_get(json_object_get(r, "copies"), "rules"), j, x)
	{
		fputs("kura_321_rule_ok{repo=\"", f);
		metrics_label(f, jstr(r, "name"));
		fputs("\",rule=\"", f);
		metrics_label(f, jstr(x, "key"));
		fprintf(f, "\"} %d\n", json_is_true(json_object_get(x, "ok")));
	}
	head(f, "kura_321_ok", "gauge", "1 if every rule of 3-2-1-1-0 holds for the repository.");
	json_array_foreach(repos, i, r)
	{
		const char *v = jstr(json_object_get(r, "copies"), "verdict");

		if (!*v)
			continue;
		fputs("kura_321_ok{repo=\"", f);
		metrics_label(f, jstr(r, "name"));
		fprintf(f, "\"} %d\n", strcmp(v, "holds") == 0);
	}
}

static void client_gauges(FILE *f, const json_t *clients)
{
	const json_t *c;
	size_t i;

	head(f, "kura_last_backup_timestamp_seconds", "gauge",
	     "When the vault received the client's newest snapshot.");
	json_array_foreach(clients, i, c)
	{
		double t;

		if (!rfc3339_seconds(jstr(c, "last_backup"), &t))
			continue;
		fputs("kura_last_backup_timestamp_seconds{repo=\"", f);
		metrics_label(f, jstr(c, "repo"));
		fputs("\",client=\"", f);
		metrics_label(f, jstr(c, "name"));
		fprintf(f, "\"} %.3f\n", t);
	}
}

/* Open alerts counted per (repo, kind); kinds come from the vault's records. */
static void alert_gauges(FILE *f, const json_t *alerts)
{
	json_t *counts = json_object();
	const json_t *a, *n;
	const char *key;
	size_t i;

	head(f, "kura_alerts_open", "gauge", "Open alerts per repository and kind.");
	json_array_foreach(alerts, i, a)
	{
		json_t *pair;
		char *k;

		if (!counts || strcmp(jstr(a, "state"), "open") != 0)
			continue;
		pair = json_pack("[s,s]", jstr(a, "repo"), jstr(a, "kind"));
		k = pair ? json_dumps(pair, JSON_COMPACT) : NULL;
		if (k)
			json_object_set_new(
			    counts, k,
			    json_integer(json_integer_value(json_object_get(counts, k)) + 1));
		free(k);
		json_decref(pair);
	}
	json_object_foreach(counts, key, n)
	{
		json_t *pair = json_loads(key, 0, NULL);

		fputs("kura_alerts_open{repo=\"", f);
		metrics_label(f, json_string_value(json_array_get(pair, 0)));
		fputs("\",kind=\"", f);
		metrics_label(f, json_string_value(json_array_get(pair, 1)));
		fprintf(f, "\"} %" JSON_INTEGER_FORMAT "\n", json_integer_value(n));
		json_decref(pair);
	}
	json_decref(counts);
}

static void deletion_gauges(FILE *f, const json_t *repos, const json_t *dels)
{
	const json_t *r, *d;
	size_t i, j;

	head(f, "kura_deletions_pending", "gauge",
	     "Deletion requests waiting for approvals or for their delay.");
	json_array_foreach(repos, i, r)
	{
		uint64_t n = 0;

		json_array_foreach(dels, j, d) n += strcmp(jstr(d, "state"), "pending") == 0 &&
						    strcmp(jstr(d, "repo"), jstr(r, "name")) == 0;
		fputs("kura_deletions_pending{repo=\"", f);
		metrics_label(f, jstr(r, "name"));
		fprintf(f, "\"} %" PRIu64 "\n", n);
	}
}

static void request_counters(FILE *f, metrics *m)
{
	size_t r, s, b;

	head(f, "kura_http_requests_total", "counter", "Requests answered, by route and status.");
	for (r = 0; r < METRICS_ROUTES; r++)
		for (s = 0; s < STATUS_CODES; s++) {
			uint64_t n = atomic_load(&m->count[r][s]);

			if (n)
				fprintf(
				    f,
				    "kura_http_requests_total{route=\"%s\",code=\"%zu\"} %" PRIu64
				    "\n",
				    route_names[r], s, n);
		}
	head(f, "kura_http_request_duration_seconds", "histogram",
	     "Time from a request's headers to its answer being queued, by route.");
	for (r = 0; r < METRICS_ROUTES; r++) {
		uint64_t total = atomic_load(&m->observed[r]), cum = 0;

		if (!total)
			continue;
		for (b = 0; b < BUCKETS; b++) {
			cum += atomic_load(&m->bucket[r][b]);
			fprintf(f,
				"kura_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
				"%" PRIu64 "\n",
				route_names[r], bucket_s[b], cum);
		}
		fprintf(
		    f,
		    "kura_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %" PRIu64
		    "\n",
		    route_names[r], total);
		fprintf(f, "kura_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
			route_names[r], (double)atomic_load(&m->sum_ns[r]) / 1e9);
		fprintf(f, "kura_http_request_duration_seconds_count{route=\"%s\"} %" PRIu64 "\n",
			route_names[r], total);
	}
}

int metrics_render(metrics *m, const json_t *status, int64_t now_ns, char **out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	const json_t *audit_entries = json_object_get(status, "audit_entries");
	const json_t *audit_intact = json_object_get(status, "audit_intact");
	const json_t *sessions = json_object_get(status, "ui_sessions");

	*out = NULL;
	if (!f)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	repo_gauges(f, json_object_get(status, "repositories"));
	copies_gauges(f, json_object_get(status, "repositories"));
	client_gauges(f, json_object_get(status, "clients"));
	alert_gauges(f, json_object_get(status, "alerts"));
	deletion_gauges(f, json_object_get(status, "repositories"),
			json_object_get(status, "deletions"));
	if (json_is_integer(audit_entries)) {
		head(f, "kura_audit_log_entries", "gauge", "Entries in the vault's audit log.");
		fprintf(f, "kura_audit_log_entries %" JSON_INTEGER_FORMAT "\n",
			json_integer_value(audit_entries));
	}
	if (json_is_boolean(audit_intact)) {
		head(f, "kura_audit_log_verified", "gauge",
		     "1 if the audit log's chain and signatures verified at the last check.");
		fprintf(f, "kura_audit_log_verified %d\n", json_is_true(audit_intact));
	}
	if (json_is_integer(sessions)) {
		head(f, "kura_ui_sessions", "gauge", "Status page sessions logged in now.");
		fprintf(f, "kura_ui_sessions %" JSON_INTEGER_FORMAT "\n",
			json_integer_value(sessions));
	}
	head(f, "kura_scrape_timestamp_seconds", "gauge", "The vault's clock when this was made.");
	fprintf(f, "kura_scrape_timestamp_seconds %.3f\n", (double)now_ns / 1e9);
	if (m)
		request_counters(f, m);
	if (fclose(f) != 0 || !text) {
		free(text);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	*out = text;
	return 0;
}
