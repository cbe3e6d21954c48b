/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gate.c - the vault's connection policy and refusal accounting
 * (docs/PROTOCOL.md, "Connections"; THREATS.md, "Floods").
 *
 * Anyone who can reach the port can open connections and send bad
 * tokens, so nothing they can do without a token may starve a reader or
 * fill the disk:
 *
 * - Connections.  libmicrohttpd caps connections in all and per address,
 *   and its timeout is an idle timeout, which a trickle of one byte every
 *   few seconds never trips.  So every connection is tracked here from
 *   accept to close: one that has not presented a valid token must
 *   complete its TLS handshake and the headers of each request within
 *   GATE_HEADERS_DEADLINE_S of connecting (or of its previous answer), or
 *   the tick shuts its socket down.  Connections without a valid token may
 *   hold at most limits.unauthenticated of the slots; when a new one would
 *   pass that, the oldest idle one of them is cut, so the remaining slots
 *   are always there for clients that authenticate.
 * - Lockout.  An address that sent AUTH_FAIL_MAX bad or missing tokens
 *   within a window gets 429 for requests without a valid token; a valid
 *   token is checked first and is never locked out (http.c).
 * - Refusals (401, 429, and connections cut for their deadline) are
 *   logged aggregated: the first of an address in a window as a request,
 *   the rest counted and written as one "REFUSED" summary when the window
 *   closes, so the log grows by a bounded amount per address and window.
 *   Past PEER_SLOTS addresses, refusals of unknown addresses share one
 *   slot, "*".
 *
 * Shutting down a socket that libmicrohttpd owns is safe because the slot
 * is cleared, under the same lock, by the close notification, which
 * libmicrohttpd sends before it closes the socket.
 */
#include "gate.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/error.h"

#define NS_PER_S 1000000000LL
#define PEER_SLOTS 1024
#define AUTH_FAIL_MAX 10 /* failures within the window... */
#define AUTH_WINDOW_NS (60 * NS_PER_S)
#define AUTH_BLOCK_NS (60 * NS_PER_S) /* ...then 429 for this long */
#define REFUSAL_WINDOW_NS (GATE_REFUSAL_WINDOW_S * NS_PER_S)
#define DEADLINE_NS (GATE_HEADERS_DEADLINE_S * NS_PER_S)
#define ADDR_LEN INET6_ADDRSTRLEN

/* Refusals of one address not yet written. */
typedef struct {
	char addr[ADDR_LEN];
	uint64_t count;
	int64_t first, last; /* CLOCK_REALTIME */
	int status;	     /* of the last one */
} summary;

/* What is known of one peer address. */
typedef struct {
	char addr[ADDR_LEN]; /* "" for a free slot */
	int64_t last_seen;
	/* failed logins */
	int64_t window_start;
	int64_t blocked_until;
	unsigned failures;
	/* refusals: the window's start (0: none open) and what follows its first */
	int64_t refusals_since;
	summary pending;
} peer_slot;

typedef struct {
	struct MHD_Connection *con; /* NULL for a free slot */
	int fd;
	char addr[ADDR_LEN];
	int64_t waiting_since; /* since connect or the last answer */
	bool busy;	       /* headers complete, request running */
	bool authed;
	bool cut;
} conn_slot;

struct gate {
	pthread_mutex_t lock;
	vault_audit *audit;
	unsigned unauthed; /* connections without a valid token */
	unsigned cutting;  /* of those, cut but not yet closed */
	uint64_t refused_logins; /* 401 and 429 since start: the watch's login-burst rule */
	gate_limits lim;
	conn_slot *conns; /* lim.connections */
	peer_slot peers[PEER_SLOTS];
	peer_slot others; /* "*": addresses beyond the table */
	/* the tick's entries to write once the lock is released: at most two per connection,
	 * one per peer */
	summary *out;
};

int gate_limits_make(unsigned connections, unsigned per_address, gate_limits *out)
{
	if (!connections)
		connections = GATE_CONNECTIONS_DEFAULT;
	if (connections < GATE_CONNECTIONS_MIN || connections > GATE_CONNECTIONS_MAX)
		return kura_error_set(KURA_EINVAL, "%u connections: the vault holds %d to %d",
				      connections, GATE_CONNECTIONS_MIN, GATE_CONNECTIONS_MAX);
	if (!per_address)
		per_address = GATE_PER_ADDRESS_DEFAULT;
	if (per_address > connections)
		per_address = connections;
	out->connections = connections;
	out->per_address = per_address;
	out->unauthenticated = connections - connections / 4;
	return 0;
}

int gate_new(gate **out, vault_audit *audit, const gate_limits *limits)
{
	gate *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (g) {
		g->lim = *limits;
		g->conns = calloc(limits->connections, sizeof(*g->conns));
		g->out = calloc(2 * (size_t)limits->connections + PEER_SLOTS + 1, sizeof(*g->out));
	}
	if (!g || !g->conns || !g->out) {
		if (g) {
			free(g->conns);
			free(g->out);
		}
		free(g);
		return kura_error_set(KURA_ENOMEM, "connection table: out of memory");
	}
	pthread_mutex_init(&g->lock, NULL);
	g->audit = audit;
	snprintf(g->others.addr, sizeof(g->others.addr), "*");
	*out = g;
	return 0;
}

/* -------------------------------------------------------------------- */
/* Refusal summaries                                                      */

static int write_summary(gate *g, const summary *s)
{
	char first[40], last[40];
	vault_audit_entry e = {
	    .peer = s->addr,
	    .client = "",
	    .role = "",
	    .method = "REFUSED",
	    .path = "",
	    .status = s->status,
	    .count = s->count,
	    .first = first,
	    .last = last,
	};
	int err;

	if (!g->audit || s->count == 0)
		return 0;
	audit_time(first, s->first);
	audit_time(last, s->last);
	if ((err = audit_append(g->audit, &e)) < 0)
		err = kura_error_wrap(err, "refusals from %s (%" PRIu64 ") not logged", s->addr,
				      s->count);
	return err;
}

/* Close the slot's refusal window; its summary goes to *out (count 0: none). Lock held. */
static void close_window(peer_slot *p, summary *out)
{
	*out = p->pending;
	snprintf(out->addr, sizeof(out->addr), "%s", p->addr);
	memset(&p->pending, 0, sizeof(p->pending));
	p->refusals_since = 0;
}

void gate_free(gate *g)
{
	summary s;

	if (!g)
		return;
	/* Nothing to report to at shutdown: a summary that cannot be written is lost. */
	for (size_t i = 0; i < PEER_SLOTS; i++) {
		close_window(&g->peers[i], &s);
		(void)write_summary(g, &s);
	}
	close_window(&g->others, &s);
	(void)write_summary(g, &s);
	pthread_mutex_destroy(&g->lock);
	free(g->conns);
	free(g->out);
	free(g);
}

/* -------------------------------------------------------------------- */
/* Peers                                                                  */

/*
 * The slot of `addr`; with `create`, a new one if needed, taking a free
 * slot or else the least recently seen one with nothing running (not
 * locked out, no refusal window open: evicting one would let its address
 * start a new window, and log in full, at every request).  NULL if none.
 * Lock held.
 */
static peer_slot *peer_find(gate *g, const char *addr, bool create, int64_t now)
{
	peer_slot *victim = NULL;

	for (size_t i = 0; i < PEER_SLOTS; i++) {
		peer_slot *s = &g->peers[i];

		if (s->addr[0] && strcmp(s->addr, addr) == 0)
			return s;
		if (!create)
			continue;
		if (!s->addr[0]) {
			if (!victim || victim->addr[0])
				victim = s;
		} else if (s->blocked_until <= now && !s->refusals_since &&
			   (!victim || (victim->addr[0] && s->last_seen < victim->last_seen))) {
			victim = s;
		}
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->addr, sizeof(victim->addr), "%s", addr);
	return victim;
}

bool gate_peer_blocked(gate *g, const char *addr)
{
	int64_t now = kura_now_ns(CLOCK_MONOTONIC);
	peer_slot *s;
	bool blocked;

	pthread_mutex_lock(&g->lock);
	s = peer_find(g, addr, false, now);
	blocked = s && s->blocked_until > now;
	pthread_mutex_unlock(&g->lock);
	return blocked;
}

void gate_peer_failed(gate *g, const char *addr)
{
	int64_t now = kura_now_ns(CLOCK_MONOTONIC);
	peer_slot *s;

	pthread_mutex_lock(&g->lock);
	/* With every slot busy, an unknown peer is not counted (but still 401). */
	s = peer_find(g, addr, true, now);
	if (s) {
		if (s->failures == 0 || now - s->window_start > AUTH_WINDOW_NS) {
			s->window_start = now;
			s->failures = 0;
		}
		s->last_seen = now;
		if (++s->failures >= AUTH_FAIL_MAX) {
			s->blocked_until = now + AUTH_BLOCK_NS;
			s->failures = 0;
		}
	}
	pthread_mutex_unlock(&g->lock);
}

/* Count a refusal; true if it opens its window (log it in full). Lock held. */
static bool refusal_locked(gate *g, const char *addr, int status, summary *closed)
{
	int64_t now = kura_now_ns(CLOCK_MONOTONIC), wall = kura_now_ns(CLOCK_REALTIME);
	peer_slot *p = peer_find(g, addr, true, now);

	closed->count = 0;
	if (!p)
		p = &g->others;
	p->last_seen = now;
	if (p->refusals_since && now - p->refusals_since > REFUSAL_WINDOW_NS)
		close_window(p, closed);
	if (!p->refusals_since) {
		p->refusals_since = now;
		return true;
	}
	if (p->pending.count++ == 0)
		p->pending.first = wall;
	p->pending.last = wall;
	p->pending.status = status;
	return false;
}

bool gate_refusal(gate *g, const char *addr, int status)
{
	summary closed;
	bool first;

	pthread_mutex_lock(&g->lock);
	first = refusal_locked(g, addr, status, &closed);
	if (status == 401 || status == 429)
		g->refused_logins++;
	pthread_mutex_unlock(&g->lock);
	if (write_summary(g, &closed) < 0)
		fprintf(stderr, "kurad: audit log: %s\n", kura_error_message());
	return first;
}

/* -------------------------------------------------------------------- */
/* Connections                                                            */

void gate_peer_address(struct MHD_Connection *con, char out[INET6_ADDRSTRLEN])
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, ADDR_LEN, "unknown");
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  ADDR_LEN);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, ADDR_LEN);
}

/*
 * Cut a connection without a valid token: its thread sees the end of the
 * stream and closes it.  Lock held.
 */
static void cut(gate *g, conn_slot *c)
{
	if (c->cut)
		return;
	c->cut = true;
	g->cutting++;
	(void)shutdown(c->fd, SHUT_RDWR);
}

/* Make room for one more connection without a token: cut the oldest idle one. Lock held. */
static void make_room(gate *g)
{
	conn_slot *oldest = NULL;

	if (g->unauthed - g->cutting < g->lim.unauthenticated)
		return;
	for (size_t i = 0; i < g->lim.connections; i++) {
		conn_slot *c = &g->conns[i];

		if (c->con && !c->authed && !c->busy && !c->cut &&
		    (!oldest || c->waiting_since < oldest->waiting_since))
			oldest = c;
	}
	if (oldest)
		cut(g, oldest);
}

void gate_notify_connection(void *cls, struct MHD_Connection *con, void **socket_context,
			    enum MHD_ConnectionNotificationCode code)
{
	gate *g = cls;
	conn_slot *c = *socket_context;
	const union MHD_ConnectionInfo *fd;

	pthread_mutex_lock(&g->lock);
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (c) {
			if (!c->authed)
				g->unauthed--;
			if (!c->authed && c->cut)
				g->cutting--;
			memset(c, 0, sizeof(*c));
			*socket_context = NULL;
		}
		goto done;
	}
	fd = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	for (size_t i = 0; i < g->lim.connections && fd; i++) {
		if (g->conns[i].con)
			continue;
		make_room(g);
		c = &g->conns[i];
		c->con = con;
		c->fd = fd->connect_fd;
		gate_peer_address(con, c->addr);
		c->waiting_since = kura_now_ns(CLOCK_MONOTONIC);
		g->unauthed++;
		*socket_context = c;
		break;
	}
done:
	pthread_mutex_unlock(&g->lock);
}

static conn_slot *slot_of(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

void gate_request_begun(gate *g, struct MHD_Connection *con)
{
	conn_slot *c = slot_of(con);

	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	c->busy = true;
	pthread_mutex_unlock(&g->lock);
}

void gate_request_ended(gate *g, struct MHD_Connection *con)
{
	conn_slot *c = slot_of(con);

	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	c->busy = false;
	c->waiting_since = kura_now_ns(CLOCK_MONOTONIC);
	pthread_mutex_unlock(&g->lock);
}

void gate_authenticated(gate *g, struct MHD_Connection *con)
{
	conn_slot *c = slot_of(con);

	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	if (!c->authed) {
		c->authed = true;
		g->unauthed--;
		if (c->cut)
			g->cutting--;
	}
	pthread_mutex_unlock(&g->lock);
}

int gate_tick(gate *g)
{
	int64_t now = kura_now_ns(CLOCK_MONOTONIC);
	size_t n = 0;
	int err = 0, e;

	pthread_mutex_lock(&g->lock);
	/* Headers overdue on a connection without a valid token: cut, and refused (408). */
	for (size_t i = 0; i < g->lim.connections; i++) {
		conn_slot *c = &g->conns[i];
		summary closed;

		if (!c->con || c->authed || c->busy || c->cut || now - c->waiting_since <= DEADLINE_NS)
			continue;
		cut(g, c);
		if (refusal_locked(g, c->addr, 408, &closed)) {
			/* the first of its window: an entry of its own (count 0) */
			memset(&g->out[n], 0, sizeof(g->out[n]));
			snprintf(g->out[n].addr, ADDR_LEN, "%s", c->addr);
			g->out[n++].status = 408;
		}
		if (closed.count > 0)
			g->out[n++] = closed;
	}
	/* Refusal windows that have closed. */
	for (size_t i = 0; i <= PEER_SLOTS; i++) {
		peer_slot *p = i < PEER_SLOTS ? &g->peers[i] : &g->others;

		if (!p->refusals_since || now - p->refusals_since <= REFUSAL_WINDOW_NS)
			continue;
		close_window(p, &g->out[n]);
		if (g->out[n].count > 0)
			n++;
	}
	pthread_mutex_unlock(&g->lock);

	/* Only this thread ticks, so g->out is its own. */
	for (size_t i = 0; i < n; i++) {
		summary *s = &g->out[i];
		vault_audit_entry cut_entry = {.peer = s->addr, .client = "", .role = "",
					       .method = "CONNECT", .path = "", .status = 408};

		if (s->count > 0)
			e = write_summary(g, s);
		else if (g->audit && (e = audit_append(g->audit, &cut_entry)) < 0)
			e = kura_error_wrap(e, "a connection cut from %s not logged", s->addr);
		else
			e = 0;
		if (e < 0 && err == 0)
			err = e;
	}
	return err;
}

uint64_t gate_refused_logins(gate *g)
{
	uint64_t n;

	pthread_mutex_lock(&g->lock);
	n = g->refused_logins;
	pthread_mutex_unlock(&g->lock);
	return n;
}
