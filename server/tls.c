/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls.c - making the vault's TLS key and self-signed certificate, and
 * computing the pin clients check (OpenSSL 3).
 *
 * No certificate authority is involved: a client trusts the vault because
 * the SHA-256 of the certificate's public key matches the pin in its
 * credential file.  The certificate's names and dates therefore matter
 * only to tools that look at them; the key is what is pinned, so an
 * operator may renew the certificate over the same key without reissuing
 * credentials.
 *
 * Files are created with O_EXCL: an existing identity is never replaced
 * by accident.  The key is written with mode 0600 from the start (never
 * chmod'ed afterwards, so there is no moment it is readable by others).
 */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"

#define CERT_DAYS 3652	/* ten years, leap days included */
#define SERIAL_BITS 159 /* positive and at most 20 bytes (RFC 5280) */

/* Record OpenSSL's most recent error behind `what`. */
static int ossl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char msg[256];

	ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	return kura_error_set(KURA_ERROR, "%s: %s", what, e ? msg : "unknown OpenSSL error");
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (!ext)
		return ossl_error("certificate extension");
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : ossl_error("certificate extension");
}

/* A self-signed certificate for `pkey`. */
static int make_cert(X509 **out, EVP_PKEY *pkey)
{
	X509 *x = NULL;
	BIGNUM *bn = NULL;
	X509_NAME *name;
	X509V3_CTX ctx;
	int err = 0;

	if (!(x = X509_new()) || !(bn = BN_new())) {
		err = kura_error_set(KURA_ENOMEM, "certificate: out of memory");
		goto done;
	}
	if (!X509_set_version(x, 2) ||
	    !BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL) ||
	    !X509_set_pubkey(x, pkey)) {
		err = ossl_error("certificate");
		goto done;
	}
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"kurad",
					-1, -1, 0) ||
	    !X509_set_issuer_name(x, name)) {
		err = ossl_error("certificate name");
		goto done;
	}
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((err = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE")) < 0 ||
	    (err = add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature")) < 0 ||
	    (err = add_ext(x, &ctx, NID_ext_key_usage, "serverAuth")) < 0 ||
	    (err = add_ext(x, &ctx, NID_subject_key_identifier, "hash")) < 0 ||
	    (err = add_ext(x, &ctx, NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost")) < 0)
		goto done;
	if (!X509_sign(x, pkey, EVP_sha256())) {
		err = ossl_error("signing the certificate");
		goto done;
	}
	*out = x;
	x = NULL;
done:
	X509_free(x);
	BN_free(bn);
	return err;
}

/*
 * Write a PEM object to a new file of mode `mode`, fsynced.  `key` selects
 * what is written.  A partly written file is removed.
 */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
	FILE *f = NULL;
	int fd, err = 0, ok;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return kura_error_errno(errno == EEXIST ? KURA_EEXISTS : KURA_EIO, errno,
					"%s: cannot create", path);
	if (!(f = fdopen(fd, "w"))) {
		err = kura_error_errno(KURA_EIO, errno, "%s", path);
		close(fd);
		goto done;
	}
	ok =
	    key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, cert);
	if (!ok) {
		err = ossl_error(path);
		goto done;
	}
	if (fflush(f) == EOF || fsync(fileno(f)) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s: cannot write", path);
		goto done;
	}
done:
	if (f && fclose(f) == EOF && err == 0)
		err = kura_error_errno(KURA_EIO, errno, "%s: cannot write", path);
	if (err < 0 && f)
		unlink(path);
	return err;
}

int tls_create(const char *cert_path, const char *key_path)
{
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	int err;

	if ((err = kura_crypto_init()) < 0)
		return err;
	if (!(pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"))) {
		err = ossl_error("making the TLS key");
		goto done;
	}
	if ((err = make_cert(&cert, pkey)) < 0)
		goto done;
	if ((err = write_pem(key_path, 0600, pkey, NULL)) < 0)
		goto done;
	if ((err = write_pem(cert_path, 0644, NULL, cert)) < 0) {
		unlink(key_path);
		goto done;
	}
done:
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return err;
}

int tls_pin(const char *cert_pem, char **out_pin)
{
	static const char prefix[] = "sha256//";
	BIO *bio = NULL;
	X509 *cert = NULL;
	unsigned char *der = NULL;
	uint8_t digest[KURA_HASH_SIZE];
	size_t b64len = KURA_BASE64_SIZE(KURA_HASH_SIZE);
	char *pin = NULL;
	int len, err = 0;

	*out_pin = NULL;
	if ((err = kura_crypto_init()) < 0)
		return err;
	if (!(bio = BIO_new_mem_buf(cert_pem, -1))) {
		err = kura_error_set(KURA_ENOMEM, "certificate: out of memory");
		goto done;
	}
	if (!(cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		ERR_clear_error();
		err = kura_error_set(KURA_EINVAL, "no PEM certificate found");
		goto done;
	}
	if ((len = i2d_PUBKEY(X509_get0_pubkey(cert), &der)) <= 0) {
		err = ossl_error("certificate public key");
		goto done;
	}
	kura_sha256(digest, der, (size_t)len);
	if (!(pin = malloc(sizeof(prefix) - 1 + b64len))) {
		err = kura_error_set(KURA_ENOMEM, "pin: out of memory");
		goto done;
	}
	memcpy(pin, prefix, sizeof(prefix) - 1);
	kura_base64(pin + sizeof(prefix) - 1, digest, sizeof(digest));
	*out_pin = pin;
done:
	OPENSSL_free(der);
	X509_free(cert);
	BIO_free(bio);
	return err;
}
