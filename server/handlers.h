/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handlers.h - what the vault does for each kind of request, once the
 * gate (http.c) has authenticated the client, parsed the path and checked
 * the method and the client's role.  Each answers the request (through
 * request.h) and returns what libmicrohttpd expects.
 */
#ifndef KURA_SERVER_HANDLERS_H
#define KURA_SERVER_HANDLERS_H

#include <stddef.h>

#include <microhttpd.h>

#include "request.h"

/* GET /v1/status, /v1/log (auditors). */
enum MHD_Result handlers_get_status(request *rq, struct MHD_Connection *con);
enum MHD_Result handlers_get_log(request *rq, struct MHD_Connection *con);

/* GET /v1/repos/REPO/TYPE/NAME (with Range) and /v1/repos/REPO/TYPE/. */
enum MHD_Result handlers_get_file(request *rq, struct MHD_Connection *con);
enum MHD_Result handlers_get_list(request *rq, struct MHD_Connection *con);

/*
 * GET and POST /v1/repos/REPO/deletions.  A POST is begun (Content-Length
 * checked), fed its body piece by piece, and finished when the body ends.
 */
enum MHD_Result handlers_get_deletions(request *rq, struct MHD_Connection *con);

/* GET /v1/repos/REPO/quarantine: the repository's quarantine records (quarantine.h). */
enum MHD_Result handlers_get_quarantine(request *rq, struct MHD_Connection *con);
enum MHD_Result handlers_post_begin(request *rq, struct MHD_Connection *con);
void handlers_post_data(request *rq, const char *data, size_t len);
enum MHD_Result handlers_post_finish(request *rq, struct MHD_Connection *con);

/*
 * PUT /v1/repos/REPO/TYPE/NAME, streamed the same way into a temporary
 * file.  handlers_put_drop removes that file if the upload was not stored
 * (the request ended early); safe to call more than once.
 */
enum MHD_Result handlers_put_begin(request *rq, struct MHD_Connection *con);
void handlers_put_data(request *rq, const char *data, size_t len);
enum MHD_Result handlers_put_finish(request *rq, struct MHD_Connection *con);
void handlers_put_drop(request *rq);

#endif
