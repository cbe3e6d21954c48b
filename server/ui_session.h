/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_session.h - the status page's logins (docs/PROTOCOL.md, "Status
 * page"): an auditor posts its token once to /ui/login and gets a session
 * cookie; the token itself never lives in the browser.
 *
 * A session is a random 256-bit id (kura_random, libsodium), held only
 * in this table in kurad's memory with its client and an absolute expiry
 * UI_SESSION_TTL_S after the login; a restart logs everyone out.  Lookups
 * compare the presented id with every slot in constant time.  A revoked
 * client's sessions stop working at once.  The table is fixed in size:
 * when full, the session closest to its expiry makes room.
 *
 * The parsers below are pure (unit-tested and fuzzed: tests/fuzz/
 * fuzz_ui_session.c).
 */
#ifndef KURA_SERVER_UI_SESSION_H
#define KURA_SERVER_UI_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "vault_records.h"

#define UI_SESSION_MAX 64
#define UI_SESSION_TTL_S 900 /* 15 minutes, then log in again */
#define UI_SESSION_ID_BYTES 32
#define UI_SESSION_ID_HEX (2 * UI_SESSION_ID_BYTES + 1)
#define UI_COOKIE_NAME "kura_ui"
#define UI_TOKEN_MAX 256 /* as route_bearer_token */

typedef struct ui_sessions ui_sessions;

int ui_sessions_new(ui_sessions **out);
void ui_sessions_free(ui_sessions *s); /* NULL is fine */

/*
 * A new session for client `c` (borrowed: vault clients never move) at
 * now_ns; *out_id gets its id as lowercase hex, the cookie's value.
 */
void ui_session_open(ui_sessions *s, const vault_client *c, int64_t now_ns,
		     char out_id[UI_SESSION_ID_HEX]);

/* The client of the live session `id_hex`, or NULL (unknown, expired, revoked). */
const vault_client *ui_session_find(ui_sessions *s, const char *id_hex, int64_t now_ns);

/* End the session `id_hex` (signing out); unknown ids are ignored. */
void ui_session_close(ui_sessions *s, const char *id_hex);

/* How many sessions are live at now_ns (for /metrics). */
size_t ui_session_count(ui_sessions *s, int64_t now_ns);

/*
 * The value of the cookie UI_COOKIE_NAME in a Cookie header ("a=1;
 * kura_ui=HEX; b=2"): exactly 64 lowercase hex digits.  0 and *out;
 * KURA_ENOTFOUND when the header (NULL is fine) has no such cookie;
 * KURA_EINVAL when it has one that is malformed or more than one.
 */
int ui_cookie_parse(const char *header, char out[UI_SESSION_ID_HEX]);

/*
 * The field "token" of an application/x-www-form-urlencoded body of
 * `len` bytes (any bytes: NULs and all): present exactly once, "+" and
 * %HH decoded, 1..UI_TOKEN_MAX printable ASCII characters without spaces.
 * Other fields are ignored.  0 and `out` (UI_TOKEN_MAX + 1 bytes), or
 * KURA_EINVAL.
 */
int ui_form_token(const char *body, size_t len, char out[UI_TOKEN_MAX + 1]);

#endif
