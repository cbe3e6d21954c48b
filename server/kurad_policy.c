/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kurad_policy.c - `kurad policy [set]`: show or change the deletion policy
 * (DIR/policy.json), with a note when too few approvers can reach the
 * quorum.
 */
#include "kurad_cmd.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "policy.h"
#include "quota.h"

static const char usage_policy[] =
    "Usage: kurad policy DIR [--json]\n"
    "       kurad policy set DIR [--min-age D] [--keep-daily N] [--keep-weekly N]\n"
    "                            [--keep-monthly N] [--quorum N] [--delay D]\n"
    "                            [--drill-every D] [--quota-for WHO]\n"
    "                            [--quota-daily SIZE] [--quota-burst SIZE]\n"
    "                            [--quota-cap SIZE] [--json]\n"
    "\n"
    "Show or change the vault's deletion policy (DIR/policy.json).  Clients can\n"
    "only ask for deletions; a request takes effect when QUORUM approvers have\n"
    "approved it and DELAY has passed since the approval that completed the\n"
    "quorum, and even then retention keeps:\n"
    "  - every snapshot received less than MIN-AGE ago;\n"
    "  - the newest snapshot of each of the KEEP-DAILY newest days, KEEP-WEEKLY\n"
    "    newest ISO weeks (Monday to Sunday) and KEEP-MONTHLY newest months that\n"
    "    have snapshots.\n"
    "Ages and calendar periods are taken in UTC from the time the vault received\n"
    "each snapshot, never from the client's clock.  'set' changes only the values\n"
    "given and prints the new policy.  A running 'kurad serve' applies a change\n"
    "at its next deletion tick (it re-reads DIR/policy.json): no restart needed.\n"
    "\n"
    "  --min-age D       D is 0 or a whole number with s, m, h or d (default 30d)\n"
    "  --keep-daily N    0 to 100000 (default 7)\n"
    "  --keep-weekly N   0 to 100000 (default 4)\n"
    "  --keep-monthly N  0 to 100000 (default 12)\n"
    "  --quorum N        approvals each deletion needs, 1 to 100 (default 2)\n"
    "  --drill-every D   a repository without a drill record newer than D is\n"
    "                    overdue (status, alert); 0: no requirement (default 0)\n"
    "  --delay D         from the approval that completes the quorum until the\n"
    "                    deletion is carried out (default 7d)\n"
    "  --json            print the policy as JSON\n"
    "\n"
    "Upload quotas (the policy's \"quota\" member; what it leaves unsaid is derived\n"
    "from each repository's history; see kurad(8), QUOTAS):\n"
    "  --quota-for WHO     whose limits the next three set: 'repositories' (every\n"
    "                      repository not named; the default), 'clients' (every\n"
    "                      writer credential not named), 'repo:NAME', 'client:NAME'\n"
    "  --quota-daily SIZE  bytes a day, refilled continuously\n"
    "  --quota-burst SIZE  the most stored at once from a full allowance\n"
    "  --quota-cap SIZE    a repository's total size\n"
    "SIZE is a number of bytes with an optional KiB, MiB, GiB, TiB or PiB, 'none'\n"
    "(no limit), or 'derived' (unset: derived or inherited again).\n";

static int parse_count(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long n = 0;
	const char *p;

	if (!*s)
		return -1;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9' || n > hi)
			return -1;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n < lo || n > hi)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* Registered approvers (DIR/approvers/NAME.json); 0 when there is no such directory. */
static unsigned count_approvers(const char *dir)
{
	char path[4096];
	struct dirent *e;
	unsigned n = 0;
	size_t len;
	DIR *d;

	snprintf(path, sizeof(path), "%s/approvers", dir);
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d))) {
		len = strlen(e->d_name);
		if (e->d_name[0] != '.' && len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* The policy's upload quotas as set (kurad status shows the limits in force). */
static void print_quota(const vault_quota_conf *q)
{
	json_t *doc;
	char *text;

	if (quota_conf_empty(q)) {
		printf("\nUpload quotas: none set; each repository's are derived from its history\n"
		       "('kurad status' shows the limits in force).\n");
		return;
	}
	doc = quota_conf_format(q);
	text = doc ? json_dumps(doc, JSON_PRESERVE_ORDER) : NULL;
	printf("\nUpload quotas (the rest derived; 'kurad status' shows the limits in force):\n"
	       "  %s\n", text ? text : "(out of memory)");
	free(text);
	json_decref(doc);
}

static void print_policy(const char *dir, const vault_policy *p)
{
	char min_age[32], delay[32], every[32];

	policy_duration_format(p->min_age_s, min_age);
	policy_duration_format(p->delay_s, delay);
	policy_duration_format(p->drill_every_s, every);
	printf("Deletion policy of the vault in %s\n\n", dir);
	if (p->min_age_s)
		printf("  min age       %-7s snapshots received less than %s ago are kept\n",
		       min_age, min_age);
	else
		printf("  min age       %-7s no minimum age\n", min_age);
	printf("  keep daily    %-7u %s\n", p->keep_daily,
	       p->keep_daily ? "the newest snapshot of each of that many newest days"
			     : "no daily window");
	printf("  keep weekly   %-7u %s\n", p->keep_weekly,
	       p->keep_weekly ? "... ISO weeks (Monday to Sunday)" : "no weekly window");
	printf("  keep monthly  %-7u %s\n", p->keep_monthly,
	       p->keep_monthly ? "... calendar months" : "no monthly window");
	printf("  quorum        %-7u approvals each deletion request needs\n", p->quorum);
	if (p->delay_s)
		printf("  delay         %-7s wait between the quorum and the deletion\n", delay);
	else
		printf("  delay         %-7s the deletion follows the quorum at once\n", delay);
	if (p->drill_every_s)
		printf("  drill every   %-7s a repository not drilled for %s raises an alert\n",
		       every, every);
	else
		printf("  drill every   %-7s no restore drill required\n", every);
	printf("\nDays, weeks and months count only those with snapshots, in UTC, by the time\n"
	       "the vault received each snapshot.\n");
	print_quota(&p->quota);
}

int kurad_cmd_policy(int argc, char **argv)
{
	const char *min_age = NULL, *daily = NULL, *weekly = NULL, *monthly = NULL, *quorum = NULL,
		   *delay = NULL, *drill_every = NULL, *q_for = NULL, *q_daily = NULL,
		   *q_burst = NULL, *q_cap = NULL, *pos[3], *dir;
	bool json = false, help, set;
	const kurad_option opts[] = {
	    {"--min-age", true, &min_age, NULL},    {"--keep-daily", true, &daily, NULL},
	    {"--keep-weekly", true, &weekly, NULL}, {"--keep-monthly", true, &monthly, NULL},
	    {"--quorum", true, &quorum, NULL},	    {"--delay", true, &delay, NULL},
	    {"--drill-every", true, &drill_every, NULL},
	    {"--quota-for", true, &q_for, NULL},    {"--quota-daily", true, &q_daily, NULL},
	    {"--quota-burst", true, &q_burst, NULL}, {"--quota-cap", true, &q_cap, NULL},
	    {"--json", false, NULL, &json},	    {NULL, false, NULL, NULL}};
	struct stat st;
	vault_policy p;
	char *text, path[4096];
	unsigned approvers;
	bool quota_given, any;
	int npos, rc;

	if ((rc = kurad_parse_args(argc, argv, opts, pos, 3, &npos, &help, usage_policy)) || help) {
		if (help)
			fputs(usage_policy, stdout);
		return rc;
	}
	set = npos > 0 && strcmp(pos[0], "set") == 0;
	if (npos == 0 || (set && npos == 1))
		return kurad_usage_error(usage_policy, "policy needs the vault directory");
	if (npos > (set ? 2 : 1))
		return kurad_usage_error(usage_policy, "unexpected argument '%s'",
					 pos[set ? 2 : 1]);
	dir = pos[set ? 1 : 0];
	quota_given = q_daily || q_burst || q_cap;
	any = min_age || daily || weekly || monthly || quorum || delay || drill_every ||
	      quota_given || q_for;
	if (!set && any)
		return kurad_usage_error(usage_policy,
					 "to change the policy use 'kurad policy set'");
	if (set && !any)
		return kurad_usage_error(usage_policy,
					 "policy set needs at least one value to change");
	if (q_for && !quota_given)
		return kurad_usage_error(usage_policy,
					 "--quota-for needs --quota-daily, --quota-burst or "
					 "--quota-cap");
	snprintf(path, sizeof(path), "%s/policy.json", dir);
	if (policy_load(dir, &p) < 0) {
		rc = kurad_fail(NULL);
		if (lstat(path, &st) == 0)
			fprintf(stderr,
				"kurad: fix or remove %s (without it the vault has the "
				"default policy)\n",
				path);
		return rc;
	}
	if (set) {
		if (min_age && policy_duration_parse(min_age, &p.min_age_s) < 0)
			return kurad_usage_error(usage_policy, "--min-age: %s",
						 kura_error_message());
		if (delay && policy_duration_parse(delay, &p.delay_s) < 0)
			return kurad_usage_error(usage_policy, "--delay: %s", kura_error_message());
		if (drill_every && policy_duration_parse(drill_every, &p.drill_every_s) < 0)
			return kurad_usage_error(usage_policy, "--drill-every: %s",
						 kura_error_message());
		if (daily && parse_count(daily, 0, VAULT_POLICY_KEEP_MAX, &p.keep_daily) < 0)
			return kurad_usage_error(usage_policy,
						 "--keep-daily: '%s' is not a whole number "
						 "from 0 to %d",
						 daily, VAULT_POLICY_KEEP_MAX);
		if (weekly && parse_count(weekly, 0, VAULT_POLICY_KEEP_MAX, &p.keep_weekly) < 0)
			return kurad_usage_error(usage_policy,
						 "--keep-weekly: '%s' is not a whole number "
						 "from 0 to %d",
						 weekly, VAULT_POLICY_KEEP_MAX);
		if (monthly && parse_count(monthly, 0, VAULT_POLICY_KEEP_MAX, &p.keep_monthly) < 0)
			return kurad_usage_error(usage_policy,
						 "--keep-monthly: '%s' is not a whole "
						 "number from 0 to %d",
						 monthly, VAULT_POLICY_KEEP_MAX);
		if (quorum && parse_count(quorum, 1, VAULT_POLICY_QUORUM_MAX, &p.quorum) < 0)
			return kurad_usage_error(usage_policy,
						 "--quorum: '%s' is not a whole number from "
						 "1 to %d",
						 quorum, VAULT_POLICY_QUORUM_MAX);
		if (quota_given && quota_conf_set(&p.quota, q_for, q_daily, q_burst, q_cap) < 0)
			return kurad_usage_error(usage_policy, "%s", kura_error_message());
		if (policy_save(dir, &p) < 0)
			return kurad_fail(dir);
	}
	if (json) {
		if (!(text = policy_format(&p)))
			return kurad_fail(NULL);
		fputs(text, stdout);
		free(text);
		return EXIT_OK;
	}
	print_policy(dir, &p);
	if (!set && lstat(path, &st) < 0)
		printf("\n%s does not exist (the vault predates policies): these are the "
		       "defaults.\n",
		       path);
	if (set)
		printf("\nSaved to %s.  A running 'kurad serve' applies it at its next deletion "
		       "tick.\n",
		       path);
	approvers = count_approvers(dir);
	if (approvers < p.quorum)
		printf(
		    "\nNote: %u approver%s registered and the quorum is %u: no deletion can take "
		    "effect\nuntil there are more ('kurad approver add').\n",
		    approvers, approvers == 1 ? " is" : "s are", p.quorum);
	return EXIT_OK;
}
