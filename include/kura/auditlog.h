/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auditlog.h - checking a vault's audit log away from the vault.
 *
 * An auditor fetches the log (kura_vault_fetch(.., "log", ..)) and checks
 * it here with the vault's public signing key from its credential: the
 * same rules as `kurad log verify` (docs/PROTOCOL.md, "Audit log"), from
 * bytes in memory.  Every entry's hash, every link to the entry before,
 * every checkpoint's Ed25519 signature and the entries it covers.
 */
#ifndef KURA_AUDITLOG_H
#define KURA_AUDITLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KURA_AUDITLOG_KEY_SIZE 32 /* an Ed25519 public key */

/* Called once per problem, in line order; `line` counts from 1. */
typedef void (*kura_auditlog_problem_fn)(uint64_t line, const char *message, void *ctx);

typedef struct {
	uint64_t lines;		  /* lines read (a partial last line included) */
	uint64_t entries;	  /* entry lines */
	uint64_t checkpoints;	  /* checkpoint lines */
	uint64_t problems;	  /* problems reported */
	uint64_t uncovered;	  /* entries after the last checkpoint */
	uint64_t first_uncovered; /* the line of the first of them (0 if none) */
} kura_auditlog_summary;

/*
 * Verify the audit log `log` of `len` bytes against the vault's public
 * signing key `pk`.  Each problem goes to `fn` (may be NULL) with its line
 * number; *out (may be NULL) is filled in either way.  Returns 0 if the
 * log is intact, KURA_ECORRUPT if any problem was found (entries not yet
 * covered by a checkpoint are not a problem: the summary counts them), or
 * KURA_ENOMEM.  An empty log is intact.
 */
int kura_auditlog_verify(kura_auditlog_summary *out, const uint8_t *log, size_t len,
			 const uint8_t pk[KURA_AUDITLOG_KEY_SIZE], kura_auditlog_problem_fn fn,
			 void *ctx);

/* One line of the log, parsed (its JSON checked for shape, not its hash). */
typedef struct {
	bool checkpoint;
	uint64_t seq;
	uint8_t prev[32]; /* entries */
	uint8_t hash[32]; /* entries: as stored; checkpoints: the hash they cover */
	uint8_t sig[64];  /* checkpoints */
} kura_auditlog_line;

/*
 * Parse one line (without its newline).  Returns 0, KURA_ECORRUPT with
 * *why set (no error message: the caller words it with the line number),
 * or KURA_ENOMEM.  kurad uses it too, to continue the chain from the last
 * line when it reopens the log.
 */
int kura_auditlog_parse_line(kura_auditlog_line *out, const char *line, size_t len,
			     const char **why);
/*
 * Whether an entry line's stored hash is the hash of its text: *out_intact
 * says it.  0, or KURA_ENOMEM (then *out_intact is false).
 */
int kura_auditlog_entry_verify(bool *out_intact, const kura_auditlog_line *p, const char *line,
			       size_t len);
/* Whether a checkpoint's signature verifies under the vault's key `pk`. */
bool kura_auditlog_sig_is_valid(const kura_auditlog_line *p,
				const uint8_t pk[KURA_AUDITLOG_KEY_SIZE]);

#ifdef __cplusplus
}
#endif
#endif
