/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c - the vault's HTTPS front end (docs/PROTOCOL.md, "Requests" and
 * "Upload rules") over libmicrohttpd.
 *
 * Every request goes through the same gate, in this order: a request
 * without a valid bearer token gets 429 if its address failed too often,
 * else 401 (and counts as a failure); a valid token is never locked out
 * (gate.c).  The path must parse exactly (server/route.c: 400 or 404);
 * the method must be GET, PUT for a file or POST for deletion requests
 * (405; method-override headers are never read); the client's role and
 * repository must allow the request (403).  Only then is anything of the
 * repository touched (handlers.c).  Every request is audited
 * (request.c); refusals without a valid token in aggregate (gate.c).
 *
 * Connections are kept alive: a restore makes thousands of small reads,
 * and a TCP and TLS handshake for each cost more than the read.  So a
 * request without a body is answered only once libmicrohttpd has read all
 * of it (an answer queued earlier makes it close the connection).  An
 * upload refused before its body is read still closes its connection.
 *
 * The once-a-second tick (reload, deletions, quarantine, alerts, watch, quota,
 * drills) runs beside `serve`, in the thread that called it.
 *
 * Threads: one thread per connection (MHD_USE_THREAD_PER_CONNECTION),
 * not a thread pool.  Handlers block on disk (fsync of a 1 GiB pack, the
 * audit log's fdatasync, reading a snapshot back), and in a pool such a
 * wait would stall every connection sharing that thread.  The price is a
 * thread per connection, so their stacks are kept small (THREAD_STACK)
 * and gate.c decides who holds the connection slots: connections
 * without a valid token get an absolute deadline for their handshake and
 * headers and never more than three quarters of the slots.  Per-request
 * state lives in the connection's con_cls pointer and is freed in the
 * request-completed callback; state shared between requests is the vault
 * (thread-safe by its contract), the gate and the `server` (request.h),
 * whose tables are guarded by their own mutexes.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alert_command.h"
#include "alert_out.h"
#include "alert_webhook.h"
#include "alerts.h"
#include "approve_remote.h"
#include "common/error.h"
#include "deletion_run.h"
#include "quarantine.h"
#include "drills.h"
#include "handlers.h"
#include "quota.h"
#include "request.h"
#include "route.h"
#include "stock.h"
#include "store_extend.h"
#include "ui_serve.h"

#define CONNECTION_TIMEOUT_S 30 /* idle; the headers' absolute deadline is gate.c's */
#define CONNECTION_MEMORY (64 * 1024)
#define LISTEN_BACKLOG 256
/* Handlers call into libkura, whose deepest paths need well under this; 1024 x 512 KiB is
 * address space, not memory, until touched. */
#define THREAD_STACK (512 * 1024)

/* GnuTLS priorities: TLS 1.2 and 1.3 with forward-secret AEAD suites only. */
#define TLS_PRIORITIES                                                                             \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:"                               \
	"+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-RSA:%SERVER_PRECEDENCE"

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	fputs("kurad: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* -------------------------------------------------------------------- */
/* The gate                                                              */

/* May this client make this request?  NULL if so, else why not. */
static const char *denied(const vault_client *c, const vault_route *r, bool put)
{
	static const char *const not_auditor = "this request is for auditors";

	if (r->kind == VAULT_ROUTE_STATUS || r->kind == VAULT_ROUTE_LOG)
		return c->role == VAULT_ROLE_AUDITOR ? NULL : not_auditor;
	/* What is quarantined: for auditors (any repository) and the repository's readers. */
	if (r->kind == VAULT_ROUTE_QUARANTINE && c->role == VAULT_ROLE_AUDITOR)
		return NULL;
	if (c->role == VAULT_ROLE_AUDITOR)
		return "auditors may read only /v1/status, /v1/log and /v1/repos/REPO/quarantine";
	if (strcmp(c->repo, r->repo) != 0)
		return "this client may not use that repository";
	if (r->kind == VAULT_ROUTE_QUARANTINE)
		return c->role == VAULT_ROLE_READER ? NULL : "writers may not list the quarantine";
	/* Writers and readers may file and list requests; approvers decide. */
	if (r->kind == VAULT_ROUTE_DELETIONS)
		return NULL;
	/* Drill and proof records prove restores, copies and read checks, and an
	 * acceptance is the restore key holder's word (kura scan --accept): only a
	 * reader can make them, a writer's would be a forgery, and a reader
	 * uploads nothing else. */
	if (c->role == VAULT_ROLE_READER)
		return put && !(r->kind == VAULT_ROUTE_FILE &&
				(r->type == KURA_FILE_DRILL || r->type == KURA_FILE_PROOF ||
				 r->type == KURA_FILE_ACCEPT))
			   ? "readers may upload only drill, proof and acceptance records"
			   : NULL;
	/* writer: an acceptance is the restore key holder's word (kura scan --accept), and
	 * the backups of its source read it */
	if (put)
		return r->type == KURA_FILE_DRILL    ? "writers may not upload drill records"
		       : r->type == KURA_FILE_PROOF  ? "writers may not upload proof records"
		       : r->type == KURA_FILE_ACCEPT ? "writers may not upload acceptance records"
						     : NULL;
	if (r->kind == VAULT_ROUTE_LIST)
		return r->type == KURA_FILE_KEY ? "writers may not list keys" : NULL;
	if (r->type == KURA_FILE_CONFIG || r->type == KURA_FILE_INDEX ||
	    r->type == KURA_FILE_ACCEPT)
		return NULL;
	return "writers may read only config, index and acceptance files";
}

/*
 * Uploads yield the CPU to restores.  Each connection has its own thread
 * (MHD_USE_THREAD_PER_CONNECTION), which does its TLS, hashing and
 * writing: a writer's runs at WRITER_NICE from its first authenticated
 * request on, so a stolen writer uploading junk as fast as it can takes
 * the CPU only when readers leave it (THREATS.md, "A stolen writer").  It
 * is never raised again (an unprivileged vault could not): the thread ends
 * with its connection.
 */
#define WRITER_NICE 10

static void writer_yields(void)
{
	static _Thread_local bool lowered;

	if (lowered)
		return;
	lowered = true;
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WRITER_NICE);
}

static enum MHD_Result begin(request *rq, struct MHD_Connection *con)
{
	server *srv = rq->srv;
	const char *auth, *token, *why;
	bool get = strcmp(rq->method, MHD_HTTP_METHOD_GET) == 0;
	bool put = strcmp(rq->method, MHD_HTTP_METHOD_PUT) == 0;
	bool post = strcmp(rq->method, MHD_HTTP_METHOD_POST) == 0;
	bool dels;
	int err;

	/* The status page has its own login (ui_serve.h). */
	if (ui_serve_path(rq->path))
		return ui_serve_begin(rq, con);
	/* Approvals are authenticated by their signatures, not a token (approve_remote.h). */
	if (approve_remote_path(rq->path))
		return approve_remote_begin(rq, con);

	/*
	 * The token first: a valid one is never locked out by failures from
	 * its address (someone else's, behind the same NAT, or an attacker's
	 * on purpose); the lockout only slows guessing.
	 */
	auth = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	token = route_bearer_token(auth);
	rq->client = token ? vault_authenticate(srv->v, token) : NULL;
	if (!rq->client) {
		bool blocked = gate_peer_blocked(srv->gate, rq->peer);
		unsigned status = blocked ? MHD_HTTP_TOO_MANY_REQUESTS : MHD_HTTP_UNAUTHORIZED;

		if (!blocked)
			gate_peer_failed(srv->gate, rq->peer);
		rq->quiet = !gate_refusal(srv->gate, rq->peer, (int)status);
		if (blocked)
			return request_respond_error(
			    rq, con, status, NULL,
			    "too many failed logins from %s; try again later", rq->peer);
		return request_respond_error(rq, con, status, NULL,
					     auth
						 ? "the token is not valid"
						 : "requests need \"Authorization: Bearer TOKEN\"");
	}
	gate_authenticated(srv->gate, con);
	if (rq->client->role == VAULT_ROLE_WRITER)
		writer_yields();

	/* libmicrohttpd splits the query off the path; no request has one. */
	if (MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0)
		return request_respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL,
					     "query strings are not accepted");
	if (strcmp(rq->path, "/metrics") == 0)
		return ui_serve_metrics(rq, con);
	err = route_parse(rq->path, &rq->route);
	if (err == KURA_ENOTFOUND)
		return request_respond_error(rq, con, MHD_HTTP_NOT_FOUND, NULL, "no such path");
	if (err < 0)
		return request_respond_error(
		    rq, con, MHD_HTTP_BAD_REQUEST, NULL,
		    "bad path: want /v1/repos/REPO/TYPE/, /v1/repos/REPO/TYPE/"
		    "NAME (TYPE config, keys, snapshots, index or data; NAME 64 "
		    "lowercase hex digits), /v1/repos/REPO/deletions or /v1/repos/REPO/quarantine");
	dels = rq->route.kind == VAULT_ROUTE_DELETIONS;
	/* X-HTTP-Method-Override and its kin are deliberately never read. */
	if (!get && !(put && rq->route.kind == VAULT_ROUTE_FILE) && !(post && dels))
		return request_respond_error(rq, con, MHD_HTTP_METHOD_NOT_ALLOWED,
					     rq->route.kind == VAULT_ROUTE_FILE ? "GET, PUT"
					     : dels				? "GET, POST"
										: "GET",
					     "method %s is not allowed here", rq->method);
	if ((why = denied(rq->client, &rq->route, put)) != NULL)
		return request_respond_error(rq, con, MHD_HTTP_FORBIDDEN, NULL, "%s", why);

	if (rq->route.kind == VAULT_ROUTE_STATUS)
		return handlers_get_status(rq, con);
	if (rq->route.kind == VAULT_ROUTE_LOG)
		return handlers_get_log(rq, con);
	/* The records, not the files: answered for a repository no client names yet too. */
	if (rq->route.kind == VAULT_ROUTE_QUARANTINE)
		return handlers_get_quarantine(rq, con);

	if ((err = vault_repo(srv->v, rq->route.repo, &rq->backend)) < 0) {
		if (err == KURA_ENOTFOUND)
			return request_respond_error(rq, con, MHD_HTTP_NOT_FOUND, NULL,
						     "no repository %s", rq->route.repo);
		return request_respond_internal(rq, con, "cannot open the repository");
	}
	if (dels)
		return post ? handlers_post_begin(rq, con) : handlers_get_deletions(rq, con);
	if (put) {
		if ((rq->route.type == KURA_FILE_CONFIG || rq->route.type == KURA_FILE_KEY) &&
		    vault_repo_initialised(srv->v, rq->route.repo))
			return request_respond_error(
			    rq, con, MHD_HTTP_FORBIDDEN, NULL,
			    "repository %s has a config: config and keys are "
			    "closed",
			    rq->route.repo);
		return handlers_put_begin(rq, con);
	}
	if (rq->route.kind == VAULT_ROUTE_LIST)
		return handlers_get_list(rq, con);
	return handlers_get_file(rq, con);
}

static void request_free(request *rq)
{
	if (!rq)
		return;
	handlers_put_drop(rq);
	kura_hasher_free(rq->hasher);
	free(rq->body);
	free(rq->path);
	free(rq);
}

/* Does the request announce a body (any Content-Length or Transfer-Encoding)? */
static bool has_body(struct MHD_Connection *con)
{
	return MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) ||
	       MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	request *rq = *con_cls;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		rq->srv = cls;
		rq->fd = -1;
		rq->start_ns = kura_now_ns(CLOCK_MONOTONIC);
		rq->path = strdup(url ? url : "");
		snprintf(rq->method, sizeof(rq->method), "%s", method ? method : "");
		gate_peer_address(con, rq->peer);
		gate_request_begun(rq->srv->gate, con);
		*con_cls = rq;
		if (!rq->path)
			return MHD_NO;
		/*
		 * An answer queued on this first call makes libmicrohttpd close
		 * the connection after it (it does not yet know whether a body
		 * follows), and a new TCP and TLS connection for every read made
		 * restores slow.  A request without a body is therefore answered
		 * on the next call, which ends it; an upload is still judged
		 * here, so a refused body is never read.
		 */
		if (!has_body(con)) {
			rq->deferred = true;
			return MHD_YES;
		}
		return begin(rq, con);
	}
	if (rq->deferred) {
		rq->deferred = false;
		*upload_data_size = 0;
		return begin(rq, con);
	}
	if (!rq->uploading || rq->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (rq->posting)
			handlers_post_data(rq, upload_data, *upload_data_size);
		else
			handlers_put_data(rq, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->ui_login)
		return ui_serve_login_finish(rq, con);
	if (rq->approving)
		return approve_remote_finish(rq, con);
	return rq->posting ? handlers_post_finish(rq, con) : handlers_put_finish(rq, con);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	request *rq = *con_cls;

	if (!rq)
		return;
	/*
	 * Ended before an answer: client gone, timeout, shutdown.  Still
	 * logged; without a valid token, as a refusal (a flood of those must
	 * not fill the log either).
	 */
	if (!rq->answered && (rq->client || gate_refusal(rq->srv->gate, rq->peer, 0)))
		request_audit(rq, 0, rq->received);
	gate_request_ended(rq->srv->gate, con);
	request_free(rq);
	*con_cls = NULL;
}

static size_t on_unescape(void *cls, struct MHD_Connection *con, char *s)
{
	return route_url_unescape(s);
}

/* -------------------------------------------------------------------- */
/* Serving                                                               */

/*
 * A failure of a periodic job is printed when it is new, not once a
 * second for as long as it lasts; `last` holds the previous message.
 */
static void report_once(const char *job, int err, char *last, size_t len)
{
	if (err == 0) {
		last[0] = '\0';
		return;
	}
	if (strncmp(last, kura_error_message(), len - 1) == 0)
		return;
	snprintf(last, len, "%s", kura_error_message());
	fprintf(stderr, "kurad: %s: %s\n", job, last);
}

/*
 * The once-a-second tick: first what the operator changed on the vault
 * host (clients issued or revoked, approvers, policy: in effect and in the
 * audit log from now on), then the deletion requests (approvals to log,
 * quora to record, requests whose delay has passed to carry out).
 */
/* The jobs of the tick and serve loop whose errors are reported once each:
 * reload, deletions, connections, quarantine, alerts, watch, quota, drills,
 * and the lock extension of a vault on S3. */
#define TICK_JOBS 9

static void tick(server *srv, char last[TICK_JOBS][512], char **stock)
{
	vault *v = srv->v;
	int err = vault_reload(v), e;

	/* Then DIR/audit/stock follows what was just logged (stock.h). */
	if ((e = stock_update(v, stock)) < 0 && err == 0)
		err = e;
	report_once("reload", err, last[0], sizeof(last[0]));
	report_once("deletions", deletion_run(v, kura_now_ns(CLOCK_REALTIME)), last[1],
		    sizeof(last[1]));
	/* After the deletions: a release or removal just carried out shows at once. */
	report_once("quarantine", quarantine_tick(v, srv->quarantine), last[3], sizeof(last[3]));
	report_once("alerts", alerts_tick(v), last[4], sizeof(last[4]));
	report_once(
	    "watch",
	    watch_tick(srv->watch, gate_refused_logins(srv->gate), kura_now_ns(CLOCK_REALTIME)),
	    last[5], sizeof(last[5]));
	report_once("quota", quota_tick(srv->quota), last[6], sizeof(last[6]));
	report_once("drills", drills_tick(v, kura_now_ns(CLOCK_REALTIME)), last[7],
		    sizeof(last[7]));
	report_once("extend-locks", store_extend_tick(v, kura_now_ns(CLOCK_REALTIME)), last[8],
		    sizeof(last[8]));
}

/* Our own listening socket, so that a failure says exactly why. */
static int listen_on(const char *addr, int *out_fd, bool *out_v6)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	*out_fd = -1;
	if (route_addr_parse(addr, &ss, &len) < 0)
		return kura_error_set(
		    KURA_EINVAL, "listen address \"%s\" is not A.B.C.D:PORT or [IPv6]:PORT", addr);
	*out_v6 = ss.ss_family == AF_INET6;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return kura_error_errno(KURA_EIO, errno, "cannot listen on %s: socket", addr);
	/* Restart without waiting out TIME_WAIT; Linux still refuses a second listener. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (*out_v6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		int e = errno;

		close(fd);
		return kura_error_errno(KURA_EIO, e, "cannot listen on %s", addr);
	}
	*out_fd = fd;
	return 0;
}

int vault_http_serve(vault *v, const gate_limits *limits, atomic_int *stop)
{
	const struct timespec tick_sleep = {0, 100 * 1000 * 1000};
	const char *addr = vault_listen_addr(v);
	char last_tick_error[TICK_JOBS][512] = {{0}}, *stock = NULL, **alert_argv = NULL;
	struct MHD_Daemon *d = NULL;
	unsigned int flags;
	server *srv;
	bool v6 = false;
	int fd = -1, quiesced, err;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	srv->v = v;
	if ((err = gate_new(&srv->gate, vault_get_audit(v), limits)) < 0) {
		free(srv);
		return err;
	}
	if ((err = quota_new(&srv->quota, v)) < 0) {
		gate_free(srv->gate);
		free(srv);
		return err;
	}
	if ((err = ui_serve_init(srv)) < 0)
		goto done;
	/* Hidden before the first request is served; a record that cannot be read stops serve. */
	if ((err = quarantine_view_new(&srv->quarantine)) < 0 ||
	    (err = quarantine_view_refresh(srv->quarantine, vault_dir(v), true)) < 0)
		goto done;

	/* A bad alert command is found now, not when the first alert needs it. */
	if ((err = alert_command_load(vault_dir(v), &alert_argv)) < 0)
		goto done;
	alert_command_free(alert_argv);
	/* So are a bad webhook or syslog setting; the webhook's sender runs from now on. */
	if ((err = alert_out_check(vault_dir(v))) < 0 || (err = alert_webhook_start()) < 0)
		goto done;
	if ((err = watch_new(&srv->watch, v)) < 0)
		goto done;
	if ((err = listen_on(addr ? addr : "(none)", &fd, &v6)) < 0)
		goto done;
	/* A client that hangs up mid-answer must not end the vault. */
	signal(SIGPIPE, SIG_IGN);

	flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	/* Changes made while stopped are logged before the first request is. */
	if ((err = vault_reload(v)) == 0)
		err = stock_start(v, &stock);
	report_once("reload", err, last_tick_error[0], sizeof(last_tick_error[0]));
	/* The logger comes first so that every later message goes through it. */
	d = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_HTTPS_MEM_CERT, vault_tls_cert(v),
	    MHD_OPTION_HTTPS_MEM_KEY, vault_tls_key(v), MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
	    MHD_OPTION_CONNECTION_LIMIT, limits->connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    limits->per_address, MHD_OPTION_NOTIFY_CONNECTION, gate_notify_connection, srv->gate,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)CONNECTION_MEMORY, MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_UNESCAPE_CALLBACK,
	    on_unescape, srv, MHD_OPTION_END);
	if (!d) {
		err = kura_error_set(KURA_EIO,
				     "cannot start the HTTPS server on %s (libmicrohttpd refused; "
				     "is the TLS key or certificate in %s/tls/ valid?)",
				     addr, vault_dir(v));
		goto done;
	}
	tick(srv, last_tick_error, &stock);
	for (unsigned n = 1; !atomic_load(stop); n++) {
		nanosleep(&tick_sleep, NULL);
		report_once("connections", gate_tick(srv->gate), last_tick_error[2],
			    sizeof(last_tick_error[2]));
		if (n % 10 == 0)
			tick(srv, last_tick_error, &stock);
	}

	/*
	 * Take no new connections, then give the running requests up to one
	 * connection timeout to end (an idle keep-alive connection ends by
	 * then too) before the rest are cut.
	 */
	quiesced = MHD_quiesce_daemon(d);
	for (int waited = 0; waited < CONNECTION_TIMEOUT_S * 10; waited++) {
		const union MHD_DaemonInfo *di =
		    MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (!di || di->num_connections == 0)
			break;
		nanosleep(&tick_sleep, NULL);
	}
	MHD_stop_daemon(d);
	d = NULL;
	/* A change in the last second is logged and in the stock before we stop. */
	tick(srv, last_tick_error, &stock);
	if (quiesced >= 0)
		close(quiesced);
	fd = -1; /* closed above, or by MHD_stop_daemon */
	err = 0;

done:
	if (fd >= 0)
		close(fd);
	alert_webhook_stop(); /* after the last tick: its "closed" deliveries are queued */
	store_extend_stop();  /* it uses the vault, which the caller frees next */
	gate_free(srv->gate); /* after the daemon: its last refusal summaries */
	quarantine_view_free(srv->quarantine);
	watch_free(srv->watch);
	quota_free(srv->quota); /* and its ledgers and summaries */
	ui_serve_fini(srv);
	free(srv);
	free(stock);
	return err;
}
