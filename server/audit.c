/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.c - the vault's tamper-evident audit log (docs/PROTOCOL.md,
 * "Audit log").
 *
 * DIR/audit/log.jsonl holds one JSON object per line.  An entry records one
 * request; its members come in a fixed order and the line is jansson's
 * compact output, so the bytes that are hashed are exactly the bytes on
 * disk:
 *
 *	{"seq":S,"time":…,"peer":…,"client":…,"role":…,"method":…,"path":…,
 *	 "status":N,"bytes":N,"prev":"<hex>","hash":"<hex>"}
 *
 *	hash = SHA-256(prev as 32 raw bytes || the line up to "prev"'s value, closed by '}')
 *
 * that is, the line with its final `,"hash":"…"` member removed.  Entries
 * are numbered from 0; the first one's prev is 32 zero bytes, every other
 * one's is the hash of the entry before it.  A summary of refusals (gate.c)
 * has three more members between "bytes" and "prev": "count", "first"
 * and "last"; it is hashed the same way.  After every 64 entries, and
 * when the log is closed with entries not yet covered, a checkpoint line
 *
 *	{"seq":N,"checkpoint":"<hex of entry N-1's hash>","sig":"<base64>"}
 *
 * is appended, where N is the number of entries so far (checkpoints take no
 * number of their own) and sig is the Ed25519 signature (libsodium
 * crypto_sign_detached) by DIR/signing.key over the 32 raw hash bytes.
 *
 * What this gives: an entry edited, removed or moved breaks its own hash
 * or the next entry's link, and a rewrite of the chain from some point on
 * is caught by the first signed checkpoint after that point, since only
 * the signing key's holder can sign a new one.  Entries after the last
 * checkpoint can be cut off unnoticed; the verifier says how many there
 * are.  Cutting back to a checkpoint is caught by the signed head kurad
 * keeps outside the log (DIR/audit/head, checked at open) and the one
 * every answer carries (audit_head; clients remember it: kura/loghead.h).
 * Root on the vault host holds the signing key, so the log is
 * tamper-evident against everyone else, not tamper-proof.
 *
 * Invariants: one writer per log (an exclusive flock held while open, so a
 * second `kurad serve` on the same directory is refused); every line is
 * written by one write() of the whole line and its newline, under the
 * mutex; every entry that changes or refuses something, and every
 * checkpoint, is then fdatasync'd before the request is answered.  A
 * successful read's entry is made durable by the next flush (the next
 * upload or refusal, checkpoint, an append more than a second later, or
 * the kernel's writeback): a restore makes thousands of reads, a disk
 * flush for each would dominate it, and a power cut that loses the last
 * read records loses no evidence of tampering.  A write that fails
 * part-way is cut back off, so the file always ends at a line boundary.
 * On open the last line must be intact (a valid entry or a correctly
 * signed checkpoint), else the log is refused: an operator must look at
 * it before anything is appended.
 */
#include "audit.h"
#include "kura/auditlog.h"
#include "kura/loghead.h"

#include <errno.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/utf8.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"

#define CHECKPOINT_EVERY 64
#define HASH_HEX (2 * KURA_HASH_SIZE + 1)
#define MAX_LINE (1 << 20)
#define SIG_B64 KURA_BASE64_SIZE(KURA_SIGNATURE_SIZE)

struct vault_audit {
	pthread_mutex_t lock;
	int fd;
	char *path;
	char *head_path; /* DIR/audit/head: the last head kurad recorded */
	uint8_t sk[KURA_SIGN_SECKEY_SIZE];
	uint64_t seq;		      /* the next entry's number */
	uint8_t prev[KURA_HASH_SIZE]; /* the last entry's hash */
	unsigned uncovered;	      /* entries since the last checkpoint */
	off_t size;		      /* where the file ends */
	time_t synced;		      /* when the file was last made durable */
};

void audit_time(char out[40], int64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	char date[24];

	gmtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%s.%09ldZ", date, (long)(ns % 1000000000));
}

static void time_now(char out[40])
{
	audit_time(out, kura_now_ns(CLOCK_REALTIME));
}

int audit_entry_hash(uint8_t out[KURA_HASH_SIZE], const uint8_t prev[KURA_HASH_SIZE],
		     const char *body, size_t len)
{
	kura_sha256_ctx *ctx = NULL;
	int err;

	if ((err = kura_sha256_new(&ctx)) < 0)
		return err;
	kura_sha256_update(ctx, prev, KURA_HASH_SIZE);
	kura_sha256_update(ctx, body, len);
	kura_sha256_update(ctx, "}", 1);
	kura_sha256_final(ctx, out);
	kura_sha256_free(ctx);
	return 0;
}

/* Append one whole line (with its newline), durable now if `sync`. Lock held. */
static int write_line(vault_audit *a, const char *line, size_t len, bool sync)
{
	ssize_t n;

	n = write(a->fd, line, len);
	if (n != (ssize_t)len) {
		int e = n < 0 ? errno : ENOSPC;

		/* Cut a partial line off so the log still ends at a line boundary. */
		if (n > 0 && ftruncate(a->fd, a->size) < 0)
			return kura_error_errno(KURA_EIO, errno,
						"%s: short write, and cannot cut it off: the log's "
						"last line is broken",
						a->path);
		return kura_error_errno(KURA_EIO, e, "%s: cannot append", a->path);
	}
	a->size += (off_t)len;
	if (!sync && time(NULL) - a->synced < 1)
		return 0;
	if (fdatasync(a->fd) < 0)
		return kura_error_errno(KURA_EIO, errno, "%s: cannot sync", a->path);
	a->synced = time(NULL);
	return 0;
}

/* Dump `obj` compactly, members in insertion order; malloc'd. */
static char *dump(const json_t *obj)
{
	return json_dumps(obj, JSON_PRESERVE_ORDER | JSON_COMPACT);
}

/* The head as it is now, signed. Lock held. */
static void head_locked(vault_audit *a, kura_loghead *h)
{
	h->seq = a->seq;
	memcpy(h->hash, a->prev, sizeof(h->hash));
}

/* Record the head outside the log, for the check at the next start. Lock held. */
static int store_head_locked(vault_audit *a)
{
	kura_loghead h;

	head_locked(a, &h);
	kura_loghead_sign(&h, a->sk);
	return kura_loghead_store(a->head_path, &h);
}

void audit_head(vault_audit *a, char out[KURA_LOGHEAD_TEXT_MAX])
{
	kura_loghead h;

	pthread_mutex_lock(&a->lock);
	head_locked(a, &h);
	pthread_mutex_unlock(&a->lock);
	/* Signed outside the lock: ~20 µs that other requests need not wait for. */
	kura_loghead_sign(&h, a->sk);
	kura_loghead_format(&h, out);
}

/* Lock held. */
static int checkpoint_locked(vault_audit *a)
{
	uint8_t sig[KURA_SIGNATURE_SIZE];
	char hex[HASH_HEX], b64[SIG_B64];
	json_t *obj = NULL;
	char *text = NULL;
	kura_buf line = KURA_BUF_INIT;
	int err = 0;

	if (a->uncovered == 0)
		return 0;
	kura_sign(sig, a->prev, sizeof(a->prev), a->sk);
	kura_hex(hex, a->prev, sizeof(a->prev));
	kura_base64(b64, sig, sizeof(sig));
	obj =
	    json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)a->seq, "checkpoint", hex, "sig", b64);
	if (!obj || !(text = dump(obj))) {
		err = kura_error_set(KURA_ENOMEM, "audit checkpoint: out of memory");
		goto done;
	}
	if ((err = kura_buf_put(&line, text, strlen(text))) < 0 ||
	    (err = kura_buf_put_u8(&line, '\n')) < 0)
		goto done;
	if ((err = write_line(a, (const char *)line.data, line.len, true)) < 0)
		goto done;
	a->uncovered = 0;
	err = store_head_locked(a);
done:
	kura_buf_free(&line);
	free(text);
	json_decref(obj);
	return err;
}

int audit_checkpoint(vault_audit *a)
{
	int err;

	pthread_mutex_lock(&a->lock);
	err = checkpoint_locked(a);
	pthread_mutex_unlock(&a->lock);
	return err;
}

/* A JSON string for text that may be any bytes (a path from the network). */
static json_t *safe_string(const char *s)
{
	char *clean;
	json_t *j;

	if (!s)
		s = "";
	if (kura_utf8_valid(s, strlen(s)))
		return json_string(s);
	if (!(clean = kura_utf8_sanitize(s)))
		return NULL;
	j = json_string(clean);
	free(clean);
	return j;
}

int audit_append(vault_audit *a, const vault_audit_entry *e)
{
	char now[40], prev_hex[HASH_HEX], hash_hex[HASH_HEX];
	uint8_t hash[KURA_HASH_SIZE];
	json_t *obj = NULL;
	char *text = NULL;
	kura_buf line = KURA_BUF_INIT;
	bool locked = false;
	int err = 0;

	time_now(now);
	pthread_mutex_lock(&a->lock);
	locked = true;
	kura_hex(prev_hex, a->prev, sizeof(a->prev));
	obj = json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:i, s:I}", "seq",
			(json_int_t)a->seq, "time", now, "peer", safe_string(e->peer), "client",
			safe_string(e->client), "role", safe_string(e->role), "method",
			safe_string(e->method), "path", safe_string(e->path), "status", e->status,
			"bytes", (json_int_t)(e->bytes > INT64_MAX ? INT64_MAX : e->bytes));
	/* A refusal summary: its members come before "prev", still in a fixed order. */
	if (obj && e->count > 0 &&
	    (json_object_set_new(obj, "count",
				 json_integer((json_int_t)(e->count > INT64_MAX ? INT64_MAX
										: e->count))) < 0 ||
	     json_object_set_new(obj, "first", safe_string(e->first)) < 0 ||
	     json_object_set_new(obj, "last", safe_string(e->last)) < 0)) {
		json_decref(obj);
		obj = NULL;
	}
	if (obj && json_object_set_new(obj, "prev", json_string(prev_hex)) < 0) {
		json_decref(obj);
		obj = NULL;
	}
	if (!obj || !(text = dump(obj))) {
		err = kura_error_set(KURA_ENOMEM, "audit entry: out of memory");
		goto done;
	}
	/* The line is that text with the hash member added before its '}'. */
	if ((err = audit_entry_hash(hash, a->prev, text, strlen(text) - 1)) < 0)
		goto done;
	kura_hex(hash_hex, hash, sizeof(hash));
	if ((err = kura_buf_put(&line, text, strlen(text) - 1)) < 0 ||
	    (err = kura_buf_put(&line, ",\"hash\":\"", 9)) < 0 ||
	    (err = kura_buf_put(&line, hash_hex, 64)) < 0 ||
	    (err = kura_buf_put(&line, "\"}\n", 3)) < 0)
		goto done;
	/* reads that succeeded may wait for the next sync (see the top of the file) */
	if ((err = write_line(a, (const char *)line.data, line.len,
			      !(e->method && strcmp(e->method, "GET") == 0 && e->status < 400))) < 0)
		goto done;
	memcpy(a->prev, hash, sizeof(hash));
	a->seq++;
	if (++a->uncovered >= CHECKPOINT_EVERY)
		err = checkpoint_locked(a);
done:
	if (locked)
		pthread_mutex_unlock(&a->lock);
	kura_buf_free(&line);
	free(text);
	json_decref(obj);
	return err;
}

/* ------------------------------------------------------------------ */
/* Reading lines back                                                  */

/*
 * The last line of a log of `size` bytes that ends in a newline, without
 * reading the whole log: a window from the end that doubles until it holds
 * a whole line.  *out is malloc'd and NUL-terminated, without the newline.
 */
static int read_last_line(const char *path, int fd, off_t size, char **out, size_t *out_len)
{
	size_t win = 4096, total = (size_t)size;
	char *buf = NULL, *nl;
	ssize_t n;
	int err = 0;

	for (;;) {
		if (win > total)
			win = total;
		free(buf);
		if (!(buf = malloc(win + 1))) {
			err = kura_error_set(KURA_ENOMEM, "%s: out of memory", path);
			goto done;
		}
		n = pread(fd, buf, win, size - (off_t)win);
		if (n != (ssize_t)win) {
			err = kura_error_errno(KURA_EIO, n < 0 ? errno : EIO, "%s: cannot read",
					       path);
			goto done;
		}
		nl = win > 1 ? memrchr(buf, '\n', win - 1) : NULL;
		if (nl || win == total) {
			size_t start = nl ? (size_t)(nl - buf) + 1 : 0;

			*out_len = win - 1 - start;
			memmove(buf, buf + start, *out_len);
			buf[*out_len] = '\0';
			*out = buf;
			buf = NULL;
			goto done;
		}
		if (win >= MAX_LINE) {
			err = kura_error_set(KURA_ECORRUPT, "%s: last line longer than %d bytes",
					     path, MAX_LINE);
			goto done;
		}
		win *= 2;
	}
done:
	free(buf);
	return err;
}

/* Continue the chain from the log's last line; refuse a broken tail. */
static int load_tail(vault_audit *a)
{
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE];
	kura_auditlog_line p;
	const char *why = NULL;
	char last = 0, *line = NULL;
	size_t len = 0;
	int err = 0;

	if (a->size == 0)
		return 0;
	if (pread(a->fd, &last, 1, a->size - 1) != 1) {
		err = kura_error_errno(KURA_EIO, errno, "%s: cannot read", a->path);
		goto done;
	}
	if (last != '\n') {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: ends in a partial line (a crash during a write, or an "
				     "edit): check it with `kurad log verify` before serving",
				     a->path);
		goto done;
	}
	if ((err = read_last_line(a->path, a->fd, a->size, &line, &len)) < 0)
		goto done;
	if (kura_auditlog_parse_line(&p, line, len, &why) < 0) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: last line: %s; check it with `kurad log verify` before "
				     "serving",
				     a->path, why);
		goto done;
	}
	if (p.checkpoint) {
		kura_sign_public_key(pk, a->sk);
		if (!kura_auditlog_sig_is_valid(&p, pk)) {
			err = kura_error_set(KURA_ECORRUPT,
					     "%s: last line: checkpoint signature does not verify; "
					     "check it with `kurad log verify` before serving",
					     a->path);
			goto done;
		}
		a->seq = p.seq;
		memcpy(a->prev, p.hash, sizeof(a->prev));
		a->uncovered = 0;
	} else {
		bool intact;

		/* out of memory reads as damage here, as it always did: serve refuses to start */
		if (kura_auditlog_entry_verify(&intact, &p, line, len) < 0 || !intact ||
		    p.seq == UINT64_MAX) {
			err =
			    kura_error_set(KURA_ECORRUPT,
					   "%s: last line: entry %" PRIu64 " does not match its "
					   "hash; check it with `kurad log verify` before serving",
					   a->path, p.seq);
			goto done;
		}
		a->seq = p.seq + 1;
		memcpy(a->prev, p.hash, sizeof(a->prev));
		/* Unknown how many came before without a checkpoint: make sure one follows. */
		a->uncovered = 1;
	}
done:
	free(line);
	return err;
}

/*
 * Refuse a log that no longer holds the head kurad recorded last (cut
 * back, emptied, or an older copy put in its place), unless the operator
 * says so; then the rollback is the next entry.  Lock not needed yet.
 */
static int check_head(vault_audit *a, bool accept_rollback)
{
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE];
	char recorded[64 + HASH_HEX], path[64 + HASH_HEX], hex[HASH_HEX];
	const char *why = "the log does not reach that entry: it is shorter";
	vault_audit_entry e = {.peer = "local",
			       .client = "kurad",
			       .role = "vault",
			       .method = "ACCEPT-LOG-ROLLBACK",
			       .path = path,
			       .status = 200};
	kura_loghead h;
	void *map;
	bool found;
	int err;

	kura_sign_public_key(pk, a->sk);
	err = kura_loghead_load(&h, a->head_path);
	if (err == KURA_ENOTFOUND && a->size == 0)
		return 0; /* a new vault */
	if (err == KURA_ENOTFOUND) {
		why = "the head file is missing and the log is not empty";
		snprintf(recorded, sizeof(recorded), "none");
		snprintf(path, sizeof(path), "/v1/log/head/none");
	} else if (err < 0) {
		return err;
	} else if (!kura_loghead_verify(&h, pk)) {
		return kura_error_set(KURA_ECORRUPT,
				      "%s: its signature does not verify under DIR/signing.pub",
				      a->head_path);
	} else {
		if (h.seq == a->seq && memcmp(h.hash, a->prev, sizeof(h.hash)) == 0)
			return 0; /* the usual case: nothing since, or nothing cut */
		if (h.seq == a->seq)
			why = "the log's last entry has another hash";
		if (h.seq < a->seq) {
			map = mmap(NULL, (size_t)a->size, PROT_READ, MAP_PRIVATE, a->fd, 0);
			if (map == MAP_FAILED)
				return kura_error_errno(KURA_EIO, errno, "%s: cannot map", a->path);
			err = kura_loghead_find(&found, &h, map, (size_t)a->size, &why);
			munmap(map, (size_t)a->size);
			if (err < 0 || found)
				return err;
		}
		kura_hex(hex, h.hash, sizeof(h.hash));
		snprintf(recorded, sizeof(recorded), "%" PRIu64 " entries, the last %.16s…",
			 h.seq, hex);
		snprintf(path, sizeof(path), "/v1/log/head/%" PRIu64 "/%s", h.seq, hex);
	}
	if (!accept_rollback)
		return kura_error_set(KURA_EDENIED,
				      "%s has %" PRIu64 " entries, but the head kurad recorded "
				      "last in %s is %s (%s): the log was cut back or replaced by "
				      "an older copy.  Refusing to serve.  If the disk was "
				      "restored from a backup, start once with `kurad serve "
				      "--accept-log-rollback` (logged)",
				      a->path, a->seq, a->head_path, recorded, why);
	/* The lost head goes into the log, so the rollback stays on record. */
	return audit_append(a, &e);
}

int audit_open(vault_audit **out, const char *vault_dir, const uint8_t signing_sk[64],
	       bool accept_rollback)
{
	vault_audit *a = NULL;
	struct stat st;
	int err = 0;

	*out = NULL;
	if ((err = kura_crypto_init()) < 0)
		return err;
	if (!(a = calloc(1, sizeof(*a))) ||
	    asprintf(&a->path, "%s/audit/log.jsonl", vault_dir) < 0 ||
	    asprintf(&a->head_path, "%s/audit/head", vault_dir) < 0) {
		if (a)
			a->path = a->head_path = NULL;
		err = kura_error_set(KURA_ENOMEM, "audit log: out of memory");
		goto done;
	}
	a->fd = -1;
	pthread_mutex_init(&a->lock, NULL);
	memcpy(a->sk, signing_sk, sizeof(a->sk));
	a->fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s: cannot open", a->path);
		goto done;
	}
	if (flock(a->fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK
			  ? kura_error_set(KURA_EDENIED, "%s: in use by another kurad process",
					   a->path)
			  : kura_error_errno(KURA_EIO, errno, "%s: cannot lock", a->path);
		goto done;
	}
	if (fstat(a->fd, &st) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s", a->path);
		goto done;
	}
	a->size = st.st_size;
	if ((err = load_tail(a)) < 0 || (err = check_head(a, accept_rollback)) < 0)
		goto done;
	pthread_mutex_lock(&a->lock);
	err = store_head_locked(a);
	pthread_mutex_unlock(&a->lock);
	if (err < 0)
		goto done;
	*out = a;
	a = NULL;
done:
	if (a) {
		if (a->fd >= 0)
			close(a->fd);
		pthread_mutex_destroy(&a->lock);
		kura_wipe(a->sk, sizeof(a->sk));
		free(a->path);
		free(a->head_path);
		free(a);
	}
	return err;
}

void audit_close(vault_audit *a)
{
	if (!a)
		return;
	/* Nothing to report to here: a failed final checkpoint shows in verify. */
	audit_checkpoint(a);
	close(a->fd);
	pthread_mutex_destroy(&a->lock);
	kura_wipe(a->sk, sizeof(a->sk));
	free(a->path);
	free(a->head_path);
	free(a);
}

/* ------------------------------------------------------------------ */
/* Verification                                                        */

typedef struct {
	FILE *report;
	const char *path;
	uint64_t problems;
} verifier;

static void problem(verifier *v, uint64_t lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(verifier *v, uint64_t lineno, const char *fmt, ...)
{
	va_list ap;

	v->problems++;
	if (!v->report)
		return;
	fprintf(v->report, "%s: line %" PRIu64 ": ", v->path, lineno);
	va_start(ap, fmt);
	vfprintf(v->report, fmt, ap);
	va_end(ap);
	fputc('\n', v->report);
}

static int read_pub(const char *vault_dir, uint8_t pk[KURA_SIGN_PUBKEY_SIZE])
{
	char *path = NULL;
	FILE *f = NULL;
	int err = 0;
	char extra;

	if (asprintf(&path, "%s/signing.pub", vault_dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if (!(f = fopen(path, "rb"))) {
		err = kura_error_errno(errno == ENOENT ? KURA_ENOTFOUND : KURA_EIO, errno, "%s",
				       path);
		goto done;
	}
	if (fread(pk, 1, KURA_SIGN_PUBKEY_SIZE, f) != KURA_SIGN_PUBKEY_SIZE ||
	    fread(&extra, 1, 1, f) != 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: not a %d-byte Ed25519 public key", path,
				     KURA_SIGN_PUBKEY_SIZE);
		goto done;
	}
done:
	if (f)
		fclose(f);
	free(path);
	return err;
}

static void report_problem(uint64_t line, const char *message, void *ctx)
{
	verifier *v = ctx;

	problem(v, line, "%s", message);
}

/* The chain and signature rules live in lib/repo/auditlog.c, shared with `kura log verify`. */
int audit_verify(const char *vault_dir, FILE *report)
{
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE];
	verifier v = {report, NULL, 0};
	kura_auditlog_summary sum;
	struct stat st;
	char *path = NULL;
	void *map = NULL;
	int fd = -1, err = 0;

	if ((err = kura_crypto_init()) < 0)
		return err;
	if ((err = read_pub(vault_dir, pk)) < 0)
		return err;
	if (asprintf(&path, "%s/audit/log.jsonl", vault_dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	v.path = path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		err = errno == ENOENT ? kura_error_set(KURA_ECORRUPT, "%s: missing", path)
				      : kura_error_errno(KURA_EIO, errno, "%s", path);
		goto done;
	}
	if (fstat(fd, &st) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "%s", path);
		goto done;
	}
	if (st.st_size > 0 &&
	    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		map = NULL;
		err = kura_error_errno(KURA_EIO, errno, "%s: cannot map", path);
		goto done;
	}
	err = kura_auditlog_verify(&sum, map, (size_t)st.st_size, pk, report_problem, &v);
	if (err < 0 && err != KURA_ECORRUPT)
		goto done;
	if (report) {
		if (sum.uncovered)
			fprintf(report,
				"%s: lines %" PRIu64 "-%" PRIu64 ": %" PRIu64 " entr%s not yet "
				"covered by a signed checkpoint (a truncation there would not be "
				"detected)\n",
				path, sum.first_uncovered, sum.lines, sum.uncovered,
				sum.uncovered == 1 ? "y" : "ies");
		fprintf(report, "%s: %" PRIu64 " entr%s, %" PRIu64 " checkpoint%s, %s\n", path,
			sum.entries, sum.entries == 1 ? "y" : "ies", sum.checkpoints,
			sum.checkpoints == 1 ? "" : "s", v.problems ? "PROBLEMS FOUND" : "intact");
	}
	err = 0;
	if (v.problems)
		err = kura_error_set(KURA_ECORRUPT, "%s: %" PRIu64 " problem%s found", path,
				     v.problems, v.problems == 1 ? "" : "s");
done:
	if (map)
		munmap(map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	free(path);
	return err;
}

int audit_local(vault_audit *a, const char *client, const char *role, const char *method,
		const char *path, int status, uint64_t bytes)
{
	vault_audit_entry e = {
	    .peer = "local",
	    .client = client,
	    .role = role,
	    .method = method,
	    .path = path,
	    .status = status,
	    .bytes = bytes,
	};

	return audit_append(a, &e);
}
