/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approvers.h - the approvers of a vault (docs/PROTOCOL.md, "Deletion"):
 * people whose Ed25519 signatures a deletion needs.  Each has a public key
 * in DIR/approvers/NAME.json and a secret key file kept off the vault.
 */
#ifndef KURA_SERVER_APPROVERS_H
#define KURA_SERVER_APPROVERS_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "vault_state.h"

/* The base64 of a public key, NUL included. */
#define APPROVERS_PK_B64                                                                           \
	sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES, sodium_base64_VARIANT_ORIGINAL)

/*
 * Create an approver: an Ed25519 key pair; the public key goes to
 * DIR/approvers/NAME.json, the key file (JSON {"kura_approver_key": 1,
 * "vault_signing_key": B64, "name", "secret_key": B64}) to `output`, mode
 * 0600, never overwritten.  KURA_EEXISTS if the name is taken.
 */
int approvers_add(const char *dir, const char *name, const char *output);

/* The vault's public signing key (DIR/signing.pub) as base64. */
int approvers_vault_key(const char *dir, char out[APPROVERS_PK_B64]);

/* The public key of approver `name` (DIR/approvers/NAME.json). */
int approvers_load(const char *dir, const char *name, uint8_t pk[crypto_sign_PUBLICKEYBYTES]);

/*
 * An approver key file: its name and secret key (the caller wipes it),
 * checked against this vault's signing key and the approver's record.
 */
int approvers_key_load(const char *dir, const char *key_path, char name[VAULT_NAME_MAX + 1],
		       uint8_t sk[crypto_sign_SECRETKEYBYTES]);

/* Exactly `len` bytes of standard base64 (with padding) into `out`; KURA_EINVAL otherwise. */
int approvers_unbase64(uint8_t *out, size_t len, const char *b64);

#endif
