/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ui_copies.c - a repository's copies on the status page
 * (server/ui_copies.c) and in /metrics (metrics.c): labels and targets a
 * reader wrote are escaped, the verdict and each copy carry their data-*
 * attributes, a repository without a report says "not known" with the
 * reason, and at most 16 copies per repository get series of their own.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "metrics.h"
#include "ui_copies.h"

#define NS 1000000000LL

/* A copies report as copies_view.c writes it, with n copies after the vault. */
static json_t *copies_doc(const char *label, size_t n, bool holds)
{
	json_t *stores = json_array(), *rules = json_array();
	static const char *const keys[] = {"copies", "media", "offsite", "offline", "errors"};

	json_array_append_new(stores, json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:b}", "label",
						"repository", "vault", 1, "media", "vault", "site",
						"onsite", "last_sync", "2026-12-02T10:00:00Z",
						"snapshot", "ab", "holds_newest", 1));
	for (size_t i = 0; i < n; i++) {
		char name[160];

		snprintf(name, sizeof(name), "%s%zu", label, i);
		json_array_append_new(
		    stores, json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:b}", "label",
				      i == 0 ? label : name, "vault", 0, "target", "/mnt/\"x\"<y>",
				      "media", "removable", "site", "offsite", "last_copy",
				      "2026-12-02T11:00:00Z", "last_copy_result",
				      i == 0 ? "passed" : "failed", "problems", (json_int_t)i,
				      "last_sync", "2026-12-02T11:00:00Z", "holds_newest", i == 0));
	}
	for (int i = 0; i < 5; i++)
		json_array_append_new(rules,
				      json_pack("{s:s, s:s, s:b, s:s, s:s}", "rule", keys[i], "key",
						keys[i], "ok", holds || i != 0, "reason", "<why>",
						"fix", holds ? "" : "kura copy --to '<x>'"));
	return json_pack("{s:o, s:o, s:o, s:n, s:s, s:i}", "stores", stores, "rules", rules,
			 "check", json_pack("{s:s, s:s}", "result", "passed", "time", "t"), "drill",
			 "verdict", holds ? "holds" : "fails", "damaged_records", 2);
}

static char *page(const json_t *status)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	ui_copies_section(f, status);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void test_section(void **state)
{
	json_t *status =
	    json_pack("{s:[{s:s, s:o}, {s:s, s:{s:s}}, {s:s}]}", "repositories", "name", "cl<i>nic",
		      "copies", copies_doc("usb<script>", 2, false), "name", "broken", "copies",
		      "error", "proofs/: <denied>", "name", "bare");
	char *t;

	assert_non_null(status);
	t = page(status);
	assert_non_null(strstr(t, "<section id=\"copies\">"));
	assert_null(strstr(t, "<script>"));
	assert_null(strstr(t, "<why>"));
	assert_non_null(strstr(t, "data-repo=\"cl&lt;i&gt;nic\" data-verdict=\"fails\" "
				  "data-copies=\"3\""));
	assert_non_null(strstr(t, "3-2-1-1-0 does not hold"));
	assert_non_null(strstr(t, "<tr data-rule=\"copies\" data-ok=\"0\">"));
	assert_non_null(strstr(t, "<tr data-rule=\"errors\" data-ok=\"1\">"));
	assert_non_null(strstr(t,
			       "data-copy=\"usb&lt;script&gt;\" data-media=\"removable\" "
			       "data-site=\"offsite\" data-result=\"passed\" data-current=\"1\""));
	assert_non_null(strstr(t, "data-result=\"failed\" data-current=\"0\""));
	assert_non_null(strstr(t, "/mnt/&quot;x&quot;&lt;y&gt;"));
	assert_non_null(strstr(t, "(1 problems)"));
	assert_non_null(strstr(t, "data-copy=\"\" data-media=\"vault\" data-site=\"onsite\" "
				  "data-current=\"1\""));
	assert_non_null(strstr(t, "<span data-check=\"passed\">"));
	assert_non_null(strstr(t, "<span data-drill=\"none\""));
	assert_non_null(strstr(t, "2 drill or proof record(s) do not parse"));
	/* no report: "not known" and why, never a guess */
	assert_non_null(strstr(t, "data-repo=\"broken\" data-verdict=\"unknown\""));
	assert_non_null(strstr(t, "not known: proofs/: &lt;denied&gt;"));
	assert_non_null(strstr(t, "data-repo=\"bare\" data-verdict=\"unknown\""));
	free(t);
	json_decref(status);
}

static void test_metrics(void **state)
{
	json_t *status =
	    json_pack("{s:[{s:s, s:o}, {s:s, s:o}, {s:s, s:{s:s}}]}", "repositories", "name",
		      "a\"b", "copies", copies_doc("u\"sb", 1, true), "name", "many", "copies",
		      copies_doc("c", 20, false), "name", "broken", "copies", "error", "x");
	char *text;

	assert_non_null(status);
	assert_ok(metrics_render(NULL, status, 5 * NS, &text));
	assert_non_null(strstr(text, "kura_copies_holding_newest{repo=\"a\\\"b\"} 2\n"));
	assert_non_null(strstr(text, "kura_copy_last_sync_timestamp_seconds{repo=\"a\\\"b\","
				     "copy=\"u\\\"sb\",media=\"removable\",site=\"offsite\"} "
				     "1796209200.000\n"));
	assert_non_null(
	    strstr(text, "kura_copy_last_success{repo=\"a\\\"b\",copy=\"u\\\"sb\"} 1\n"));
	assert_non_null(strstr(text, "kura_321_rule_ok{repo=\"a\\\"b\",rule=\"copies\"} 1\n"));
	assert_non_null(strstr(text, "kura_321_ok{repo=\"a\\\"b\"} 1\n"));
	assert_non_null(strstr(text, "kura_321_ok{repo=\"many\"} 0\n"));
	assert_non_null(strstr(text, "kura_321_rule_ok{repo=\"many\",rule=\"copies\"} 0\n"));
	assert_non_null(strstr(text, "kura_copy_last_success{repo=\"many\",copy=\"c15\"} 0\n"));
	assert_null(strstr(text, "copy=\"c16\""));
	/* no report: no copies series, rather than zeros that would read as a verdict */
	assert_null(strstr(text, "kura_321_ok{repo=\"broken\""));
	assert_null(strstr(text, "kura_copies_holding_newest{repo=\"broken\""));
	free(text);
	json_decref(status);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_section),
	    cmocka_unit_test(test_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
