/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status.c - what `kurad status` and GET /v1/status report (status.h):
 * per repository its files, bytes, snapshots and last receive time; per
 * client its role, repository, last backup and whether it is revoked; the
 * deletion requests; the alerts (open, and resolved in the last week).
 * Per repository also its copies and their 3-2-1-1-0 verdict, from the
 * plaintext proof records (copies_view.h).
 * Read only: it opens each repository's backend
 * through the vault and streams meta/REPO/snapshot-times, and changes
 * nothing.  Clients added by a reload while it runs are left out of this
 * answer (the count is read once).
 */
#include "status.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alerts.h"
#include "common/error.h"
#include "copies_view.h"
#include "deletion_intake.h"
#include "drills.h"
#include "files.h"
#include "quota.h"
#include "policy.h"
#include "request.h"
#include "snaptimes.h"

typedef struct {
	uint64_t files;
	uint64_t bytes;
} tally;

static int count_file(const char *name, uint64_t size, void *ctx)
{
	tally *t = ctx;

	t->files++;
	t->bytes += size;
	return 0;
}

static int repo_status(vault *v, const char *repo, int64_t last, const vault_policy *policy,
		       json_t **out)
{
	vault_drill_state drill;
	kura_backend *b;
	tally all = {0, 0}, snaps = {0, 0};
	json_t *limits;
	char when[40];
	int err, t;

	*out = NULL;
	if ((err = vault_repo(v, repo, &b)) < 0)
		return err;
	for (t = 0; t < KURA_FILE_TYPES; t++)
		if ((err = b->list(b, (kura_file_type)t, count_file,
				   t == KURA_FILE_SNAPSHOT ? (void *)&snaps : (void *)&all)) < 0)
			return err;
	if (last)
		files_format_time(when, last);
	/* The limits in force and what is left of them (quota.h). */
	if ((err = quota_status_json(v, repo, all.bytes + snaps.bytes, &limits)) < 0)
		return err;
	*out =
	    json_pack("{s:s, s:I, s:I, s:I, s:s?, s:o}", "name", repo, "files",
		      (json_int_t)(all.files + snaps.files), "bytes",
		      (json_int_t)(all.bytes + snaps.bytes), "snapshots", (json_int_t)snaps.files,
		      "last_snapshot_received", last ? when : NULL, "quota", limits);
	if (!*out)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = drills_state(b, &drill)) < 0 ||
	    (err = drills_status_add(*out, &drill, policy->drill_every_s,
				     kura_now_ns(CLOCK_REALTIME))) < 0 ||
	    (err = copies_view_add(*out, b, repo, kura_now_ns(CLOCK_REALTIME))) < 0) {
		json_decref(*out);
		*out = NULL;
		return err;
	}
	return 0;
}

typedef struct {
	vault *v;
	const char *repo;
	int64_t *repo_last, *client_last;
	size_t nclients;
} last_times;

static int note_last(const snaptimes_line *l, unsigned long long lineno, void *ctx)
{
	last_times *t = ctx;
	size_t c;

	if (l->received_ns > *t->repo_last)
		*t->repo_last = l->received_ns;
	for (c = 0; c < t->nclients; c++)
		if (strcmp(vault_client_at(t->v, c)->name, l->client) == 0 &&
		    strcmp(vault_client_at(t->v, c)->repo, t->repo) == 0 &&
		    l->received_ns > t->client_last[c])
			t->client_last[c] = l->received_ns;
	return 0;
}

/*
 * The newest receive time in meta/REPO/snapshot-times of repository r,
 * into repo_last[r], and of each of its clients, into client_last[c]
 * (0: none).  Streamed, so any size works: the file grows with every
 * backup, and a stolen writer can make it grow fast.  A line that does
 * not parse (a torn append, damage) is skipped with a warning, never an
 * error: one repository's file must not break the status of the vault.
 */
static int scan_times(vault *v, size_t r, int64_t *repo_last, int64_t *client_last, size_t nclients)
{
	last_times t = {v, vault_repo_name(v, r), &repo_last[r], client_last, nclients};
	snaptimes_skipped bad;
	int err;

	err = snaptimes_each(vault_dir(v), t.repo, note_last, &t, &bad);
	snaptimes_warn(vault_dir(v), t.repo, &bad);
	return err;
}

int status_doc(vault *v, json_t **out)
{
	json_t *doc = NULL, *repos, *clients, *item, *dels = NULL, *alerts;
	int64_t *last = NULL, *repo_last = NULL;
	vault_policy policy;
	char when[40];
	/* Counts read once: vault_reload may add more meanwhile. */
	size_t i, nclients = vault_client_count(v), nrepos = vault_repo_count(v);
	int err = 0;

	*out = NULL;
	if (!(last = calloc(nclients ? nclients : 1, sizeof(*last))) ||
	    !(repo_last = calloc(nrepos ? nrepos : 1, sizeof(*repo_last)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < nrepos; i++)
		if ((err = scan_times(v, i, repo_last, last, nclients)) < 0)
			goto done;
	if ((err = deletion_intake_list(v, NULL, &dels)) < 0)
		goto done;
	if ((err = policy_load(vault_dir(v), &policy)) < 0)
		goto done;
	if (!(doc = json_pack("{s:[], s:[]}", "repositories", "clients"))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	repos = json_object_get(doc, "repositories");
	clients = json_object_get(doc, "clients");
	for (i = 0; i < nrepos; i++) {
		if ((err = repo_status(v, vault_repo_name(v, i), repo_last[i], &policy, &item)) <
		    0) {
			kura_error_wrap(err, "repository '%s'", vault_repo_name(v, i));
			goto done;
		}
		if (json_array_append_new(repos, item) < 0) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
	}
	for (i = 0; i < nclients; i++) {
		const vault_client *c = vault_client_at(v, i);

		if (last[i])
			files_format_time(when, last[i]);
		item = json_pack("{s:s, s:s, s:s?, s:s?, s:b}", "name", c->name, "role",
				 vault_role_name(c->role), "repo", c->repo[0] ? c->repo : NULL,
				 "last_backup", last[i] ? when : NULL, "revoked",
				 atomic_load(&c->revoked));
		if (!item || json_array_append_new(clients, item) < 0) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
	}
	if (json_object_set_new(doc, "deletions", dels) < 0) {
		dels = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	dels = NULL;
	if ((err = alerts_json(v, &alerts)) < 0)
		goto done;
	if (json_object_set_new(doc, "alerts", alerts) < 0) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	*out = doc;
	doc = NULL;
done:
	json_decref(dels);
	json_decref(doc);
	free(repo_last);
	free(last);
	return err;
}

int status_json(vault *v, char **out)
{
	json_t *doc;
	int err;

	*out = NULL;
	if ((err = status_doc(v, &doc)) < 0)
		return err;
	if (!(*out = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2))))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	json_decref(doc);
	return err;
}
