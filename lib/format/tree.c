/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tree.c - encoding and decoding trees (docs/FORMAT.md, "Trees").
 *
 * A tree comes from a blob that the repository authenticated, but a stolen
 * backup key can write any blob it likes, so the decoder treats its input
 * as hostile: every length is checked against the bytes left before it is
 * used, no count sizes an allocation before it is checked against the
 * smallest encoding its items could have, and every invariant of tree.h is
 * enforced.  The encoder enforces exactly the same invariants (one shared
 * check, tree_check()), so a tree that encodes also decodes, and decoding
 * then re-encoding reproduces the input byte for byte.
 */
#include "format/tree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define TREE_MAGIC "KTRE"
#define TREE_VERSION 1
#define TREE_NODES_MAX (UINT32_C(1) << 24)
#define TREE_XATTRS_MAX 4096
#define TREE_TARGET_MIN 1
#define TREE_OWNER_MAX 255
#define TREE_CHUNK_MAX (UINT64_C(64) << 20)
#define TREE_NSEC_MAX 1000000000u

/*
 * The smallest encodings, which bound the counts a decoder will believe:
 * a FIFO with a one-byte name and nothing else; an xattr with a one-byte
 * name and an empty value; a hole extent.
 */
#define NODE_MIN_BYTES (1 + 2 + 1 + 4 + 4 + 4 + 1 + 1 + 8 + 4 + 8 + 2)
#define XATTR_MIN_BYTES (1 + 1 + 4)
#define EXTENT_MIN_BYTES (1 + 8)

/* Room for a name as shown in a message: 40 bytes, "..." and a NUL. */
#define SHOW_MAX 48

/* A name made safe for an error message: unprintable bytes become '?'. */
static const char *show(char out[SHOW_MAX], const char *s, size_t len)
{
	size_t n = len > 40 ? 40 : len, i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (n < len) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* Record "tree: node <i> '<name>': <message>" and return `code`. */
__attribute__((format(printf, 4, 5))) static int node_fail(int code, size_t idx,
							   const char *name, const char *fmt, ...)
{
	char msg[512], shown[SHOW_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!name)
		return kura_error_set(code, "tree: node %zu: %s", idx, msg);
	return kura_error_set(code, "tree: node %zu '%s': %s", idx,
			      show(shown, name, strlen(name)), msg);
}

/* Bytewise order, a proper prefix first. */
static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int kura_tree_name_ok(const char *name, size_t len)
{
	if (len == 0)
		return kura_error_set(KURA_EINVAL, "empty name");
	if (len > KURA_NAME_MAX)
		return kura_error_set(KURA_EINVAL, "name longer than %d bytes", KURA_NAME_MAX);
	if (memchr(name, '/', len))
		return kura_error_set(KURA_EINVAL, "name contains '/'");
	if (memchr(name, '\0', len))
		return kura_error_set(KURA_EINVAL, "name contains NUL");
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return kura_error_set(KURA_EINVAL, "name is '%.*s'", (int)len, name);
	return 0;
}

/* A hard link's target: a relative path of valid names joined by '/'. */
static int hardlink_target_check(int code, size_t idx, const kura_node *n)
{
	const char *p = n->target, *slash;
	size_t len, part = 0;

	if (!p)
		return node_fail(code, idx, n->name, "hard link without a target");
	len = strlen(p);
	if (len < TREE_TARGET_MIN || len > KURA_TARGET_MAX)
		return node_fail(code, idx, n->name, "hard-link target length %zu outside 1..%d",
				 len, KURA_TARGET_MAX);
	if (p[0] == '/')
		return node_fail(code, idx, n->name, "hard-link target is absolute");
	for (;;) {
		slash = strchr(p, '/');
		part++;
		if (kura_tree_name_ok(p, slash ? (size_t)(slash - p) : strlen(p)) < 0)
			return node_fail(code, idx, n->name, "hard-link target component %zu: %s",
					 part, kura_error_message());
		if (!slash)
			break;
		p = slash + 1;
	}
	return 0;
}

static int extents_check(int code, size_t idx, const kura_node *n)
{
	uint64_t sum = 0;

	if (n->nextents && !n->extents)
		return node_fail(code, idx, n->name, "%u extents but no array", n->nextents);
	for (uint32_t i = 0; i < n->nextents; i++) {
		const kura_extent *e = &n->extents[i];

		switch (e->kind) {
		case KURA_EXTENT_CHUNK:
			if (e->len < 1 || e->len > TREE_CHUNK_MAX)
				return node_fail(code, idx, n->name,
						 "extent %u: chunk length %llu outside 1..64 MiB", i,
						 (unsigned long long)e->len);
			if (e->has_ref > 1)
				return node_fail(code, idx, n->name, "extent %u: has_ref is %u", i,
						 e->has_ref);
			/* a blob cannot be read against itself */
			if (e->has_ref && memcmp(e->ref, e->id, KURA_HASH_SIZE) == 0)
				return node_fail(code, idx, n->name,
						 "extent %u: chunk stored against itself", i);
			break;
		case KURA_EXTENT_HOLE:
			if (e->has_ref)
				return node_fail(code, idx, n->name, "extent %u: hole with a reference",
						 i);
			if (e->len < 1)
				return node_fail(code, idx, n->name, "extent %u: empty hole", i);
			break;
		default:
			return node_fail(code, idx, n->name, "extent %u: unknown kind %u", i,
					 e->kind);
		}
		if (e->len > UINT64_MAX - sum)
			return node_fail(code, idx, n->name, "extent lengths overflow");
		sum += e->len;
	}
	if (sum != n->size)
		return node_fail(code, idx, n->name, "extents add up to %llu bytes, size is %llu",
				 (unsigned long long)sum, (unsigned long long)n->size);
	return 0;
}

static int xattrs_check(int code, size_t idx, const kura_node *n)
{
	char shown[SHOW_MAX];
	size_t len, prev_len = 0;

	if (n->nxattrs > TREE_XATTRS_MAX)
		return node_fail(code, idx, n->name, "%u xattrs, at most %d", n->nxattrs,
				 TREE_XATTRS_MAX);
	if (n->nxattrs && !n->xattrs)
		return node_fail(code, idx, n->name, "%u xattrs but no array", n->nxattrs);
	for (uint32_t i = 0; i < n->nxattrs; i++) {
		const kura_xattr *x = &n->xattrs[i];

		if (!x->name)
			return node_fail(code, idx, n->name, "xattr %u has no name", i);
		len = strlen(x->name);
		if (len < 1 || len > KURA_XATTR_NAME_MAX)
			return node_fail(code, idx, n->name, "xattr %u: name length %zu outside 1..%d",
					 i, len, KURA_XATTR_NAME_MAX);
		if (x->len > KURA_XATTR_VALUE_MAX)
			return node_fail(code, idx, n->name, "xattr '%s': value of %u bytes, at most %u",
					 show(shown, x->name, len), x->len, KURA_XATTR_VALUE_MAX);
		if (x->len && !x->value)
			return node_fail(code, idx, n->name, "xattr '%s': value missing",
					 show(shown, x->name, len));
		if (i > 0 && bytes_cmp(n->xattrs[i - 1].name, prev_len, x->name, len) >= 0)
			return node_fail(code, idx, n->name, "xattr '%s': not sorted or duplicate",
					 show(shown, x->name, len));
		prev_len = len;
	}
	return 0;
}

static int owner_check(int code, size_t idx, const kura_node *n, const char *s, const char *what)
{
	if (s && strlen(s) > TREE_OWNER_MAX)
		return node_fail(code, idx, n->name, "%s name longer than %d bytes", what,
				 TREE_OWNER_MAX);
	return 0;
}

/* The size and the fields that only some types have. */
static int node_type_check(int code, size_t idx, const kura_node *n)
{
	size_t len;
	int err;

	switch (n->type) {
	case KURA_NODE_HARDLINK:
		/* a hard link carries the file's content too */
		if ((err = hardlink_target_check(code, idx, n)) < 0)
			return err;
		return extents_check(code, idx, n);
	case KURA_NODE_FILE:
		return extents_check(code, idx, n);
	case KURA_NODE_SYMLINK:
		if (!n->target)
			return node_fail(code, idx, n->name, "symlink without a target");
		len = strlen(n->target);
		if (len < TREE_TARGET_MIN || len > KURA_TARGET_MAX)
			return node_fail(code, idx, n->name, "symlink target length %zu outside 1..%d",
					 len, KURA_TARGET_MAX);
		if (n->size != len)
			return node_fail(code, idx, n->name,
					 "symlink size %llu is not its target length %zu",
					 (unsigned long long)n->size, len);
		return 0;
	case KURA_NODE_DIR:
	case KURA_NODE_FIFO:
	case KURA_NODE_CHARDEV:
	case KURA_NODE_BLOCKDEV:
	case KURA_NODE_SOCKET:
		if (n->size != 0)
			return node_fail(code, idx, n->name, "size %llu, must be 0 for type %u",
					 (unsigned long long)n->size, n->type);
		return 0;
	default:
		return node_fail(code, idx, n->name, "unknown type %u", n->type);
	}
}

/* Every invariant of one node; `code` is KURA_EINVAL or KURA_ECORRUPT. */
static int node_check(int code, size_t idx, const kura_node *n)
{
	int err;

	if (!n->name)
		return node_fail(code, idx, NULL, "no name");
	if ((err = kura_tree_name_ok(n->name, strlen(n->name))) < 0)
		return node_fail(code, idx, n->name, "%s", kura_error_message());
	if (n->mode & ~07777u)
		return node_fail(code, idx, n->name, "mode %o has bits outside 07777", n->mode);
	if ((err = owner_check(code, idx, n, n->user, "user")) < 0 ||
	    (err = owner_check(code, idx, n, n->group, "group")) < 0)
		return err;
	if (n->mtime_nsec >= TREE_NSEC_MAX)
		return node_fail(code, idx, n->name, "mtime nanoseconds %u not below 10^9",
				 n->mtime_nsec);
	if ((err = node_type_check(code, idx, n)) < 0)
		return err;
	return xattrs_check(code, idx, n);
}

/* Every invariant of a tree: each node's, then order and uniqueness. */
static int tree_check(int code, const kura_tree *t)
{
	char shown[SHOW_MAX];
	int err;

	if (t->count > TREE_NODES_MAX)
		return kura_error_set(code, "tree: %zu nodes, at most %u", t->count,
				      (unsigned)TREE_NODES_MAX);
	if (t->count && !t->nodes)
		return kura_error_set(code, "tree: %zu nodes but no array", t->count);
	for (size_t i = 0; i < t->count; i++) {
		const kura_node *n = &t->nodes[i];

		if ((err = node_check(code, i, n)) < 0)
			return err;
		/*
		 * Validated names are NUL-free, so strcmp is the bytewise
		 * order of the format.
		 */
		if (i > 0 && strcmp(t->nodes[i - 1].name, n->name) >= 0)
			return node_fail(code, i, n->name, "not sorted after '%s' or duplicate",
					 show(shown, t->nodes[i - 1].name,
					      strlen(t->nodes[i - 1].name)));
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */

static int put_str8(kura_buf *b, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	int err;

	if ((err = kura_buf_put_u8(b, (uint8_t)len)) < 0)
		return err;
	return kura_buf_put(b, s, len);
}

static int put_str16(kura_buf *b, const char *s)
{
	size_t len = strlen(s);
	int err;

	if ((err = kura_buf_put_u16(b, (uint16_t)len)) < 0)
		return err;
	return kura_buf_put(b, s, len);
}

static int encode_extents(kura_buf *b, const kura_node *n)
{
	int err;

	if ((err = kura_buf_put_u32(b, n->nextents)) < 0)
		return err;
	for (uint32_t i = 0; i < n->nextents; i++) {
		const kura_extent *e = &n->extents[i];

		if ((err = kura_buf_put_u8(b, e->has_ref ? KURA_EXTENT_CHUNK_REF : e->kind)) < 0 ||
		    (err = kura_buf_put_u64(b, e->len)) < 0)
			return err;
		if (e->kind == KURA_EXTENT_CHUNK && (err = kura_buf_put(b, e->id, sizeof(e->id))) < 0)
			return err;
		if (e->has_ref && (err = kura_buf_put(b, e->ref, sizeof(e->ref))) < 0)
			return err;
	}
	return 0;
}

static int encode_node(kura_buf *b, const kura_node *n)
{
	int err;

	if ((err = kura_buf_put_u8(b, n->type)) < 0 || (err = put_str16(b, n->name)) < 0 ||
	    (err = kura_buf_put_u32(b, n->mode)) < 0 || (err = kura_buf_put_u32(b, n->uid)) < 0 ||
	    (err = kura_buf_put_u32(b, n->gid)) < 0 || (err = put_str8(b, n->user)) < 0 ||
	    (err = put_str8(b, n->group)) < 0 ||
	    (err = kura_buf_put_u64(b, (uint64_t)n->mtime_sec)) < 0 ||
	    (err = kura_buf_put_u32(b, n->mtime_nsec)) < 0 || (err = kura_buf_put_u64(b, n->size)) < 0)
		return err;
	switch (n->type) {
	case KURA_NODE_HARDLINK:
		if ((err = put_str16(b, n->target)) < 0)
			return err;
		err = encode_extents(b, n);
		break;
	case KURA_NODE_FILE:
		err = encode_extents(b, n);
		break;
	case KURA_NODE_DIR:
		err = kura_buf_put(b, n->subtree, sizeof(n->subtree));
		break;
	case KURA_NODE_SYMLINK:
		err = put_str16(b, n->target);
		break;
	case KURA_NODE_CHARDEV:
	case KURA_NODE_BLOCKDEV:
		err = kura_buf_put_u64(b, n->rdev);
		break;
	default:
		break;
	}
	if (err < 0 || (err = kura_buf_put_u16(b, (uint16_t)n->nxattrs)) < 0)
		return err;
	for (uint32_t i = 0; i < n->nxattrs; i++) {
		const kura_xattr *x = &n->xattrs[i];

		if ((err = put_str8(b, x->name)) < 0 || (err = kura_buf_put_u32(b, x->len)) < 0 ||
		    (err = kura_buf_put(b, x->value, x->len)) < 0)
			return err;
	}
	return 0;
}

int kura_tree_encode(kura_buf *out, const kura_tree *t)
{
	static const uint8_t header[8] = {'K', 'T', 'R', 'E', TREE_VERSION, 0, 0, 0};
	size_t start = out->len;
	int err;

	if ((err = tree_check(KURA_EINVAL, t)) < 0)
		goto done;
	if ((err = kura_buf_put(out, header, sizeof(header))) < 0 ||
	    (err = kura_buf_put_u32(out, (uint32_t)t->count)) < 0)
		goto done;
	for (size_t i = 0; i < t->count; i++)
		if ((err = encode_node(out, &t->nodes[i])) < 0)
			goto done;
done:
	if (err < 0)
		out->len = start;
	return err;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */

/* Copy `len` bytes from the reader as a NUL-terminated string. */
static int read_string(kura_reader *r, char **out, size_t len, size_t idx, const char *field)
{
	const uint8_t *p = NULL;
	char *s;
	int err;

	if ((err = kura_reader_view(r, &p, len, field)) < 0)
		return err;
	if (memchr(p, '\0', len))
		return node_fail(KURA_ECORRUPT, idx, NULL, "%s contains NUL", field);
	if (!(s = malloc(len + 1)))
		return kura_error_set(KURA_ENOMEM, "tree: out of memory");
	memcpy(s, p, len);
	s[len] = '\0';
	*out = s;
	return 0;
}

static int read_extents(kura_reader *r, kura_node *n, size_t idx)
{
	uint32_t count;
	int err;

	if ((err = kura_reader_u32(r, &count, "extent count")) < 0)
		return err;
	if (count > kura_reader_left(r) / EXTENT_MIN_BYTES)
		return node_fail(KURA_ECORRUPT, idx, n->name, "%u extents in %zu bytes", count,
				 kura_reader_left(r));
	if (count && !(n->extents = calloc(count, sizeof(*n->extents))))
		return kura_error_set(KURA_ENOMEM, "tree: out of memory");
	n->nextents = count;
	for (uint32_t i = 0; i < count; i++) {
		kura_extent *e = &n->extents[i];

		if ((err = kura_reader_u8(r, &e->kind, "extent kind")) < 0 ||
		    (err = kura_reader_u64(r, &e->len, "extent length")) < 0)
			return err;
		if (e->kind == KURA_EXTENT_CHUNK_REF) {
			e->kind = KURA_EXTENT_CHUNK;
			e->has_ref = 1;
		}
		if (e->kind == KURA_EXTENT_CHUNK &&
		    (err = kura_reader_bytes(r, e->id, sizeof(e->id), "chunk id")) < 0)
			return err;
		if (e->has_ref &&
		    (err = kura_reader_bytes(r, e->ref, sizeof(e->ref), "reference id")) < 0)
			return err;
		if (e->kind != KURA_EXTENT_CHUNK && e->kind != KURA_EXTENT_HOLE)
			return node_fail(KURA_ECORRUPT, idx, n->name, "extent %u: unknown kind %u",
					 i, e->kind);
	}
	return 0;
}

static int read_xattrs(kura_reader *r, kura_node *n, size_t idx)
{
	uint16_t count;
	uint8_t name_len;
	const uint8_t *p = NULL;
	int err;

	if ((err = kura_reader_u16(r, &count, "xattr count")) < 0)
		return err;
	if (count > TREE_XATTRS_MAX)
		return node_fail(KURA_ECORRUPT, idx, n->name, "%u xattrs, at most %d", count,
				 TREE_XATTRS_MAX);
	if (count > kura_reader_left(r) / XATTR_MIN_BYTES)
		return node_fail(KURA_ECORRUPT, idx, n->name, "%u xattrs in %zu bytes", count,
				 kura_reader_left(r));
	if (count && !(n->xattrs = calloc(count, sizeof(*n->xattrs))))
		return kura_error_set(KURA_ENOMEM, "tree: out of memory");
	n->nxattrs = count;
	for (uint16_t i = 0; i < count; i++) {
		kura_xattr *x = &n->xattrs[i];

		if ((err = kura_reader_u8(r, &name_len, "xattr name length")) < 0)
			return err;
		if (name_len == 0)
			return node_fail(KURA_ECORRUPT, idx, n->name, "xattr %u: empty name", i);
		if ((err = read_string(r, &x->name, name_len, idx, "xattr name")) < 0)
			return err;
		if ((err = kura_reader_u32(r, &x->len, "xattr value length")) < 0)
			return err;
		if (x->len > KURA_XATTR_VALUE_MAX)
			return node_fail(KURA_ECORRUPT, idx, n->name, "xattr %u: value of %u bytes", i,
					 x->len);
		if ((err = kura_reader_view(r, &p, x->len, "xattr value")) < 0)
			return err;
		/* one spare byte so that an empty value still gets a pointer */
		if (!(x->value = malloc(x->len + 1)))
			return kura_error_set(KURA_ENOMEM, "tree: out of memory");
		memcpy(x->value, p, x->len);
	}
	return 0;
}

/* Read the fields of one node; tree_check() validates them afterwards. */
static int read_node(kura_reader *r, kura_node *n, size_t idx)
{
	uint16_t len16;
	uint8_t len8;
	const uint8_t *p = NULL;
	char shown[SHOW_MAX];
	int err;

	if ((err = kura_reader_u8(r, &n->type, "node type")) < 0 ||
	    (err = kura_reader_u16(r, &len16, "name length")) < 0 ||
	    (err = kura_reader_view(r, &p, len16, "name")) < 0)
		return err;
	if (kura_tree_name_ok((const char *)p, len16) < 0)
		return kura_error_wrap(KURA_ECORRUPT, "tree: node %zu '%s'", idx,
				       show(shown, (const char *)p, len16));
	if (!(n->name = malloc((size_t)len16 + 1)))
		return kura_error_set(KURA_ENOMEM, "tree: out of memory");
	memcpy(n->name, p, len16);
	n->name[len16] = '\0';
	if (n->type < KURA_NODE_FILE || n->type > KURA_NODE_SOCKET)
		return node_fail(KURA_ECORRUPT, idx, n->name, "unknown type %u", n->type);
	if ((err = kura_reader_u32(r, &n->mode, "mode")) < 0 ||
	    (err = kura_reader_u32(r, &n->uid, "uid")) < 0 ||
	    (err = kura_reader_u32(r, &n->gid, "gid")) < 0 ||
	    (err = kura_reader_u8(r, &len8, "user name length")) < 0)
		return err;
	if ((err = read_string(r, &n->user, len8, idx, "user name")) < 0)
		return err;
	if ((err = kura_reader_u8(r, &len8, "group name length")) < 0)
		return err;
	if ((err = read_string(r, &n->group, len8, idx, "group name")) < 0)
		return err;
	if ((err = kura_reader_u64(r, (uint64_t *)&n->mtime_sec, "mtime")) < 0 ||
	    (err = kura_reader_u32(r, &n->mtime_nsec, "mtime nanoseconds")) < 0 ||
	    (err = kura_reader_u64(r, &n->size, "size")) < 0)
		return err;
	switch (n->type) {
	case KURA_NODE_HARDLINK:
	case KURA_NODE_SYMLINK:
		if ((err = kura_reader_u16(r, &len16, "target length")) < 0)
			return err;
		if ((err = read_string(r, &n->target, len16, idx, "target")) < 0)
			return err;
		if (n->type == KURA_NODE_HARDLINK && (err = read_extents(r, n, idx)) < 0)
			return err;
		break;
	case KURA_NODE_FILE:
		if ((err = read_extents(r, n, idx)) < 0)
			return err;
		break;
	case KURA_NODE_DIR:
		if ((err = kura_reader_bytes(r, n->subtree, sizeof(n->subtree), "tree id")) < 0)
			return err;
		break;
	case KURA_NODE_CHARDEV:
	case KURA_NODE_BLOCKDEV:
		if ((err = kura_reader_u64(r, &n->rdev, "rdev")) < 0)
			return err;
		break;
	default:
		break;
	}
	return read_xattrs(r, n, idx);
}

int kura_tree_decode(kura_tree **out, const uint8_t *data, size_t len)
{
	kura_tree *t = NULL;
	kura_reader r;
	const uint8_t *magic = NULL;
	uint8_t version, reserved[3];
	uint32_t count;
	char what[32];
	int err;

	*out = NULL;
	kura_reader_init(&r, data, len, "tree");
	if ((err = kura_reader_view(&r, &magic, 4, "magic")) < 0)
		goto done;
	if (memcmp(magic, TREE_MAGIC, 4) != 0) {
		err = kura_error_set(KURA_ECORRUPT, "tree: bad magic");
		goto done;
	}
	if ((err = kura_reader_u8(&r, &version, "version")) < 0 ||
	    (err = kura_reader_bytes(&r, reserved, 3, "reserved")) < 0 ||
	    (err = kura_reader_u32(&r, &count, "node count")) < 0)
		goto done;
	if (version != TREE_VERSION) {
		err = kura_error_set(KURA_EUNSUPPORTED, "tree: version %u is not supported",
				     version);
		goto done;
	}
	if (reserved[0] || reserved[1] || reserved[2]) {
		err = kura_error_set(KURA_ECORRUPT, "tree: reserved bytes are not zero");
		goto done;
	}
	if (count > TREE_NODES_MAX || count > kura_reader_left(&r) / NODE_MIN_BYTES) {
		err = kura_error_set(KURA_ECORRUPT, "tree: %u nodes cannot fit in %zu bytes",
				     count, kura_reader_left(&r));
		goto done;
	}
	if (!(t = calloc(1, sizeof(*t))) ||
	    (count && !(t->nodes = calloc(count, sizeof(*t->nodes))))) {
		err = kura_error_set(KURA_ENOMEM, "tree: out of memory");
		goto done;
	}
	t->count = count;
	for (size_t i = 0; i < count; i++) {
		/* so that the reader's messages say which node was cut short */
		snprintf(what, sizeof(what), "tree: node %zu", i);
		r.what = what;
		if ((err = read_node(&r, &t->nodes[i], i)) < 0)
			goto done;
	}
	r.what = "tree";
	if (kura_reader_left(&r)) {
		err = kura_error_set(KURA_ECORRUPT, "tree: %zu bytes of trailing garbage",
				     kura_reader_left(&r));
		goto done;
	}
	if ((err = tree_check(KURA_ECORRUPT, t)) < 0)
		goto done;
	*out = t;
	t = NULL;
done:
	kura_tree_free(t);
	return err;
}

void kura_node_clear(kura_node *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->user);
	free(n->group);
	free(n->target);
	for (uint32_t i = 0; n->xattrs && i < n->nxattrs; i++) {
		free(n->xattrs[i].name);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	free(n->extents);
	n->name = n->user = n->group = n->target = NULL;
	n->xattrs = NULL;
	n->nxattrs = 0;
	n->extents = NULL;
	n->nextents = 0;
}

void kura_tree_free(kura_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->nodes && i < t->count; i++)
		kura_node_clear(&t->nodes[i]);
	free(t->nodes);
	free(t);
}
