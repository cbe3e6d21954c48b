/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_records.c - the vault's small records, read strictly and on their
 * own (no loaded vault needed): role and name rules, the listen address,
 * DIR/vault.json's settings, one client record DIR/clients/NAME.json, and
 * the public signing key as a credential carries it.  vault_state.c loads
 * a vault from them; vault_admin.c writes them; status.c shows them.
 *
 * Reading is strict: a client record with an unknown role, a bad name or
 * an unexpected member is refused with an error naming the file, since
 * guessing at a credential's meaning is how access widens.
 */
#include "vault_records.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "files.h"

/* ------------------------------------------------------------------ */
/* Names                                                               */

vault_role vault_role_parse(const char *s)
{
	if (!s)
		return 0;
	if (strcmp(s, "writer") == 0)
		return VAULT_ROLE_WRITER;
	if (strcmp(s, "reader") == 0)
		return VAULT_ROLE_READER;
	if (strcmp(s, "auditor") == 0)
		return VAULT_ROLE_AUDITOR;
	return 0;
}

const char *vault_role_name(vault_role r)
{
	switch (r) {
	case VAULT_ROLE_WRITER:
		return "writer";
	case VAULT_ROLE_READER:
		return "reader";
	case VAULT_ROLE_AUDITOR:
		return "auditor";
	}
	return NULL;
}

int vault_name_ok(const char *s)
{
	size_t i;

	if (!s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 1; s[i]; i++) {
		char c = s[i];

		if (i > VAULT_NAME_MAX - 1)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

/*
 * "A.B.C.D:PORT" or "[IPv6]:PORT" with a port in 1..65535: an address,
 * never a host name, so what `serve` binds to is what the operator wrote.
 */
int vault_listen_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	char host[INET6_ADDRSTRLEN + 1];
	unsigned char addr[sizeof(struct in6_addr)];
	size_t hlen;
	char *end;
	long port;

	if (!colon || colon[1] < '0' || colon[1] > '9')
		return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || errno || port < 1 || port > 65535)
		return 0;
	hlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hlen < 3 || colon[-1] != ']' || hlen - 2 >= sizeof(host))
			return 0;
		memcpy(host, s + 1, hlen - 2);
		host[hlen - 2] = '\0';
		return inet_pton(AF_INET6, host, addr) == 1;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return 0;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	return inet_pton(AF_INET, host, addr) == 1;
}

/* vault.json: the listen address and the reserve.  *out_listen is malloc'd. */
int vault_settings_load(const char *dir, char **out_listen, int64_t *out_reserve)
{
	char *path = NULL, *text = NULL;
	json_t *doc = NULL;
	json_error_t jerr;
	const char *listen;
	json_t *alert_command, *detect, *alert_webhook, *alert_syslog, *store;
	json_int_t version, reserve = -1;
	int err = 0;

	*out_listen = NULL;
	if (out_reserve)
		*out_reserve = -1;
	if (asprintf(&path, "%s/vault.json", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &text, NULL)) < 0) {
		if (err == KURA_ENOTFOUND)
			err = kura_error_set(KURA_ENOTFOUND, "%s: no vault here (no vault.json)",
					     dir);
		goto done;
	}
	if (!(doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
		goto done;
	}
	/* "alert_*", "detect" and "store" are alert_out.c's, watch.c's and vault_store.c's. */
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:I, s?I, s?o, s?o, s?o, s?o, s?o}",
			   "listen", &listen, "version", &version, "reserve", &reserve,
			   "alert_command", &alert_command, "detect", &detect, "alert_webhook",
			   &alert_webhook, "alert_syslog", &alert_syslog, "store", &store) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: %s", path, jerr.text);
		goto done;
	}
	if (version != VAULT_SETTINGS_VERSION) {
		err = kura_error_set(KURA_EUNSUPPORTED,
				     "%s: version %" JSON_INTEGER_FORMAT
				     " not understood (this kurad knows %d)",
				     path, version, VAULT_SETTINGS_VERSION);
		goto done;
	}
	if (!vault_listen_ok(listen)) {
		err = kura_error_set(KURA_ECORRUPT, "%s: bad listen address '%s'", path, listen);
		goto done;
	}
	if (json_object_get(doc, "reserve") && reserve < 0) {
		err = kura_error_set(
		    KURA_ECORRUPT, "%s: reserve %" JSON_INTEGER_FORMAT " is not a number of bytes",
		    path, reserve);
		goto done;
	}
	if (out_reserve)
		*out_reserve = reserve;
	if (!(*out_listen = strdup(listen)))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
done:
	json_decref(doc);
	free(text);
	free(path);
	return err;
}

/* ------------------------------------------------------------------ */
/* Loading a vault                                                     */

int vault_client_parse(vault_client *c, const char *path, const char *stem)
{
	char *text = NULL;
	json_t *doc = NULL, *repo_j;
	json_error_t jerr;
	const char *name, *role, *hex, *created, *revoked = NULL;
	int err = 0;

	memset(c, 0, sizeof(*c));
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &text, NULL)) < 0)
		return err;
	if (!(doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
		goto done;
	}
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:s, s:o, s:s, s:s, s?:s}", "name",
			   &name, "role", &role, "repo", &repo_j, "token_sha256", &hex, "created",
			   &created, "revoked", &revoked) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: %s", path, jerr.text);
		goto done;
	}
	if (!vault_name_ok(name) || strcmp(name, stem) != 0) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: bad client name '%s' (must be valid and "
				     "match the file name)",
				     path, name);
		goto done;
	}
	if (!(c->role = vault_role_parse(role))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: unknown role '%s'", path, role);
		goto done;
	}
	if (c->role == VAULT_ROLE_AUDITOR ? !json_is_null(repo_j)
					  : !vault_name_ok(json_string_value(repo_j))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: bad \"repo\" for a %s", path, role);
		goto done;
	}
	if (strlen(hex) != 64 || kura_unhex(c->token_sha256, hex, 32) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: bad token_sha256", path);
		goto done;
	}
	strcpy(c->name, name);
	if (c->role != VAULT_ROLE_AUDITOR)
		strcpy(c->repo, json_string_value(repo_j));
	atomic_init(&c->revoked, revoked != NULL);
done:
	json_decref(doc);
	free(text);
	return err;
}

int vault_signing_key_b64(const char *dir, char out[VAULT_SIGNING_KEY_B64])
{
	char *path = NULL, *pk = NULL;
	size_t len = 0;
	int err;

	if (asprintf(&path, "%s/signing.pub", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &pk, &len)) < 0) {
		if (err == KURA_ENOTFOUND)
			err = kura_error_set(KURA_ENOTFOUND, "%s: no vault here (no signing.pub)",
					     dir);
		goto done;
	}
	if (len != KURA_SIGN_PUBKEY_SIZE) {
		err = kura_error_set(KURA_ECORRUPT, "%s: not a %d-byte Ed25519 public key", path,
				     KURA_SIGN_PUBKEY_SIZE);
		goto done;
	}
	kura_base64(out, pk, len);
done:
	free(pk);
	free(path);
	return err;
}
