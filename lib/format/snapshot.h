/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.h - snapshot files (docs/FORMAT.md, "Snapshot files").
 *
 * The plaintext header carries what a keyless store needs: the client's
 * claimed time and the sorted list of every pack the snapshot references
 * (data and trees), so a vault can enforce retention and collect garbage
 * without a key.  The body (root tree, paths, host, tags, statistics) is
 * JSON, encrypted under a per-snapshot data key sealed to the repository
 * public key: a backup key can write snapshots but not read them.
 */
#ifndef KURA_FORMAT_SNAPSHOT_H
#define KURA_FORMAT_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keyfile.h"

#define KURA_SNAPSHOT_MAX_PACKS (1u << 24)

typedef struct {
	int64_t time_ns;                        /* client's clock, ns since the epoch */
	uint8_t (*packs)[KURA_HASH_SIZE];       /* sorted, unique */
	size_t npacks;

	bool readable;                          /* body decrypted (restore key) */
	uint8_t tree[KURA_HASH_SIZE];
	char *hostname;
	char *username;
	char **paths;
	size_t npaths;
	char **tags;
	size_t ntags;
	char **excludes;
	size_t nexcludes;
	bool has_parent;
	uint8_t parent[KURA_HASH_SIZE];
	char *program;                          /* "kura 0.1.0" */
	uint64_t files, dirs, bytes;            /* statistics at backup time */
	char **changed;                         /* files that changed while read (sorted) */
	size_t nchanged;

	/* detection (docs/DETECTION.md): the summary is in the plaintext header (version 2) */
	char *summary;                          /* its JSON text, or NULL (version 1) */
	int verdict;                            /* KURA_DETECTION_* (keyless.h) from the summary */
	int score;
	char *detection;                        /* the body's record (JSON text), or NULL */
} kura_snapshot;

/* A writer lists at most this many changed files (and KURA_SNAPSHOT_CHANGED_BYTES of paths). */
#define KURA_SNAPSHOT_MAX_CHANGED 10000
#define KURA_SNAPSHOT_CHANGED_BYTES (4u << 20)

/*
 * Encode a snapshot (the body fields and header fields of `s`; packs must be
 * sorted and unique).  *out is malloc'd; out_name is the SHA-256 of it.
 */
int kura_snapshot_encode(uint8_t **out, size_t *out_len, uint8_t out_name[KURA_HASH_SIZE],
			 const kura_keys *keys, const kura_snapshot *s);

/*
 * Decode.  With a restore key the body is decrypted and validated
 * (readable = true); with a backup key or keys == NULL only the header is
 * (readable = false).  Free with kura_snapshot_free.
 */
int kura_snapshot_decode(kura_snapshot **out, const kura_keys *keys, const uint8_t *data,
			 size_t len);

/*
 * The checks a store without a key can make, as kura_snapshot_decode()
 * makes them without a key but allocating nothing: magic, version,
 * reserved bytes, pack count, pack names sorted and unique, the detection
 * summary of a version 2 header (keyless.h), room for the sealed key, an encrypted body of 28 .. 16 MiB + 28 bytes.
 */
int kura_snapshot_check(const uint8_t *data, size_t len);

void kura_snapshot_free(kura_snapshot *s);

/*
 * Whether `path` ("/dir/name" in the snapshot) is in the snapshot's list of
 * files that changed while they were read.  Names that are not UTF-8 are
 * compared as the list stores them (FORMAT.md): with U+FFFD for bad bytes.
 */
bool kura_snapshot_changed(const kura_snapshot *s, const char *path);

#endif
