/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_admin.h - the operator's commands on the vault host: `kurad init`,
 * `kurad client add`, `kurad client revoke` (docs/kurad.8).  Each works on
 * the directory alone, with or without a running `kurad serve`.
 */
#ifndef KURA_SERVER_VAULT_ADMIN_H
#define KURA_SERVER_VAULT_ADMIN_H

#include "vault_state.h"

/*
 * Create a vault in `dir` (missing or empty): layout, settings with the
 * listen address, an ECDSA P-256 TLS key and self-signed certificate, an
 * Ed25519 signing key.  Prints nothing; *out_pin gets the certificate's
 * pin ("sha256//BASE64", malloc'd) for the operator.
 */
int vault_init(const char *dir, const char *listen, char **out_pin);

/*
 * vault_init with the repositories on S3 (`store` non-NULL: the bucket is
 * prepared and the prefix claimed before vault.json is written;
 * vault_store.h) or on the disk (NULL).
 */
int vault_init_store(const char *dir, const char *listen, const vault_store_init_options *store,
		     char **out_pin);

/*
 * Issue a credential: a random 32-byte token, stored in the vault only as
 * its SHA-256, written with the vault address and pin to `output` (mode
 * 0600, never overwritten).  Creates the repository's directory for
 * writers and readers.  KURA_EEXISTS if the client name is taken.
 */
int vault_client_add(const char *dir, const char *name, vault_role role, const char *repo,
		     const char *output);

/*
 * `kurad client revoke`: mark client NAME's record revoked (rewritten
 * atomically; the record stays, so the name is never issued again).  A
 * running `kurad serve` refuses the token from its next reload on.
 * KURA_ENOTFOUND for an unknown client, KURA_EEXISTS if already revoked.
 */
int vault_client_revoke(const char *dir, const char *name);

#endif
