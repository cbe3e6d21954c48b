/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls.h - the vault's TLS identity (docs/PROTOCOL.md, "Transport"): an
 * ECDSA P-256 key with a self-signed certificate made by `kurad init`, and
 * the pin a client checks instead of trusting a certificate authority.
 */
#ifndef KURA_SERVER_TLS_H
#define KURA_SERVER_TLS_H

/*
 * Make a new ECDSA P-256 key and a self-signed X.509v3 certificate for it
 * (CN=kurad; subjectAltName IP:127.0.0.1, IP:::1, DNS:localhost; valid ten
 * years; SHA-256 signature; random serial).  The key is written as
 * unencrypted PEM to `key_path` with mode 0600, the certificate as PEM to
 * `cert_path` (mode 0644); neither file may exist (KURA_EEXISTS).
 */
int tls_create(const char *cert_path, const char *key_path);

/*
 * The pin of a PEM certificate: "sha256//" followed by the base64 of the
 * SHA-256 of its DER SubjectPublicKeyInfo, which is curl's
 * CURLOPT_PINNEDPUBLICKEY format.  *out_pin is malloc'd, owned by the
 * caller.  KURA_EINVAL if the text holds no certificate.
 */
int tls_pin(const char *cert_pem, char **out_pin);

#endif
