/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_time.h - reading the receive time a vault sends with each snapshot
 * of a listing ("received", docs/PROTOCOL.md).
 *
 * The time orders snapshots and picks `latest`, so a reader must not trust
 * it blindly either: a vault answer is hostile input like any other.  A
 * value that is missing, not RFC 3339 UTC, or absurd (before 2000, or more
 * than a day ahead of this machine's clock) is refused with a short reason,
 * and the caller falls back to the time the snapshot claims.
 */
#ifndef KURA_VAULT_TIME_H
#define KURA_VAULT_TIME_H

#include <stdint.h>

/*
 * Parse `text` ("2026-11-25T21:40:00.123456789Z"; 0 to 9 fraction digits)
 * into *out_ns.  Returns NULL on success, else a constant reason ("missing",
 * "not an RFC 3339 UTC time", "before 2000", "more than a day in the
 * future") and *out_ns 0.  `now_ns` is this machine's clock.
 */
const char *kura_vault__parse_received(const char *text, int64_t now_ns, int64_t *out_ns);

#endif
