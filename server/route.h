/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route.h - the pure parsers behind the vault's HTTP front end
 * (docs/PROTOCOL.md, "Requests"): request paths, Range and Content-Length
 * headers, the bearer token, the listen address and the one decoding step
 * applied to URLs.
 *
 * None of these touch the network, the file system or global state, so
 * they are unit-tested and fuzzed on their own (tests/unit/test_route.c,
 * tests/fuzz/fuzz_route.c).  Each accepts exactly the grammar written
 * above it and rejects everything else; a parser that accepts too much
 * here is a path into the vault's file system.
 */
#ifndef KURA_SERVER_ROUTE_H
#define KURA_SERVER_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "kura/sys/backend.h"
#include "kura/kura.h"
#include "vault_state.h"

typedef enum {
	VAULT_ROUTE_LIST = 1,	   /* /v1/repos/REPO/TYPE/ */
	VAULT_ROUTE_FILE = 2,	   /* /v1/repos/REPO/TYPE/NAME */
	VAULT_ROUTE_STATUS = 3,	   /* /v1/status */
	VAULT_ROUTE_LOG = 4,	   /* /v1/log */
	VAULT_ROUTE_DELETIONS = 5, /* /v1/repos/REPO/deletions */
	VAULT_ROUTE_QUARANTINE = 6, /* /v1/repos/REPO/quarantine */
} vault_route_kind;

typedef struct {
	vault_route_kind kind;
	char repo[VAULT_NAME_MAX + 1]; /* LIST, FILE, DELETIONS, QUARANTINE, else "" */
	kura_file_type type;	       /* LIST and FILE */
	char name[KURA_ID_HEX];	       /* FILE, else "" */
} vault_route;

/*
 * Parse a request path, already percent-decoded once (by
 * route_url_unescape).  Grammar, byte for byte, nothing before or after:
 *
 *   /v1/status | /v1/log
 *   /v1/repos/REPO/TYPE/        REPO = [a-z0-9][a-z0-9._-]{0,62}
 *   /v1/repos/REPO/TYPE/NAME    TYPE = config|keys|snapshots|index|data
 *   /v1/repos/REPO/deletions    NAME = [0-9a-f]{64}
 *   /v1/repos/REPO/quarantine
 *
 * So "..", ".", empty components, double or trailing slashes, upper case,
 * query strings and percent signs are all refused.  Returns 0 and fills
 * *out; KURA_EINVAL for a malformed path under /v1/repos/ (HTTP 400);
 * KURA_ENOTFOUND for any other path (HTTP 404).
 */
int route_parse(const char *url, vault_route *out);

/*
 * The request id of "/v1/deletions/ID" (ID = [1-9][0-9]{0,8}, nothing
 * after), the approvers' path (approve_remote.h).  0 with *out;
 * KURA_ENOTFOUND for a path not under /v1/deletions/; KURA_EINVAL for a
 * malformed id there.
 */
int route_deletion_id(const char *url, unsigned long *out);

/*
 * Parse a Range header for a file of `size` bytes.  Only one range of the
 * forms "bytes=A-B" (inclusive, B clamped to size-1) and "bytes=A-" is
 * understood: no spaces, no suffix ranges ("bytes=-N"), no lists.
 * Returns 0 with *start and *len (len >= 1); KURA_EINVAL when the header
 * is not of that form, A > B, or a number overflows (HTTP 400);
 * KURA_ENOTFOUND when A is at or beyond the end of the file (HTTP 416).
 */
int route_range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *len);

/*
 * Parse a Content-Length value: 1 to 20 decimal digits, nothing else,
 * no overflow.  0 with *out, or KURA_EINVAL.
 */
int route_length_parse(const char *s, uint64_t *out);

/*
 * The token of an "Authorization: Bearer TOKEN" header (scheme matched
 * without regard to case, one space, then 1..256 printable non-space
 * characters to the end): a pointer into `header`, or NULL.
 */
const char *route_bearer_token(const char *header);

/*
 * Decode "%HH" sequences of `s` in place, once, and return the new
 * length.  A sequence that would decode to a control byte (below 0x20, or
 * 0x7f) is left as it is, so a "%00" cannot cut a path short for the
 * checks that follow while the full path is logged; the '%' left behind
 * makes the path invalid.  Matches libmicrohttpd's unescape callback.
 */
size_t route_url_unescape(char *s);

/*
 * Parse a listen address "A.B.C.D:PORT" or "[IPv6]:PORT" (PORT 1..65535,
 * decimal, no sign).  Fills *out and *out_len.  KURA_EINVAL otherwise.
 */
int route_addr_parse(const char *s, struct sockaddr_storage *out, socklen_t *out_len);

#endif
