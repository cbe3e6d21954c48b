/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_http.h - the vault backend's HTTPS transport (vault_http.c) and
 * the state the vault backend's files share: vault.c (the slots),
 * vault_cred.c (locations and credential files).  Private to
 * lib/backend.
 */
#ifndef KURA_VAULT_HTTP_H
#define KURA_VAULT_HTTP_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "kura/sys/backend.h"
#include "vaulthead.h"

/* How much of an error answer we keep for the message. */
#define VAULT_ERROR_BODY_MAX 4096
/* Easy handles kept for reuse (their connections and TLS sessions). */
#define VAULT_POOL_MAX 16
/* Reads worth having in flight: each waits a round trip, kurad serves them in parallel. */
#define VAULT_READ_PARALLEL 8

/* One opened vault repository (or, for an auditor's request, the vault). */
typedef struct {
	kura_backend parent;
	char *location;		    /* "vault://HOST:PORT/REPO", for messages */
	char *base;		    /* "https://HOST:PORT/v1/repos/REPO/" */
	char *pin;		    /* "sha256//BASE64" */
	struct curl_slist *headers; /* the Authorization header: holds the token */
	pthread_mutex_t lock;	    /* protects pool and pooled */
	unsigned access;	    /* KURA_BACKEND_READ or _WRITE: the credential's role */
	CURL *pool[VAULT_POOL_MAX];
	size_t pooled;
	vaulthead *heads; /* NULL without a signing_key in the credential */
} vault_backend;

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
	char err[VAULT_ERROR_BODY_MAX];
	size_t err_len;
	int alloc_err;
} vault_response;

/* The body of a PUT, read by libcurl from memory. */
typedef struct {
	const uint8_t *data;
	size_t len, pos;
} vault_upload;

/* libcurl's global set-up, once per process: 0 or KURA_EIO. */
int vault_http_ready(void);

/*
 * Perform one request.  `up` is the body of a PUT, or of a POST when
 * `method` is "POST" (sent as JSON); NULL for a GET.  `range` is an "A-B"
 * byte range or NULL.  On return *out_status holds the HTTP status (0 on
 * a transport failure, which is already an error).
 */
int vault_http_perform(vault_backend *vb, const char *method, const char *url, vault_upload *up,
		       const char *range, vault_response *r, long *out_status);

/*
 * An HTTP answer that is not the one we wanted, as a KURA_E* code and
 * message; `target` says what was asked for ("pack 3f2a...", "the data/
 * listing").
 */
int vault_http_status_error(const vault_backend *vb, const vault_response *r, long status,
			    const char *method, const char *target);

/* ": <the vault's {"error": ...} text>", or "" when it sent none. */
void vault_http_server_reason(const vault_response *r, char *out, size_t out_size);

/* Free a header list that may hold the token, wiping it first. */
void vault_http_headers_free(struct curl_slist *list);

#endif
