/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.c - the detector's history file (state.h).
 *
 * Layout, little-endian: magic "KURADT01", u64 snapshots, u64 CUSUM in
 * millionths of a percent, u64 entry count N, N entries of 28 bytes (u64
 * path hash, u64 stem hash, u64 size, u8 type, u8 noise, u16 zero), then
 * an 8-byte SipHash-2-4 of everything before under the all-zero key (it
 * catches damage, not an attacker).  A reader refuses a file whose size,
 * check, order or field ranges are wrong, as a whole: a half-trusted
 * history would judge some files against the wrong past.
 */
#include "detect/state.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "detect/magic.h"

#define STATE_MAGIC "KURADT01"
#define HEAD_BYTES 32
#define ENTRY_BYTES 28
#define CHECK_BYTES 8
#define STATE_MAX_ENTRIES (64u << 20)

static const uint8_t hash_key[crypto_shorthash_KEYBYTES] = "kura-detect-v1..";

uint64_t kura_detect_hash(const char *s, size_t len)
{
	uint8_t out[crypto_shorthash_BYTES];

	crypto_shorthash(out, (const uint8_t *)s, len, hash_key);
	return kura_get_le64(out);
}

static void check_of(uint8_t out[CHECK_BYTES], const uint8_t *p, size_t n)
{
	static const uint8_t zero[crypto_shorthash_KEYBYTES];

	crypto_shorthash(out, p, n, zero);
}

int kura_detect_state_load(kura_detect_state *out, const char *file)
{
	uint8_t *data = NULL, check[CHECK_BYTES];
	struct stat st;
	uint64_t n;
	size_t len;
	int fd, ok = 0;

	memset(out, 0, sizeof(*out));
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) < 0 || st.st_size < HEAD_BYTES + CHECK_BYTES ||
	    (uint64_t)st.st_size >
		(uint64_t)HEAD_BYTES + CHECK_BYTES + (uint64_t)STATE_MAX_ENTRIES * ENTRY_BYTES)
		goto done;
	len = (size_t)st.st_size;
	if (!(data = malloc(len))) {
		close(fd);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	for (size_t got = 0; got < len;) {
		ssize_t r = read(fd, data + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto done;
		got += (size_t)r;
	}
	check_of(check, data, len - CHECK_BYTES);
	if (memcmp(data, STATE_MAGIC, 8) != 0 ||
	    memcmp(check, data + len - CHECK_BYTES, CHECK_BYTES) != 0)
		goto done;
	n = kura_get_le64(data + 24);
	if (n > STATE_MAX_ENTRIES || len != HEAD_BYTES + CHECK_BYTES + n * ENTRY_BYTES)
		goto done;
	if (n && !(out->entries = calloc((size_t)n, sizeof(*out->entries)))) {
		free(data);
		close(fd);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *p = data + HEAD_BYTES + i * ENTRY_BYTES;
		kura_detect_entry *e = &out->entries[i];

		e->path = kura_get_le64(p);
		e->stem = kura_get_le64(p + 8);
		e->size = kura_get_le64(p + 16);
		e->type = p[24];
		e->noise = p[25];
		if (e->type >= KURA_FT_COUNT || e->noise > KURA_DETECT_NOISE_UNKNOWN || p[26] ||
		    p[27] || (i && e->path <= out->entries[i - 1].path))
			goto done;
	}
	out->count = (size_t)n;
	out->snapshots = kura_get_le64(data + 8);
	out->cusum = (double)kura_get_le64(data + 16) / 1e6;
	ok = 1;
done:
	if (!ok)
		kura_detect_state_clear(out);
	free(data);
	close(fd);
	return ok;
}

int kura_detect_state_save(const kura_detect_state *s, const char *file)
{
	size_t len = HEAD_BYTES + s->count * ENTRY_BYTES + CHECK_BYTES;
	uint8_t *data = malloc(len);
	char *tmp = NULL;
	FILE *f = NULL;
	int err = 0;

	if (!data || asprintf(&tmp, "%s.tmp", file) < 0) {
		tmp = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	memcpy(data, STATE_MAGIC, 8);
	kura_le64(data + 8, s->snapshots);
	kura_le64(data + 16, (uint64_t)(s->cusum > 0 ? s->cusum * 1e6 : 0));
	kura_le64(data + 24, s->count);
	for (size_t i = 0; i < s->count; i++) {
		uint8_t *p = data + HEAD_BYTES + i * ENTRY_BYTES;
		const kura_detect_entry *e = &s->entries[i];

		kura_le64(p, e->path);
		kura_le64(p + 8, e->stem);
		kura_le64(p + 16, e->size);
		p[24] = e->type;
		p[25] = e->noise;
		p[26] = p[27] = 0;
	}
	check_of(data + len - CHECK_BYTES, data, len - CHECK_BYTES);
	if (!(f = fopen(tmp, "wbe")) || fwrite(data, 1, len, f) != len || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		err = kura_error_errno(KURA_EIO, errno, "detection state %s", tmp);
		goto done;
	}
	if (fclose(f) != 0) {
		f = NULL;
		err = kura_error_errno(KURA_EIO, errno, "detection state %s", tmp);
		goto done;
	}
	f = NULL;
	if (rename(tmp, file) < 0)
		err = kura_error_errno(KURA_EIO, errno, "detection state %s", file);
done:
	if (f)
		fclose(f);
	if (err < 0 && tmp)
		unlink(tmp);
	free(tmp);
	free(data);
	return err;
}

kura_detect_entry *kura_detect_state_find(const kura_detect_state *s, uint64_t path_hash)
{
	size_t lo = 0, hi = s->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->entries[mid].path < path_hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->count && s->entries[lo].path == path_hash ? &s->entries[lo] : NULL;
}

void kura_detect_state_clear(kura_detect_state *s)
{
	free(s->entries);
	memset(s, 0, sizeof(*s));
}
