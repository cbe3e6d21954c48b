/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snaptool.h - what the hostile-snapshot writers (deepsnap.c,
 * hostilesnap.c) share: opening the repository with the passphrase of
 * KURA_PASSWORD_FILE, filling in a node, storing a tree (its first name
 * patched after encoding, to write what the encoder refuses), and storing
 * the snapshot of a root tree.  Test code: not installed.
 */
#ifndef KURA_SNAPTOOL_H
#define KURA_SNAPTOOL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "format/snapshot.h"
#include "format/tree.h"
#include "repo/blobstore.h"
#include "repo/repo.h"

/* A tree's first node's name: after magic, version, reserved, count, type and length. */
#define SNAPTOOL_NAME_AT 15

static inline void snaptool_node(kura_node *n, uint8_t type, const char *name)
{
	memset(n, 0, sizeof(*n));
	n->name = (char *)name;
	n->type = type;
	n->mode = type == KURA_NODE_DIR ? 0755 : 0644;
	n->user = n->group = (char *)"";
}

/* Store a tree of `count` nodes, its first name overwritten with `patch` (or not); *id its id. */
static inline int snaptool_store(kura_blobstore *s, kura_node *nodes, size_t count,
				 const char *patch, uint8_t id[KURA_HASH_SIZE])
{
	kura_tree t = {nodes, count};
	kura_buf b = KURA_BUF_INIT;
	int err;

	if ((err = kura_tree_encode(&b, &t)) == 0) {
		if (patch)
			memcpy(b.data + SNAPTOOL_NAME_AT, patch, strlen(patch));
		err = kura_blobstore_add(s, KURA_BLOB_TREE, b.data, b.len, id);
	}
	kura_buf_free(&b);
	return err;
}

/*
 * Store `root` (count nodes) as the root tree, flush the packs and store
 * a snapshot of it made by `program`; its id in `out`.
 */
static inline int snaptool_commit(kura_repo *repo, kura_blobstore *s, kura_node *root, size_t count,
				  const char *program, char out[KURA_ID_HEX])
{
	kura_snapshot snap = {0};
	uint8_t name[KURA_HASH_SIZE], *data = NULL;
	size_t len;
	int err;

	if ((err = snaptool_store(s, root, count, NULL, snap.tree)) < 0 ||
	    (err = kura_blobstore_flush(s)) < 0 ||
	    (err = kura_blobstore_packs(s, &snap.packs, &snap.npacks)) < 0)
		goto done;
	snap.time_ns = 1;
	snap.readable = true;
	snap.program = (char *)program; /* only read by the encoder */
	if ((err = kura_snapshot_encode(&data, &len, name, &repo->keys, &snap)) < 0)
		goto done;
	kura_hex(out, name, KURA_HASH_SIZE);
	err = repo->backend->put(repo->backend, KURA_FILE_SNAPSHOT, out, data, len);
done:
	free(data);
	free(snap.packs);
	return err;
}

/*
 * Open the repository at `path` with the first line of KURA_PASSWORD_FILE
 * as its passphrase.  0, or 1 after saying why on stderr.
 */
static inline int snaptool_open(kura_repo **out, const char *tool, const char *path)
{
	const char *passfile = getenv("KURA_PASSWORD_FILE");
	char pass[1024];
	FILE *f;

	*out = NULL;
	if (!passfile || !(f = fopen(passfile, "r"))) {
		fprintf(stderr, "%s: KURA_PASSWORD_FILE: %s\n", tool,
			passfile ? "cannot open" : "not set");
		return 1;
	}
	if (!fgets(pass, sizeof(pass), f)) {
		fclose(f);
		fprintf(stderr, "%s: %s: no passphrase\n", tool, passfile);
		return 1;
	}
	fclose(f);
	pass[strcspn(pass, "\n")] = '\0';
	if (kura_repo_open_passphrase(out, path, pass) < 0) {
		fprintf(stderr, "%s: %s\n", tool, kura_error_message());
		return 1;
	}
	return 0;
}

/* What a tool writes into the open repository: 0, or a KURA_E* code with its message. */
typedef int (*snaptool_write_fn)(kura_repo *repo, const void *arg, char out[KURA_ID_HEX]);

/*
 * A tool's whole run: open the repository at `path`, write the snapshot
 * through fn and print its id.  The exit status: 0, or 1 after saying why.
 */
static inline int snaptool_run(const char *tool, const char *path, snaptool_write_fn fn,
			       const void *arg)
{
	char id[KURA_ID_HEX];
	kura_repo *repo = NULL;
	int rc = 0;

	if (snaptool_open(&repo, tool, path) != 0)
		return 1;
	if (fn(repo, arg, id) < 0) {
		fprintf(stderr, "%s: %s\n", tool, kura_error_message());
		rc = 1;
	} else {
		printf("%s\n", id);
	}
	kura_repo_free(repo);
	return rc;
}

#endif
