/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_send.h - answer GET /v1/repos/REPO/TYPE/NAME from a store that is
 * not a local file (the vault on S3, vault_store.h): a whole file is read
 * through the backend's get(), which refuses bytes that do not hash to
 * the name, and a range "bytes=A-B" through get_range().
 */
#ifndef KURA_SERVER_STORE_SEND_H
#define KURA_SERVER_STORE_SEND_H

#include <microhttpd.h>

#include "request.h"

/* rq->backend holds the file of rq->route (the caller checked quarantine). */
enum MHD_Result store_send_file(request *rq, struct MHD_Connection *con);

#endif
