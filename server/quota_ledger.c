/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quota_ledger.c - a repository's quota state on disk (quota_ledger.h):
 *
 *   {"version": 1, "at": NS,
 *    "repository": {"debt": N},
 *    "clients": {"ward4": {"debt": N}, ...},
 *    "days": [[DAY, BYTES], ...]}
 *
 * Debts are as of "at" (CLOCK_REALTIME ns); DAY is a UTC day number.
 * The file is kurad's own, but it is read as any input is: a ledger that
 * does not parse is reported and rebuilt from the repository (the file
 * modification times say what was stored when), never trusted in part.
 */
#include "quota_ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <jansson.h>

#include "common/error.h"
#include "files.h"

#define LEDGER_VERSION 1

int64_t quota_day_of(int64_t ns)
{
	int64_t d = ns / QUOTA_DAY_NS;

	return ns % QUOTA_DAY_NS < 0 ? d - 1 : d;
}

static size_t slot_of(int64_t day)
{
	int64_t s = day % QUOTA_LEDGER_DAYS;

	return (size_t)(s < 0 ? s + QUOTA_LEDGER_DAYS : s);
}

uint64_t quota_ledger_day(const quota_ledger *l, int64_t day)
{
	size_t s = slot_of(day);

	return l->day[s] == day ? l->day_bytes[s] : 0;
}

void quota_ledger_add_day(quota_ledger *l, int64_t day, uint64_t bytes)
{
	size_t s = slot_of(day);

	if (l->day[s] != day) {
		l->day[s] = day;
		l->day_bytes[s] = 0;
	}
	l->day_bytes[s] = l->day_bytes[s] > UINT64_MAX - bytes ? UINT64_MAX : l->day_bytes[s] + bytes;
}

uint64_t quota_ledger_largest_day(const quota_ledger *l, int64_t today)
{
	uint64_t most = 0, b;

	for (int64_t d = today - QUOTA_HISTORY_DAYS; d < today; d++)
		if ((b = quota_ledger_day(l, d)) > most)
			most = b;
	return most;
}

quota_limits quota_ledger_limits(const quota_ledger *l, const vault_quota_conf *conf,
				 const char *repo, int64_t now_ns, unsigned *from_policy)
{
	quota_limits derived =
	    quota_derived(quota_ledger_largest_day(l, quota_day_of(now_ns)), l->fs_size);

	return quota_resolve_repo(conf, repo, &derived, from_policy);
}

quota_ledger_client *quota_ledger_client_get(quota_ledger *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->nclients; i++)
		if (strcmp(l->clients[i].name, name) == 0)
			return &l->clients[i];
	if (l->nclients == QUOTA_LEDGER_CLIENTS) {
		/* The last slot is shared by the rest. */
		name = "*";
		if (strcmp(l->clients[QUOTA_LEDGER_CLIENTS - 1].name, "*") == 0)
			return &l->clients[QUOTA_LEDGER_CLIENTS - 1];
		i = QUOTA_LEDGER_CLIENTS - 1;
	} else {
		i = l->nclients++;
	}
	memset(&l->clients[i], 0, sizeof(l->clients[i]));
	snprintf(l->clients[i].name, sizeof(l->clients[i].name), "%s", name);
	return &l->clients[i];
}

/* ------------------------------------------------------------------ */
/* From the repository                                                 */

typedef struct {
	kura_backend *b;
	kura_file_type type;
	quota_ledger *l;
	int64_t now_ns;
	bool dated; /* also date each file (no ledger to say what was stored when) */
	int err;
} walk_ctx;

static int walk_one(const char *name, uint64_t size, void *ctx)
{
	walk_ctx *w = ctx;
	int64_t mtime;
	int err;

	w->l->size += size;
	if (!w->dated)
		return 0;
	err = kura_backend_mtime(w->b, w->type, name, &mtime);
	if (err == KURA_ENOTFOUND) { /* removed since the listing */
		kura_error_clear();
		return 0;
	}
	if (err < 0) {
		w->err = err;
		return 1;
	}
	if (quota_day_of(mtime) > quota_day_of(w->now_ns) - QUOTA_LEDGER_DAYS)
		quota_ledger_add_day(w->l, quota_day_of(mtime), size);
	/* The last 24 hours' uploads are still owed to the repository's bucket. */
	if (mtime > w->now_ns - QUOTA_DAY_NS && mtime <= w->now_ns)
		w->l->bucket.debt += size;
	return 0;
}

static int walk_repo(vault *v, const char *repo, quota_ledger *l, int64_t now_ns, bool dated)
{
	walk_ctx w = {NULL, 0, l, now_ns, dated, 0};
	char path[4096];
	struct statvfs st;
	int err;

	if ((err = vault_repo(v, repo, &w.b)) < 0)
		return err;
	l->size = 0;
	for (int t = 0; t < KURA_FILE_TYPES; t++) {
		w.type = (kura_file_type)t;
		if ((err = w.b->list(w.b, w.type, walk_one, &w)) < 0 || (err = w.err) < 0)
			return err;
	}
	snprintf(path, sizeof(path), "%s/repos/%s", vault_dir(v), repo);
	l->fs_size = statvfs(path, &st) == 0 ? (uint64_t)st.f_blocks * st.f_frsize : 0;
	if (dated)
		l->bucket.at_ns = now_ns;
	return 0;
}

int quota_ledger_size(vault *v, const char *repo, uint64_t *out)
{
	quota_ledger *l = calloc(1, sizeof(*l));
	int err;

	*out = 0;
	if (!l)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = walk_repo(v, repo, l, 0, false)) == 0)
		*out = l->size;
	free(l);
	return err;
}

/* ------------------------------------------------------------------ */
/* The file                                                            */

static bool get_u64(const json_t *o, const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* The parsed file into l (buckets and days); false if it is not a ledger. */
static bool parse_ledger(const char *text, size_t len, quota_ledger *l)
{
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL), *clients, *days, *e, *c;
	const json_t *ver, *at;
	const char *name;
	uint64_t debt, bytes;
	bool ok = false;
	size_t i;

	ver = json_object_get(doc, "version");
	at = json_object_get(doc, "at");
	clients = json_object_get(doc, "clients");
	days = json_object_get(doc, "days");
	if (!json_is_object(doc) || !json_is_integer(ver) ||
	    json_integer_value(ver) != LEDGER_VERSION || !json_is_integer(at) ||
	    !json_is_object(clients) || !json_is_array(days) ||
	    !get_u64(json_object_get(doc, "repository"), "debt", &l->bucket.debt))
		goto done;
	l->bucket.at_ns = json_integer_value(at);
	json_object_foreach(clients, name, c)
	{
		if ((!vault_name_ok(name) && strcmp(name, "*") != 0) || !get_u64(c, "debt", &debt))
			goto done;
		quota_ledger_client *lc = quota_ledger_client_get(l, name);

		lc->bucket.debt = debt;
		lc->bucket.at_ns = l->bucket.at_ns;
	}
	json_array_foreach(days, i, e)
	{
		if (!json_is_array(e) || json_array_size(e) != 2 ||
		    !json_is_integer(json_array_get(e, 0)) || !json_is_integer(json_array_get(e, 1)) ||
		    json_integer_value(json_array_get(e, 1)) < 0)
			goto done;
		bytes = (uint64_t)json_integer_value(json_array_get(e, 1));
		quota_ledger_add_day(l, json_integer_value(json_array_get(e, 0)), bytes);
	}
	ok = true;
done:
	json_decref(doc);
	return ok;
}

int quota_ledger_load(vault *v, const char *repo, int64_t now_ns, quota_ledger *out)
{
	char path[4096], *text = NULL;
	size_t len = 0;
	int err;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < QUOTA_LEDGER_DAYS; i++)
		out->day[i] = INT64_MIN;
	snprintf(path, sizeof(path), "%s/meta/%s/%s", vault_dir(v), repo, "quota.json");
	err = files_read(path, VAULT_SMALL_FILE_MAX, &text, &len);
	if (err == 0 && parse_ledger(text, len, out)) {
		free(text);
		return walk_repo(v, repo, out, now_ns, false);
	}
	if (err == 0)
		fprintf(stderr, "kurad: %s: not a quota ledger; rebuilt from the repository's files\n",
			path);
	else if (err != KURA_ENOTFOUND)
		fprintf(stderr, "kurad: %s; rebuilt from the repository's files\n",
			kura_error_message());
	free(text);
	kura_error_clear();
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < QUOTA_LEDGER_DAYS; i++)
		out->day[i] = INT64_MIN;
	return walk_repo(v, repo, out, now_ns, true);
}

static json_int_t clamp(uint64_t n)
{
	return n > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)n;
}

int quota_ledger_save(vault *v, const char *repo, const quota_ledger *l, int64_t now_ns)
{
	json_t *doc, *clients, *days;
	char meta[4096], *text;
	int64_t today = quota_day_of(now_ns);
	int err;

	doc = json_pack("{s:i, s:I, s:{s:I}, s:{}, s:[]}", "version", LEDGER_VERSION, "at",
			(json_int_t)now_ns, "repository", "debt", clamp(l->bucket.debt),
			"clients", "days");
	if (!doc)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	clients = json_object_get(doc, "clients");
	days = json_object_get(doc, "days");
	for (size_t i = 0; i < l->nclients; i++)
		if (json_object_set_new(clients, l->clients[i].name,
					json_pack("{s:I}", "debt",
						  clamp(l->clients[i].bucket.debt))) < 0)
			goto nomem;
	for (int64_t d = today - QUOTA_HISTORY_DAYS; d <= today; d++) {
		uint64_t b = quota_ledger_day(l, d);

		if (b && json_array_append_new(days, json_pack("[I, I]", (json_int_t)d,
							       clamp(b))) < 0)
			goto nomem;
	}
	if (!(text = files_json_text(doc)))
		goto nomem;
	json_decref(doc);
	snprintf(meta, sizeof(meta), "meta/%s", repo);
	if ((err = files_make_dir(vault_dir(v), meta)) == 0) {
		snprintf(meta, sizeof(meta), "%s/meta/%s", vault_dir(v), repo);
		err = files_write_atomic(meta, "quota.json", text, false);
	}
	free(text);
	return err;
nomem:
	json_decref(doc);
	return kura_error_set(KURA_ENOMEM, "out of memory");
}
