/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tree.c - tree encoding and decoding: a roundtrip of every node type,
 * and the rejection (by the encoder, the decoder, or both) of everything
 * docs/FORMAT.md "Trees" forbids, including every truncation.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "format/tree.h"

static char *dup(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

static void set_node(kura_node *n, const char *name, uint8_t type)
{
	memset(n, 0, sizeof(*n));
	n->name = dup(name);
	n->type = type;
	n->mode = 0644;
	n->uid = 1000;
	n->gid = 100;
	n->user = dup("alice");
	n->group = dup("users");
	n->mtime_sec = -12345; /* before the epoch: i64 */
	n->mtime_nsec = 999999999;
}

static void add_xattr(kura_node *n, const char *name, const char *value)
{
	kura_xattr *x;

	n->xattrs = realloc(n->xattrs, (n->nxattrs + 1) * sizeof(*n->xattrs));
	assert_non_null(n->xattrs);
	x = &n->xattrs[n->nxattrs++];
	x->name = dup(name);
	x->len = (uint32_t)strlen(value);
	x->value = (uint8_t *)dup(value);
}

static void set_extents(kura_node *n)
{
	n->nextents = 3;
	n->extents = calloc(3, sizeof(*n->extents));
	assert_non_null(n->extents);
	n->extents[0].kind = KURA_EXTENT_CHUNK;
	n->extents[0].len = 1000;
	memset(n->extents[0].id, 0xaa, KURA_HASH_SIZE);
	n->extents[1].kind = KURA_EXTENT_HOLE;
	n->extents[1].len = 1u << 30;
	n->extents[2].kind = KURA_EXTENT_CHUNK;
	n->extents[2].len = 64u << 20;
	memset(n->extents[2].id, 0xbb, KURA_HASH_SIZE);
	n->size = 1000 + (1u << 30) + (64u << 20);
}

/* A tree with one node of every type, sorted by name. */
static kura_tree *make_tree(void)
{
	kura_tree *t = calloc(1, sizeof(*t));
	kura_node *n;

	assert_non_null(t);
	t->count = 9;
	t->nodes = calloc(t->count, sizeof(*t->nodes));
	assert_non_null(t->nodes);
	n = &t->nodes[0];
	set_node(n, "a-file", KURA_NODE_FILE);
	set_extents(n);
	add_xattr(n, "system.posix_acl_access", "\x02\x00\x00\x00\x01\x00\x06\x00");
	add_xattr(n, "user.a", "");
	add_xattr(n, "user.b", "value");
	n = &t->nodes[1];
	set_node(n, "b-dir", KURA_NODE_DIR);
	n->mode = 01777;
	memset(n->subtree, 0x5c, KURA_HASH_SIZE);
	n = &t->nodes[2];
	set_node(n, "c-link", KURA_NODE_SYMLINK);
	n->target = dup("../some where/\xff\x01target");
	n->size = strlen(n->target);
	n = &t->nodes[3];
	set_node(n, "d-hard", KURA_NODE_HARDLINK);
	n->target = dup("home/a/a-file");
	set_extents(n);
	n = &t->nodes[4];
	set_node(n, "e-fifo", KURA_NODE_FIFO);
	free(n->user);
	free(n->group);
	n->user = dup("");
	n->group = dup("");
	n = &t->nodes[5];
	set_node(n, "f-chr", KURA_NODE_CHARDEV);
	n->rdev = 0x0103;
	n = &t->nodes[6];
	set_node(n, "g-blk", KURA_NODE_BLOCKDEV);
	n->rdev = 0xffffffffffffull;
	n = &t->nodes[7];
	set_node(n, "h-sock", KURA_NODE_SOCKET);
	n = &t->nodes[8];
	set_node(n, "\xc3\xa9t\xc3\xa9 \n\x7f", KURA_NODE_FILE); /* bytes above ASCII sort last */
	n->mode = 06755;
	return t;
}

static void assert_nodes_equal(const kura_node *a, const kura_node *b)
{
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_string_equal(a->user, b->user);
	assert_string_equal(a->group, b->group);
	assert_true(a->mtime_sec == b->mtime_sec);
	assert_int_equal(a->mtime_nsec, b->mtime_nsec);
	assert_true(a->size == b->size);
	assert_true(a->rdev == b->rdev);
	if (a->target || b->target)
		assert_string_equal(a->target, b->target);
	if (a->type == KURA_NODE_DIR)
		assert_memory_equal(a->subtree, b->subtree, KURA_HASH_SIZE);
	assert_int_equal(a->nextents, b->nextents);
	for (uint32_t i = 0; i < a->nextents; i++) {
		assert_int_equal(a->extents[i].kind, b->extents[i].kind);
		assert_true(a->extents[i].len == b->extents[i].len);
		if (a->extents[i].kind == KURA_EXTENT_CHUNK)
			assert_memory_equal(a->extents[i].id, b->extents[i].id, KURA_HASH_SIZE);
	}
	assert_int_equal(a->nxattrs, b->nxattrs);
	for (uint32_t i = 0; i < a->nxattrs; i++) {
		assert_string_equal(a->xattrs[i].name, b->xattrs[i].name);
		assert_int_equal(a->xattrs[i].len, b->xattrs[i].len);
		assert_memory_equal(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].len);
	}
}

static void test_roundtrip(void **state)
{
	kura_tree *t = make_tree(), *d = NULL;
	kura_buf b = KURA_BUF_INIT, b2 = KURA_BUF_INIT;

	assert_ok(kura_buf_put(&b, "prefix", 6)); /* encode appends */
	assert_ok(kura_tree_encode(&b, t));
	assert_memory_equal(b.data, "prefixKTRE\x01\0\0\0\x09\0\0\0", 18);
	assert_ok(kura_tree_decode(&d, b.data + 6, b.len - 6));
	assert_int_equal(d->count, t->count);
	for (size_t i = 0; i < t->count; i++)
		assert_nodes_equal(&t->nodes[i], &d->nodes[i]);
	assert_null(d->nodes[1].target);
	assert_ok(kura_tree_encode(&b2, d));
	assert_int_equal(b2.len, b.len - 6);
	assert_memory_equal(b2.data, b.data + 6, b2.len);
	kura_tree_free(t);
	kura_tree_free(d);
	kura_tree_free(NULL);
	kura_node_clear(NULL);
	kura_buf_free(&b);
	kura_buf_free(&b2);
}

static void test_empty_and_null_owner(void **state)
{
	kura_tree empty = {NULL, 0}, *d = NULL;
	kura_node n;
	kura_tree one = {&n, 1};
	kura_buf b = KURA_BUF_INIT;

	assert_ok(kura_tree_encode(&b, &empty));
	assert_int_equal(b.len, 12);
	assert_ok(kura_tree_decode(&d, b.data, b.len));
	assert_int_equal(d->count, 0);
	kura_tree_free(d);
	/* NULL user and group encode as "" */
	memset(&n, 0, sizeof(n));
	n.name = "x";
	n.type = KURA_NODE_FIFO;
	b.len = 0;
	assert_ok(kura_tree_encode(&b, &one));
	assert_ok(kura_tree_decode(&d, b.data, b.len));
	assert_string_equal(d->nodes[0].user, "");
	assert_string_equal(d->nodes[0].group, "");
	kura_tree_free(d);
	kura_buf_free(&b);
}

static void test_name_ok(void **state)
{
	char big[300];

	memset(big, 'a', sizeof(big));
	assert_ok(kura_tree_name_ok("a", 1));
	assert_ok(kura_tree_name_ok("...", 3));
	assert_ok(kura_tree_name_ok(".hidden", 7));
	assert_ok(kura_tree_name_ok(big, 255));
	assert_int_equal(kura_tree_name_ok(big, 256), KURA_EINVAL);
	assert_int_equal(kura_tree_name_ok("", 0), KURA_EINVAL);
	assert_int_equal(kura_tree_name_ok(".", 1), KURA_EINVAL);
	assert_int_equal(kura_tree_name_ok("..", 2), KURA_EINVAL);
	assert_int_equal(kura_tree_name_ok("a/b", 3), KURA_EINVAL);
	assert_int_equal(kura_tree_name_ok("a\0b", 3), KURA_EINVAL);
}

/* Mutate a fresh make_tree() and expect the encoder to refuse it. */
typedef void (*mutate_fn)(kura_tree *t);

static void expect_encode_fails(mutate_fn fn, const char *fragment)
{
	kura_tree *t = make_tree();
	kura_buf b = KURA_BUF_INIT;

	assert_ok(kura_buf_put(&b, "xyz", 3));
	fn(t);
	assert_int_equal(kura_tree_encode(&b, t), KURA_EINVAL);
	if (!strstr(kura_error_message(), fragment))
		print_error("message '%s' lacks '%s'\n", kura_error_message(), fragment);
	assert_non_null(strstr(kura_error_message(), fragment));
	assert_int_equal(b.len, 3); /* nothing appended on failure */
	kura_tree_free(t);
	kura_buf_free(&b);
}

static void rename_node(kura_tree *t, size_t i, const char *name)
{
	free(t->nodes[i].name);
	t->nodes[i].name = dup(name);
}

static void m_unsorted(kura_tree *t) { rename_node(t, 1, "0"); }
static void m_duplicate(kura_tree *t) { rename_node(t, 1, "a-file"); }
static void m_dotdot(kura_tree *t) { rename_node(t, 0, ".."); }
static void m_dot(kura_tree *t) { rename_node(t, 0, "."); }
static void m_slash(kura_tree *t) { rename_node(t, 0, "a/b"); }
static void m_empty(kura_tree *t) { rename_node(t, 0, ""); }
static void m_size(kura_tree *t) { t->nodes[0].size++; }
static void m_hard_size(kura_tree *t) { t->nodes[3].size--; }
static void m_mode(kura_tree *t) { t->nodes[0].mode = 0100644; }
static void m_nsec(kura_tree *t) { t->nodes[0].mtime_nsec = 1000000000; }
static void m_type(kura_tree *t) { t->nodes[7].type = 9; }
static void m_chunk0(kura_tree *t) { t->nodes[0].extents[0].len = 0; t->nodes[0].size -= 1000; }
static void m_chunk_big(kura_tree *t)
{
	t->nodes[0].extents[2].len++;
	t->nodes[0].size++;
}
static void m_hole0(kura_tree *t)
{
	t->nodes[0].extents[1].len = 0;
	t->nodes[0].size -= 1u << 30;
}
static void m_kind(kura_tree *t) { t->nodes[0].extents[1].kind = 2; }
static void m_xattr_order(kura_tree *t)
{
	kura_xattr x = t->nodes[0].xattrs[1];
	t->nodes[0].xattrs[1] = t->nodes[0].xattrs[2];
	t->nodes[0].xattrs[2] = x;
}
static void m_xattr_dup(kura_tree *t)
{
	free(t->nodes[0].xattrs[2].name);
	t->nodes[0].xattrs[2].name = dup("user.a");
}
static void m_xattr_big(kura_tree *t)
{
	kura_xattr *x = &t->nodes[0].xattrs[2];
	free(x->value);
	x->value = calloc(1, KURA_XATTR_VALUE_MAX + 1);
	x->len = KURA_XATTR_VALUE_MAX + 1;
}
static void m_xattr_empty_name(kura_tree *t) { t->nodes[0].xattrs[0].name[0] = '\0'; }
static void m_sym_size(kura_tree *t) { t->nodes[2].size = 0; }
static void m_sym_empty(kura_tree *t) { t->nodes[2].target[0] = '\0'; t->nodes[2].size = 0; }
static void m_sym_null(kura_tree *t) { free(t->nodes[2].target); t->nodes[2].target = NULL; }
static void m_sym_long(kura_tree *t)
{
	free(t->nodes[2].target);
	t->nodes[2].target = malloc(KURA_TARGET_MAX + 2);
	memset(t->nodes[2].target, 'x', KURA_TARGET_MAX + 1);
	t->nodes[2].target[KURA_TARGET_MAX + 1] = '\0';
	t->nodes[2].size = KURA_TARGET_MAX + 1;
}
static void m_dir_size(kura_tree *t) { t->nodes[1].size = 1; }
static void set_hard(kura_tree *t, const char *target)
{
	free(t->nodes[3].target);
	t->nodes[3].target = dup(target);
}
static void m_hard_abs(kura_tree *t) { set_hard(t, "/etc/passwd"); }
static void m_hard_dotdot(kura_tree *t) { set_hard(t, "home/../../etc"); }
static void m_hard_dot(kura_tree *t) { set_hard(t, "./x"); }
static void m_hard_empty_comp(kura_tree *t) { set_hard(t, "home//a"); }
static void m_hard_trailing(kura_tree *t) { set_hard(t, "home/a/"); }
static void m_hard_empty(kura_tree *t) { set_hard(t, ""); }
static void m_user_long(kura_tree *t)
{
	free(t->nodes[0].user);
	t->nodes[0].user = malloc(257);
	memset(t->nodes[0].user, 'u', 256);
	t->nodes[0].user[256] = '\0';
}

static void test_encode_rejects(void **state)
{
	expect_encode_fails(m_unsorted, "not sorted");
	expect_encode_fails(m_duplicate, "duplicate");
	expect_encode_fails(m_dotdot, "name is '..'");
	expect_encode_fails(m_dot, "name is '.'");
	expect_encode_fails(m_slash, "contains '/'");
	expect_encode_fails(m_empty, "empty name");
	expect_encode_fails(m_size, "add up");
	expect_encode_fails(m_hard_size, "add up");
	expect_encode_fails(m_mode, "mode");
	expect_encode_fails(m_nsec, "nanoseconds");
	expect_encode_fails(m_type, "unknown type");
	expect_encode_fails(m_chunk0, "chunk length");
	expect_encode_fails(m_chunk_big, "chunk length");
	expect_encode_fails(m_hole0, "empty hole");
	expect_encode_fails(m_kind, "unknown kind");
	expect_encode_fails(m_xattr_order, "not sorted");
	expect_encode_fails(m_xattr_dup, "duplicate");
	expect_encode_fails(m_xattr_big, "value of");
	expect_encode_fails(m_xattr_empty_name, "name length 0");
	expect_encode_fails(m_sym_size, "target length");
	expect_encode_fails(m_sym_empty, "target length 0");
	expect_encode_fails(m_sym_null, "without a target");
	expect_encode_fails(m_sym_long, "target length 4096");
	expect_encode_fails(m_dir_size, "must be 0");
	expect_encode_fails(m_hard_abs, "absolute");
	expect_encode_fails(m_hard_dotdot, "component 2");
	expect_encode_fails(m_hard_dot, "component 1");
	expect_encode_fails(m_hard_empty_comp, "empty name");
	expect_encode_fails(m_hard_trailing, "component 3");
	expect_encode_fails(m_hard_empty, "target length 0");
	expect_encode_fails(m_user_long, "user name");
}

/* ---- decoder: hand-built encodings ---- */

static void raw_header(kura_buf *b, uint32_t count)
{
	assert_ok(kura_buf_put(b, "KTRE\x01\0\0\0", 8));
	assert_ok(kura_buf_put_u32(b, count));
}

/* The common fields of a node up to and including size. */
static void raw_node(kura_buf *b, uint8_t type, const char *name, size_t name_len, uint32_t mode,
		     uint32_t nsec, uint64_t size)
{
	assert_ok(kura_buf_put_u8(b, type));
	assert_ok(kura_buf_put_u16(b, (uint16_t)name_len));
	assert_ok(kura_buf_put(b, name, name_len));
	assert_ok(kura_buf_put_u32(b, mode));
	assert_ok(kura_buf_put_u32(b, 0));
	assert_ok(kura_buf_put_u32(b, 0));
	assert_ok(kura_buf_put_u8(b, 0));
	assert_ok(kura_buf_put_u8(b, 0));
	assert_ok(kura_buf_put_u64(b, 0));
	assert_ok(kura_buf_put_u32(b, nsec));
	assert_ok(kura_buf_put_u64(b, size));
}

static void raw_fifo(kura_buf *b, const char *name, size_t name_len)
{
	raw_node(b, KURA_NODE_FIFO, name, name_len, 0644, 0, 0);
	assert_ok(kura_buf_put_u16(b, 0));
}

static void expect_decode(kura_buf *b, int code, const char *fragment)
{
	kura_tree *t = (kura_tree *)1;
	int err = kura_tree_decode(&t, b->data, b->len);

	if (err != code || !strstr(kura_error_message(), fragment))
		print_error("got %d '%s', wanted %d '%s'\n", err, kura_error_message(), code,
			    fragment);
	assert_int_equal(err, code);
	assert_null(t);
	assert_non_null(strstr(kura_error_message(), fragment));
	kura_buf_free(b);
}

static void test_decode_rejects_names(void **state)
{
	kura_buf b = KURA_BUF_INIT;

	raw_header(&b, 2);
	raw_fifo(&b, "b", 1);
	raw_fifo(&b, "a", 1);
	expect_decode(&b, KURA_ECORRUPT, "not sorted");
	raw_header(&b, 2);
	raw_fifo(&b, "a", 1);
	raw_fifo(&b, "a", 1);
	expect_decode(&b, KURA_ECORRUPT, "duplicate");
	raw_header(&b, 2);
	raw_fifo(&b, "ab", 2);
	raw_fifo(&b, "a", 1); /* a prefix sorts first */
	expect_decode(&b, KURA_ECORRUPT, "not sorted");
	raw_header(&b, 1);
	raw_fifo(&b, "..", 2);
	expect_decode(&b, KURA_ECORRUPT, "name is '..'");
	raw_header(&b, 1);
	raw_fifo(&b, ".", 1);
	expect_decode(&b, KURA_ECORRUPT, "name is '.'");
	raw_header(&b, 1);
	raw_fifo(&b, "a/b", 3);
	expect_decode(&b, KURA_ECORRUPT, "contains '/'");
	raw_header(&b, 1);
	raw_fifo(&b, "", 0);
	expect_decode(&b, KURA_ECORRUPT, "cannot fit"); /* smaller than any valid node */
	raw_header(&b, 2);
	raw_fifo(&b, "", 0);
	raw_fifo(&b, "bbbbbbbb", 8);
	expect_decode(&b, KURA_ECORRUPT, "empty name");
	raw_header(&b, 1);
	raw_fifo(&b, "a\0b", 3);
	expect_decode(&b, KURA_ECORRUPT, "NUL");
	raw_header(&b, 1);
	{
		char big[256];
		memset(big, 'n', sizeof(big));
		raw_fifo(&b, big, sizeof(big));
	}
	expect_decode(&b, KURA_ECORRUPT, "longer than 255");
}

static void test_decode_rejects_fields(void **state)
{
	kura_buf b = KURA_BUF_INIT;
	uint8_t id[32] = {0};

	raw_header(&b, 1);
	raw_node(&b, KURA_NODE_FIFO, "a", 1, 0100644, 0, 0);
	assert_ok(kura_buf_put_u16(&b, 0));
	expect_decode(&b, KURA_ECORRUPT, "mode");

	raw_header(&b, 1);
	raw_node(&b, KURA_NODE_FIFO, "a", 1, 0644, 1000000000, 0);
	assert_ok(kura_buf_put_u16(&b, 0));
	expect_decode(&b, KURA_ECORRUPT, "nanoseconds");

	raw_header(&b, 1);
	raw_node(&b, 9, "a", 1, 0644, 0, 0);
	assert_ok(kura_buf_put_u16(&b, 0));
	expect_decode(&b, KURA_ECORRUPT, "unknown type 9");

	raw_header(&b, 1);
	raw_node(&b, 0, "a", 1, 0644, 0, 0);
	assert_ok(kura_buf_put_u16(&b, 0));
	expect_decode(&b, KURA_ECORRUPT, "unknown type 0");

	/* symlink target with a NUL */
	raw_header(&b, 1);
	raw_node(&b, KURA_NODE_SYMLINK, "a", 1, 0777, 0, 3);
	assert_ok(kura_buf_put_u16(&b, 3));
	assert_ok(kura_buf_put(&b, "a\0b", 3));
	assert_ok(kura_buf_put_u16(&b, 0));
	expect_decode(&b, KURA_ECORRUPT, "target contains NUL");

	/* extents that do not add up */
	raw_header(&b, 1);
	raw_node(&b, KURA_NODE_FILE, "a", 1, 0644, 0, 100);
	assert_ok(kura_buf_put_u32(&b, 1));
	assert_ok(kura_buf_put_u8(&b, KURA_EXTENT_CHUNK));
	assert_ok(kura_buf_put_u64(&b, 99));
	assert_ok(kura_buf_put(&b, id, 32));
	assert_ok(kura_buf_put_u16(&b, 0));
	expect_decode(&b, KURA_ECORRUPT, "add up");

	/* extent lengths that overflow 64 bits */
	raw_header(&b, 1);
	raw_node(&b, KURA_NODE_FILE, "a", 1, 0644, 0, 5);
	assert_ok(kura_buf_put_u32(&b, 2));
	assert_ok(kura_buf_put_u8(&b, KURA_EXTENT_HOLE));
	assert_ok(kura_buf_put_u64(&b, UINT64_MAX));
	assert_ok(kura_buf_put_u8(&b, KURA_EXTENT_HOLE));
	assert_ok(kura_buf_put_u64(&b, 6));
	assert_ok(kura_buf_put_u16(&b, 0));
	expect_decode(&b, KURA_ECORRUPT, "overflow");

	/* an extent count far beyond the bytes */
	raw_header(&b, 1);
	raw_node(&b, KURA_NODE_FILE, "a", 1, 0644, 0, 0);
	assert_ok(kura_buf_put_u32(&b, 0xffffffff));
	assert_ok(kura_buf_put_u16(&b, 0));
	expect_decode(&b, KURA_ECORRUPT, "extents in");

	/* too many xattrs */
	raw_header(&b, 1);
	raw_node(&b, KURA_NODE_FIFO, "a", 1, 0644, 0, 0);
	assert_ok(kura_buf_put_u16(&b, 4097));
	expect_decode(&b, KURA_ECORRUPT, "at most 4096");

	/* xattr value too long */
	raw_header(&b, 1);
	raw_node(&b, KURA_NODE_FIFO, "a", 1, 0644, 0, 0);
	assert_ok(kura_buf_put_u16(&b, 1));
	assert_ok(kura_buf_put_u8(&b, 1));
	assert_ok(kura_buf_put(&b, "x", 1));
	assert_ok(kura_buf_put_u32(&b, KURA_XATTR_VALUE_MAX + 1));
	expect_decode(&b, KURA_ECORRUPT, "value of");

	/* xattrs out of order */
	raw_header(&b, 1);
	raw_node(&b, KURA_NODE_FIFO, "a", 1, 0644, 0, 0);
	assert_ok(kura_buf_put_u16(&b, 2));
	assert_ok(kura_buf_put(&b, "\x01y\0\0\0\0\x01x\0\0\0\0", 12));
	expect_decode(&b, KURA_ECORRUPT, "not sorted");

	/* a directory with a size */
	raw_header(&b, 1);
	raw_node(&b, KURA_NODE_DIR, "a", 1, 0755, 0, 1);
	assert_ok(kura_buf_put(&b, id, 32));
	assert_ok(kura_buf_put_u16(&b, 0));
	expect_decode(&b, KURA_ECORRUPT, "must be 0");

	/* a huge node count in a small buffer */
	raw_header(&b, 0xffffffff);
	raw_fifo(&b, "a", 1);
	expect_decode(&b, KURA_ECORRUPT, "cannot fit");
	raw_header(&b, (1u << 24) + 1);
	expect_decode(&b, KURA_ECORRUPT, "cannot fit");

	/* header problems */
	raw_header(&b, 0);
	b.data[0] = 'X';
	expect_decode(&b, KURA_ECORRUPT, "magic");
	raw_header(&b, 0);
	b.data[4] = 2;
	expect_decode(&b, KURA_EUNSUPPORTED, "version 2");
	raw_header(&b, 0);
	b.data[6] = 1;
	expect_decode(&b, KURA_ECORRUPT, "reserved");
}

static void test_truncation_and_garbage(void **state)
{
	kura_tree *t = make_tree(), *d = NULL;
	kura_buf b = KURA_BUF_INIT;

	assert_ok(kura_tree_encode(&b, t));
	for (size_t len = 0; len < b.len; len++) {
		d = (kura_tree *)1;
		assert_int_equal(kura_tree_decode(&d, b.data, len), KURA_ECORRUPT);
		assert_null(d);
	}
	assert_ok(kura_buf_put_u8(&b, 0));
	assert_int_equal(kura_tree_decode(&d, b.data, b.len), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "trailing"));
	kura_tree_free(t);
	kura_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty_and_null_owner),
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_decode_rejects_names),
		cmocka_unit_test(test_decode_rejects_fields),
		cmocka_unit_test(test_truncation_and_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
