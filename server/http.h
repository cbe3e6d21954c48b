/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h - the vault's HTTPS front end (`kurad serve`): the requests,
 * roles and upload rules of docs/PROTOCOL.md over libmicrohttpd.
 */
#ifndef KURA_SERVER_HTTP_H
#define KURA_SERVER_HTTP_H

#include <stdatomic.h>

#include "gate.h"
#include "vault_state.h"

/*
 * Serve the open vault `v` on vault_listen_addr(v) over TLS, holding
 * connections within `limits` (gate.h), until *stop
 * becomes non-zero (a SIGINT/SIGTERM handler sets it), then stop taking
 * connections, let the running requests finish and return 0.  Sets
 * SIGPIPE to be ignored for the process (a client that goes away must not
 * kill the vault).  While serving, about once a second (and once at the
 * start), runs deletion_run: approved deletions whose delay has
 * passed are carried out by this loop.  Returns KURA_EINVAL for a listen address that is not
 * "A.B.C.D:PORT" or "[IPv6]:PORT", KURA_EIO when it cannot listen there
 * (address in use, no permission) or TLS cannot start; the message says
 * which.  The caller still owns `v`, and must free it only after return.
 */
int vault_http_serve(vault *v, const gate_limits *limits, atomic_int *stop);

#endif
