/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_status.c - `kura status [--json]`: the 3-2-1-1-0 report of the
 * repository and its copies (include/kura/status321.h), each rule green
 * or red with the reason and the command that fixes it.
 *
 * No key is needed: the repository is opened as a store (a vault with
 * any credential that may read its records: a reader), and everything
 * comes from what the snapshots' headers, the drill records and the
 * proof records that `kura copy` and `kura check --read-data` left say.
 * Exit status 0 when every rule holds, 8 when one does not, so a timer or
 * a monitoring check can alert on it.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kura/status321.h"

enum {
	OPT_NOW = CLI_OPT_LONG,
	OPT_DRILL_AGE,
	OPT_CHECK_AGE,
	OPT_COPY_AGE,
	OPT_MEDIA,
	OPT_SITE,
};

static const struct option longs[] = {
    {"now", required_argument, NULL, OPT_NOW},
    {"drill-age", required_argument, NULL, OPT_DRILL_AGE},
    {"check-age", required_argument, NULL, OPT_CHECK_AGE},
    {"copy-age", required_argument, NULL, OPT_COPY_AGE},
    {"media", required_argument, NULL, OPT_MEDIA},
    {"site", required_argument, NULL, OPT_SITE},
    {NULL, 0, NULL, 0},
};

/* "+9d" (from now) or "2026-12-24T00:00:00Z" into ns since the epoch. */
static int parse_now(int64_t *out, const char *s)
{
	struct tm tm;
	const char *end;
	int64_t d;

	if (s[0] == '+') {
		if (cli_parse_duration(&d, s + 1) < 0)
			return -1;
		*out = kura_now_ns(CLOCK_REALTIME) + d * 1000000000LL;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if (!(end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) || *end)
		return -1;
	*out = (int64_t)timegm(&tm) * 1000000000LL;
	return *out > 0 ? 0 : -1;
}

static const char *ago(char buf[CLI_FMT_MAX], int64_t now_ns, int64_t then_ns)
{
	double s = (double)(now_ns - then_ns) / 1e9;

	if (!then_ns)
		return "-";
	if (s < 0)
		snprintf(buf, CLI_FMT_MAX, "future");
	else if (s < 3600)
		snprintf(buf, CLI_FMT_MAX, "%.0fm ago", s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, CLI_FMT_MAX, "%.1fh ago", s / 3600);
	else
		snprintf(buf, CLI_FMT_MAX, "%.1fd ago", s / 86400);
	return buf;
}

static const char *holds(const kura_status_report *r, const kura_status_copy *c)
{
	if (c->current)
		return "newest";
	return c->snapshot_id[0] ? "older" : "nothing";
}

static void print_human(const kura_status_report *r)
{
	char a[CLI_FMT_MAX], b[CLI_FMT_MAX], d[CLI_FMT_MAX], tmp[64];

	if (r->newest[0])
		printf("newest snapshot %.8s (%s)\n\n", r->newest, ago(a, r->now_ns, r->newest_ns));
	else
		printf("no snapshot\n\n");
	printf("%-20s %-9s %-7s %-11s %-7s %-6s %-18s %s\n", "COPY", "MEDIA", "SITE", "SYNCED",
	       "HOLDS", "VERIFY", "DRILL", "CHECK");
	for (size_t i = 0; i < r->ncopies; i++) {
		const kura_status_copy *c = &r->copies[i];
		char drill[64] = "-", check[320] = "-";

		if (c->looked && c->drill_ns)
			snprintf(drill, sizeof(drill), "%s %s", c->drill_passed ? "ok" : "FAILED",
				 ago(a, r->now_ns, c->drill_ns));
		else if (!c->looked)
			snprintf(drill, sizeof(drill), "?");
		if (c->looked && c->check_ns)
			snprintf(check, sizeof(check), "%s %s", c->check_passed ? "ok" : "FAILED",
				 ago(b, r->now_ns, c->check_ns));
		else if (!c->looked)
			snprintf(check, sizeof(check), "? (%s)", c->unreachable);
		snprintf(tmp, sizeof(tmp), "%s",
			 c->is_source	  ? "-"
			 : c->copy_passed ? "ok"
					  : "FAILED");
		printf("%-20.20s %-9s %-7s %-11s %-7s %-6s %-18s %s\n", c->label,
		       kura_media_name(c->media), kura_site_name(c->site),
		       c->is_source ? "-" : ago(d, r->now_ns, c->synced_ns), holds(r, c), tmp,
		       drill, check);
	}
	printf("\n");
	for (int i = 0; i < KURA_RULES; i++) {
		const kura_status_rule *ru = &r->rules[i];

		printf("%-6s %-23s %s\n", ru->ok ? "[ok]" : "[FAIL]", kura_status_rule_name(i),
		       ru->reason);
		if (!ru->ok && ru->fix[0])
			printf("%-6s %-23s fix: %s\n", "", "", ru->fix);
	}
	if (!r->all_ok)
		printf("\n3-2-1-1-0 does not hold\n");
	else
		printf("\n3-2-1-1-0 holds\n");
}

static json_t *time_json(int64_t ns)
{
	char buf[CLI_FMT_MAX];

	if (!ns)
		return json_null();
	return json_string(
	    cli_fmt_time_rfc3339(buf, ns / 1000000000LL, (uint32_t)(ns % 1000000000LL)));
}

static int print_json(const kura_status_report *r)
{
	json_t *o = json_object(), *copies = json_array(), *rules = json_array();

	json_object_set_new(o, "message_type", json_string("status"));
	json_object_set_new(o, "ok", json_boolean(r->all_ok));
	json_object_set_new(o, "now", time_json(r->now_ns));
	json_object_set_new(o, "newest_snapshot",
			    r->newest[0] ? json_string(r->newest) : json_null());
	json_object_set_new(o, "newest_time", time_json(r->newest_ns));
	json_object_set_new(o, "copies_holding_newest", cli_json_u64(r->holding));
	json_object_set_new(o, "media_kinds", cli_json_u64(r->media_kinds));
	json_object_set_new(o, "offsite", cli_json_u64(r->offsite));
	json_object_set_new(o, "offline_or_immutable", cli_json_u64(r->offline));
	json_object_set_new(o, "damaged_records", cli_json_u64(r->damaged_records));
	for (size_t i = 0; i < r->ncopies; i++) {
		const kura_status_copy *c = &r->copies[i];
		json_t *j = json_object();

		json_object_set_new(j, "label", cli_json_str(c->label));
		json_object_set_new(j, "source", json_boolean(c->is_source));
		json_object_set_new(j, "target", cli_json_str(c->target));
		json_object_set_new(j, "media", json_string(kura_media_name(c->media)));
		json_object_set_new(j, "site", json_string(kura_site_name(c->site)));
		json_object_set_new(j, "holds_newest", json_boolean(c->current));
		json_object_set_new(j, "snapshot",
				    c->snapshot_id[0] ? json_string(c->snapshot_id) : json_null());
		json_object_set_new(j, "synced", time_json(c->synced_ns));
		json_object_set_new(j, "recent", json_boolean(c->fresh));
		if (!c->is_source) {
			json_object_set_new(j, "last_copy", time_json(c->copied_ns));
			json_object_set_new(j, "last_copy_passed", json_boolean(c->copy_passed));
			json_object_set_new(j, "last_copy_problems",
					    cli_json_u64(c->copy_problems));
		}
		json_object_set_new(j, "looked", json_boolean(c->looked));
		if (!c->looked)
			json_object_set_new(j, "unreachable", cli_json_str(c->unreachable));
		json_object_set_new(j, "last_drill", time_json(c->drill_ns));
		json_object_set_new(j, "last_drill_passed",
				    c->drill_ns ? json_boolean(c->drill_passed) : json_null());
		json_object_set_new(j, "last_drill_rto_seconds",
				    c->drill_ns ? json_real(c->drill_rto_s) : json_null());
		json_object_set_new(j, "last_check", time_json(c->check_ns));
		json_object_set_new(j, "last_check_passed",
				    c->check_ns ? json_boolean(c->check_passed) : json_null());
		json_array_append_new(copies, j);
	}
	for (int i = 0; i < KURA_RULES; i++) {
		json_t *j = json_object();

		json_object_set_new(j, "rule", json_string(kura_status_rule_name(i)));
		json_object_set_new(j, "ok", json_boolean(r->rules[i].ok));
		json_object_set_new(j, "reason", cli_json_str(r->rules[i].reason));
		json_object_set_new(
		    j, "fix", r->rules[i].fix[0] ? cli_json_str(r->rules[i].fix) : json_null());
		json_array_append_new(rules, j);
	}
	json_object_set_new(o, "copies", copies);
	json_object_set_new(o, "rules", rules);
	return cli_json_print(o);
}

static int age_arg(int64_t *out, const char *opt, const char *arg)
{
	if (cli_parse_duration(out, arg) < 0 || *out <= 0)
		return cli_usage_error(&cli_cmd_status, "%s %s: a duration such as 36h or 8d", opt,
				       arg);
	return CLI_EXIT_OK;
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	kura_status_policy pol = {0};
	kura_status_report rep;
	kura_backend *b = NULL;
	const char *loc;
	int c, rc = CLI_EXIT_OK, err;

	cli_getopt_init(&p, g, &cli_cmd_status, argc, argv, "", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == OPT_NOW && parse_now(&pol.now_ns, p.arg) < 0)
			return cli_usage_error(&cli_cmd_status,
					       "--now %s: +DURATION (+9d) or "
					       "YYYY-MM-DDTHH:MM:SSZ",
					       p.arg);
		if (c == OPT_DRILL_AGE)
			rc = age_arg(&pol.drill_age_s, "--drill-age", p.arg);
		else if (c == OPT_CHECK_AGE)
			rc = age_arg(&pol.check_age_s, "--check-age", p.arg);
		else if (c == OPT_COPY_AGE)
			rc = age_arg(&pol.copy_age_s, "--copy-age", p.arg);
		else if (c == OPT_MEDIA && !(pol.media = kura_media_parse(p.arg)))
			rc = cli_usage_error(&cli_cmd_status,
					     "--media %s: one of disk, removable, "
					     "vault, s3, tape",
					     p.arg);
		else if (c == OPT_SITE && !(pol.site = kura_site_parse(p.arg)))
			rc =
			    cli_usage_error(&cli_cmd_status, "--site %s: onsite or offsite", p.arg);
		if (rc != CLI_EXIT_OK)
			return rc;
	}
	if (optind < argc)
		return cli_usage_error(&cli_cmd_status, "unexpected argument '%s'", argv[optind]);
	if (!(loc = cli_repo_location(g, &cli_cmd_status)))
		return CLI_EXIT_USAGE;
	if ((rc = cli_vault_credentials_missing(loc)) != CLI_EXIT_OK)
		return rc;
	err = strncmp(loc, "vault://", 8) == 0
		  ? kura_backend_vault_open(&b, loc, cli_vault_credentials_env())
		  : kura_backend_local_open(&b, loc);
	if (err < 0) {
		fprintf(stderr, "kura: %s: %s\n", loc, kura_error_message());
		return err == KURA_ENOTFOUND ? CLI_EXIT_NOREPO : cli_exit_status(err);
	}
	err = kura_status321(b, loc, &pol, &rep);
	if (err < 0) {
		rc = cli_fail(err, err == KURA_EDENIED ? "kura status on a vault needs a reader "
							 "credential (KURA_VAULT_CREDENTIALS)"
						       : NULL);
		goto done;
	}
	if (g->json)
		rc = print_json(&rep);
	else
		print_human(&rep);
	if (rc == CLI_EXIT_OK && !rep.all_ok)
		rc = CLI_EXIT_STATUS;
done:
	kura_status_report_clear(&rep);
	kura_backend_free(b);
	return rc;
}

const struct cli_command cli_cmd_status = {
    .name = "status",
    .summary = "the 3-2-1-1-0 report of the repository and its copies",
    .usage = "kura status [--now TIME] [--drill-age D] [--check-age D] [--copy-age D]\n"
	     "            [--media M] [--site S]",
    .help = "Show whether the repository and the copies kura copy recorded in it keep the\n"
	    "3-2-1-1-0 rule: 3 copies hold the newest snapshot, on 2 kinds of media, 1 of\n"
	    "them off-site, 1 offline or immutable (a vault, S3 Object Lock, tape, or a\n"
	    "removable disk), and 0 errors: a passed drill and a passed check --read-data,\n"
	    "each recent enough, and no failed copy.  Each rule is shown green or red with\n"
	    "the reason and the command that fixes it.  No key is needed.\n"
	    "\n"
	    "  --now TIME       judge ages at TIME: +DURATION (+9d) or YYYY-MM-DDTHH:MM:SSZ\n"
	    "  --drill-age D    the last drill may be this old (default 8d)\n"
	    "  --check-age D    the last check --read-data may be this old (default 35d)\n"
	    "  --copy-age D     a copy counts for media, off-site and offline while its last\n"
	    "                   good sync is this young (default 8d)\n"
	    "  --media M        the repository's own media (default: vault for a vault,\n"
	    "                   else disk)\n"
	    "  --site S         the repository's own site (default: onsite)\n"
	    "\n"
	    "Exit status 0 when every rule holds, 8 when one does not.\n",
    .run = run,
};
