/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.h - the vault's tamper-evident audit log (docs/PROTOCOL.md,
 * "Audit log"): JSON lines chained by SHA-256, with checkpoints signed by
 * the vault's Ed25519 key every 64 entries and at shutdown.
 */
#ifndef KURA_SERVER_AUDIT_H
#define KURA_SERVER_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto/crypto.h"
#include "kura/loghead.h"

/* Its own type: the log knows nothing of the vault that writes it. */
typedef struct vault_audit vault_audit;

typedef struct {
	const char *peer;   /* "127.0.0.1" or "::1" */
	const char *client; /* "" when unauthenticated */
	const char *role;   /* "" when unauthenticated */
	const char *method;
	const char *path;
	int status;
	uint64_t bytes;
	/*
	 * A summary of refusals (method "REFUSED"): `count` > 0 adds the
	 * members "count", "first" and "last" (RFC 3339 times) after "bytes".
	 */
	uint64_t count;
	const char *first, *last;
} vault_audit_entry;

/* `ns` (CLOCK_REALTIME nanoseconds) as the log writes times: 2026-11-25T21:40:00.123456789Z */
void audit_time(char out[40], int64_t ns);

/*
 * Open DIR/audit/log.jsonl for appending, continuing its chain.  A log
 * that no longer holds the head recorded in DIR/audit/head (at every
 * checkpoint, open and close) is refused with KURA_EDENIED, unless
 * `accept_rollback`: then an ACCEPT-LOG-ROLLBACK entry names the lost head.
 */
int audit_open(vault_audit **out, const char *vault_dir, const uint8_t signing_sk[64],
	       bool accept_rollback);

/* Append one entry (thread-safe; fdatasync'd before returning). */
int audit_append(vault_audit *a, const vault_audit_entry *e);

/* An entry of the vault's own doing (peer "local"): deletions carried out, quarantine steps. */
int audit_local(vault_audit *a, const char *client, const char *role, const char *method,
		const char *path, int status, uint64_t bytes);

/* The signed head as it is now: "SEQ HASH SIGNATURE" (kura/loghead.h). */
void audit_head(vault_audit *a, char out[KURA_LOGHEAD_TEXT_MAX]);

/* Write a signed checkpoint now. */
int audit_checkpoint(vault_audit *a);

/* Checkpoint and close; NULL is fine. */
void audit_close(vault_audit *a);

/*
 * Verify the log of the vault in `vault_dir` against its public signing
 * key: every hash, every link, every checkpoint signature.  Problems are
 * printed to `report`, one per line, naming the line number.  0 if intact,
 * KURA_ECORRUPT otherwise.
 */
int audit_verify(const char *vault_dir, FILE *report);

/*
 * The hash of an entry, which the next entry links to: SHA-256 of the
 * previous entry's hash, then `body` (the entry's JSON without its hash
 * member and without the closing brace), then "}".
 */
int audit_entry_hash(uint8_t out[KURA_HASH_SIZE], const uint8_t prev[KURA_HASH_SIZE],
		     const char *body, size_t len);

#endif
