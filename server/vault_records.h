/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_records.h - the vault's small records and the rules for names
 * (vault_records.c): roles, client and repository names, the listen
 * address, DIR/vault.json's settings, one client record, the public
 * signing key.  They need no loaded vault: vault_state.c loads a vault
 * from them, vault_admin.c writes them, status.c shows them.
 */
#ifndef KURA_SERVER_VAULT_RECORDS_H
#define KURA_SERVER_VAULT_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/sign.h"

typedef enum { VAULT_ROLE_WRITER = 1, VAULT_ROLE_READER = 2, VAULT_ROLE_AUDITOR = 3 } vault_role;

#define VAULT_NAME_MAX 63
#define VAULT_SETTINGS_VERSION 1 /* vault.json's "version" */

typedef struct {
	char name[VAULT_NAME_MAX + 1];
	vault_role role;
	char repo[VAULT_NAME_MAX + 1]; /* "" for auditors */
	uint8_t token_sha256[32];
	_Atomic bool revoked; /* `kurad client revoke`: the token opens nothing */
} vault_client;

/* "writer", "reader", "auditor" <-> role; 0 / NULL when unknown. */
vault_role vault_role_parse(const char *s);
const char *vault_role_name(vault_role r);

/* 1 if s is a valid repository or client name: [a-z0-9][a-z0-9._-]{0,62}. */
int vault_name_ok(const char *s);

/*
 * 1 if `s` is "A.B.C.D:PORT" or "[IPv6]:PORT" (an address, never a host
 * name, so what `serve` binds to is what the operator wrote).
 */
int vault_listen_ok(const char *s);

/*
 * The vault's public signing key (DIR/signing.pub) as base64: what a
 * credential carries and what approvers' signatures are bound to.
 */
#define VAULT_SIGNING_KEY_B64 KURA_BASE64_SIZE(KURA_SIGN_PUBKEY_SIZE)
int vault_signing_key_b64(const char *dir, char out[VAULT_SIGNING_KEY_B64]);

/* DIR/vault.json: *out_listen malloc'd; *out_reserve, if asked for, -1 when not set. */
int vault_settings_load(const char *dir, char **out_listen, int64_t *out_reserve);

/* One DIR/clients/STEM.json record, read strictly (KURA_ECORRUPT naming the file). */
int vault_client_parse(vault_client *c, const char *path, const char *stem);

#endif
