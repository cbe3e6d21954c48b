/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyless.h - what a store that holds no key may know about a repository:
 * file names are SHA-256 hashes of their bytes, and snapshot files carry a
 * plaintext header with the client's claimed time and the packs they
 * reference.  The vault (kurad) and object-store backends build on this.
 *
 * It can also judge most of a file's structure: kura_keyless_validate()
 * is what a store refuses at upload time, so that a stolen writer
 * credential cannot store junk that no reader could ever parse.
 */
#ifndef KURA_KEYLESS_H
#define KURA_KEYLESS_H

#include <stddef.h>
#include <stdint.h>

#include "kura/backend.h"
#include "kura/kura.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Incremental SHA-256 for data that arrives in pieces (an upload). */
typedef struct kura_hasher kura_hasher;

int kura_hasher_new(kura_hasher **out);
void kura_hasher_update(kura_hasher *h, const void *data, size_t len);
/* The lowercase hex digest: what the file's name must be. */
void kura_hasher_final(kura_hasher *h, char out[KURA_ID_HEX]);
void kura_hasher_free(kura_hasher *h);

/* 1 if `name` is a valid repository file name (64 lowercase hex digits); 0 for NULL. */
int kura_file_name_ok(const char *name);

/*
 * Read a snapshot file's plaintext header without a key: the client's
 * claimed time and the names of the packs it references.  *out_packs is
 * malloc'd (count entries of 65 bytes: hex and NUL).  KURA_ECORRUPT for a
 * file that is not a valid snapshot header.
 */
int kura_snapshot_peek(const uint8_t *data, size_t len, int64_t *out_client_time_ns,
		       char (**out_packs)[KURA_ID_HEX], size_t *out_count);

/*
 * Every check a store without a key can make on a whole file of `type`
 * (docs/FORMAT.md, "What a store without a key can check"): not empty;
 * config: the full decoder (every field is plaintext); key: a restore key
 * (kind 1, 276 bytes, KDF limits; a backup key never belongs in a
 * repository); snapshot: the header, sorted unique pack names, room for
 * the sealed key and an encrypted body of 28 .. 16 MiB + 28 bytes; index: the header,
 * 1..2^20 pack names and an encrypted part of a whole number of records;
 * pack: at most 4 GiB - 1, the header, the footer and a trailer length
 * consistent with the size.  Every file the real writer produces passes.  0, or KURA_ECORRUPT
 * / KURA_EUNSUPPORTED with a message naming the type and the field
 * ("index: pack count 0 out of range (1..1048576)"); KURA_EINVAL for an
 * unknown type.
 */
int kura_keyless_validate(kura_file_type type, const uint8_t *data, size_t len);

/*
 * The same on a whole file open for reading (the vault's temporary file of
 * an upload).  It is mapped, not read: a pack of 1 GiB costs two pages, an
 * index one.  KURA_EIO if it cannot be mapped.
 */
int kura_keyless_validate_fd(kura_file_type type, int fd);

/* Pack names with their sizes (malloc'd; free with kura_pack_list_free). */
typedef struct {
	char (*names)[KURA_ID_HEX];
	uint64_t *sizes;
	size_t count;
} kura_pack_list;

void kura_pack_list_free(kura_pack_list *l);

struct kura_backend;

/*
 * Keyless garbage collection's plan: the packs stored in `b` that no
 * snapshot's plaintext pack list names, counting the snapshots in `gone`
 * (which the caller is about to remove) as removed already.  Every other
 * snapshot is read, its SHA-256 compared with its name and its header
 * parsed; a snapshot that fails makes the whole plan fail (KURA_ECORRUPT
 * naming it), because its packs are then unknown and nothing may be
 * collected.  The result is sorted by name.
 */
int kura_gc_unreferenced(struct kura_backend *b, const char (*gone)[KURA_ID_HEX], size_t ngone,
			 kura_pack_list *out);

#ifdef __cplusplus
}
#endif
#endif
