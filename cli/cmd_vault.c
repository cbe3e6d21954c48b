/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_vault.c - `kura vault status`: what a vault holds, seen by an
 * auditor.
 *
 * GET /v1/status with the auditor credential in KURA_VAULT_CREDENTIALS:
 * per repository its files, bytes, snapshots and when the vault last
 * received one (the vault's own clock, not a client's claim), and the
 * clients with their roles, and the open alerts.  --json prints the vault's JSON document as
 * one compact line.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A string member of a status object, or "?" when it is missing. */
static const char *str_or(const json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v ? v : "?";
}

static const char *local_when(char buf[CLI_FMT_MAX], const char *rfc3339)
{
	struct tm tm = {0};
	const char *rest;

	if (!rfc3339)
		return "never";
	rest = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest || (*rest != '.' && *rest != 'Z'))
		return rfc3339;
	return cli_fmt_time_local(buf, (int64_t)timegm(&tm));
}

/*
 * The vault's open alerts (kurad(8), ALERTS): what the auditor is there
 * for.  Text from the vault is shown printable only.
 */
static void print_alerts(const json_t *alerts)
{
	char tbuf[CLI_FMT_MAX], summary[160];
	const json_t *a;
	size_t i, j, shown = 0;

	json_array_foreach(alerts, i, a) {
		const char *s = str_or(a, "summary"), *repo = json_string_value(json_object_get(a, "repo"));
		json_int_t seen = json_integer_value(json_object_get(a, "last_seen_ns"));

		if (strcmp(str_or(a, "state"), "resolved") == 0)
			continue;
		if (shown++ == 0)
			printf("\n%-6s %-16s %-16s %6s  %-20s %s\n", "ALERT", "KIND", "REPOSITORY",
			       "COUNT", "LAST SEEN", "SUMMARY");
		for (j = 0; s[j] && j < sizeof(summary) - 1; j++)
			summary[j] = (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] < 0x7f ? s[j] : '?';
		summary[j] = '\0';
		printf("%-6" JSON_INTEGER_FORMAT " %-16s %-16s %6" JSON_INTEGER_FORMAT "  %-20s %s\n",
		       json_integer_value(json_object_get(a, "id")), str_or(a, "kind"),
		       repo ? repo : "(vault)", json_integer_value(json_object_get(a, "count")),
		       seen > 0 ? cli_fmt_time_local(tbuf, (int64_t)(seen / 1000000000)) : "?",
		       summary);
	}
	if (json_array_size(alerts) && !shown)
		printf("\nNo open alerts.\n");
}

static void print_status(json_t *doc)
{
	json_t *repos = json_object_get(doc, "repositories");
	json_t *clients = json_object_get(doc, "clients");
	char sbuf[CLI_FMT_MAX], tbuf[CLI_FMT_MAX];
	json_t *r;
	size_t i;

	if (json_array_size(repos) == 0)
		printf("No repositories yet.\n");
	else
		printf("%-24s %10s %12s %10s  %s\n", "REPOSITORY", "FILES", "SIZE", "SNAPSHOTS",
		       "LAST SNAPSHOT RECEIVED");
	json_array_foreach(repos, i, r) {
		json_int_t bytes = json_integer_value(json_object_get(r, "bytes"));

		printf("%-24s %10" JSON_INTEGER_FORMAT " %12s %10" JSON_INTEGER_FORMAT "  %s\n",
		       str_or(r, "name"),
		       json_integer_value(json_object_get(r, "files")),
		       cli_fmt_size(sbuf, bytes > 0 ? (uint64_t)bytes : 0),
		       json_integer_value(json_object_get(r, "snapshots")),
		       local_when(tbuf, json_string_value(
					    json_object_get(r, "last_snapshot_received"))));
	}
	putchar('\n');
	if (json_array_size(clients) == 0)
		printf("No clients.\n");
	else
		printf("%-24s %-8s  %s\n", "CLIENT", "ROLE", "REPOSITORY");
	json_array_foreach(clients, i, r) {
		const char *repo = json_string_value(json_object_get(r, "repo"));

		printf("%-24s %-8s  %s\n", str_or(r, "name"),
		       str_or(r, "role"), repo ? repo : "-");
	}
	print_alerts(json_object_get(doc, "alerts"));
}

static int status(struct cli_global *g, const char *cred)
{
	json_error_t jerr;
	uint8_t *body = NULL;
	size_t len = 0;
	json_t *doc;
	int rc;

	if ((rc = cli_vault_fetch(cred, "status", &body, &len)) != CLI_EXIT_OK)
		return rc;
	doc = json_loadb((const char *)body, len, 0, &jerr);
	free(body);
	if (!json_is_object(doc)) {
		fprintf(stderr, "kura: the vault's status is not a JSON object (%s)\n",
			doc ? "another JSON value" : jerr.text);
		json_decref(doc);
		return CLI_EXIT_FATAL;
	}
	if (g->json)
		return cli_json_print(doc);
	print_status(doc);
	json_decref(doc);
	return CLI_EXIT_OK;
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	const char *cred;
	int c;

	cli_getopt_init(&p, g, &cli_cmd_vault, argc, argv, "", NULL);
	while ((c = cli_getopt_next(&p)) != -1)
		if (c == CLI_OPT_STOP)
			return p.status;
	if (optind >= argc)
		return cli_usage_error(&cli_cmd_vault, "which vault command? (status)");
	if (strcmp(argv[optind], "status") != 0)
		return cli_usage_error(&cli_cmd_vault, "no vault command '%s'", argv[optind]);
	if (optind + 1 < argc)
		return cli_usage_error(&cli_cmd_vault, "unexpected argument '%s'", argv[optind + 1]);
	if (!(cred = cli_vault_credential(&cli_cmd_vault)))
		return CLI_EXIT_USAGE;
	return status(g, cred);
}

const struct cli_command cli_cmd_vault = {
	.name = "vault",
	.summary = "show what a vault holds (auditor credential)",
	.usage = "kura vault status [--json]",
	.help = "Ask the vault named by the auditor credential in KURA_VAULT_CREDENTIALS for\n"
		"its status: each repository's files, size, snapshots and when the vault\n"
		"last received a snapshot (by the vault's clock), and every client with its\n"
		"role and repository.  --json prints the vault's JSON document.\n"
		"\n"
		"Environment:\n"
		"  KURA_VAULT_CREDENTIALS  the auditor credential file\n",
	.run = run,
};
