/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_http.c - the vault backend's transport: one HTTPS request to a
 * kurad vault with libcurl, and the vault's answers as KURA_E* codes.
 *
 * Apart from the slots (vault.c) because this is where the security of
 * the connection lives, and it is the same for every request, a
 * repository's or an auditor's: trust comes from the pin alone (the
 * vault's certificate is self-signed, so no certificate authority is
 * asked, and a server whose key does not hash to the pin is refused in
 * the handshake, before any request and so the token is sent); only https
 * is spoken, redirects are never followed and proxies from the
 * environment are ignored.  Bodies are bounded (`max`), and an error
 * answer keeps only its first VAULT_ERROR_BODY_MAX bytes for the message.
 *
 * Threads: each request takes an easy handle from the backend's small
 * mutex-protected pool (so connections and TLS sessions are reused) and
 * gives it back afterwards.
 */
#include "vault_http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "kura/kura.h"

/* -------------------------------------------------------------------- */
/* libcurl set-up                                                        */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int vault_http_ready(void)
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
	if (vb->pooled < VAULT_POOL_MAX) {
		vb->pool[vb->pooled++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&vb->lock);
	if (h)
		curl_easy_cleanup(h);
}

/* -------------------------------------------------------------------- */
/* One request                                                           */


static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	vault_response *r = userdata;
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
	vault_upload *u = userdata;
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
	vault_upload *u = userdata;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > u->len)
		return CURL_SEEKFUNC_FAIL;
	u->pos = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* The server's {"error": "..."} text, or a short excerpt of whatever it sent. */
void vault_http_server_reason(const vault_response *r, char *out, size_t out_size)
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

/* Is this a 507 for a quota ({"error": ..., "quota": {...}}) rather than a full disk? */
static bool quota_refusal(const vault_response *r)
{
	json_t *j = r->err_len ? json_loadb(r->err, r->err_len, 0, NULL) : NULL;
	bool quota = json_is_object(json_object_get(j, "quota"));

	json_decref(j);
	return quota;
}

/*
 * An HTTP answer that is not the one we wanted, as a KURA_E* code and
 * message; `target` says what was asked for ("pack 3f2a...", "the data/
 * listing").
 */
int vault_http_status_error(const vault_backend *vb, const vault_response *r, long status, const char *method,
			const char *target)
{
	char reason[320];

	vault_http_server_reason(r, reason, sizeof(reason));
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
		/* A quota's body says which limit and when it refills; the reason has it all. */
		if (quota_refusal(r))
			return kura_error_set(KURA_EIO, "%s: %s of %s refused by the vault's quota "
					      "(HTTP 507)%s",
					      vb->location, method, target, reason);
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



/* Free a header list that may hold the token, wiping it first. */
void vault_http_headers_free(struct curl_slist *list)
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
	vault_http_headers_free(list);
	return NULL;
}

/*
 * Perform one request.  `up` is the body of a PUT, or of a POST when
 * `method` is "POST" (sent as JSON); NULL for a GET.  `range` is an "A-B"
 * byte range or NULL.  On return *out_status holds the HTTP status (0 on
 * a transport failure, which is already an error).
 */
int vault_http_perform(vault_backend *vb, const char *method, const char *url, vault_upload *up,
		   const char *range, vault_response *r, long *out_status)
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
	vault_http_headers_free(post_headers);
	r->h = NULL;
	return err;
}
