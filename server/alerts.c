/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alerts.c - the vault's alerts room (alerts.h): raising and refreshing
 * alerts, the operator's command, the hold's question "is an alert open on
 * this repository?", the listing for the status, and the audit entries for
 * what `kurad alert resolve` did in its own process.
 *
 * The files are the whole state (alert_record.h): nothing is cached, so a
 * resolution made by another process counts at once, and a crash loses
 * nothing but an audit entry that the next tick writes.  Alerts are few
 * (one open per repository and kind), so reading them all is cheap.
 */
#include "alerts.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "acceptances.h"
#include "alert_out.h"
#include "alert_record.h"
#include "common/error.h"
#include "files.h"
#include "policy.h"
#include "vault_state.h"

#define NS 1000000000LL

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* Printable ASCII only, at most ALERT_SUMMARY_MAX bytes: what people and log lines can show. */
static void clean_summary(char out[ALERT_SUMMARY_MAX + 1], const char *s)
{
	size_t i;

	for (i = 0; s && s[i] && i < ALERT_SUMMARY_MAX; i++)
		out[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

/* The audit entry of an alert raised, refreshed or resolved; no log (status) is fine. */
static int audit_alert(vault *v, const char *method, const char *client, const char *role,
		       const json_t *doc, int status)
{
	vault_audit *a = vault_get_audit(v);
	const char *repo = json_string_value(json_object_get(doc, "repo"));
	char path[256];
	vault_audit_entry e = {.peer = "local",
			       .client = client,
			       .role = role,
			       .method = method,
			       .path = path,
			       .status = status};

	if (!a)
		return 0;
	snprintf(path, sizeof(path),
		 "/v1/alerts/%" JSON_INTEGER_FORMAT "?kind=%s&repo=%s&count=%" JSON_INTEGER_FORMAT,
		 json_integer_value(json_object_get(doc, "id")),
		 json_string_value(json_object_get(doc, "kind")), repo ? repo : "",
		 json_integer_value(json_object_get(doc, "count")));
	return audit_append(a, &e);
}

int alerts_raise_id(vault *v, const char *repo, const char *kind, const char *summary,
		    const char *details_json, unsigned long *out_id)
{
	char clean[ALERT_SUMMARY_MAX + 1], *adir = NULL, *result = NULL;
	const char *dir = vault_dir(v);
	json_t *details = NULL;
	json_error_t jerr;
	alert_rec *rs = NULL, fresh_rec = {0}, *rec = NULL;
	size_t n = 0, i;
	unsigned long max_id;
	int64_t now = now_ns();
	bool fresh = false;
	int fd = -1, err = 0;

	if (out_id)
		*out_id = 0;
	if (repo && !*repo)
		repo = NULL;
	if (!alert_kind_ok(kind) || (repo && !vault_name_ok(repo)))
		return kura_error_set(KURA_EINVAL, "alert: bad kind or repository name");
	if (details_json && (!(details = json_loads(details_json, JSON_REJECT_DUPLICATES, &jerr)) ||
			     !json_is_object(details))) {
		json_decref(details);
		return kura_error_set(KURA_EINVAL, "alert %s: details are not a JSON object", kind);
	}
	clean_summary(clean, summary);
	if ((err = alert_record_lock(dir, &fd, &adir)) < 0)
		goto done;
	if ((err = alert_record_load_all(adir, &rs, &n, &max_id)) < 0)
		goto done;
	for (i = 0; i < n && !rec; i++) {
		bool resolved = false;

		if (!rs[i].doc || strcmp(rs[i].repo, repo ? repo : "") != 0 ||
		    strcmp(json_string_value(json_object_get(rs[i].doc, "kind")), kind) != 0)
			continue;
		if (!json_is_null(json_object_get(rs[i].doc, "resolved_ns"))) {
			char vkey[VAULT_SIGNING_KEY_B64];

			if (vault_signing_key_b64(dir, vkey) == 0)
				alert_record_valid(dir, vkey, rs[i].doc, NULL, &resolved);
			kura_error_clear();
		}
		if (!resolved)
			rec = &rs[i];
	}
	if (rec) {
		json_int_t count = json_integer_value(json_object_get(rec->doc, "count"));

		if (json_object_set_new(rec->doc, "count", json_integer(count + 1)) < 0 ||
		    json_object_set_new(rec->doc, "last_seen_ns", json_integer(now)) < 0 ||
		    json_object_set_new(rec->doc, "summary", json_string(clean)) < 0 ||
		    json_object_set(rec->doc, "details", details ? details : json_null()) < 0) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
	} else {
		if (max_id >= ALERT_ID_MAX) {
			err = kura_error_set(KURA_EINVAL, "alert: no more alert ids");
			goto done;
		}
		fresh = true;
		rec = &fresh_rec;
		rec->id = max_id + 1;
		rec->doc = json_pack(
		    "{s:I, s:s?, s:s, s:s, s:O?, s:I, s:I, s:I, s:n, s:n, s:[], s:n, s:n, s:b}",
		    "id", (json_int_t)rec->id, "repo", repo, "kind", kind, "summary", clean,
		    "details", details, "raised_ns", (json_int_t)now, "last_seen_ns",
		    (json_int_t)now, "count", (json_int_t)1, "command_ns", "command", "approvals",
		    "resolved_ns", "quorum", "resolve_logged", 0);
		if (!rec->doc) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		if (!details)
			json_object_set_new(rec->doc, "details", json_null());
	}
	/* Durable before anything says it exists. */
	if ((err = alert_record_save(adir, rec, fresh)) < 0)
		goto done;
	if (out_id)
		*out_id = rec->id;
	if ((err = audit_alert(v, fresh ? "ALERT" : "ALERT-AGAIN", "kurad", "vault", rec->doc,
			       200)) < 0)
		goto done;
	/* Sent once, when it opens: a refresh is in the record and the audit log only. */
	if (!fresh)
		goto done;
	/* No command configured: command_ns and command stay null. */
	if (!(result = alert_out_send(v, rec->doc, "opened")))
		goto done;
	if (json_object_set_new(rec->doc, "command_ns", json_integer(now)) < 0 ||
	    json_object_set_new(rec->doc, "command", json_string(result)) < 0) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	err = alert_record_save(adir, rec, false);
done:
	alert_record_unlock(fd);
	json_decref(fresh_rec.doc);
	alert_recs_free(rs, n);
	json_decref(details);
	free(result);
	free(adir);
	return err;
}

int alerts_raise(vault *v, const char *repo, const char *kind, const char *summary,
		 const char *details_json)
{
	return alerts_raise_id(v, repo, kind, summary, details_json, NULL);
}

bool alerts_open_since(const char *dir, const char *repo, int64_t *out_since_ns,
		       unsigned long *out_id)
{
	char *adir = NULL, vkey[VAULT_SIGNING_KEY_B64];
	alert_rec *rs = NULL;
	size_t n = 0, i;
	bool open = false, have_vkey = false;

	*out_since_ns = 0;
	*out_id = 0;
	if (asprintf(&adir, "%s/alerts", dir) < 0)
		return true;
	if (alert_record_load_all(adir, &rs, &n, NULL) < 0) {
		/* Cannot tell: hold, from the beginning. */
		kura_error_clear();
		free(adir);
		return true;
	}
	for (i = 0; i < n; i++) {
		bool resolved = false;
		json_t *since;
		int64_t t;

		if (strcmp(rs[i].repo, "*") != 0 && strcmp(rs[i].repo, repo) != 0)
			continue;
		if (rs[i].doc && !json_is_null(json_object_get(rs[i].doc, "resolved_ns"))) {
			if (!have_vkey && vault_signing_key_b64(dir, vkey) == 0)
				have_vkey = true;
			if (have_vkey)
				alert_record_valid(dir, vkey, rs[i].doc, NULL, &resolved);
		}
		if (resolved)
			continue;
		if (!rs[i].doc) {
			/* When it was raised is unknown: since the beginning. */
			open = true;
			*out_since_ns = 0;
			*out_id = rs[i].id;
			break;
		}
		t = json_integer_value(json_object_get(rs[i].doc, "raised_ns"));
		/* The raiser may know the suspect activity began earlier (a snapshot's receive
		 * time). */
		since = json_object_get(json_object_get(rs[i].doc, "details"), "since_ns");
		if (json_is_integer(since) && json_integer_value(since) > 0 &&
		    json_integer_value(since) < t)
			t = json_integer_value(since);
		if (!open || t < *out_since_ns) {
			*out_since_ns = t;
			*out_id = rs[i].id;
		}
		open = true;
	}
	kura_error_clear();
	alert_recs_free(rs, n);
	free(adir);
	return open;
}

bool alerts_open_for_repo_dir(const char *dir, const char *repo)
{
	int64_t since;
	unsigned long id;

	return alerts_open_since(dir, repo, &since, &id);
}

bool alerts_open_for_repo(vault *v, const char *repo)
{
	return alerts_open_for_repo_dir(vault_dir(v), repo);
}

/* The record of `r` with what it means now, for a listing. */
static json_t *listed(const char *dir, const char *vkey, const alert_rec *r, bool *out_recent,
		      int64_t now)
{
	json_t *o, *apps;
	const json_t *item;
	bool *valid = NULL, resolved = false;
	size_t nvalid, i;

	*out_recent = true;
	if (!r->doc)
		return json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)r->id, "state",
				 "corrupt", "repo", r->repo, "error", r->corrupt);
	if (!(o = json_deep_copy(r->doc)))
		return NULL;
	apps = json_object_get(o, "approvals");
	if (!(valid = calloc(json_array_size(apps) + 1, sizeof(*valid)))) {
		json_decref(o);
		return NULL;
	}
	nvalid = vkey ? alert_record_valid(dir, vkey, r->doc, valid, &resolved) : 0;
	json_array_foreach(apps, i, item)
	    json_object_set_new((json_t *)item, "valid", json_boolean(valid[i]));
	free(valid);
	if (resolved)
		*out_recent = now - json_integer_value(json_object_get(o, "resolved_ns")) <
			      (int64_t)ALERT_RECENT_S * NS;
	if (json_object_set_new(o, "state", json_string(resolved ? "resolved" : "open")) < 0 ||
	    json_object_set_new(o, "approvals_valid", json_integer((json_int_t)nvalid)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int alerts_list(const char *dir, bool all, int64_t now, json_t **out)
{
	char *adir = NULL, vkey[VAULT_SIGNING_KEY_B64];
	alert_rec *rs = NULL;
	json_t *arr = NULL, *item;
	size_t n = 0, i;
	vault_policy p;
	bool have_vkey, recent;
	int err;

	*out = NULL;
	if (asprintf(&adir, "%s/alerts", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = alert_record_load_all(adir, &rs, &n, NULL)) < 0)
		goto done;
	/* Without a vault there is nothing to list: say so, rather than "no alerts". */
	if ((err = policy_load(dir, &p)) == KURA_ENOTFOUND)
		goto done;
	if (err < 0)
		p.quorum = 0; /* a damaged policy is policy's to report; the alerts still list */
	have_vkey = vault_signing_key_b64(dir, vkey) == 0;
	kura_error_clear();
	err = 0;
	if (!(arr = json_array())) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (!(item = listed(dir, have_vkey ? vkey : NULL, &rs[i], &recent, now)) ||
		    json_object_set_new(item, "quorum_needed", json_integer(p.quorum)) < 0) {
			json_decref(item);
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		if (!all && !recent) {
			json_decref(item);
			continue;
		}
		if (json_array_append_new(arr, item) < 0) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
	}
	acceptances_annotate(dir, arr); /* an operator's "false alarm", shown, not obeyed */
	*out = arr;
	arr = NULL;
done:
	json_decref(arr);
	alert_recs_free(rs, n);
	free(adir);
	return err;
}

int alerts_json(vault *v, json_t **out)
{
	return alerts_list(vault_dir(v), false, now_ns(), out);
}

/*
 * The directory's change time when the last tick found nothing to log:
 * every change to a record renames a file into DIR/alerts, so an
 * unchanged directory needs no reading.
 */
static struct timespec quiet_mtime;
static char quiet_dir[4096];

int alerts_tick(vault *v)
{
	const char *dir = vault_dir(v);
	char *adir = NULL, vkey[VAULT_SIGNING_KEY_B64];
	alert_rec *rs = NULL;
	struct stat st;
	size_t n = 0, i, j;
	bool *valid = NULL;
	int fd = -1, err;

	if (!vault_get_audit(v))
		return 0;
	if (asprintf(&adir, "%s/alerts", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if (stat(adir, &st) < 0 ||
	    (strcmp(quiet_dir, dir) == 0 && st.st_mtim.tv_sec == quiet_mtime.tv_sec &&
	     st.st_mtim.tv_nsec == quiet_mtime.tv_nsec)) {
		free(adir);
		return 0;
	}
	free(adir);
	adir = NULL;
	if ((err = vault_signing_key_b64(dir, vkey)) < 0 ||
	    (err = alert_record_lock(dir, &fd, &adir)) < 0 ||
	    (err = alert_record_load_all(adir, &rs, &n, NULL)) < 0)
		goto done;
	/* Read again under the lock: what we log is what is on disk now. */
	if (stat(adir, &st) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s", adir);
		goto done;
	}
	for (i = 0; i < n; i++) {
		json_t *apps, *item;
		bool resolved, changed = false, closed = false;

		if (!rs[i].doc)
			continue;
		apps = json_object_get(rs[i].doc, "approvals");
		free(valid);
		if (!(valid = calloc(json_array_size(apps) + 1, sizeof(*valid)))) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		alert_record_valid(dir, vkey, rs[i].doc, valid, &resolved);
		json_array_foreach(apps, j, item)
		{
			if (json_is_true(json_object_get(item, "logged")))
				continue;
			if ((err = audit_alert(v, "RESOLVE-APPROVE",
					       json_string_value(json_object_get(item, "approver")),
					       "approver", rs[i].doc, valid[j] ? 200 : 403)) < 0 ||
			    (err = json_object_set_new(item, "logged", json_true())) < 0)
				goto done;
			changed = true;
		}
		if (resolved && !json_is_true(json_object_get(rs[i].doc, "resolve_logged"))) {
			if ((err = audit_alert(v, "RESOLVE", "kurad", "vault", rs[i].doc, 200)) <
				0 ||
			    (err = json_object_set_new(rs[i].doc, "resolve_logged", json_true())) <
				0)
				goto done;
			changed = closed = true;
		}
		if (changed && (err = alert_record_save(adir, &rs[i], false)) < 0)
			goto done;
		/* Sent once, when it closes: resolve_logged, saved above, marks it sent. */
		if (closed)
			free(alert_out_send(v, rs[i].doc, "closed"));
		if (changed && stat(adir, &st) < 0) {
			err = kura_error_errno(KURA_EIO, errno, "%s", adir);
			goto done;
		}
	}
	snprintf(quiet_dir, sizeof(quiet_dir), "%s", dir);
	quiet_mtime = st.st_mtim;
done:
	if (err == -1)
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	alert_record_unlock(fd);
	alert_recs_free(rs, n);
	free(valid);
	free(adir);
	return err;
}
