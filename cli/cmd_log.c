/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_log.c - `kura log` and `kura log verify`: a vault's audit log, seen
 * by an auditor.
 *
 * The credential in KURA_VAULT_CREDENTIALS (an auditor's, from `kurad
 * client add --role auditor`) names the vault; no repository is involved.
 * `kura log` fetches GET /v1/log and shows it as a timeline, one line per
 * request, or passes the JSON lines through unchanged with --json, so
 * that what a script reads is byte for byte what the vault sent.
 * `kura log verify` checks the fetched log against the vault's public
 * signing key in the credential: problems go to stderr with their line
 * numbers and make the exit status 4; entries not yet covered by a signed
 * checkpoint are reported as information, since a truncation there could
 * not be detected.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kura/auditlog.h"
#include "kura/backend.h"
#include "kura/loghead.h"

/* The credential from the environment, or NULL after a usage error. */
const char *cli_vault_credential(const struct cli_command *cmd)
{
	const char *cred = getenv("KURA_VAULT_CREDENTIALS");

	if (!cred || !*cred) {
		cli_usage_error(cmd, "no vault credential: set KURA_VAULT_CREDENTIALS to an auditor "
				     "credential from 'kurad client add --role auditor'");
		return NULL;
	}
	return cred;
}

int cli_vault_fetch(const char *cred, const char *what, uint8_t **out, size_t *out_len)
{
	int err;

	if ((err = kura_vault_fetch(cred, what, out, out_len)) == 0)
		return CLI_EXIT_OK;
	if (err == KURA_EDENIED || err == KURA_EAUTH)
		return cli_fail(err, "the audit log and the status need an auditor credential "
				     "('kurad client add --role auditor'); check "
				     "KURA_VAULT_CREDENTIALS");
	return cli_fail(err, NULL);
}

/* "2026-11-25T21:40:00.123456789Z" in local time, or the text as it is. */
static const char *local_time(char buf[CLI_FMT_MAX], const char *rfc3339)
{
	struct tm tm = {0};
	const char *rest;

	if (!rfc3339)
		return "?";
	rest = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest || (*rest != '.' && *rest != 'Z'))
		return rfc3339;
	return cli_fmt_time_local(buf, (int64_t)timegm(&tm));
}

static const char *str_or(json_t *obj, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : dflt;
}

static void print_entry(json_t *e)
{
	char tbuf[CLI_FMT_MAX], sbuf[CLI_FMT_MAX], who[160];
	json_int_t bytes = json_integer_value(json_object_get(e, "bytes"));
	const char *role = str_or(e, "role", NULL);

	if (role)
		snprintf(who, sizeof(who), "%s (%s)", str_or(e, "client", "-"), role);
	else
		snprintf(who, sizeof(who), "%s", str_or(e, "client", "(no credential)"));
	printf("%-19s  %-15s  %-28s  %-4s  %-3" JSON_INTEGER_FORMAT "  %10s  %s",
	       local_time(tbuf, json_string_value(json_object_get(e, "time"))),
	       str_or(e, "peer", "?"), who, str_or(e, "method", "?"),
	       json_integer_value(json_object_get(e, "status")),
	       cli_fmt_size(sbuf, bytes > 0 ? (uint64_t)bytes : 0), str_or(e, "path", "?"));
	/* a summary of refusals: how many, from when to when */
	if (json_is_integer(json_object_get(e, "count")))
		printf("(%" JSON_INTEGER_FORMAT " refused, %s to %s)",
		       json_integer_value(json_object_get(e, "count")), str_or(e, "first", "?"),
		       str_or(e, "last", "?"));
	putchar('\n');
}

static int print_timeline(const uint8_t *log, size_t len)
{
	const char *text = (const char *)log;
	size_t pos = 0;
	uint64_t lineno = 0, entries = 0;

	printf("%-19s  %-15s  %-28s  %-4s  %-3s  %10s  %s\n", "TIME", "PEER", "CLIENT (ROLE)",
	       "METH", "ST", "BYTES", "PATH");
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		json_t *obj = json_loadb(text + pos, n, 0, NULL);

		lineno++;
		if (!json_is_object(obj))
			printf("-- line %" PRIu64 ": not a log line (see 'kura log verify')\n",
			       lineno);
		else if (json_object_get(obj, "checkpoint"))
			printf("-- checkpoint %" JSON_INTEGER_FORMAT " (signed)\n",
			       json_integer_value(json_object_get(obj, "seq")));
		else {
			print_entry(obj);
			entries++;
		}
		json_decref(obj);
		pos += n + (nl ? 1 : 0);
	}
	printf("%" PRIu64 " request%s\n", entries, entries == 1 ? "" : "s");
	return CLI_EXIT_OK;
}

static void on_problem(uint64_t line, const char *message, void *ctx)
{
	json_t *problems = ctx;

	fprintf(stderr, "kura: audit log line %" PRIu64 ": %s\n", line, message);
	if (problems)
		json_array_append_new(problems, json_pack("{s:I, s:s}", "line", (json_int_t)line,
							  "message", message));
}

/*
 * The newest log head this client saw of the vault, read before the log
 * is fetched (the fetch's own answer names an entry the log it sent does
 * not hold yet).  False when there is none.
 */
static bool remembered_head(const char *cred, kura_loghead *out)
{
	uint8_t pk[KURA_VAULT_SIGNING_KEY_SIZE];
	char *path;
	bool ok;

	if (kura_vault_signing_key(pk, cred) < 0)
		return false; /* verify() says why */
	path = kura_loghead_client_path(pk);
	ok = path && kura_loghead_load(out, path) == 0 && kura_loghead_verify(out, pk);
	free(path);
	return ok;
}

/* The log must still hold the head seen before: else it was cut back or replaced. */
static int check_seen(const kura_loghead *seen, const uint8_t *log, size_t len, json_t *problems)
{
	char hex[65], msg[300];
	const char *why = "";
	bool found;
	int err;

	if ((err = kura_loghead_find(&found, seen, log, len, &why)) < 0 || found)
		return err;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", seen->hash[i]);
	snprintf(msg, sizeof(msg),
		 "the log does not hold the head this client saw before (%" PRIu64
		 " entries, last hash %.16s…): %s; it was cut back or replaced by an older copy",
		 seen->seq, hex, why);
	fprintf(stderr, "kura: %s\n", msg);
	if (problems)
		json_array_append_new(problems, json_pack("{s:I, s:s}", "line", (json_int_t)0,
							  "message", msg));
	return KURA_ECORRUPT;
}

static int verify(const struct cli_global *g, const char *cred, const uint8_t *log, size_t len,
		  const kura_loghead *seen)
{
	uint8_t pk[KURA_VAULT_SIGNING_KEY_SIZE];
	kura_auditlog_summary s;
	json_t *problems = NULL, *o;
	int err, rc;

	if ((err = kura_vault_signing_key(pk, cred)) < 0)
		return cli_fail(err, NULL);
	if (g->json && !(problems = json_array())) {
		fputs("kura: out of memory\n", stderr);
		return CLI_EXIT_FATAL;
	}
	err = kura_auditlog_verify(&s, log, len, pk, on_problem, problems);
	if (seen && (err == 0 || err == KURA_ECORRUPT)) {
		int e = check_seen(seen, log, len, problems);

		if (e < 0 && err == 0)
			err = e;
	}
	if (err < 0 && err != KURA_ECORRUPT) {
		json_decref(problems);
		return cli_fail(err, NULL);
	}
	if (g->json) {
		o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:o}", "intact", err == 0, "lines",
			      (json_int_t)s.lines, "entries", (json_int_t)s.entries, "checkpoints",
			      (json_int_t)s.checkpoints, "uncovered", (json_int_t)s.uncovered,
			      "problems", problems);
		rc = cli_json_print(o);
		return err < 0 ? CLI_EXIT_INTEGRITY : rc;
	}
	if (s.uncovered && !g->quiet)
		printf("lines %" PRIu64 "-%" PRIu64 ": %" PRIu64 " entr%s not yet covered by a "
		       "signed checkpoint (a truncation there would not be detected)\n",
		       s.first_uncovered, s.lines, s.uncovered, s.uncovered == 1 ? "y" : "ies");
	printf("audit log: %" PRIu64 " entr%s, %" PRIu64 " checkpoint%s, %s\n", s.entries,
	       s.entries == 1 ? "y" : "ies", s.checkpoints, s.checkpoints == 1 ? "" : "s",
	       err < 0 ? "PROBLEMS FOUND" : "intact");
	if (err < 0) {
		fprintf(stderr, "kura: %s\n", kura_error_message());
		return CLI_EXIT_INTEGRITY;
	}
	return CLI_EXIT_OK;
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	const char *cred;
	uint8_t *log = NULL;
	size_t len = 0;
	bool do_verify = false, have_seen;
	kura_loghead seen;
	int c, rc;

	cli_getopt_init(&p, g, &cli_cmd_log, argc, argv, "", NULL);
	while ((c = cli_getopt_next(&p)) != -1)
		if (c == CLI_OPT_STOP)
			return p.status;
	if (optind < argc && strcmp(argv[optind], "verify") == 0) {
		do_verify = true;
		optind++;
	}
	if (optind < argc)
		return cli_usage_error(&cli_cmd_log, "unexpected argument '%s'", argv[optind]);
	if (!(cred = cli_vault_credential(&cli_cmd_log)))
		return CLI_EXIT_USAGE;
	have_seen = do_verify && remembered_head(cred, &seen);
	if ((rc = cli_vault_fetch(cred, "log", &log, &len)) != CLI_EXIT_OK)
		return rc;
	if (do_verify)
		rc = verify(g, cred, log, len, have_seen ? &seen : NULL);
	else if (g->json)
		rc = fwrite(log, 1, len, stdout) == len ? CLI_EXIT_OK : CLI_EXIT_FATAL;
	else
		rc = print_timeline(log, len);
	free(log);
	return rc;
}

const struct cli_command cli_cmd_log = {
	.name = "log",
	.summary = "show or verify a vault's audit log (auditor credential)",
	.usage = "kura log [--json]\n"
		 "       kura log verify [--json]",
	.help = "Fetch the audit log of the vault named by the auditor credential in\n"
		"KURA_VAULT_CREDENTIALS (no repository is needed).\n"
		"\n"
		"kura log shows one line per request: local time, peer address, client and\n"
		"role, method, HTTP status, bytes and path; signed checkpoints show as\n"
		"'-- checkpoint N (signed)'.  With --json the log's JSON lines are printed\n"
		"unchanged.\n"
		"\n"
		"kura log verify checks every entry's hash, every link and every\n"
		"checkpoint's signature with the vault's public signing key from the\n"
		"credential.  Each problem is printed on stderr with its line number and\n"
		"the exit status is 4; entries after the last checkpoint are reported as\n"
		"information (a truncation there could not be detected).\n"
		"\n"
		"Environment:\n"
		"  KURA_VAULT_CREDENTIALS  the auditor credential file\n",
	.run = run,
};
