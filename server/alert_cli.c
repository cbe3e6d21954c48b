/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_cli.c - `kurad alert list` and `kurad alert resolve`, and the
 * alerts table of `kurad status` (alert_cli.h).  Kept out of main.c so
 * that the command's dispatch gains two lines, not the room's logic.
 */
#include "alert_cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert_resolve.h"
#include "alerts.h"
#include "common/error.h"
#include "files.h"

const char alert_cli_usage[] =
    "Usage: kurad alert list DIR [--all] [--json]\n"
    "       kurad alert resolve DIR ID --key FILE\n"
    "\n"
    "The vault raises alerts when something needs a person (see kurad(8),\n"
    "ALERTS).  An alert stays open until a quorum of approvers resolve it.\n"
    "\n"
    "'list' shows the open alerts and those resolved in the last 7 days (--all:\n"
    "every one).  'resolve' records the approval of the approver whose key is in\n"
    "FILE; the alert is resolved when the policy's quorum of approvers have\n"
    "approved, each with their own key, as for deletions.\n"
    "\n"
    "  --all       list resolved alerts of any age too\n"
    "  --json      print JSON for scripts\n"
    "  --key FILE  an approver key from 'kurad approver add'\n";

static int usage(const char *what, const char *arg)
{
	fprintf(stderr, "kurad: %s%s%s\n\n%s", what, arg ? " " : "", arg ? arg : "",
		alert_cli_usage);
	return 2;
}

static int fail(void)
{
	fprintf(stderr, "kurad: %s\n", kura_error_message());
	return 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

void alert_cli_print(const json_t *alerts, bool empty_line)
{
	const json_t *a;
	char when[40];
	size_t i;

	if (json_array_size(alerts) == 0) {
		if (empty_line)
			printf("No alerts.\n");
		return;
	}
	printf("%-6s %-9s %-16s %-16s %6s %-20s  %s\n", "ALERT", "STATE", "KIND", "REPOSITORY",
	       "COUNT", "LAST SEEN", "SUMMARY");
	json_array_foreach(alerts, i, a)
	{
		json_int_t seen = json_integer_value(json_object_get(a, "last_seen_ns"));

		if (strcmp(str(a, "state"), "corrupt") == 0) {
			printf("%-6" JSON_INTEGER_FORMAT " %-9s %s\n",
			       json_integer_value(json_object_get(a, "id")), "corrupt",
			       str(a, "error"));
			continue;
		}
		files_format_time_s(when, seen);
		printf("%-6" JSON_INTEGER_FORMAT " %-9s %-16s %-16s %6" JSON_INTEGER_FORMAT
		       " %-20s  %s\n",
		       json_integer_value(json_object_get(a, "id")), str(a, "state"),
		       str(a, "kind"), str(a, "repo"),
		       json_integer_value(json_object_get(a, "count")), when, str(a, "summary"));
		if (strcmp(str(a, "state"), "open") == 0 &&
		    json_array_size(json_object_get(a, "approvals")))
			printf("%-6s approvals to resolve: %" JSON_INTEGER_FORMAT
			       " valid of %" JSON_INTEGER_FORMAT " needed\n",
			       "", json_integer_value(json_object_get(a, "approvals_valid")),
			       json_integer_value(json_object_get(a, "quorum_needed")));
		/* an operator judged it false (kura scan --accept): said, not resolved */
		for (size_t k = 0; k < json_array_size(json_object_get(a, "acceptances")); k++) {
			json_t *acc = json_array_get(json_object_get(a, "acceptances"), k);

			files_format_time_s(when, json_integer_value(json_object_get(acc, "received_ns")));
			printf("%-6s accepted as a false alarm by an operator at %s (record %.12s); "
			       "only approvers resolve it\n",
			       "", when, str(acc, "record"));
		}
	}
}

/* An alert id: 1 to 999999999, decimal digits only. */
static bool parse_id(const char *s, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 9)
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return i > 0 && v > 0;
}

int alert_cli_main(int argc, char **argv)
{
	const char *pos[3] = {NULL, NULL, NULL}, *key = NULL;
	bool json = false, all = false;
	int npos = 0, i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(alert_cli_usage, stdout);
			return 0;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--all") == 0) {
			all = true;
		} else if (strcmp(a, "--key") == 0 && i + 1 < argc) {
			key = argv[++i];
		} else if (strncmp(a, "--key=", 6) == 0) {
			key = a + 6;
		} else if (a[0] == '-' && a[1]) {
			return usage("unknown option or missing value:", a);
		} else if (npos < 3) {
			pos[npos++] = a;
		} else {
			return usage("unexpected argument", a);
		}
	}
	if (npos == 0)
		return usage("alert needs a subcommand: list or resolve", NULL);
	if (strcmp(pos[0], "list") == 0) {
		json_t *arr = NULL;
		char *text;

		if (npos != 2)
			return usage("alert list needs the vault directory", NULL);
		if (key)
			return usage("alert list takes no --key", NULL);
		if (alerts_list(pos[1], all, now_ns(), &arr) < 0)
			return fail();
		if (json) {
			text = json_dumps(arr, JSON_PRESERVE_ORDER | JSON_INDENT(2));
			if (text)
				printf("%s\n", text);
			free(text);
		} else {
			alert_cli_print(arr, true);
		}
		json_decref(arr);
		return 0;
	}
	if (strcmp(pos[0], "resolve") == 0) {
		unsigned long id;
		char *summary = NULL;

		if (npos != 3)
			return usage("alert resolve needs the vault directory and an alert id",
				     NULL);
		if (json || all)
			return usage("alert resolve takes only --key", NULL);
		if (!parse_id(pos[2], &id))
			return usage("bad alert id", pos[2]);
		if (!key)
			return usage("--key is required (an approver key)", NULL);
		if (alert_resolve(pos[1], id, key, now_ns(), &summary) < 0)
			return fail();
		fputs(summary, stdout);
		free(summary);
		return 0;
	}
	return usage("no alert subcommand", pos[0]);
}
