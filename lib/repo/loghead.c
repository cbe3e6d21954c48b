/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loghead.c - the signed head of a vault's audit log (kura/loghead.h,
 * docs/PROTOCOL.md "Log head").
 *
 * The audit log's checkpoints stop anyone without the signing key from
 * rewriting the chain, but not from cutting it back to an earlier
 * checkpoint or replacing it with an older copy: what was cut simply is
 * not there.  A head is the vault's signed statement "my log had SEQ
 * entries, the last one hashing to HASH".  Whoever keeps one (kurad in
 * DIR/audit/head, clients beside their cache) can later demand that the
 * log still holds that entry; one cut back or swapped no longer does.
 *
 * Everything parsed here comes from the network or from a file anyone
 * could have edited: strict shapes, fixed sizes, no trust in lengths.
 */
#include "kura/loghead.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/sign.h"
#include "kura/auditlog.h"
#include "kura/kura.h"
#include "repo/filecache.h"

#define DOMAIN "kura-log-head-v1"
#define DOMAIN_LEN (sizeof(DOMAIN) - 1)
#define SIG_B64_LEN 88 /* standard base64 of 64 bytes, with padding */

static void message(uint8_t out[DOMAIN_LEN + 8 + 32], const kura_loghead *h)
{
	memcpy(out, DOMAIN, DOMAIN_LEN);
	for (int i = 0; i < 8; i++)
		out[DOMAIN_LEN + i] = (uint8_t)(h->seq >> (56 - 8 * i));
	memcpy(out + DOMAIN_LEN + 8, h->hash, 32);
}

void kura_loghead_sign(kura_loghead *h, const uint8_t sk[64])
{
	uint8_t msg[DOMAIN_LEN + 8 + 32];

	message(msg, h);
	kura_sign(h->sig, msg, sizeof(msg), sk);
}

bool kura_loghead_verify(const kura_loghead *h, const uint8_t pk[32])
{
	uint8_t msg[DOMAIN_LEN + 8 + 32];

	message(msg, h);
	return kura_sign_verify(h->sig, msg, sizeof(msg), pk) == 0;
}

void kura_loghead_format(const kura_loghead *h, char out[KURA_LOGHEAD_TEXT_MAX])
{
	char hex[65], b64[KURA_BASE64_SIZE(64)];

	kura_hex(hex, h->hash, 32);
	kura_base64(b64, h->sig, 64);
	snprintf(out, KURA_LOGHEAD_TEXT_MAX, "%" PRIu64 " %s %s", h->seq, hex, b64);
}

int kura_loghead_parse(kura_loghead *h, const char *text, size_t len)
{
	char buf[KURA_LOGHEAD_TEXT_MAX], *sp1, *sp2;
	uint64_t seq = 0;
	size_t i, got = 0;

	if (!text || len == 0 || len >= sizeof(buf) || memchr(text, '\0', len))
		goto bad;
	memcpy(buf, text, len);
	buf[len] = '\0';
	/* SEQ: 1 to 20 decimal digits, no sign, no leading zero, no overflow. */
	for (i = 0; buf[i] >= '0' && buf[i] <= '9'; i++) {
		unsigned d = (unsigned)(buf[i] - '0');

		if (i >= 20 || (i > 0 && buf[0] == '0') || seq > (UINT64_MAX - d) / 10)
			goto bad;
		seq = seq * 10 + d;
	}
	if (i == 0 || buf[i] != ' ')
		goto bad;
	sp1 = buf + i;
	if (strlen(sp1 + 1) < 65 || sp1[65] != ' ')
		goto bad;
	sp1[65] = '\0';
	sp2 = sp1 + 66;
	if (kura_unhex(h->hash, sp1 + 1, 32) < 0 || strlen(sp2) != SIG_B64_LEN ||
	    sodium_base642bin(h->sig, 64, sp2, SIG_B64_LEN, NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != 64)
		goto bad;
	h->seq = seq;
	return 0;
bad:
	return kura_error_set(KURA_ECORRUPT, "log head is not \"SEQ HASH SIGNATURE\"");
}

int kura_loghead_load(kura_loghead *h, const char *path)
{
	char buf[KURA_LOGHEAD_TEXT_MAX + 1];
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? kura_error_set(KURA_ENOTFOUND, "%s: no log head", path)
				       : kura_error_errno(KURA_EIO, errno, "%s", path);
	n = read(fd, buf, sizeof(buf));
	if (n < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s", path);
		goto done;
	}
	if (n < 2 || buf[n - 1] != '\n' || kura_loghead_parse(h, buf, (size_t)n - 1) < 0)
		err = kura_error_set(KURA_ECORRUPT, "%s: not a log head (\"SEQ HASH SIGNATURE\")",
				     path);
done:
	close(fd);
	return err;
}

int kura_loghead_store(const char *path, const kura_loghead *h)
{
	char text[KURA_LOGHEAD_TEXT_MAX + 1], *tmp = NULL, *dir = NULL, *slash;
	size_t len;
	int fd = -1, err = 0;

	kura_loghead_format(h, text);
	len = strlen(text);
	text[len++] = '\n';
	if (asprintf(&tmp, "%s.%ld.tmp", path, (long)getpid()) < 0) {
		tmp = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s: cannot write", tmp);
		goto done;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s: cannot replace", path);
		goto done;
	}
	free(tmp);
	tmp = NULL;
	/* The rename itself must survive a power cut. */
	if ((dir = strdup(path)) && (slash = strrchr(dir, '/'))) {
		*slash = '\0';
		if ((fd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
			(void)fsync(fd);
	}
done:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	return err;
}

int kura_loghead_find(bool *out_found, const kura_loghead *h, const uint8_t *log, size_t len,
		      const char **why)
{
	static const uint8_t zero[32];
	const char *p = (const char *)log, *end = p + len;
	kura_auditlog_line line;
	const char *lwhy;

	*out_found = false;
	if (h->seq == 0) {
		*why = "the head names entry -1 with a hash that is not zero";
		*out_found = memcmp(h->hash, zero, 32) == 0;
		return 0;
	}
	/* Entries are numbered in order: the one wanted is the last entry line with its number. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (kura_auditlog_parse_line(&line, p, n, &lwhy) == 0 && !line.checkpoint &&
		    line.seq == h->seq - 1) {
			if (memcmp(line.hash, h->hash, 32) != 0) {
				*why = "the log's entry with that number has another hash";
				return 0;
			}
			*why = "the log's entry with that number does not match its hash";
			return kura_auditlog_entry_verify(out_found, &line, p, n);
		}
		p += n + 1;
	}
	*why = "the log does not reach that entry (it is shorter)";
	return 0;
}

kura_loghead_order kura_loghead_compare(const kura_loghead *seen, const kura_loghead *now)
{
	if (now->seq > seen->seq)
		return KURA_LOGHEAD_NEWER;
	if (now->seq < seen->seq)
		return KURA_LOGHEAD_OLDER;
	return memcmp(now->hash, seen->hash, 32) == 0 ? KURA_LOGHEAD_SAME : KURA_LOGHEAD_FORKED;
}

char *kura_loghead_client_path(const uint8_t pk[32])
{
	char *dir = kura_filecache_default_dir(), *out = NULL, hex[65];

	if (!dir)
		return NULL;
	kura_hex(hex, pk, 32);
	if (asprintf(&out, "%s/vault-heads/%s", dir, hex) < 0)
		out = NULL;
	free(dir);
	return out;
}

static kura_loghead_warning_fn warn_fn;
static void *warn_ctx;

void kura_loghead_set_warning(kura_loghead_warning_fn fn, void *ctx)
{
	warn_fn = fn;
	warn_ctx = ctx;
}

void kura_loghead_warn(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!warn_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn_fn(msg, warn_ctx);
}
