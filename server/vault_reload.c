/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_reload.c - `kurad serve`'s once-a-second look at what the
 * operator changed on the vault host: clients issued or revoked,
 * approvers added, replaced or removed, the policy changed.  Each change
 * takes effect and is written to the audit log; the first call only
 * takes stock (stock.c logs what changed while serve was stopped).
 *
 * One thread calls it.  A new client is filled in before the count that
 * publishes it, and its audit entry is written before its token works;
 * revocation is final and an atomic flag (vault_struct.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "common/array.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "files.h"
#include "vault_state.h"
#include "vault_struct.h"

/* ------------------------------------------------------------------ */
/* Reload                                                              */

/* One audit entry for a change made on the vault host (not a request). */
static int audit_admin(vault *v, const char *who, const char *role, const char *method,
		       const char *path, uint64_t bytes)
{
	vault_audit_entry e = {.peer = "local",
			       .client = who,
			       .role = role,
			       .method = method,
			       .path = path,
			       .status = 200,
			       .bytes = bytes};

	return v->audit ? audit_append(v->audit, &e) : 0;
}

/*
 * The stem of a NAME.json directory entry into `stem`, or false for
 * entries that are not records (dot files, other names).
 */
static bool record_stem(const char *entry, char stem[VAULT_NAME_MAX + 1])
{
	size_t len = strlen(entry);

	if (entry[0] == '.' || len <= 5 || len - 5 > VAULT_NAME_MAX ||
	    strcmp(entry + len - 5, ".json") != 0)
		return false;
	memcpy(stem, entry, len - 5);
	stem[len - 5] = '\0';
	return vault_name_ok(stem);
}

/* Clients issued or revoked since the last look. */
static int reload_clients(vault *v, bool log)
{
	char *dir = NULL, *path = NULL, stem[VAULT_NAME_MAX + 1], apath[VAULT_NAME_MAX + 16];
	struct dirent *de;
	struct stat st = {0};
	struct timespec started;
	DIR *d;
	int err = 0, e;

	clock_gettime(CLOCK_REALTIME, &started);
	if (asprintf(&dir, "%s/clients", v->dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	/* Records appear by link() and change by rename(): both touch the directory. */
	if (stat(dir, &st) == 0 && st.st_mtim.tv_sec == v->clients_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == v->clients_mtime.tv_nsec && v->clients_error == 0) {
		free(dir);
		return 0;
	}
	if (!(d = opendir(dir))) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s", dir);
		free(dir);
		return err;
	}
	while ((de = readdir(d)) != NULL) {
		const vault_client *known;
		size_t n = v->nclients;

		if (!record_stem(de->d_name, stem))
			continue;
		free(path);
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			path = NULL;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			break;
		}
		snprintf(apath, sizeof(apath), "/v1/clients/%s", stem);
		known = vault_client_named(v, stem);
		if (known && atomic_load(&known->revoked))
			continue; /* revocation is final */
		if (known) {
			vault_client now;

			if ((e = vault_client_parse(&now, path, stem)) < 0) {
				err = e;
				continue;
			}
			if (!atomic_load(&now.revoked))
				continue;
			if (log && (e = audit_admin(v, stem, vault_role_name(known->role), "REVOKE",
						    apath, 0)) < 0)
				err = e;
			atomic_store(&((vault_client *)known)->revoked, true);
			continue;
		}
		if (n == VAULT_CLIENTS_MAX) {
			err = kura_error_set(KURA_EUNSUPPORTED, "%s: more than %d clients", dir,
					     VAULT_CLIENTS_MAX);
			continue;
		}
		if ((e = vault_client_parse(&v->clients[n], path, stem)) < 0) {
			err = e;
			continue;
		}
		/* Logged before the token works: no request of it precedes its issue. */
		if (log &&
		    (e = audit_admin(v, stem, vault_role_name(v->clients[n].role),
				     atomic_load(&v->clients[n].revoked) ? "REVOKE" : "ISSUE",
				     apath, 0)) < 0) {
			err = e;
			continue;
		}
		vault_repos_add(v, v->clients[n].repo);
		v->nclients = n + 1;
	}
	closedir(d);
	free(path);
	free(dir);
	/*
	 * File system times move in coarse ticks: a record changed after our
	 * stat but within the same tick leaves the directory's time as we saw
	 * it.  So a time still this close to now is not remembered, and the
	 * next look reads the directory again (a missed revocation would leave
	 * a stolen token working).
	 */
	if (st.st_mtim.tv_sec < started.tv_sec - 1)
		v->clients_mtime = st.st_mtim;
	else
		v->clients_mtime = (struct timespec){0};
	v->clients_error = err; /* look again next time until every record reads */
	return err;
}

/* SHA-256 of a small file's bytes; false if it cannot be read. */
static bool hash_file(const char *path, uint8_t out[KURA_HASH_SIZE], size_t *len)
{
	char *text = NULL;

	if (files_read(path, VAULT_SMALL_FILE_MAX, &text, len) < 0)
		return false;
	kura_sha256(out, text, *len);
	free(text);
	return true;
}

/* Approvers added, replaced or removed, and policy changes, since the last look. */
static int reload_approvers_policy(vault *v, bool log)
{
	char *dir = NULL, *path = NULL, stem[VAULT_NAME_MAX + 1], apath[VAULT_NAME_MAX + 20];
	uint8_t h[KURA_HASH_SIZE];
	struct dirent *de;
	size_t len, i;
	DIR *d;
	int err = 0, e;

	for (i = 0; i < v->napprovers_seen; i++)
		v->approvers_seen[i].present = false;
	if (asprintf(&dir, "%s/approvers", v->dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	d = opendir(dir);
	while (d && (de = readdir(d)) != NULL) {
		struct file_seen *f = NULL;
		const char *what;

		if (!record_stem(de->d_name, stem))
			continue;
		free(path);
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			path = NULL;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			break;
		}
		if (!hash_file(path, h, &len))
			continue;
		for (i = 0; i < v->napprovers_seen && !f; i++)
			if (strcmp(v->approvers_seen[i].name, stem) == 0)
				f = &v->approvers_seen[i];
		if (f && memcmp(f->hash, h, sizeof(h)) == 0) {
			f->present = true;
			continue;
		}
		what = f ? "REPLACE-APPROVER" : "ADD-APPROVER";
		if (!f) {
			size_t cap = v->napprovers_seen;

			if ((e = kura_array_grow((void **)&v->approvers_seen, &cap,
						 v->napprovers_seen + 1,
						 sizeof(*v->approvers_seen))) < 0) {
				err = e;
				break;
			}
			f = &v->approvers_seen[v->napprovers_seen++];
			snprintf(f->name, sizeof(f->name), "%s", stem);
		}
		memcpy(f->hash, h, sizeof(h));
		f->present = true;
		snprintf(apath, sizeof(apath), "/v1/approvers/%s", stem);
		if (log && (e = audit_admin(v, stem, "approver", what, apath, len)) < 0)
			err = e;
	}
	if (d)
		closedir(d);
	for (i = 0; i < v->napprovers_seen;) {
		if (v->approvers_seen[i].present) {
			i++;
			continue;
		}
		snprintf(apath, sizeof(apath), "/v1/approvers/%s", v->approvers_seen[i].name);
		if (log && (e = audit_admin(v, v->approvers_seen[i].name, "approver",
					    "REMOVE-APPROVER", apath, 0)) < 0)
			err = e;
		v->approvers_seen[i] = v->approvers_seen[--v->napprovers_seen];
	}
	free(path);
	path = NULL;
	if (asprintf(&path, "%s/policy.json", v->dir) < 0) {
		free(dir);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	if (hash_file(path, h, &len) && memcmp(h, v->policy_seen, sizeof(h)) != 0) {
		memcpy(v->policy_seen, h, sizeof(h));
		if (log && (e = audit_admin(v, "kurad", "vault", "POLICY", "/v1/policy", len)) < 0)
			err = e;
	}
	free(path);
	free(dir);
	return err;
}

int vault_reload(vault *v)
{
	bool log = v->stock_taken;
	int err, e;

	v->stock_taken = true;
	err = reload_clients(v, log);
	if ((e = reload_approvers_policy(v, log)) < 0 && err == 0)
		err = e;
	return err;
}
