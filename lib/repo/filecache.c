/* SPDX-License-Identifier: Apache-2.0 */
/*
 * filecache.c - the incremental-backup file cache (see filecache.h).
 *
 * File format (private to this implementation, little-endian): the magic
 * "KURAFC03", then one record per file:
 *
 *   u32 body length, 8-byte check, then the body:
 *   u16 path length, path (no NUL), u64 dev, u64 ino, u64 size,
 *   i64 mtime ns, i64 ctime ns, u32 extent count, u8 chunking (the
 *   parameter set the next backup of the file uses, KURA_CHUNKING_*),
 *   extents as in trees (u8 kind, u64 length, 32-byte id for chunks,
 *   and for kind 2, a chunk stored against another blob, that blob's id)
 *
 * The check is SipHash-2-4 (libsodium's crypto_shorthash) of the body
 * under an all-zero key: it catches damage, not an attacker (who could
 * write the file could compute it; see THREATS.md on the file cache).
 * Records are strictly ascending in walk order (kura_filecache_path_cmp).
 * A reader stops at the first record that is cut short, longer than the
 * rest of the file, out of order or otherwise damaged: the records before
 * it stay usable.  A record is trusted only if its check matches, its
 * extents parse to exactly its body and add up to its size (only a hit is
 * checked: records passed over cost no hashing).  "KURAFC01" (unsorted,
 * without lengths or checks) is an old cache: not parsed, so treated as
 * empty.  "KURAFC02" is read as well: the same records without the
 * chunking byte (read as large), so an upgrade costs no full read.
 *
 * Memory.  The old file is read forward through one window (1 MiB, grown
 * only for a single record larger than that), each lookup advancing the
 * cursor past the records that sort before its path.  The new file is
 * written in ticket order: a record whose earlier tickets are still open
 * waits in a ring of PENDING_MAX slots, and kura_filecache_reserve() blocks
 * while the ring or the bytes held in it are full.  Both are bounded
 * independently of the number of files.  As a last guard the writer drops
 * any record that would not ascend, so the file it writes is always
 * sorted.
 */
#include "repo/filecache.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"

#define CACHE_MAGIC "KURAFC03"
#define CACHE_MAGIC_V2 "KURAFC02"
#define CACHE_MAX_BYTES (4ull << 30)
#define WINDOW ((size_t)1 << 20)
#define CHECK_BYTES crypto_shorthash_BYTES
#define HEAD_BYTES (4 + CHECK_BYTES) /* body length, check */
#define FIXED_BYTES 45 /* dev, ino, size, mtime, ctime, extent count, chunking */
#define FIXED_BYTES_V2 44 /* the same without chunking */
#define HOLE_BYTES 9
#define CHUNK_BYTES (HOLE_BYTES + KURA_HASH_SIZE)
#define PATH_MAX_BYTES UINT16_MAX
#define PENDING_MAX 4096
#define PENDING_MAX_BYTES ((size_t)16 << 20)

/* The old cache, read forward: a merge join with the walk. */
typedef struct {
	int fd;
	uint8_t *buf;
	size_t cap, len, pos; /* the window buf[0..len); the current record at pos */
	uint64_t left;        /* bytes of the file after the window */
	bool ok;              /* false: no more records (end, damage or disorder) */
	size_t fixed;         /* FIXED_BYTES, or FIXED_BYTES_V2 in an older cache */
	bool have;            /* a record is current at pos */
	uint32_t body;        /* the current record's body length */
	char *prev;           /* the current record's path: the next must sort after it */
	size_t prev_len;
	bool has_prev;
	kura_extent *ext;     /* the extents of the last hit */
	uint32_t ext_cap;
} cache_cursor;

/* A place in the new cache, in walk order. */
typedef struct {
	uint8_t *rec; /* the encoded record; NULL: nothing to write */
	size_t len;
	bool done;
} pending;

struct kura_filecache {
	char *dir;
	char *path;
	char *tmp_path;
	cache_cursor old;
	FILE *out;
	pthread_mutex_t lock;
	pthread_cond_t room;
	pending *ring;     /* PENDING_MAX slots, ticket t in ring[t % PENDING_MAX] */
	uint64_t head;     /* the oldest ticket not yet written */
	uint64_t next;     /* the next ticket to hand out */
	size_t held_bytes; /* of records done but waiting for an earlier ticket */
	char *last;        /* the last path written */
	size_t last_len;
	bool has_last;
	bool looked_up;    /* the last lookup found its path: kura_filecache_previous may answer */
	bool decoded;      /* ... and its record is checked and its extents in old.ext */
	int failed;        /* a write to the new cache failed: do not commit it */
};

static int64_t ns_of(struct timespec ts) { return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec; }

/* A component ends at '/', so '/' sorts before every byte a name can hold. */
static int walk_rank(uint8_t c) { return c == '/' ? 0 : c + 1; }

static int walk_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen, i = 0;

	while (i < n && a[i] == b[i])
		i++;
	if (i < n)
		return walk_rank(a[i]) - walk_rank(b[i]);
	return alen < blen ? -1 : alen > blen;
}

int kura_filecache_path_cmp(const char *a, const char *b)
{
	return walk_cmp((const uint8_t *)a, strlen(a), (const uint8_t *)b, strlen(b));
}

static int mkdir_p(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return kura_error_errno(KURA_EIO, errno, "cannot create cache directory %s", path);
		}
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return kura_error_errno(KURA_EIO, errno, "cannot create cache directory %s", path);
	return 0;
}

char *kura_filecache_default_dir(void)
{
	const char *env = getenv("KURA_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
		   *home = getenv("HOME");
	char *out = NULL;

	if (env && *env)
		return strdup(env);
	if (xdg && *xdg) {
		if (asprintf(&out, "%s/kura", xdg) < 0)
			return NULL;
		return out;
	}
	if (asprintf(&out, "%s/.cache/kura", home && *home ? home : "/tmp") < 0)
		return NULL;
	return out;
}

/* ---------------------------------------------------------------------- */
/* Reading the old cache                                                   */

static void cursor_open(cache_cursor *k, const char *path)
{
	uint8_t magic[8];
	struct stat st;

	k->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (k->fd < 0)
		return;
	if (fstat(k->fd, &st) < 0 || (uint64_t)st.st_size > CACHE_MAX_BYTES || st.st_size < 8 ||
	    read(k->fd, magic, 8) != 8)
		return;
	if (memcmp(magic, CACHE_MAGIC, 8) == 0)
		k->fixed = FIXED_BYTES;
	else if (memcmp(magic, CACHE_MAGIC_V2, 8) == 0)
		k->fixed = FIXED_BYTES_V2;
	else
		return;
	k->left = (uint64_t)st.st_size - 8;
	k->prev = malloc(PATH_MAX_BYTES);
	k->ok = k->prev != NULL;
}

static void cursor_close(cache_cursor *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	free(k->buf);
	free(k->prev);
	free(k->ext);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

/*
 * Make buf[pos..pos+need) hold file bytes: slide the window, grow it for
 * a record larger than it, read on.  False when the file ends first (or
 * on a read error or out of memory: the cache just ends there).
 */
static bool window_ensure(cache_cursor *k, size_t need)
{
	size_t have = k->len - k->pos;

	if (have >= need)
		return true;
	if (need - have > k->left)
		return false;
	if (have)
		memmove(k->buf, k->buf + k->pos, have);
	k->len = have;
	k->pos = 0;
	if (need > k->cap || !k->buf) {
		size_t cap = k->cap ? k->cap : WINDOW;
		uint8_t *bigger;

		while (cap < need)
			cap *= 2;
		if (!(bigger = realloc(k->buf, cap)))
			return false;
		k->buf = bigger;
		k->cap = cap;
	}
	while (k->len < need) {
		size_t want = k->cap - k->len;
		ssize_t n;

		if (want > k->left)
			want = (size_t)k->left;
		n = read(k->fd, k->buf + k->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		k->len += (size_t)n;
		k->left -= (uint64_t)n;
	}
	return true;
}

static const uint8_t *rec_body(const cache_cursor *k) { return k->buf + k->pos + HEAD_BYTES; }
static size_t rec_path_len(const cache_cursor *k) { return kura_get_le16(rec_body(k)); }
static const uint8_t *rec_path(const cache_cursor *k) { return rec_body(k) + 2; }
static const uint8_t *rec_fixed(const cache_cursor *k) { return rec_path(k) + rec_path_len(k); }

/*
 * Make the record at pos current.  False at the end of the records: the
 * end of the file, or a record that is cut short, out of order or whose
 * lengths do not fit (the rest of the file is not trusted).
 */
static bool cursor_load(cache_cursor *k)
{
	size_t plen, room;
	uint32_t count;

	if (!k->ok)
		return false;
	k->ok = false;
	if (!window_ensure(k, HEAD_BYTES))
		return false;
	k->body = kura_get_le32(k->buf + k->pos);
	if (k->body < 2 + k->fixed || !window_ensure(k, HEAD_BYTES + (size_t)k->body))
		return false;
	plen = rec_path_len(k);
	if (2 + plen + k->fixed > k->body || memchr(rec_path(k), 0, plen))
		return false;
	room = k->body - 2 - plen - k->fixed;
	count = kura_get_le32(rec_fixed(k) + 40);
	/* between all holes and all chunks stored against another */
	if (count > room / HOLE_BYTES || room > (size_t)count * (CHUNK_BYTES + KURA_HASH_SIZE))
		return false;
	if (k->has_prev && walk_cmp((const uint8_t *)k->prev, k->prev_len, rec_path(k), plen) >= 0)
		return false;
	memcpy(k->prev, rec_path(k), plen);
	k->prev_len = plen;
	k->has_prev = true;
	k->ok = k->have = true;
	return true;
}

static void cursor_advance(cache_cursor *k)
{
	k->pos += HEAD_BYTES + (size_t)k->body;
	k->have = false;
}

/* Walk order of the current record against `path`; no record sorts last. */
static int cursor_cmp(cache_cursor *k, const char *path, size_t len)
{
	if (!k->have && !cursor_load(k))
		return 1;
	return walk_cmp(rec_path(k), rec_path_len(k), (const uint8_t *)path, len);
}

static bool stat_matches(const uint8_t *fixed, const struct stat *st)
{
	return kura_get_le64(fixed) == (uint64_t)st->st_dev &&
	       kura_get_le64(fixed + 8) == (uint64_t)st->st_ino &&
	       kura_get_le64(fixed + 16) == (uint64_t)st->st_size &&
	       (int64_t)kura_get_le64(fixed + 24) == ns_of(st->st_mtim) &&
	       (int64_t)kura_get_le64(fixed + 32) == ns_of(st->st_ctim);
}

/* The check of a record's body (the key only fills SipHash's argument). */
static void body_check(uint8_t out[CHECK_BYTES], const uint8_t *body, size_t len)
{
	static const uint8_t zero_key[crypto_shorthash_KEYBYTES];

	crypto_shorthash(out, body, len, zero_key);
}

static bool check_matches(const cache_cursor *k)
{
	uint8_t check[CHECK_BYTES];

	body_check(check, rec_body(k), k->body);
	return memcmp(check, k->buf + k->pos + 4, CHECK_BYTES) == 0;
}

/* Decode the current record's extents into k->ext; false if they are damaged. */
static bool decode_extents(cache_cursor *k)
{
	const uint8_t *fixed = rec_fixed(k), *p = fixed + k->fixed;
	const uint8_t *end = rec_body(k) + k->body;
	uint64_t size = kura_get_le64(fixed + 16), sum = 0;
	uint32_t count = kura_get_le32(fixed + 40);

	if (count > k->ext_cap) {
		kura_extent *bigger = realloc(k->ext, count * sizeof(*k->ext));

		if (!bigger)
			return false;
		k->ext = bigger;
		k->ext_cap = count;
	}
	for (uint32_t i = 0; i < count; i++) {
		kura_extent *x = &k->ext[i];

		if (end - p < HOLE_BYTES)
			return false;
		memset(x, 0, sizeof(*x));
		x->kind = p[0];
		x->len = kura_get_le64(p + 1);
		p += HOLE_BYTES;
		if (x->kind == KURA_EXTENT_CHUNK_REF) {
			x->kind = KURA_EXTENT_CHUNK;
			x->has_ref = 1;
		}
		if (x->kind == KURA_EXTENT_CHUNK) {
			if (end - p < KURA_HASH_SIZE * (x->has_ref ? 2 : 1))
				return false;
			memcpy(x->id, p, KURA_HASH_SIZE);
			p += KURA_HASH_SIZE;
			if (x->has_ref) {
				memcpy(x->ref, p, KURA_HASH_SIZE);
				p += KURA_HASH_SIZE;
				/* the tree would refuse it: a damaged record */
				if (memcmp(x->ref, x->id, KURA_HASH_SIZE) == 0)
					return false;
			}
		} else if (x->kind != KURA_EXTENT_HOLE) {
			return false;
		}
		if (x->len > size - sum)
			return false;
		sum += x->len;
	}
	return p == end && sum == size;
}

/* ---------------------------------------------------------------------- */

int kura_filecache_open(kura_filecache **out, const char *dir, const char *repo_id_hex)
{
	kura_filecache *c = calloc(1, sizeof(*c));
	int fd, err = 0;

	*out = NULL;
	if (!c)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	c->old.fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->room, NULL);
	c->dir = dir ? strdup(dir) : kura_filecache_default_dir();
	c->ring = calloc(PENDING_MAX, sizeof(*c->ring));
	c->last = malloc(PATH_MAX_BYTES);
	if (!c->dir || !c->ring || !c->last) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (asprintf(&c->path, "%s/%s/files", c->dir, repo_id_hex) < 0 ||
	    asprintf(&c->tmp_path, "%s/%s/files.%d.tmp", c->dir, repo_id_hex, (int)getpid()) < 0) {
		c->path = c->tmp_path = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	{
		char *repo_dir = strdup(c->path);

		if (!repo_dir) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		*strrchr(repo_dir, '/') = '\0';
		err = mkdir_p(repo_dir);
		free(repo_dir);
		if (err < 0)
			goto done;
	}
	cursor_open(&c->old, c->path);
	if ((fd = open(c->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    !(c->out = fdopen(fd, "wb"))) {
		err = kura_error_errno(KURA_EIO, errno, "cannot write cache file %s", c->tmp_path);
		goto done;
	}
	if (fwrite(CACHE_MAGIC, 1, 8, c->out) != 8)
		c->failed = 1;
done:
	if (err < 0)
		kura_filecache_free(c);
	else
		*out = c;
	return err;
}

int kura_filecache_lookup(kura_filecache *c, const char *path, const struct stat *st,
			  const kura_extent **out, uint32_t *out_count, int *out_known)
{
	cache_cursor *k = &c->old;
	size_t len = strlen(path);
	int cmp;

	*out_known = 0;
	c->looked_up = c->decoded = false;
	while ((cmp = cursor_cmp(k, path, len)) < 0)
		cursor_advance(k);
	if (cmp > 0)
		return 0; /* not in the cache, or looked up out of walk order */
	*out_known = 1;
	c->looked_up = true;
	if (!stat_matches(rec_fixed(k), st))
		return 0;
	if (!check_matches(k) || !decode_extents(k)) {
		k->ok = k->have = false; /* damaged: trust nothing after it either */
		c->looked_up = false;
		return 0;
	}
	c->decoded = true;
	*out = k->ext;
	*out_count = kura_get_le32(rec_fixed(k) + 40);
	return 1;
}

int kura_filecache_previous(kura_filecache *c, kura_filecache_prev *out)
{
	cache_cursor *k = &c->old;
	const uint8_t *fixed;

	memset(out, 0, sizeof(*out));
	if (!c->looked_up || !k->have)
		return 0;
	if (!c->decoded && (!check_matches(k) || !decode_extents(k))) {
		k->ok = k->have = false;
		c->looked_up = false;
		return 0;
	}
	c->decoded = true;
	fixed = rec_fixed(k);
	out->found = 1;
	out->dev = kura_get_le64(fixed);
	out->ino = kura_get_le64(fixed + 8);
	out->size = kura_get_le64(fixed + 16);
	/* any other value (damage, or a later version) is the safe default */
	out->chunking = k->fixed == FIXED_BYTES && (fixed[44] == KURA_CHUNKING_SMALL ||
						   fixed[44] == KURA_CHUNKING_PAGES)
			    ? fixed[44]
			    : KURA_CHUNKING_LARGE;
	out->extents = k->ext;
	out->count = kura_get_le32(fixed + 40);
	return 1;
}

/* ---------------------------------------------------------------------- */
/* Writing the new cache in walk order                                     */

uint64_t kura_filecache_reserve(kura_filecache *c)
{
	uint64_t t;

	pthread_mutex_lock(&c->lock);
	while (c->next - c->head >= PENDING_MAX || c->held_bytes > PENDING_MAX_BYTES)
		pthread_cond_wait(&c->room, &c->lock);
	t = c->next++;
	c->ring[t % PENDING_MAX] = (pending){0};
	pthread_mutex_unlock(&c->lock);
	return t;
}

/* Append one record if it sorts after the last one (caller holds the lock). */
static void write_record(kura_filecache *c, const uint8_t *rec, size_t len)
{
	size_t plen = kura_get_le16(rec + HEAD_BYTES);
	const uint8_t *path = rec + HEAD_BYTES + 2;

	if (c->has_last && walk_cmp((const uint8_t *)c->last, c->last_len, path, plen) >= 0)
		return; /* out of walk order: the reader would stop here, so leave it out */
	if (fwrite(rec, 1, len, c->out) != len)
		c->failed = 1;
	memcpy(c->last, path, plen);
	c->last_len = plen;
	c->has_last = true;
}

/* Close `ticket` with `rec` (owned, may be NULL); write what is now in order. */
static void finish(kura_filecache *c, uint64_t ticket, uint8_t *rec, size_t len)
{
	bool advanced = false;
	pending *p;

	pthread_mutex_lock(&c->lock);
	assert(ticket >= c->head && ticket < c->next && !c->ring[ticket % PENDING_MAX].done);
	c->ring[ticket % PENDING_MAX] = (pending){rec, len, true};
	c->held_bytes += len;
	while (c->head < c->next && (p = &c->ring[c->head % PENDING_MAX])->done) {
		if (p->rec)
			write_record(c, p->rec, p->len);
		free(p->rec);
		c->held_bytes -= p->len;
		*p = (pending){0};
		c->head++;
		advanced = true;
	}
	if (advanced)
		pthread_cond_broadcast(&c->room);
	pthread_mutex_unlock(&c->lock);
}

static size_t record_size(size_t plen, const kura_extent *extents, uint32_t count)
{
	size_t n = HEAD_BYTES + 2 + plen + FIXED_BYTES;

	for (uint32_t i = 0; i < count; i++)
		n += extents[i].kind != KURA_EXTENT_CHUNK ? HOLE_BYTES
		     : extents[i].has_ref		  ? CHUNK_BYTES + KURA_HASH_SIZE
							  : CHUNK_BYTES;
	return n;
}

static void encode_record(uint8_t *rec, size_t size, const char *path, size_t plen,
			  const struct stat *st, const kura_extent *extents, uint32_t count,
			  uint8_t chunking)
{
	uint8_t *p = rec + HEAD_BYTES;

	kura_le32(rec, (uint32_t)(size - HEAD_BYTES));
	kura_le16(p, (uint16_t)plen);
	memcpy(p + 2, path, plen);
	p += 2 + plen;
	kura_le64(p, (uint64_t)st->st_dev);
	kura_le64(p + 8, (uint64_t)st->st_ino);
	kura_le64(p + 16, (uint64_t)st->st_size);
	kura_le64(p + 24, (uint64_t)ns_of(st->st_mtim));
	kura_le64(p + 32, (uint64_t)ns_of(st->st_ctim));
	kura_le32(p + 40, count);
	p[44] = chunking;
	p += FIXED_BYTES;
	for (uint32_t i = 0; i < count; i++) {
		p[0] = extents[i].has_ref ? KURA_EXTENT_CHUNK_REF : extents[i].kind;
		kura_le64(p + 1, extents[i].len);
		p += HOLE_BYTES;
		if (extents[i].kind == KURA_EXTENT_CHUNK) {
			memcpy(p, extents[i].id, KURA_HASH_SIZE);
			p += KURA_HASH_SIZE;
		}
		if (extents[i].has_ref) {
			memcpy(p, extents[i].ref, KURA_HASH_SIZE);
			p += KURA_HASH_SIZE;
		}
	}
	body_check(rec + 4, rec + HEAD_BYTES, size - HEAD_BYTES);
}

int kura_filecache_record(kura_filecache *c, uint64_t ticket, const char *path,
			  const struct stat *st, const kura_extent *extents, uint32_t count)
{
	return kura_filecache_record_chunked(c, ticket, path, st, extents, count,
					     KURA_CHUNKING_LARGE);
}

int kura_filecache_record_chunked(kura_filecache *c, uint64_t ticket, const char *path,
				  const struct stat *st, const kura_extent *extents, uint32_t count,
				  uint8_t chunking)
{
	size_t plen = strlen(path), size;
	uint8_t *rec;

	size = record_size(plen, extents, count);
	if (plen > PATH_MAX_BYTES || size - HEAD_BYTES > UINT32_MAX) {
		finish(c, ticket, NULL, 0); /* not cacheable; the file is simply read next time */
		return 0;
	}
	if (!(rec = malloc(size))) {
		finish(c, ticket, NULL, 0);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	encode_record(rec, size, path, plen, st, extents, count, chunking);
	finish(c, ticket, rec, size);
	return 0;
}

void kura_filecache_skip(kura_filecache *c, uint64_t ticket) { finish(c, ticket, NULL, 0); }

int kura_filecache_commit(kura_filecache *c)
{
	int err = 0;

	pthread_mutex_lock(&c->lock);
	if (c->head != c->next)
		c->failed = 1; /* a place left open: the records after it were never written */
	pthread_mutex_unlock(&c->lock);
	if (fflush(c->out) != 0 || fsync(fileno(c->out)) < 0)
		c->failed = 1;
	fclose(c->out);
	c->out = NULL;
	cursor_close(&c->old);
	if (c->failed) {
		unlink(c->tmp_path);
		return kura_error_set(KURA_EIO, "could not write the file cache %s", c->tmp_path);
	}
	if (rename(c->tmp_path, c->path) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "cannot replace %s", c->path);
		unlink(c->tmp_path);
	}
	return err;
}

void kura_filecache_free(kura_filecache *c)
{
	if (!c)
		return;
	if (c->out) {
		fclose(c->out);
		unlink(c->tmp_path);
	}
	cursor_close(&c->old);
	for (size_t i = 0; c->ring && i < PENDING_MAX; i++)
		free(c->ring[i].rec);
	free(c->ring);
	free(c->last);
	free(c->dir);
	free(c->path);
	free(c->tmp_path);
	pthread_cond_destroy(&c->room);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
