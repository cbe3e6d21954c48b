/* SPDX-License-Identifier: Apache-2.0 */
/*
 * indexfile.c - index files (docs/FORMAT.md, "Index files").
 *
 * Layout: magic, version, a random salt, the plaintext list of P pack names,
 * then one AES-GCM box under HKDF(index_key, salt, "kura index v1") whose
 * AAD is every byte before it, holding a u32 record count and 52-byte
 * records (a u32 pack ordinal and a pack trailer entry).  Because the pack
 * list is authenticated as AAD, a keyless store can read it but nobody
 * without the index key can alter it unnoticed.
 *
 * The decoder checks P and the record count against the bytes present
 * before allocating, every ordinal against P, and every entry with the same
 * rules as a pack trailer (kura_pack__entry_decode).
 */
#include "format/indexfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"

#define INDEX_MAGIC "KURAINDX"
#define INDEX_VERSION 1
#define INDEX_INFO "kura index v1"
#define INDEX_MAX_PACKS (1u << 20)
#define INDEX_MAX_RECORDS (1u << 26)
#define INDEX_RECORD_SIZE (4 + KURA_PACK_ENTRY_SIZE)

/* An entry's position must be a possible one in a pack (after the header, below 4 GiB). */
static int entry_position_check(const kura_pack_entry *e, const char *where)
{
	if (e->offset < KURA_PACK_HEADER_SIZE ||
	    (uint64_t)e->offset + e->stored_len > KURA_PACK_MAX_SIZE)
		return kura_error_set(KURA_ECORRUPT, "%s: offset %u length %u out of range", where,
				      e->offset, e->stored_len);
	return 0;
}

int kura_indexfile_encode(uint8_t **out, size_t *out_len, uint8_t out_name[KURA_HASH_SIZE],
			  const kura_keys *keys, const kura_indexfile *idx)
{
	kura_buf b = KURA_BUF_INIT, plain = KURA_BUF_INIT;
	uint8_t head[12] = INDEX_MAGIC;
	uint8_t salt[32];
	uint8_t key[KURA_KEY_SIZE];
	size_t aad_len;
	char where[40];
	int err = 0;

	*out = NULL;
	*out_len = 0;
	memset(key, 0, sizeof(key));
	if (idx->npacks < 1 || idx->npacks > INDEX_MAX_PACKS)
		return kura_error_set(KURA_EINVAL, "index: %zu packs (must be 1..%u)", idx->npacks,
				      INDEX_MAX_PACKS);
	if (idx->nrecords > INDEX_MAX_RECORDS)
		return kura_error_set(KURA_EINVAL, "index: %zu records (at most %u)", idx->nrecords,
				      INDEX_MAX_RECORDS);

	kura_random(salt, sizeof(salt));
	head[8] = INDEX_VERSION;
	if ((err = kura_buf_put(&b, head, sizeof(head))) < 0 ||
	    (err = kura_buf_put(&b, salt, sizeof(salt))) < 0 ||
	    (err = kura_buf_put_u32(&b, (uint32_t)idx->npacks)) < 0 ||
	    (err = kura_buf_put(&b, idx->packs, idx->npacks * KURA_HASH_SIZE)) < 0)
		goto done;
	aad_len = b.len;

	if ((err = kura_buf_reserve(&plain, 4 + idx->nrecords * INDEX_RECORD_SIZE)) < 0 ||
	    (err = kura_buf_put_u32(&plain, (uint32_t)idx->nrecords)) < 0)
		goto done;
	for (size_t i = 0; i < idx->nrecords; i++) {
		const kura_index_record *rec = &idx->records[i];
		uint8_t raw[KURA_PACK_ENTRY_SIZE];

		snprintf(where, sizeof(where), "index: record %zu", i);
		if (rec->pack >= idx->npacks) {
			err = kura_error_set(KURA_EINVAL,
					     "%s: pack ordinal %u out of range (%zu packs)", where,
					     rec->pack, idx->npacks);
			goto done;
		}
		if ((err = kura_pack__entry_check(&rec->blob, where)) < 0 ||
		    (err = entry_position_check(&rec->blob, where)) < 0) {
			err = kura_error_wrap(KURA_EINVAL, "invalid index");
			goto done;
		}
		kura_pack__entry_encode(raw, &rec->blob);
		if ((err = kura_buf_put_u32(&plain, rec->pack)) < 0 ||
		    (err = kura_buf_put(&plain, raw, sizeof(raw))) < 0)
			goto done;
	}

	if ((err = kura_hkdf(key, keys->index_key, salt, INDEX_INFO)) < 0)
		goto done;
	if ((err = kura_buf_reserve(&b, plain.len + KURA_AEAD_OVERHEAD)) < 0)
		goto done;
	if ((err = kura_aead_seal(b.data + b.len, key, b.data, aad_len, plain.data, plain.len)) < 0)
		goto done;
	b.len += plain.len + KURA_AEAD_OVERHEAD;
	kura_sha256(out_name, b.data, b.len);
	*out = kura_buf_detach(&b, out_len);
done:
	kura_wipe(key, sizeof(key));
	kura_buf_free(&b);
	kura_buf_free_wipe(&plain);
	return err;
}

/*
 * Parse the plaintext part: after this the reader stands at the AEAD box,
 * *salt and *names point into the data.
 */
static int parse_header(kura_reader *r, const uint8_t **salt, const uint8_t **names,
			uint32_t *npacks)
{
	const uint8_t *magic = NULL;
	uint8_t version = 0, reserved[3] = {0};
	int err;

	if ((err = kura_reader_view(r, &magic, 8, "magic")) < 0)
		return err;
	if (memcmp(magic, INDEX_MAGIC, 8) != 0)
		return kura_error_set(KURA_ECORRUPT, "index: bad magic (not a kura index file)");
	if ((err = kura_reader_u8(r, &version, "version")) < 0)
		return err;
	if (version != INDEX_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED, "index: version %u is not supported",
				      version);
	if ((err = kura_reader_bytes(r, reserved, 3, "reserved")) < 0)
		return err;
	if (reserved[0] || reserved[1] || reserved[2])
		return kura_error_set(KURA_ECORRUPT, "index: reserved header bytes are not zero");
	if ((err = kura_reader_view(r, salt, 32, "salt")) < 0 ||
	    (err = kura_reader_u32(r, npacks, "pack count")) < 0)
		return err;
	if (*npacks < 1 || *npacks > INDEX_MAX_PACKS)
		return kura_error_set(KURA_ECORRUPT, "index: pack count %u out of range (1..%u)",
				      *npacks, INDEX_MAX_PACKS);
	if ((err = kura_reader_view(r, names, (size_t)*npacks * KURA_HASH_SIZE, "pack names")) < 0)
		return err;
	if (kura_reader_left(r) < KURA_AEAD_OVERHEAD + 4)
		return kura_error_set(KURA_ECORRUPT,
				      "index: truncated: %zu bytes left for the encrypted records",
				      kura_reader_left(r));
	return 0;
}

int kura_indexfile_check(const uint8_t *data, size_t len)
{
	const uint8_t *salt = NULL, *names = NULL;
	uint32_t npacks = 0;
	size_t records;
	kura_reader r;
	int err;

	kura_reader_init(&r, data, len, "index");
	if ((err = parse_header(&r, &salt, &names, &npacks)) < 0)
		return err;
	/* The records' length is the box's less the AEAD and the count: no key needed. */
	records = kura_reader_left(&r) - KURA_AEAD_OVERHEAD - 4;
	if (records % INDEX_RECORD_SIZE != 0)
		return kura_error_set(KURA_ECORRUPT,
				      "index: encrypted records of %zu bytes are not whole %d-byte "
				      "records",
				      records, INDEX_RECORD_SIZE);
	if (records / INDEX_RECORD_SIZE > INDEX_MAX_RECORDS)
		return kura_error_set(KURA_ECORRUPT, "index: %zu records exceed %u",
				      records / INDEX_RECORD_SIZE, INDEX_MAX_RECORDS);
	return 0;
}

int kura_indexfile_packs(uint8_t (**out)[KURA_HASH_SIZE], size_t *out_count, const uint8_t *data,
			 size_t len)
{
	const uint8_t *salt = NULL, *names = NULL;
	uint8_t(*packs)[KURA_HASH_SIZE];
	uint32_t npacks = 0;
	kura_reader r;
	int err;

	*out = NULL;
	*out_count = 0;
	kura_reader_init(&r, data, len, "index");
	if ((err = parse_header(&r, &salt, &names, &npacks)) < 0)
		return err;
	if (!(packs = malloc((size_t)npacks * KURA_HASH_SIZE)))
		return kura_error_set(KURA_ENOMEM, "index: out of memory (%u packs)", npacks);
	memcpy(packs, names, (size_t)npacks * KURA_HASH_SIZE);
	*out = packs;
	*out_count = npacks;
	return 0;
}

int kura_indexfile_decode(kura_indexfile **out, const kura_keys *keys, const uint8_t *data,
			  size_t len)
{
	const uint8_t *salt = NULL, *names = NULL;
	kura_indexfile *idx = NULL;
	uint8_t key[KURA_KEY_SIZE];
	uint8_t *plain = NULL;
	size_t aad_len, box_len, plain_len = 0, count;
	uint32_t npacks = 0, n;
	char where[40];
	kura_reader r;
	int err = 0;

	*out = NULL;
	memset(key, 0, sizeof(key));
	kura_reader_init(&r, data, len, "index");
	if ((err = parse_header(&r, &salt, &names, &npacks)) < 0)
		goto done;
	aad_len = r.pos;
	box_len = kura_reader_left(&r);
	plain_len = box_len - KURA_AEAD_OVERHEAD;
	/* Bounded by the bytes present. */
	if (!(plain = malloc(plain_len))) {
		err = kura_error_set(KURA_ENOMEM, "index: out of memory (%zu bytes)", plain_len);
		goto done;
	}
	if ((err = kura_hkdf(key, keys->index_key, salt, INDEX_INFO)) < 0)
		goto done;
	if ((err = kura_aead_open(plain, key, data, aad_len, data + aad_len, box_len)) < 0) {
		err = kura_error_wrap(err, "index: records at offset %zu", aad_len);
		goto done;
	}
	n = kura_get_le32(plain);
	if (n > INDEX_MAX_RECORDS) {
		err = kura_error_set(KURA_ECORRUPT, "index: record count %u exceeds %u", n,
				     INDEX_MAX_RECORDS);
		goto done;
	}
	if ((uint64_t)n * INDEX_RECORD_SIZE != plain_len - 4) {
		err = kura_error_set(KURA_ECORRUPT, "index: %zu bytes of records, not %u records",
				     plain_len - 4, n);
		goto done;
	}
	count = n;

	if (!(idx = calloc(1, sizeof(*idx))) ||
	    !(idx->packs = malloc((size_t)npacks * KURA_HASH_SIZE)) ||
	    !(idx->records = calloc(count ? count : 1, sizeof(*idx->records)))) {
		err = kura_error_set(KURA_ENOMEM, "index: out of memory (%zu records)", count);
		goto done;
	}
	memcpy(idx->packs, names, (size_t)npacks * KURA_HASH_SIZE);
	idx->npacks = npacks;
	for (size_t i = 0; i < count; i++) {
		const uint8_t *p = plain + 4 + i * INDEX_RECORD_SIZE;
		kura_index_record *rec = &idx->records[i];

		snprintf(where, sizeof(where), "index: record %zu", i);
		rec->pack = kura_get_le32(p);
		if (rec->pack >= npacks) {
			err = kura_error_set(KURA_ECORRUPT,
					     "%s: pack ordinal %u out of range (%u packs)", where,
					     rec->pack, npacks);
			goto done;
		}
		if ((err = kura_pack__entry_decode(&rec->blob, p + 4, where)) < 0 ||
		    (err = entry_position_check(&rec->blob, where)) < 0)
			goto done;
	}
	idx->nrecords = count;
	*out = idx;
	idx = NULL;
done:
	kura_wipe(key, sizeof(key));
	if (plain) {
		kura_wipe(plain, plain_len);
		free(plain);
	}
	kura_indexfile_free(idx);
	return err;
}

void kura_indexfile_free(kura_indexfile *idx)
{
	if (!idx)
		return;
	free(idx->packs);
	free(idx->records);
	free(idx);
}
