/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status.c - what `kurad status` and GET /v1/status report (status.h):
 * per repository its files, bytes, snapshots and last receive time; per
 * client its role, repository, last backup and whether it is revoked; the
 * deletion requests.  Read only: it opens each repository's backend
 * through the vault and reads meta/REPO/snapshot-times, and changes
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

#include "common/error.h"
#include "deletion_intake.h"
#include "files.h"

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

/* The receive time on the last line of meta/REPO/snapshot-times; 0 if none. */
static int last_snapshot_time(vault *v, const char *repo, int64_t *out)
{
	char *path = NULL, *text = NULL, *line, *end;
	size_t len = 0;
	long long ns;
	int err;

	*out = 0;
	if (asprintf(&path, "%s/meta/%s/snapshot-times", vault_dir(v), repo) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	err = files_read(path, VAULT_SMALL_FILE_MAX, &text, &len);
	if (err == KURA_ENOTFOUND) {
		kura_error_clear();
		err = 0;
		goto done;
	}
	if (err < 0 || len == 0)
		goto done;
	if (text[len - 1] == '\n')
		text[--len] = '\0';
	line = strrchr(text, '\n');
	line = line ? line + 1 : text;
	if (!(line = strchr(line, ' '))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: last line malformed", path);
		goto done;
	}
	errno = 0;
	ns = strtoll(line + 1, &end, 10);
	if (errno || end == line + 1 || *end != ' ' || ns <= 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: last line malformed", path);
		goto done;
	}
	*out = (int64_t)ns;
done:
	free(text);
	free(path);
	return err;
}

static int repo_status(vault *v, const char *repo, json_t **out)
{
	kura_backend *b;
	tally all = {0, 0}, snaps = {0, 0};
	int64_t last;
	char when[40];
	int err, t;

	*out = NULL;
	if ((err = vault_repo(v, repo, &b)) < 0)
		return err;
	for (t = 0; t < KURA_FILE_TYPES; t++)
		if ((err = b->list(b, (kura_file_type)t, count_file,
				   t == KURA_FILE_SNAPSHOT ? (void *)&snaps : (void *)&all)) < 0)
			return err;
	if ((err = last_snapshot_time(v, repo, &last)) < 0)
		return err;
	if (last)
		files_format_time(when, last);
	*out = json_pack("{s:s, s:I, s:I, s:I, s:s?}", "name", repo, "files",
			 (json_int_t)(all.files + snaps.files), "bytes",
			 (json_int_t)(all.bytes + snaps.bytes), "snapshots",
			 (json_int_t)snaps.files, "last_snapshot_received", last ? when : NULL);
	return *out ? 0 : kura_error_set(KURA_ENOMEM, "out of memory");
}

/*
 * For each client, the receive time of the newest snapshot it uploaded
 * (0: none), from every repository's meta/REPO/snapshot-times.  Read line
 * by line: the file grows with every backup.  Lines that do not parse are
 * skipped (a torn append leaves one).
 */
static int client_last_backups(vault *v, int64_t *last, size_t nclients)
{
	char *path = NULL, *line = NULL;
	size_t cap = 0, r, c;
	FILE *f;
	int err = 0;

	for (r = 0; r < vault_repo_count(v); r++) {
		free(path);
		if (asprintf(&path, "%s/meta/%s/snapshot-times", vault_dir(v),
			     vault_repo_name(v, r)) < 0) {
			path = NULL;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			break;
		}
		if (!(f = fopen(path, "re"))) {
			if (errno == ENOENT)
				continue;
			err = kura_error_errno(kura_errno_code(errno), errno, "%s", path);
			break;
		}
		while (getline(&line, &cap, f) > 0) {
			char name[KURA_ID_HEX + 1], client[VAULT_NAME_MAX + 2];
			long long ns;

			if (sscanf(line, "%65s %lld %64s", name, &ns, client) != 3 || ns <= 0)
				continue;
			for (c = 0; c < nclients; c++)
				if (strcmp(vault_client_at(v, c)->name, client) == 0 &&
				    strcmp(vault_client_at(v, c)->repo, vault_repo_name(v, r)) ==
					0 &&
				    ns > last[c])
					last[c] = (int64_t)ns;
		}
		fclose(f);
	}
	free(line);
	free(path);
	return err;
}

int status_json(vault *v, char **out)
{
	json_t *doc = NULL, *repos, *clients, *item, *dels = NULL;
	int64_t *last = NULL;
	char when[40];
	size_t i, nclients = vault_client_count(v); /* vault_reload may add more meanwhile */
	int err = 0;

	*out = NULL;
	if (!(last = calloc(nclients ? nclients : 1, sizeof(*last)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = client_last_backups(v, last, nclients)) < 0 ||
	    (err = deletion_intake_list(v, NULL, &dels)) < 0)
		goto done;
	if (!(doc = json_pack("{s:[], s:[]}", "repositories", "clients"))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	repos = json_object_get(doc, "repositories");
	clients = json_object_get(doc, "clients");
	for (i = 0; i < vault_repo_count(v); i++) {
		if ((err = repo_status(v, vault_repo_name(v, i), &item)) < 0) {
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
	if (!(*out = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2))))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
done:
	json_decref(dels);
	json_decref(doc);
	free(last);
	return err;
}
