/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_send.c - file answers from a store reached through its backend
 * (store_send.h).  A whole file is held in memory while it is sent (a
 * pack is 16 MiB by default); a range only its own bytes.  An object
 * store does not say a file's size with a range, so a 206 carries
 * "Content-Range: bytes A-B/" and a star for the size.
 */
#include "store_send.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define RANGE_MAX ((uint64_t)1 << 30) /* no pack is larger */

static enum MHD_Result send_bytes(request *rq, struct MHD_Connection *con, unsigned status,
				  uint8_t *data, size_t len, const char *content_range)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);

	if (!resp) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (content_range)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
	return request_respond(rq, con, status, resp, len);
}

static enum MHD_Result not_found(request *rq, struct MHD_Connection *con)
{
	const vault_route *r = &rq->route;

	return request_respond_error(rq, con, MHD_HTTP_NOT_FOUND, NULL,
				     "no %s file %s in repository %s", kura_file_type_name(r->type),
				     r->name, r->repo);
}

enum MHD_Result store_send_file(request *rq, struct MHD_Connection *con)
{
	const vault_route *r = &rq->route;
	kura_backend *b = rq->backend;
	const char *range;
	char content_range[96];
	uint64_t start = 0, len = 0;
	uint8_t *data = NULL;
	size_t got;
	int err;

	range = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	/* The size is not known here: "bytes=A-B" is taken as asked. */
	if (range && route_range_parse(range, UINT64_MAX, &start, &len) < 0)
		return request_respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL,
					     "Range must be \"bytes=A-B\" or \"bytes=A-\"");
	if (range && len <= RANGE_MAX) {
		if (!(data = malloc((size_t)len ? (size_t)len : 1))) {
			kura_error_set(KURA_ENOMEM, "out of memory");
			return request_respond_internal(rq, con, "cannot read the file");
		}
		if ((err = b->get_range(b, r->type, r->name, start, (size_t)len, data)) < 0) {
			free(data);
			if (err == KURA_ENOTFOUND)
				return not_found(rq, con);
			if (err == KURA_ECORRUPT) /* beyond the end of the file */
				return request_respond_error(rq, con,
							     MHD_HTTP_RANGE_NOT_SATISFIABLE, NULL,
							     "range is beyond the file");
			return request_respond_internal(rq, con, "cannot read the file");
		}
		snprintf(content_range, sizeof(content_range), "bytes %llu-%llu/*",
			 (unsigned long long)start, (unsigned long long)(start + len - 1));
		return send_bytes(rq, con, MHD_HTTP_PARTIAL_CONTENT, data, (size_t)len,
				  content_range);
	}
	if ((err = b->get(b, r->type, r->name, &data, &got)) < 0) {
		if (err == KURA_ENOTFOUND)
			return not_found(rq, con);
		return request_respond_internal(rq, con, "cannot read the file");
	}
	if (!range)
		return send_bytes(rq, con, MHD_HTTP_OK, data, got, NULL);
	/* "bytes=A-": the rest of the file from A */
	if (start >= got) {
		free(data);
		return request_respond_error(rq, con, MHD_HTTP_RANGE_NOT_SATISFIABLE, NULL,
					     "range is beyond the file");
	}
	memmove(data, data + start, got - (size_t)start);
	snprintf(content_range, sizeof(content_range), "bytes %llu-%llu/%llu",
		 (unsigned long long)start, (unsigned long long)(got - 1), (unsigned long long)got);
	return send_bytes(rq, con, MHD_HTTP_PARTIAL_CONTENT, data, got - (size_t)start,
			  content_range);
}
