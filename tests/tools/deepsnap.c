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
#include "snaptool.h"

static int write_snapshot(kura_repo *repo, const void *arg, char out[KURA_ID_HEX])
{
	unsigned levels = *(const unsigned *)arg;
	kura_blobstore *s = NULL;
	kura_node nodes[2];
	uint8_t id[KURA_HASH_SIZE];
	int err;

	if ((err = kura_repo__load_index(repo)) < 0 || (err = kura_blobstore_new(&s, repo)) < 0)
		goto done;
	snaptool_node(&nodes[0], KURA_NODE_FILE, "f");
	if ((err = snaptool_store(s, nodes, 1, NULL, id)) < 0)
		goto done;
	for (unsigned k = 1; k < levels; k++) {
		snaptool_node(&nodes[0], KURA_NODE_DIR, "d");
		memcpy(nodes[0].subtree, id, KURA_HASH_SIZE);
		if ((err = snaptool_store(s, nodes, 1, NULL, id)) < 0)
			goto done;
	}
	snaptool_node(&nodes[0], KURA_NODE_DIR, "a");
	memcpy(nodes[0].subtree, id, KURA_HASH_SIZE);
	snaptool_node(&nodes[1], KURA_NODE_FILE, "z");
	err = snaptool_commit(repo, s, nodes, 2, "deepsnap", out);
done:
	kura_blobstore_free(s);
	return err;
}

int main(int argc, char **argv)
{
	int levels;

	if (argc != 3 || (levels = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: KURA_PASSWORD_FILE=FILE deepsnap REPO LEVELS\n");
		return 2;
	}
	return snaptool_run("deepsnap", argv[1], write_snapshot, &(unsigned){(unsigned)levels});
}
