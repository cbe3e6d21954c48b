/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - the `kurad` command: create a vault, issue credentials, serve,
 * show status and verify the audit log.
 *
 *	kurad init DIR [--listen ADDR:PORT]
 *	kurad serve DIR [--listen ADDR:PORT]
 *	kurad client add DIR NAME --role writer|reader|auditor [--repo REPO] --output FILE
 *	kurad client revoke DIR NAME
 *	kurad status DIR [--json]
 *	kurad approver add DIR NAME --output FILE
 *	kurad approve DIR ID --key FILE
 *	kurad cancel DIR ID --key FILE
 *	kurad deletions DIR [--json]
 *	kurad policy [set] DIR [--json] [--min-age D] [--keep-daily N] ... [--delay D]
 *	kurad log verify DIR
 *	kurad alert list DIR [--all] [--json] | resolve DIR ID --key FILE  (alert_cli.c)
 *	kurad version
 *
 * Every command takes --help (printed to stdout, status 0).  Exit status:
 * 0 success, 1 error, 2 usage error, 4 the audit log failed verification.
 * Errors go to stderr as "kurad: message"; nothing secret is ever printed
 * except the credential written to the file the operator names.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "alert_cli.h"
#include "audit.h"
#include "common/error.h"
#include "approvers.h"
#include "deletion_intake.h"
#include "deletion_sign.h"
#include "http.h"
#include "policy.h"
#include "status.h"
#include "drills.h"
#include "vault_admin.h"
#include "vault_state.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_LOG_BAD = 4 };

static const char usage_all[] =
	"Usage: kurad COMMAND [ARGS...]\n"
	"\n"
	"kurad is the kura vault: it stores repositories that backup clients can only\n"
	"add to, holds no key that decrypts them, and logs every request in a\n"
	"tamper-evident audit log.\n"
	"\n"
	"Commands:\n"
	"  init DIR [--listen ADDR:PORT]        create a vault (default 127.0.0.1:7443)\n"
	"  serve DIR [--listen ADDR:PORT] [--accept-log-rollback]\n"
	"                                       serve the vault over HTTPS\n"
	"  client add DIR NAME --role ROLE [--repo REPO] --output FILE\n"
	"                                       issue a credential (writer, reader, auditor)\n"
	"  client revoke DIR NAME               void a client's token for good\n"
	"  status DIR [--json]                  repositories, clients, deletions, alerts\n"
	"  log verify DIR                       check the audit log's chain and signatures\n"
	"  approver add DIR NAME --output FILE  create an approver key for deletions\n"
	"  approve DIR ID --key FILE            approve deletion request ID\n"
	"  cancel DIR ID --key FILE             cancel deletion request ID\n"
	"  deletions DIR [--json]               list deletion requests\n"
	"  policy [set] DIR [OPTIONS]           show or change the deletion policy\n"
	"  alert list|resolve DIR ...           the vault's alerts; resolve needs a quorum\n"
	"  version                              print the version\n"
	"\n"
	"Exit status: 0 success, 1 error, 2 usage error, 4 audit log verification failed.\n"
	"See kurad(8) for details.\n";

static const char usage_init[] =
	"Usage: kurad init DIR [--listen ADDR:PORT]\n"
	"\n"
	"Create a vault in DIR (missing or empty): settings, a TLS key and self-signed\n"
	"certificate, an Ed25519 key that signs the audit log's checkpoints, and empty\n"
	"clients, repos, meta and audit directories.  Prints the TLS pin that client\n"
	"credentials carry.  There are no default credentials: issue them with\n"
	"'kurad client add'.\n"
	"\n"
	"  --listen ADDR:PORT  where 'serve' listens: A.B.C.D:PORT or [IPv6]:PORT\n"
	"                      (default 127.0.0.1:7443)\n";

static const char usage_serve[] =
	"Usage: kurad serve DIR [--listen ADDR:PORT] [--accept-log-rollback]\n"
	"\n"
	"Serve the vault in DIR over HTTPS until SIGINT or SIGTERM; then finish the\n"
	"running requests and close the audit log with a signed checkpoint.  Refuses\n"
	"to start when the audit log no longer holds the head recorded last in\n"
	"DIR/audit/head (the log was cut back or replaced by an older copy).\n"
	"\n"
	"  --listen ADDR:PORT     listen here instead of the address in DIR/vault.json\n"
	"  --accept-log-rollback  start anyway (a disk restored from a backup); the\n"
	"                         lost head is logged as ACCEPT-LOG-ROLLBACK\n";

static const char usage_client[] =
	"Usage: kurad client add DIR NAME --role ROLE [--repo REPO] --output FILE\n"
	"       kurad client revoke DIR NAME\n"
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
	"second, and writes both to the audit log.\n";

static const char usage_status[] =
	"Usage: kurad status DIR [--json]\n"
	"\n"
	"Show the vault's repositories (files, bytes, snapshots, when the last snapshot\n"
	"was received), its clients, pending deletions and alerts.  Safe to run while 'kurad serve' is running.\n"
	"\n"
	"  --json  print JSON for scripts\n";

static const char usage_policy[] =
	"Usage: kurad policy DIR [--json]\n"
	"       kurad policy set DIR [--min-age D] [--keep-daily N] [--keep-weekly N]\n"
	"                            [--keep-monthly N] [--quorum N] [--delay D]\n"
	"                            [--drill-every D] [--json]\n"
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
	"  --json            print the policy as JSON\n";

static const char usage_log[] =
	"Usage: kurad log verify DIR\n"
	"\n"
	"Recompute the hash chain of DIR/audit/log.jsonl and check every checkpoint's\n"
	"signature with DIR/signing.pub.  Each problem is printed with its line number;\n"
	"entries after the last checkpoint are reported as not yet covered.  Exit\n"
	"status 4 if a problem was found.\n";

static const char usage_approver[] =
	"Usage: kurad approver add DIR NAME --output FILE\n"
	"\n"
	"Create approver NAME: an Ed25519 key pair whose public half is registered in\n"
	"DIR/approvers/NAME.json and whose secret half is written to FILE (mode 0600;\n"
	"never overwritten).  A deletion takes effect only when a quorum of approvers\n"
	"(the policy's \"quorum\") have approved it with their keys, and the policy's\n"
	"delay has passed; any one of them can cancel it until then.  Give each\n"
	"approver their own key and keep it off the vault host and off the backed-up\n"
	"hosts: whoever holds a quorum of keys can delete backups.\n"
	"\n"
	"  --output FILE  where the approver key is written\n";

static const char usage_approve[] =
	"Usage: kurad approve DIR ID --key FILE\n"
	"\n"
	"Sign deletion request ID (see 'kurad deletions DIR') with the approver key in\n"
	"FILE and record the approval.  Prints what the request deletes and when it\n"
	"takes effect: 'kurad serve' carries it out once the quorum is complete and\n"
	"the policy's delay has passed.  Each approver approves a request once.\n"
	"\n"
	"  --key FILE  an approver key from 'kurad approver add'\n";

static const char usage_cancel[] =
	"Usage: kurad cancel DIR ID --key FILE\n"
	"\n"
	"Cancel pending deletion request ID with the approver key in FILE: nothing it\n"
	"names is deleted.  One approver is enough to cancel; a cancelled request\n"
	"stays on record.\n"
	"\n"
	"  --key FILE  an approver key from 'kurad approver add'\n";

static const char usage_deletions[] =
	"Usage: kurad deletions DIR [--json]\n"
	"\n"
	"List the vault's deletion requests, oldest first: what each deletes, who filed\n"
	"it, its approvals (valid ones counted against the quorum), when it takes\n"
	"effect, and for finished ones what was removed.  Safe to run while 'kurad\n"
	"serve' is running.\n"
	"\n"
	"  --json  print JSON for scripts\n";

static int usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("kurad: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

static int fail(const char *what)
{
	if (what)
		fprintf(stderr, "kurad: %s: %s\n", what, kura_error_message());
	else
		fprintf(stderr, "kurad: %s\n", kura_error_message());
	return EXIT_ERROR;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */

typedef struct {
	const char *name; /* "--listen" */
	bool has_value;
	const char **value; /* has_value: where the value goes */
	bool *flag;         /* !has_value: set when given */
} option;

/*
 * Split argv (after the command words) into options and positional
 * arguments.  "--opt VALUE" and "--opt=VALUE" both work; "--" ends the
 * options.  *help is set by -h/--help.  Returns EXIT_OK or EXIT_USAGE
 * (message printed).
 */
static int parse_args(int argc, char **argv, const option *opts, const char **pos, int max_pos,
		      int *npos, bool *help, const char *usage)
{
	bool only_pos = false;
	int i, j;

	*npos = 0;
	*help = false;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *eq;
		size_t nlen;

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (*npos >= max_pos)
				return usage_error(usage, "unexpected argument '%s'", a);
			pos[(*npos)++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			*help = true;
			return EXIT_OK;
		}
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (j = 0; opts && opts[j].name; j++)
			if (strlen(opts[j].name) == nlen && strncmp(opts[j].name, a, nlen) == 0)
				break;
		if (!opts || !opts[j].name)
			return usage_error(usage, "unknown option '%s'", a);
		if (!opts[j].has_value) {
			if (eq)
				return usage_error(usage, "%s takes no value", opts[j].name);
			*opts[j].flag = true;
		} else if (eq) {
			*opts[j].value = eq + 1;
		} else if (i + 1 < argc) {
			*opts[j].value = argv[++i];
		} else {
			return usage_error(usage, "%s needs a value", opts[j].name);
		}
	}
	return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */

static int cmd_init(int argc, char **argv)
{
	const char *listen = NULL, *pos[1];
	const option opts[] = {{"--listen", true, &listen, NULL}, {NULL, false, NULL, NULL}};
	char *pin = NULL;
	bool help;
	int npos, rc;

	if ((rc = parse_args(argc, argv, opts, pos, 1, &npos, &help, usage_init)) || help) {
		if (help)
			fputs(usage_init, stdout);
		return rc;
	}
	if (npos != 1)
		return usage_error(usage_init, "init needs the vault directory");
	if (vault_init(pos[0], listen, &pin) < 0)
		return fail(pos[0]);
	printf("Created the vault in %s (it will listen on %s).\n"
	       "TLS pin: %s\n"
	       "\n"
	       "Next steps:\n"
	       "  kurad client add %s NAME --role writer --repo REPO --output NAME.credential\n"
	       "      and move the credential to the backup client (then delete it here);\n"
	       "  kurad serve %s\n",
	       pos[0], listen ? listen : "127.0.0.1:7443", pin, pos[0], pos[0]);
	free(pin);
	return EXIT_OK;
}

/*
 * Set by SIGINT/SIGTERM, which may arrive on any thread (libmicrohttpd's
 * included): a lock-free atomic is both async-signal-safe and race-free.
 */
static atomic_int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

static int cmd_serve(int argc, char **argv)
{
	const char *listen = NULL, *pos[1];
	bool accept_rollback = false, help;
	const option opts[] = {{"--listen", true, &listen, NULL},
			       {"--accept-log-rollback", false, NULL, &accept_rollback},
			       {NULL, false, NULL, NULL}};
	struct sigaction sa;
	vault *v = NULL;
	int npos, rc, err;

	if ((rc = parse_args(argc, argv, opts, pos, 1, &npos, &help, usage_serve)) || help) {
		if (help)
			fputs(usage_serve, stdout);
		return rc;
	}
	if (npos != 1)
		return usage_error(usage_serve, "serve needs the vault directory");
	if (vault_open_serve(&v, pos[0], accept_rollback) < 0)
		return fail(pos[0]);
	if (listen && vault_set_listen(v, listen) < 0) {
		vault_free(v);
		return usage_error(usage_serve, "%s", kura_error_message());
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "kurad: serving %s on %s\n", pos[0], vault_listen_addr(v));
	err = vault_http_serve(v, &stop_flag);
	if (err < 0)
		fail("serve");
	else
		fprintf(stderr, "kurad: stopped\n");
	/* Closes the audit log with a signed checkpoint. */
	vault_free(v);
	return err < 0 ? EXIT_ERROR : EXIT_OK;
}

static int cmd_client(int argc, char **argv)
{
	const char *role_s = NULL, *repo = NULL, *output = NULL, *pos[3];
	const option opts[] = {{"--role", true, &role_s, NULL},
			       {"--repo", true, &repo, NULL},
			       {"--output", true, &output, NULL},
			       {NULL, false, NULL, NULL}};
	vault_role role;
	bool help;
	int npos, rc;

	if ((rc = parse_args(argc, argv, opts, pos, 3, &npos, &help, usage_client)) || help) {
		if (help)
			fputs(usage_client, stdout);
		return rc;
	}
	if (npos == 0)
		return usage_error(usage_client, "client needs a subcommand: add or revoke");
	if (strcmp(pos[0], "revoke") == 0) {
		if (npos != 3)
			return usage_error(usage_client,
					   "client revoke needs the vault directory and a name");
		if (role_s || repo || output)
			return usage_error(usage_client, "client revoke takes no options");
		if (vault_client_revoke(pos[1], pos[2]) < 0)
			return fail(NULL);
		printf("Revoked client '%s': its token opens nothing from now on (a running "
		       "kurad serve\nrefuses it within a second).\n",
		       pos[2]);
		return EXIT_OK;
	}
	if (strcmp(pos[0], "add") != 0)
		return usage_error(usage_client, "no client subcommand '%s'", pos[0]);
	if (npos != 3)
		return usage_error(usage_client, "client add needs the vault directory and a name");
	if (!role_s)
		return usage_error(usage_client, "--role is required");
	if (!(role = vault_role_parse(role_s)))
		return usage_error(usage_client, "unknown role '%s' (writer, reader, auditor)",
				   role_s);
	if (role != VAULT_ROLE_AUDITOR && !repo)
		return usage_error(usage_client, "a %s needs --repo", role_s);
	if (role == VAULT_ROLE_AUDITOR && repo)
		return usage_error(usage_client, "an auditor has no repository: drop --repo");
	if (!output)
		return usage_error(usage_client, "--output is required (the credential is shown "
				   "only once)");
	if (!vault_name_ok(pos[2]))
		return usage_error(usage_client, "bad client name '%s' (lowercase letters, digits, "
				   ". _ -; starting with a letter or digit; at most %d)", pos[2],
				   VAULT_NAME_MAX);
	if (repo && !vault_name_ok(repo))
		return usage_error(usage_client, "bad repository name '%s' (lowercase letters, "
				   "digits, . _ -; starting with a letter or digit; at most %d)",
				   repo, VAULT_NAME_MAX);
	if (vault_client_add(pos[1], pos[2], role, repo, output) < 0)
		return fail(NULL);
	printf("Issued %s credential '%s'%s%s to %s.\n"
	       "It is the only copy of the token: move it to the client and delete it here.\n",
	       role_s, pos[2], repo ? " for repository " : "", repo ? repo : "", output);
	return EXIT_OK;
}

static void human_bytes(char out[32], uint64_t n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double d = (double)n;
	int u = 0;

	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, 32, "%" PRIu64 " B", n);
	else
		snprintf(out, 32, "%.1f %s", d, units[u]);
}

/* RFC 3339 UTC, to the second, of a JSON integer of nanoseconds. */
static const char *ns_time(const json_t *ns, char out[40])
{
	time_t sec;
	struct tm tm;

	if (!json_is_integer(ns))
		return NULL;
	sec = (time_t)(json_integer_value(ns) / 1000000000);
	gmtime_r(&sec, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

/* One line per pending request (the table of `kurad status`). */
static void print_pending(const json_t *dels)
{
	const json_t *d;
	size_t i, shown = 0;
	char when[40];

	json_array_foreach(dels, i, d) {
		const char *eff = ns_time(json_object_get(d, "effective_ns"), when);
		char approvals[32];

		if (strcmp(jstr(d, "state"), "pending") != 0)
			continue;
		if (shown++ == 0)
			printf("%-6s %-16s %-16s %9s %5s %9s  %s\n", "ID", "REPOSITORY",
			       "REQUESTED BY", "SNAPSHOTS", "PRUNE", "APPROVALS", "TAKES EFFECT");
		snprintf(approvals, sizeof(approvals), "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(d, "approvals_valid")),
			 json_integer_value(json_object_get(d, "quorum")));
		printf("%-6" JSON_INTEGER_FORMAT " %-16s %-16s %9zu %5s %9s  %s\n",
		       json_integer_value(json_object_get(d, "id")), jstr(d, "repo"),
		       jstr(d, "requested_by"), json_array_size(json_object_get(d, "snapshots")),
		       json_is_true(json_object_get(d, "prune")) ? "yes" : "no", approvals,
		       eff ? eff : "waiting for approvals");
	}
	json_array_foreach(dels, i, d)
		if (strcmp(jstr(d, "state"), "corrupt") == 0)
			printf("deletion request %" JSON_INTEGER_FORMAT " cannot be read: %s\n",
			       json_integer_value(json_object_get(d, "id")), jstr(d, "error"));
	if (!shown)
		printf("No pending deletion requests.\n");
}

/*
 * The operator's table.  `kura vault status` (cli/cmd_vault.c) prints the
 * same document for an auditor, and is kept apart on purpose: it shows
 * times in the auditor's local zone and sizes as the kura command does,
 * and leaves out what only the vault host sees (last backup per client,
 * revocation, pending deletions); a shared renderer would change one of
 * the two outputs, which scripts and the tests read.
 */
static void print_status(const vault *v, const json_t *doc)
{
	const json_t *repos = json_object_get(doc, "repositories");
	const json_t *clients = json_object_get(doc, "clients");
	const json_t *r;
	const char *when;
	char size[32];
	size_t i;

	printf("Vault %s, listening on %s\n\n", vault_dir(v), vault_listen_addr(v));
	if (json_array_size(repos) == 0)
		printf("No repositories yet.\n");
	else
		printf("%-24s %10s %12s %10s  %s\n", "REPOSITORY", "FILES", "SIZE", "SNAPSHOTS",
		       "LAST SNAPSHOT RECEIVED");
	json_array_foreach(repos, i, r) {
		human_bytes(size, (uint64_t)json_integer_value(json_object_get(r, "bytes")));
		when = json_string_value(json_object_get(r, "last_snapshot_received"));
		printf("%-24s %10" JSON_INTEGER_FORMAT " %12s %10" JSON_INTEGER_FORMAT "  %s\n",
		       json_string_value(json_object_get(r, "name")),
		       json_integer_value(json_object_get(r, "files")), size,
		       json_integer_value(json_object_get(r, "snapshots")), when ? when : "never");
	}
	putchar('\n');
	drills_print(repos);
	if (json_array_size(clients) == 0)
		printf("No clients yet: issue one with 'kurad client add'.\n");
	else
		printf("%-24s %-8s  %-24s %s\n", "CLIENT", "ROLE", "REPOSITORY", "LAST BACKUP");
	json_array_foreach(clients, i, r) {
		const char *repo = json_string_value(json_object_get(r, "repo"));
		const char *last = json_string_value(json_object_get(r, "last_backup"));
		const char *role = jstr(r, "role");

		printf("%-24s %-8s  %-24s %s%s\n", jstr(r, "name"), role, repo ? repo : "-",
		       last ? last : strcmp(role, "writer") == 0 ? "never" : "-",
		       json_is_true(json_object_get(r, "revoked")) ? "  (revoked)" : "");
	}
	putchar('\n');
	print_pending(json_object_get(doc, "deletions"));
	putchar('\n');
	alert_cli_print(json_object_get(doc, "alerts"), true);
}

static int cmd_status(int argc, char **argv)
{
	const char *pos[1];
	bool json = false, help;
	const option opts[] = {{"--json", false, NULL, &json}, {NULL, false, NULL, NULL}};
	vault *v = NULL;
	json_t *doc = NULL;
	char *text = NULL;
	int npos, rc = EXIT_OK;

	if ((rc = parse_args(argc, argv, opts, pos, 1, &npos, &help, usage_status)) || help) {
		if (help)
			fputs(usage_status, stdout);
		return rc;
	}
	if (npos != 1)
		return usage_error(usage_status, "status needs the vault directory");
	if (vault_open_readonly(&v, pos[0]) < 0)
		return fail(pos[0]);
	if (status_json(v, &text) < 0) {
		rc = fail(pos[0]);
		goto done;
	}
	if (json) {
		printf("%s\n", text);
		goto done;
	}
	if (!(doc = json_loads(text, 0, NULL))) {
		fprintf(stderr, "kurad: status: cannot read back the status\n");
		rc = EXIT_ERROR;
		goto done;
	}
	print_status(v, doc);
done:
	json_decref(doc);
	free(text);
	vault_free(v);
	return rc;
}

static int cmd_approver(int argc, char **argv)
{
	const char *output = NULL, *pos[3];
	const option opts[] = {{"--output", true, &output, NULL}, {NULL, false, NULL, NULL}};
	bool help;
	int npos, rc;

	if ((rc = parse_args(argc, argv, opts, pos, 3, &npos, &help, usage_approver)) || help) {
		if (help)
			fputs(usage_approver, stdout);
		return rc;
	}
	if (npos == 0)
		return usage_error(usage_approver, "approver needs a subcommand: add");
	if (strcmp(pos[0], "add") != 0)
		return usage_error(usage_approver, "no approver subcommand '%s'", pos[0]);
	if (npos != 3)
		return usage_error(usage_approver,
				   "approver add needs the vault directory and a name");
	if (!output)
		return usage_error(usage_approver, "--output is required (the key is shown only "
				   "once)");
	if (!vault_name_ok(pos[2]))
		return usage_error(usage_approver, "bad approver name '%s' (lowercase letters, "
				   "digits, . _ -; starting with a letter or digit; at most %d)",
				   pos[2], VAULT_NAME_MAX);
	if (approvers_add(pos[1], pos[2], output) < 0)
		return fail(NULL);
	printf("Created approver '%s'; the key is in %s.\n"
	       "It is the only copy: give it to the approver, keep it off the vault host and\n"
	       "the backed-up hosts, and delete it here.\n",
	       pos[2], output);
	return EXIT_OK;
}

/* A request id: 1 to 999999999, decimal digits only. */
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

static int sign_command(int argc, char **argv, bool cancel)
{
	const char *usage = cancel ? usage_cancel : usage_approve, *key = NULL, *pos[2];
	const option opts[] = {{"--key", true, &key, NULL}, {NULL, false, NULL, NULL}};
	struct timespec ts;
	unsigned long id;
	char *summary = NULL;
	bool help;
	int npos, rc;

	if ((rc = parse_args(argc, argv, opts, pos, 2, &npos, &help, usage)) || help) {
		if (help)
			fputs(usage, stdout);
		return rc;
	}
	if (npos != 2)
		return usage_error(usage, "%s needs the vault directory and a request id",
				   cancel ? "cancel" : "approve");
	if (!parse_id(pos[1], &id))
		return usage_error(usage, "bad request id '%s'", pos[1]);
	if (!key)
		return usage_error(usage, "--key is required (an approver key)");
	clock_gettime(CLOCK_REALTIME, &ts);
	if (deletion_sign(pos[0], id, key, cancel,
			  (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, &summary) < 0)
		return fail(NULL);
	fputs(summary, stdout);
	free(summary);
	return EXIT_OK;
}

static int cmd_approve(int argc, char **argv)
{
	return sign_command(argc, argv, false);
}

static int cmd_cancel(int argc, char **argv)
{
	return sign_command(argc, argv, true);
}

static void print_deletion(const json_t *d)
{
	const json_t *snaps = json_object_get(d, "snapshots"), *item, *res;
	const char *state = jstr(d, "state");
	char when[40];
	size_t i;

	if (strcmp(state, "corrupt") == 0) {
		printf("Request %" JSON_INTEGER_FORMAT ": cannot be read: %s\n\n",
		       json_integer_value(json_object_get(d, "id")), jstr(d, "error"));
		return;
	}
	printf("Request %" JSON_INTEGER_FORMAT ", repository %s, %s\n",
	       json_integer_value(json_object_get(d, "id")), jstr(d, "repo"), state);
	printf("  requested by %s at %s\n", jstr(d, "requested_by"),
	       ns_time(json_object_get(d, "requested_ns"), when) ? when : "?");
	printf("  snapshots: %s\n", json_array_size(snaps) ? "" : "none");
	json_array_foreach(snaps, i, item)
		printf("    %s\n", json_string_value(item));
	printf("  prune: %s\n", json_is_true(json_object_get(d, "prune")) ? "yes" : "no");
	printf("  approvals: %" JSON_INTEGER_FORMAT " valid of %" JSON_INTEGER_FORMAT " needed\n",
	       json_integer_value(json_object_get(d, "approvals_valid")),
	       json_integer_value(json_object_get(d, "quorum")));
	json_array_foreach(json_object_get(d, "approvals"), i, item)
		printf("    %s at %s%s\n", jstr(item, "approver"),
		       ns_time(json_object_get(item, "time_ns"), when) ? when : "?",
		       json_is_true(json_object_get(item, "valid")) ? ""
								 : " (INVALID signature)");
	if ((item = json_object_get(d, "cancellation")) && json_is_object(item))
		printf("  cancelled by %s at %s%s\n", jstr(item, "approver"),
		       ns_time(json_object_get(item, "time_ns"), when) ? when : "?",
		       json_is_true(json_object_get(item, "valid")) ? "" : " (INVALID signature)");
	if (strcmp(state, "pending") == 0)
		printf("  takes effect: %s\n", ns_time(json_object_get(d, "effective_ns"), when)
						    ? when
						    : "waiting for approvals");
	res = json_object_get(d, "result");
	if (json_is_object(res)) {
		printf("  done at %s: %zu snapshot(s) removed, %" JSON_INTEGER_FORMAT
		       " pack(s) removed, %" JSON_INTEGER_FORMAT " bytes\n",
		       ns_time(json_object_get(d, "done_ns"), when) ? when : "?",
		       json_array_size(json_object_get(res, "snapshots_removed")),
		       json_integer_value(json_object_get(res, "packs_removed")),
		       json_integer_value(json_object_get(res, "bytes_removed")));
		json_array_foreach(json_object_get(res, "snapshots_kept"), i, item)
			printf("    kept %s: %s\n", jstr(item, "snapshot"), jstr(item, "reason"));
		if (json_is_string(json_object_get(res, "prune_error")))
			printf("    no packs collected: %s\n", jstr(res, "prune_error"));
	}
	putchar('\n');
}

static int cmd_deletions(int argc, char **argv)
{
	const char *pos[1];
	bool json = false, help;
	const option opts[] = {{"--json", false, NULL, &json}, {NULL, false, NULL, NULL}};
	const json_t *d;
	json_t *arr = NULL;
	vault *v = NULL;
	size_t i;
	int npos, rc;

	if ((rc = parse_args(argc, argv, opts, pos, 1, &npos, &help, usage_deletions)) || help) {
		if (help)
			fputs(usage_deletions, stdout);
		return rc;
	}
	if (npos != 1)
		return usage_error(usage_deletions, "deletions needs the vault directory");
	if (vault_open_readonly(&v, pos[0]) < 0)
		return fail(pos[0]);
	if (deletion_intake_list(v, NULL, &arr) < 0) {
		rc = fail(pos[0]);
		goto done;
	}
	if (json) {
		char *text = json_dumps(arr, JSON_PRESERVE_ORDER | JSON_INDENT(2));

		if (text)
			printf("%s\n", text);
		free(text);
		goto done;
	}
	if (json_array_size(arr) == 0)
		printf("No deletion requests.\n");
	json_array_foreach(arr, i, d)
		print_deletion(d);
done:
	json_decref(arr);
	vault_free(v);
	return rc;
}

/* A whole number lo..hi: digits only, so "-1", "+3" and "7x" are refused. */
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
}

static int cmd_policy(int argc, char **argv)
{
	const char *min_age = NULL, *daily = NULL, *weekly = NULL, *monthly = NULL, *quorum = NULL,
		   *delay = NULL, *drill_every = NULL, *pos[3], *dir;
	bool json = false, help, set;
	const option opts[] = {{"--min-age", true, &min_age, NULL},
			       {"--keep-daily", true, &daily, NULL},
			       {"--keep-weekly", true, &weekly, NULL},
			       {"--keep-monthly", true, &monthly, NULL},
			       {"--quorum", true, &quorum, NULL},
			       {"--delay", true, &delay, NULL},
			       {"--drill-every", true, &drill_every, NULL},
			       {"--json", false, NULL, &json},
			       {NULL, false, NULL, NULL}};
	struct stat st;
	vault_policy p;
	char *text, path[4096];
	unsigned approvers;
	int npos, rc;

	if ((rc = parse_args(argc, argv, opts, pos, 3, &npos, &help, usage_policy)) || help) {
		if (help)
			fputs(usage_policy, stdout);
		return rc;
	}
	set = npos > 0 && strcmp(pos[0], "set") == 0;
	if (npos == 0 || (set && npos == 1))
		return usage_error(usage_policy, "policy needs the vault directory");
	if (npos > (set ? 2 : 1))
		return usage_error(usage_policy, "unexpected argument '%s'", pos[set ? 2 : 1]);
	dir = pos[set ? 1 : 0];
	if (!set && (min_age || daily || weekly || monthly || quorum || delay || drill_every))
		return usage_error(usage_policy, "to change the policy use 'kurad policy set'");
	if (set && !(min_age || daily || weekly || monthly || quorum || delay || drill_every))
		return usage_error(usage_policy, "policy set needs at least one value to change");
	snprintf(path, sizeof(path), "%s/policy.json", dir);
	if (policy_load(dir, &p) < 0) {
		rc = fail(NULL);
		if (lstat(path, &st) == 0)
			fprintf(stderr, "kurad: fix or remove %s (without it the vault has the "
				"default policy)\n", path);
		return rc;
	}
	if (set) {
		if (min_age && policy_duration_parse(min_age, &p.min_age_s) < 0)
			return usage_error(usage_policy, "--min-age: %s", kura_error_message());
		if (delay && policy_duration_parse(delay, &p.delay_s) < 0)
			return usage_error(usage_policy, "--delay: %s", kura_error_message());
		if (drill_every && policy_duration_parse(drill_every, &p.drill_every_s) < 0)
			return usage_error(usage_policy, "--drill-every: %s", kura_error_message());
		if (daily && parse_count(daily, 0, VAULT_POLICY_KEEP_MAX, &p.keep_daily) < 0)
			return usage_error(usage_policy, "--keep-daily: '%s' is not a whole number "
					   "from 0 to %d", daily, VAULT_POLICY_KEEP_MAX);
		if (weekly && parse_count(weekly, 0, VAULT_POLICY_KEEP_MAX, &p.keep_weekly) < 0)
			return usage_error(usage_policy, "--keep-weekly: '%s' is not a whole number "
					   "from 0 to %d", weekly, VAULT_POLICY_KEEP_MAX);
		if (monthly && parse_count(monthly, 0, VAULT_POLICY_KEEP_MAX, &p.keep_monthly) < 0)
			return usage_error(usage_policy, "--keep-monthly: '%s' is not a whole "
					   "number from 0 to %d", monthly, VAULT_POLICY_KEEP_MAX);
		if (quorum && parse_count(quorum, 1, VAULT_POLICY_QUORUM_MAX, &p.quorum) < 0)
			return usage_error(usage_policy, "--quorum: '%s' is not a whole number from "
					   "1 to %d", quorum, VAULT_POLICY_QUORUM_MAX);
		if (policy_save(dir, &p) < 0)
			return fail(dir);
	}
	if (json) {
		if (!(text = policy_format(&p)))
			return fail(NULL);
		fputs(text, stdout);
		free(text);
		return EXIT_OK;
	}
	print_policy(dir, &p);
	if (!set && lstat(path, &st) < 0)
		printf("\n%s does not exist (the vault predates policies): these are the "
		       "defaults.\n", path);
	if (set)
		printf("\nSaved to %s.  A running 'kurad serve' applies it at its next deletion "
		       "tick.\n", path);
	approvers = count_approvers(dir);
	if (approvers < p.quorum)
		printf("\nNote: %u approver%s registered and the quorum is %u: no deletion can take "
		       "effect\nuntil there are more ('kurad approver add').\n", approvers,
		       approvers == 1 ? " is" : "s are", p.quorum);
	return EXIT_OK;
}

static int cmd_log(int argc, char **argv)
{
	const char *pos[2];
	bool help;
	int npos, rc, err;

	if ((rc = parse_args(argc, argv, NULL, pos, 2, &npos, &help, usage_log)) || help) {
		if (help)
			fputs(usage_log, stdout);
		return rc;
	}
	if (npos == 0)
		return usage_error(usage_log, "log needs a subcommand: verify");
	if (strcmp(pos[0], "verify") != 0)
		return usage_error(usage_log, "no log subcommand '%s'", pos[0]);
	if (npos != 2)
		return usage_error(usage_log, "log verify needs the vault directory");
	err = audit_verify(pos[1], stdout);
	if (err == KURA_ECORRUPT) {
		fprintf(stderr, "kurad: %s\n", kura_error_message());
		return EXIT_LOG_BAD;
	}
	return err < 0 ? fail(pos[1]) : EXIT_OK;
}

static int finish(int rc)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("kurad: cannot write to standard output");
		return rc ? rc : EXIT_ERROR;
	}
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int rc;

	if (!cmd)
		return usage_error(usage_all, "no command given");
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_all, stdout);
		return finish(EXIT_OK);
	}
	if (strcmp(cmd, "init") == 0)
		rc = cmd_init(argc - 2, argv + 2);
	else if (strcmp(cmd, "serve") == 0)
		rc = cmd_serve(argc - 2, argv + 2);
	else if (strcmp(cmd, "client") == 0)
		rc = cmd_client(argc - 2, argv + 2);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(argc - 2, argv + 2);
	else if (strcmp(cmd, "policy") == 0)
		rc = cmd_policy(argc - 2, argv + 2);
	else if (strcmp(cmd, "log") == 0)
		rc = cmd_log(argc - 2, argv + 2);
	else if (strcmp(cmd, "approver") == 0)
		rc = cmd_approver(argc - 2, argv + 2);
	else if (strcmp(cmd, "approve") == 0)
		rc = cmd_approve(argc - 2, argv + 2);
	else if (strcmp(cmd, "cancel") == 0)
		rc = cmd_cancel(argc - 2, argv + 2);
	else if (strcmp(cmd, "deletions") == 0)
		rc = cmd_deletions(argc - 2, argv + 2);
	else if (strcmp(cmd, "alert") == 0)
		rc = alert_cli_main(argc - 2, argv + 2);
	else if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("kurad %s\n", kura_version());
		rc = EXIT_OK;
	} else
		rc = usage_error(usage_all, "no command '%s'", cmd);
	return finish(rc);
}
