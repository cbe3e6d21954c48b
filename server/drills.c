/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drills.c - the vault's view of restore drills (drills.h).
 *
 * The vault cannot run a drill (it holds no key), but it can tell whether
 * someone who can did: readers upload a drill record after each drill
 * (only readers may, docs/PROTOCOL.md), and its summary is plaintext.  The
 * newest record by the vault's own clock (the time the file was stored)
 * decides; a record the vault cannot parse was refused at upload, and one
 * damaged since is skipped here and left to `kura check`.  Nothing here
 * writes: the alert that follows from it is raised by the caller.
 */
#include "drills.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "kura/keyless.h"
#include "alerts.h"
#include "files.h"
#include "policy.h"
#include "vault_state.h"

typedef struct {
	kura_backend *b;
	vault_drill_state *out;
	int64_t best_ns;
	char best[KURA_ID_HEX];
} scan;

static int consider(const char *name, uint64_t size, void *ctx)
{
	scan *s = ctx;
	int64_t ns;

	if (!kura_file_name_is_valid(name))
		return 0;
	s->out->count++;
	if (kura_backend_mtime(s->b, KURA_FILE_DRILL, name, &ns) < 0)
		return 0; /* removed meanwhile, or unreadable: not the newest we can show */
	if (ns > s->best_ns || (ns == s->best_ns && strcmp(name, s->best) > 0)) {
		s->best_ns = ns;
		memcpy(s->best, name, KURA_ID_HEX);
	}
	return 0;
}

static int config_time(const char *name, uint64_t size, void *ctx)
{
	scan *s = ctx;

	if (kura_file_name_is_valid(name))
		(void)kura_backend_mtime(s->b, KURA_FILE_CONFIG, name, &s->out->since_ns);
	return 1; /* one config per repository */
}

int drills_state(kura_backend *b, vault_drill_state *out)
{
	scan s = {.b = b, .out = out};
	uint8_t *data = NULL;
	size_t len = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = b->list(b, KURA_FILE_DRILL, consider, &s)) < 0)
		return err;
	if (!s.best_ns) {
		if ((err = b->list(b, KURA_FILE_CONFIG, config_time, &s)) < 0 && err != 1)
			return err;
		return 0;
	}
	if (b->get(b, KURA_FILE_DRILL, s.best, &data, &len) < 0)
		return 0;
	if (kura_drillrec_decode(&out->rec, NULL, data, len) == 0) {
		out->found = true;
		out->received_ns = s.best_ns;
		memcpy(out->id, s.best, KURA_ID_HEX);
	}
	free(data);
	return 0;
}

bool drills_overdue(const vault_drill_state *d, int64_t drill_every_s, int64_t now_ns)
{
	int64_t since = d->found ? d->received_ns : d->since_ns;

	if (drill_every_s <= 0 || since <= 0)
		return false;
	return now_ns - since > drill_every_s * 1000000000LL;
}

bool drills_failed(const vault_drill_state *d)
{
	return d->found && !d->rec.passed;
}

static json_t *failed_json(uint32_t f)
{
	json_t *a = json_array();

	if (f & KURA_DRILL_FAIL_RESTORE)
		json_array_append_new(a, json_string("restore"));
	if (f & KURA_DRILL_FAIL_CONTENT)
		json_array_append_new(a, json_string("content"));
	if (f & KURA_DRILL_FAIL_META)
		json_array_append_new(a, json_string("metadata"));
	if (f & KURA_DRILL_FAIL_VERIFY)
		json_array_append_new(a, json_string("verify-command"));
	return a;
}

int drills_status_add(json_t *repo, const vault_drill_state *d, int64_t drill_every_s,
		      int64_t now_ns)
{
	char when[40], snap[KURA_ID_HEX], every[32];
	json_t *last = json_null();
	const kura_drillrec *r = &d->rec;

	if (d->found) {
		files_format_time(when, d->received_ns);
		kura_hex(snap, r->snapshot, KURA_HASH_SIZE);
		last = json_pack("{s:s, s:s, s:s, s:I, s:s, s:o, s:s, s:f, s:I, s:I, s:I, s:f, s:f}",
				 "id", d->id, "snapshot", snap, "received", when, "age_seconds",
				 (json_int_t)((now_ns - d->received_ns) / 1000000000LL), "result",
				 r->passed ? "passed" : "failed", "failed", failed_json(r->fail_flags),
				 "mode", r->mode == KURA_DRILL_MODE_FULL ? "full" : "sample",
				 "sample_percent", r->sample_bp / 100.0, "files_verified",
				 (json_int_t)r->files_verified, "files_failed",
				 (json_int_t)r->files_failed, "bytes_verified",
				 (json_int_t)r->bytes_verified, "rto_seconds", r->rto_ms / 1000.0,
				 "restore_seconds", r->restore_ns / 1e9);
	}
	if (drill_every_s > 0)
		policy_duration_format(drill_every_s, every);
	if (!last || json_object_set_new(repo, "drills", json_integer((json_int_t)d->count)) < 0 ||
	    json_object_set_new(repo, "last_drill", last) < 0 ||
	    json_object_set_new(repo, "drill_every", drill_every_s > 0 ? json_string(every)
									: json_null()) < 0 ||
	    json_object_set_new(repo, "drill_overdue",
				json_boolean(drills_overdue(d, drill_every_s, now_ns))) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	return 0;
}

void drills_print(const json_t *repos)
{
	const json_t *r, *last;
	size_t i;
	bool any = false;

	json_array_foreach(repos, i, r) {
		const char *state;
		char age[32] = "-", rto[32] = "-";
		json_int_t a;

		last = json_object_get(r, "last_drill");
		if (!any)
			printf("%-24s %-9s %-10s %-8s %10s  %s\n", "REPOSITORY", "DRILL", "AGE",
			       "RESULT", "RTO", "EVERY");
		any = true;
		if (json_is_object(last)) {
			a = json_integer_value(json_object_get(last, "age_seconds"));
			if (a >= 86400)
				snprintf(age, sizeof(age), "%" JSON_INTEGER_FORMAT "d", a / 86400);
			else if (a >= 3600)
				snprintf(age, sizeof(age), "%" JSON_INTEGER_FORMAT "h", a / 3600);
			else
				snprintf(age, sizeof(age), "%" JSON_INTEGER_FORMAT "m", a / 60);
			snprintf(rto, sizeof(rto), "%.0fs",
				 json_real_value(json_object_get(last, "rto_seconds")));
		}
		state = json_is_object(last)
			    ? json_string_value(json_object_get(last, "result"))
			    : "never";
		printf("%-24s %-9.8s %-10s %-8s %10s  %s%s\n",
		       json_string_value(json_object_get(r, "name")),
		       json_is_object(last) ? json_string_value(json_object_get(last, "id")) : "-",
		       age, state, rto,
		       json_is_string(json_object_get(r, "drill_every"))
			   ? json_string_value(json_object_get(r, "drill_every"))
			   : "-",
		       json_is_true(json_object_get(r, "drill_overdue")) ? "  OVERDUE" : "");
	}
	if (any)
		putchar('\n');
}

/* What the tick last raised per repository, so a state is raised when it starts. */
typedef struct {
	char repo[VAULT_NAME_MAX + 1];
	char failed_id[KURA_ID_HEX];
	bool overdue;
} raised;

static raised *raised_list;
static size_t raised_count;
static int64_t last_check_ns;

static raised *raised_for(const char *repo)
{
	raised *r;

	for (size_t i = 0; i < raised_count; i++)
		if (strcmp(raised_list[i].repo, repo) == 0)
			return &raised_list[i];
	if (!(r = realloc(raised_list, (raised_count + 1) * sizeof(*r))))
		return NULL;
	raised_list = r;
	r = &raised_list[raised_count++];
	memset(r, 0, sizeof(*r));
	snprintf(r->repo, sizeof(r->repo), "%s", repo);
	return r;
}

static int check_repo(vault *v, const char *repo, const vault_policy *p, int64_t now_ns)
{
	vault_drill_state d;
	kura_backend *b;
	raised *seen;
	char summary[256], details[512], snap[KURA_ID_HEX], every[32];
	bool overdue;
	int err;

	if ((err = vault_repo(v, repo, &b)) < 0 || (err = drills_state(b, &d)) < 0)
		return err;
	if (!(seen = raised_for(repo)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if (drills_failed(&d) && strcmp(seen->failed_id, d.id) != 0) {
		kura_hex(snap, d.rec.snapshot, KURA_HASH_SIZE);
		snprintf(summary, sizeof(summary),
			 "restore drill %.8s of snapshot %.8s failed: %llu path(s) failed%s", d.id,
			 snap, (unsigned long long)d.rec.files_failed,
			 d.rec.fail_flags & KURA_DRILL_FAIL_VERIFY ? ", the verify command failed"
								 : "");
		snprintf(details, sizeof(details),
			 "{\"drill\": \"%s\", \"snapshot\": \"%s\", \"files_failed\": %llu, "
			 "\"fail_flags\": %u}",
			 d.id, snap, (unsigned long long)d.rec.files_failed, d.rec.fail_flags);
		if ((err = alerts_raise(v, repo, "drill-failed", summary, details)) < 0)
			return err;
		memcpy(seen->failed_id, d.id, KURA_ID_HEX);
	}
	overdue = drills_overdue(&d, p->drill_every_s, now_ns);
	if (overdue && !seen->overdue) {
		policy_duration_format(p->drill_every_s, every);
		if (d.found)
			snprintf(summary, sizeof(summary),
				 "no restore drill for %lld s: the last one, %.8s, is older than "
				 "drill_every %s",
				 (long long)((now_ns - d.received_ns) / 1000000000LL), d.id, every);
		else
			snprintf(summary, sizeof(summary),
				 "no restore drill has ever been recorded, and drill_every is %s",
				 every);
		snprintf(details, sizeof(details), "{\"last_drill\": %s%s%s, \"drill_every\": \"%s\"}",
			 d.found ? "\"" : "", d.found ? d.id : "null", d.found ? "\"" : "", every);
		if ((err = alerts_raise(v, repo, "drill-overdue", summary, details)) < 0)
			return err;
	}
	seen->overdue = overdue;
	return 0;
}

int drills_tick(vault *v, int64_t now_ns)
{
	vault_policy p;
	size_t n = vault_repo_count(v);
	int err, first = 0;

	if (last_check_ns && now_ns - last_check_ns < DRILLS_CHECK_S * 1000000000LL)
		return 0;
	last_check_ns = now_ns;
	if ((err = policy_load(vault_dir(v), &p)) < 0)
		return err;
	for (size_t i = 0; i < n; i++)
		if ((err = check_repo(v, vault_repo_name(v, i), &p, now_ns)) < 0 && first == 0)
			first = kura_error_wrap(err, "repository '%s'", vault_repo_name(v, i));
	return first;
}
