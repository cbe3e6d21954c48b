/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_record.c - the alert files, DIR/alerts/ID.json (alert_record.h):
 * strict parsing, atomic writing, the lock, and the statement approvers
 * sign to resolve an alert.
 *
 * The lock is a flock on DIR/alerts/.lock, which `kurad serve` and
 * `kurad alert resolve` (its own process) both take, and a process-wide
 * mutex before it, so that threads of one kurad queue on the mutex
 * instead of each opening the lock file.
 */
#include "alert_record.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "approvers.h"
#include "common/error.h"
#include "crypto/sign.h"
#include "files.h"

#define STATEMENT_MAGIC "kura-alert-resolve-v1\n"

static pthread_mutex_t room_lock = PTHREAD_MUTEX_INITIALIZER;

void alert_recs_free(alert_rec *rs, size_t n)
{
	for (size_t i = 0; rs && i < n; i++) {
		json_decref(rs[i].doc);
		free(rs[i].corrupt);
	}
	free(rs);
}

int alert_kind_ok(const char *kind)
{
	size_t i;

	if (!kind || kind[0] < 'a' || kind[0] > 'z')
		return 0;
	for (i = 1; kind[i]; i++)
		if (i >= ALERT_KIND_MAX || !((kind[i] >= 'a' && kind[i] <= 'z') ||
					     (kind[i] >= '0' && kind[i] <= '9') || kind[i] == '-'))
			return 0;
	return 1;
}

int alert_record_lock(const char *dir, int *out_fd, char **out_adir)
{
	char *path = NULL;
	int fd = -1, err;

	*out_fd = -1;
	*out_adir = NULL;
	pthread_mutex_lock(&room_lock);
	if ((err = files_subdir(dir, "alerts", out_adir)) < 0)
		goto done;
	if (asprintf(&path, "%s/.lock", *out_adir) < 0) {
		path = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s", path);
		goto done;
	}
	while ((err = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (err < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s: flock", path);
		close(fd);
		fd = -1;
	}
done:
	free(path);
	if (err < 0) {
		free(*out_adir);
		*out_adir = NULL;
		pthread_mutex_unlock(&room_lock);
		return err;
	}
	*out_fd = fd;
	return 0;
}

void alert_record_unlock(int fd)
{
	if (fd < 0)
		return;
	close(fd); /* releases the flock */
	pthread_mutex_unlock(&room_lock);
}

/* null, or an integer > 0 (0 for null); -1 otherwise. */
static int opt_pos(const json_t *j, int64_t *out)
{
	*out = 0;
	if (json_is_null(j))
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) <= 0)
		return -1;
	*out = (int64_t)json_integer_value(j);
	return 0;
}

/* Check every member of a record; a message naming the problem when it is not one. */
static int rec_check(alert_rec *r, const char *path)
{
	json_t *repo, *details, *cmd_ns, *cmd, *apps, *res, *quorum, *item;
	const char *kind, *summary;
	json_int_t id, raised, seen, count;
	json_error_t jerr;
	int64_t t;
	int logged;
	size_t i, j;

	if (json_unpack_ex(r->doc, &jerr, JSON_STRICT,
			   "{s:I, s:o, s:s, s:s, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:b}",
			   "id", &id, "repo", &repo, "kind", &kind, "summary", &summary, "details",
			   &details, "raised_ns", &raised, "last_seen_ns", &seen, "count", &count,
			   "command_ns", &cmd_ns, "command", &cmd, "approvals", &apps,
			   "resolved_ns", &res, "quorum", &quorum, "resolve_logged", &logged) < 0)
		return kura_error_set(KURA_ECORRUPT, "%s: %s", path, jerr.text);
	if (id < 0 || (unsigned long)id != r->id)
		return kura_error_set(KURA_ECORRUPT, "%s: \"id\" must match the file name", path);
	if (!json_is_null(repo) &&
	    (!json_is_string(repo) || !vault_name_ok(json_string_value(repo))))
		return kura_error_set(KURA_ECORRUPT, "%s: bad \"repo\"", path);
	if (!alert_kind_ok(kind))
		return kura_error_set(KURA_ECORRUPT, "%s: bad \"kind\"", path);
	if (!json_is_null(details) && !json_is_object(details))
		return kura_error_set(KURA_ECORRUPT, "%s: \"details\" is not an object", path);
	if (raised <= 0 || seen < raised || count < 1)
		return kura_error_set(KURA_ECORRUPT, "%s: bad raised_ns, last_seen_ns or count",
				      path);
	if (opt_pos(cmd_ns, &t) < 0 || (!json_is_null(cmd) && !json_is_string(cmd)) ||
	    opt_pos(res, &t) < 0 || opt_pos(quorum, &t) < 0 ||
	    json_is_null(res) != json_is_null(quorum))
		return kura_error_set(KURA_ECORRUPT,
				      "%s: bad command_ns, command, resolved_ns or quorum", path);
	if (!json_is_array(apps) || json_array_size(apps) > ALERT_APPROVALS_MAX)
		return kura_error_set(KURA_ECORRUPT, "%s: bad \"approvals\"", path);
	json_array_foreach(apps, i, item)
	{
		const char *who, *sig;
		json_int_t tns;
		uint8_t raw[KURA_SIGNATURE_SIZE];

		if (json_unpack_ex(item, &jerr, JSON_STRICT, "{s:s, s:I, s:s, s:b}", "approver",
				   &who, "time_ns", &tns, "sig", &sig, "logged", &logged) < 0)
			return kura_error_set(KURA_ECORRUPT, "%s: approval %zu: %s", path, i + 1,
					      jerr.text);
		if (!vault_name_ok(who) || tns <= 0 || kura_unbase64(raw, sizeof(raw), sig) < 0)
			return kura_error_set(KURA_ECORRUPT,
					      "%s: approval %zu: bad approver, time_ns or sig",
					      path, i + 1);
		for (j = 0; j < i; j++)
			if (strcmp(json_string_value(
				       json_object_get(json_array_get(apps, j), "approver")),
				   who) == 0)
				return kura_error_set(KURA_ECORRUPT,
						      "%s: approver %s approves twice", path, who);
	}
	snprintf(r->repo, sizeof(r->repo), "%s",
		 json_is_string(repo) ? json_string_value(repo) : "");
	return 0;
}

int alert_record_parse(alert_rec *r, unsigned long id, const char *text, size_t len,
		       const char *path)
{
	json_error_t jerr;
	int err;

	memset(r, 0, sizeof(*r));
	r->id = id;
	if (!(r->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)))
		return kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
	if ((err = rec_check(r, path)) < 0) {
		json_decref(r->doc);
		r->doc = NULL;
	}
	return err;
}

static int load_one(const char *adir, unsigned long id, alert_rec *r)
{
	char *path = NULL, *text = NULL;
	size_t len;
	int err;

	memset(r, 0, sizeof(*r));
	r->id = id;
	if (asprintf(&path, "%s/%lu.json", adir, id) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_read(path, ALERT_FILE_MAX, &text, &len)) == 0)
		err = alert_record_parse(r, id, text, len, path);
	free(text);
	free(path);
	return err;
}

/*
 * A corrupt record still says which repository it holds if its "repo"
 * member can be read; otherwise it holds them all (repo "*").
 */
static void corrupt_repo(const char *adir, alert_rec *r)
{
	char *path = NULL, *text = NULL;
	json_t *doc = NULL;
	const char *repo;

	strcpy(r->repo, "*");
	if (asprintf(&path, "%s/%lu.json", adir, r->id) < 0)
		return;
	if (files_read(path, ALERT_FILE_MAX, &text, NULL) == 0 &&
	    (doc = json_loads(text, 0, NULL)) &&
	    (repo = json_string_value(json_object_get(doc, "repo"))) && vault_name_ok(repo))
		snprintf(r->repo, sizeof(r->repo), "%s", repo);
	kura_error_clear();
	json_decref(doc);
	free(text);
	free(path);
}

int alert_record_load_all(const char *adir, alert_rec **out, size_t *out_n,
			  unsigned long *out_max_id)
{
	alert_rec *rs = NULL;
	unsigned long *ids = NULL;
	size_t n = 0, nids, i;
	int err;

	*out = NULL;
	*out_n = 0;
	if (out_max_id)
		*out_max_id = 0;
	if ((err = files_record_ids(adir, &ids, &nids)) < 0 || nids == 0)
		return err;
	if (!(rs = calloc(nids, sizeof(*rs)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < nids; i++, n++) {
		if ((err = load_one(adir, ids[i], &rs[n])) < 0) {
			if (err == KURA_ENOMEM) {
				n++;
				goto done;
			}
			if (!(rs[n].corrupt = strdup(kura_error_message()))) {
				n++;
				err = kura_error_set(KURA_ENOMEM, "out of memory");
				goto done;
			}
			corrupt_repo(adir, &rs[n]);
			err = 0;
		}
	}
	*out = rs;
	*out_n = n;
	if (out_max_id)
		*out_max_id = ids[nids - 1];
	rs = NULL;
	n = 0;
done:
	free(ids);
	alert_recs_free(rs, n);
	return err;
}

int alert_record_save(const char *adir, const alert_rec *rec, bool fresh)
{
	char name[32], *text;
	int err;

	snprintf(name, sizeof(name), "%lu.json", rec->id);
	if (!(text = files_json_text(rec->doc)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	err = files_write_atomic(adir, name, text, fresh);
	free(text);
	return err;
}

int alert_record_statement(const json_t *doc, const char *vkey, char **out, size_t *out_len)
{
	const char *repo = json_string_value(json_object_get(doc, "repo"));
	int n;

	n = asprintf(out,
		     STATEMENT_MAGIC "%s\n%" JSON_INTEGER_FORMAT "\n%s\n%s\n%" JSON_INTEGER_FORMAT
				     "\n%" JSON_INTEGER_FORMAT "\n%" JSON_INTEGER_FORMAT "\n",
		     vkey, json_integer_value(json_object_get(doc, "id")), repo ? repo : "",
		     json_string_value(json_object_get(doc, "kind")),
		     json_integer_value(json_object_get(doc, "raised_ns")),
		     json_integer_value(json_object_get(doc, "last_seen_ns")),
		     json_integer_value(json_object_get(doc, "count")));
	if (n < 0) {
		*out = NULL;
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	*out_len = (size_t)n;
	return 0;
}

size_t alert_record_valid(const char *dir, const char *vkey, const json_t *doc, bool *valid,
			  bool *out_resolved)
{
	const json_t *apps = json_object_get(doc, "approvals"), *item;
	json_int_t quorum = json_integer_value(json_object_get(doc, "quorum"));
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE], sig[KURA_SIGNATURE_SIZE];
	char *st = NULL;
	size_t len = 0, n = 0, i;

	if (alert_record_statement(doc, vkey, &st, &len) < 0)
		st = NULL;
	json_array_foreach(apps, i, item)
	{
		bool ok = st &&
			  approvers_load(dir, json_string_value(json_object_get(item, "approver")),
					 pk) == 0 &&
			  kura_unbase64(sig, sizeof(sig),
					json_string_value(json_object_get(item, "sig"))) == 0 &&
			  kura_sign_verify(sig, st, len, pk) == 0;

		if (valid)
			valid[i] = ok;
		n += ok;
	}
	kura_error_clear();
	free(st);
	*out_resolved = !json_is_null(json_object_get(doc, "resolved_ns")) && quorum >= 1 &&
			n >= (size_t)quorum;
	return n;
}
