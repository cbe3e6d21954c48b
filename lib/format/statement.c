/* SPDX-License-Identifier: Apache-2.0 */
/*
 * statement.c - the bytes an approver signs (kura/approve.h,
 * docs/PROTOCOL.md "What an approver signs"): built by the vault from a
 * request file, parsed by `kura approve` from what the vault sent.
 *
 * The parser accepts exactly what the builder makes and nothing else:
 * each line is matched against its one form (no leading zeros, no sign,
 * no spaces, names ascending), so the text an approver is shown, taken
 * from the parsed fields, is the text whose bytes are signed.
 */
#include "kura/approve.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "crypto/sign.h"
#include "kura/keyless.h"

#define DELETE_MAGIC "kura-deletion-v1"
#define QUARANTINE_MAGIC "kura-quarantine-v1"

static const char *kind_name(kura_statement_kind k)
{
	return k == KURA_STATEMENT_QUARANTINE_RELEASE  ? "quarantine-release"
	       : k == KURA_STATEMENT_QUARANTINE_REMOVE ? "quarantine-remove"
						       : NULL;
}

static bool repo_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > KURA_APPROVER_NAME_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static bool vault_key_ok(const char *b64)
{
	uint8_t pk[32];

	return strlen(b64) == KURA_VAULT_KEY_B64 - 1 && kura_unbase64(pk, sizeof(pk), b64) == 0;
}

static bool names_ok(char (*names)[KURA_ID_HEX], size_t n)
{
	if (n > KURA_STATEMENT_NAMES_MAX || (n && !names))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!kura_file_name_is_valid(names[i]) ||
		    (i && strcmp(names[i - 1], names[i]) >= 0))
			return false;
	return true;
}

int kura_statement_build(char **out, size_t *out_len, const kura_statement *s)
{
	const char *kname = kind_name(s->kind);
	size_t cap, len;
	char *t;
	int n;

	*out = NULL;
	*out_len = 0;
	if ((s->kind != KURA_STATEMENT_DELETE && !kname) || !vault_key_ok(s->vault_key) ||
	    s->id == 0 || s->id > KURA_STATEMENT_ID_MAX || !repo_ok(s->repo) ||
	    s->requested_ns <= 0 || !names_ok(s->names, s->nnames) ||
	    (kname &&
	     (s->prune || s->quarantine_id == 0 || s->quarantine_id > KURA_STATEMENT_ID_MAX)) ||
	    (!kname && s->quarantine_id))
		return kura_error_set(KURA_EINVAL, "statement: a member is out of its range");
	cap = 256 + KURA_VAULT_KEY_B64 + KURA_APPROVER_NAME_MAX + s->nnames * KURA_ID_HEX;
	if (!(t = malloc(cap)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if (!kname)
		n = snprintf(t, cap, DELETE_MAGIC "\n%s\n%s\n%lu\n%s\n%" PRId64 "\n%c\n",
			     s->vault_key, s->cancel ? "cancel" : "approve", s->id, s->repo,
			     s->requested_ns, s->prune ? '1' : '0');
	else
		n = snprintf(t, cap, QUARANTINE_MAGIC "\n%s\n%s\n%lu\n%s\n%" PRId64 "\n%s\n%lu\n",
			     s->vault_key, s->cancel ? "cancel" : "approve", s->id, s->repo,
			     s->requested_ns, kname, s->quarantine_id);
	len = (size_t)n;
	for (size_t i = 0; i < s->nnames; i++) {
		memcpy(t + len, s->names[i], KURA_ID_HEX - 1);
		len += KURA_ID_HEX - 1;
		t[len++] = '\n';
	}
	t[len] = '\0';
	*out = t;
	*out_len = len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                              */

typedef struct {
	const char *p, *end;
	unsigned line;
} cursor;

/* The next line without its '\n' into *s, *n; false if there is no '\n' left. */
static bool next_line(cursor *c, const char **s, size_t *n)
{
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));

	if (!nl)
		return false;
	*s = c->p;
	*n = (size_t)(nl - c->p);
	c->p = nl + 1;
	c->line++;
	return true;
}

/* A canonical decimal (no sign, no leading zero) of at most `max`. */
static bool decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool line_is(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static int bad(cursor *c, const char *what)
{
	return kura_error_set(KURA_EINVAL, "statement line %u: %s", c->line, what);
}

int kura_statement_parse(kura_statement *out, const char *text, size_t len)
{
	cursor c = {text, text + len, 0};
	const char *s;
	size_t n, cap = 0;
	uint64_t v;
	bool quarantine;
	int err;

	memset(out, 0, sizeof(*out));
	if (!text)
		return kura_error_set(KURA_EINVAL, "statement: none given");
	if (!next_line(&c, &s, &n))
		return bad(&c, "no line");
	if (line_is(s, n, DELETE_MAGIC))
		quarantine = false;
	else if (line_is(s, n, QUARANTINE_MAGIC))
		quarantine = true;
	else
		return bad(&c, "not " DELETE_MAGIC " or " QUARANTINE_MAGIC);
	if (!next_line(&c, &s, &n) || n != KURA_VAULT_KEY_B64 - 1)
		return bad(&c, "want the vault's signing key in base64");
	memcpy(out->vault_key, s, n);
	out->vault_key[n] = '\0';
	if (!vault_key_ok(out->vault_key))
		return bad(&c, "want the vault's signing key in base64");
	if (!next_line(&c, &s, &n) || !(line_is(s, n, "approve") || line_is(s, n, "cancel")))
		return bad(&c, "want the action, approve or cancel");
	out->cancel = line_is(s, n, "cancel");
	if (!next_line(&c, &s, &n) || !decimal(s, n, KURA_STATEMENT_ID_MAX, &v) || v == 0)
		return bad(&c, "want the request id, 1 to 999999999");
	out->id = (unsigned long)v;
	if (!next_line(&c, &s, &n) || n > KURA_APPROVER_NAME_MAX)
		return bad(&c, "want a repository name");
	memcpy(out->repo, s, n);
	out->repo[n] = '\0';
	/* a NUL inside the line would cut the name short of the bytes signed */
	if (strlen(out->repo) != n || !repo_ok(out->repo))
		return bad(&c, "want a repository name");
	if (!next_line(&c, &s, &n) || !decimal(s, n, INT64_MAX, &v) || v == 0)
		return bad(&c, "want the time the request was filed, in ns");
	out->requested_ns = (int64_t)v;
	if (!quarantine) {
		if (!next_line(&c, &s, &n) || !(line_is(s, n, "0") || line_is(s, n, "1")))
			return bad(&c, "want prune, 0 or 1");
		out->prune = s[0] == '1';
		out->kind = KURA_STATEMENT_DELETE;
	} else {
		if (!next_line(&c, &s, &n))
			return bad(&c, "want the quarantine kind");
		if (line_is(s, n, "quarantine-release"))
			out->kind = KURA_STATEMENT_QUARANTINE_RELEASE;
		else if (line_is(s, n, "quarantine-remove"))
			out->kind = KURA_STATEMENT_QUARANTINE_REMOVE;
		else
			return bad(&c, "want quarantine-release or quarantine-remove");
		if (!next_line(&c, &s, &n) || !decimal(s, n, KURA_STATEMENT_ID_MAX, &v) || v == 0)
			return bad(&c, "want the quarantine record's id");
		out->quarantine_id = (unsigned long)v;
	}
	while (c.p < c.end) {
		if (!next_line(&c, &s, &n)) {
			err = bad(&c, "the last line has no newline");
			goto fail;
		}
		if (n != KURA_ID_HEX - 1) {
			err = bad(&c, "want a name of 64 lowercase hex digits");
			goto fail;
		}
		if (out->nnames == KURA_STATEMENT_NAMES_MAX) {
			err = bad(&c, "more names than a request may hold");
			goto fail;
		}
		if (out->nnames == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char(*grown)[KURA_ID_HEX] = realloc(out->names, ncap * sizeof(*grown));

			if (!grown) {
				err = kura_error_set(KURA_ENOMEM, "out of memory");
				goto fail;
			}
			out->names = grown;
			cap = ncap;
		}
		memcpy(out->names[out->nnames], s, n);
		out->names[out->nnames][n] = '\0';
		if (!kura_file_name_is_valid(out->names[out->nnames])) {
			err = bad(&c, "want a name of 64 lowercase hex digits");
			goto fail;
		}
		if (out->nnames &&
		    strcmp(out->names[out->nnames - 1], out->names[out->nnames]) >= 0) {
			err = bad(&c, "names out of order or repeated");
			goto fail;
		}
		out->nnames++;
	}
	if (out->kind == KURA_STATEMENT_DELETE && out->nnames == 0 && !out->prune) {
		err = kura_error_set(KURA_EINVAL, "statement: deletes nothing");
		goto fail;
	}
	return 0;
fail:
	kura_statement_free(out);
	return err;
}

void kura_statement_free(kura_statement *s)
{
	if (!s)
		return;
	free(s->names);
	memset(s, 0, sizeof(*s));
}
