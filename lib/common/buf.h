/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf.h - growable byte buffers for encoding, and bounds-checked readers for
 * decoding.  All integers in kura's formats are little-endian.
 *
 * A kura_reader never reads past its end: every get returns KURA_ECORRUPT
 * (with a message naming the field and offset) instead, so parsers of
 * hostile input are written as straight-line code with `goto done`.
 */
#ifndef KURA_COMMON_BUF_H
#define KURA_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint8_t *data;
	size_t len;
	size_t cap;
} kura_buf;

#define KURA_BUF_INIT {NULL, 0, 0}

/* Make room for `extra` more bytes. KURA_ENOMEM. */
int kura_buf_reserve(kura_buf *b, size_t extra);
int kura_buf_put(kura_buf *b, const void *data, size_t len);
int kura_buf_put_u8(kura_buf *b, uint8_t v);
int kura_buf_put_u16(kura_buf *b, uint16_t v);
int kura_buf_put_u32(kura_buf *b, uint32_t v);
int kura_buf_put_u64(kura_buf *b, uint64_t v);
/* Release the memory; with `wipe`, zero it first (for plaintext and keys). */
void kura_buf_free(kura_buf *b);
void kura_buf_free_wipe(kura_buf *b);
/* Hand the bytes to the caller (who frees them) and reset the buffer. */
uint8_t *kura_buf_detach(kura_buf *b, size_t *out_len);

typedef struct {
	const uint8_t *data;
	size_t len;
	size_t pos;
	const char *what; /* named in error messages, e.g. "tree" */
} kura_reader;

void kura_reader_init(kura_reader *r, const void *data, size_t len, const char *what);
int kura_reader_u8(kura_reader *r, uint8_t *out, const char *field);
int kura_reader_u16(kura_reader *r, uint16_t *out, const char *field);
int kura_reader_u32(kura_reader *r, uint32_t *out, const char *field);
int kura_reader_u64(kura_reader *r, uint64_t *out, const char *field);
int kura_reader_bytes(kura_reader *r, void *out, size_t len, const char *field);
/* Borrow `len` bytes in place (no copy). */
int kura_reader_view(kura_reader *r, const uint8_t **out, size_t len, const char *field);
size_t kura_reader_left(const kura_reader *r);

static inline void kura_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void kura_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void kura_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t kura_get_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t kura_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t kura_get_le64(const uint8_t *p)
{
	return (uint64_t)kura_get_le32(p) | ((uint64_t)kura_get_le32(p + 4) << 32);
}

/* Lowercase hex of n bytes into out (2n+1 bytes with the NUL). */
void kura_hex(char *out, const uint8_t *in, size_t n);
/* Parse exactly 2n hex digits; KURA_EINVAL otherwise. */
int kura_unhex(uint8_t *out, const char *hex, size_t n);

#endif
