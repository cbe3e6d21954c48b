/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fsread.c - reading a file of a mounted snapshot (kura_fs_file_*).
 *
 * An open file knows where each of its extents starts (computed once, so
 * a read finds its first extent by binary search, whatever the size of
 * the file); a read copies from the chunks that cover the range, through
 * the cache (fscache.h), and writes zeros for holes.  Nothing is read
 * ahead here: the kernel's read-ahead asks for what comes next, and the
 * cache keeps each chunk for the following pieces of it.
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "mount/fsint.h"

struct kura_fs_file {
	kura_fs *fs;
	const kura_node *node; /* owned by the inode table, valid until kura_fs_free */
	uint64_t *starts;      /* starts[i]: offset of extent i; starts[nextents]: the size */
};

int kura_fs_file_open(kura_fs_file **out, kura_fs *fs, uint64_t ino)
{
	const kura_node *n;
	kura_fs_file *f;
	fs_dir *d;
	size_t i;
	uint64_t at = 0;
	int err;

	*out = NULL;
	if ((err = kura_fs__node(fs, ino, &n, &d, &i)) < 0)
		return err;
	if (!n || (n->type != KURA_NODE_FILE && n->type != KURA_NODE_HARDLINK))
		return kura_error_set(KURA_EINVAL, "inode %llu is not a file",
				      (unsigned long long)ino);
	if (!(f = calloc(1, sizeof(*f))) ||
	    !(f->starts = malloc(((size_t)n->nextents + 1) * sizeof(*f->starts)))) {
		free(f);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	for (uint32_t k = 0; k < n->nextents; k++) {
		f->starts[k] = at;
		at += n->extents[k].len; /* the decoder checked that the sum is the size */
	}
	f->starts[n->nextents] = at;
	f->fs = fs;
	f->node = n;
	*out = f;
	return 0;
}

void kura_fs_file_close(kura_fs_file *f)
{
	if (!f)
		return;
	free(f->starts);
	free(f);
}

/* The extent that holds byte `offset` (< the file's size). */
static uint32_t extent_at(const kura_fs_file *f, uint64_t offset)
{
	uint32_t lo = 0, hi = f->node->nextents;

	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (f->starts[mid] <= offset)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int kura_fs_file_read(kura_fs_file *f, uint64_t offset, void *buf, size_t size, size_t *out_len)
{
	const kura_node *n = f->node;
	uint64_t end = f->starts[n->nextents];
	uint8_t *p = buf;
	size_t done = 0;
	uint32_t k;

	*out_len = 0;
	if (offset >= end || size == 0)
		return 0;
	if (size > end - offset)
		size = (size_t)(end - offset);
	for (k = extent_at(f, offset); done < size && k < n->nextents; k++) {
		const kura_extent *e = &n->extents[k];
		uint64_t in = offset + done - f->starts[k];
		size_t len = (size_t)(e->len - in < size - done ? e->len - in : size - done);
		kura_fschunk *ch;
		int err;

		if (e->kind == KURA_EXTENT_HOLE) {
			memset(p + done, 0, len);
		} else {
			if ((err = kura_fscache_get(f->fs->cache, e->id, e->len, &ch)) < 0)
				return err;
			memcpy(p + done, kura_fschunk_data(ch) + in, len);
			kura_fscache_put(f->fs->cache, ch);
		}
		done += len;
	}
	*out_len = done;
	return 0;
}
