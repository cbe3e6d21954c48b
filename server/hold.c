/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hold.c - the detection hold (hold.h): which snapshots an open alert
 * keeps.  It only ever adds reasons to keep; it never lets anything go
 * that retention keeps, so an error here keeps everything.
 */
#include "hold.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "common/error.h"
#include "snaptimes.h"
#include "vault_state.h"

#define NS 1000000000LL

typedef struct {
	char name[KURA_ID_HEX];
	char client[VAULT_NAME_MAX + 1];
	size_t line;
} source;

static int cmp_source(const void *a, const void *b)
{
	return strcmp(((const source *)a)->name, ((const source *)b)->name);
}

/* By name, then by line: the first line naming a snapshot sorts first. */
static int cmp_source_line(const void *a, const void *b)
{
	const source *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->line < y->line ? -1 : x->line > y->line;
}

typedef struct {
	source *v;
	size_t n, cap;
} sources;

static int add_source(const snaptimes_line *l, unsigned long long lineno, void *ctx)
{
	sources *s = ctx;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		source *grown = realloc(s->v, cap * sizeof(*s->v));

		if (!grown)
			return kura_error_set(KURA_ENOMEM, "out of memory");
		s->v = grown;
		s->cap = cap;
	}
	memcpy(s->v[s->n].name, l->name, KURA_ID_HEX);
	memcpy(s->v[s->n].client, l->client, sizeof(l->client));
	s->v[s->n].line = s->n;
	s->n++;
	return 0;
}

/* The first line naming each snapshot in DIR/meta/REPO/snapshot-times: its client. */
static int load_sources(const char *dir, const char *repo, source **out, size_t *out_n)
{
	sources s = {NULL, 0, 0};
	size_t i, j;
	int err;

	*out = NULL;
	*out_n = 0;
	if ((err = snaptimes_each(dir, repo, add_source, &s, NULL)) < 0) {
		free(s.v);
		return err;
	}
	/* Sorted by name; of the lines naming one snapshot, the first is kept. */
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), cmp_source_line);
	for (i = 0, j = 0; i < s.n; i++)
		if (j == 0 || strcmp(s.v[j - 1].name, s.v[i].name) != 0)
			s.v[j++] = s.v[i];
	*out = s.v;
	*out_n = j;
	return 0;
}

/*
 * qsort has no context argument; hold_mark is called under no lock of its
 * own, so the context is per thread.
 */
static _Thread_local const vault_snapshot_time *sort_times;
static _Thread_local const char **sort_clients;

/* By source, then newest first (of one time, the name that sorts first). */
static int cmp_by_source(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_clients[x], sort_clients[y]);

	if (c)
		return c;
	if (sort_times[x].received_ns != sort_times[y].received_ns)
		return sort_times[x].received_ns > sort_times[y].received_ns ? -1 : 1;
	return strcmp(sort_times[x].name, sort_times[y].name);
}

int hold_mark(const char *dir, const char *repo, const vault_policy *p,
	      const vault_snapshot_time *times, size_t nt, unsigned *reasons,
	      unsigned long *out_alert)
{
	source *src = NULL, key;
	const char **client_of = NULL;
	size_t nsrc = 0, i, j, *order = NULL;
	int64_t since, from;
	unsigned long alert;
	int err;

	if (out_alert)
		*out_alert = 0;
	if (!alerts_open_since(dir, repo, &since, &alert))
		return 0;
	if (out_alert)
		*out_alert = alert;
	from = since - p->min_age_s * NS;
	if ((err = load_sources(dir, repo, &src, &nsrc)) < 0 ||
	    (nt && (!(client_of = calloc(nt, sizeof(*client_of))) ||
		    !(order = calloc(nt, sizeof(*order)))))) {
		/* Cannot tell sources apart: hold all of it. */
		for (i = 0; i < nt; i++)
			reasons[i] |= HOLD_KEEP_SINCE;
		free(client_of);
		free(src);
		return err < 0 ? err : kura_error_set(KURA_ENOMEM, "out of memory");
	}
	for (i = 0; i < nt; i++) {
		source *hit;

		snprintf(key.name, sizeof(key.name), "%s", times[i].name);
		hit = nsrc ? bsearch(&key, src, nsrc, sizeof(*src), cmp_source) : NULL;
		client_of[i] = hit ? hit->client : "";
		if (since == 0 || times[i].received_ns >= from)
			reasons[i] |= HOLD_KEEP_SINCE;
	}
	/* The newest of each source before the alert: sorted by source, newest first. */
	for (i = 0; i < nt; i++)
		order[i] = i;
	sort_times = times;
	sort_clients = client_of;
	qsort(order, nt, sizeof(*order), cmp_by_source);
	for (i = 0; i < nt; i = j) {
		bool marked = false;

		for (j = i; j < nt && strcmp(client_of[order[j]], client_of[order[i]]) == 0; j++)
			if (!marked && times[order[j]].received_ns < since) {
				reasons[order[j]] |= HOLD_KEEP_LAST;
				marked = true;
			}
	}
	free(order);
	free(client_of);
	free(src);
	return 0;
}

void hold_explain(unsigned reasons, char *out, size_t len)
{
	snprintf(
	    out, len, "held while an alert on this repository is open (kurad alert list): %s%s%s",
	    reasons & HOLD_KEEP_LAST ? "the newest snapshot of its client before the alert" : "",
	    (reasons & HOLD_KEEP_MASK) == HOLD_KEEP_MASK ? "; " : "",
	    reasons & HOLD_KEEP_SINCE ? "received within the minimum age before the alert, or "
					"after it"
				      : "");
}
