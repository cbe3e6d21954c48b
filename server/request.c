/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request.c - a request to the vault's HTTPS front end and how it is
 * answered (request.h): the headers every answer carries, JSON errors,
 * and the audit entry.
 *
 * Every request that reaches the gate is written to the audit log once,
 * before its answer is queued; if the log cannot be written, a request
 * that would have succeeded gets 500 instead (no unlogged reads).
 * Requests that end without an answer (client gone, timeout) are logged
 * with status 0 when the connection ends (http.c).
 */
#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "metrics.h"

/* Headers every answer carries. */
static void common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
}

/*
 * The signed head of the log, this request's entry included: clients
 * remember the newest they saw and notice a log cut back (PROTOCOL.md,
 * "Log head").  Signed per answer rather than cached: a signature costs
 * ~20 µs against the TLS and the log write every request already pays,
 * and a cached head would lag the entry the client just caused.
 */
static void log_head(request *rq, struct MHD_Response *resp)
{
	vault_audit *a = vault_get_audit(rq->srv->v);
	char head[KURA_LOGHEAD_TEXT_MAX];

	if (!a)
		return;
	audit_head(a, head);
	MHD_add_response_header(resp, "Kura-Log-Head", head);
}

int request_audit(request *rq, unsigned status, uint64_t bytes)
{
	vault_audit *a = vault_get_audit(rq->srv->v);
	vault_audit_entry e = {
	    .peer = rq->peer,
	    .client = rq->client ? rq->client->name : rq->approver,
	    .role = rq->client ? vault_role_name(rq->client->role)
			       : rq->approver[0] ? "approver" : "",
	    .method = rq->method,
	    .path = rq->path ? rq->path : "",
	    .status = (int)status,
	    .bytes = bytes,
	};
	int err;

	if (!a)
		return kura_error_set(KURA_EIO, "vault has no audit log open");
	if ((err = audit_append(a, &e)) < 0)
		fprintf(stderr, "kurad: audit log: %s %s from %s (status %u) not logged: %s\n",
			rq->method, e.path, rq->peer, status, kura_error_message());
	return err;
}

struct MHD_Response *request_json_error(const char *msg)
{
	struct MHD_Response *resp;
	json_t *o = json_pack("{s:s}", "error", msg);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!text)
		return NULL;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	return resp;
}

/*
 * Log the request, then queue `resp` (consumed).  A success that cannot
 * be logged becomes a 500: the vault does not serve what it cannot log.
 */
enum MHD_Result request_respond(request *rq, struct MHD_Connection *con, unsigned status,
				struct MHD_Response *resp, uint64_t bytes)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	rq->answered = true;
	if (!rq->quiet && request_audit(rq, status, bytes) < 0 && status < 400) {
		MHD_destroy_response(resp);
		resp = request_json_error("the vault cannot write its audit log");
		if (!resp)
			return MHD_NO;
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	common_headers(resp);
	log_head(rq, resp);
	metrics_observe(rq->srv->metrics, metrics_route_of(rq->path), status,
			kura_now_ns(CLOCK_MONOTONIC) - rq->start_ns);
	ret = MHD_queue_response(con, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result request_respond_error(request *rq, struct MHD_Connection *con, unsigned status,
				      const char *allow, const char *fmt, ...)
{
	struct MHD_Response *resp;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp = request_json_error(msg);
	if (!resp)
		return MHD_NO;
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"kura\"");
	if (status == MHD_HTTP_TOO_MANY_REQUESTS)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "60");
	return request_respond(rq, con, status, resp, 0);
}

/* A failure inside the vault: the details go to stderr, not to the client. */
enum MHD_Result request_respond_internal(request *rq, struct MHD_Connection *con, const char *what)
{
	fprintf(stderr, "kurad: %s %s from %s: %s: %s\n", rq->method, rq->path, rq->peer, what,
		kura_error_message());
	return request_respond_error(rq, con, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "%s", what);
}

/* Answer `text` (malloc'd, consumed); the log gets `bytes` (or REQUEST_BYTES_BODY). */
enum MHD_Result request_respond_buffer(request *rq, struct MHD_Connection *con, unsigned status,
				       char *text, const char *type, uint64_t bytes)
{
	struct MHD_Response *resp;
	size_t len;

	if (!text)
		return MHD_NO;
	len = strlen(text);

	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return request_respond(rq, con, status, resp, bytes == REQUEST_BYTES_BODY ? len : bytes);
}
