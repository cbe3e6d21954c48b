/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostilesnap.c - write a snapshot a hostile writer could store and
 * kura's own backup never does, for tests/e2e/mount.sh: names that try to
 * leave a mount point, and a file whose chunk is not as long as its tree
 * says.
 *
 *   hostilesnap REPO       (the passphrase is the first line of KURA_PASSWORD_FILE)
 *
 * The snapshot's root holds:
 *   evil/   a tree whose only entry is a directory named ".." that points
 *           back at the root tree (bytes patched after encoding: the
 *           encoder refuses the name, as the decoder does)
 *   liar    a file of 10 bytes whose one chunk holds 5 ("hello")
 *   ok      a file holding "fine\n"
 *   slash/  a tree whose only entry is a file named "a/b" (patched too)
 *   up      a symlink to ../../../../../../etc (valid: shown as stored)
 * and its id is printed.  Test code: not installed.
 */
#include "snaptool.h"

static int write_snapshot(kura_repo *repo, const void *arg, char out[KURA_ID_HEX])
{
	kura_blobstore *s = NULL;
	kura_node nodes[5];
	kura_extent hello = {.kind = KURA_EXTENT_CHUNK, .len = 10},
		    fine = {.kind = KURA_EXTENT_CHUNK, .len = 5};
	uint8_t evil[KURA_HASH_SIZE], slash[KURA_HASH_SIZE];
	int err;

	if ((err = kura_repo__load_index(repo)) < 0 || (err = kura_blobstore_new(&s, repo)) < 0 ||
	    (err = kura_blobstore_add(s, KURA_BLOB_DATA, (const uint8_t *)"hello", 5, hello.id)) <
		0 ||
	    (err = kura_blobstore_add(s, KURA_BLOB_DATA, (const uint8_t *)"fine\n", 5, fine.id)) <
		0)
		goto done;
	/* the root tree's id is not known before it is stored: ".." points at "slash"'s
	 * parent instead, which is as far as a hostile tree can reach */
	snaptool_node(&nodes[0], KURA_NODE_FILE, "axb");
	if ((err = snaptool_store(s, nodes, 1, "a/b", slash)) < 0)
		goto done;
	snaptool_node(&nodes[0], KURA_NODE_DIR, "xx");
	memcpy(nodes[0].subtree, slash, KURA_HASH_SIZE);
	if ((err = snaptool_store(s, nodes, 1, "..", evil)) < 0)
		goto done;

	snaptool_node(&nodes[0], KURA_NODE_DIR, "evil");
	memcpy(nodes[0].subtree, evil, KURA_HASH_SIZE);
	snaptool_node(&nodes[1], KURA_NODE_FILE, "liar");
	nodes[1].size = 10;
	nodes[1].extents = &hello;
	nodes[1].nextents = 1;
	snaptool_node(&nodes[2], KURA_NODE_FILE, "ok");
	nodes[2].size = 5;
	nodes[2].extents = &fine;
	nodes[2].nextents = 1;
	snaptool_node(&nodes[3], KURA_NODE_DIR, "slash");
	memcpy(nodes[3].subtree, slash, KURA_HASH_SIZE);
	snaptool_node(&nodes[4], KURA_NODE_SYMLINK, "up");
	nodes[4].target = (char *)"../../../../../../etc";
	nodes[4].size = strlen(nodes[4].target);
	nodes[4].mode = 0777;
	err = snaptool_commit(repo, s, nodes, 5, "hostilesnap", out);
done:
	kura_blobstore_free(s);
	return err;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: KURA_PASSWORD_FILE=FILE hostilesnap REPO\n");
		return 2;
	}
	return snaptool_run("hostilesnap", argv[1], write_snapshot, NULL);
}
