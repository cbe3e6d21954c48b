/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_serve.h - the status page's and /metrics' requests (docs/PROTOCOL.md,
 * "Status page" and "Metrics"), called by the gate (http.c).
 *
 * /ui/... is served before the bearer-token check: the page has its own
 * login (ui_session.h) so a browser never holds the token.  Only
 * GET /ui/login, GET /ui/style.css and POST /ui/login are answered without
 * a session; everything else under /ui/ needs one (401 without).  Requests
 * without a session are logged as the gate logs refusals (the first per
 * address and window, the rest summed up); a token posted to /ui/login
 * that is not valid counts toward the address's lockout like a bad bearer
 * token.  Every answer carries a strict Content-Security-Policy.
 *
 * /metrics is served after the token check, for auditors.
 */
#ifndef KURA_SERVER_UI_SERVE_H
#define KURA_SERVER_UI_SERVE_H

#include <stdbool.h>

#include <microhttpd.h>

#include "request.h"

#define UI_LOGIN_MAX 4096 /* bytes of a login form's body */

#define UI_CSP                                                                                     \
	"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "         \
	"frame-ancestors 'none'; base-uri 'none'"

/* "/ui" or under "/ui/". */
bool ui_serve_path(const char *path);

/* A request under /ui/: answered here, or (POST /ui/login) its body is awaited. */
enum MHD_Result ui_serve_begin(request *rq, struct MHD_Connection *con);

/* The login form's body is complete (rq->body, rq->received). */
enum MHD_Result ui_serve_login_finish(request *rq, struct MHD_Connection *con);

/* GET /metrics from an authenticated client (rq->client set). */
enum MHD_Result ui_serve_metrics(request *rq, struct MHD_Connection *con);

/* The state these need in the server (request.h); 0 or KURA_ENOMEM. */
int ui_serve_init(server *srv);
void ui_serve_fini(server *srv);

#endif
