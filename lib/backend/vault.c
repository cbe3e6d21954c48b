/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault.c - the kurad vault backend: a repository held by a vault, reached
 * over HTTPS (docs/PROTOCOL.md), as the slots of kura/sys/backend.h.
 *
 * The vault enforces what a credential may do (a writer adds but never
 * reads packs or snapshots; nobody deletes or overwrites); this file only
 * asks, and maps its answers to KURA_E* codes with the vault's own
 * explanation.  Which slots it fills says what a vault is to the rest of
 * kura: it lists with receive times (list_detail), an opening may only
 * read or only write (access, from the credential's role), and it deletes
 * only through approved requests (request_deletion, list_deletions: no
 * remove); it has no lock (the vault keeps its own garbage collection
 * apart from the snapshots it receives) and no streams (an upload's URL
 * carries its name, known only at the end, so callers buffer).  The
 * auditor's requests (the log, the status) are here too: the same
 * transport without a repository.
 *
 * Its neighbours: vault_http.c (the transport, where the pin is
 * enforced), vault_cred.c (locations and credential files), vaulthead.c
 * (the audit-log heads it remembers), vault_time.c (receive times).
 *
 * Threads: put/get/get_range/list may run concurrently; nothing in the
 * backend changes after open but the pool of easy handles (vault_http.c).
 */
#include "kura/sys/backend.h"
#include "kura/keyless.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "vault_cred.h"
#include "vault_http.h"
#include "vault_time.h"
#include "vaulthead.h"

/* The largest file the vault accepts (PROTOCOL.md, "Upload rules"). */
#define FILE_MAX (((size_t)1 << 30) + 64 * 1024)
/* A listing of a million packs is ~100 MiB of JSON; far beyond that is an attack. */
#define LIST_MAX ((size_t)256 << 20)

/* "pack 3f2a..." for messages. */
static const char *file_target(char *out, size_t size, kura_file_type type, const char *name)
{
	snprintf(out, size, "%s %s", kura_file_type_what(type), name);
	return out;
}

/* "https://.../REPO/TYPE/NAME" (NAME may be "" for a listing); malloc'd. */
static char *file_url(const vault_backend *vb, kura_file_type type, const char *name)
{
	size_t n = strlen(vb->base) + strlen(kura_file_type_name(type)) + 2 + strlen(name);
	char *url = malloc(n);

	if (url)
		snprintf(url, n, "%s%s/%s", vb->base, kura_file_type_name(type), name);
	return url;
}

static int check_args(kura_file_type type, const char *name)
{
	return kura_backend_check_name("vault backend", type, name);
}

/* -------------------------------------------------------------------- */
/* The backend interface                                                 */

static int vault_put(kura_backend *b, kura_file_type type, const char *name, const void *data,
		     size_t len)
{
	vault_backend *vb = (vault_backend *)b;
	vault_response r = {.want_status = 201};
	vault_upload up = {.data = data, .len = len};
	char *url = NULL, target[96];
	long status;
	int err;

	if ((err = check_args(type, name)) < 0)
		return err;
	if (!data && len > 0)
		return kura_error_set(KURA_EINVAL, "vault backend: put of %zu bytes from NULL",
				      len);
	if (len > FILE_MAX)
		return kura_error_set(KURA_EINVAL, "%s %s: %zu bytes is more than a vault stores",
				      kura_file_type_what(type), name, len);
	if (!(url = file_url(vb, type, name)))
		return kura_error_set(KURA_ENOMEM, "vault backend: out of memory");
	r.to_data = false;
	r.decided = true;
	if ((err = vault_http_perform(vb, "PUT", url, &up, NULL, &r, &status)) < 0)
		goto done;
	/* 201: stored now; 200: the same name was already stored (same bytes) */
	if (status == 409 && type == KURA_FILE_SNAPSHOT) {
		/* the vault's reason names the packs; the cause is worth saying too */
		char reason[320];

		vault_http_server_reason(&r, reason, sizeof(reason));
		err = kura_error_set(KURA_ENOTFOUND,
				     "%s: the vault refused snapshot %s%s. Most likely its garbage "
				     "collection removed data this backup reused while it ran. No "
				     "snapshot was saved; run the backup again",
				     vb->location, name, reason);
	} else if (status != 200 && status != 201)
		err = vault_http_status_error(vb, &r, status, "PUT",
					      file_target(target, sizeof(target), type, name));

done:
	free(url);
	return err;
}

static int vault_get(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
		     size_t *out_len)
{
	vault_backend *vb = (vault_backend *)b;
	vault_response r = {.want_status = 200, .max = FILE_MAX};
	char *url = NULL, target[96];
	long status;
	int err;

	*out = NULL;
	*out_len = 0;
	if ((err = check_args(type, name)) < 0)
		return err;
	if (!(url = file_url(vb, type, name)))
		return kura_error_set(KURA_ENOMEM, "vault backend: out of memory");
	if ((err = vault_http_perform(vb, "GET", url, NULL, NULL, &r, &status)) < 0)
		goto done;
	if (status != 200) {
		err = vault_http_status_error(vb, &r, status, "GET",
					      file_target(target, sizeof(target), type, name));
		goto done;
	}
	if (!r.data.data && (err = kura_buf_reserve(&r.data, 1)) < 0)
		goto done;
	*out = kura_buf_detach(&r.data, out_len);

done:
	kura_buf_free(&r.data);
	free(url);
	return err;
}

static int vault_get_range(kura_backend *b, kura_file_type type, const char *name, uint64_t offset,
			   size_t len, uint8_t *buf)
{
	vault_backend *vb = (vault_backend *)b;
	vault_response r = {.want_status = 206, .fixed = buf, .fixed_len = len};
	char *url = NULL, range[48], target[96];
	long status;
	int err;

	if ((err = check_args(type, name)) < 0)
		return err;
	if ((err = kura_backend_check_range(type, name, offset, len)) < 0)
		return err;
	if (len == 0)
		return 0;
	snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)offset,
		 (unsigned long long)(offset + len - 1));
	if (!(url = file_url(vb, type, name)))
		return kura_error_set(KURA_ENOMEM, "vault backend: out of memory");
	if ((err = vault_http_perform(vb, "GET", url, NULL, range, &r, &status)) < 0)
		goto done;
	if (status == 200) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: %s %s: the vault answered a range request with the whole "
				     "file",
				     vb->location, kura_file_type_what(type), name);
		goto done;
	}
	if (status != 206) {
		err = vault_http_status_error(vb, &r, status, "GET",
					      file_target(target, sizeof(target), type, name));
		goto done;
	}
	if (r.fixed_got != len)
		err = kura_error_set(
		    KURA_ECORRUPT, "%s %s: wanted range %llu..%llu, the vault sent %zu bytes (%s)",
		    kura_file_type_what(type), name, (unsigned long long)offset,
		    (unsigned long long)(offset + len), r.fixed_got, vb->location);

done:
	free(url);
	return err;
}

/*
 * Report each well-formed entry of a listing; skip what is not ours.  A
 * snapshot's "received" that is missing or unusable leaves received_ns 0
 * and says why: the reader falls back to the claimed time, and says so.
 */
static int list_entries(vault_backend *vb, kura_file_type type, const vault_response *r,
			kura_backend_entry_fn fn, void *ctx)
{
	struct timespec now;
	json_error_t jerr;
	json_t *arr, *e;
	size_t i;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &now);

	arr = json_loadb((const char *)r->data.data, r->data.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_array(arr)) {
		err = kura_error_set(KURA_ECORRUPT, "%s: listing of %s/ is not a JSON array (%s)",
				     vb->location, kura_file_type_name(type),
				     arr ? "another JSON value" : jerr.text);
		goto done;
	}
	json_array_foreach(arr, i, e)
	{
		kura_backend_entry entry = {0};
		json_t *size = json_object_get(e, "size");
		int rc;

		entry.name = json_string_value(json_object_get(e, "name"));
		if (!kura_file_name_is_valid(entry.name) || !json_is_integer(size) ||
		    json_integer_value(size) < 0)
			continue;
		entry.size = (uint64_t)json_integer_value(size);
		if (type == KURA_FILE_SNAPSHOT)
			entry.received_problem = kura_vault__parse_received(
			    json_string_value(json_object_get(e, "received")),
			    (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, &entry.received_ns);
		rc = fn(&entry, ctx);
		if (rc != 0) {
			/* a callback's own error passes through, with its message */
			err = rc < 0 ? rc : 0;
			break;
		}
	}

done:
	json_decref(arr);
	return err;
}

static int vault_list_detail(kura_backend *b, kura_file_type type, kura_backend_entry_fn fn,
			     void *ctx)
{
	vault_backend *vb = (vault_backend *)b;
	vault_response r = {.want_status = 200, .max = LIST_MAX};
	char *url = NULL, target[96];
	long status;
	int err;

	if ((unsigned)type >= KURA_FILE_TYPES)
		return kura_error_set(KURA_EINVAL, "vault backend: bad file type %d", (int)type);
	if (!(url = file_url(vb, type, "")))
		return kura_error_set(KURA_ENOMEM, "vault backend: out of memory");
	if ((err = vault_http_perform(vb, "GET", url, NULL, NULL, &r, &status)) < 0)
		goto done;
	if (status != 200) {
		snprintf(target, sizeof(target), "the %s/ listing", kura_file_type_name(type));
		err = vault_http_status_error(vb, &r, status, "GET", target);
		goto done;
	}
	err = list_entries(vb, type, &r, fn, ctx);

done:
	kura_buf_free(&r.data);
	free(url);
	return err;
}

typedef struct {
	kura_backend_list_fn fn;
	void *ctx;
} plain_list;

static int plain_entry(const kura_backend_entry *e, void *ctx)
{
	const plain_list *p = ctx;

	return p->fn(e->name, e->size, p->ctx);
}

static int vault_list(kura_backend *b, kura_file_type type, kura_backend_list_fn fn, void *ctx)
{
	plain_list p = {fn, ctx};

	return vault_list_detail(b, type, plain_entry, &p);
}

static void vault_free(kura_backend *b)
{
	vault_backend *vb = (vault_backend *)b;

	if (!vb)
		return;
	for (size_t i = 0; i < vb->pooled; i++)
		curl_easy_cleanup(vb->pool[i]);
	vaulthead_free(vb->heads);
	/* the token lives in the header text */
	vault_http_headers_free(vb->headers);
	pthread_mutex_destroy(&vb->lock);
	free(vb->location);
	free(vb->base);
	free(vb->pin);
	free(vb);
}

/*
 * Remember the log heads the vault signs (vaulthead.c), with the key the
 * credential pins; a credential from before signing keys has none to check with.
 */
static int watch_heads(vault_backend *vb, const char *credentials_path)
{
	uint8_t pk[KURA_VAULT_SIGNING_KEY_SIZE];

	if (kura_vault_signing_key(pk, credentials_path) < 0) {
		kura_error_clear();
		return 0;
	}
	return vaulthead_open(&vb->heads, pk, vb->location);
}

static int vault_request_deletion(kura_backend *b, const char *body_json, long *out_status,
				  uint8_t **out_body, size_t *out_len);
static int vault_list_deletions(kura_backend *b, long *out_status, uint8_t **out_body,
				size_t *out_len);
static int vault_list_quarantine(kura_backend *b, long *out_status, uint8_t **out_body,
				 size_t *out_len);
static unsigned vault_access(kura_backend *b);

int kura_backend_vault_open(kura_backend **out, const char *url, const char *credentials_path)
{
	char hostport[VAULT_HOSTPORT_MAX + 1], repo[VAULT_REPO_NAME_MAX + 1];
	vault_backend *vb = NULL;
	size_t n;
	int err;

	*out = NULL;
	if ((err = vault_cred_parse_location(url, hostport, repo)) < 0)
		return err;
	if (!credentials_path || !*credentials_path)
		return kura_error_set(KURA_EINVAL,
				      "%s: no vault credential given (the file from 'kurad "
				      "client add')",
				      url);
	if ((err = vault_http_ready()) < 0)
		return err;
	if (!(vb = calloc(1, sizeof(*vb))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	pthread_mutex_init(&vb->lock, NULL);
	n = strlen(hostport) + strlen(repo) + sizeof("https:///v1/repos//");
	vb->location = strdup(url);
	vb->base = malloc(n);
	if (!vb->location || !vb->base) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	snprintf(vb->base, n, "https://%s/v1/repos/%s/", hostport, repo);
	if ((err = vault_cred_load(vb, credentials_path, hostport, repo)) < 0 ||
	    (err = watch_heads(vb, credentials_path)) < 0)
		goto done;

	kura_backend_init(&vb->parent, KURA_BACKEND_VERSION);
	vb->parent.put = vault_put;
	vb->parent.get = vault_get;
	vb->parent.get_range = vault_get_range;
	vb->parent.read_parallel = VAULT_READ_PARALLEL;
	vb->parent.list = vault_list;
	vb->parent.list_detail = vault_list_detail;
	vb->parent.free = vault_free;
	vb->parent.access = vault_access;
	vb->parent.request_deletion = vault_request_deletion;
	vb->parent.list_deletions = vault_list_deletions;
	vb->parent.list_quarantine = vault_list_quarantine;
	*out = &vb->parent;
	vb = NULL;

done:
	vault_free(vb ? &vb->parent : NULL);
	return err;
}

/* -------------------------------------------------------------------- */
/* Auditor requests: the log and the status                              */

/* The largest audit log taken into memory; beyond it, verify on the vault host. */
#define AUDIT_MAX ((size_t)1 << 30)
#define STATUS_MAX ((size_t)64 << 20)

int kura_vault_fetch(const char *credentials_path, const char *what, uint8_t **out, size_t *out_len)
{
	vault_backend *vb = NULL;
	vault_response r = {.want_status = 200};
	char *url = NULL, target[32];
	long status;
	int err;

	*out = NULL;
	*out_len = 0;
	if (!what || (strcmp(what, "log") != 0 && strcmp(what, "status") != 0))
		return kura_error_set(KURA_EINVAL, "vault: no auditor request \"%s\"",
				      what ? what : "(null)");
	if (!credentials_path || !*credentials_path)
		return kura_error_set(KURA_EINVAL,
				      "no vault credential given (an auditor credential from "
				      "'kurad client add --role auditor')");
	r.max = strcmp(what, "log") == 0 ? AUDIT_MAX : STATUS_MAX;
	if ((err = vault_http_ready()) < 0)
		return err;
	if (!(vb = calloc(1, sizeof(*vb))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	pthread_mutex_init(&vb->lock, NULL);
	if ((err = vault_cred_load_auditor(vb, credentials_path, NULL)) < 0 ||
	    (err = watch_heads(vb, credentials_path)) < 0)
		goto done;
	if (asprintf(&url, "%s%s", vb->base, what) < 0) {
		url = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = vault_http_perform(vb, "GET", url, NULL, NULL, &r, &status)) < 0)
		goto done;
	if (status != 200) {
		snprintf(target, sizeof(target), "/v1/%s", what);
		err = vault_http_status_error(vb, &r, status, "GET", target);
		goto done;
	}
	if (!r.data.data && (err = kura_buf_reserve(&r.data, 1)) < 0)
		goto done;
	*out = kura_buf_detach(&r.data, out_len);

done:
	kura_buf_free(&r.data);
	free(url);
	vault_free(vb ? &vb->parent : NULL);
	return err;
}

int kura_vault_signing_key(uint8_t out[KURA_VAULT_SIGNING_KEY_SIZE], const char *credentials_path)
{
	vault_backend *vb = NULL;
	int err;

	if (!credentials_path || !*credentials_path)
		return kura_error_set(KURA_EINVAL, "no vault credential given");
	if (!(vb = calloc(1, sizeof(*vb))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	pthread_mutex_init(&vb->lock, NULL);
	err = vault_cred_load_auditor(vb, credentials_path, out);
	vault_free(&vb->parent);
	return err;
}

/* -------------------------------------------------------------------- */
/* Deletion requests                                                     */

/* The most a deletion request may carry (PROTOCOL.md, "Deletion requests"). */
#define DELETION_BODY_MAX ((size_t)1 << 20)
/* Answers: one request object, or every request of a repository. */
#define DELETIONS_ANSWER_MAX ((size_t)64 << 20)

/* POST (body_json) or GET the repository's deletions; any answer is kept. */
static int deletions(kura_backend *b, const char *body_json, long *out_status, uint8_t **out_body,
		     size_t *out_len)
{
	vault_backend *vb = (vault_backend *)b;
	vault_response r = {.any_status = true, .max = DELETIONS_ANSWER_MAX};
	vault_upload up = {0};
	char *url = NULL;
	int err;

	*out_status = 0;
	*out_body = NULL;
	*out_len = 0;
	if (body_json) {
		up.data = (const uint8_t *)body_json;
		up.len = strlen(body_json);
		if (up.len > DELETION_BODY_MAX)
			return kura_error_set(
			    KURA_EINVAL,
			    "%s: a deletion request of %zu bytes is more than the "
			    "vault takes (1 MiB): name fewer snapshots at a time",
			    vb->location, up.len);
	}
	if (asprintf(&url, "%sdeletions", vb->base) < 0)
		return kura_error_set(KURA_ENOMEM, "vault backend: out of memory");
	if ((err = vault_http_perform(vb, body_json ? "POST" : "GET", url, body_json ? &up : NULL,
				      NULL, &r, out_status)) < 0)
		goto done;
	/* an error answer went to `data` too, so the whole explanation is here */
	if ((err = kura_buf_reserve(&r.data, 1)) < 0)
		goto done;
	r.data.data[r.data.len] = '\0';
	*out_body = kura_buf_detach(&r.data, out_len);

done:
	kura_buf_free(&r.data);
	free(url);
	return err;
}

static int vault_request_deletion(kura_backend *b, const char *body_json, long *out_status,
				  uint8_t **out_body, size_t *out_len)
{
	return deletions(b, body_json, out_status, out_body, out_len);
}

static int vault_list_deletions(kura_backend *b, long *out_status, uint8_t **out_body,
				size_t *out_len)
{
	return deletions(b, NULL, out_status, out_body, out_len);
}

/* GET the repository's quarantine records; any answer is kept, as for deletions. */
static int vault_list_quarantine(kura_backend *b, long *out_status, uint8_t **out_body,
				 size_t *out_len)
{
	vault_backend *vb = (vault_backend *)b;
	vault_response r = {.any_status = true, .max = DELETIONS_ANSWER_MAX};
	char *url = NULL;
	int err;

	*out_status = 0;
	*out_body = NULL;
	*out_len = 0;
	if (asprintf(&url, "%squarantine", vb->base) < 0)
		return kura_error_set(KURA_ENOMEM, "vault backend: out of memory");
	if ((err = vault_http_perform(vb, "GET", url, NULL, NULL, &r, out_status)) < 0 ||
	    (err = kura_buf_reserve(&r.data, 1)) < 0)
		goto done;
	r.data.data[r.data.len] = '\0';
	*out_body = kura_buf_detach(&r.data, out_len);
done:
	kura_buf_free(&r.data);
	free(url);
	return err;
}

static unsigned vault_access(kura_backend *b)
{
	return ((vault_backend *)b)->access;
}
