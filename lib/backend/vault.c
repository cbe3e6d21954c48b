/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault.c - the kurad vault backend: a repository held by a vault, reached
 * over HTTPS with libcurl (docs/PROTOCOL.md).
 *
 * A location "vault://HOST:PORT/REPO" names the repository; a credential
 * file issued by `kurad client add` carries the token, the role and the
 * pin of the vault's public key.  The location must agree with the
 * credential, so a credential is never sent to another vault or used for
 * another repository by mistake.
 *
 * Trust comes from the pin alone: the vault's certificate is self-signed,
 * so no certificate authority is asked, and a server whose key does not
 * hash to the pin is refused before any request (and so the token) is
 * sent.  Only https is spoken, redirects are never followed and proxies
 * from the environment are ignored.
 *
 * The vault enforces what a credential may do (a writer adds but never
 * reads packs or snapshots; nobody deletes or overwrites); this file only
 * maps its answers to KURA_E* codes with the vault's own explanation.
 *
 * Threads: put/get/get_range/list may run concurrently.  Each call takes
 * an easy handle from a small mutex-protected pool (so connections and TLS
 * sessions are reused) and returns it afterwards; nothing else in the
 * backend changes after open.
 */
#include "kura/backend.h"
#include "kura/keyless.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "vault_time.h"
#include "vaulthead.h"

#define NAME_LEN 64
#define TOKEN_LEN 43
#define CREDENTIAL_MAX (64 * 1024)
#define REPO_NAME_MAX 63
#define HOSTPORT_MAX 300
/* The largest file the vault accepts (PROTOCOL.md, "Upload rules"). */
#define FILE_MAX (((size_t)1 << 30) + 64 * 1024)
/* A listing of a million packs is ~100 MiB of JSON; far beyond that is an attack. */
#define LIST_MAX ((size_t)256 << 20)
/* How much of an error answer we keep for the message. */
#define ERROR_BODY_MAX 4096
#define POOL_MAX 16

static const char *const type_what[KURA_FILE_TYPES] = {
    [KURA_FILE_CONFIG] = "config", [KURA_FILE_KEY] = "key",   [KURA_FILE_SNAPSHOT] = "snapshot",
    [KURA_FILE_INDEX] = "index",   [KURA_FILE_PACK] = "pack",   [KURA_FILE_DRILL] = "drill record",
};

typedef struct {
	kura_backend parent;
	char *location;		    /* "vault://HOST:PORT/REPO", for messages */
	char *base;		    /* "https://HOST:PORT/v1/repos/REPO/" */
	char *pin;		    /* "sha256//BASE64" */
	struct curl_slist *headers; /* the Authorization header: holds the token */
	pthread_mutex_t lock;	    /* protects pool and pooled */
	CURL *pool[POOL_MAX];
	size_t pooled;
	vaulthead *heads; /* NULL without a signing_key in the credential */
} vault_backend;

/* -------------------------------------------------------------------- */
/* libcurl set-up                                                        */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int curl_ready(void)
{
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return kura_error_set(KURA_EIO, "vault backend: cannot initialise libcurl: %s",
				      curl_easy_strerror(curl_init_rc));
	return 0;
}

static CURL *handle_take(vault_backend *vb)
{
	CURL *h = NULL;

	pthread_mutex_lock(&vb->lock);
	if (vb->pooled > 0)
		h = vb->pool[--vb->pooled];
	pthread_mutex_unlock(&vb->lock);
	if (h) {
		/* keeps live connections and TLS sessions, forgets every option */
		curl_easy_reset(h);
		return h;
	}
	return curl_easy_init();
}

static void handle_give(vault_backend *vb, CURL *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&vb->lock);
	if (vb->pooled < POOL_MAX) {
		vb->pool[vb->pooled++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&vb->lock);
	if (h)
		curl_easy_cleanup(h);
}

/* -------------------------------------------------------------------- */
/* One request                                                           */

/* Where a response body goes: into `data` (a get) or only `err` (a put). */
typedef struct {
	CURL *h;
	bool decided;	  /* the status is known and `to_data` is set */
	bool to_data;	  /* the body is the file we asked for */
	long want_status; /* 200 (get, list) or 206 (get_range) */
	bool any_status;  /* every answer's body goes to `data` (deletion requests) */
	kura_buf data;	  /* get, list: the whole body */
	uint8_t *fixed;	  /* get_range: the caller's buffer ... */
	size_t fixed_len; /* ... its size ... */
	size_t fixed_got; /* ... and how much of it is filled */
	bool too_long;	  /* the body was longer than we take */
	size_t max;	  /* the most we take into `data` */
	char err[ERROR_BODY_MAX];
	size_t err_len;
	int alloc_err;
} response;

/* The body of a PUT, read by libcurl from memory. */
typedef struct {
	const uint8_t *data;
	size_t len, pos;
} upload;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	response *r = userdata;
	size_t n = size * nmemb;
	long status = 0;

	if (!r->decided) {
		curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
		r->to_data = r->any_status || status == r->want_status;
		r->decided = true;
		if (r->to_data && !r->fixed) {
			curl_off_t cl = -1;

			/* one allocation of the announced size instead of doubling */
			curl_easy_getinfo(r->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
			if (cl > 0 && (uint64_t)cl <= r->max && !r->data.data) {
				if (!(r->data.data = malloc((size_t)cl))) {
					r->alloc_err = KURA_ENOMEM;
					return 0;
				}
				r->data.cap = (size_t)cl;
			}
		}
	}
	if (!r->to_data) {
		size_t room = sizeof(r->err) - 1 - r->err_len;
		size_t k = n < room ? n : room;

		memcpy(r->err + r->err_len, ptr, k);
		r->err_len += k;
		r->err[r->err_len] = '\0';
		return n;
	}
	if (r->fixed) {
		if (n > r->fixed_len - r->fixed_got) {
			r->too_long = true;
			return 0;
		}
		memcpy(r->fixed + r->fixed_got, ptr, n);
		r->fixed_got += n;
		return n;
	}
	if (n > r->max - r->data.len) {
		r->too_long = true;
		return 0;
	}
	if (kura_buf_put(&r->data, ptr, n) < 0) {
		r->alloc_err = KURA_ENOMEM;
		return 0;
	}
	return n;
}

static size_t on_upload(char *buf, size_t size, size_t nitems, void *userdata)
{
	upload *u = userdata;
	size_t n = size * nitems, left = u->len - u->pos;

	if (n > left)
		n = left;
	memcpy(buf, u->data + u->pos, n);
	u->pos += n;
	return n;
}

/* libcurl rewinds the body when it must send it again on a new connection. */
static int on_seek(void *userdata, curl_off_t offset, int origin)
{
	upload *u = userdata;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > u->len)
		return CURL_SEEKFUNC_FAIL;
	u->pos = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* The server's {"error": "..."} text, or a short excerpt of whatever it sent. */
static void server_reason(const response *r, char *out, size_t out_size)
{
	json_t *j;
	const char *s;

	out[0] = '\0';
	if (r->err_len == 0)
		return;
	j = json_loadb(r->err, r->err_len, 0, NULL);
	s = json_is_object(j) ? json_string_value(json_object_get(j, "error")) : NULL;
	if (s)
		snprintf(out, out_size, ": %.300s", s);
	json_decref(j);
}

/*
 * An HTTP answer that is not the one we wanted, as a KURA_E* code and
 * message; `target` says what was asked for ("pack 3f2a...", "the data/
 * listing").
 */
static int status_error(const vault_backend *vb, const response *r, long status, const char *method,
			const char *target)
{
	char reason[320];

	server_reason(r, reason, sizeof(reason));
	switch (status) {
	case 404:
		return kura_error_set(KURA_ENOTFOUND, "%s: %s not found on the vault%s",
				      vb->location, target, reason);
	case 401:
		return kura_error_set(KURA_EAUTH,
				      "%s: the vault refused the credential (%s of %s)%s",
				      vb->location, method, target, reason);
	case 403:
		return kura_error_set(KURA_EDENIED, "%s: %s of %s refused by the vault%s",
				      vb->location, method, target, reason);
	case 429:
		return kura_error_set(KURA_EDENIED,
				      "%s: the vault is refusing this address for a while after "
				      "failed logins (%s of %s)%s",
				      vb->location, method, target, reason);
	case 409:
		return kura_error_set(KURA_ECORRUPT, "%s: %s of %s refused as inconsistent%s",
				      vb->location, method, target, reason);
	case 507:
		return kura_error_set(KURA_EIO,
				      "%s: %s of %s refused: the vault is out of storage space "
				      "(HTTP 507)%s",
				      vb->location, method, target, reason);
	case 400:
	case 405:
	case 411:
	case 413:
		return kura_error_set(KURA_EINVAL, "%s: %s of %s refused (HTTP %ld)%s",
				      vb->location, method, target, status, reason);
	default:
		return kura_error_set(KURA_EIO, "%s: %s of %s: unexpected HTTP status %ld%s",
				      vb->location, method, target, status, reason);
	}
}

/* "pack 3f2a..." for messages. */
static const char *file_target(char *out, size_t size, kura_file_type type, const char *name)
{
	snprintf(out, size, "%s %s", type_what[type], name);
	return out;
}

static int transport_error(const vault_backend *vb, CURLcode rc, const char *errbuf,
			   const char *method, const char *url)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	if (rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
		return kura_error_set(KURA_EAUTH,
				      "%s: the server's public key does not match the credential's "
				      "pin: not the vault, or its key was replaced (%s)",
				      vb->location, url);
	return kura_error_set(KURA_EIO, "%s: %s %s: %s", vb->location, method, url, detail);
}

/*
 * Options every request shares.  Returns 0 or KURA_ENOMEM when libcurl
 * cannot hold an option.
 */
static int set_common(vault_backend *vb, CURL *h, const char *url, char *errbuf)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(h, opt, val);                                        \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* a proxy from the environment would see every request: only direct */
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_NOPROXY, "*");
	/*
	 * The vault's certificate is self-signed and trusted through the pin
	 * alone: libcurl checks the server's public key against it during the
	 * handshake, before any request (or token) is sent.  Chain and host
	 * name checks would only reject the vault's own certificate.
	 */
	SET(CURLOPT_PINNEDPUBLICKEY, vb->pin);
	SET(CURLOPT_SSL_VERIFYPEER, 0L);
	SET(CURLOPT_SSL_VERIFYHOST, 0L);
	SET(CURLOPT_HTTPHEADER, vb->headers);
	SET(CURLOPT_USERAGENT, "kura/" KURA_VERSION);
	/* several threads: no signals for timeouts */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, 10L);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1024L);
	SET(CURLOPT_LOW_SPEED_TIME, 60L);
#undef SET
	if (rc != CURLE_OK)
		return kura_error_set(rc == CURLE_OUT_OF_MEMORY ? KURA_ENOMEM : KURA_EIO,
				      "vault backend: libcurl option: %s", curl_easy_strerror(rc));
	return 0;
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
	if ((unsigned)type >= KURA_FILE_TYPES)
		return kura_error_set(KURA_EINVAL, "vault backend: bad file type %d", (int)type);
	if (!kura_file_name_ok(name))
		return kura_error_set(
		    KURA_EINVAL,
		    "vault backend: bad %s file name \"%.80s\" (want 64 lowercase hex digits)",
		    type_what[type], name ? name : "(null)");
	return 0;
}

/* Free a header list that may hold the token, wiping it first. */
static void headers_free(struct curl_slist *list)
{
	for (struct curl_slist *s = list; s; s = s->next)
		kura_wipe(s->data, strlen(s->data));
	curl_slist_free_all(list);
}

/*
 * The headers of a POST with a JSON body: the credential's Authorization
 * header (copied: it is wiped with the list) and the content type.  No
 * "Expect: 100-continue": the body is small.
 */
static struct curl_slist *json_post_headers(const vault_backend *vb)
{
	struct curl_slist *list = NULL, *next;

	for (const struct curl_slist *s = vb->headers; s; s = s->next) {
		if (!(next = curl_slist_append(list, s->data)))
			goto fail;
		list = next;
	}
	if (!(next = curl_slist_append(list, "Content-Type: application/json")))
		goto fail;
	list = next;
	if (!(next = curl_slist_append(list, "Expect:")))
		goto fail;
	return next;
fail:
	headers_free(list);
	return NULL;
}

/*
 * Perform one request.  `up` is the body of a PUT, or of a POST when
 * `method` is "POST" (sent as JSON); NULL for a GET.  `range` is an "A-B"
 * byte range or NULL.  On return *out_status holds the HTTP status (0 on
 * a transport failure, which is already an error).
 */
static int perform(vault_backend *vb, const char *method, const char *url, upload *up,
		   const char *range, response *r, long *out_status)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *post_headers = NULL;
	bool post = up && strcmp(method, "POST") == 0;
	CURLcode rc = CURLE_OK;
	CURL *h;
	int err;

	*out_status = 0;
	if (!(h = handle_take(vb)))
		return kura_error_set(KURA_ENOMEM, "vault backend: cannot create a libcurl handle");
	r->h = h;
	if ((err = set_common(vb, h, url, errbuf)) < 0)
		goto done;
	rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	if (rc == CURLE_OK && range)
		rc = curl_easy_setopt(h, CURLOPT_RANGE, range);
	if (rc == CURLE_OK && post) {
		if (!(post_headers = json_post_headers(vb))) {
			err = kura_error_set(KURA_ENOMEM, "vault backend: out of memory");
			goto done;
		}
		rc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, post_headers);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_POST, 1L);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)up->len);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, up->data);
	} else if (rc == CURLE_OK && up) {
		rc = curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up->len);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_READDATA, up);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_SEEKDATA, up);
	}
	if (rc != CURLE_OK) {
		err = kura_error_set(KURA_EIO, "vault backend: libcurl option: %s",
				     curl_easy_strerror(rc));
		goto done;
	}
	rc = curl_easy_perform(h);
	if (r->alloc_err) {
		err = kura_error_set(KURA_ENOMEM, "%s: %s %s: out of memory for the answer",
				     vb->location, method, url);
		goto done;
	}
	if (r->too_long) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: %s %s: the vault sent more than the %zu "
				     "bytes expected",
				     vb->location, method, url, r->fixed ? r->fixed_len : r->max);
		goto done;
	}
	if (rc != CURLE_OK) {
		/* a refusal may end the upload early: the status still explains it */
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, out_status);
		if (*out_status >= 400 && rc == CURLE_SEND_ERROR)
			goto done;
		*out_status = 0;
		err = transport_error(vb, rc, errbuf, method, url);
		goto done;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, out_status);
	if (vb->heads) {
		struct curl_header *hd = NULL;

		vaulthead_seen(vb->heads, curl_easy_header(h, "Kura-Log-Head", 0, CURLH_HEADER,
							   -1, &hd) == CURLHE_OK
					      ? hd->value
					      : NULL);
	}
	err = 0;

done:
	handle_give(vb, h);
	headers_free(post_headers);
	r->h = NULL;
	return err;
}

/* -------------------------------------------------------------------- */
/* The backend interface                                                 */

static int vault_put(kura_backend *b, kura_file_type type, const char *name, const void *data,
		     size_t len)
{
	vault_backend *vb = (vault_backend *)b;
	response r = {.want_status = 201};
	upload up = {.data = data, .len = len};
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
				      type_what[type], name, len);
	if (!(url = file_url(vb, type, name)))
		return kura_error_set(KURA_ENOMEM, "vault backend: out of memory");
	r.to_data = false;
	r.decided = true;
	if ((err = perform(vb, "PUT", url, &up, NULL, &r, &status)) < 0)
		goto done;
	/* 201: stored now; 200: the same name was already stored (same bytes) */
	if (status == 409 && type == KURA_FILE_SNAPSHOT) {
		/* the vault's reason names the packs; the cause is worth saying too */
		char reason[320];

		server_reason(&r, reason, sizeof(reason));
		err = kura_error_set(KURA_ENOTFOUND,
				     "%s: the vault refused snapshot %s%s. Most likely its garbage "
				     "collection removed data this backup reused while it ran. No "
				     "snapshot was saved; run the backup again",
				     vb->location, name, reason);
	} else if (status != 200 && status != 201)
		err = status_error(vb, &r, status, "PUT",
				   file_target(target, sizeof(target), type, name));

done:
	free(url);
	return err;
}

static int vault_get(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
		     size_t *out_len)
{
	vault_backend *vb = (vault_backend *)b;
	response r = {.want_status = 200, .max = FILE_MAX};
	char *url = NULL, target[96];
	long status;
	int err;

	*out = NULL;
	*out_len = 0;
	if ((err = check_args(type, name)) < 0)
		return err;
	if (!(url = file_url(vb, type, name)))
		return kura_error_set(KURA_ENOMEM, "vault backend: out of memory");
	if ((err = perform(vb, "GET", url, NULL, NULL, &r, &status)) < 0)
		goto done;
	if (status != 200) {
		err = status_error(vb, &r, status, "GET",
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
	response r = {.want_status = 206, .fixed = buf, .fixed_len = len};
	char *url = NULL, range[48], target[96];
	long status;
	int err;

	if ((err = check_args(type, name)) < 0)
		return err;
	if (offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - offset)
		return kura_error_set(KURA_EINVAL, "%s %s: range %llu+%zu is out of bounds",
				      type_what[type], name, (unsigned long long)offset, len);
	if (len == 0)
		return 0;
	snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)offset,
		 (unsigned long long)(offset + len - 1));
	if (!(url = file_url(vb, type, name)))
		return kura_error_set(KURA_ENOMEM, "vault backend: out of memory");
	if ((err = perform(vb, "GET", url, NULL, range, &r, &status)) < 0)
		goto done;
	if (status == 200) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: %s %s: the vault answered a range request with the whole "
				     "file",
				     vb->location, type_what[type], name);
		goto done;
	}
	if (status != 206) {
		err = status_error(vb, &r, status, "GET",
				   file_target(target, sizeof(target), type, name));
		goto done;
	}
	if (r.fixed_got != len)
		err = kura_error_set(
		    KURA_ECORRUPT, "%s %s: wanted range %llu..%llu, the vault sent %zu bytes (%s)",
		    type_what[type], name, (unsigned long long)offset,
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
static int list_entries(vault_backend *vb, kura_file_type type, const response *r,
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
		if (!kura_file_name_ok(entry.name) || !json_is_integer(size) ||
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
	response r = {.want_status = 200, .max = LIST_MAX};
	char *url = NULL, target[96];
	long status;
	int err;

	if ((unsigned)type >= KURA_FILE_TYPES)
		return kura_error_set(KURA_EINVAL, "vault backend: bad file type %d", (int)type);
	if (!(url = file_url(vb, type, "")))
		return kura_error_set(KURA_ENOMEM, "vault backend: out of memory");
	if ((err = perform(vb, "GET", url, NULL, NULL, &r, &status)) < 0)
		goto done;
	if (status != 200) {
		snprintf(target, sizeof(target), "the %s/ listing", kura_file_type_name(type));
		err = status_error(vb, &r, status, "GET", target);
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
	headers_free(vb->headers);
	pthread_mutex_destroy(&vb->lock);
	free(vb->location);
	free(vb->base);
	free(vb->pin);
	free(vb);
}

/* -------------------------------------------------------------------- */
/* Opening: the location and the credential                              */

static bool repo_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > REPO_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/*
 * Split "vault://HOST:PORT/REPO" into "HOST:PORT" and "REPO".  HOST is a
 * name or IPv4 address, or an IPv6 address in brackets; anything else
 * (user info, a query, a longer path) is refused rather than guessed at.
 */
static int parse_location(const char *url, char hostport[HOSTPORT_MAX + 1],
			  char repo[REPO_NAME_MAX + 1])
{
	static const char scheme[] = "vault://";
	const char *p, *colon, *slash, *port;
	size_t hp_len, port_len;
	unsigned long port_num;

	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		goto bad;
	p = url + sizeof(scheme) - 1;
	if (!(slash = strchr(p, '/')))
		goto bad;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(slash - p));

		if (!close || close == p + 1 || close[1] != ':')
			goto bad;
		for (const char *c = p + 1; c < close; c++)
			if (!strchr("0123456789abcdefABCDEF:.", *c))
				goto bad;
		colon = close + 1;
	} else {
		if (!(colon = memchr(p, ':', (size_t)(slash - p))) || colon == p)
			goto bad;
		for (const char *c = p; c < colon; c++)
			if (!strchr(
				"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-",
				*c))
				goto bad;
	}
	port = colon + 1;
	port_len = (size_t)(slash - port);
	if (port_len == 0 || port_len > 5 || strspn(port, "0123456789") != port_len)
		goto bad;
	port_num = strtoul(port, NULL, 10);
	if (port_num == 0 || port_num > 65535)
		goto bad;
	hp_len = (size_t)(slash - p);
	if (hp_len > HOSTPORT_MAX || !repo_name_ok(slash + 1, strlen(slash + 1)))
		goto bad;
	memcpy(hostport, p, hp_len);
	hostport[hp_len] = '\0';
	snprintf(repo, REPO_NAME_MAX + 1, "%s", slash + 1);
	return 0;
bad:
	return kura_error_set(KURA_EINVAL,
			      "\"%.200s\" is not a vault location: want vault://HOST:PORT/REPO "
			      "(HOST a name or address, [IPv6] in brackets; REPO lowercase "
			      "letters, digits, '.', '_', '-')",
			      url);
}

/* Read the credential file: a regular file of at most 64 KiB. */
static int read_credential(const char *path, char **out, size_t *out_len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, err = 0;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted at the path must not hang us before fstat */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return kura_error_errno(errno == ENOENT ? KURA_ENOTFOUND : KURA_EIO, errno,
					"vault credential %s", path);
	if (fstat(fd, &st) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "vault credential %s: fstat", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		err = kura_error_set(KURA_EINVAL, "vault credential %s: not a regular file", path);
		goto done;
	}
	if (st.st_size > CREDENTIAL_MAX) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s: %lld bytes, more than a credential's %d",
				     path, (long long)st.st_size, CREDENTIAL_MAX);
		goto done;
	}
	if (!(buf = malloc(CREDENTIAL_MAX + 1))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, CREDENTIAL_MAX + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = kura_error_errno(KURA_EIO, errno, "vault credential %s: read", path);
			goto done;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > CREDENTIAL_MAX) {
			err = kura_error_set(KURA_EINVAL, "vault credential %s: grew past %d bytes",
					     path, CREDENTIAL_MAX);
			goto done;
		}
	}
	*out = buf;
	*out_len = got;
	buf = NULL;

done:
	if (buf) {
		kura_wipe(buf, CREDENTIAL_MAX + 1);
		free(buf);
	}
	close(fd);
	return err;
}

static bool token_ok(const char *t)
{
	size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

	return n == TOKEN_LEN && t[n] == '\0';
}

/* "sha256//" and the base64 of 32 bytes (44 characters with one '='). */
static bool pin_ok(const char *p)
{
	size_t n;

	if (strncmp(p, "sha256//", 8) != 0)
		return false;
	p += 8;
	n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
	return n == 43 && strcmp(p + n, "=") == 0;
}

static const char *cred_string(json_t *root, const char *key)
{
	return json_string_value(json_object_get(root, key));
}

/*
 * Read a credential file and check it is one this kura understands:
 * *out_root is its JSON object.  Release with credential_release().
 */
static int credential_parse(json_t **out_root, char **out_text, const char *path)
{
	json_error_t jerr;
	json_t *root, *version;
	size_t len = 0;
	int err;

	*out_root = NULL;
	if ((err = read_credential(path, out_text, &len)) < 0)
		return err;
	root = json_loadb(*out_text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s: not a JSON object (line %d: %s)", path,
				     jerr.line, root ? "another JSON value" : jerr.text);
		json_decref(root);
		return err;
	}
	*out_root = root;
	version = json_object_get(root, "kura_vault_credential");
	if (!json_is_integer(version) || json_integer_value(version) != 1)
		return kura_error_set(KURA_EINVAL,
				      "vault credential %s: \"kura_vault_credential\" is not 1 (not "
				      "a kura vault credential, or a version this kura does not "
				      "know)",
				      path);
	return 0;
}

/* Keep the pin and the token's Authorization header in vb. */
static int credential_use(vault_backend *vb, const char *pin, const char *token)
{
	size_t auth_len = sizeof("Authorization: Bearer ") + TOKEN_LEN;
	char *auth;
	int err = 0;

	if (!(vb->pin = strdup(pin)) || !(auth = malloc(auth_len)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	snprintf(auth, auth_len, "Authorization: Bearer %s", token);
	if (!(vb->headers = curl_slist_append(NULL, auth)))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	kura_wipe(auth, auth_len);
	free(auth);
	return err;
}

/*
 * Free what credential_parse() made.  jansson keeps its own copy of the
 * token in a malloc'd string; wipe it before it is freed (writing through
 * the const view is fine: the bytes are jansson's heap memory).
 */
static void credential_release(json_t *root, char *text)
{
	const char *token = root ? cred_string(root, "token") : NULL;

	if (token)
		kura_wipe((char *)token, strlen(token));
	json_decref(root);
	if (text) {
		kura_wipe(text, CREDENTIAL_MAX + 1);
		free(text);
	}
}

/*
 * Parse and check the credential against the location; fills vb->pin and
 * vb->headers.  Unknown members are ignored (a later kurad may add some);
 * the version number says when the meaning of the file changes.
 */
static int load_credential(vault_backend *vb, const char *path, const char *hostport,
			   const char *repo)
{
	json_t *root = NULL;
	char *text = NULL;
	const char *vault, *crepo, *role, *token, *pin;
	int err;

	if ((err = credential_parse(&root, &text, path)) < 0)
		goto done;
	vault = cred_string(root, "vault");
	crepo = cred_string(root, "repo");
	role = cred_string(root, "role");
	token = cred_string(root, "token");
	pin = cred_string(root, "pin");
	if (!vault || !crepo || !role || !token || !pin || !cred_string(root, "client")) {
		err = kura_error_set(
		    KURA_EINVAL,
		    "vault credential %s: \"vault\", \"repo\", \"client\", \"role\", "
		    "\"token\" and \"pin\" must all be strings",
		    path);
		goto done;
	}
	if (strcmp(vault, hostport) != 0) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s is for the vault at %.300s, not %s (%s)",
				     path, vault, hostport, vb->location);
		goto done;
	}
	if (strcmp(crepo, repo) != 0) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s is for repository \"%.80s\", not \"%s\" "
				     "(%s)",
				     path, crepo, repo, vb->location);
		goto done;
	}
	if (strcmp(role, "writer") != 0 && strcmp(role, "reader") != 0) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s has role \"%.40s\": a repository is used "
				     "with a writer or reader credential",
				     path, role);
		goto done;
	}
	if (!token_ok(token)) {
		err = kura_error_set(
		    KURA_EINVAL, "vault credential %s: the token is not 43 base64url characters",
		    path);
		goto done;
	}
	if (!pin_ok(pin)) {
		err = kura_error_set(
		    KURA_EINVAL,
		    "vault credential %s: the pin is not \"sha256//\" and the base64 "
		    "of a SHA-256",
		    path);
		goto done;
	}
	err = credential_use(vb, pin, token);
done:
	credential_release(root, text);
	return err;
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

int kura_backend_vault_open(kura_backend **out, const char *url, const char *credentials_path)
{
	char hostport[HOSTPORT_MAX + 1], repo[REPO_NAME_MAX + 1];
	vault_backend *vb = NULL;
	size_t n;
	int err;

	*out = NULL;
	if ((err = parse_location(url, hostport, repo)) < 0)
		return err;
	if (!credentials_path || !*credentials_path)
		return kura_error_set(KURA_EINVAL,
				      "%s: no vault credential given (KURA_VAULT_CREDENTIALS names "
				      "the file from 'kurad client add')",
				      url);
	if ((err = curl_ready()) < 0)
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
	if ((err = load_credential(vb, credentials_path, hostport, repo)) < 0 ||
	    (err = watch_heads(vb, credentials_path)) < 0)
		goto done;

	vb->parent.version = KURA_BACKEND_VERSION;
	vb->parent.put = vault_put;
	vb->parent.get = vault_get;
	vb->parent.get_range = vault_get_range;
	vb->parent.list = vault_list;
	vb->parent.list_detail = vault_list_detail;
	vb->parent.free = vault_free;
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

/*
 * Read a credential for a request that names no repository (an auditor's)
 * into vb: the location "vault://HOST:PORT", the pin and the token header.
 * The role is the vault's business: a writer asking for the log gets the
 * vault's 403, which says more than a refusal here would.  When
 * `signing_key` is not NULL the credential's "signing_key" is decoded into
 * it (KURA_ENOTFOUND if the credential has none).
 */
static int load_vault_credential(vault_backend *vb, const char *path,
				 uint8_t signing_key[KURA_VAULT_SIGNING_KEY_SIZE])
{
	char hostport[HOSTPORT_MAX + 1], repo[REPO_NAME_MAX + 1], *text = NULL, *probe = NULL;
	const char *vault, *token, *pin, *sk;
	json_t *root = NULL;
	size_t sk_len;
	int err;

	if ((err = credential_parse(&root, &text, path)) < 0)
		goto done;
	vault = cred_string(root, "vault");
	token = cred_string(root, "token");
	pin = cred_string(root, "pin");
	if (!vault || !token || !pin) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s: \"vault\", \"token\" and \"pin\" must all "
				     "be strings",
				     path);
		goto done;
	}
	/* the address rules of a location, with a placeholder repository */
	if (asprintf(&probe, "vault://%.300s/audit", vault) < 0) {
		probe = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (parse_location(probe, hostport, repo) < 0) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s: \"%.300s\" is not a vault address "
				     "(HOST:PORT)",
				     path, vault);
		goto done;
	}
	if (!token_ok(token) || !pin_ok(pin)) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s: the token is not 43 base64url characters, "
				     "or the pin is not \"sha256//\" and the base64 of a SHA-256",
				     path);
		goto done;
	}
	if (signing_key) {
		if (!(sk = cred_string(root, "signing_key"))) {
			err = kura_error_set(KURA_ENOTFOUND,
					     "vault credential %s has no \"signing_key\" (issued "
					     "by an older kurad: issue a new one with 'kurad "
					     "client add')",
					     path);
			goto done;
		}
		if (sodium_base642bin(signing_key, KURA_VAULT_SIGNING_KEY_SIZE, sk, strlen(sk),
				      NULL, &sk_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    sk_len != KURA_VAULT_SIGNING_KEY_SIZE) {
			err = kura_error_set(KURA_EINVAL,
					     "vault credential %s: \"signing_key\" is not the "
					     "base64 of a %d-byte Ed25519 public key",
					     path, KURA_VAULT_SIGNING_KEY_SIZE);
			goto done;
		}
	}
	if (asprintf(&vb->location, "vault://%s", hostport) < 0) {
		vb->location = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (asprintf(&vb->base, "https://%s/v1/", hostport) < 0) {
		vb->base = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	err = credential_use(vb, pin, token);
done:
	credential_release(root, text);
	free(probe);
	return err;
}

int kura_vault_fetch(const char *credentials_path, const char *what, uint8_t **out,
		     size_t *out_len)
{
	vault_backend *vb = NULL;
	response r = {.want_status = 200};
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
				      "no vault credential given (KURA_VAULT_CREDENTIALS names the "
				      "auditor credential from 'kurad client add --role auditor')");
	r.max = strcmp(what, "log") == 0 ? AUDIT_MAX : STATUS_MAX;
	if ((err = curl_ready()) < 0)
		return err;
	if (!(vb = calloc(1, sizeof(*vb))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	pthread_mutex_init(&vb->lock, NULL);
	if ((err = load_vault_credential(vb, credentials_path, NULL)) < 0 ||
	    (err = watch_heads(vb, credentials_path)) < 0)
		goto done;
	if (asprintf(&url, "%s%s", vb->base, what) < 0) {
		url = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = perform(vb, "GET", url, NULL, NULL, &r, &status)) < 0)
		goto done;
	if (status != 200) {
		snprintf(target, sizeof(target), "/v1/%s", what);
		err = status_error(vb, &r, status, "GET", target);
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
	err = load_vault_credential(vb, credentials_path, out);
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
	response r = {.any_status = true, .max = DELETIONS_ANSWER_MAX};
	upload up = {0};
	char *url = NULL;
	int err;

	*out_status = 0;
	*out_body = NULL;
	*out_len = 0;
	if (!kura_backend_is_vault(b))
		return kura_error_set(KURA_EINVAL,
				      "deletion requests go to a vault; this repository is not on one");
	if (body_json) {
		up.data = (const uint8_t *)body_json;
		up.len = strlen(body_json);
		if (up.len > DELETION_BODY_MAX)
			return kura_error_set(KURA_EINVAL,
					      "%s: a deletion request of %zu bytes is more than the "
					      "vault takes (1 MiB): name fewer snapshots at a time",
					      vb->location, up.len);
	}
	if (asprintf(&url, "%sdeletions", vb->base) < 0)
		return kura_error_set(KURA_ENOMEM, "vault backend: out of memory");
	if ((err = perform(vb, body_json ? "POST" : "GET", url, body_json ? &up : NULL, NULL, &r,
			   out_status)) < 0)
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

int kura_vault_request_deletion(kura_backend *b, const char *body_json, long *out_status,
				uint8_t **out_body, size_t *out_len)
{
	if (!body_json) {
		*out_status = 0;
		*out_body = NULL;
		*out_len = 0;
		return kura_error_set(KURA_EINVAL, "vault: a deletion request needs a body");
	}
	return deletions(b, body_json, out_status, out_body, out_len);
}

int kura_vault_list_deletions(kura_backend *b, long *out_status, uint8_t **out_body,
			      size_t *out_len)
{
	return deletions(b, NULL, out_status, out_body, out_len);
}

int kura_backend_is_vault(const kura_backend *b)
{
	return b && b->get == vault_get;
}
