/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loghead.h - the signed head of a vault's audit log (docs/PROTOCOL.md,
 * "Log head"): how far the log had grown when the vault answered, signed
 * with the vault's Ed25519 key.  Every answer carries it (Kura-Log-Head),
 * kurad keeps its own last one in DIR/audit/head, and clients remember the
 * newest they saw, so a log cut back or replaced by an older copy shows.
 */
#ifndef KURA_LOGHEAD_H
#define KURA_LOGHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "SEQ HEX BASE64" and its NUL fit in this. */
#define KURA_LOGHEAD_TEXT_MAX 200

/*
 * seq entries so far; hash is entry seq-1's (32 zero bytes when seq is 0).
 * sig is Ed25519 over "kura-log-head-v1" || seq as 8 bytes big-endian || hash.
 */
typedef struct {
	uint64_t seq;
	uint8_t hash[32];
	uint8_t sig[64];
} kura_loghead;

/* Sign h->seq and h->hash with the vault's secret key (64 bytes). */
void kura_loghead_sign(kura_loghead *h, const uint8_t sk[64]);
/* Whether h's signature verifies under the vault's public key. */
bool kura_loghead_verify(const kura_loghead *h, const uint8_t pk[32]);

/* "SEQ HEX BASE64" (the header value and the file's one line, without newline). */
void kura_loghead_format(const kura_loghead *h, char out[KURA_LOGHEAD_TEXT_MAX]);
/* Parse that text strictly (any bytes: never more than len read); KURA_ECORRUPT if it is not. */
int kura_loghead_parse(kura_loghead *h, const char *text, size_t len);

/* Read a head file (one line); KURA_ENOTFOUND if there is none. */
int kura_loghead_load(kura_loghead *h, const char *path);
/* Write a head file atomically (a new file renamed over the old one, synced). */
int kura_loghead_store(const char *path, const kura_loghead *h);

/*
 * Whether the log `log` of `len` bytes holds the entry h names: *out_found
 * is true if entry h->seq-1 is there with h's hash (and matches its own
 * text), false if the log is shorter or that entry differs (*why says
 * which).  0, or KURA_ENOMEM.  A head of 0 entries is in every log.
 */
int kura_loghead_find(bool *out_found, const kura_loghead *h, const uint8_t *log, size_t len,
		      const char **why);

/* A client's memory of the newest head a vault showed it. */
typedef enum {
	KURA_LOGHEAD_NEWER,  /* remembered from now on */
	KURA_LOGHEAD_SAME,   /* what was remembered */
	KURA_LOGHEAD_OLDER,  /* fewer entries than one seen before: a rollback */
	KURA_LOGHEAD_FORKED, /* as many entries as one seen before, another hash */
} kura_loghead_order;

/* How `now` stands to `seen`. */
kura_loghead_order kura_loghead_compare(const kura_loghead *seen, const kura_loghead *now);

/*
 * The file where a client remembers the newest head of the vault whose
 * public key is `pk`: DIR/vault-heads/<hex of pk>, DIR being $KURA_CACHE_DIR,
 * $XDG_CACHE_HOME/kura or ~/.cache/kura.  One per vault: its log is shared
 * by all of its repositories.  malloc'd, NULL when out of memory.
 */
char *kura_loghead_client_path(const uint8_t pk[32]);

/* Where the vault backend reports a rollback (the library never prints). */
typedef void (*kura_loghead_warning_fn)(const char *message, void *ctx);
void kura_loghead_set_warning(kura_loghead_warning_fn fn, void *ctx);
void kura_loghead_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif
