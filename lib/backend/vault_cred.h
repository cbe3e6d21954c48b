/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_cred.h - vault locations and credential files, read and checked
 * for the vault backend (vault_cred.c).  Private to lib/backend.
 */
#ifndef KURA_VAULT_CRED_H
#define KURA_VAULT_CRED_H

#include <stdint.h>

#include "kura/backend.h"
#include "vault_http.h"

#define VAULT_TOKEN_LEN 43
#define VAULT_CREDENTIAL_MAX (64 * 1024)
#define VAULT_REPO_NAME_MAX 63
#define VAULT_HOSTPORT_MAX 300

/*
 * Split "vault://HOST:PORT/REPO" into "HOST:PORT" and "REPO".  HOST is a
 * name or IPv4 address, or an IPv6 address in brackets; anything else
 * (user info, a query, a longer path) is KURA_EINVAL rather than guessed at.
 */
int vault_cred_parse_location(const char *url, char hostport[VAULT_HOSTPORT_MAX + 1],
			      char repo[VAULT_REPO_NAME_MAX + 1]);

/*
 * Read the repository credential at `path`, check it against the
 * location (its vault `hostport` and repository `repo`; vb->location
 * names it in messages) and keep its pin, token header and role in vb.
 */
int vault_cred_load(vault_backend *vb, const char *path, const char *hostport, const char *repo);

/*
 * Read a credential for a request that names no repository (an
 * auditor's) into vb: the location "vault://HOST:PORT", the base URL, the
 * pin and the token header.  When `signing_key` is not NULL the
 * credential's "signing_key" is decoded into it (KURA_ENOTFOUND if it has
 * none).
 */
int vault_cred_load_auditor(vault_backend *vb, const char *path,
			    uint8_t signing_key[KURA_VAULT_SIGNING_KEY_SIZE]);

#endif
