/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quota_answer.h - the quotas (quota.h) at an upload's start and end, and
 * the 507 a writer over one gets (docs/PROTOCOL.md, "Quotas").  Called
 * by the upload handlers (handlers.c), so that they only say when.
 */
#ifndef KURA_SERVER_QUOTA_ANSWER_H
#define KURA_SERVER_QUOTA_ANSWER_H

#include <microhttpd.h>
#include <stdbool.h>

#include "quota.h"
#include "request.h"

/*
 * Admit the upload rq (its Content-Length, rq->expected) against its
 * repository's and its credential's quotas: true, and the bytes are held
 * (rq->quota_held); or false, and it was answered 507 (*ret is what to
 * return to libmicrohttpd).
 */
bool quota_answer_admit(request *rq, struct MHD_Connection *con, enum MHD_Result *ret);

/* The upload was stored: its held bytes count.  Not stored: given back.  Both idempotent. */
void quota_answer_stored(request *rq);
void quota_answer_release(request *rq);

/*
 * The disk's reserve refused the upload (507): count it with the quota
 * refusals, so a writer hammering a full disk adds one summary a minute
 * to the log, not an entry per request.
 */
void quota_answer_reserve_refused(request *rq);

#endif
