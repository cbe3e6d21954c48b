/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auditlog.c - verifying a vault's audit log from bytes in memory
 * (docs/PROTOCOL.md, "Audit log"), for an auditor who holds the log and
 * the vault's public signing key but not the vault host.
 *
 * The rules are those of the vault's own verifier (server/audit.c):
 *
 *	entry:      {"seq":S,…,"prev":"<hex>","hash":"<hex>"}  (11 members, or 14 for a
 *	            refusal summary: "count", "first", "last" besides)
 *	            hash = SHA-256(prev as 32 raw bytes || the line without its
 *	                           final ,"hash":"…" member, closed by '}')
 *	checkpoint: {"seq":N,"checkpoint":"<hex of entry N-1's hash>","sig":"<base64>"}
 *	            sig = Ed25519 over the 32 raw hash bytes
 *
 * Entries are numbered from 0 and each links to the one before; the first
 * one's prev is 32 zero bytes.  A problem is reported once, on the line
 * where it shows: an edited entry on its own line, a removed or moved one
 * on the line whose link or number no longer fits, a rewritten chain on
 * the first checkpoint after it.  After a line that cannot be read, the
 * next entry or correctly signed checkpoint is trusted to restart the
 * chain, so one bad line does not drown the report in consequences.
 * Entries after the last checkpoint could be cut off unnoticed; they are
 * counted, not reported.
 */
#include "kura/auditlog.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "kura/kura.h"

/* The final member of an entry line: ,"hash":"<64 hex>"} */
#define HASH_SUFFIX_LEN (sizeof(",\"hash\":\"") - 1 + 64 + 2)
#define ENTRY_MEMBERS 11
#define SUMMARY_MEMBERS 14 /* a refusal summary adds "count", "first", "last" */

typedef kura_auditlog_line audit_line;

typedef struct {
	kura_auditlog_summary *sum;
	kura_auditlog_problem_fn fn;
	void *ctx;
} reporter;

static void problem(reporter *r, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(reporter *r, uint64_t line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	r->sum->problems++;
	if (!r->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->fn(line, msg, r->ctx);
}

static int hex_member(uint8_t out[KURA_HASH_SIZE], json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && strlen(s) == 64 && kura_unhex(out, s, KURA_HASH_SIZE) == 0 ? 0 : -1;
}

static bool has_hash_suffix(const char *line, size_t len)
{
	const char *s;

	if (len < HASH_SUFFIX_LEN + 1)
		return false;
	s = line + len - HASH_SUFFIX_LEN;
	return memcmp(s, ",\"hash\":\"", 9) == 0 && memcmp(s + 9 + 64, "\"}", 2) == 0;
}

/* Does the entry have exactly the members of a plain entry or of a refusal summary? */
static bool entry_shape_ok(json_t *obj)
{
	json_t *count = json_object_get(obj, "count");

	if (json_object_size(obj) == ENTRY_MEMBERS)
		return !count;
	return json_object_size(obj) == SUMMARY_MEMBERS && json_is_integer(count) &&
	       json_integer_value(count) > 0 && json_is_string(json_object_get(obj, "first")) &&
	       json_is_string(json_object_get(obj, "last"));
}

/*
 * Parse one line (without its newline).  Returns 0, KURA_ECORRUPT with
 * *why set (no error message: the caller words it with the line number),
 * or KURA_ENOMEM.
 */
int kura_auditlog_parse_line(kura_auditlog_line *out, const char *line, size_t len,
			     const char **why)
{
	json_t *obj, *seq;
	const char *sig;
	int err = KURA_ECORRUPT;

	memset(out, 0, sizeof(*out));
	if (!(obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(obj)) {
		*why = "not a JSON object";
		goto done;
	}
	seq = json_object_get(obj, "seq");
	if (!json_is_integer(seq) || json_integer_value(seq) < 0) {
		*why = "no valid \"seq\"";
		goto done;
	}
	out->seq = (uint64_t)json_integer_value(seq);
	if (json_object_get(obj, "checkpoint")) {
		out->checkpoint = true;
		sig = json_string_value(json_object_get(obj, "sig"));
		if (json_object_size(obj) != 3 || hex_member(out->hash, obj, "checkpoint") < 0 ||
		    !sig ||
		    kura_unbase64(out->sig, sizeof(out->sig), sig) < 0) {
			*why = "malformed checkpoint";
			goto done;
		}
	} else if (!entry_shape_ok(obj) || hex_member(out->prev, obj, "prev") < 0 ||
		   hex_member(out->hash, obj, "hash") < 0 || !has_hash_suffix(line, len)) {
		*why = "malformed entry";
		goto done;
	}
	err = 0;
done:
	json_decref(obj);
	return err;
}

int kura_auditlog_entry_verify(bool *out_intact, const kura_auditlog_line *p, const char *line,
			       size_t len)
{
	uint8_t h[KURA_HASH_SIZE];
	kura_sha256_ctx *ctx = NULL;
	int err;

	*out_intact = false;
	if ((err = kura_sha256_new(&ctx)) < 0)
		return err;
	kura_sha256_update(ctx, p->prev, KURA_HASH_SIZE);
	kura_sha256_update(ctx, line, len - HASH_SUFFIX_LEN);
	kura_sha256_update(ctx, "}", 1);
	kura_sha256_final(ctx, h);
	kura_sha256_free(ctx);
	*out_intact = kura_ct_equal(h, p->hash, sizeof(h));
	return 0;
}

bool kura_auditlog_sig_is_valid(const kura_auditlog_line *p,
				const uint8_t pk[KURA_AUDITLOG_KEY_SIZE])
{
	return kura_sign_verify(p->sig, p->hash, sizeof(p->hash), pk) == 0;
}

int kura_auditlog_verify(kura_auditlog_summary *out, const uint8_t *log, size_t len,
			 const uint8_t pk[KURA_AUDITLOG_KEY_SIZE], kura_auditlog_problem_fn fn,
			 void *ctx)
{
	kura_auditlog_summary sum = {0};
	reporter r = {&sum, fn, ctx};
	uint8_t prev[KURA_HASH_SIZE] = {0};
	uint64_t expect = 0;
	bool known = true; /* the chain state (expect, prev) can be trusted */
	const char *text = (const char *)log, *why;
	size_t pos = 0;
	audit_line p;
	bool intact;
	int err = 0;

	if ((err = kura_crypto_init()) < 0)
		return err;
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n;

		sum.lines++;
		if (!nl) {
			problem(&r, sum.lines, "partial line at the end (cut off during a write?)");
			break;
		}
		n = (size_t)(nl - line);
		pos += n + 1;
		if ((err = kura_auditlog_parse_line(&p, line, n, &why)) < 0) {
			if (err != KURA_ECORRUPT)
				goto done;
			err = 0;
			problem(&r, sum.lines, "%s", why);
			known = false;
			continue;
		}
		if (p.checkpoint) {
			bool good = kura_auditlog_sig_is_valid(&p, pk);

			sum.checkpoints++;
			if (!good)
				problem(&r, sum.lines,
					"checkpoint at entry %" PRIu64 ": signature does not "
					"verify (forged or edited)",
					p.seq);
			else if (known && (p.seq != expect || !kura_ct_equal(p.hash, prev, sizeof(prev))))
				problem(&r, sum.lines,
					"checkpoint at entry %" PRIu64 " does not match the entries "
					"before it (they were changed, removed or reordered)",
					p.seq);
			/* a valid signature vouches for the chain state from here on */
			if (good) {
				expect = p.seq;
				memcpy(prev, p.hash, sizeof(prev));
				known = true;
			}
			sum.uncovered = 0;
			sum.first_uncovered = 0;
			continue;
		}
		sum.entries++;
		if (sum.uncovered++ == 0)
			sum.first_uncovered = sum.lines;
		if ((err = kura_auditlog_entry_verify(&intact, &p, line, n)) < 0)
			goto done;
		if (!intact)
			problem(&r, sum.lines, "entry %" PRIu64 " does not match its hash (edited)",
				p.seq);
		else if (known && p.seq != expect)
			problem(&r, sum.lines,
				"entry %" PRIu64 " where entry %" PRIu64 " was expected (entries "
				"removed or reordered)",
				p.seq, expect);
		else if (known && !kura_ct_equal(p.prev, prev, sizeof(prev)))
			problem(&r, sum.lines,
				"entry %" PRIu64 " does not link to the entry before it (that one "
				"was changed, removed or reordered)",
				p.seq);
		expect = p.seq + 1;
		memcpy(prev, p.hash, sizeof(prev));
		known = true;
	}
	if (sum.problems)
		err = kura_error_set(KURA_ECORRUPT, "audit log: %" PRIu64 " problem%s found",
				     sum.problems, sum.problems == 1 ? "" : "s");
done:
	if (err == KURA_ENOMEM)
		kura_error_set(KURA_ENOMEM, "audit log: out of memory at line %" PRIu64, sum.lines);
	if (out)
		*out = sum;
	return err;
}
