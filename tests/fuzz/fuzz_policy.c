/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_policy.c - the vault's policy parser (server/policy.c, and its
 * "quota" member, server/quota_conf.c) on arbitrary bytes.  The input up
 * to its first NUL is policy JSON (and a duration, and a quota size); what
 * follows, 8 bytes at a time, is receive times for retention.
 *
 * Promises checked: a policy that parses formats to text that parses back
 * to the same policy (its quotas included); a duration or a size that
 * parses formats to one that parses back to the same value; the quota
 * limits in force are never "not set"; retention marks at most keep_N
 * snapshots per window and only known reasons; an explanation is a
 * string that fits its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "policy.h"

#define FUZZ_SNAPS 32

/*
 * Every size formats to a size that parses back to it; the limits in
 * force are never 0 (0 means "not set" and must have been filled in), and
 * a credential's burst is set whenever its daily allowance is.
 */
static void check_quota(const vault_quota_conf *q)
{
	quota_limits derived = quota_derived(0, 0), r, c;
	char text[32];
	uint64_t back;

	for (unsigned i = 0; i < q->count; i++) {
		const uint64_t v[3] = {q->named[i].lim.daily, q->named[i].lim.burst,
				       q->named[i].lim.cap};

		for (int k = 0; k < 3; k++) {
			if (!v[k])
				continue;
			quota_size_format(v[k], text);
			if (quota_size_parse(text, &back) < 0 || back != v[k])
				abort();
		}
		r = quota_resolve_repo(q, q->named[i].name, &derived, NULL);
		c = quota_resolve_client(q, q->named[i].name, &r, NULL);
		if (!r.daily || !r.burst || !r.cap || !c.daily || !c.burst)
			abort();
	}
}

static void check_roundtrip(const vault_policy *p)
{
	vault_policy q;
	char *text = policy_format(p);

	if (!text)
		return; /* out of memory */
	if (policy_parse(text, strlen(text), &q) < 0)
		abort();
	if (q.min_age_s != p->min_age_s || q.keep_daily != p->keep_daily ||
	    q.keep_weekly != p->keep_weekly || q.keep_monthly != p->keep_monthly ||
	    q.quorum != p->quorum || q.delay_s != p->delay_s || !quota_conf_equal(&q.quota, &p->quota))
		abort();
	free(text);
	check_quota(&p->quota);
}

static void check_retention(const vault_policy *p, const uint8_t *data, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	char names[FUZZ_SNAPS][65], why[256];
	vault_snapshot_time s[FUZZ_SNAPS] = {{NULL, 0}};
	unsigned out[FUZZ_SNAPS], daily = 0, weekly = 0, monthly = 0;
	int64_t now = 0;
	size_t n = 0, i, j;

	if (size >= 8) {
		memcpy(&now, data, 8);
		data += 8;
		size -= 8;
	}
	for (; size >= 8 && n < FUZZ_SNAPS; n++, data += 8, size -= 8) {
		for (j = 0; j < 64; j++)
			names[n][j] = hex[(n + j) % 16];
		names[n][64] = '\0';
		s[n].name = names[n];
		memcpy(&s[n].received_ns, data, 8);
	}
	policy_retention(p, s, n, now, out);
	for (i = 0; i < n; i++) {
		if (out[i] & ~(unsigned)(VAULT_KEEP_MIN_AGE | VAULT_KEEP_DAILY | VAULT_KEEP_WEEKLY |
					 VAULT_KEEP_MONTHLY | VAULT_KEEP_NOMEM))
			abort();
		if (s[i].received_ns > now && !(out[i] & VAULT_KEEP_MIN_AGE))
			abort();
		daily += !!(out[i] & VAULT_KEEP_DAILY);
		weekly += !!(out[i] & VAULT_KEEP_WEEKLY);
		monthly += !!(out[i] & VAULT_KEEP_MONTHLY);
		policy_retention_explain(out[i], p, s[i].received_ns, now, why, sizeof(why));
		if (strlen(why) >= sizeof(why))
			abort();
	}
	if (daily > p->keep_daily || weekly > p->keep_weekly || monthly > p->keep_monthly)
		abort();
	/* Each window keeps something when there is anything to keep. */
	if (n > 0 && ((p->keep_daily && !daily) || (p->keep_weekly && !weekly) ||
		      (p->keep_monthly && !monthly)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t text_len = nul ? (size_t)(nul - data) : size;
	vault_policy p;
	char *text, buf[32];
	int64_t secs, back;
	uint64_t bytes, bytes_back;

	/* The whole input, NULs and all. */
	if (policy_parse((const char *)data, size, &p) == 0)
		check_roundtrip(&p);

	if (!(text = malloc(text_len + 1)))
		return 0;
	memcpy(text, data, text_len);
	text[text_len] = '\0';
	if (quota_size_parse(text, &bytes) == 0) {
		quota_size_format(bytes, buf);
		if (quota_size_parse(buf, &bytes_back) < 0 || bytes_back != bytes)
			abort();
	}
	if (policy_duration_parse(text, &secs) == 0) {
		policy_duration_format(secs, buf);
		if (policy_duration_parse(buf, &back) < 0 || back != secs)
			abort();
	}
	if (policy_parse(text, text_len, &p) == 0) {
		check_roundtrip(&p);
		if (nul)
			check_retention(&p, nul + 1, size - text_len - 1);
	}
	free(text);
	return 0;
}
