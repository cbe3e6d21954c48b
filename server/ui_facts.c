/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_facts.c - the figures of the status page and /metrics that the
 * status document does not hold (ui_facts.h).
 */
#include "ui_facts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "common/error.h"
#include "quota_ledger.h"
#include "snaptimes.h"
#include "watch.h"

#define NS ((int64_t)1000000000)
#define TAIL_READ (256 * 1024) /* bytes read from the end of the log for its tail */

static ui_writer *writer_get(ui_repo_facts *f, const char *name)
{
	size_t i, n;

	for (i = 0; i < f->nwriters; i++)
		if (strcmp(f->writers[i].name, name) == 0)
			return &f->writers[i];
	if (f->nwriters == UI_FACTS_CLIENTS)
		return NULL;
	if ((n = strlen(name)) > VAULT_NAME_MAX)
		return NULL;
	memcpy(f->writers[f->nwriters].name, name, n + 1);
	return &f->writers[f->nwriters++];
}

const ui_writer *ui_facts_writer(const ui_repo_facts *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nwriters; i++)
		if (strcmp(f->writers[i].name, name) == 0)
			return &f->writers[i];
	return NULL;
}

/* Keep the newest UI_FACTS_HISTORY times, ascending (the file is in receive order). */
static void writer_add(ui_writer *w, int64_t ns)
{
	size_t i = w->n;

	if (w->n == UI_FACTS_HISTORY) {
		if (ns <= w->times[0])
			return;
		memmove(w->times, w->times + 1, (UI_FACTS_HISTORY - 1) * sizeof(w->times[0]));
		i = --w->n;
	}
	/* Insertion keeps order even if the file's lines are not (a torn, rewritten file). */
	while (i > 0 && w->times[i - 1] > ns) {
		w->times[i] = w->times[i - 1];
		i--;
	}
	w->times[i] = ns;
	w->n++;
}

static int count_line(const snaptimes_line *l, unsigned long long lineno, void *ctx)
{
	ui_repo_facts *f = ctx;
	int64_t day = quota_day_of(l->received_ns);
	ui_writer *w;

	if (day > f->last_day)
		return 0; /* "from the future": the vault's clock went back */
	if (day <= f->last_day - UI_FACTS_DAYS)
		f->before++;
	else
		f->days[UI_FACTS_DAYS - 1 - (f->last_day - day)].snapshots++;
	if ((w = writer_get(f, l->client)) != NULL) {
		w->total++;
		if (l->received_ns > w->last_ns)
			w->last_ns = l->received_ns;
		writer_add(w, l->received_ns);
	}
	return 0;
}

/* A line that does not parse is skipped here; `kurad status` warns of it. */
static int read_times(vault *v, const char *repo, ui_repo_facts *f)
{
	return snaptimes_each(vault_dir(v), repo, count_line, f, NULL);
}

int ui_facts_repo(vault *v, const char *repo, int64_t now_ns, ui_repo_facts *out)
{
	watch_settings ws;
	quota_ledger *l = NULL;
	size_t i;
	int err;

	memset(out, 0, sizeof(*out));
	out->last_day = quota_day_of(now_ns);
	if ((err = watch_settings_load(vault_dir(v), &ws)) < 0)
		return err;
	if ((err = read_times(v, repo, out)) < 0)
		return err;
	if (!(l = malloc(sizeof(*l))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = quota_ledger_load(v, repo, now_ns, l)) < 0)
		goto done;
	for (i = 0; i < UI_FACTS_DAYS; i++)
		out->days[i].bytes =
		    quota_ledger_day(l, out->last_day - (int64_t)(UI_FACTS_DAYS - 1 - i));
	for (i = 0; i < out->nwriters; i++) {
		ui_writer *w = &out->writers[i];
		int64_t usual = 0, limit = 0;

		/* The silence alert's rule (watch.h), so the page and the alert agree. */
		w->late = watch_silent(w->times, w->n, now_ns, ws.silence_min_s, &usual, &limit);
		if (w->n >= WATCH_HISTORY_MIN + 1) {
			w->usual_s = usual / NS;
			w->limit_s = limit / NS;
		} else {
			w->usual_s = 0;
			w->limit_s = UI_DEFAULT_INTERVAL_S + ws.silence_min_s;
			w->late = w->last_ns && now_ns - w->last_ns > w->limit_s * NS;
		}
	}
done:
	free(l);
	return err;
}

int ui_audit_tail(const char *dir, size_t n, json_t **out)
{
	char *path = NULL, *buf = NULL, *p, *line;
	json_t *all = NULL;
	struct stat st;
	off_t from;
	ssize_t got;
	size_t have = 0;
	int fd = -1, err = 0;

	*out = NULL;
	if (asprintf(&path, "%s/audit/log.jsonl", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s", path);
		goto done;
	}
	from = st.st_size > TAIL_READ ? st.st_size - TAIL_READ : 0;
	if (!(buf = malloc(TAIL_READ + 1)) || !(all = json_array())) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	while (have < TAIL_READ &&
	       (got = pread(fd, buf + have, TAIL_READ - have, from + (off_t)have)) > 0)
		have += (size_t)got;
	buf[have] = '\0';
	p = buf;
	/* Reading from the middle: the first piece is a partial line. */
	if (from > 0 && (p = strchr(buf, '\n')) != NULL)
		p++;
	while (p && *p) {
		char *nl = strchr(p, '\n');
		json_t *e;

		if (!nl)
			break; /* an entry being written */
		*nl = '\0';
		line = p;
		p = nl + 1;
		if ((e = json_loads(line, JSON_REJECT_DUPLICATES, NULL)) == NULL)
			continue;
		if (!json_is_object(e) || json_array_append_new(all, e) < 0) {
			if (!json_is_object(e))
				json_decref(e);
			continue;
		}
		if (json_array_size(all) > n)
			json_array_remove(all, 0);
	}
	*out = all;
	all = NULL;
done:
	if (fd >= 0)
		close(fd);
	json_decref(all);
	free(buf);
	free(path);
	return err;
}

void ui_audit_check_init(ui_audit_check *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void ui_audit_check_fini(ui_audit_check *c)
{
	pthread_mutex_destroy(&c->lock);
}

/* One full check: its verdict and the report's last line (or first problem). */
static void check_once(const char *dir, ui_audit_verdict *v)
{
	char *text = NULL, *last, *nl;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int err;

	err = audit_verify(dir, f);
	if (f)
		fclose(f);
	v->known = true;
	v->intact = err == 0;
	v->summary[0] = '\0';
	if (err < 0 && err != KURA_ECORRUPT)
		snprintf(v->summary, sizeof(v->summary), "cannot check: %s", kura_error_message());
	else if (text && len > 0) {
		/* Intact: the summary is the last line.  Broken: the first problem. */
		if (text[len - 1] == '\n')
			text[len - 1] = '\0';
		last = err == 0 && (nl = strrchr(text, '\n')) != NULL ? nl + 1 : text;
		if (err != 0 && (nl = strchr(text, '\n')) != NULL)
			*nl = '\0';
		/* "DIR/audit/log.jsonl: ..." names a path of the vault host: left out. */
		if (strncmp(last, dir, strlen(dir)) == 0 &&
		    (nl = strstr(last, "log.jsonl")) != NULL)
			last = nl;
		snprintf(v->summary, sizeof(v->summary), "%s", last);
	}
	free(text);
}

void ui_audit_check_get(ui_audit_check *c, const char *dir, int64_t now_ns, ui_audit_verdict *out)
{
	pthread_mutex_lock(&c->lock);
	if (!c->last.known || now_ns - c->last.checked_ns >= (int64_t)UI_AUDIT_RECHECK_S * NS ||
	    now_ns < c->last.checked_ns) {
		check_once(dir, &c->last);
		if (!c->last.intact)
			check_once(dir, &c->last);
		c->last.checked_ns = now_ns;
	}
	*out = c->last;
	pthread_mutex_unlock(&c->lock);
}
