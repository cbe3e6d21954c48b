/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_serve.c - the status page's routes and /metrics (ui_serve.h): who
 * may see what, the headers every page carries, and gathering the figures
 * (status.h, ui_facts.h) that ui_page.c and metrics.c render.
 */
#include "ui_serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "kura/loghead.h"
#include "metrics.h"
#include "route.h"
#include "status.h"
#include "ui_facts.h"
#include "ui_page.h"
#include "ui_session.h"

bool ui_serve_path(const char *path)
{
	return path && (strcmp(path, "/ui") == 0 || strncmp(path, "/ui/", 4) == 0);
}

int ui_serve_init(server *srv)
{
	int err;

	if ((err = ui_sessions_new(&srv->ui_sessions)) < 0 ||
	    (err = metrics_new(&srv->metrics)) < 0)
		return err;
	if (!(srv->audit_check = malloc(sizeof(*srv->audit_check))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	ui_audit_check_init(srv->audit_check);
	return 0;
}

void ui_serve_fini(server *srv)
{
	ui_sessions_free(srv->ui_sessions);
	srv->ui_sessions = NULL;
	metrics_free(srv->metrics);
	srv->metrics = NULL;
	if (srv->audit_check) {
		ui_audit_check_fini(srv->audit_check);
		free(srv->audit_check);
		srv->audit_check = NULL;
	}
}

/* -------------------------------------------------------------------- */

/* Queue `text` (malloc'd, consumed) with the page headers; `cookie`, `location` may be NULL. */
static enum MHD_Result answer(request *rq, struct MHD_Connection *con, unsigned status, char *text,
			      const char *type, const char *cookie, const char *location)
{
	struct MHD_Response *resp;
	size_t len;

	if (!text)
		return request_respond_internal(rq, con, "cannot make the page");
	len = strlen(text);
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "Content-Security-Policy", UI_CSP);
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	if (cookie)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	if (location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					strcmp(rq->path, "/ui/login") == 0 ? "GET, POST" : "GET");
	return request_respond(rq, con, status, resp, len);
}

static enum MHD_Result html(request *rq, struct MHD_Connection *con, unsigned status, char *text)
{
	return answer(rq, con, status, text, "text/html; charset=utf-8", NULL, NULL);
}

/* An answer to a request without a session: logged as the gate logs refusals. */
static enum MHD_Result anonymous(request *rq, struct MHD_Connection *con, unsigned status,
				 const char *title, const char *line)
{
	char *text = NULL;

	rq->quiet = !gate_refusal(rq->srv->gate, rq->peer, (int)status);
	if (ui_page_notice(title, line, &text) < 0)
		return request_respond_internal(rq, con, "cannot make the page");
	return html(rq, con, status, text);
}

static enum MHD_Result login_form(request *rq, struct MHD_Connection *con, unsigned status,
				  const char *message)
{
	char *text = NULL;

	rq->quiet = !gate_refusal(rq->srv->gate, rq->peer, (int)status);
	if (ui_page_login(message, &text) < 0)
		return request_respond_internal(rq, con, "cannot make the page");
	return html(rq, con, status, text);
}

/* The page itself, for client `c`. */
static enum MHD_Result page(request *rq, struct MHD_Connection *con)
{
	server *srv = rq->srv;
	vault *v = srv->v;
	int64_t now = kura_now_ns(CLOCK_REALTIME);
	ui_page_input in = {
	    .viewer = rq->client->name, .vault = vault_listen_addr(v), .now_ns = now};
	ui_repo_facts *facts = NULL;
	ui_audit_verdict verdict;
	json_t *doc = NULL, *tail = NULL, *r;
	char *text = NULL, head[KURA_LOGHEAD_TEXT_MAX];
	size_t i;
	int err;

	if ((err = status_doc(v, &doc)) < 0)
		goto done;
	if (!(facts = calloc(json_array_size(json_object_get(doc, "repositories")) + 1,
			     sizeof(*facts)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	json_array_foreach(
	    json_object_get(doc, "repositories"), i,
	    r) if ((err = ui_facts_repo(v, json_string_value(json_object_get(r, "name")), now,
					&facts[i])) < 0) goto done;
	if ((err = ui_audit_tail(vault_dir(v), UI_AUDIT_TAIL, &tail)) < 0)
		goto done;
	ui_audit_check_get(srv->audit_check, vault_dir(v), now, &verdict);
	audit_head(vault_get_audit(v), head);
	in.status = doc;
	in.facts = facts;
	in.nfacts = json_array_size(json_object_get(doc, "repositories"));
	in.audit_tail = tail;
	in.audit = &verdict;
	in.audit_entries = strtoull(head, NULL, 10);
	err = ui_page_render(&in, &text);
done:
	json_decref(doc);
	json_decref(tail);
	free(facts);
	if (err < 0)
		return request_respond_internal(rq, con, "cannot read the vault status");
	return html(rq, con, MHD_HTTP_OK, text);
}

enum MHD_Result ui_serve_begin(request *rq, struct MHD_Connection *con)
{
	server *srv = rq->srv;
	bool get = strcmp(rq->method, MHD_HTTP_METHOD_GET) == 0;
	bool post = strcmp(rq->method, MHD_HTTP_METHOD_POST) == 0;
	char id[UI_SESSION_ID_HEX];
	const char *cl;

	if (MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0)
		return anonymous(rq, con, MHD_HTTP_BAD_REQUEST, "Bad request",
				 "query strings are not accepted");
	if (strcmp(rq->path, "/ui") == 0) {
		rq->quiet = !gate_refusal(srv->gate, rq->peer, MHD_HTTP_SEE_OTHER);
		return answer(rq, con, MHD_HTTP_SEE_OTHER, strdup(""), "text/plain", NULL, "/ui/");
	}
	if (strcmp(rq->path, "/ui/style.css") == 0) {
		if (!get)
			return anonymous(rq, con, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed",
					 "only GET is allowed here");
		rq->quiet = !gate_refusal(srv->gate, rq->peer, MHD_HTTP_OK);
		return answer(rq, con, MHD_HTTP_OK, strdup(ui_page_css), "text/css; charset=utf-8",
			      NULL, NULL);
	}
	if (strcmp(rq->path, "/ui/login") == 0) {
		if (get)
			return login_form(rq, con, MHD_HTTP_OK, NULL);
		if (!post)
			return anonymous(rq, con, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed",
					 "GET or POST only");
		if (gate_peer_blocked(srv->gate, rq->peer))
			return anonymous(
			    rq, con, MHD_HTTP_TOO_MANY_REQUESTS, "Too many failed logins",
			    "too many failed logins from this address; try again later");
		cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (MHD_lookup_connection_value(con, MHD_HEADER_KIND,
						MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
		    !cl)
			return anonymous(rq, con, MHD_HTTP_LENGTH_REQUIRED, "Length required",
					 "the form needs a Content-Length");
		if (route_length_parse(cl, &rq->expected) < 0 || rq->expected > UI_LOGIN_MAX)
			return anonymous(rq, con, MHD_HTTP_CONTENT_TOO_LARGE, "Too large",
					 "the login form is at most 4096 bytes");
		if (!(rq->body = malloc(rq->expected + 1))) {
			kura_error_set(KURA_ENOMEM, "out of memory");
			return request_respond_internal(rq, con, "cannot take the request");
		}
		rq->posting = true;
		rq->uploading = true;
		rq->ui_login = true;
		return MHD_YES;
	}

	/* Everything else needs a session. */
	if (ui_cookie_parse(
		MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE), id) <
		0 ||
	    !(rq->client = ui_session_find(srv->ui_sessions, id, kura_now_ns(CLOCK_REALTIME))))
		return anonymous(rq, con, MHD_HTTP_UNAUTHORIZED, "Sign in",
				 "this page needs a session: sign in with an auditor token");
	gate_authenticated(srv->gate, con);
	/* Signing out ends only this session: nothing of the vault changes. */
	if (strcmp(rq->path, "/ui/logout") == 0 && post) {
		ui_session_close(srv->ui_sessions, id);
		kura_wipe(id, sizeof(id));
		return answer(rq, con, MHD_HTTP_SEE_OTHER, strdup(""), "text/plain",
			      UI_COOKIE_NAME "=; Path=/ui/; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
			      "/ui/login");
	}
	kura_wipe(id, sizeof(id));
	if (strcmp(rq->path, "/ui/") != 0) {
		char *text = NULL;

		if (ui_page_notice("Not found", "there is no such page", &text) < 0)
			return request_respond_internal(rq, con, "cannot make the page");
		return html(rq, con, MHD_HTTP_NOT_FOUND, text);
	}
	if (!get) {
		char *text = NULL;

		if (ui_page_notice("Method not allowed", "the status page is read-only", &text) < 0)
			return request_respond_internal(rq, con, "cannot make the page");
		return html(rq, con, MHD_HTTP_METHOD_NOT_ALLOWED, text);
	}
	return page(rq, con);
}

enum MHD_Result ui_serve_login_finish(request *rq, struct MHD_Connection *con)
{
	server *srv = rq->srv;
	char token[UI_TOKEN_MAX + 1], id[UI_SESSION_ID_HEX], cookie[160];
	const vault_client *c;
	int err;

	if (rq->fail_status || rq->received != rq->expected)
		return login_form(rq, con, MHD_HTTP_BAD_REQUEST, "the form did not arrive whole");
	err = ui_form_token(rq->body, (size_t)rq->received, token);
	kura_wipe(rq->body, (size_t)rq->received);
	if (err < 0) {
		gate_peer_failed(srv->gate, rq->peer);
		return login_form(rq, con, MHD_HTTP_BAD_REQUEST,
				  "the form has no valid token field");
	}
	c = vault_authenticate(srv->v, token);
	kura_wipe(token, sizeof(token));
	if (!c) {
		gate_peer_failed(srv->gate, rq->peer);
		return login_form(rq, con, MHD_HTTP_UNAUTHORIZED, "the token is not valid");
	}
	rq->client = c;
	gate_authenticated(srv->gate, con);
	if (c->role != VAULT_ROLE_AUDITOR) {
		char *text = NULL;

		if (ui_page_notice("Forbidden", "the status page is for auditor credentials",
				   &text) < 0)
			return request_respond_internal(rq, con, "cannot make the page");
		return html(rq, con, MHD_HTTP_FORBIDDEN, text);
	}
	ui_session_open(srv->ui_sessions, c, kura_now_ns(CLOCK_REALTIME), id);
	snprintf(cookie, sizeof(cookie),
		 UI_COOKIE_NAME "=%s; Path=/ui/; Max-Age=%d; HttpOnly; Secure; SameSite=Strict", id,
		 UI_SESSION_TTL_S);
	kura_wipe(id, sizeof(id));
	return answer(rq, con, MHD_HTTP_SEE_OTHER, strdup(""), "text/plain", cookie, "/ui/");
}

enum MHD_Result ui_serve_metrics(request *rq, struct MHD_Connection *con)
{
	server *srv = rq->srv;
	vault *v = srv->v;
	int64_t now = kura_now_ns(CLOCK_REALTIME);
	char head[KURA_LOGHEAD_TEXT_MAX], *text = NULL;
	ui_audit_verdict verdict;
	json_t *doc = NULL;
	int err;

	if (strcmp(rq->method, MHD_HTTP_METHOD_GET) != 0)
		return request_respond_error(rq, con, MHD_HTTP_METHOD_NOT_ALLOWED, "GET",
					     "method %s is not allowed here", rq->method);
	if (rq->client->role != VAULT_ROLE_AUDITOR)
		return request_respond_error(rq, con, MHD_HTTP_FORBIDDEN, NULL,
					     "/metrics is for auditors");
	if ((err = status_doc(v, &doc)) == 0) {
		audit_head(vault_get_audit(v), head);
		ui_audit_check_get(srv->audit_check, vault_dir(v), now, &verdict);
		json_object_set_new(doc, "audit_entries",
				    json_integer((json_int_t)strtoull(head, NULL, 10)));
		json_object_set_new(doc, "audit_intact", json_boolean(verdict.intact));
		json_object_set_new(
		    doc, "ui_sessions",
		    json_integer((json_int_t)ui_session_count(srv->ui_sessions, now)));
		err = metrics_render(srv->metrics, doc, now, &text);
	}
	json_decref(doc);
	if (err < 0)
		return request_respond_internal(rq, con, "cannot read the vault status");
	return request_respond_buffer(rq, con, MHD_HTTP_OK, text,
				      "text/plain; version=0.0.4; charset=utf-8",
				      REQUEST_BYTES_BODY);
}
