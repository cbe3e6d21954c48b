/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scanaccept.h - `kura scan --accept SNAPSHOT [--reason TEXT]` (cli/scanaccept.c).
 */
#ifndef KURA_CLI_SCANACCEPT_H
#define KURA_CLI_SCANACCEPT_H

#include "cli.h"

/* Record the acceptance and say what it covers; an exit status. */
int cli_scan_accept(struct cli_global *g, kura_repo *repo, const char *snapshot,
		    const char *reason);

#endif
