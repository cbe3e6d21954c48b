/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status.h - the vault's status report, for `kurad status` and GET
 * /v1/status (docs/PROTOCOL.md, "Status").
 */
#ifndef KURA_SERVER_STATUS_H
#define KURA_SERVER_STATUS_H

#include <jansson.h>

#include "vault_state.h"

/*
 * Status for `kurad status`: repositories (files, bytes, snapshots, last
 * snapshot receive time), clients (name, role, repo).  Returns malloc'd
 * JSON text.
 */
int status_json(vault *v, char **out);

/* The same document as a JSON object (*out belongs to the caller): for the page and /metrics. */
int status_doc(vault *v, json_t **out);

#endif
