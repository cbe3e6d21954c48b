/* SPDX-License-Identifier: Apache-2.0 */
/*
 * basestore.c - the client's copies of its database files' bases (see
 * basestore.h).
 *
 * Per file, two files (private to this implementation, little-endian):
 *
 *   .idx  "KURABS01", u32 reserved, u32 reserved, then one 88-byte slot
 *         per piece (piece k at 16 + 88 k): base id, last id, u64 offset
 *         and u32 length of the base's zstd frame in .dat, u32 the base's
 *         plaintext length, u8 flags (bit 0 slot in use, bit 1 last stored
 *         against the base), 7 bytes zero.  A slot never written reads as
 *         zeros: not in use.
 *   .dat  zstd frames, appended; a replaced base leaves its old frame
 *         behind until the file is compacted on close.
 *
 * Nothing here is trusted (basestore.h): a slot is only a claim about an
 * id, checked by the caller, so a crash between writes, a torn slot or a
 * compaction cut short costs the pieces it touched a full store, never a
 * wrong byte in the repository.
 */
#include "repo/basestore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fdio.h"
#include "repo/filecache.h"

#define IDX_MAGIC "KURABS01"
#define IDX_HEAD 16
#define SLOT 88
#define SLOT_USED 0x01
#define SLOT_AGAINST 0x02
#define MAX_PIECES (1ull << 32)
/* bases are small pieces: anything larger in a slot is damage */
#define BASE_MAX (1u << 20)
/* compact when the data file is past twice its live frames and this */
#define COMPACT_SLACK (1u << 20)
#define LEVEL 1 /* the client's copy: fast, it is read back once a change */

struct kura_basestore {
	char *dir; /* <cache>/<repo>/bases */
};

struct kura_basefile {
	pthread_mutex_t lock;
	int idx, dat;
	uint64_t dat_size;
	char *idx_path, *dat_path;
};

static int mkdir_0700(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return kura_error_errno(KURA_EIO, errno, "cannot make %s", path);
}

int kura_basestore_open(kura_basestore **out, const char *dir, const char *repo_id_hex)
{
	kura_basestore *s = calloc(1, sizeof(*s));
	char *base = dir ? strdup(dir) : kura_filecache_default_dir(), *repo_dir = NULL;
	int err = 0;

	*out = NULL;
	if (!s || !base || asprintf(&repo_dir, "%s/%s", base, repo_id_hex) < 0 ||
	    asprintf(&s->dir, "%s/bases", repo_dir) < 0) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	/* the file cache made <cache>/<repo> already; the bases are the file's own bytes */
	if ((err = mkdir_0700(repo_dir)) < 0 || (err = mkdir_0700(s->dir)) < 0)
		goto done;
	*out = s;
	s = NULL;
done:
	free(base);
	free(repo_dir);
	kura_basestore_free(s);
	return err;
}

void kura_basestore_free(kura_basestore *s)
{
	if (!s)
		return;
	free(s->dir);
	free(s);
}

void kura_basestore_sweep(kura_basestore *s, unsigned max_age_days)
{
	time_t cutoff = time(NULL) - (time_t)max_age_days * 86400;
	DIR *d = opendir(s->dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char path[4096];
		struct stat st;

		/* the .idx is touched whenever the file is opened; its .dat goes with it */
		if (n != 64 + 4 || strcmp(e->d_name + 64, ".idx") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
		if (stat(path, &st) < 0 || st.st_mtime >= cutoff)
			continue;
		unlink(path);
		memcpy(path + strlen(path) - 4, ".dat", 4);
		unlink(path);
	}
	closedir(d);
}

/* ---------------------------------------------------------------------- */

static bool pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	return kura_pread_all(fd, buf, len, off) == 0;
}

static bool pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	return kura_pwrite_all(fd, buf, len, off) == 0;
}

/* Start both files afresh (a new file, or one whose header is not ours). */
static bool reset_files(kura_basefile *f)
{
	uint8_t head[IDX_HEAD] = IDX_MAGIC;

	f->dat_size = 0;
	return ftruncate(f->idx, 0) == 0 && ftruncate(f->dat, 0) == 0 &&
	       pwrite_all(f->idx, head, sizeof(head), 0);
}

int kura_basefile_open(kura_basefile **out, kura_basestore *s, const char *path)
{
	kura_basefile *f = calloc(1, sizeof(*f));
	uint8_t digest[KURA_HASH_SIZE], head[IDX_HEAD];
	char hex[2 * KURA_HASH_SIZE + 1];
	struct stat st;
	int err = 0;

	*out = NULL;
	if (!f)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	f->idx = f->dat = -1;
	pthread_mutex_init(&f->lock, NULL);
	kura_sha256(digest, path, strlen(path));
	kura_hex(hex, digest, sizeof(digest));
	if (asprintf(&f->idx_path, "%s/%s.idx", s->dir, hex) < 0 ||
	    asprintf(&f->dat_path, "%s/%s.dat", s->dir, hex) < 0) {
		f->idx_path = f->dat_path = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	f->idx = open(f->idx_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	f->dat = open(f->dat_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f->idx < 0 || f->dat < 0 || fstat(f->dat, &st) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "cannot open %s", f->idx_path);
		goto done;
	}
	f->dat_size = (uint64_t)st.st_size;
	if ((!pread_all(f->idx, head, sizeof(head), 0) || memcmp(head, IDX_MAGIC, 8) != 0) &&
	    !reset_files(f)) {
		err = kura_error_errno(KURA_EIO, errno, "cannot write %s", f->idx_path);
		goto done;
	}
	/* in use: the sweep leaves it */
	futimens(f->idx, NULL);
	*out = f;
	f = NULL;
done:
	if (f)
		kura_basefile_close(f);
	return err;
}

typedef struct {
	uint8_t base_id[KURA_HASH_SIZE], last_id[KURA_HASH_SIZE];
	uint64_t offset;
	uint32_t comp_len, raw_len;
	uint8_t flags;
} slot;

static void slot_decode(slot *out, const uint8_t *b)
{
	memcpy(out->base_id, b, KURA_HASH_SIZE);
	memcpy(out->last_id, b + 32, KURA_HASH_SIZE);
	out->offset = kura_get_le64(b + 64);
	out->comp_len = kura_get_le32(b + 72);
	out->raw_len = kura_get_le32(b + 76);
	out->flags = b[80];
}

static void slot_encode(uint8_t *b, const slot *in)
{
	memset(b, 0, SLOT);
	memcpy(b, in->base_id, KURA_HASH_SIZE);
	memcpy(b + 32, in->last_id, KURA_HASH_SIZE);
	kura_le64(b + 64, in->offset);
	kura_le32(b + 72, in->comp_len);
	kura_le32(b + 76, in->raw_len);
	b[80] = in->flags;
}

/* With f->lock held: slot `piece`, or false when it was never written or is damaged. */
static bool read_slot(kura_basefile *f, uint64_t piece, slot *out)
{
	uint8_t b[SLOT];

	if (piece >= MAX_PIECES || !pread_all(f->idx, b, SLOT, IDX_HEAD + piece * SLOT))
		return false;
	slot_decode(out, b);
	return (out->flags & SLOT_USED) && out->comp_len > 0 && out->comp_len <= BASE_MAX &&
	       out->raw_len <= BASE_MAX && out->offset <= f->dat_size &&
	       out->comp_len <= f->dat_size - out->offset;
}

int kura_basefile_get(kura_basefile *f, uint64_t piece, kura_base_slot *out, uint8_t *buf,
		      size_t cap)
{
	uint8_t *frame = NULL;
	bool ok;
	slot s;
	size_t n;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&f->lock);
	ok = read_slot(f, piece, &s) &&
	     (!buf || (s.raw_len <= cap && (frame = malloc(s.comp_len)) &&
		       pread_all(f->dat, frame, s.comp_len, s.offset)));
	pthread_mutex_unlock(&f->lock);
	if (!ok) {
		free(frame);
		return 0;
	}
	memcpy(out->base_id, s.base_id, KURA_HASH_SIZE);
	memcpy(out->last_id, s.last_id, KURA_HASH_SIZE);
	out->last_against = (s.flags & SLOT_AGAINST) != 0;
	out->frame_len = s.comp_len;
	if (!buf)
		return 1;
	/* a frame that says another size, or does not decompress to it, is damage */
	n = ZSTD_getFrameContentSize(frame, s.comp_len) == s.raw_len
		? ZSTD_decompress(buf, s.raw_len, frame, s.comp_len)
		: (size_t)-1;
	free(frame);
	if (ZSTD_isError(n) || n != s.raw_len)
		return 0;
	out->base_len = s.raw_len;
	return 1;
}

int kura_basefile_put(kura_basefile *f, uint64_t piece, const uint8_t id[KURA_HASH_SIZE],
		      int against, const uint8_t *plain, size_t len, const uint8_t *given,
		      size_t given_len)
{
	uint8_t b[SLOT], *own = NULL;
	const uint8_t *frame = given;
	size_t cap, n = given_len;
	slot s;

	if (piece >= MAX_PIECES || (!against && (len > BASE_MAX || n > BASE_MAX)))
		return 0;
	if (!against && !frame) {
		cap = ZSTD_compressBound(len);
		if (!(frame = own = malloc(cap)))
			return kura_error_set(KURA_ENOMEM, "out of memory");
		n = ZSTD_compress(own, cap, plain, len, LEVEL);
		if (ZSTD_isError(n)) {
			free(own);
			return 0;
		}
	}
	pthread_mutex_lock(&f->lock);
	if (against) {
		/* the base stays; only what was stored against it changes */
		if (read_slot(f, piece, &s)) {
			memcpy(s.last_id, id, KURA_HASH_SIZE);
			s.flags = SLOT_USED | SLOT_AGAINST;
			slot_encode(b, &s);
			pwrite_all(f->idx, b, SLOT, IDX_HEAD + piece * SLOT);
		}
	} else if (pwrite_all(f->dat, frame, n, f->dat_size)) {
		memcpy(s.base_id, id, KURA_HASH_SIZE);
		memcpy(s.last_id, id, KURA_HASH_SIZE);
		s.offset = f->dat_size;
		s.comp_len = (uint32_t)n;
		s.raw_len = (uint32_t)len;
		s.flags = SLOT_USED;
		f->dat_size += n;
		slot_encode(b, &s);
		pwrite_all(f->idx, b, SLOT, IDX_HEAD + piece * SLOT);
	}
	pthread_mutex_unlock(&f->lock);
	free(own);
	return 0;
}

/*
 * Copy the live frames to a new data file and point the slots at them.
 * Any failure leaves the old files, whose slots are still right.
 */
static void compact(kura_basefile *f, uint64_t live)
{
	char *tmp = NULL;
	uint8_t *frame = NULL, b[SLOT];
	uint64_t pos = 0, piece = 0;
	struct stat st;
	int out = -1;
	bool ok = true;

	if (asprintf(&tmp, "%s.tmp", f->dat_path) < 0 ||
	    (out = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
	    fstat(f->idx, &st) < 0 || !(frame = malloc(BASE_MAX)))
		goto done;
	/* pass 1: the frames, in slot order */
	for (piece = 0; IDX_HEAD + (piece + 1) * SLOT <= (uint64_t)st.st_size && ok; piece++) {
		slot s;

		if (!read_slot(f, piece, &s))
			continue;
		ok = pread_all(f->dat, frame, s.comp_len, s.offset) &&
		     pwrite_all(out, frame, s.comp_len, pos);
		pos += s.comp_len;
	}
	if (!ok || pos > live || fsync(out) < 0 || rename(tmp, f->dat_path) < 0)
		goto done;
	/* pass 2: the slots (a crash between the passes leaves slots that fail their checks) */
	pos = 0;
	for (piece = 0; IDX_HEAD + (piece + 1) * SLOT <= (uint64_t)st.st_size; piece++) {
		slot s;

		if (!read_slot(f, piece, &s))
			continue;
		s.offset = pos;
		pos += s.comp_len;
		slot_encode(b, &s);
		pwrite_all(f->idx, b, SLOT, IDX_HEAD + piece * SLOT);
	}
done:
	if (out >= 0)
		close(out);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(frame);
}

void kura_basefile_close(kura_basefile *f)
{
	if (!f)
		return;
	if (f->idx >= 0 && f->dat >= 0 && f->dat_size > COMPACT_SLACK) {
		struct stat st;
		uint64_t live = 0;

		if (fstat(f->idx, &st) == 0) {
			for (uint64_t p = 0; IDX_HEAD + (p + 1) * SLOT <= (uint64_t)st.st_size; p++) {
				slot s;

				if (read_slot(f, p, &s))
					live += s.comp_len;
			}
			if (f->dat_size > 2 * live + COMPACT_SLACK)
				compact(f, live);
		}
	}
	if (f->idx >= 0)
		close(f->idx);
	if (f->dat >= 0)
		close(f->dat);
	pthread_mutex_destroy(&f->lock);
	free(f->idx_path);
	free(f->dat_path);
	free(f);
}
