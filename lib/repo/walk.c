/* SPDX-License-Identifier: Apache-2.0 */
/*
 * walk.c - shared helpers for reading snapshot trees (see walk.h).
 *
 * Nothing here touches the local file system: these functions only read
 * the repository, so they are shared by ls, diff and restore.  Paths given
 * by the user are normalised before they are compared with tree names, and
 * ".." is refused rather than interpreted, so a path can never name
 * anything outside the snapshot.
 */
#include "repo/walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"

int kura_walk__snapshot(kura_snapshot **out, char out_hex[KURA_ID_HEX], kura_repo *repo,
			const char *snapshot_id, const char *what)
{
	char hex[KURA_ID_HEX];
	kura_snapshot *s = NULL;
	int err;

	*out = NULL;
	if ((err = kura_repo__need_restore_key(repo, what)) < 0)
		return err;
	if (!snapshot_id)
		return kura_error_set(KURA_EINVAL, "%s: no snapshot given", what);
	/* A full id needs no listing of the repository. */
	if (strlen(snapshot_id) == KURA_ID_HEX - 1 &&
	    strspn(snapshot_id, "0123456789abcdef") == KURA_ID_HEX - 1)
		snprintf(hex, sizeof(hex), "%s", snapshot_id);
	else if ((err = kura_snapshot_resolve(repo, snapshot_id, hex)) < 0)
		return err;
	if ((err = kura_repo__load_snapshot(repo, hex, &s)) < 0)
		return err;
	if (!s->readable) {
		kura_snapshot_free(s);
		return kura_error_set(KURA_ENEEDKEY, "snapshot %s: body could not be decrypted", hex);
	}
	if (out_hex)
		memcpy(out_hex, hex, KURA_ID_HEX);
	*out = s;
	return 0;
}

int kura_walk__normalize(char **out, const char *path)
{
	kura_walk_path p = {0};
	const char *c, *end;
	char name[KURA_NAME_MAX + 1];
	int err = 0;

	*out = NULL;
	if ((err = kura_walk__append(&p, "")) < 0)
		return err;
	for (c = path ? path : ""; *c; c = end) {
		size_t len;

		while (*c == '/')
			c++;
		end = strchrnul(c, '/');
		len = (size_t)(end - c);
		if (len == 0 || (len == 1 && c[0] == '.'))
			continue;
		if ((len == 2 && c[0] == '.' && c[1] == '.') || len > KURA_NAME_MAX) {
			err = kura_error_set(KURA_EINVAL, "path %s: '..' and names over %d bytes are "
					     "not allowed", path, KURA_NAME_MAX);
			goto done;
		}
		memcpy(name, c, len);
		name[len] = '\0';
		if ((err = kura_walk__push(&p, name)) < 0)
			goto done;
	}
	*out = p.s;
	p.s = NULL;
done:
	kura_walk__path_free(&p);
	return err;
}

unsigned kura_walk__depth(const char *path)
{
	unsigned n = 0;

	for (; *path; path++)
		n += *path == '/';
	return n;
}

static kura_node *tree_find(kura_tree *t, const char *name)
{
	size_t lo = 0, hi = t->count;

	/* Trees are sorted by name in byte order; strcmp compares unsigned bytes. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->nodes[mid].name, name);

		if (c == 0)
			return &t->nodes[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int kura_walk__find(kura_tree **out_tree, kura_node **out_node, kura_repo *repo,
		    const uint8_t root[KURA_HASH_SIZE], const char *path)
{
	kura_tree *tree = NULL;
	kura_node *node = NULL;
	uint8_t id[KURA_HASH_SIZE];
	char name[KURA_NAME_MAX + 1];
	const char *c = path, *end;
	int err = 0;

	*out_tree = NULL;
	*out_node = NULL;
	memcpy(id, root, KURA_HASH_SIZE);
	for (; *c; c = end) {
		size_t len;

		c++; /* the '/' before each component of a normalised path */
		end = strchrnul(c, '/');
		len = (size_t)(end - c);
		if (node && node->type != KURA_NODE_DIR) {
			err = kura_error_set(KURA_ENOTFOUND, "%.*s is not a directory in the snapshot",
					     (int)(c - 1 - path), path);
			goto done;
		}
		if (node)
			memcpy(id, node->subtree, KURA_HASH_SIZE);
		kura_tree_free(tree);
		tree = NULL;
		if ((err = kura_repo__load_tree(repo, id, &tree)) < 0)
			goto done;
		memcpy(name, c, len);
		name[len] = '\0';
		if (!(node = tree_find(tree, name))) {
			err = kura_error_set(KURA_ENOTFOUND, "%.*s: no such path in the snapshot",
					     (int)(end - path), path);
			goto done;
		}
	}
	*out_tree = tree;
	*out_node = node;
	tree = NULL;
done:
	kura_tree_free(tree);
	return err;
}

void kura_walk__digest(uint8_t out[KURA_HASH_SIZE], const kura_node *n)
{
	kura_sha256_ctx *ctx = NULL;
	uint8_t hdr[9];

	memset(out, 0, KURA_HASH_SIZE);
	if (n->type != KURA_NODE_FILE && n->type != KURA_NODE_HARDLINK)
		return;
	if (kura_sha256_new(&ctx) < 0)
		return; /* out of memory: the digest stays zero, which only costs precision */
	for (uint32_t i = 0; i < n->nextents; i++) {
		hdr[0] = n->extents[i].kind;
		kura_le64(hdr + 1, n->extents[i].len);
		kura_sha256_update(ctx, hdr, sizeof(hdr));
		if (n->extents[i].kind == KURA_EXTENT_CHUNK)
			kura_sha256_update(ctx, n->extents[i].id, KURA_HASH_SIZE);
	}
	kura_sha256_final(ctx, out);
	kura_sha256_free(ctx);
}

void kura_walk__info(kura_node_info *out, const kura_node *n, const char *path,
		     const uint8_t *digest)
{
	memset(out, 0, sizeof(*out));
	out->path = path;
	out->type = n->type;
	out->mode = n->mode;
	out->uid = n->uid;
	out->gid = n->gid;
	out->user = n->user ? n->user : "";
	out->group = n->group ? n->group : "";
	out->mtime_sec = n->mtime_sec;
	out->mtime_nsec = n->mtime_nsec;
	out->size = n->size;
	out->rdev = n->rdev;
	out->target = n->target ? n->target : "";
	out->content_digest = digest;
}

static int path_reserve(kura_walk_path *p, size_t extra)
{
	size_t cap;
	char *s;

	if (p->s && p->len + extra + 1 <= p->cap)
		return 0;
	cap = p->cap ? p->cap : 256;
	while (cap < p->len + extra + 1)
		cap *= 2;
	if (!(s = realloc(p->s, cap)))
		return kura_error_set(KURA_ENOMEM, "out of memory for a path of %zu bytes",
				      p->len + extra);
	p->s = s;
	p->cap = cap;
	return 0;
}

int kura_walk__append(kura_walk_path *p, const char *s)
{
	size_t len = strlen(s);
	int err;

	if ((err = path_reserve(p, len)) < 0)
		return err;
	memcpy(p->s + p->len, s, len + 1);
	p->len += len;
	return 0;
}

int kura_walk__push(kura_walk_path *p, const char *name)
{
	int err;

	if ((err = path_reserve(p, strlen(name) + 1)) < 0)
		return err;
	p->s[p->len++] = '/';
	p->s[p->len] = '\0';
	return kura_walk__append(p, name);
}

void kura_walk__pop(kura_walk_path *p, size_t len)
{
	if (p->s && len <= p->len) {
		p->len = len;
		p->s[len] = '\0';
	}
}

void kura_walk__path_free(kura_walk_path *p)
{
	free(p->s);
	p->s = NULL;
	p->len = p->cap = 0;
}
