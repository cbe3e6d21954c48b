/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf.c - growable buffers and bounds-checked readers (see buf.h).
 */
#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

int kura_buf_reserve(kura_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len)
		return kura_error_set(KURA_ENOMEM, "buffer size overflow");
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return kura_error_set(KURA_ENOMEM, "out of memory (%zu bytes)", cap);
	b->data = p;
	b->cap = cap;
	return 0;
}

int kura_buf_put(kura_buf *b, const void *data, size_t len)
{
	int err;

	if (len == 0)
		return 0;
	if ((err = kura_buf_reserve(b, len)) < 0)
		return err;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int kura_buf_put_u8(kura_buf *b, uint8_t v) { return kura_buf_put(b, &v, 1); }

int kura_buf_put_u16(kura_buf *b, uint16_t v)
{
	uint8_t p[2];
	kura_le16(p, v);
	return kura_buf_put(b, p, sizeof(p));
}

int kura_buf_put_u32(kura_buf *b, uint32_t v)
{
	uint8_t p[4];
	kura_le32(p, v);
	return kura_buf_put(b, p, sizeof(p));
}

int kura_buf_put_u64(kura_buf *b, uint64_t v)
{
	uint8_t p[8];
	kura_le64(p, v);
	return kura_buf_put(b, p, sizeof(p));
}

void kura_buf_free(kura_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void kura_buf_free_wipe(kura_buf *b)
{
	if (b->data) {
		/* volatile so the zeroing is not optimised away before free */
		volatile uint8_t *p = b->data;
		for (size_t i = 0; i < b->cap; i++)
			p[i] = 0;
	}
	kura_buf_free(b);
}

uint8_t *kura_buf_detach(kura_buf *b, size_t *out_len)
{
	uint8_t *p = b->data;

	if (out_len)
		*out_len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void kura_reader_init(kura_reader *r, const void *data, size_t len, const char *what)
{
	r->data = data;
	r->len = len;
	r->pos = 0;
	r->what = what ? what : "data";
}

int kura_reader_view(kura_reader *r, const uint8_t **out, size_t len, const char *field)
{
	if (len > r->len - r->pos)
		return kura_error_set(KURA_ECORRUPT,
				      "%s: truncated at offset %zu reading %s (%zu bytes wanted, %zu left)",
				      r->what, r->pos, field, len, r->len - r->pos);
	*out = r->data + r->pos;
	r->pos += len;
	return 0;
}

int kura_reader_bytes(kura_reader *r, void *out, size_t len, const char *field)
{
	const uint8_t *p = NULL;
	int err;

	if ((err = kura_reader_view(r, &p, len, field)) < 0)
		return err;
	memcpy(out, p, len);
	return 0;
}

int kura_reader_u8(kura_reader *r, uint8_t *out, const char *field)
{
	return kura_reader_bytes(r, out, 1, field);
}

int kura_reader_u16(kura_reader *r, uint16_t *out, const char *field)
{
	const uint8_t *p = NULL;
	int err;

	if ((err = kura_reader_view(r, &p, 2, field)) < 0)
		return err;
	*out = kura_get_le16(p);
	return 0;
}

int kura_reader_u32(kura_reader *r, uint32_t *out, const char *field)
{
	const uint8_t *p = NULL;
	int err;

	if ((err = kura_reader_view(r, &p, 4, field)) < 0)
		return err;
	*out = kura_get_le32(p);
	return 0;
}

int kura_reader_u64(kura_reader *r, uint64_t *out, const char *field)
{
	const uint8_t *p = NULL;
	int err;

	if ((err = kura_reader_view(r, &p, 8, field)) < 0)
		return err;
	*out = kura_get_le64(p);
	return 0;
}

size_t kura_reader_left(const kura_reader *r) { return r->len - r->pos; }

void kura_hex(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int kura_unhex(uint8_t *out, const char *hex, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (!hex[2 * i] || (hi = hex_value(hex[2 * i])) < 0 ||
		    (lo = hex_value(hex[2 * i + 1])) < 0)
			return kura_error_set(KURA_EINVAL, "not %zu hex digits: '%.*s'", 2 * n,
					      (int)(2 * n), hex);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	if (hex[2 * n] != '\0')
		return kura_error_set(KURA_EINVAL, "more than %zu hex digits", 2 * n);
	return 0;
}
