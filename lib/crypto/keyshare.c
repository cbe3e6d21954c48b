/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyshare.c - the restore key split among people: Shamir secret sharing
 * of the restore key's 128 secret bytes over libgfshare, and the share
 * text format of docs/FORMAT.md, "Key shares".
 *
 * A share is meant to be printed, kept in a safe and, on the worst day,
 * typed back in by a tired person.  So the text is line-oriented: a few
 * header lines, the share bytes in Crockford base32 (no I, L, O, U; read
 * back case-insensitively with O as 0 and I, L as 1) in lines of 32
 * characters, each with a CRC-16 over its line number and characters, so
 * a wrong, missing or swapped character is named by line before anything
 * is combined; and a SHA-256 sum over the whole share, which catches a
 * mistyped header.  Every share also carries a BLAKE2b check value of the
 * secret keyed with the repository id, so a combination that comes out
 * wrong (a forged share, a share of a lost split that kept its id) is
 * refused instead of written as a key that silently decrypts nothing.
 *
 * Invariants: buffers holding the secret or a share are locked in memory
 * where the system allows (sodium_mlock) and wiped before they are freed;
 * nothing is written unless the combined key authenticates again from the
 * very bytes written.
 */
#include "crypto/keyshare_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libgfshare.h>
#include <sodium.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fdio.h"

#define MAGIC_WORD "kura-key-share"
#define SHARE_VERSION 1
#define LINE_BYTES 20 /* 32 base32 characters */
#define DATA_LINES ((KURA_KEYSHARE_SECRET_LEN + LINE_BYTES - 1) / LINE_BYTES)
#define SUM_LEN 8
#define LINE_MAX_LEN 512
#define TEXT_SIZE 2048 /* a share text is about 900 bytes */

_Static_assert(KURA_KEYSHARE_SECRET_LEN == 128, "v1 shares split 128 bytes");
_Static_assert(DATA_LINES == 7, "v1 shares have 7 data lines");

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/*
 * libgfshare draws its polynomial coefficients through this global, and
 * gfshare_ctx_free() scrubs a context with it: set before any context is
 * made (always the same function, so setting it again is harmless).
 */
static void fill_random(unsigned char *buf, unsigned int len) { randombytes_buf(buf, len); }
static void gfshare_ready(void) { gfshare_fill_rand = fill_random; }

/* Best effort: a failed mlock (RLIMIT_MEMLOCK) leaves the buffer usable. */
static void lock_secret(void *p, size_t len) { (void)sodium_mlock(p, len); }
static void unlock_secret(void *p, size_t len) { (void)sodium_munlock(p, len); } /* zeroes */

/* -------------------------------------------------------------------- */
/* Checks                                                                */

static void secret_check(uint8_t out[KURA_KEYSHARE_CHECK_LEN], const uint8_t repo_id[32],
			 const uint8_t secret[KURA_KEYSHARE_SECRET_LEN])
{
	static const uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES] =
		"kura-keyshare-v1";

	crypto_generichash_blake2b_salt_personal(out, KURA_KEYSHARE_CHECK_LEN, secret,
						 KURA_KEYSHARE_SECRET_LEN, repo_id, 32, NULL,
						 personal);
}

/* SHA-256 over the share's fields (FORMAT.md), first 8 bytes. */
static void share_sum(uint8_t out[SUM_LEN], const kura_keyshare *s)
{
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];
	uint8_t nums[3] = {(uint8_t)s->index, (uint8_t)s->total, (uint8_t)s->threshold};

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)"kura-key-share 1", 16);
	crypto_hash_sha256_update(&st, s->repo_id, 32);
	crypto_hash_sha256_update(&st, s->split_id, sizeof(s->split_id));
	crypto_hash_sha256_update(&st, nums, 3);
	crypto_hash_sha256_update(&st, s->check, sizeof(s->check));
	crypto_hash_sha256_update(&st, s->data, sizeof(s->data));
	crypto_hash_sha256_final(&st, h);
	memcpy(out, h, SUM_LEN);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(h, sizeof(h));
}

/* CRC-16/CCITT-FALSE: catches every error within 16 consecutive bits. */
static uint16_t crc16(uint16_t crc, const uint8_t *p, size_t n)
{
	while (n--) {
		crc ^= (uint16_t)(*p++ << 8);
		for (int i = 0; i < 8; i++)
			crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

/* Over the line number and its characters in canonical form (uppercase). */
static uint16_t line_crc(unsigned line, const char *chars, size_t n)
{
	uint8_t no = (uint8_t)line;

	return crc16(crc16(0xFFFF, &no, 1), (const uint8_t *)chars, n);
}

static size_t line_bytes(unsigned line) /* line 1..DATA_LINES */
{
	size_t at = (size_t)(line - 1) * LINE_BYTES;

	return KURA_KEYSHARE_SECRET_LEN - at < LINE_BYTES ? KURA_KEYSHARE_SECRET_LEN - at
							   : LINE_BYTES;
}

static size_t b32_chars(size_t bytes) { return (bytes * 8 + 4) / 5; }

static size_t b32_encode(char *out, const uint8_t *in, size_t n)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
		acc &= (1u << bits) - 1;
	}
	if (bits)
		out[o++] = b32[(acc << (5 - bits)) & 31];
	acc = 0;
	return o;
}

/* The value of a typed character, -1 if it is none. */
static int b32_value(char c)
{
	const char *p;

	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c == 'O')
		c = '0';
	else if (c == 'I' || c == 'L')
		c = '1';
	if (!c || !(p = strchr(b32, c)))
		return -1;
	return (int)(p - b32);
}

/* -------------------------------------------------------------------- */
/* Writing a share                                                        */

static void put_hex_groups(char *out, size_t size, const uint8_t *p, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 6 < size; i++) {
		if (i && i % 2 == 0)
			out[o++] = ' ';
		o += (size_t)snprintf(out + o, size - o, "%02x", p[i]);
	}
	out[o] = '\0';
}

static int share_text(char **out, const kura_keyshare *s)
{
	char repo[65], split[17], check[64], sum_text[32], chars[40];
	uint8_t sum[SUM_LEN];
	size_t o = 0, n;
	char *t;

	*out = NULL;
	if (!(t = malloc(TEXT_SIZE)))
		return kura_error_set(KURA_ENOMEM, "key share: out of memory");
	kura_hex(repo, s->repo_id, 32);
	kura_hex(split, s->split_id, sizeof(s->split_id));
	put_hex_groups(check, sizeof(check), s->check, sizeof(s->check));
	share_sum(sum, s);
	put_hex_groups(sum_text, sizeof(sum_text), sum, sizeof(sum));
	o += (size_t)snprintf(
	    t + o, TEXT_SIZE - o,
	    "# kura restore key share %u of %u for repository %.16s...\n"
	    "# Any %u of the %u shares rebuild the restore key; fewer reveal nothing.\n"
	    "# Keep it where only you can reach it. To recover (docs/RECOVERY.md):\n"
	    "#   kura key combine SHARE-FILE... --output restore.key\n"
	    "%s %d\nrepository %s\nsplit %s\nshare %u of %u\nthreshold %u\ncheck %s\n",
	    s->index, s->total, repo, s->threshold, s->total, MAGIC_WORD, SHARE_VERSION, repo,
	    split, s->index, s->total, s->threshold, check);
	for (unsigned line = 1; line <= DATA_LINES; line++) {
		n = b32_encode(chars, s->data + (line - 1) * LINE_BYTES, line_bytes(line));
		o += (size_t)snprintf(t + o, TEXT_SIZE - o, "%u:", line);
		for (size_t i = 0; i < n; i += 4)
			o += (size_t)snprintf(t + o, TEXT_SIZE - o, " %.*s",
					      (int)(n - i < 4 ? n - i : 4), chars + i);
		o += (size_t)snprintf(t + o, TEXT_SIZE - o, "  %04x\n", line_crc(line, chars, n));
	}
	o += (size_t)snprintf(t + o, TEXT_SIZE - o, "sum %s\n", sum_text);
	sodium_memzero(chars, sizeof(chars));
	if (o >= TEXT_SIZE) { /* cannot happen with the sizes above */
		sodium_memzero(t, TEXT_SIZE);
		free(t);
		return kura_error_set(KURA_ERROR, "key share: text longer than %d bytes", TEXT_SIZE);
	}
	*out = t;
	return 0;
}

void kura_keyshare_texts_free(char **texts, size_t count)
{
	if (!texts)
		return;
	for (size_t i = 0; i < count; i++) {
		if (texts[i]) {
			sodium_memzero(texts[i], strlen(texts[i]));
			free(texts[i]);
		}
	}
	free(texts);
}

static void secret_of(uint8_t out[KURA_KEYSHARE_SECRET_LEN], const kura_keys *k)
{
	memcpy(out, k->id_key, 32);
	memcpy(out + 32, k->index_key, 32);
	memcpy(out + 64, k->chunker_seed, 32);
	memcpy(out + 96, k->repo_sk, 32);
}

int kura_keyshare_split_keys(char ***out, const kura_keys *k, unsigned threshold,
			     unsigned total)
{
	uint8_t secret[KURA_KEYSHARE_SECRET_LEN], xs[KURA_KEYSHARE_MAX];
	kura_keyshare s;
	gfshare_ctx *ctx = NULL;
	char **texts = NULL;
	int err = 0;

	*out = NULL;
	if (k->kind != KURA_KEY_RESTORE)
		return kura_error_set(KURA_ENEEDKEY, "splitting needs the restore key");
	if (total < 2 || total > KURA_KEYSHARE_MAX)
		return kura_error_set(KURA_EINVAL, "--shares must be from 2 to %d, not %u",
				      KURA_KEYSHARE_MAX, total);
	if (threshold < 2 || threshold > total)
		return kura_error_set(KURA_EINVAL,
				      "--threshold must be from 2 to the number of shares (%u), "
				      "not %u",
				      total, threshold);
	if (sodium_init() < 0)
		return kura_error_set(KURA_ERROR, "libsodium could not start");
	if (!(texts = calloc(total, sizeof(*texts))))
		return kura_error_set(KURA_ENOMEM, "key share: out of memory");
	lock_secret(secret, sizeof(secret));
	lock_secret(&s, sizeof(s));
	memset(&s, 0, sizeof(s));
	secret_of(secret, k);
	memcpy(s.repo_id, k->repo_id, 32);
	randombytes_buf(s.split_id, sizeof(s.split_id));
	secret_check(s.check, k->repo_id, secret);
	s.threshold = threshold;
	s.total = total;
	for (unsigned i = 0; i < total; i++)
		xs[i] = (uint8_t)(i + 1);
	gfshare_ready();
	if (!(ctx = gfshare_ctx_init_enc(xs, total, (unsigned char)threshold,
					 KURA_KEYSHARE_SECRET_LEN))) {
		err = kura_error_set(KURA_ENOMEM, "key share: libgfshare could not start");
		goto done;
	}
	gfshare_ctx_enc_setsecret(ctx, secret);
	for (unsigned i = 0; i < total; i++) {
		s.index = i + 1;
		gfshare_ctx_enc_getshare(ctx, (unsigned char)i, s.data);
		if ((err = share_text(&texts[i], &s)) < 0)
			goto done;
	}
	*out = texts;
	texts = NULL;
done:
	if (ctx)
		gfshare_ctx_free(ctx);
	kura_keyshare_texts_free(texts, total);
	unlock_secret(&s, sizeof(s));
	unlock_secret(secret, sizeof(secret));
	return err;
}

/* -------------------------------------------------------------------- */
/* Reading a share                                                        */

typedef struct {
	const char *p, *end, *name;
	unsigned no; /* the line just read, 1-based */
	char line[LINE_MAX_LEN + 1];
	char *tok[48];
	size_t ntok;
} reader;

static int bad(const reader *r, int code, const char *fmt, const char *a, const char *b)
{
	char what[256];

	snprintf(what, sizeof(what), fmt, a ? a : "", b ? b : "");
	return kura_error_set(code, "%s: line %u: %s", r->name, r->no, what);
}

/*
 * The next line that is neither blank nor a '#' comment, split into
 * whitespace-separated tokens.  1 with a line, 0 at the end.
 */
static int next_line(reader *r)
{
	for (;;) {
		const char *nl, *s, *e;
		size_t len;
		char *q, *save = NULL;

		if (r->p >= r->end)
			return 0;
		nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
		e = nl ? nl : r->end;
		s = r->p;
		r->p = nl ? nl + 1 : r->end;
		r->no++;
		if (memchr(s, '\0', (size_t)(e - s)))
			return kura_error_set(KURA_ECORRUPT, "%s: line %u: holds a NUL byte (not a "
					      "share text)", r->name, r->no);
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (s == e || *s == '#')
			continue;
		if ((len = (size_t)(e - s)) > LINE_MAX_LEN)
			return kura_error_set(KURA_ECORRUPT, "%s: line %u: longer than %d characters",
					      r->name, r->no, LINE_MAX_LEN);
		memcpy(r->line, s, len);
		r->line[len] = '\0';
		r->ntok = 0;
		for (q = strtok_r(r->line, " \t\r", &save); q; q = strtok_r(NULL, " \t\r", &save)) {
			if (r->ntok == sizeof(r->tok) / sizeof(r->tok[0]))
				return kura_error_set(KURA_ECORRUPT, "%s: line %u: too many words",
						      r->name, r->no);
			r->tok[r->ntok++] = q;
		}
		return 1;
	}
}

/* The next line, which must start with `word`. */
static int expect_line(reader *r, const char *word)
{
	int rc = next_line(r);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return kura_error_set(KURA_ECORRUPT,
				      "%s: ends before the \"%s\" line (the share is incomplete)",
				      r->name, word);
	if (strcmp(r->tok[0], word) != 0)
		return bad(r, KURA_ECORRUPT, "expected a \"%s\" line, found \"%.40s\"", word,
			   r->tok[0]);
	return 0;
}

/* Tokens 1.. of the line as exactly `n` bytes of hex (spaces between groups allowed). */
static int hex_field(reader *r, uint8_t *out, size_t n, const char *what)
{
	char hex[2 * 64 + 1];
	size_t len = 0, l;

	for (size_t i = 1; i < r->ntok; i++) {
		l = strlen(r->tok[i]);
		if (len + l > 2 * n)
			return bad(r, KURA_ECORRUPT, "%s: more than the expected hex digits%s", what,
				   NULL);
		memcpy(hex + len, r->tok[i], l);
		len += l;
	}
	hex[len] = '\0';
	if (len != 2 * n || kura_unhex(out, hex, n) < 0) {
		char msg[64];

		snprintf(msg, sizeof(msg), "%zu hex digits", 2 * n);
		return bad(r, KURA_ECORRUPT, "%s: expected %s", what, msg);
	}
	return 0;
}

static int number(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (!*s || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int read_header(reader *r, kura_keyshare *s)
{
	unsigned v;
	int rc, err;

	if ((rc = next_line(r)) < 0)
		return rc;
	if (rc == 0)
		return kura_error_set(KURA_ECORRUPT, "%s: empty (no \"%s %d\" line)", r->name,
				      MAGIC_WORD, SHARE_VERSION);
	if (strcmp(r->tok[0], MAGIC_WORD) != 0 || r->ntok != 2 || number(r->tok[1], 999, &v) < 0)
		return bad(r, KURA_ECORRUPT, "not a kura key share (expected \"%s 1\" first)",
			   MAGIC_WORD, NULL);
	if (v != SHARE_VERSION)
		return bad(r, KURA_EUNSUPPORTED,
			   "share format version %s not supported (this kura reads 1)", r->tok[1],
			   NULL);
	if ((err = expect_line(r, "repository")) < 0 ||
	    (err = hex_field(r, s->repo_id, 32, "repository")) < 0)
		return err;
	if ((err = expect_line(r, "split")) < 0 ||
	    (err = hex_field(r, s->split_id, sizeof(s->split_id), "split")) < 0)
		return err;
	if ((err = expect_line(r, "share")) < 0)
		return err;
	if (r->ntok != 4 || strcmp(r->tok[2], "of") != 0 ||
	    number(r->tok[1], KURA_KEYSHARE_MAX, &s->index) < 0 ||
	    number(r->tok[3], KURA_KEYSHARE_MAX, &s->total) < 0 || s->index < 1 ||
	    s->total < 2 || s->index > s->total)
		return bad(r, KURA_ECORRUPT,
			   "expected \"share I of N\" with 1 <= I <= N and 2 <= N <= 255", NULL,
			   NULL);
	if ((err = expect_line(r, "threshold")) < 0)
		return err;
	if (r->ntok != 2 || number(r->tok[1], KURA_KEYSHARE_MAX, &s->threshold) < 0 ||
	    s->threshold < 2 || s->threshold > s->total)
		return bad(r, KURA_ECORRUPT,
			   "expected \"threshold M\" with 2 <= M <= the number of shares",
			   NULL, NULL);
	if ((err = expect_line(r, "check")) < 0 ||
	    (err = hex_field(r, s->check, sizeof(s->check), "check")) < 0)
		return err;
	return 0;
}

static int read_data_line(reader *r, kura_keyshare *s, unsigned line)
{
	char label[8], chars[LINE_MAX_LEN + 1], got[8], want[8];
	size_t n = 0, expect = b32_chars(line_bytes(line));
	uint8_t crc_typed[2], *out = s->data + (line - 1) * LINE_BYTES;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	uint16_t crc;
	int rc, err = 0;

	snprintf(label, sizeof(label), "%u:", line);
	if ((rc = next_line(r)) < 0)
		return rc;
	if (rc == 0)
		return kura_error_set(KURA_ECORRUPT,
				      "%s: ends before data line %u (the share is incomplete)",
				      r->name, line);
	if (strcmp(r->tok[0], label) != 0)
		return bad(r, KURA_ECORRUPT,
			   "expected data line \"%s\" here, found \"%.40s\" (a line missing, "
			   "doubled or out of order?)",
			   label, r->tok[0]);
	if (r->ntok < 3)
		return bad(r, KURA_ECORRUPT,
			   "data line %s needs its characters and, last, its 4-digit checksum%s",
			   label, NULL);
	for (size_t i = 1; i + 1 < r->ntok; i++) {
		for (const char *c = r->tok[i]; *c; c++) {
			int v = b32_value(*c);

			if (v < 0) {
				char ch[8];

				snprintf(ch, sizeof(ch), "%c", *c >= 0x21 && *c < 0x7f ? *c : '?');
				err = bad(r, KURA_ECORRUPT,
					  "'%s' is not a share character (0-9 and A-Z but I, L, "
					  "O, U)%s",
					  ch, NULL);
				goto done;
			}
			if (n < sizeof(chars) - 1)
				chars[n] = b32[v];
			n++;
		}
	}
	if (n != expect) {
		snprintf(got, sizeof(got), "%zu", n);
		snprintf(want, sizeof(want), "%zu", expect);
		err = bad(r, KURA_ECORRUPT,
			  "%s characters before the checksum, expected %s (a character missing or "
			  "added?)",
			  got, want);
		goto done;
	}
	if (strlen(r->tok[r->ntok - 1]) != 4 || kura_unhex(crc_typed, r->tok[r->ntok - 1], 2) < 0) {
		err = bad(r, KURA_ECORRUPT, "the last word, \"%.8s\", is not a 4-digit checksum%s",
			  r->tok[r->ntok - 1], NULL);
		goto done;
	}
	crc = line_crc(line, chars, n);
	if (crc != (uint16_t)(crc_typed[0] << 8 | crc_typed[1])) {
		err = bad(r, KURA_ECORRUPT,
			  "checksum %s does not match the characters of the line: one of them "
			  "(or the checksum) is mistyped%s",
			  r->tok[r->ntok - 1], NULL);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 5) | (uint32_t)b32_value(chars[i]);
		bits += 5;
		if (bits >= 8) {
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) /* the spare low bits of the last character */
		err = bad(r, KURA_ECORRUPT, "the last character's unused bits are not zero",
			  NULL, NULL);
done:
	acc = 0;
	sodium_memzero(chars, sizeof(chars));
	sodium_memzero(r->line, sizeof(r->line));
	return err;
}

int kura_keyshare_parse(kura_keyshare **out, const char *text, size_t len, const char *name)
{
	reader *r = NULL;
	kura_keyshare *s = NULL;
	uint8_t sum[SUM_LEN], typed[SUM_LEN];
	int rc, err;

	*out = NULL;
	if (!name)
		name = "key share";
	if (len > KURA_KEYSHARE_TEXT_MAX)
		return kura_error_set(KURA_ECORRUPT, "%s: %zu bytes, longer than any key share",
				      name, len);
	if (sodium_init() < 0)
		return kura_error_set(KURA_ERROR, "libsodium could not start");
	if (!(r = calloc(1, sizeof(*r))) || !(s = calloc(1, sizeof(*s)))) {
		free(r);
		return kura_error_set(KURA_ENOMEM, "key share: out of memory");
	}
	lock_secret(r, sizeof(*r));
	lock_secret(s, sizeof(*s));
	r->p = text;
	r->end = text + len;
	r->name = name;
	snprintf(s->name, sizeof(s->name), "%s", name);
	if ((err = read_header(r, s)) < 0)
		goto done;
	for (unsigned line = 1; line <= DATA_LINES; line++)
		if ((err = read_data_line(r, s, line)) < 0)
			goto done;
	if ((err = expect_line(r, "sum")) < 0 || (err = hex_field(r, typed, SUM_LEN, "sum")) < 0)
		goto done;
	share_sum(sum, s);
	if (!kura_ct_equal(sum, typed, SUM_LEN)) {
		err = bad(r, KURA_ECORRUPT,
			  "the share's sum does not match: a header line (repository, split, "
			  "share, threshold, check) or the sum itself is mistyped",
			  NULL, NULL);
		goto done;
	}
	if ((rc = next_line(r)) != 0) {
		err = rc < 0 ? rc
			     : bad(r, KURA_ECORRUPT, "unexpected text after the sum line",
				   NULL, NULL);
		goto done;
	}
	*out = s;
	s = NULL;
done:
	unlock_secret(r, sizeof(*r));
	free(r);
	kura_keyshare_free(s);
	return err;
}

void kura_keyshare_get_info(kura_keyshare_info *out, const kura_keyshare *share)
{
	kura_hex(out->repo_id, share->repo_id, 32);
	kura_hex(out->split_id, share->split_id, sizeof(share->split_id));
	out->index = share->index;
	out->threshold = share->threshold;
	out->total = share->total;
}

void kura_keyshare_free(kura_keyshare *share)
{
	if (!share)
		return;
	unlock_secret(share, sizeof(*share));
	free(share);
}

/* -------------------------------------------------------------------- */
/* Combining                                                              */

/* Shares that can combine: one repository, one split, no conflicting duplicates. */
static int same_split(const kura_keyshare *const *shares, size_t count, const kura_keyshare **use,
		      size_t *nuse)
{
	const kura_keyshare *a = shares[0];
	char ha[65], hb[65];

	*nuse = 0;
	for (size_t i = 0; i < count; i++) {
		const kura_keyshare *b = shares[i];
		bool dup = false;

		if (memcmp(a->repo_id, b->repo_id, 32) != 0) {
			kura_hex(ha, a->repo_id, 32);
			kura_hex(hb, b->repo_id, 32);
			return kura_error_set(
			    KURA_EINVAL,
			    "%s is a share of repository %.16s... but %s of repository %.16s...: "
			    "shares of different repositories never combine",
			    b->name, hb, a->name, ha);
		}
		if (memcmp(a->split_id, b->split_id, sizeof(a->split_id)) != 0) {
			kura_hex(ha, a->split_id, sizeof(a->split_id));
			kura_hex(hb, b->split_id, sizeof(b->split_id));
			return kura_error_set(
			    KURA_EINVAL,
			    "%s comes from split %s but %s from split %s: shares of different "
			    "splits never combine; bring shares of one split",
			    b->name, hb, a->name, ha);
		}
		if (a->threshold != b->threshold || a->total != b->total ||
		    memcmp(a->check, b->check, sizeof(a->check)) != 0)
			return kura_error_set(KURA_ECORRUPT,
					      "%s and %s name the same split but disagree on its "
					      "threshold, size or check value: one of them is forged",
					      a->name, b->name);
		for (size_t j = 0; j < *nuse; j++) {
			if (use[j]->index != b->index)
				continue;
			if (!kura_ct_equal(use[j]->data, b->data, sizeof(b->data)))
				return kura_error_set(KURA_ECORRUPT,
						      "%s and %s both claim to be share %u but differ: "
						      "one of them is forged",
						      use[j]->name, b->name, b->index);
			dup = true; /* the same share given twice counts once */
		}
		if (!dup)
			use[(*nuse)++] = b;
	}
	return 0;
}

/*
 * Interpolate the secret from the k shares use[pick[0..k-1]]; true when it
 * gives the check value the shares carry.
 */
static int interpolate(uint8_t secret[KURA_KEYSHARE_SECRET_LEN], const kura_keyshare **use,
		       const size_t *pick, size_t k, bool *ok)
{
	uint8_t xs[KURA_KEYSHARE_MAX], check[KURA_KEYSHARE_CHECK_LEN];
	gfshare_ctx *ctx;

	for (size_t i = 0; i < k; i++)
		xs[i] = (uint8_t)use[pick[i]]->index;
	gfshare_ready();
	if (!(ctx = gfshare_ctx_init_dec(xs, (unsigned)k, KURA_KEYSHARE_SECRET_LEN)))
		return kura_error_set(KURA_ENOMEM, "key share: libgfshare could not start");
	for (size_t i = 0; i < k; i++)
		gfshare_ctx_dec_giveshare(ctx, (unsigned char)i, (unsigned char *)use[pick[i]]->data);
	gfshare_ctx_dec_extract(ctx, secret);
	gfshare_ctx_free(ctx);
	secret_check(check, use[0]->repo_id, secret);
	*ok = kura_ct_equal(check, use[0]->check, sizeof(check));
	return 0;
}

#define SUBSETS_MAX 20000 /* how many threshold-sized subsets a search may try */

/*
 * The shares do not give the check value together.  With more than the
 * threshold given, look for a subset that does, to name the shares that
 * do not fit it; the combination is refused either way: a forged share
 * means someone must be asked why.
 */
static int name_misfits(const kura_keyshare **use, size_t n, size_t m)
{
	uint8_t secret[KURA_KEYSHARE_SECRET_LEN];
	size_t pick[KURA_KEYSHARE_MAX], tries = 0;
	char names[512];
	bool ok = false;
	size_t o = 0;
	int err = 0;

	lock_secret(secret, sizeof(secret));
	for (size_t i = 0; i < m; i++)
		pick[i] = i;
	while (n > m && tries++ < SUBSETS_MAX) {
		size_t i;

		if ((err = interpolate(secret, use, pick, m, &ok)) < 0 || ok)
			break;
		/* the next subset in lexicographic order */
		for (i = m; i-- > 0 && pick[i] == n - m + i;)
			;
		if (i == (size_t)-1)
			break;
		pick[i]++;
		for (size_t j = i + 1; j < m; j++)
			pick[j] = pick[j - 1] + 1;
	}
	unlock_secret(secret, sizeof(secret));
	if (err < 0)
		return err;
	if (!ok)
		return kura_error_set(KURA_ECORRUPT,
				      "the combined key does not match the check value the shares "
				      "carry, and no %zu of them do: at least one share is forged or "
				      "was altered with its checksums recomputed",
				      m);
	names[0] = '\0';
	for (size_t i = 0, p = 0; i < n && o < sizeof(names); i++) {
		if (p < m && pick[p] == i) {
			p++;
			continue;
		}
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", o ? ", " : "",
				      use[i]->name);
	}
	return kura_error_set(KURA_ECORRUPT,
			      "%s do%s not fit the other shares (forged, or altered with the "
			      "checksums recomputed); the others rebuild the key: combine again "
			      "leaving %s out, and find out who changed %s",
			      names, n - m == 1 ? "es" : "", n - m == 1 ? "it" : "them",
			      n - m == 1 ? "it" : "them");
}

int kura_keyshare_combine_keys(kura_keys *out, const kura_keyshare *const *shares, size_t count)
{
	const kura_keyshare **use = NULL;
	uint8_t secret[KURA_KEYSHARE_SECRET_LEN];
	size_t pick[KURA_KEYSHARE_MAX], n = 0;
	bool ok = false;
	int err;

	memset(out, 0, sizeof(*out));
	if (count == 0)
		return kura_error_set(KURA_EINVAL, "no shares given");
	if (sodium_init() < 0)
		return kura_error_set(KURA_ERROR, "libsodium could not start");
	if (!(use = calloc(count, sizeof(*use))))
		return kura_error_set(KURA_ENOMEM, "key share: out of memory");
	lock_secret(secret, sizeof(secret));
	if ((err = same_split(shares, count, use, &n)) < 0)
		goto done;
	if (n < use[0]->threshold) {
		err = kura_error_set(KURA_EINVAL,
				     "need %u shares, have %zu: %zu more holder%s of this split (%u "
				     "shares in all) must bring theirs",
				     use[0]->threshold, n, use[0]->threshold - n,
				     use[0]->threshold - n == 1 ? "" : "s", use[0]->total);
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		pick[i] = i;
	if ((err = interpolate(secret, use, pick, n, &ok)) < 0)
		goto done;
	if (!ok) {
		err = name_misfits(use, n, use[0]->threshold);
		goto done;
	}
	out->kind = KURA_KEY_RESTORE;
	memcpy(out->repo_id, use[0]->repo_id, 32);
	memcpy(out->id_key, secret, 32);
	memcpy(out->index_key, secret + 32, 32);
	memcpy(out->chunker_seed, secret + 64, 32);
	memcpy(out->repo_sk, secret + 96, 32);
	if (crypto_scalarmult_base(out->repo_pk, out->repo_sk) != 0)
		err = kura_error_set(KURA_ECORRUPT, "the combined repo_sk gives no public key");
done:
	if (err < 0)
		kura_keys_wipe(out);
	unlock_secret(secret, sizeof(secret));
	free(use);
	return err;
}

int kura_keyshare_verify(const kura_keyshare *const *shares, size_t count)
{
	kura_keys k;
	int err;

	lock_secret(&k, sizeof(k));
	err = kura_keyshare_combine_keys(&k, shares, count);
	unlock_secret(&k, sizeof(k));
	return err;
}

static int write_new(const char *path, const uint8_t *data, size_t len)
{
	int fd, err = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return kura_error_errno(errno == EEXIST ? KURA_EEXISTS : kura_errno_code(errno),
					errno, "cannot create %s", path);
	if (kura_write_all(fd, data, len) < 0)
		err = kura_error_errno(KURA_EIO, errno, "writing %s", path);
	else if (fsync(fd) < 0)
		err = kura_error_errno(KURA_EIO, errno, "fsync %s", path);
	if (close(fd) < 0 && !err)
		err = kura_error_errno(KURA_EIO, errno, "closing %s", path);
	if (err)
		unlink(path);
	return err;
}

int kura_keyshare_combine_file(const kura_keyshare *const *shares, size_t count,
			       const char *passphrase, int kdf_profile, const char *path,
			       char repo_id_out[KURA_ID_HEX])
{
	kura_keys k, again;
	uint8_t *file = NULL;
	size_t len = 0;
	int err;

	if (!passphrase || !path)
		return kura_error_set(KURA_EINVAL, "combine: no passphrase or no output path");
	lock_secret(&k, sizeof(k));
	lock_secret(&again, sizeof(again));
	memset(&again, 0, sizeof(again));
	if ((err = kura_keyshare_combine_keys(&k, shares, count)) < 0)
		goto done;
	if ((err = kura_passphrase_check(passphrase)) < 0)
		goto done;
	if ((err = kura_keyfile_encode_restore(&file, &len, &k, passphrase, kdf_profile)) < 0)
		goto done;
	/* the bytes about to be written must open again, with everything in place */
	if ((err = kura_keyfile_decode(&again, file, len, passphrase)) < 0 ||
	    !kura_ct_equal(&again, &k, sizeof(k))) {
		err = kura_error_set(KURA_ECORRUPT,
				     "the combined restore key file does not open again as written");
		goto done;
	}
	if ((err = write_new(path, file, len)) < 0)
		goto done;
	if (repo_id_out)
		kura_hex(repo_id_out, k.repo_id, 32);
done:
	if (file) {
		sodium_memzero(file, len);
		free(file);
	}
	unlock_secret(&again, sizeof(again));
	unlock_secret(&k, sizeof(k));
	return err;
}
