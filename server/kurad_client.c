/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kurad_client.c - `kurad client add` (issue a credential) and `kurad
 * client revoke` (void one for good).
 */
#include "kurad_cmd.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend/vault_time.h"
#include "files.h"
#include "quarantine.h"
#include "request.h"
#include "vault_admin.h"
#include "vault_state.h"

static const char usage_client[] =
    "Usage: kurad client add DIR NAME --role ROLE [--repo REPO] --output FILE\n"
    "       kurad client revoke DIR NAME [--since TIME | --after SNAPSHOT]\n"
    "\n"
    "Issue a credential for client NAME and write it to FILE (mode 0600; never\n"
    "overwritten).  The vault keeps only the SHA-256 of its token, so the file is\n"
    "the only copy: move it to the client and delete it here.\n"
    "\n"
    "  --role ROLE    writer   adds backups to REPO; cannot read, change or delete them\n"
    "                 reader   reads REPO (restore hosts and restore drills)\n"
    "                 auditor  reads the audit log and the status\n"
    "  --repo REPO    the repository (writer and reader); created when new\n"
    "  --output FILE  where the credential is written\n"
    "\n"
    "'revoke' voids client NAME's token for good (a stolen backup client's, say):\n"
    "its record stays, marked revoked, so the name is never issued again.  A\n"
    "running 'kurad serve' takes new and revoked clients into effect within a\n"
    "second, and writes both to the audit log.\n"
    "\n"
    "  --since TIME   also quarantine everything NAME uploaded since TIME (by the\n"
    "                 vault's clock): RFC 3339 UTC (2026-11-25T21:40:00Z) or \"now\".\n"
    "                 The files are kept but hidden from every client; approvers\n"
    "                 release or remove them ('kurad quarantine').  Packs a snapshot\n"
    "                 outside the quarantine names stay visible.  On a client revoked\n"
    "                 already it only quarantines (run it again for uploads that\n"
    "                 were still in flight).\n"
    "  --after SNAPSHOT  the same for everything NAME uploaded after the vault\n"
    "                 received SNAPSHOT (an id or its first 8+ digits): the clean\n"
    "                 point, when the start of the compromise is not known (its\n"
    "                 own time is the client's clock, and the upload comes after).\n";

/*
 * `client revoke DIR NAME --since TIME` (or `--after SNAPSHOT`): revoke
 * (unless revoked already), then quarantine what NAME uploaded since then.
 */
static int revoke_since(const char *dir, const char *name, const char *since, const char *after)
{
	int64_t now = kura_now_ns(CLOCK_REALTIME), since_ns;
	quarantine_rec q;
	const char *why;
	char when[40];
	size_t n[KURA_FILE_TYPES] = {0};
	int err;

	if (after) {
		if (quarantine_after_snapshot(dir, name, after, &since_ns) < 0)
			return kurad_fail("--after");
	} else if (strcmp(since, "now") == 0) {
		since_ns = now;
	} else if ((why = kura_vault__parse_received(since, now, &since_ns)) != NULL) {
		return kurad_usage_error(usage_client,
					 "--since '%s': %s (want RFC 3339 UTC such as "
					 "2026-11-25T21:40:00Z, or \"now\")",
					 since, why);
	}
	err = vault_client_revoke(dir, name);
	if (err < 0 && err != KURA_EEXISTS)
		return kurad_fail(NULL);
	if (err == 0)
		printf("Revoked client '%s': its token opens nothing from now on (a running "
		       "kurad serve\nrefuses it within a second).\n",
		       name);
	else
		printf("Client '%s' was revoked already.\n", name);
	if (quarantine_make(dir, name, since_ns, now, &q) < 0)
		return kurad_fail("quarantine");
	files_format_time_s(when, since_ns);
	for (size_t i = 0; i < q.nfiles; i++)
		n[q.files[i].type]++;
	if (!q.id)
		printf("Nothing %s uploaded since %s is left to quarantine.\n", name, when);
	else
		printf("Quarantined %zu file(s) %s uploaded to repository %s since %s as record "
		       "%lu:\n  %zu snapshot(s), %zu index file(s), %zu pack(s), %zu other\n"
		       "They are kept but hidden from every client ('kurad quarantine list %s').\n",
		       q.nfiles, name, q.repo, when, q.id, n[KURA_FILE_SNAPSHOT],
		       n[KURA_FILE_INDEX], n[KURA_FILE_PACK],
		       n[KURA_FILE_CONFIG] + n[KURA_FILE_KEY], dir);
	if (q.nkept)
		printf("%zu pack(s) it uploaded stay visible: snapshots outside the quarantine "
		       "name them.\n",
		       q.nkept);
	quarantine_rec_free(&q);
	return EXIT_OK;
}

int kurad_cmd_client(int argc, char **argv)
{
	const char *role_s = NULL, *repo = NULL, *output = NULL, *since = NULL, *after = NULL,
		   *pos[3];
	const kurad_option opts[] = {{"--role", true, &role_s, NULL},
				     {"--repo", true, &repo, NULL},
				     {"--output", true, &output, NULL},
				     {"--since", true, &since, NULL},
				     {"--after", true, &after, NULL},
				     {NULL, false, NULL, NULL}};
	vault_role role;
	bool help;
	int npos, rc;

	if ((rc = kurad_parse_args(argc, argv, opts, pos, 3, &npos, &help, usage_client)) || help) {
		if (help)
			fputs(usage_client, stdout);
		return rc;
	}
	if (npos == 0)
		return kurad_usage_error(usage_client, "client needs a subcommand: add or revoke");
	if (strcmp(pos[0], "revoke") == 0) {
		if (npos != 3)
			return kurad_usage_error(
			    usage_client, "client revoke needs the vault directory and a name");
		if (role_s || repo || output)
			return kurad_usage_error(usage_client,
						 "client revoke takes no option but --since or "
						 "--after");
		if (since && after)
			return kurad_usage_error(usage_client,
						 "--since and --after are two ways to say one "
						 "time: give one");
		if (since || after)
			return revoke_since(pos[1], pos[2], since, after);
		if (vault_client_revoke(pos[1], pos[2]) < 0)
			return kurad_fail(NULL);
		printf("Revoked client '%s': its token opens nothing from now on (a running "
		       "kurad serve\nrefuses it within a second).\n",
		       pos[2]);
		return EXIT_OK;
	}
	if (since || after)
		return kurad_usage_error(usage_client, "%s belongs to client revoke",
					 since ? "--since" : "--after");
	if (strcmp(pos[0], "add") != 0)
		return kurad_usage_error(usage_client, "no client subcommand '%s'", pos[0]);
	if (npos != 3)
		return kurad_usage_error(usage_client,
					 "client add needs the vault directory and a name");
	if (!role_s)
		return kurad_usage_error(usage_client, "--role is required");
	if (!(role = vault_role_parse(role_s)))
		return kurad_usage_error(usage_client,
					 "unknown role '%s' (writer, reader, auditor)", role_s);
	if (role != VAULT_ROLE_AUDITOR && !repo)
		return kurad_usage_error(usage_client, "a %s needs --repo", role_s);
	if (role == VAULT_ROLE_AUDITOR && repo)
		return kurad_usage_error(usage_client, "an auditor has no repository: drop --repo");
	if (!output)
		return kurad_usage_error(usage_client,
					 "--output is required (the credential is shown "
					 "only once)");
	if (!vault_name_ok(pos[2]))
		return kurad_usage_error(usage_client,
					 "bad client name '%s' (lowercase letters, digits, "
					 ". _ -; starting with a letter or digit; at most %d)",
					 pos[2], VAULT_NAME_MAX);
	if (repo && !vault_name_ok(repo))
		return kurad_usage_error(
		    usage_client,
		    "bad repository name '%s' (lowercase letters, "
		    "digits, . _ -; starting with a letter or digit; at most %d)",
		    repo, VAULT_NAME_MAX);
	if (vault_client_add(pos[1], pos[2], role, repo, output) < 0)
		return kurad_fail(NULL);
	printf("Issued %s credential '%s'%s%s to %s.\n"
	       "It is the only copy of the token: move it to the client and delete it here.\n",
	       role_s, pos[2], repo ? " for repository " : "", repo ? repo : "", output);
	return EXIT_OK;
}
