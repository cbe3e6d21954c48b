/* SPDX-License-Identifier: Apache-2.0 */
/*
 * archbase.c - a piece of a database file stored against its base, the
 * last version of the piece stored on its own (docs/FORMAT.md, "Blobs
 * stored against another"; the bases are the client's, basestore.h).
 *
 * For each piece: its id first, then its slot.  The piece unchanged since
 * its base, or since what was last stored against it, is reused as it is
 * without touching the base's bytes (most pieces, most days).  A changed
 * piece is stored against the base when the frame pays
 * (kura_pack_writer_add_ref); when it does not, it is stored on its own
 * and becomes the new base.  The base's plaintext is checked against its
 * id before use, and the blobstore uses it only while the repository holds
 * it stored on its own, so neither a damaged client copy nor a pruned
 * base can make a piece unreadable; they only cost a full store.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "repo/archiver.h"

int kura_backup__store_piece(archiver *a, file_state *f, uint64_t offset, const uint8_t *data,
			     size_t len, const kura_comp_hint *hint, kura_extent *ext,
			     size_t *out_stored)
{
	uint64_t piece = offset / KURA_CHUNK_PAGES_SIZE;
	kura_blobstore_ref ref = {.max_payload = SIZE_MAX};
	kura_buf frame = KURA_BUF_INIT;
	kura_base_slot slot;
	uint8_t check[KURA_HASH_SIZE], *base = NULL;
	bool have, same_base, same_last;
	int used = 0, err;

	if ((err = kura_mac_compute(a->repo->mac, ext->id, data, len)) < 0)
		return err;
	have = kura_basefile_get(f->bases, piece, &slot, NULL, 0) == 1;
	same_base = have && memcmp(ext->id, slot.base_id, KURA_HASH_SIZE) == 0;
	same_last = have && slot.last_against && memcmp(ext->id, slot.last_id, KURA_HASH_SIZE) == 0;
	if (have && !same_base) {
		memcpy(ref.id, slot.base_id, KURA_HASH_SIZE);
		memcpy(ref.last_id, slot.last_id, KURA_HASH_SIZE);
		ref.last_against = slot.last_against;
		/* unchanged since last time: the reuse needs no plaintext */
		if (!same_last) {
			if (!(base = malloc(KURA_CHUNK_PAGES_SIZE)))
				return kura_error_set(KURA_ENOMEM, "out of memory");
			if (kura_basefile_get(f->bases, piece, &slot, base, KURA_CHUNK_PAGES_SIZE) == 1 &&
			    kura_mac_compute(a->repo->mac, check, base, slot.base_len) == 0 &&
			    memcmp(check, slot.base_id, KURA_HASH_SIZE) == 0) {
				ref.plain = base;
				ref.len = slot.base_len;
				/* a version of the same piece: it weighs about what the base does */
				ref.alone_estimate = slot.frame_len;
			}
		}
	}
	err = kura_blobstore_add_ref(a->store, KURA_BLOB_DATA, data, len, hint,
				     have && !same_base ? &ref : NULL, ext->id, 1, out_stored, &used,
				     &frame);
	if (base) {
		kura_wipe(base, KURA_CHUNK_PAGES_SIZE);
		free(base);
	}
	if (err < 0)
		goto done;
	if (used) {
		ext->has_ref = 1;
		memcpy(ext->ref, ref.id, KURA_HASH_SIZE);
	}
	/*
	 * The slot changes unless the piece is its base, or what was last
	 * stored against it; a new base keeps the frame the pack got, not a
	 * second compression.
	 */
	if (used ? !same_last : !same_base)
		err = kura_basefile_put(f->bases, piece, ext->id, used, data, len,
					frame.len ? frame.data : NULL, frame.len);
done:
	kura_wipe(frame.data, frame.cap);
	kura_buf_free(&frame);
	return err;
}
