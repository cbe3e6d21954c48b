/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approve_remote.h - approvals from the approver's own machine
 * (docs/PROTOCOL.md, "Remote approval"): GET /v1/deletions/ID answers a
 * pending request with the exact statements an approver signs; POST
 * /v1/deletions/ID takes one approver's signature over one of them.
 *
 * These routes take no bearer token: an approval is authenticated by its
 * signature alone (Ed25519, under the approver's key registered in
 * DIR/approvers/), so an approver needs no vault credential and nothing
 * a client token could do reaches them.  They pass the same gate as
 * every request without a valid token: an address locked out for failed
 * logins gets 429, and every refused signature or unknown request counts
 * as a failed login.  Every POST is written to the audit log, with the
 * approver it names.
 */
#ifndef KURA_SERVER_APPROVE_REMOTE_H
#define KURA_SERVER_APPROVE_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "crypto/sign.h"
#include "request.h"

#define APPROVE_BODY_MAX 4096

/* Is `path` under /v1/deletions/ (this module's, before any token check)? */
bool approve_remote_path(const char *path);

/* The request's headers are in: answer a GET, or begin reading a POST's body. */
enum MHD_Result approve_remote_begin(request *rq, struct MHD_Connection *con);

/* The POST's body is in: check the signature and record it. */
enum MHD_Result approve_remote_finish(request *rq, struct MHD_Connection *con);

/*
 * The POST body, exactly {"action": "approve"|"cancel", "approver": NAME,
 * "signature": BASE64 of 64 bytes}: 0 with the members, or KURA_EINVAL
 * with a message in `why` (`why_size` bytes).
 */
int approve_body_parse(const char *body, size_t len, bool *out_cancel,
		       char out_name[VAULT_NAME_MAX + 1], uint8_t out_sig[KURA_SIGNATURE_SIZE],
		       char *why, size_t why_size);

#endif
