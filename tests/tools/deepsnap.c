/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deepsnap.c - write the snapshot a hostile writer (or an older kura)
 * could store and kura's own backup never does: directories nested deeper
 * than KURA_TREE_MAX_DEPTH.  For tests/e2e/deep_tree.sh, which checks that
 * ls and diff report such a directory and go on.
 *
 *   deepsnap REPO LEVELS      (the passphrase is the first line of KURA_PASSWORD_FILE)
 *
 * The snapshot's root holds "a", a chain of LEVELS directories named "d"
 * with an empty file "f" in the last one, and "z", an empty file after it
 * in name order; its id is printed.  Test code: not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "format/snapshot.h"
#include "format/tree.h"
#include "repo/blobstore.h"
#include "repo/repo.h"

static void set_node(kura_node *n, uint8_t type, const char *name)
{
	memset(n, 0, sizeof(*n));
	n->name = (char *)name;
	n->type = type;
	n->mode = type == KURA_NODE_DIR ? 0755 : 0644;
	n->user = n->group = (char *)"";
}

/* Store a tree of `count` nodes; *id becomes its id. */
static int store(kura_blobstore *s, kura_node *nodes, size_t count, uint8_t id[KURA_HASH_SIZE])
{
	kura_tree t = {nodes, count};
	kura_buf b = KURA_BUF_INIT;
	int err;

	if ((err = kura_tree_encode(&b, &t)) == 0)
		err = kura_blobstore_add(s, KURA_BLOB_TREE, b.data, b.len, id);
	kura_buf_free(&b);
	return err;
}

static int write_snapshot(kura_repo *repo, unsigned levels, char out[KURA_ID_HEX])
{
	kura_snapshot snap = {0};
	kura_blobstore *s = NULL;
	kura_node nodes[2];
	uint8_t id[KURA_HASH_SIZE], name[KURA_HASH_SIZE], *data = NULL;
	size_t len;
	int err;

	if ((err = kura_repo__load_index(repo)) < 0 || (err = kura_blobstore_new(&s, repo)) < 0)
		goto done;
	set_node(&nodes[0], KURA_NODE_FILE, "f");
	if ((err = store(s, nodes, 1, id)) < 0)
		goto done;
	for (unsigned k = 1; k < levels; k++) {
		set_node(&nodes[0], KURA_NODE_DIR, "d");
		memcpy(nodes[0].subtree, id, KURA_HASH_SIZE);
		if ((err = store(s, nodes, 1, id)) < 0)
			goto done;
	}
	set_node(&nodes[0], KURA_NODE_DIR, "a");
	memcpy(nodes[0].subtree, id, KURA_HASH_SIZE);
	set_node(&nodes[1], KURA_NODE_FILE, "z");
	if ((err = store(s, nodes, 2, snap.tree)) < 0 || (err = kura_blobstore_flush(s)) < 0 ||
	    (err = kura_blobstore_packs(s, &snap.packs, &snap.npacks)) < 0)
		goto done;
	snap.time_ns = 1;
	snap.readable = true;
	snap.program = "deepsnap";
	if ((err = kura_snapshot_encode(&data, &len, name, &repo->keys, &snap)) < 0)
		goto done;
	kura_hex(out, name, KURA_HASH_SIZE);
	err = repo->backend->put(repo->backend, KURA_FILE_SNAPSHOT, out, data, len);
done:
	free(data);
	free(snap.packs);
	kura_blobstore_free(s);
	return err;
}

int main(int argc, char **argv)
{
	const char *passfile = getenv("KURA_PASSWORD_FILE");
	char pass[1024], id[KURA_ID_HEX];
	kura_repo *repo = NULL;
	FILE *f;
	int levels;

	if (argc != 3 || (levels = atoi(argv[2])) < 1 || !passfile) {
		fprintf(stderr, "usage: KURA_PASSWORD_FILE=FILE deepsnap REPO LEVELS\n");
		return 2;
	}
	if (!(f = fopen(passfile, "r")) || !fgets(pass, sizeof(pass), f)) {
		perror(passfile);
		return 1;
	}
	fclose(f);
	pass[strcspn(pass, "\n")] = '\0';
	if (kura_repo_open_passphrase(&repo, argv[1], pass) < 0 ||
	    write_snapshot(repo, (unsigned)levels, id) < 0) {
		fprintf(stderr, "deepsnap: %s\n", kura_error_message());
		kura_repo_free(repo);
		return 1;
	}
	printf("%s\n", id);
	kura_repo_free(repo);
	return 0;
}
