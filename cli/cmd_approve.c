/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_approve.c - `kura approve ID --key FILE` and `kura cancel ID --key
 * FILE`: an approver signs a vault's deletion request on their own
 * machine (docs/PROTOCOL.md, "Remote approval").
 *
 * The vault's address and pin come from KURA_VAULT_CREDENTIALS (any
 * credential the vault issued; its token is not sent).  The request's
 * statement is fetched over HTTPS, parsed strictly, checked to name this
 * request, this action and the vault the key belongs to, and shown; after
 * the approver confirms (or --yes), the key is unsealed with its
 * passphrase (KURA_APPROVER_PASSWORD_FILE or the terminal) and the very
 * bytes fetched are signed.  Only the signature goes back.  What the
 * vault adds around the statement (who filed it, the approvals so far)
 * is shown as the vault's word, printable characters only.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kura/approve.h"
#include "kura/backend.h"

#define APPROVER_ENV "KURA_APPROVER_PASSWORD_FILE"

/* Text from the vault, printable only and bounded. */
static void put_vault_text(FILE *f, const char *s, size_t max)
{
	size_t i;

	if (!s) {
		fputs("?", f);
		return;
	}
	for (i = 0; s[i] && i < max; i++)
		fputc((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i], f);
	if (s[i])
		fputs("...", f);
}

static bool parse_id(const char *s, unsigned long *out)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 9 || s[n] || s[0] == '0')
		return false;
	*out = strtoul(s, NULL, 10);
	return true;
}

/* The vault's answer other than 200: say what it means.  Returns the exit status. */
static int refused(long status, const char *body, unsigned long id, bool post)
{
	json_t *doc = json_loads(body ? body : "", 0, NULL);
	const char *why = json_string_value(json_object_get(doc, "error"));
	int rc = CLI_EXIT_FATAL;

	fputs("kura: ", stderr);
	switch (status) {
	case 404:
		fprintf(stderr, "the vault has no deletion request %lu", id);
		break;
	case 409:
		fputs(post ? "the vault did not record the signature: "
			   : "the request cannot be signed: ",
		      stderr);
		put_vault_text(stderr, why, 400);
		break;
	case 403:
		fputs("the vault refused the signature: ", stderr);
		put_vault_text(stderr, why, 400);
		rc = CLI_EXIT_AUTH;
		break;
	case 429:
		fputs("the vault locked this address out after failed logins; try again later",
		      stderr);
		break;
	default:
		fprintf(stderr, "unexpected answer from the vault (HTTP %ld): ", status);
		put_vault_text(stderr, why ? why : "(no explanation)", 400);
		break;
	}
	fputc('\n', stderr);
	if (status == 404 && !why)
		fputs("hint: a kurad older than remote approvals answers 404 too\n", stderr);
	json_decref(doc);
	return rc;
}

/* What the request does, from the parsed statement; the rest is the vault's word. */
static void show(FILE *f, const kura_statement *st, json_t *doc, bool cancel)
{
	char tbuf[CLI_FMT_MAX], dbuf[CLI_FMT_MAX];
	json_int_t quorum = json_integer_value(json_object_get(doc, "quorum"));
	json_int_t valid = json_integer_value(json_object_get(doc, "approvals_valid"));
	json_int_t delay = json_integer_value(json_object_get(doc, "delay_s"));
	json_t *apps = json_object_get(doc, "approvals"), *a;
	size_t i;

	fprintf(f, "Deletion request %lu on repository %s\n", st->id, st->repo);
	fprintf(f, "  filed at %s by ", cli_fmt_time_local(tbuf, st->requested_ns / 1000000000));
	put_vault_text(f, json_string_value(json_object_get(doc, "requested_by")), 64);
	fputc('\n', f);
	if (st->kind == KURA_STATEMENT_DELETE) {
		fprintf(f, "  deletes %zu snapshot%s%s\n", st->nnames, st->nnames == 1 ? "" : "s",
			st->nnames ? ":" : "");
		for (i = 0; i < st->nnames; i++)
			fprintf(f, "    %s\n", st->names[i]);
		if (st->prune)
			fprintf(f, "  %s the packs no remaining snapshot lists (prune)\n",
				st->nnames ? "then" : "deletes");
	} else {
		fprintf(f, "  %s %zu quarantined file%s of quarantine record %lu\n",
			st->kind == KURA_STATEMENT_QUARANTINE_RELEASE ? "releases" : "removes",
			st->nnames, st->nnames == 1 ? "" : "s", st->quarantine_id);
	}
	fprintf(f, "  approvals: %" JSON_INTEGER_FORMAT " valid of %" JSON_INTEGER_FORMAT " needed",
		valid, quorum);
	json_array_foreach(apps, i, a)
	{
		fputs(i ? ", " : " (", f);
		put_vault_text(f, json_string_value(json_object_get(a, "approver")), 64);
		if (i + 1 == json_array_size(apps))
			fputc(')', f);
	}
	fputc('\n', f);
	if (cancel)
		fputs("  Cancelling ends it: nothing it names is deleted.\n", f);
	else if (quorum > 0 && valid + 1 >= quorum)
		fprintf(f,
			"  This approval completes the quorum: it takes effect %s after it,\n"
			"  unless an approver cancels it before then.\n",
			cli_fmt_duration_short(dbuf, delay > 0 ? (int64_t)delay : 0));
	else
		fprintf(f, "  It takes effect %s after the approval that completes the quorum.\n",
			cli_fmt_duration_short(dbuf, delay > 0 ? (int64_t)delay : 0));
}

/* The approver key at `path`, checked against the credential's vault where it says which. */
static int open_key(kura_approver_key **out, const char *path, const char *cred)
{
	uint8_t vk[KURA_VAULT_SIGNING_KEY_SIZE];
	int err;

	if ((err = kura_approver_key_read(out, path)) < 0)
		return cli_fail(err, "--key names the approver key file from 'kurad approver add'");
	if (!kura_approver_key_encrypted(*out))
		fprintf(stderr,
			"kura: warning: approver key %s is not protected by a passphrase (made by "
			"an older kurad); ask the vault's operator for a new one ('kurad approver "
			"add') and destroy this one\n",
			path);
	if ((err = kura_vault_signing_key(vk, cred)) == KURA_ENOTFOUND)
		return CLI_EXIT_OK; /* an older credential: the vault checks the key itself */
	if (err < 0)
		return cli_fail(err, NULL);
	if (!kura_approver_key_for_vault(*out, vk)) {
		fprintf(stderr,
			"kura: approver key %s belongs to another vault than the one in "
			"KURA_VAULT_CREDENTIALS (their vault signing keys differ); nothing was "
			"signed\n",
			path);
		return CLI_EXIT_AUTH;
	}
	return CLI_EXIT_OK;
}

/* The statement for this action, parsed and checked against what was asked. */
static int statement_of(json_t *doc, unsigned long id, bool cancel, const kura_approver_key *k,
			kura_statement *st, const char **out_text, size_t *out_len)
{
	json_t *text =
	    json_object_get(json_object_get(doc, "statements"), cancel ? "cancel" : "approve");
	int err;

	if (!json_is_string(text)) {
		fprintf(stderr, "kura: the vault's answer has no statement to %s\n",
			cancel ? "cancel" : "approve");
		return CLI_EXIT_FATAL;
	}
	*out_text = json_string_value(text);
	*out_len = json_string_length(text);
	if ((err = kura_statement_parse(st, *out_text, *out_len)) < 0)
		return cli_fail(err, "the vault sent a statement this kura cannot read; nothing "
				     "was signed");
	if (st->id != id || st->cancel != cancel ||
	    strcmp(st->vault_key, kura_approver_key_vault(k)) != 0) {
		fprintf(stderr,
			"kura: the vault sent a statement for %s request %lu of the vault with "
			"key %s, not to %s request %lu of this key's vault; nothing was signed\n",
			st->cancel ? "cancelling" : "approving", st->id, st->vault_key,
			cancel ? "cancel" : "approve", id);
		kura_statement_free(st);
		return CLI_EXIT_FATAL;
	}
	return CLI_EXIT_OK;
}

static int done_report(const struct cli_global *g, json_t *doc, unsigned long id, const char *name,
		       bool cancel)
{
	char tbuf[CLI_FMT_MAX];
	json_int_t eff = json_integer_value(json_object_get(doc, "effective_ns"));
	json_int_t quorum = json_integer_value(json_object_get(doc, "quorum"));
	json_int_t valid = json_integer_value(json_object_get(doc, "approvals_valid"));

	if (g->json)
		return cli_json_print(json_incref(doc));
	if (g->quiet)
		return CLI_EXIT_OK;
	if (cancel) {
		printf("Cancelled deletion request %lu as %s: nothing it names will be deleted.\n",
		       id, name);
		return CLI_EXIT_OK;
	}
	printf("Approved deletion request %lu as %s: %" JSON_INTEGER_FORMAT
	       " of %" JSON_INTEGER_FORMAT " approvals.\n",
	       id, name, valid, quorum);
	if (eff > 0)
		printf("The quorum is complete: it takes effect at about %s, unless an approver\n"
		       "cancels it before then ('kura cancel %lu --key FILE').\n",
		       cli_fmt_time_local(tbuf, (int64_t)(eff / 1000000000)), id);
	else
		printf("It needs %" JSON_INTEGER_FORMAT " more approval%s.\n",
		       quorum > valid ? quorum - valid : 0, quorum - valid == 1 ? "" : "s");
	return CLI_EXIT_OK;
}

static int sign_request(const struct cli_global *g, const struct cli_command *cmd, unsigned long id,
			const char *key_path, bool yes, bool cancel)
{
	char *pass = NULL, *post = NULL, question[96], prompt[128];
	const char *cred, *text = NULL;
	kura_approver_key *k = NULL;
	kura_statement st = {0};
	json_t *doc = NULL, *after = NULL;
	uint8_t *body = NULL;
	size_t len = 0, tlen = 0;
	long status = 0;
	int rc, err;

	if (!(cred = cli_vault_credential(cmd)))
		return CLI_EXIT_USAGE;
	if ((rc = open_key(&k, key_path, cred)) != CLI_EXIT_OK)
		goto done;
	if ((err = kura_vault_approval(cred, id, NULL, &status, &body, &len)) < 0) {
		rc = cli_fail(err, "nothing was signed");
		goto done;
	}
	if (status != 200) {
		rc = refused(status, (const char *)body, id, false);
		goto done;
	}
	/* json_is_object() is a macro that names its argument twice: parse first */
	doc = json_loadb((const char *)body, len, 0, NULL);
	if (!json_is_object(doc)) {
		fputs("kura: the vault's answer is not a JSON object; nothing was signed\n",
		      stderr);
		rc = CLI_EXIT_FATAL;
		goto done;
	}
	if ((rc = statement_of(doc, id, cancel, k, &st, &text, &tlen)) != CLI_EXIT_OK)
		goto done;
	show(g->json ? stderr : stdout, &st, doc, cancel);
	if (!yes) {
		snprintf(question, sizeof(question), "%s deletion request %lu? Type yes to sign: ",
			 cancel ? "Cancel" : "Approve", id);
		fflush(stdout);
		if ((rc = cli_tty_confirm(question)) != 1) {
			fputs(rc < 0
				  ? "kura: no terminal to confirm on: pass --yes to sign without "
				    "asking; nothing was signed\n"
				  : "kura: not confirmed; nothing was signed\n",
			      stderr);
			rc = rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_FATAL;
			goto done;
		}
	}
	if (kura_approver_key_encrypted(k)) {
		if (!(pass = malloc(CLI_PASSPHRASE_MAX))) {
			fputs("kura: out of memory\n", stderr);
			rc = CLI_EXIT_FATAL;
			goto done;
		}
		snprintf(prompt, sizeof(prompt),
			 "passphrase of approver key %.64s: ", kura_approver_key_name(k));
		if ((rc = cli_passphrase_read_env(APPROVER_ENV, pass, CLI_PASSPHRASE_MAX, prompt,
						  false)) != CLI_EXIT_OK)
			goto done;
		if ((err = kura_approver_key_unlock(k, pass)) < 0) {
			rc = cli_fail(err, err == KURA_EAUTH ? "check " APPROVER_ENV
							       " or retype it; nothing was signed"
							     : "nothing was signed");
			goto done;
		}
	}
	if ((err = kura_approval_body(&post, k, cancel, text, tlen)) < 0) {
		rc = cli_fail(err, NULL);
		goto done;
	}
	free(body);
	body = NULL;
	if ((err = kura_vault_approval(cred, id, post, &status, &body, &len)) < 0) {
		rc = cli_fail(err, "the signature may not have arrived: 'kura approve' again says "
				   "whether it did");
		goto done;
	}
	if (status != 200) {
		rc = refused(status, (const char *)body, id, true);
		goto done;
	}
	after = json_loadb((const char *)body, len, 0, NULL);
	rc = done_report(g, json_is_object(after) ? after : doc, id, kura_approver_key_name(k),
			 cancel);
done:
	if (pass) {
		cli_passphrase_wipe(pass, CLI_PASSPHRASE_MAX);
		free(pass);
	}
	kura_statement_free(&st);
	kura_approver_key_free(k);
	json_decref(doc);
	json_decref(after);
	free(post);
	free(body);
	return rc;
}

static int run_common(const struct cli_command *cmd, struct cli_global *g, int argc, char **argv,
		      bool cancel)
{
	static const struct option longs[] = {{"key", required_argument, NULL, 'k'},
					      {"yes", no_argument, NULL, 'y'},
					      {NULL, 0, NULL, 0}};
	struct cli_getopt p;
	const char *key = NULL;
	unsigned long id;
	bool yes = false;
	int c;

	cli_getopt_init(&p, g, cmd, argc, argv, "k:y", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == 'k')
			key = p.arg;
		else if (c == 'y')
			yes = true;
	}
	if (optind + 1 != argc)
		return cli_usage_error(cmd,
				       "%s needs one request id ('kurad deletions' or 'kura "
				       "vault status' lists them)",
				       cmd->name);
	if (!parse_id(argv[optind], &id))
		return cli_usage_error(cmd, "bad request id '%s' (1 to 999999999)", argv[optind]);
	if (!key)
		return cli_usage_error(cmd, "--key is required (the approver key file)");
	return sign_request(g, cmd, id, key, yes, cancel);
}

static int run_approve(struct cli_global *g, int argc, char **argv)
{
	return run_common(&cli_cmd_approve, g, argc, argv, false);
}

static int run_cancel(struct cli_global *g, int argc, char **argv)
{
	return run_common(&cli_cmd_cancel, g, argc, argv, true);
}

#define ENV_HELP                                                                                   \
	"Environment:\n"                                                                           \
	"  KURA_VAULT_CREDENTIALS       a credential of the vault (an auditor's is best):\n"       \
	"                               its address and pin; its token is not sent\n"              \
	"  KURA_APPROVER_PASSWORD_FILE  the approver key's passphrase (first line);\n"             \
	"                               asked on the terminal otherwise\n"

const struct cli_command cli_cmd_approve = {
    .name = "approve",
    .summary = "sign a vault's deletion request with an approver key",
    .usage = "kura approve ID --key FILE [--yes] [--json]",
    .help = "Fetch deletion request ID from the vault, show what it deletes and when it\n"
	    "would take effect, and after you confirm, sign its statement here with the\n"
	    "approver key and send the signature.  The request takes effect once a quorum\n"
	    "of approvers signed and the vault's delay passed.\n"
	    "\n"
	    "  -k, --key FILE  the approver key file from 'kurad approver add'\n"
	    "  -y, --yes       sign without asking (scripts)\n"
	    "\n" ENV_HELP,
    .run = run_approve,
};

const struct cli_command cli_cmd_cancel = {
    .name = "cancel",
    .summary = "cancel a vault's pending deletion request with an approver key",
    .usage = "kura cancel ID --key FILE [--yes] [--json]",
    .help = "Fetch deletion request ID from the vault, show it, and after you confirm,\n"
	    "sign its cancellation here with the approver key: nothing it names is\n"
	    "deleted.  One approver is enough to cancel.\n"
	    "\n"
	    "  -k, --key FILE  the approver key file from 'kurad approver add'\n"
	    "  -y, --yes       cancel without asking (scripts)\n"
	    "\n" ENV_HELP,
    .run = run_cancel,
};
