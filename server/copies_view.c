/* SPDX-License-Identifier: Apache-2.0 */
/*
 * copies_view.c - a repository's copies and their 3-2-1-1-0 verdict, as
 * the vault sees them (copies_view.h).  The vault is the repository's
 * first copy (media "vault": immutable to its clients; site "onsite",
 * since the vault cannot know where it stands).  Times in the proof
 * records are the recording client's clock, and the document says so.
 */
#include "copies_view.h"

#include <string.h>

#include "common/error.h"
#include "files.h"
#include "kura/proof.h"
#include "kura/status321.h"

static const char *const rule_keys[KURA_RULES] = {"copies", "media", "offsite", "offline",
						  "errors"};

const char *copies_view_rule_key(int rule)
{
	return rule >= 0 && rule < KURA_RULES ? rule_keys[rule] : "?";
}

/* A time as the status document writes it, or JSON null for none. */
static json_t *time_or_null(int64_t ns)
{
	char when[40];

	if (ns <= 0)
		return json_null();
	files_format_time(when, ns);
	return json_string(when);
}

static json_t *id_or_null(const char *id)
{
	return id[0] ? json_string(id) : json_null();
}

static json_t *store_json(const kura_status_copy *c)
{
	if (c->is_source)
		return json_pack("{s:s, s:b, s:s, s:s, s:o, s:o, s:b, s:b}", "label", c->label,
				 "vault", 1, "media", kura_media_name(c->media), "site",
				 kura_site_name(c->site), "last_sync", time_or_null(c->synced_ns),
				 "snapshot", id_or_null(c->snapshot_id), "holds_newest", c->current,
				 "fresh", c->fresh);
	return json_pack(
	    "{s:s, s:b, s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:o, s:o, s:b, s:b}", "label", c->label,
	    "vault", 0, "target", c->target, "media", kura_media_name(c->media), "site",
	    kura_site_name(c->site), "last_copy", time_or_null(c->copied_ns), "last_copy_result",
	    c->copy_passed ? "passed" : "failed", "problems", (json_int_t)c->copy_problems, "files",
	    (json_int_t)c->copy_files, "last_sync", time_or_null(c->synced_ns), "snapshot",
	    id_or_null(c->snapshot_id), "holds_newest", c->current, "fresh", c->fresh);
}

static int build(json_t **out, const kura_status_report *r)
{
	const kura_status_copy *src = &r->copies[0];
	json_t *doc, *stores, *rules, *item;

	doc = json_pack(
	    "{s:s, s:s, s:o, s:[], s:o, s:o, s:[], s:s, s:I}", "source",
	    "proof and drill records (plaintext: read without a key)", "clock",
	    "copy and check times are the recording client's clock", "newest_snapshot",
	    id_or_null(r->newest), "stores", "check",
	    src->check_ns ? json_pack("{s:o, s:s, s:I}", "time", time_or_null(src->check_ns),
				      "result", src->check_passed ? "passed" : "failed", "problems",
				      (json_int_t)src->check_problems)
			  : json_null(),
	    "drill",
	    src->drill_ns ? json_pack("{s:o, s:s, s:f}", "time", time_or_null(src->drill_ns),
				      "result", src->drill_passed ? "passed" : "failed",
				      "rto_seconds", src->drill_rto_s)
			  : json_null(),
	    "rules", "verdict", r->all_ok ? "holds" : "fails", "damaged_records",
	    (json_int_t)r->damaged_records);
	if (!doc)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	stores = json_object_get(doc, "stores");
	rules = json_object_get(doc, "rules");
	for (size_t i = 0; i < r->ncopies; i++)
		if (!(item = store_json(&r->copies[i])) || json_array_append_new(stores, item) < 0)
			goto nomem;
	for (int i = 0; i < KURA_RULES; i++) {
		item = json_pack("{s:s, s:s, s:b, s:s, s:s}", "rule", kura_status_rule_name(i),
				 "key", rule_keys[i], "ok", r->rules[i].ok, "reason",
				 r->rules[i].reason, "fix", r->rules[i].fix);
		if (!item || json_array_append_new(rules, item) < 0)
			goto nomem;
	}
	*out = doc;
	return 0;
nomem:
	json_decref(doc);
	return kura_error_set(KURA_ENOMEM, "out of memory");
}

int copies_view_add(json_t *repo, kura_backend *b, const char *repo_name, int64_t now_ns)
{
	kura_status_policy policy = {.now_ns = now_ns,
				     .media = KURA_MEDIA_VAULT,
				     .site = KURA_SITE_ONSITE,
				     .keep_away = true};
	kura_status_report report;
	json_t *doc = NULL;
	int err;

	/* A repository whose records cannot be read must not break the vault's
	 * status: the reason stands in the place of the report. */
	if ((err = kura_status321(b, repo_name, &policy, &report)) < 0) {
		if (err == KURA_ENOMEM)
			goto done;
		doc = json_pack("{s:s}", "error", kura_error_message());
		err = doc ? 0 : kura_error_set(KURA_ENOMEM, "out of memory");
		goto set;
	}
	if ((err = build(&doc, &report)) < 0)
		goto done;
set:
	if (doc && json_object_set_new(repo, "copies", doc) < 0)
		err = kura_error_set(KURA_ENOMEM, "out of memory");
done:
	kura_status_report_clear(&report);
	return err;
}
