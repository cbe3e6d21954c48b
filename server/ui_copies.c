/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_copies.c - the 3-2-1-1-0 section of the status page (ui_copies.h).
 * Per repository: the verdict, each rule with its reason and fix, and
 * every copy the proof records name (media, site, label, when it was last
 * copied, whether that run verified, whether it holds the newest
 * snapshot), with the vault itself as the first.  Rows carry data-*
 * attributes for tests and scrapers.  All text from the records is
 * escaped: a label is whatever a reader credential wrote.
 */
#include "ui_copies.h"

#include <stdbool.h>
#include <string.h>

#include "ui_html.h"

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void attr(FILE *f, const char *name, const char *value)
{
	fprintf(f, " %s=\"", name);
	ui_html_text(f, value);
	fputc('"', f);
}

/* A time or "never", as a cell. */
static void time_cell(FILE *f, const json_t *o, const char *key)
{
	fputs("<td class=\"nowrap\">", f);
	ui_html_text(f, json_is_string(json_object_get(o, key)) ? jstr(o, key) : "never");
	fputs("</td>", f);
}

static void rules_table(FILE *f, const json_t *copies)
{
	const json_t *rule;
	size_t i;

	fputs("<table class=\"rules\">\n<tr><th>Rule</th><th>Holds</th><th>Why</th><th>Fix</th>"
	      "</tr>\n",
	      f);
	json_array_foreach(json_object_get(copies, "rules"), i, rule)
	{
		bool ok = json_is_true(json_object_get(rule, "ok"));

		fputs("<tr", f);
		attr(f, "data-rule", jstr(rule, "key"));
		fprintf(f, " data-ok=\"%d\"><td>", ok);
		ui_html_text(f, jstr(rule, "rule"));
		fprintf(f, "</td><td class=\"%s\">%s</td><td>", ok ? "ok" : "bad",
			ok ? "yes" : "NO");
		ui_html_text(f, jstr(rule, "reason"));
		fputs("</td><td class=\"mono\">", f);
		ui_html_text(f, jstr(rule, "fix"));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void stores_table(FILE *f, const json_t *copies)
{
	const json_t *s;
	size_t i;

	fputs("<table class=\"stores\">\n<tr><th>Copy</th><th>Where</th><th>Media</th>"
	      "<th>Site</th><th>Last copy</th><th>Result</th><th>Last verified sync</th>"
	      "<th>Holds the newest snapshot</th></tr>\n",
	      f);
	json_array_foreach(json_object_get(copies, "stores"), i, s)
	{
		bool vault = json_is_true(json_object_get(s, "vault"));
		bool current = json_is_true(json_object_get(s, "holds_newest"));
		const char *result = vault ? "" : jstr(s, "last_copy_result");

		fputs("<tr", f);
		attr(f, "data-copy", vault ? "" : jstr(s, "label"));
		attr(f, "data-media", jstr(s, "media"));
		attr(f, "data-site", jstr(s, "site"));
		if (!vault)
			attr(f, "data-result", result);
		fprintf(f, " data-current=\"%d\"><td>", current);
		ui_html_text(f, vault ? "this vault" : jstr(s, "label"));
		fputs("</td><td class=\"mono\">", f);
		ui_html_text(f, vault ? "(the repository itself)" : jstr(s, "target"));
		fputs("</td><td>", f);
		ui_html_text(f, jstr(s, "media"));
		fputs("</td><td>", f);
		ui_html_text(f, jstr(s, "site"));
		fputs("</td>", f);
		if (vault) {
			fputs("<td class=\"muted\">-</td><td class=\"muted\">-</td>", f);
		} else {
			time_cell(f, s, "last_copy");
			fprintf(f, "<td class=\"%s\">",
				strcmp(result, "passed") == 0 ? "ok" : "bad");
			ui_html_text(f, result);
			if (json_integer_value(json_object_get(s, "problems")) > 0)
				fprintf(f, " (%" JSON_INTEGER_FORMAT " problems)",
					json_integer_value(json_object_get(s, "problems")));
			fputs("</td>", f);
		}
		time_cell(f, s, "last_sync");
		fprintf(f, "<td class=\"%s\">%s</td></tr>\n", current ? "ok" : "warn",
			current ? "yes" : "no");
	}
	fputs("</table>\n", f);
}

/* Checks of every blob (kura check --read-data) and drills, as rule 0 reads them. */
static void proofs_line(FILE *f, const json_t *copies)
{
	const json_t *check = json_object_get(copies, "check");
	const json_t *drill = json_object_get(copies, "drill");

	fputs("<p class=\"proofs\">Last <code>check --read-data</code>: ", f);
	if (json_is_object(check)) {
		fprintf(f, "<span data-check=\"%s\">", jstr(check, "result"));
		ui_html_text(f, jstr(check, "result"));
		fputs("</span> at ", f);
		ui_html_text(f, jstr(check, "time"));
	} else {
		fputs("<span data-check=\"none\" class=\"warn\">never</span>", f);
	}
	fputs(". Last drill: ", f);
	if (json_is_object(drill)) {
		fprintf(f, "<span data-drill=\"%s\">", jstr(drill, "result"));
		ui_html_text(f, jstr(drill, "result"));
		fputs("</span> at ", f);
		ui_html_text(f, jstr(drill, "time"));
	} else {
		fputs("<span data-drill=\"none\" class=\"warn\">never</span>", f);
	}
	fputs(".</p>\n", f);
}

void ui_copies_section(FILE *f, const json_t *status)
{
	const json_t *repos = json_object_get(status, "repositories"), *r;
	size_t i;

	fputs("<section id=\"copies\">\n<h2>Copies: 3-2-1-1-0</h2>\n<p class=\"muted\">3 copies "
	      "holding the newest snapshot, on 2 kinds of media, 1 off-site, 1 offline or "
	      "immutable, 0 errors proven by a drill and a read of every blob. From the proof "
	      "records <code>kura copy</code> and <code>kura check --read-data</code> store in "
	      "the repository: they are plaintext, so the vault reads them without a key. Their "
	      "times are the recording client's clock; the copies themselves are not looked at "
	      "from here.</p>\n",
	      f);
	json_array_foreach(repos, i, r)
	{
		const json_t *copies = json_object_get(r, "copies");
		const char *verdict = jstr(copies, "verdict");

		fputs("<div class=\"repo321\"", f);
		attr(f, "data-repo", jstr(r, "name"));
		if (!json_is_object(copies) || !*verdict) {
			fputs(" data-verdict=\"unknown\">\n<h3>", f);
			ui_html_text(f, jstr(r, "name"));
			fputs("</h3>\n<p class=\"warn\">not known: ", f);
			ui_html_text(f,
				     json_is_object(copies) ? jstr(copies, "error") : "no report");
			fputs("</p>\n</div>\n", f);
			continue;
		}
		attr(f, "data-verdict", verdict);
		fprintf(f, " data-copies=\"%zu\">\n<h3>",
			json_array_size(json_object_get(copies, "stores")));
		ui_html_text(f, jstr(r, "name"));
		fprintf(f, ": <span class=\"%s\">%s</span></h3>\n",
			strcmp(verdict, "holds") == 0 ? "ok" : "bad",
			strcmp(verdict, "holds") == 0 ? "3-2-1-1-0 holds"
						      : "3-2-1-1-0 does not hold");
		rules_table(f, copies);
		stores_table(f, copies);
		proofs_line(f, copies);
		if (json_integer_value(json_object_get(copies, "damaged_records")) > 0)
			fprintf(f,
				"<p class=\"bad\">%" JSON_INTEGER_FORMAT
				" drill or proof record(s) do not parse.</p>\n",
				json_integer_value(json_object_get(copies, "damaged_records")));
		fputs("</div>\n", f);
	}
	fputs("</section>\n", f);
}
