/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - GET /metrics (docs/PROTOCOL.md, "Metrics"): the vault's
 * figures in Prometheus' text exposition format (version 0.0.4) for an
 * auditor's bearer token, and the request counters and latency histogram
 * behind kura_http_requests_total and kura_http_request_duration_seconds.
 *
 * Route labels are a fixed set named by the route grammar (route.h), never
 * the raw path, so a client cannot grow the series without bound.  The
 * counters are lock-free (atomics); they live as long as `kurad serve`.
 */
#ifndef KURA_SERVER_METRICS_H
#define KURA_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

typedef struct metrics metrics;

typedef enum {
	METRICS_ROUTE_OTHER = 0, /* no route: unknown paths, refusals before routing */
	METRICS_ROUTE_STATUS,
	METRICS_ROUTE_LOG,
	METRICS_ROUTE_LIST,
	METRICS_ROUTE_FILE,
	METRICS_ROUTE_DELETIONS,
	METRICS_ROUTE_QUARANTINE,
	METRICS_ROUTE_UI,
	METRICS_ROUTE_METRICS,
	METRICS_ROUTES
} metrics_route;

int metrics_new(metrics **out);
void metrics_free(metrics *m); /* NULL is fine */

/* The route label of a request path (as decoded once: route.h). */
metrics_route metrics_route_of(const char *path);
const char *metrics_route_name(metrics_route r);

/* Count an answer: `status` (100..599; others count as 0) after elapsed_ns. */
void metrics_observe(metrics *m, metrics_route r, unsigned status, int64_t elapsed_ns);

/*
 * Write `s` as a label value's inside (between the quotes): backslash,
 * double quote and newline escaped as the exposition format requires.
 */
void metrics_label(FILE *f, const char *s);

/*
 * The exposition text: the vault's figures from the status document
 * `status` (status.h, with "audit_entries" and "audit_intact" added by
 * the caller) and the request counters; *out malloc'd.
 */
int metrics_render(metrics *m, const json_t *status, int64_t now_ns, char **out);

#endif
