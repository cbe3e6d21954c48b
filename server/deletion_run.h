/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion_run.h - carrying approved deletion requests out, from `kurad
 * serve`'s once-a-second tick (docs/PROTOCOL.md, "Deletion").
 */
#ifndef KURA_SERVER_DELETION_RUN_H
#define KURA_SERVER_DELETION_RUN_H

#include <stdint.h>

#include "vault_state.h"

/*
 * `kurad serve`'s tick (every second): write audit entries for approvals
 * and cancellations not logged yet, then carry out every pending request
 * whose quorum of valid signatures is complete and whose delay has
 * passed.  Errors in one request leave it pending and do not stop the
 * others; the first is returned (the caller prints it).  An approval or
 * cancellation whose signature does not verify is logged with status 403.
 */
int deletion_run(vault *v, int64_t now_ns);

#endif
