/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion.c - what `kura forget` and `kura prune` share: naming the
 * snapshots to forget, and asking a vault to delete.
 *
 * Snapshot names resolve against the listing of snapshot files, never
 * their contents, so a backup key or a vault writer (neither can decrypt
 * a snapshot) can name one by its id or a unique prefix; only `latest`
 * needs to read the snapshots' times and so the restore key.
 *
 * On a vault the client only asks: POST /v1/repos/REPO/deletions
 * (docs/PROTOCOL.md).  The vault files the request, and carries it out
 * after its quorum of approvers signed it and its delay passed; any
 * approver can cancel it until then.  Everything the vault says back is
 * hostile input like any other: it is parsed, bounded and stripped of
 * control characters before it reaches the terminal.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kura/backend.h"

/* ------------------------------------------------------------------ */
/* Snapshot names                                                       */

int cli_snapshots_resolve_all(kura_repo *repo, char *const *names, size_t n,
			      char (**out)[KURA_ID_HEX], size_t *out_count)
{
	char (*ids)[KURA_ID_HEX];
	size_t count = 0;
	int err;

	*out = NULL;
	*out_count = 0;
	if (!(ids = calloc(n ? n : 1, sizeof(*ids)))) {
		fputs("kura: out of memory\n", stderr);
		return CLI_EXIT_FATAL;
	}
	for (size_t i = 0; i < n; i++) {
		char id[KURA_ID_HEX];
		bool dup = false;

		if (strcmp(names[i], "latest") == 0 && !kura_repo_can_read(repo)) {
			fputs("kura: forgetting 'latest' needs the restore key: with a backup key "
			      "only the client's unverified claim of when a snapshot was made is "
			      "known\n"
			      "hint: name the snapshot by its id or 4 or more hex digits of it "
			      "('kura snapshots' lists them)\n",
			      stderr);
			free(ids);
			return CLI_EXIT_NEEDKEY;
		}
		if ((err = kura_snapshot_resolve(repo, names[i], id)) < 0) {
			free(ids);
			if (err == KURA_ENOTFOUND || err == KURA_EINVAL)
				return cli_fail(err, "name a snapshot by its id or 4 or more hex "
						     "digits of it; 'kura snapshots' lists them. "
						     "Nothing was forgotten");
			return cli_fail(err, NULL);
		}
		for (size_t j = 0; j < count && !dup; j++)
			dup = strcmp(ids[j], id) == 0;
		if (!dup)
			memcpy(ids[count++], id, KURA_ID_HEX);
	}
	*out = ids;
	*out_count = count;
	return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* Vault requests                                                       */

/* Print text from the vault: at most `max` bytes, control characters as '?'. */
static void put_untrusted(FILE *f, const char *s, size_t max)
{
	size_t i;

	if (!s) {
		fputs("(none)", f);
		return;
	}
	for (i = 0; s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
	}
	if (s[i])
		fputs("...", f);
}

/* "3 snapshots, then unreferenced data" */
static void describe(char *out, size_t size, size_t n, bool prune)
{
	if (n && prune)
		snprintf(out, size, "%zu snapshot%s, then unreferenced data", n, n == 1 ? "" : "s");
	else if (n)
		snprintf(out, size, "%zu snapshot%s", n, n == 1 ? "" : "s");
	else
		snprintf(out, size, "unreferenced data (packs no remaining snapshot lists)");
}

/* {"snapshots": [...], "prune": bool} as compact JSON; NULL without memory. */
static json_t *request_json(const char (*ids)[KURA_ID_HEX], size_t n, bool prune)
{
	json_t *o = json_object(), *a = json_array();

	if (!o || !a)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(ids[i])) < 0)
			goto fail;
	if (json_object_set_new(o, "snapshots", a) < 0)
		goto fail_a_owned;
	if (json_object_set_new(o, "prune", json_boolean(prune)) < 0)
		goto fail_a_owned;
	return o;
fail:
	json_decref(a);
fail_a_owned:
	json_decref(o);
	return NULL;
}

/* The vault's delay, from "delay" (a string such as "7d", or seconds) or "delay_s". */
static const char *delay_text(char buf[CLI_FMT_MAX], json_t *req)
{
	json_t *d = json_object_get(req, "delay");
	const char *s = json_string_value(d);
	size_t i;

	if (s && *s && strlen(s) < 24) {
		for (i = 0; s[i]; i++)
			if (!strchr("0123456789smhdw ", s[i]))
				break;
		if (!s[i]) {
			snprintf(buf, CLI_FMT_MAX, "%s", s);
			return buf;
		}
	}
	if (!json_is_integer(d))
		d = json_object_get(req, "delay_s");
	if (json_is_integer(d) && json_integer_value(d) >= 0)
		return cli_fmt_duration_short(buf, (int64_t)json_integer_value(d));
	return "the vault's delay";
}

static int filed(const struct cli_global *g, json_t *req, size_t n, bool prune)
{
	json_t *id = json_object_get(req, "id"), *quorum = json_object_get(req, "quorum");
	char what[96], delay[CLI_FMT_MAX], idtext[32], approvals[48];
	json_int_t q = json_is_integer(quorum) ? json_integer_value(quorum) : -1;

	if (g->json)
		return cli_json_print(json_incref(req));
	if (g->quiet)
		return CLI_EXIT_OK;
	describe(what, sizeof(what), n, prune);
	if (json_is_integer(id) && json_integer_value(id) >= 0)
		snprintf(idtext, sizeof(idtext), "%" JSON_INTEGER_FORMAT, json_integer_value(id));
	else
		snprintf(idtext, sizeof(idtext), "ID");
	if (q >= 1 && q <= 1000)
		snprintf(approvals, sizeof(approvals), "%" JSON_INTEGER_FORMAT " approval%s", q,
			 q == 1 ? "" : "s");
	else
		snprintf(approvals, sizeof(approvals), "the vault's quorum of approvals");
	printf("Deletion request %s filed: %s.\n"
	       "It takes effect only after %s ('kura approve %s --key FILE' on each\n"
	       "approver's machine) and a delay of %s; until then any approver can cancel it.\n",
	       idtext, what, approvals, idtext, delay_text(delay, req));
	return CLI_EXIT_OK;
}

/* 409: retention protects some snapshots; list each with the vault's reason. */
static void protected_list(json_t *answer)
{
	json_t *list = json_object_get(answer, "protected"), *e;
	size_t i, shown = 0;

	json_array_foreach(list, i, e) {
		if (shown++ == 1000) {
			fprintf(stderr, "  ... and %zu more\n", json_array_size(list) - 1000);
			break;
		}
		fputs("  ", stderr);
		put_untrusted(stderr, json_string_value(json_object_get(e, "snapshot")), 64);
		fputs(": ", stderr);
		put_untrusted(stderr, json_string_value(json_object_get(e, "reason")), 300);
		fputc('\n', stderr);
	}
}

/* An answer other than 202: say what the vault refused and why. */
static int refused(long status, json_t *answer, const char *location)
{
	const char *reason = json_string_value(json_object_get(answer, "error"));

	fputs("kura: ", stderr);
	switch (status) {
	case 400:
		fputs("the vault refused the deletion request as malformed: ", stderr);
		break;
	case 401:
		fputs("the vault refused the credential: ", stderr);
		break;
	case 403:
		fputs("the vault does not let this credential request deletions: ", stderr);
		break;
	case 404:
		if (!reason) {
			fprintf(stderr, "%s does not take deletion requests (HTTP 404 without an "
					"explanation: a kurad older than deletion requests?)\n",
				location);
			return CLI_EXIT_FATAL;
		}
		fputs("the vault does not hold a snapshot of the request: ", stderr);
		break;
	case 405:
		fprintf(stderr, "%s does not take deletion requests (HTTP 405: a kurad older "
				"than deletion requests?)\n",
			location);
		return CLI_EXIT_FATAL;
	case 409:
		fputs("the vault's retention protects some of these snapshots, so nothing was "
		      "requested: ",
		      stderr);
		break;
	case 429:
		fputs("the vault holds too many pending deletion requests for this repository: ",
		      stderr);
		break;
	default:
		fprintf(stderr, "unexpected answer from the vault (HTTP %ld): ", status);
		break;
	}
	put_untrusted(stderr, reason ? reason : "(no explanation)", 600);
	fputc('\n', stderr);
	switch (status) {
	case 401:
		fputs("hint: check KURA_VAULT_CREDENTIALS: the credential's token and repository\n",
		      stderr);
		return CLI_EXIT_AUTH;
	case 403:
		fputs("hint: deletion requests need a writer or reader credential of this "
		      "repository\n",
		      stderr);
		break;
	case 404:
		fputs("hint: 'kura snapshots' lists what the vault stores; the snapshot may have "
		      "been deleted already\n",
		      stderr);
		break;
	case 409:
		protected_list(answer);
		fputs("hint: forget only snapshots the vault's retention does not protect, or "
		      "wait until its windows release them\n",
		      stderr);
		break;
	case 429:
		fputs("hint: approvers approve or cancel the pending requests ('kura approve', "
		      "'kura cancel') before more can be filed\n",
		      stderr);
		break;
	}
	return CLI_EXIT_FATAL;
}

static int dry_run_report(const struct cli_global *g, json_t *request, const char *location,
			  const char (*ids)[KURA_ID_HEX], size_t n, bool prune)
{
	char what[96];
	json_t *o;

	if (g->json) {
		if (!(o = json_object()))
			return cli_json_print(NULL);
		json_object_set_new(o, "dry_run", json_true());
		json_object_set_new(o, "vault", cli_json_str(location));
		json_object_set_new(o, "request", json_incref(request));
		return cli_json_print(o);
	}
	describe(what, sizeof(what), n, prune);
	printf("Would ask %s to delete %s:\n", location, what);
	for (size_t i = 0; i < n; i++)
		printf("  snapshot %s\n", ids[i]);
	printf("Nothing was sent (--dry-run).  The vault decides which packs no remaining\n"
	       "snapshot lists when the request takes effect.\n");
	return CLI_EXIT_OK;
}

int cli_vault_request_deletion(const struct cli_global *g, struct kura_backend *b,
			       const char *location, const char (*ids)[KURA_ID_HEX], size_t n,
			       bool prune, bool dry_run)
{
	json_t *request, *answer = NULL;
	uint8_t *body = NULL;
	size_t len = 0;
	char *text = NULL;
	long status = 0;
	int err, rc;

	if (!(request = request_json(ids, n, prune)))
		return cli_json_print(NULL);
	if (dry_run) {
		rc = dry_run_report(g, request, location, ids, n, prune);
		goto done;
	}
	if (!(text = json_dumps(request, JSON_COMPACT))) {
		rc = cli_json_print(NULL);
		goto done;
	}
	if ((err = kura_vault_request_deletion(b, text, &status, &body, &len)) < 0) {
		rc = cli_fail(err, "nothing was requested; run the command again once the vault "
				   "can be reached");
		goto done;
	}
	answer = json_loadb((const char *)body, len, 0, NULL);
	if (status == 202 || status == 201 || status == 200) {
		if (!json_is_object(answer)) {
			fprintf(stderr, "kura: warning: the vault filed the request (HTTP %ld) but "
					"its answer is not a JSON object; 'kurad' on the vault host "
					"lists the requests\n",
				status);
			rc = CLI_EXIT_OK;
			goto done;
		}
		rc = filed(g, answer, n, prune);
		goto done;
	}
	if (g->json && json_is_object(answer))
		cli_json_print(json_incref(answer));
	rc = refused(status, json_is_object(answer) ? answer : NULL, location);
done:
	json_decref(request);
	json_decref(answer);
	free(text);
	free(body);
	return rc;
}
