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

#include "crypto/sign.h"
#include "vault_state.h"

/*
 * Create an approver: an Ed25519 key pair; the public key goes to
 * DIR/approvers/NAME.json, the key file (kura/approve.h, version 2: the
 * secret sealed under a passphrase read by approver_pass.h, Argon2id at
 * `kdf_profile`, KURA_KDF_*) to `output`, mode 0600, never overwritten.
 * KURA_EEXISTS if the name is taken; KURA_EWEAK for a weak passphrase.
 */
int approvers_add(const char *dir, const char *name, const char *output, int kdf_profile);

/* The public key of approver `name` (DIR/approvers/NAME.json). */
int approvers_load(const char *dir, const char *name, uint8_t pk[KURA_SIGN_PUBKEY_SIZE]);

/*
 * An approver key file: its name and secret key (the caller wipes it),
 * checked against this vault's signing key and the approver's record,
 * then unsealed with its passphrase (approver_pass.h; a version 1 file
 * needs none and gets a warning on stderr).  KURA_EAUTH for a wrong
 * passphrase.
 */
int approvers_key_load(const char *dir, const char *key_path, char name[VAULT_NAME_MAX + 1],
		       uint8_t sk[KURA_SIGN_SECKEY_SIZE]);

#endif
