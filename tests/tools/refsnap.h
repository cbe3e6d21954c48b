/* SPDX-License-Identifier: Apache-2.0 */
/*
 * refsnap.h - write snapshots whose file chunks are stored against other
 * blobs (docs/FORMAT.md, "Blobs stored against another"), as no backup
 * does yet: for tests/tools/refsnap.c (tests/e2e/refblobs.sh) and
 * tests/unit/test_refcheck.c.
 *
 * A file is cut into fixed pieces of REFSNAP_PIECE bytes.  Given the
 * previous version of the file (already stored, by an earlier refsnap
 * snapshot), each piece that differs from the old piece at the same place
 * is stored with kura_blobstore_add_ref() against that old piece, and its
 * tree extent names the old piece as its reference when the blobstore
 * used it.  The snapshot's pack list comes from kura_blobstore_packs(),
 * which then holds the references' packs too.  Test code: not installed.
 */
#ifndef KURA_REFSNAP_H
#define KURA_REFSNAP_H

#include "snaptool.h"

#include "common/error.h"
#include "crypto/crypto.h"

#define REFSNAP_PIECE (64u << 10)
#define REFSNAP_MAX_FILES 4

typedef struct {
	const char *name;    /* in the snapshot's root */
	const uint8_t *data; /* the file's content */
	size_t len;
	const uint8_t *old; /* its previous version, stored already; NULL: none */
	size_t old_len;
	int lie; /* REFSNAP_*: what the tree says of each reference */
} refsnap_file;

/*
 * What a tree says of the blob a chunk is stored against: the truth, or
 * what a hostile or broken writer could: nothing, a blob no index holds,
 * or another blob that is stored (the old version's next piece).
 */
enum { REFSNAP_TRUE = 0, REFSNAP_OMIT = 1, REFSNAP_UNKNOWN = 2, REFSNAP_OTHER = 3 };

/* The extents of one file: its pieces stored, some against the old version's. */
static inline int refsnap_store_file(kura_repo *repo, kura_blobstore *s, const refsnap_file *f,
				     kura_extent **out, uint32_t *out_n, unsigned *refs)
{
	size_t n = (f->len + REFSNAP_PIECE - 1) / REFSNAP_PIECE;
	kura_extent *x = calloc(n ? n : 1, sizeof(*x));
	int err = 0;

	*out = x;
	*out_n = 0;
	if (!x)
		return kura_error_set(KURA_ENOMEM, "refsnap: out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t at = i * REFSNAP_PIECE;
		size_t len = f->len - at < REFSNAP_PIECE ? f->len - at : REFSNAP_PIECE;
		size_t old_len =
		    f->old && f->old_len > at
			? (f->old_len - at < REFSNAP_PIECE ? f->old_len - at : REFSNAP_PIECE)
			: 0;
		kura_blobstore_ref ref = {.plain = old_len ? f->old + at : NULL, .len = old_len};
		size_t stored;
		int used = 0;

		x[i].kind = KURA_EXTENT_CHUNK;
		x[i].len = len;
		/* a piece that did not change is the old blob itself: plain dedup */
		if (old_len && !(old_len == len && memcmp(f->old + at, f->data + at, len) == 0)) {
			ref.max_payload = len / 2;
			if ((err = kura_mac_compute(repo->mac, ref.id, ref.plain, ref.len)) < 0)
				return err;
			err = kura_blobstore_add_ref(s, KURA_BLOB_DATA, f->data + at, len, NULL,
						     &ref, x[i].id, 0, &stored, &used, NULL);
		} else {
			err = kura_blobstore_add(s, KURA_BLOB_DATA, f->data + at, len, x[i].id);
		}
		if (err < 0)
			return err;
		if (used) {
			x[i].has_ref = f->lie != REFSNAP_OMIT;
			memcpy(x[i].ref, ref.id, KURA_HASH_SIZE);
			if (f->lie == REFSNAP_UNKNOWN)
				x[i].ref[0] ^= 0xff;
			if (f->lie == REFSNAP_OTHER &&
			    (err = kura_mac_compute(repo->mac, x[i].ref,
						    f->old + (at + REFSNAP_PIECE) % f->old_len,
						    REFSNAP_PIECE)) < 0)
				return err;
			(*refs)++;
		}
		(*out_n)++;
	}
	return 0;
}

/*
 * Store a snapshot of `count` files in one root directory; its id in
 * `out`, and in *refs how many chunks are stored against another.
 */
static inline int refsnap_write(kura_repo *repo, const refsnap_file *files, size_t count,
				char out[KURA_ID_HEX], unsigned *refs)
{
	kura_blobstore *s = NULL;
	kura_node nodes[REFSNAP_MAX_FILES];
	size_t done = 0;
	int err;

	*refs = 0;
	if (count > REFSNAP_MAX_FILES)
		return kura_error_set(KURA_EINVAL, "refsnap: at most %d files", REFSNAP_MAX_FILES);
	if ((err = kura_repo__load_index(repo)) < 0 || (err = kura_blobstore_new(&s, repo)) < 0)
		goto done;
	for (; done < count; done++) {
		snaptool_node(&nodes[done], KURA_NODE_FILE, files[done].name);
		nodes[done].size = files[done].len;
		nodes[done].mtime_sec = 1700000000;
		if ((err = refsnap_store_file(repo, s, &files[done], &nodes[done].extents,
					      &nodes[done].nextents, refs)) < 0) {
			done++;
			goto done;
		}
	}
	err = snaptool_commit(repo, s, nodes, count, "refsnap", out);
done:
	for (size_t i = 0; i < done; i++)
		free(nodes[i].extents);
	kura_blobstore_free(s);
	return err;
}

#endif
