/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kurad_approver.c - `kurad approver add` (an approver's key pair) and the
 * approvers' signatures on deletion requests: `kurad approve` and `kurad
 * cancel`.
 */
#include "kurad_cmd.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "approvers.h"
#include "deletion_sign.h"
#include "vault_state.h"

static const char usage_approver[] =
    "Usage: kurad approver add DIR NAME --output FILE [--kdf PROFILE]\n"
    "\n"
    "Create approver NAME: an Ed25519 key pair whose public half is registered in\n"
    "DIR/approvers/NAME.json and whose secret half is written to FILE (mode 0600;\n"
    "never overwritten), sealed under a passphrase (Argon2id; weak ones are\n"
    "refused) read from the file named by KURA_APPROVER_PASSWORD_FILE or asked\n"
    "twice on the terminal.  The approver signs with it on their own machine\n"
    "('kura approve ID --key FILE') or here ('kurad approve').  A deletion takes effect only when a quorum of approvers\n"
    "(the policy's \"quorum\") have approved it with their keys, and the policy's\n"
    "delay has passed; any one of them can cancel it until then.  Give each\n"
    "approver their own key and keep it off the vault host and off the backed-up\n"
    "hosts: whoever holds a quorum of keys can delete backups.\n"
    "\n"
    "  --output FILE  where the approver key is written\n"
    "  --kdf PROFILE  Argon2id cost: interactive, moderate (default) or sensitive\n";

static const char usage_approve[] =
    "Usage: kurad approve DIR ID --key FILE\n"
    "\n"
    "Sign deletion request ID (see 'kurad deletions DIR') with the approver key in\n"
    "FILE and record the approval.  Prints what the request deletes and when it\n"
    "takes effect: 'kurad serve' carries it out once the quorum is complete and\n"
    "the policy's delay has passed.  Each approver approves a request once.\n"
    "Requests to release or remove quarantined files ('kurad quarantine') are\n"
    "approved the same way.\n"
    "\n"
    "  --key FILE  an approver key from 'kurad approver add' (its passphrase from\n"
    "              KURA_APPROVER_PASSWORD_FILE or the terminal)\n";

static const char usage_cancel[] =
    "Usage: kurad cancel DIR ID --key FILE\n"
    "\n"
    "Cancel pending deletion request ID with the approver key in FILE: nothing it\n"
    "names is deleted.  One approver is enough to cancel; a cancelled request\n"
    "stays on record.\n"
    "\n"
    "  --key FILE  an approver key from 'kurad approver add' (its passphrase from\n"
    "              KURA_APPROVER_PASSWORD_FILE or the terminal)\n";

int kurad_cmd_approver(int argc, char **argv)
{
	const char *output = NULL, *kdf = NULL, *pos[3];
	const kurad_option opts[] = {{"--output", true, &output, NULL},
				     {"--kdf", true, &kdf, NULL},
				     {NULL, false, NULL, NULL}};
	int npos, rc, profile = KURA_KDF_MODERATE;
	bool help;

	if ((rc = kurad_parse_args(argc, argv, opts, pos, 3, &npos, &help, usage_approver)) ||
	    help) {
		if (help)
			fputs(usage_approver, stdout);
		return rc;
	}
	if (npos == 0)
		return kurad_usage_error(usage_approver, "approver needs a subcommand: add");
	if (strcmp(pos[0], "add") != 0)
		return kurad_usage_error(usage_approver, "no approver subcommand '%s'", pos[0]);
	if (npos != 3)
		return kurad_usage_error(usage_approver,
					 "approver add needs the vault directory and a name");
	if (!output)
		return kurad_usage_error(usage_approver,
					 "--output is required (the key is shown only "
					 "once)");
	if (!vault_name_ok(pos[2]))
		return kurad_usage_error(
		    usage_approver,
		    "bad approver name '%s' (lowercase letters, "
		    "digits, . _ -; starting with a letter or digit; at most %d)",
		    pos[2], VAULT_NAME_MAX);
	if (kdf) {
		if (strcmp(kdf, "interactive") == 0)
			profile = KURA_KDF_INTERACTIVE;
		else if (strcmp(kdf, "sensitive") == 0)
			profile = KURA_KDF_SENSITIVE;
		else if (strcmp(kdf, "moderate") != 0)
			return kurad_usage_error(usage_approver,
						 "--kdf is interactive, moderate or sensitive, "
						 "not '%s'",
						 kdf);
	}
	if (approvers_add(pos[1], pos[2], output, profile) < 0)
		return kurad_fail(NULL);
	printf("Created approver '%s'; the key is in %s, sealed under its passphrase.\n"
	       "It is the only copy: give it to the approver, keep it off the vault host and\n"
	       "the backed-up hosts, and delete it here.  The approver signs from their own\n"
	       "machine with 'kura approve ID --key FILE' (and 'kura cancel').\n",
	       pos[2], output);
	return EXIT_OK;
}

/* A request id: 1 to 999999999, decimal digits only. */
static int sign_command(int argc, char **argv, bool cancel)
{
	const char *usage = cancel ? usage_cancel : usage_approve, *key = NULL, *pos[2];
	const kurad_option opts[] = {{"--key", true, &key, NULL}, {NULL, false, NULL, NULL}};
	struct timespec ts;
	unsigned long id;
	char *summary = NULL;
	bool help;
	int npos, rc;

	if ((rc = kurad_parse_args(argc, argv, opts, pos, 2, &npos, &help, usage)) || help) {
		if (help)
			fputs(usage, stdout);
		return rc;
	}
	if (npos != 2)
		return kurad_usage_error(usage, "%s needs the vault directory and a request id",
					 cancel ? "cancel" : "approve");
	if (!kurad_parse_id(pos[1], &id))
		return kurad_usage_error(usage, "bad request id '%s'", pos[1]);
	if (!key)
		return kurad_usage_error(usage, "--key is required (an approver key)");
	clock_gettime(CLOCK_REALTIME, &ts);
	if (deletion_sign(pos[0], id, key, cancel, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
			  &summary) < 0)
		return kurad_fail(NULL);
	fputs(summary, stdout);
	free(summary);
	return EXIT_OK;
}

int kurad_cmd_approve(int argc, char **argv)
{
	return sign_command(argc, argv, false);
}

int kurad_cmd_cancel(int argc, char **argv)
{
	return sign_command(argc, argv, true);
}
