/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request.h - the state of one request to the vault's HTTPS front end,
 * the state shared by all of them, and how a request is answered.  Used
 * by the gate (http.c) and the handlers (handlers.c); answers are made in
 * request.c.
 */
#ifndef KURA_SERVER_REQUEST_H
#define KURA_SERVER_REQUEST_H

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "gate.h"
#include "kura/keyless.h"
#include "quarantine_view.h"
#include "route.h"
#include "vault_state.h"
#include "watch.h"

#define REQUEST_POST_MAX ((uint64_t)1 << 20) /* a deletion request's JSON body */

typedef struct quota quota; /* quota.h */
typedef struct ui_sessions ui_sessions; /* ui_session.h */
typedef struct metrics metrics;		/* metrics.h */
typedef struct ui_audit_check ui_audit_check; /* ui_facts.h */

typedef struct {
	vault *v;
	gate *gate; /* connections, lockout, refusal summaries */
	quarantine_view *quarantine; /* what no client may list or read */
	watch *watch; /* the vault's own judgment (watch.h) */
	quota *quota; /* upload quotas and their refusal summaries */
	ui_sessions *ui_sessions; /* the status page's logins (ui_serve.h) */
	metrics *metrics; /* request counters for /metrics */
	ui_audit_check *audit_check; /* the audit log's last verification */
} server;

typedef struct {
	server *srv;
	char peer[INET6_ADDRSTRLEN];
	char method[16];
	char *path;
	const vault_client *client;
	vault_route route;
	kura_backend *backend;
	bool answered;
	bool quiet; /* a refusal counted into its address's summary: no entry of its own */
	bool deferred; /* no body: begin() waits for the call that ends the request */
	bool ui_login; /* POST /ui/login: the body is the login form (ui_serve.h) */
	bool approving; /* POST /v1/deletions/ID: the body is a signature (approve_remote.h) */
	char approver[VAULT_NAME_MAX + 1]; /* who signed it, for the audit entry ("": none) */
	int64_t start_ns; /* CLOCK_MONOTONIC when the headers were in (/metrics latency) */

	/* PUT */
	bool uploading;
	bool discard; /* the name is stored already: hash, do not keep */
	kura_backend_stream *upload; /* the file being received, NULL when none */
	int fd;	      /* its descriptor (borrowed from upload), -1 when none */
	kura_hasher *hasher;
	uint64_t expected; /* Content-Length */
	uint64_t received;
	uint64_t quota_held; /* admitted against the quotas (quota_answer.h)... */
	bool quota_holding;  /* ...and not yet stored or given back */
	int fail_status; /* an error met while reading the body */
	char fail_msg[384];

	/* POST: the body, held whole (at most POST_MAX bytes) */
	bool posting;
	char *body;
} request;

/*
 * Write the request's audit entry (answer `status`, `bytes` sent or
 * received); the error is printed as well, since the caller answers 500.
 */
int request_audit(request *rq, unsigned status, uint64_t bytes);

/* An unqueued answer with body {"error": MSG}; NULL when out of memory. */
struct MHD_Response *request_json_error(const char *msg);

/*
 * Log the request, then queue `resp` (consumed).  A success that cannot
 * be logged becomes a 500: the vault does not serve what it cannot log.
 */
enum MHD_Result request_respond(request *rq, struct MHD_Connection *con, unsigned status,
				struct MHD_Response *resp, uint64_t bytes);

/* Answer {"error": "..."} with `status`; `allow` adds an Allow header. */
enum MHD_Result request_respond_error(request *rq, struct MHD_Connection *con, unsigned status,
				      const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* A failure inside the vault: the details go to stderr, not to the client. */
enum MHD_Result request_respond_internal(request *rq, struct MHD_Connection *con, const char *what);

/* The audit log counts the answer's own body. */
#define REQUEST_BYTES_BODY UINT64_MAX

/* Answer `text` (malloc'd, consumed); the log gets `bytes` (or REQUEST_BYTES_BODY). */
enum MHD_Result request_respond_buffer(request *rq, struct MHD_Connection *con, unsigned status,
				       char *text, const char *type, uint64_t bytes);

#endif
