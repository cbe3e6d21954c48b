/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion_sign.c - approvers' signatures on deletion requests
 * (deletion_sign.h): the statement an approver signs, checking a
 * signature against the request as it is now, counting a quorum, and
 * `kurad approve` / `kurad cancel` themselves.
 *
 * An approval counts only if its signature verifies over the statement
 * rebuilt from the file as it is now, under the approver's current public
 * key in DIR/approvers/: editing a file or replacing a key can void
 * approvals, never add one.
 */
#include "deletion_sign.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "approvers.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "files.h"
#include "kura/approve.h"
#include "policy.h"

/* The bytes an approver signs (kura/approve.h, built by lib/format/statement.c); *out malloc'd. */
int deletion_statement(const deletion_req *r, const char *vkey, bool cancel, char **out,
		       size_t *out_len)
{
	kura_statement st = {
	    .kind = r->kind == DELETION_KIND_QUARANTINE_RELEASE ? KURA_STATEMENT_QUARANTINE_RELEASE
		    : r->kind == DELETION_KIND_QUARANTINE_REMOVE ? KURA_STATEMENT_QUARANTINE_REMOVE
								 : KURA_STATEMENT_DELETE,
	    .cancel = cancel,
	    .id = r->id,
	    .requested_ns = r->requested_ns,
	    .prune = r->kind == DELETION_KIND_DELETE && r->prune,
	    .quarantine_id = r->kind == DELETION_KIND_DELETE ? 0 : r->quarantine_id,
	    .names = r->snaps, /* sorted and unique: req_parse made them so */
	    .nnames = r->nsnaps,
	};

	snprintf(st.vault_key, sizeof(st.vault_key), "%s", vkey);
	snprintf(st.repo, sizeof(st.repo), "%s", r->repo);
	return kura_statement_build(out, out_len, &st);
}

/* Does `s` verify over r's statement under its approver's current key? */
bool deletion_sig_ok(const char *dir, const char *vkey, const deletion_req *r,
		     const deletion_sig *s, bool cancel)
{
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE];
	char *st = NULL;
	size_t len;
	bool ok;

	if (approvers_load(dir, s->approver, pk) < 0 || deletion_statement(r, vkey, cancel, &st, &len) < 0) {
		kura_error_clear();
		return false;
	}
	ok = kura_sign_verify(s->sig, st, len, pk) == 0;
	free(st);
	return ok;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The valid approvals of `r` (valid[i] for each, if not NULL), and in
 * *out_complete_ns the time of the approval that completes `quorum` of
 * them (0 if they do not).
 */
size_t deletion_sig_count_valid(const char *dir, const char *vkey, const deletion_req *r,
				unsigned quorum, bool *valid, int64_t *out_complete_ns)
{
	int64_t times[DELETION_APPROVALS_MAX];
	size_t n = 0;

	for (size_t i = 0; i < r->napprovals; i++) {
		bool ok = deletion_sig_ok(dir, vkey, r, &r->approvals[i], false);

		if (valid)
			valid[i] = ok;
		if (ok)
			times[n++] = r->approvals[i].time_ns;
	}
	*out_complete_ns = 0;
	if (n && quorum && n >= quorum) {
		qsort(times, n, sizeof(times[0]), cmp_i64);
		*out_complete_ns = times[quorum - 1];
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Approving and cancelling                                            */

static void duration(int64_t s, char out[32])
{
	policy_duration_format(s < 0 ? 0 : s, out);
}

/* What `r` does and what happens next, for the approver; malloc'd. */
static char *summary(const char *dir, const char *vkey, const vault_policy *p,
		     const deletion_req *r, const char *who, bool cancel)
{
	char when[40], delay[32], *text = NULL, *snaps = NULL;
	int64_t complete = 0;
	size_t valid, i, len = 0;

	files_format_time_s(when, r->requested_ns);
	duration(p->delay_s, delay);
	if (!(snaps = malloc(r->nsnaps * (KURA_ID_HEX + 4) + 8)))
		return NULL;
	snaps[0] = '\0';
	for (i = 0; i < r->nsnaps; i++)
		len += (size_t)sprintf(snaps + len, "    %s\n", r->snaps[i]);
	if (r->nsnaps == 0)
		sprintf(snaps, "    (none)\n");
	valid = deletion_sig_count_valid(dir, vkey, r, p->quorum, NULL, &complete);
	if (r->kind != DELETION_KIND_DELETE) {
		/* A quarantine request: say which record and what it does. */
		if (asprintf(&text,
			     "%s %s request %lu on repository %s (quarantine record %lu) as %s.\n"
			     "  files: %zu ('kurad quarantine list %s' shows them)\n"
			     "  approvals: %zu of %u needed\n%s\n",
			     cancel ? "Cancelled" : "Approved", deletion_store_kind_name(r->kind),
			     r->id, r->repo, r->quarantine_id, who, r->nsnaps, dir, valid, p->quorum,
			     cancel ? "Nothing will be done for it."
			     : complete
				 ? "The quorum is complete: 'kurad serve' carries it out after the "
				   "policy's delay."
				 : "It takes effect once the quorum is complete and the delay has "
				   "passed.") < 0)
			text = NULL;
	} else if (cancel) {
		if (asprintf(
			&text,
			"Cancelled deletion request %lu on repository %s (filed by %s at %s) "
			"as %s.\n  snapshots:\n%s  prune: %s\nNothing will be deleted for it.\n",
			r->id, r->repo, r->requested_by, when, who, snaps,
			r->prune ? "yes" : "no") < 0)
			text = NULL;
	} else {
		char next[256], eff[40];

		if (complete) {
			files_format_time_s(eff, (r->quorum_ns ? r->quorum_ns : complete) +
						     p->delay_s * DELETION_NS);
			snprintf(next, sizeof(next),
				 "The quorum is complete: it takes effect at about %s (after the "
				 "delay of %s), unless an approver cancels it before then with "
				 "'kurad cancel %s %lu --key FILE'.",
				 eff, delay, dir, r->id);
		} else {
			snprintf(next, sizeof(next),
				 "It needs %zu more approval%s; it takes effect %s after the "
				 "approval that completes the quorum.",
				 (size_t)p->quorum - valid, p->quorum - valid == 1 ? "" : "s",
				 delay);
		}
		if (asprintf(&text,
			     "Approved deletion request %lu on repository %s (filed by %s at %s) "
			     "as %s.\n  snapshots:\n%s  prune: %s\n  approvals: %zu of %u needed\n"
			     "%s\n",
			     r->id, r->repo, r->requested_by, when, who, snaps,
			     r->prune ? "yes" : "no", valid, p->quorum, next) < 0)
			text = NULL;
	}
	free(snaps);
	return text;
}

int deletion_sign(const char *dir, unsigned long id, const char *key_path, bool cancel,
		  int64_t now_ns, char **out_summary)
{
	uint8_t sk[KURA_SIGN_SECKEY_SIZE];
	char name[VAULT_NAME_MAX + 1], vkey[VAULT_SIGNING_KEY_B64], *ddir = NULL, *st = NULL;
	deletion_sig *grown, sig = {0};
	vault_policy p;
	deletion_req r = {0};
	size_t len;
	int fd = -1, err;

	*out_summary = NULL;
	if (id == 0 || id > DELETION_ID_MAX)
		return kura_error_set(KURA_EINVAL, "bad request id %lu", id);
	if ((err = kura_crypto_init()) < 0 || (err = vault_signing_key_b64(dir, vkey)) < 0 ||
	    (err = policy_load(dir, &p)) < 0)
		return err;
	if ((err = approvers_key_load(dir, key_path, name, sk)) < 0)
		return err;
	if ((err = deletion_store_lock(dir, &fd, &ddir)) < 0 ||
	    (err = deletion_store_load_one(ddir, id, &r)) < 0)
		goto done;
	if (r.state != DELETION_PENDING) {
		err = kura_error_set(KURA_EINVAL, "deletion request %lu is %s, not pending", id,
				     deletion_store_state_name(r.state));
		goto done;
	}
	if (!cancel) {
		for (size_t i = 0; i < r.napprovals; i++)
			if (strcmp(r.approvals[i].approver, name) == 0) {
				err = kura_error_set(KURA_EEXISTS,
						     "approver %s has approved request %lu already",
						     name, id);
				goto done;
			}
		if (r.napprovals >= DELETION_APPROVALS_MAX) {
			err = kura_error_set(KURA_EINVAL,
					     "request %lu has the most approvals a "
					     "request may have",
					     id);
			goto done;
		}
	}
	if ((err = deletion_statement(&r, vkey, cancel, &st, &len)) < 0)
		goto done;
	strcpy(sig.approver, name);
	sig.time_ns = now_ns;
	kura_sign(sig.sig, st, len, sk);
	if (cancel) {
		r.cancel = sig;
		r.has_cancel = true;
		r.state = DELETION_CANCELLED;
	} else {
		if (!(grown = realloc(r.approvals, (r.napprovals + 1) * sizeof(*grown)))) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		r.approvals = grown;
		r.approvals[r.napprovals++] = sig;
	}
	if ((err = deletion_store_save(ddir, &r, false)) < 0)
		goto done;
	if (!(*out_summary = summary(dir, vkey, &p, &r, name, cancel)))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
done:
	deletion_store_unlock(fd);
	kura_wipe(sk, sizeof(sk));
	deletion_store_req_free(&r);
	free(st);
	free(ddir);
	return err;
}
