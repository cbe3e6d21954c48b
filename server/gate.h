/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gate.h - who may hold a connection to the vault and for how long, and
 * what a refused request costs the audit log (docs/PROTOCOL.md,
 * "Connections" and "Audit log"; THREATS.md, "Floods").  Used by the
 * HTTPS front end (http.c).
 */
#ifndef KURA_SERVER_GATE_H
#define KURA_SERVER_GATE_H

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit.h"

#define GATE_HEADERS_DEADLINE_S 10   /* TLS handshake and request headers, absolute */
#define GATE_REFUSAL_WINDOW_S 60     /* one summary of refusals per address and window */

/* How many connections the vault holds (`kurad serve --connections`). */
typedef struct {
	unsigned connections;	  /* in all */
	unsigned per_address;	  /* from one address */
	unsigned unauthenticated; /* without a valid token; the rest is kept for clients */
} gate_limits;

#define GATE_CONNECTIONS_DEFAULT 1024
#define GATE_PER_ADDRESS_DEFAULT 64
#define GATE_CONNECTIONS_MIN 8
#define GATE_CONNECTIONS_MAX 65536

/*
 * The limits for `connections` in all and `per_address` (0: the default,
 * or the total if that is lower): three quarters of the slots for
 * connections without a token.  KURA_EINVAL outside
 * GATE_CONNECTIONS_MIN..GATE_CONNECTIONS_MAX.
 */
int gate_limits_make(unsigned connections, unsigned per_address, gate_limits *out);

typedef struct gate gate;

/* A gate with `limits` that writes refusal summaries to `audit` (NULL: counted, never written). */
int gate_new(gate **out, vault_audit *audit, const gate_limits *limits);

/* Write every pending refusal summary, then free; NULL is fine. */
void gate_free(gate *g);

/* The connection's peer address as text ("unknown" if it has none). */
void gate_peer_address(struct MHD_Connection *con, char out[INET6_ADDRSTRLEN]);

/* MHD_OPTION_NOTIFY_CONNECTION, with the gate as its closure. */
void gate_notify_connection(void *cls, struct MHD_Connection *con, void **socket_context,
			    enum MHD_ConnectionNotificationCode code);

/* A request's headers are complete (its deadline no longer runs). */
void gate_request_begun(gate *g, struct MHD_Connection *con);

/* A request ended: the connection waits for the next one's headers. */
void gate_request_ended(gate *g, struct MHD_Connection *con);

/* The connection presented a valid token: it no longer yields to others. */
void gate_authenticated(gate *g, struct MHD_Connection *con);

/* Is `addr` locked out after too many failed logins? */
bool gate_peer_blocked(gate *g, const char *addr);

/* A request from `addr` presented no valid token. */
void gate_peer_failed(gate *g, const char *addr);

/*
 * A request from `addr` without a valid token is refused with `status`:
 * true if it is the first in its address's window and is to be logged as
 * a request; false if it was counted into the address's next summary.
 */
bool gate_refusal(gate *g, const char *addr, int status);

/* Requests refused for their token (401) or a lockout (429) since the gate was made. */
uint64_t gate_refused_logins(gate *g);

/*
 * Called often (every 100 ms): cut connections whose headers are overdue,
 * and write the summaries of refusal windows that have closed.  Returns
 * 0, or the audit log's error (the message says which).
 */
int gate_tick(gate *g);

#endif
