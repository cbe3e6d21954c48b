/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approve.h - approvals from the approver's own machine (docs/PROTOCOL.md,
 * "Deletion" and "Remote approval"): the statement an approver signs, the
 * approver key file, and the vault's two approval requests.
 *
 * The statement is the exact byte string an approver's Ed25519 signature
 * covers.  It names the vault (its public signing key), the action
 * (approve or cancel), the request id and everything the request does, so
 * a signature made for one request, one vault or one action verifies for
 * no other.  The vault builds it from its request file; `kura approve`
 * receives it, parses it strictly (what the approver is shown is what the
 * parser read from the very bytes that are signed) and signs it locally.
 *
 * An approver key file (docs/FORMAT.md, "Approver key files") is JSON:
 * version 2 holds the Ed25519 seed sealed under an Argon2id hash of a
 * passphrase; version 1, from an older kurad, holds the secret key in
 * the clear and is still read (callers warn).
 */
#ifndef KURA_APPROVE_H
#define KURA_APPROVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kura/kura.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KURA_APPROVER_NAME_MAX 63 /* [a-z0-9][a-z0-9._-]{0,62}, as vault names */
#define KURA_APPROVER_PUBKEY_SIZE 32
#define KURA_APPROVER_SIG_SIZE 64
#define KURA_APPROVER_KEY_MAX (64 << 10) /* the largest key file read */
#define KURA_VAULT_KEY_B64 45		 /* base64 of a 32-byte key, and its NUL */
#define KURA_STATEMENT_NAMES_MAX 100000
#define KURA_STATEMENT_ID_MAX 999999999UL

/* -------------------------------------------------------------------- */
/* The statement                                                         */

typedef enum {
	KURA_STATEMENT_DELETE = 0,	       /* "kura-deletion-v1": snapshots and/or prune */
	KURA_STATEMENT_QUARANTINE_RELEASE = 1, /* "kura-quarantine-v1", kind quarantine-release */
	KURA_STATEMENT_QUARANTINE_REMOVE = 2,  /* ... quarantine-remove */
} kura_statement_kind;

typedef struct {
	kura_statement_kind kind;
	char vault_key[KURA_VAULT_KEY_B64]; /* base64 of the vault's signing.pub */
	bool cancel;			    /* ACTION "cancel", else "approve" */
	unsigned long id;		    /* 1 .. KURA_STATEMENT_ID_MAX */
	char repo[KURA_APPROVER_NAME_MAX + 1];
	int64_t requested_ns;	     /* > 0 */
	bool prune;		     /* DELETE only */
	unsigned long quarantine_id; /* the quarantine kinds only: 1 .. KURA_STATEMENT_ID_MAX */
	char (*names)[KURA_ID_HEX];  /* snapshots (DELETE) or files; ascending, unique */
	size_t nnames;
} kura_statement;

/*
 * The statement's bytes (*out malloc'd, NUL-terminated, *out_len without
 * the NUL).  `s->names` must be sorted and unique (KURA_EINVAL otherwise),
 * as must every other member be in its range.
 */
int kura_statement_build(char **out, size_t *out_len, const kura_statement *s);

/*
 * Parse `len` bytes as a statement into *out (its names malloc'd: free
 * with kura_statement_free).  Strict: exactly the grammar of PROTOCOL.md,
 * every number canonical, names ascending and unique, a '\n' after the
 * last line and nothing more; so the bytes are exactly
 * kura_statement_build(*out).  KURA_EINVAL with a message naming the line.
 */
int kura_statement_parse(kura_statement *out, const char *text, size_t len);

/* Free what kura_statement_parse allocated; NULL is fine. */
void kura_statement_free(kura_statement *s);

/* -------------------------------------------------------------------- */
/* Approver key files                                                    */

typedef struct kura_approver_key kura_approver_key;

/*
 * A new version 2 key file for approver `name` of the vault whose signing
 * key is `vault_key` (base64): `sk` (libsodium's 64-byte Ed25519 secret
 * key) sealed under `passphrase` with Argon2id at `kdf_profile`
 * (KURA_KDF_*).  The passphrase is checked with kura_passphrase_check()
 * first (KURA_EWEAK).  *out is malloc'd JSON text; wipe and free it.
 */
int kura_approver_key_encode(char **out, const char *vault_key, const char *name,
			     const uint8_t sk[64], const char *passphrase, int kdf_profile);

/*
 * Parse a key file of `len` bytes (version 1 or 2); `what` names it in
 * messages (its path).  Nothing is unsealed yet.  KURA_EINVAL for what is
 * not an approver key file, KURA_EUNSUPPORTED for another version.
 */
int kura_approver_key_parse(kura_approver_key **out, const uint8_t *data, size_t len,
			    const char *what);

/* Read and parse the key file at `path` (a regular file of at most KURA_APPROVER_KEY_MAX). */
int kura_approver_key_read(kura_approver_key **out, const char *path);

/* true for a version 2 file, whose secret needs the passphrase. */
bool kura_approver_key_encrypted(const kura_approver_key *k);

/* The approver's name and the vault's signing key (base64), as the file says. */
const char *kura_approver_key_name(const kura_approver_key *k);
const char *kura_approver_key_vault(const kura_approver_key *k);

/*
 * Unseal a version 2 key with `passphrase` (a version 1 key needs none:
 * 0).  KURA_EAUTH if the passphrase is wrong or the file was altered;
 * KURA_ECORRUPT if the secret does not belong to the public key.
 */
__attribute__((warn_unused_result)) int kura_approver_key_unlock(kura_approver_key *k,
								 const char *passphrase);

/* Does the key belong to the vault whose public signing key is `vault_pk`? */
bool kura_approver_key_for_vault(const kura_approver_key *k, const uint8_t vault_pk[32]);

/* The public key (known without the passphrase). */
void kura_approver_key_public(const kura_approver_key *k, uint8_t pk[KURA_APPROVER_PUBKEY_SIZE]);

/*
 * Sign `len` bytes of `msg` (a statement) with the unsealed key; the
 * secret key into `sk_out` instead when it is not NULL (the caller
 * wipes it).  KURA_EINVAL while the key is still sealed.
 */
int kura_approver_key_sign(const kura_approver_key *k, uint8_t sig[KURA_APPROVER_SIG_SIZE],
			   const void *msg, size_t len);
int kura_approver_key_secret(const kura_approver_key *k, uint8_t sk_out[64]);

/* Wipe and free; NULL is fine. */
void kura_approver_key_free(kura_approver_key *k);

/*
 * Sign `len` bytes of `statement` with the unsealed key and make the body
 * of POST /v1/deletions/ID: {"action": "approve"|"cancel", "approver":
 * NAME, "signature": BASE64}.  *out is malloc'd.
 */
int kura_approval_body(char **out, const kura_approver_key *k, bool cancel, const char *statement,
		       size_t len);

/* -------------------------------------------------------------------- */
/* The vault's approval requests                                          */

/*
 * GET (post_body NULL) or POST `post_body` to /v1/deletions/ID on the vault
 * named by the credential at `credentials_path` (its address and pin; its
 * token is never sent: the signature is what authenticates an approval).
 * Returns 0 whenever the vault answered: *out_status its HTTP status,
 * *out_body (malloc'd, NUL-terminated, *out_len bytes without it) its
 * JSON.  A negative code only when no answer came.
 */
int kura_vault_approval(const char *credentials_path, unsigned long id, const char *post_body,
			long *out_status, uint8_t **out_body, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif
