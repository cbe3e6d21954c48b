/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stock.h - what kurad last saw of the operator's files (clients,
 * approvers, policy), kept in DIR/audit/stock so that changes made while
 * `kurad serve` was stopped are logged when it starts again.
 */
#ifndef KURA_SERVER_STOCK_H
#define KURA_SERVER_STOCK_H

#include "vault_state.h"

/*
 * One change between two stocks: `method` is ISSUE, REVOKE, REMOVE-CLIENT,
 * REPLACE-CLIENT, ADD-APPROVER, REPLACE-APPROVER, REMOVE-APPROVER or
 * POLICY; `name` the client or approver ("kurad" for the policy), `role`
 * its role ("approver", "vault"), `path` the API path it concerns.
 */
typedef int (*stock_change_fn)(const char *method, const char *name, const char *role,
			       const char *path, void *ctx);

/*
 * Call `fn` for every difference from the stock `before` to `after` (text
 * as stock_take writes it; lines that do not parse are ignored), in the
 * order of the sorted lines.  Stops at and returns fn's first error.
 */
int stock_diff(const char *before, const char *after, stock_change_fn fn, void *ctx);

/* The stock of `v` now: its client table and the approver and policy files' hashes. */
int stock_take(const vault *v, char **out);

/*
 * At start: log every change since DIR/audit/stock was written (marked
 * "?while-stopped" on the path), then rewrite it; *last gets the stock.
 * Later: rewrite it when the stock differs from *last.
 */
int stock_start(vault *v, char **last);
int stock_update(vault *v, char **last);

#endif
