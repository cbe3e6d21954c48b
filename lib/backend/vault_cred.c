/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_cred.c - the vault backend's locations and credential files.
 *
 * A location "vault://HOST:PORT/REPO" names a repository; a credential
 * file issued by `kurad client add` carries the token, the role and the
 * pin of the vault's public key (docs/PROTOCOL.md, "Credentials").  This
 * file reads both as the hostile input they may be (a credential of at
 * most 64 KiB from a regular file, never a FIFO that would hang us; JSON
 * checked member by member; a location with nothing guessed) and checks
 * that they agree, so a credential is never sent to another vault or used
 * for another repository by mistake.  Apart from the slots (vault.c)
 * because it is parsing with its own rules, and the token it handles is
 * wiped wherever a copy of it was held.
 */
#include "vault_cred.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "crypto/crypto.h"

static bool repo_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > VAULT_REPO_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/*
 * Split "vault://HOST:PORT/REPO" into "HOST:PORT" and "REPO".  HOST is a
 * name or IPv4 address, or an IPv6 address in brackets; anything else
 * (user info, a query, a longer path) is refused rather than guessed at.
 */
int vault_cred_parse_location(const char *url, char hostport[VAULT_HOSTPORT_MAX + 1],
			  char repo[VAULT_REPO_NAME_MAX + 1])
{
	static const char scheme[] = "vault://";
	const char *p, *colon, *slash, *port;
	size_t hp_len, port_len;
	unsigned long port_num;

	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		goto bad;
	p = url + sizeof(scheme) - 1;
	if (!(slash = strchr(p, '/')))
		goto bad;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(slash - p));

		if (!close || close == p + 1 || close[1] != ':')
			goto bad;
		for (const char *c = p + 1; c < close; c++)
			if (!strchr("0123456789abcdefABCDEF:.", *c))
				goto bad;
		colon = close + 1;
	} else {
		if (!(colon = memchr(p, ':', (size_t)(slash - p))) || colon == p)
			goto bad;
		for (const char *c = p; c < colon; c++)
			if (!strchr(
				"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-",
				*c))
				goto bad;
	}
	port = colon + 1;
	port_len = (size_t)(slash - port);
	if (port_len == 0 || port_len > 5 || strspn(port, "0123456789") != port_len)
		goto bad;
	port_num = strtoul(port, NULL, 10);
	if (port_num == 0 || port_num > 65535)
		goto bad;
	hp_len = (size_t)(slash - p);
	if (hp_len > VAULT_HOSTPORT_MAX || !repo_name_ok(slash + 1, strlen(slash + 1)))
		goto bad;
	memcpy(hostport, p, hp_len);
	hostport[hp_len] = '\0';
	snprintf(repo, VAULT_REPO_NAME_MAX + 1, "%s", slash + 1);
	return 0;
bad:
	return kura_error_set(KURA_EINVAL,
			      "\"%.200s\" is not a vault location: want vault://HOST:PORT/REPO "
			      "(HOST a name or address, [IPv6] in brackets; REPO lowercase "
			      "letters, digits, '.', '_', '-')",
			      url);
}

/* Read the credential file: a regular file of at most 64 KiB. */
static int read_credential(const char *path, char **out, size_t *out_len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, err = 0;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted at the path must not hang us before fstat */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return kura_error_errno(errno == ENOENT ? KURA_ENOTFOUND : KURA_EIO, errno,
					"vault credential %s", path);
	if (fstat(fd, &st) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "vault credential %s: fstat", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		err = kura_error_set(KURA_EINVAL, "vault credential %s: not a regular file", path);
		goto done;
	}
	if (st.st_size > VAULT_CREDENTIAL_MAX) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s: %lld bytes, more than a credential's %d",
				     path, (long long)st.st_size, VAULT_CREDENTIAL_MAX);
		goto done;
	}
	if (!(buf = malloc(VAULT_CREDENTIAL_MAX + 1))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, VAULT_CREDENTIAL_MAX + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = kura_error_errno(KURA_EIO, errno, "vault credential %s: read", path);
			goto done;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > VAULT_CREDENTIAL_MAX) {
			err = kura_error_set(KURA_EINVAL, "vault credential %s: grew past %d bytes",
					     path, VAULT_CREDENTIAL_MAX);
			goto done;
		}
	}
	*out = buf;
	*out_len = got;
	buf = NULL;

done:
	if (buf) {
		kura_wipe(buf, VAULT_CREDENTIAL_MAX + 1);
		free(buf);
	}
	close(fd);
	return err;
}

static bool token_ok(const char *t)
{
	size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

	return n == VAULT_TOKEN_LEN && t[n] == '\0';
}

/* "sha256//" and the base64 of 32 bytes (44 characters with one '='). */
static bool pin_ok(const char *p)
{
	size_t n;

	if (strncmp(p, "sha256//", 8) != 0)
		return false;
	p += 8;
	n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
	return n == 43 && strcmp(p + n, "=") == 0;
}

static const char *cred_string(json_t *root, const char *key)
{
	return json_string_value(json_object_get(root, key));
}

/*
 * Read a credential file and check it is one this kura understands:
 * *out_root is its JSON object.  Release with credential_release().
 */
static int credential_parse(json_t **out_root, char **out_text, const char *path)
{
	json_error_t jerr;
	json_t *root, *version;
	size_t len = 0;
	int err;

	*out_root = NULL;
	if ((err = read_credential(path, out_text, &len)) < 0)
		return err;
	root = json_loadb(*out_text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s: not a JSON object (line %d: %s)", path,
				     jerr.line, root ? "another JSON value" : jerr.text);
		json_decref(root);
		return err;
	}
	*out_root = root;
	version = json_object_get(root, "kura_vault_credential");
	if (!json_is_integer(version) || json_integer_value(version) != 1)
		return kura_error_set(KURA_EINVAL,
				      "vault credential %s: \"kura_vault_credential\" is not 1 (not "
				      "a kura vault credential, or a version this kura does not "
				      "know)",
				      path);
	return 0;
}

/* Keep the pin and the token's Authorization header in vb. */
static int credential_use(vault_backend *vb, const char *pin, const char *token)
{
	size_t auth_len = sizeof("Authorization: Bearer ") + VAULT_TOKEN_LEN;
	char *auth;
	int err = 0;

	if (!(vb->pin = strdup(pin)) || !(auth = malloc(auth_len)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	snprintf(auth, auth_len, "Authorization: Bearer %s", token);
	if (!(vb->headers = curl_slist_append(NULL, auth)))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	kura_wipe(auth, auth_len);
	free(auth);
	return err;
}

/*
 * Free what credential_parse() made.  jansson keeps its own copy of the
 * token in a malloc'd string; wipe it before it is freed (writing through
 * the const view is fine: the bytes are jansson's heap memory).
 */
static void credential_release(json_t *root, char *text)
{
	const char *token = root ? cred_string(root, "token") : NULL;

	if (token)
		kura_wipe((char *)token, strlen(token));
	json_decref(root);
	if (text) {
		kura_wipe(text, VAULT_CREDENTIAL_MAX + 1);
		free(text);
	}
}

/*
 * Parse and check the credential against the location; fills vb->pin and
 * vb->headers.  Unknown members are ignored (a later kurad may add some);
 * the version number says when the meaning of the file changes.
 */
int vault_cred_load(vault_backend *vb, const char *path, const char *hostport,
			   const char *repo)
{
	json_t *root = NULL;
	char *text = NULL;
	const char *vault, *crepo, *role, *token, *pin;
	int err;

	if ((err = credential_parse(&root, &text, path)) < 0)
		goto done;
	vault = cred_string(root, "vault");
	crepo = cred_string(root, "repo");
	role = cred_string(root, "role");
	token = cred_string(root, "token");
	pin = cred_string(root, "pin");
	if (!vault || !crepo || !role || !token || !pin || !cred_string(root, "client")) {
		err = kura_error_set(
		    KURA_EINVAL,
		    "vault credential %s: \"vault\", \"repo\", \"client\", \"role\", "
		    "\"token\" and \"pin\" must all be strings",
		    path);
		goto done;
	}
	if (strcmp(vault, hostport) != 0) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s is for the vault at %.300s, not %s (%s)",
				     path, vault, hostport, vb->location);
		goto done;
	}
	if (strcmp(crepo, repo) != 0) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s is for repository \"%.80s\", not \"%s\" "
				     "(%s)",
				     path, crepo, repo, vb->location);
		goto done;
	}
	if (strcmp(role, "writer") != 0 && strcmp(role, "reader") != 0) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s has role \"%.40s\": a repository is used "
				     "with a writer or reader credential",
				     path, role);
		goto done;
	}
	if (!token_ok(token)) {
		err = kura_error_set(
		    KURA_EINVAL, "vault credential %s: the token is not 43 base64url characters",
		    path);
		goto done;
	}
	if (!pin_ok(pin)) {
		err = kura_error_set(
		    KURA_EINVAL,
		    "vault credential %s: the pin is not \"sha256//\" and the base64 "
		    "of a SHA-256",
		    path);
		goto done;
	}
	vb->access = strcmp(role, "writer") == 0 ? KURA_BACKEND_WRITE : KURA_BACKEND_READ;
	err = credential_use(vb, pin, token);
done:
	credential_release(root, text);
	return err;
}


/*
 * Read a credential for a request that names no repository (an auditor's)
 * into vb: the location "vault://HOST:PORT", the pin and the token header.
 * The role is the vault's business: a writer asking for the log gets the
 * vault's 403, which says more than a refusal here would.  When
 * `signing_key` is not NULL the credential's "signing_key" is decoded into
 * it (KURA_ENOTFOUND if the credential has none).
 */
int vault_cred_load_auditor(vault_backend *vb, const char *path,
				 uint8_t signing_key[KURA_VAULT_SIGNING_KEY_SIZE])
{
	char hostport[VAULT_HOSTPORT_MAX + 1], repo[VAULT_REPO_NAME_MAX + 1], *text = NULL, *probe = NULL;
	const char *vault, *token, *pin, *sk;
	json_t *root = NULL;
	size_t sk_len;
	int err;

	if ((err = credential_parse(&root, &text, path)) < 0)
		goto done;
	vault = cred_string(root, "vault");
	token = cred_string(root, "token");
	pin = cred_string(root, "pin");
	if (!vault || !token || !pin) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s: \"vault\", \"token\" and \"pin\" must all "
				     "be strings",
				     path);
		goto done;
	}
	/* the address rules of a location, with a placeholder repository */
	if (asprintf(&probe, "vault://%.300s/audit", vault) < 0) {
		probe = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (vault_cred_parse_location(probe, hostport, repo) < 0) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s: \"%.300s\" is not a vault address "
				     "(HOST:PORT)",
				     path, vault);
		goto done;
	}
	if (!token_ok(token) || !pin_ok(pin)) {
		err = kura_error_set(KURA_EINVAL,
				     "vault credential %s: the token is not 43 base64url characters, "
				     "or the pin is not \"sha256//\" and the base64 of a SHA-256",
				     path);
		goto done;
	}
	if (signing_key) {
		if (!(sk = cred_string(root, "signing_key"))) {
			err = kura_error_set(KURA_ENOTFOUND,
					     "vault credential %s has no \"signing_key\" (issued "
					     "by an older kurad: issue a new one with 'kurad "
					     "client add')",
					     path);
			goto done;
		}
		if (sodium_base642bin(signing_key, KURA_VAULT_SIGNING_KEY_SIZE, sk, strlen(sk),
				      NULL, &sk_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    sk_len != KURA_VAULT_SIGNING_KEY_SIZE) {
			err = kura_error_set(KURA_EINVAL,
					     "vault credential %s: \"signing_key\" is not the "
					     "base64 of a %d-byte Ed25519 public key",
					     path, KURA_VAULT_SIGNING_KEY_SIZE);
			goto done;
		}
	}
	if (asprintf(&vb->location, "vault://%s", hostport) < 0) {
		vb->location = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (asprintf(&vb->base, "https://%s/v1/", hostport) < 0) {
		vb->base = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	err = credential_use(vb, pin, token);
done:
	credential_release(root, text);
	free(probe);
	return err;
}
