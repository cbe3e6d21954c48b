/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_resolve.c - `kurad alert resolve` (alert_resolve.h).  Runs on the
 * vault host in its own process, beside a running `kurad serve`, which
 * writes the audit entries for what it did at its next tick (alerts.c).
 *
 * The approver's key is loaded and checked by approvers.c, as for a
 * deletion approval; only the statement signed differs
 * (alert_record_statement), so an approval of a deletion can never count
 * as the resolution of an alert or the other way round.
 */
#include "alert_resolve.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_record.h"
#include "approvers.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "files.h"
#include "policy.h"

/* Drop `who`'s approvals that no longer verify: they may sign again. */
static int drop_stale(const char *dir, const char *vkey, json_t *doc, const char *who,
		      bool *out_has_valid)
{
	json_t *apps = json_object_get(doc, "approvals");
	bool *valid, resolved;
	size_t i;

	*out_has_valid = false;
	if (!(valid = calloc(json_array_size(apps) + 1, sizeof(*valid))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	alert_record_valid(dir, vkey, doc, valid, &resolved);
	for (i = json_array_size(apps); i-- > 0;) {
		const char *name =
		    json_string_value(json_object_get(json_array_get(apps, i), "approver"));

		if (strcmp(name, who) != 0)
			continue;
		if (valid[i])
			*out_has_valid = true;
		else
			json_array_remove(apps, i);
	}
	free(valid);
	return 0;
}

int alert_resolve(const char *dir, unsigned long id, const char *key_path, int64_t now_ns,
		  char **out_summary)
{
	uint8_t sk[KURA_SIGN_SECKEY_SIZE], sig[KURA_SIGNATURE_SIZE];
	char name[VAULT_NAME_MAX + 1], vkey[VAULT_SIGNING_KEY_B64], b64[KURA_BASE64_SIZE(64)];
	char *adir = NULL, *st = NULL, seen[40];
	const char *repo;
	alert_rec *rs = NULL, *rec = NULL;
	vault_policy p;
	size_t n = 0, i, len, nvalid;
	bool resolved, has_valid;
	int fd = -1, err;

	*out_summary = NULL;
	if (id == 0 || id > ALERT_ID_MAX)
		return kura_error_set(KURA_EINVAL, "bad alert id %lu", id);
	if ((err = kura_crypto_init()) < 0 || (err = vault_signing_key_b64(dir, vkey)) < 0 ||
	    (err = policy_load(dir, &p)) < 0)
		return err;
	if ((err = approvers_key_load(dir, key_path, name, sk)) < 0)
		return err;
	if ((err = alert_record_lock(dir, &fd, &adir)) < 0 ||
	    (err = alert_record_load_all(adir, &rs, &n, NULL)) < 0)
		goto done;
	for (i = 0; i < n; i++)
		if (rs[i].id == id)
			rec = &rs[i];
	if (!rec) {
		err = kura_error_set(KURA_ENOTFOUND, "no alert %lu in this vault", id);
		goto done;
	}
	if (!rec->doc) {
		err = kura_error_set(KURA_EINVAL,
				     "alert %lu cannot be read (%s): it stays open; restore the "
				     "file from the audit log's account or a backup",
				     id, rec->corrupt);
		goto done;
	}
	alert_record_valid(dir, vkey, rec->doc, NULL, &resolved);
	if (resolved) {
		err = kura_error_set(KURA_EINVAL, "alert %lu is resolved already", id);
		goto done;
	}
	if ((err = drop_stale(dir, vkey, rec->doc, name, &has_valid)) < 0)
		goto done;
	if (has_valid) {
		err = kura_error_set(KURA_EEXISTS, "approver %s has approved resolving alert %lu "
				     "already", name, id);
		goto done;
	}
	if (json_array_size(json_object_get(rec->doc, "approvals")) >= ALERT_APPROVALS_MAX) {
		err = kura_error_set(KURA_EINVAL, "alert %lu has the most approvals an alert may have",
				     id);
		goto done;
	}
	if ((err = alert_record_statement(rec->doc, vkey, &st, &len)) < 0)
		goto done;
	kura_sign(sig, st, len, sk);
	kura_base64(b64, sig, sizeof(sig));
	if (json_array_append_new(json_object_get(rec->doc, "approvals"),
				  json_pack("{s:s, s:I, s:s, s:b}", "approver", name, "time_ns",
					    (json_int_t)now_ns, "sig", b64, "logged", 0)) < 0) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	nvalid = alert_record_valid(dir, vkey, rec->doc, NULL, &resolved);
	if (nvalid >= p.quorum &&
	    (json_object_set_new(rec->doc, "resolved_ns", json_integer(now_ns)) < 0 ||
	     json_object_set_new(rec->doc, "quorum", json_integer(p.quorum)) < 0)) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = alert_record_save(adir, rec, false)) < 0)
		goto done;
	repo = json_string_value(json_object_get(rec->doc, "repo"));
	files_format_time_s(seen, json_integer_value(json_object_get(rec->doc, "last_seen_ns")));
	if (asprintf(out_summary,
		     "Approved resolving alert %lu (%s%s%s, seen %" JSON_INTEGER_FORMAT
		     " time%s, last at %s) as %s.\n  %s\n  approvals: %zu of %u needed\n%s\n",
		     id, json_string_value(json_object_get(rec->doc, "kind")),
		     repo ? " on repository " : " on the vault", repo ? repo : "",
		     json_integer_value(json_object_get(rec->doc, "count")),
		     json_integer_value(json_object_get(rec->doc, "count")) == 1 ? "" : "s", seen,
		     name, json_string_value(json_object_get(rec->doc, "summary")), nvalid, p.quorum,
		     nvalid >= p.quorum
			 ? "The alert is resolved: its hold on the repository's snapshots is lifted."
			 : "The alert stays open (and its hold stays) until the quorum is complete.") <
	    0) {
		*out_summary = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	}
done:
	alert_record_unlock(fd);
	kura_wipe(sk, sizeof(sk));
	alert_recs_free(rs, n);
	free(st);
	free(adir);
	return err;
}
