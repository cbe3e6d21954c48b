/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_page.c - the status page's HTML (ui_page.h).  One section per
 * question an operator asks in the morning: are the backups coming in
 * (clients, the plot), is anything wrong (alerts), can we restore
 * (drills), is anything about to be deleted (deletions), can the log be
 * trusted (audit), and are there enough copies (3-2-1-1-0).  Each section
 * has an id and its rows data-* attributes, so tests and scrapers read the
 * figures without parsing prose.
 */
#include "ui_page.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "ui_copies.h"
#include "ui_html.h"
#include "ui_plot.h"

#define NS ((int64_t)1000000000)

const char ui_page_css[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff}\n"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}\n"
    "table{border-collapse:collapse;margin:.4em 0}\n"
    "th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\n"
    "th{background:#f0f0f0}td.num{text-align:right}\n"
    ".late,.bad{color:#fff;background:#c01c28;font-weight:bold}\n"
    ".ok{color:#26a269}.warn{color:#9c6b00;font-weight:bold}\n"
    ".muted{color:#666}.mono{font-family:monospace;word-break:break-all}.nowrap{white-space:nowrap}"
    "\n"
    "form{margin:2em 0}input{font-size:1em;padding:.3em}\n"
    ".bar{fill:#7aa6d6}.line{stroke:#1a5fb4}\n";

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static json_int_t jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void ns_text(char out[40], int64_t ns)
{
	time_t t = (time_t)(ns / NS);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 40, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static void begin_page(FILE *f, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width\">\n"
	      "<link rel=\"stylesheet\" href=\"/ui/style.css\">\n<title>",
	      f);
	ui_html_text(f, title);
	fputs("</title>\n</head>\n<body>\n", f);
}

/* open_memstream sets *text only at fclose: it is read after that. */
static int end_page(FILE *f, char **text, char **out)
{
	fputs("</body>\n</html>\n", f);
	if (fclose(f) != 0 || !*text) {
		free(*text);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	*out = *text;
	return 0;
}

/* ---------------------------------------------------------------- */

static const ui_repo_facts *facts_of(const ui_page_input *in, const char *repo)
{
	const json_t *repos = json_object_get(in->status, "repositories");
	size_t i;

	for (i = 0; i < in->nfacts && i < json_array_size(repos); i++)
		if (strcmp(jstr(json_array_get(repos, i), "name"), repo) == 0)
			return &in->facts[i];
	return NULL;
}

static void section_repos(FILE *f, const ui_page_input *in)
{
	const json_t *repos = json_object_get(in->status, "repositories"), *r;
	char size[32], age[32];
	size_t i;

	fputs("<section id=\"repositories\">\n<h2>Repositories</h2>\n", f);
	if (json_array_size(repos) == 0) {
		fputs("<p>No repositories yet.</p>\n</section>\n", f);
		return;
	}
	fputs("<table>\n<tr><th>Repository</th><th>Snapshots</th><th>Files</th><th>Stored</th>"
	      "<th>Last snapshot received</th></tr>\n",
	      f);
	json_array_foreach(repos, i, r)
	{
		const ui_repo_facts *fa = facts_of(in, jstr(r, "name"));
		int64_t last = 0;
		size_t w;

		for (w = 0; fa && w < fa->nwriters; w++)
			if (fa->writers[w].last_ns > last)
				last = fa->writers[w].last_ns;
		ui_html_bytes(size, (uint64_t)jint(r, "bytes"));
		fputs("<tr data-repo=\"", f);
		ui_html_text(f, jstr(r, "name"));
		fprintf(f,
			"\" data-snapshots=\"%" JSON_INTEGER_FORMAT
			"\" data-bytes=\"%" JSON_INTEGER_FORMAT "\"><td>",
			jint(r, "snapshots"), jint(r, "bytes"));
		ui_html_text(f, jstr(r, "name"));
		fprintf(f,
			"</td><td class=\"num\">%" JSON_INTEGER_FORMAT
			"</td><td class=\"num\">%" JSON_INTEGER_FORMAT
			"</td><td class=\"num\">%s</td><td>",
			jint(r, "snapshots"), jint(r, "files"), size);
		if (json_is_string(json_object_get(r, "last_snapshot_received"))) {
			ui_html_text(f, jstr(r, "last_snapshot_received"));
			if (last) {
				ui_html_age(age, (in->now_ns - last) / NS);
				fprintf(f, " <span class=\"muted\">(%s ago)</span>", age);
			}
		} else {
			fputs("<span class=\"muted\">never</span>", f);
		}
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n</section>\n", f);
}

static void section_clients(FILE *f, const ui_page_input *in)
{
	const json_t *clients = json_object_get(in->status, "clients"), *c;
	char age[32], usual[32], limit[32];
	size_t i;

	fputs("<section id=\"clients\">\n<h2>Clients</h2>\n", f);
	if (json_array_size(clients) == 0) {
		fputs("<p>No clients yet.</p>\n</section>\n", f);
		return;
	}
	fputs("<p class=\"muted\">A writer is late (red) when its last backup is older than it "
	      "should be: twice its usual interval (the median of its last 20), or with fewer than "
	      "four backups, a day; the silence alert uses the same rule.</p>\n"
	      "<table>\n<tr><th>Client</th><th>Role</th><th>Repository</th><th>Last backup</th>"
	      "<th>Age</th><th>Usual interval</th><th>Late after</th><th>State</th></tr>\n",
	      f);
	json_array_foreach(clients, i, c)
	{
		const char *role = jstr(c, "role"), *repo = jstr(c, "repo");
		const ui_repo_facts *fa = repo[0] ? facts_of(in, repo) : NULL;
		const ui_writer *w = fa ? ui_facts_writer(fa, jstr(c, "name")) : NULL;
		bool writer = strcmp(role, "writer") == 0,
		     revoked = json_is_true(json_object_get(c, "revoked"));
		const char *state = revoked		? "revoked"
				    : !writer		? "-"
				    : !w || !w->last_ns ? "no backup yet"
				    : w->late		? "LATE"
							: "ok";

		fputs("<tr data-client=\"", f);
		ui_html_text(f, jstr(c, "name"));
		fprintf(f, "\" data-state=\"%s\"", state);
		if (w && w->last_ns)
			fprintf(f, " data-age-seconds=\"%" PRId64 "\"",
				(in->now_ns - w->last_ns) / NS);
		fputs("><td>", f);
		ui_html_text(f, jstr(c, "name"));
		fputs("</td><td>", f);
		ui_html_text(f, role);
		fputs("</td><td>", f);
		ui_html_text(f, repo[0] ? repo : "-");
		fputs("</td><td>", f);
		if (json_is_string(json_object_get(c, "last_backup")))
			ui_html_text(f, jstr(c, "last_backup"));
		else
			fputs("<span class=\"muted\">never</span>", f);
		fputs("</td>", f);
		if (writer && w && w->last_ns) {
			ui_html_age(age, (in->now_ns - w->last_ns) / NS);
			if (w->usual_s)
				ui_html_age(usual, w->usual_s);
			else
				snprintf(usual, sizeof(usual), "not known yet");
			ui_html_age(limit, w->limit_s);
			fprintf(f, "<td class=\"num%s\">%s</td><td>%s</td><td>%s</td>",
				w->late ? " late" : "", age, usual, limit);
		} else {
			fputs("<td>-</td><td>-</td><td>-</td>", f);
		}
		fprintf(f, "<td class=\"%s\">%s</td></tr>\n",
			strcmp(state, "LATE") == 0 || revoked ? "late"
			: strcmp(state, "ok") == 0	      ? "ok"
							      : "muted",
			state);
	}
	fputs("</table>\n</section>\n", f);
}

static void section_plots(FILE *f, const ui_page_input *in)
{
	const json_t *repos = json_object_get(in->status, "repositories"), *r;
	size_t i;

	fputs(
	    "<section id=\"snapshots\">\n<h2>Snapshots over time</h2>\n"
	    "<p class=\"muted\">Per UTC day of the last 30: bytes the repository stored (bars) and "
	    "snapshots received so far (line).</p>\n",
	    f);
	json_array_foreach(repos, i, r)
	{
		const ui_repo_facts *fa = facts_of(in, jstr(r, "name"));
		uint64_t bytes = 0, snaps = 0;
		char label[160], size[32];
		size_t d;

		if (!fa)
			continue;
		for (d = 0; d < UI_FACTS_DAYS; d++) {
			bytes += fa->days[d].bytes;
			snaps += fa->days[d].snapshots;
		}
		ui_html_bytes(size, bytes);
		fputs("<figure data-repo=\"", f);
		ui_html_text(f, jstr(r, "name"));
		fprintf(f,
			"\" data-bytes-30d=\"%" PRIu64 "\" data-snapshots-30d=\"%" PRIu64 "\">\n",
			bytes, snaps);
		snprintf(label, sizeof(label), "Repository %s: bytes stored per day and snapshots",
			 jstr(r, "name"));
		ui_plot_svg(f, label, fa->days, UI_FACTS_DAYS, fa->last_day, fa->before);
		fputs("<figcaption>", f);
		ui_html_text(f, jstr(r, "name"));
		fprintf(f,
			": %s stored and %" PRIu64
			" snapshot%s received in the last 30 days</figcaption>\n"
			"</figure>\n",
			size, snaps, snaps == 1 ? "" : "s");
	}
	fputs("</section>\n", f);
}

static void section_alerts(FILE *f, const ui_page_input *in)
{
	const json_t *alerts = json_object_get(in->status, "alerts"), *a;
	char when[40];
	size_t i, open = 0;

	fputs("<section id=\"alerts\">\n<h2>Open alerts</h2>\n", f);
	json_array_foreach(alerts, i, a)
	{
		if (strcmp(jstr(a, "state"), "resolved") == 0)
			continue;
		if (open++ == 0)
			fputs(
			    "<table>\n<tr><th>Id</th><th>Repository</th><th>Kind</th><th>State</th>"
			    "<th>Raised</th><th>Last "
			    "seen</th><th>Count</th><th>Summary</th></tr>\n",
			    f);
		fprintf(f, "<tr class=\"bad\" data-alert=\"%" JSON_INTEGER_FORMAT "\" data-kind=\"",
			jint(a, "id"));
		ui_html_text(f, jstr(a, "kind"));
		fprintf(f, "\"><td>%" JSON_INTEGER_FORMAT "</td><td>", jint(a, "id"));
		ui_html_text(f, jstr(a, "repo")[0] ? jstr(a, "repo") : "(vault)");
		fputs("</td><td>", f);
		ui_html_text(f, jstr(a, "kind"));
		fputs("</td><td>", f);
		ui_html_text(f, jstr(a, "state"));
		fputs("</td><td>", f);
		if (json_is_integer(json_object_get(a, "raised_ns"))) {
			ns_text(when, jint(a, "raised_ns"));
			fputs(when, f);
		}
		fputs("</td><td>", f);
		if (json_is_integer(json_object_get(a, "last_seen_ns"))) {
			ns_text(when, jint(a, "last_seen_ns"));
			fputs(when, f);
		}
		fprintf(f, "</td><td class=\"num\">%" JSON_INTEGER_FORMAT "</td><td>",
			jint(a, "count"));
		ui_html_text_cut(f,
				 json_is_string(json_object_get(a, "summary")) ? jstr(a, "summary")
									       : jstr(a, "error"),
				 400);
		fputs("</td></tr>\n", f);
	}
	if (open)
		fputs("</table>\n", f);
	else
		fputs("<p class=\"ok\">No open alerts.</p>\n", f);
	fputs("</section>\n", f);
}

static void section_drills(FILE *f, const ui_page_input *in)
{
	const json_t *repos = json_object_get(in->status, "repositories"), *r;
	char age[32], size[32];
	size_t i;

	fputs("<section id=\"drills\">\n<h2>Restore drills and RTO</h2>\n<table>\n"
	      "<tr><th>Repository</th><th>Drills</th><th>Last drill</th><th>Age</th><th>Result</th>"
	      "<th>Mode</th><th>Files verified</th><th>Bytes verified</th><th>RTO</th>"
	      "<th>Required every</th></tr>\n",
	      f);
	json_array_foreach(repos, i, r)
	{
		const json_t *d = json_object_get(r, "last_drill");
		bool overdue = json_is_true(json_object_get(r, "drill_overdue"));

		fputs("<tr data-repo=\"", f);
		ui_html_text(f, jstr(r, "name"));
		fprintf(f, "\" data-result=\"%s\"", json_is_object(d) ? jstr(d, "result") : "none");
		if (json_is_object(d) && json_is_number(json_object_get(d, "rto_seconds")))
			fprintf(f, " data-rto-seconds=\"%.3f\"",
				json_number_value(json_object_get(d, "rto_seconds")));
		fputs("><td>", f);
		ui_html_text(f, jstr(r, "name"));
		fprintf(f, "</td><td class=\"num\">%" JSON_INTEGER_FORMAT "</td>",
			jint(r, "drills"));
		if (!json_is_object(d)) {
			fprintf(f, "<td colspan=\"7\" class=\"%s\">never drilled</td>",
				overdue ? "late" : "warn");
		} else {
			bool passed = strcmp(jstr(d, "result"), "passed") == 0;

			fputs("<td>", f);
			ui_html_text(f, jstr(d, "received"));
			ui_html_age(age, jint(d, "age_seconds"));
			ui_html_bytes(size, (uint64_t)jint(d, "bytes_verified"));
			fprintf(f, "</td><td class=\"num%s\">%s</td><td class=\"%s\">",
				overdue ? " late" : "", age, passed ? "ok" : "bad");
			ui_html_text(f, jstr(d, "result"));
			fputs("</td><td>", f);
			ui_html_text(f, jstr(d, "mode"));
			fprintf(
			    f,
			    "</td><td class=\"num\">%" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT
			    " failed)</td><td class=\"num\">%s</td><td class=\"num\">%.2f s</td>",
			    jint(d, "files_verified"), jint(d, "files_failed"), size,
			    json_number_value(json_object_get(d, "rto_seconds")));
		}
		fputs("<td>", f);
		ui_html_text(f, json_is_string(json_object_get(r, "drill_every"))
				    ? jstr(r, "drill_every")
				    : "not required");
		if (overdue)
			fputs(" <span class=\"late\">OVERDUE</span>", f);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n</section>\n", f);
}

static void section_deletions(FILE *f, const ui_page_input *in)
{
	const json_t *dels = json_object_get(in->status, "deletions"), *d, *ap;
	char when[40];
	size_t i, j, shown = 0;

	fputs("<section id=\"deletions\">\n<h2>Pending deletion requests</h2>\n", f);
	json_array_foreach(dels, i, d)
	{
		const char *state = jstr(d, "state");

		if (strcmp(state, "pending") != 0 && strcmp(state, "corrupt") != 0)
			continue;
		if (shown++ == 0)
			fputs("<table>\n<tr><th>Id</th><th>Repository</th><th>Requested by</th>"
			      "<th>Requested</th><th>Snapshots</th><th>Prune</th><th>Approvals</th>"
			      "<th>Takes effect</th></tr>\n",
			      f);
		fprintf(
		    f,
		    "<tr data-deletion=\"%" JSON_INTEGER_FORMAT
		    "\" data-approvals=\"%" JSON_INTEGER_FORMAT
		    "\" data-quorum=\"%" JSON_INTEGER_FORMAT "\"><td>%" JSON_INTEGER_FORMAT "</td>",
		    jint(d, "id"), jint(d, "approvals_valid"), jint(d, "quorum"), jint(d, "id"));
		if (strcmp(state, "corrupt") == 0) {
			fputs("<td colspan=\"7\" class=\"bad\">cannot be read: ", f);
			ui_html_text_cut(f, jstr(d, "error"), 300);
			fputs("</td></tr>\n", f);
			continue;
		}
		fputs("<td>", f);
		ui_html_text(f, jstr(d, "repo"));
		fputs("</td><td>", f);
		ui_html_text(f, jstr(d, "requested_by"));
		fputs("</td><td>", f);
		if (json_is_integer(json_object_get(d, "requested_ns"))) {
			ns_text(when, jint(d, "requested_ns"));
			fputs(when, f);
		}
		fprintf(f,
			"</td><td class=\"num\">%zu</td><td>%s</td><td>%" JSON_INTEGER_FORMAT
			" of %" JSON_INTEGER_FORMAT,
			json_array_size(json_object_get(d, "snapshots")),
			json_is_true(json_object_get(d, "prune")) ? "yes" : "no",
			jint(d, "approvals_valid"), jint(d, "quorum"));
		json_array_foreach(json_object_get(d, "approvals"), j, ap)
		{
			fputs(j ? ", " : ": ", f);
			ui_html_text(f, jstr(ap, "approver"));
			if (!json_is_true(json_object_get(ap, "valid")))
				fputs(" <span class=\"bad\">(invalid signature)</span>", f);
		}
		fputs("</td><td>", f);
		if (json_is_integer(json_object_get(d, "effective_ns"))) {
			ns_text(when, jint(d, "effective_ns"));
			fputs("<span class=\"warn\">", f);
			fputs(when, f);
			fputs("</span>", f);
		} else {
			fputs("waiting for approvals", f);
		}
		fputs("</td></tr>\n", f);
	}
	if (shown)
		fputs("</table>\n", f);
	else
		fputs("<p class=\"ok\">No pending deletion requests.</p>\n", f);
	fputs("</section>\n", f);
}

static void section_audit(FILE *f, const ui_page_input *in)
{
	const json_t *e;
	char when[40];
	size_t i;

	fputs("<section id=\"audit\">\n<h2>Audit log</h2>\n", f);
	fprintf(f, "<p data-entries=\"%" PRIu64 "\" data-verified=\"%s\">%" PRIu64 " entries. ",
		in->audit_entries,
		!in->audit || !in->audit->known ? "unknown"
		: in->audit->intact		? "intact"
						: "broken",
		in->audit_entries);
	if (!in->audit || !in->audit->known) {
		fputs("Not verified yet.", f);
	} else {
		ns_text(when, in->audit->checked_ns);
		fprintf(f,
			"Verified at %s: <span class=\"%s\">%s</span> <span class=\"muted mono\">",
			when, in->audit->intact ? "ok" : "bad",
			in->audit->intact ? "chain and signatures intact" : "PROBLEMS FOUND");
		ui_html_text_cut(f, in->audit->summary, 400);
		fputs("</span>", f);
	}
	fputs(
	    "</p>\n<table>\n<tr><th>Seq</th><th>Time</th><th>Peer</th><th>Client</th><th>Role</th>"
	    "<th>Method</th><th>Path</th><th>Status</th><th>Bytes</th></tr>\n",
	    f);
	/* Newest first. */
	for (i = json_array_size(in->audit_tail); i-- > 0;) {
		e = json_array_get(in->audit_tail, i);
		fprintf(f,
			"<tr data-seq=\"%" JSON_INTEGER_FORMAT
			"\"><td class=\"num\">%" JSON_INTEGER_FORMAT "</td>",
			jint(e, "seq"), jint(e, "seq"));
		if (json_is_string(json_object_get(e, "checkpoint"))) {
			fputs("<td colspan=\"8\" class=\"muted\">signed checkpoint of the entries "
			      "before</td></tr>\n",
			      f);
			continue;
		}
		fputs("<td class=\"nowrap\">", f);
		ui_html_text_cut(f, jstr(e, "time"), 40);
		fputs("</td><td>", f);
		ui_html_text_cut(f, jstr(e, "peer"), 64);
		fputs("</td><td>", f);
		ui_html_text_cut(f, jstr(e, "client"), 64);
		fputs("</td><td>", f);
		ui_html_text_cut(f, jstr(e, "role"), 16);
		fputs("</td><td>", f);
		ui_html_text_cut(f, jstr(e, "method"), 32);
		fputs("</td><td class=\"mono\">", f);
		ui_html_text_cut(f, jstr(e, "path"), 160);
		fprintf(f,
			"</td><td class=\"num\">%" JSON_INTEGER_FORMAT
			"</td><td class=\"num\">%" JSON_INTEGER_FORMAT "</td></tr>\n",
			jint(e, "status"), jint(e, "bytes"));
	}
	fputs("</table>\n</section>\n", f);
}

int ui_page_render(const ui_page_input *in, char **out)
{
	char *text = NULL, when[40];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	*out = NULL;
	if (!f)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	begin_page(f, "kura vault status");
	ns_text(when, in->now_ns);
	fputs("<header>\n<h1>kura vault ", f);
	ui_html_text(f, in->vault);
	fprintf(f,
		"</h1>\n<p class=\"muted\">Status as of <time id=\"now\">%s</time>; signed in as ",
		when);
	ui_html_text(f, in->viewer);
	fputs(" (auditor, read-only). This page changes nothing: approvals are signatures "
	      "made with approver keys.</p>\n<form method=\"post\" action=\"/ui/logout\">"
	      "<input type=\"submit\" value=\"Sign out\"></form>\n</header>\n<main>\n",
	      f);
	section_repos(f, in);
	section_clients(f, in);
	section_plots(f, in);
	section_alerts(f, in);
	section_drills(f, in);
	section_deletions(f, in);
	section_audit(f, in);
	ui_copies_section(f, in->status);
	fputs("</main>\n", f);
	return end_page(f, &text, out);
}

int ui_page_login(const char *message, char **out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	*out = NULL;
	if (!f)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	begin_page(f, "kura vault: sign in");
	fputs("<h1>kura vault status</h1>\n", f);
	if (message) {
		fputs("<p class=\"bad\" id=\"message\">", f);
		ui_html_text(f, message);
		fputs("</p>\n", f);
	}
	fputs(
	    "<form method=\"post\" action=\"/ui/login\">\n"
	    "<label for=\"token\">Auditor token</label>\n"
	    "<input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\" required>\n"
	    "<input type=\"submit\" value=\"Sign in\">\n</form>\n"
	    "<p class=\"muted\">The token of an auditor credential (<span class=\"mono\">kurad "
	    "client "
	    "add DIR NAME --role auditor</span>). It is sent once; the session lasts 15 "
	    "minutes.</p>\n",
	    f);
	return end_page(f, &text, out);
}

int ui_page_notice(const char *title, const char *line, char **out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	*out = NULL;
	if (!f)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	begin_page(f, title);
	fputs("<h1>", f);
	ui_html_text(f, title);
	fputs("</h1>\n<p>", f);
	ui_html_text(f, line);
	fputs("</p>\n<p><a href=\"/ui/login\">Sign in</a></p>\n", f);
	return end_page(f, &text, out);
}
