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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "format/snapshot.h"
#include "format/tree.h"
#include "repo/blobstore.h"
#include "repo/repo.h"

#define NAME_AT 15 /* the first node's name: magic, version, reserved, count, type, length */

static void set_node(kura_node *n, uint8_t type, const char *name)
{
	memset(n, 0, sizeof(*n));
	n->name = (char *)name;
	n->type = type;
	n->mode = type == KURA_NODE_DIR ? 0755 : 0644;
	n->user = n->group = (char *)"";
}

/* Store a tree of `count` nodes, its first name overwritten with `patch` (or not). */
static int store(kura_blobstore *s, kura_node *nodes, size_t count, const char *patch,
		 uint8_t id[KURA_HASH_SIZE])
{
	kura_tree t = {nodes, count};
	kura_buf b = KURA_BUF_INIT;
	int err;

	if ((err = kura_tree_encode(&b, &t)) == 0) {
		if (patch)
			memcpy(b.data + NAME_AT, patch, strlen(patch));
		err = kura_blobstore_add(s, KURA_BLOB_TREE, b.data, b.len, id);
	}
	kura_buf_free(&b);
	return err;
}

static int write_snapshot(kura_repo *repo, char out[KURA_ID_HEX])
{
	kura_snapshot snap = {0};
	kura_blobstore *s = NULL;
	kura_node nodes[5];
	kura_extent hello = {KURA_EXTENT_CHUNK, 10, {0}}, fine = {KURA_EXTENT_CHUNK, 5, {0}};
	uint8_t evil[KURA_HASH_SIZE], slash[KURA_HASH_SIZE], name[KURA_HASH_SIZE], *data = NULL;
	size_t len;
	int err;

	if ((err = kura_repo__load_index(repo)) < 0 || (err = kura_blobstore_new(&s, repo)) < 0 ||
	    (err = kura_blobstore_add(s, KURA_BLOB_DATA, (const uint8_t *)"hello", 5, hello.id)) <
		0 ||
	    (err = kura_blobstore_add(s, KURA_BLOB_DATA, (const uint8_t *)"fine\n", 5, fine.id)) <
		0)
		goto done;
	/* the root tree's id is not known before it is stored: ".." points at "slash"'s
	 * parent instead, which is as far as a hostile tree can reach */
	set_node(&nodes[0], KURA_NODE_FILE, "axb");
	if ((err = store(s, nodes, 1, "a/b", slash)) < 0)
		goto done;
	set_node(&nodes[0], KURA_NODE_DIR, "xx");
	memcpy(nodes[0].subtree, slash, KURA_HASH_SIZE);
	if ((err = store(s, nodes, 1, "..", evil)) < 0)
		goto done;

	set_node(&nodes[0], KURA_NODE_DIR, "evil");
	memcpy(nodes[0].subtree, evil, KURA_HASH_SIZE);
	set_node(&nodes[1], KURA_NODE_FILE, "liar");
	nodes[1].size = 10;
	nodes[1].extents = &hello;
	nodes[1].nextents = 1;
	set_node(&nodes[2], KURA_NODE_FILE, "ok");
	nodes[2].size = 5;
	nodes[2].extents = &fine;
	nodes[2].nextents = 1;
	set_node(&nodes[3], KURA_NODE_DIR, "slash");
	memcpy(nodes[3].subtree, slash, KURA_HASH_SIZE);
	set_node(&nodes[4], KURA_NODE_SYMLINK, "up");
	nodes[4].target = (char *)"../../../../../../etc";
	nodes[4].size = strlen(nodes[4].target);
	nodes[4].mode = 0777;
	if ((err = store(s, nodes, 5, NULL, snap.tree)) < 0 ||
	    (err = kura_blobstore_flush(s)) < 0 ||
	    (err = kura_blobstore_packs(s, &snap.packs, &snap.npacks)) < 0)
		goto done;
	snap.time_ns = 1;
	snap.readable = true;
	snap.program = "hostilesnap";
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

	if (argc != 2 || !passfile) {
		fprintf(stderr, "usage: KURA_PASSWORD_FILE=FILE hostilesnap REPO\n");
		return 2;
	}
	if (!(f = fopen(passfile, "r")) || !fgets(pass, sizeof(pass), f)) {
		perror(passfile);
		return 1;
	}
	fclose(f);
	pass[strcspn(pass, "\n")] = '\0';
	if (kura_repo_open_passphrase(&repo, argv[1], pass) < 0 || write_snapshot(repo, id) < 0) {
		fprintf(stderr, "hostilesnap: %s\n", kura_error_message());
		kura_repo_free(repo);
		return 1;
	}
	printf("%s\n", id);
	kura_repo_free(repo);
	return 0;
}
