/* SPDX-License-Identifier: Apache-2.0 */
/* test_fsmeta.c - capturing and restoring file metadata (lib/repo/fsmeta.c). */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/error.h"
#include "repo/fsmeta.h"

typedef struct {
	char dir[64];
	int src, dst; /* fds of dir/src and dir/dst */
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char path[96];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-fsmeta-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/src", f->dir);
	if (mkdir(path, 0755) < 0 || (f->src = open(path, O_RDONLY | O_DIRECTORY)) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/dst", f->dir);
	if (mkdir(path, 0755) < 0 || (f->dst = open(path, O_RDONLY | O_DIRECTORY)) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	close(f->src);
	close(f->dst);
	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* The tests own their nodes' fields (independent of tree.c). */
static void node_free(kura_node *n)
{
	free(n->name);
	free(n->user);
	free(n->group);
	free(n->target);
	for (uint32_t i = 0; i < n->nxattrs; i++) {
		free(n->xattrs[i].name);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	memset(n, 0, sizeof(*n));
}

static int capture(kura_node *n, int dirfd, const char *name)
{
	struct stat st;

	memset(n, 0, sizeof(*n));
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return KURA_EIO;
	n->name = strdup(name);
	return kura_fsmeta_capture(n, dirfd, name, &st);
}

static const kura_xattr *find_xattr(const kura_node *n, const char *name)
{
	for (uint32_t i = 0; i < n->nxattrs; i++)
		if (!strcmp(n->xattrs[i].name, name))
			return &n->xattrs[i];
	return NULL;
}

/* user::rw- user:65534:r-- group::r-- mask::r-- other::r-- in the kernel's format. */
static size_t make_acl(uint8_t *out)
{
	static const struct {
		uint16_t tag, perm;
		uint32_t id;
	} e[] = {
	    {0x01, 6, 0xffffffff}, {0x02, 4, 65534},	  {0x04, 4, 0xffffffff},
	    {0x10, 4, 0xffffffff}, {0x20, 4, 0xffffffff},
	};
	size_t n = 4;

	out[0] = 2, out[1] = out[2] = out[3] = 0;
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		out[n++] = (uint8_t)e[i].tag, out[n++] = (uint8_t)(e[i].tag >> 8);
		out[n++] = (uint8_t)e[i].perm, out[n++] = (uint8_t)(e[i].perm >> 8);
		for (int b = 0; b < 4; b++)
			out[n++] = (uint8_t)(e[i].id >> (8 * b));
	}
	return n;
}

static void set_mtime(int dirfd, const char *name, time_t sec, long nsec)
{
	struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};

	assert_int_equal(utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW), 0);
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
	assert_int_equal(a->nxattrs, b->nxattrs);
	for (uint32_t i = 0; i < a->nxattrs; i++) {
		assert_string_equal(a->xattrs[i].name, b->xattrs[i].name);
		assert_int_equal(a->xattrs[i].len, b->xattrs[i].len);
		assert_memory_equal(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].len);
	}
}

static void test_names(void **state)
{
	const char *root = kura_fsmeta_user_name(0);

	assert_string_equal(root, "root");
	/* Cached: the same borrowed string. */
	assert_ptr_equal(kura_fsmeta_user_name(0), root);
	assert_string_equal(kura_fsmeta_group_name(0), "root");
	assert_string_equal(kura_fsmeta_user_name(3999999999u), "");
	assert_string_equal(kura_fsmeta_group_name(3999999999u), "");
}

static void test_capture_file(void **state)
{
	fixture *f = *state;
	uint8_t acl[64];
	size_t acl_len = make_acl(acl);
	const kura_xattr *x;
	kura_node n;
	int fd;

	fd = openat(f->src, "file", O_CREAT | O_WRONLY, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	assert_int_equal(fchmod(fd, 04751), 0);
	assert_int_equal(fsetxattr(fd, "user.test", "value", 5, 0), 0);
	/* Sets the mode bits to the ACL's user::rw- mask::r-- other::r--. */
	assert_int_equal(fsetxattr(fd, "system.posix_acl_access", acl, acl_len, 0), 0);
	close(fd);
	set_mtime(f->src, "file", 1600000000, 123456789);

	assert_ok(capture(&n, f->src, "file"));
	assert_int_equal(n.type, KURA_NODE_FILE);
	assert_int_equal(n.mode, 04644);
	assert_int_equal(n.size, 5);
	assert_int_equal(n.uid, geteuid());
	assert_true(n.mtime_sec == 1600000000);
	assert_int_equal(n.mtime_nsec, 123456789);
	assert_null(n.target);
	assert_int_equal(n.nxattrs, 2);
	/* Sorted by name. */
	assert_string_equal(n.xattrs[0].name, "system.posix_acl_access");
	assert_string_equal(n.xattrs[1].name, "user.test");
	x = find_xattr(&n, "user.test");
	assert_int_equal(x->len, 5);
	assert_memory_equal(x->value, "value", 5);
	x = find_xattr(&n, "system.posix_acl_access");
	assert_non_null(x);
	assert_int_equal(x->len, acl_len);
	assert_memory_equal(x->value, acl, acl_len);
	node_free(&n);
}

static void test_capture_symlink_fifo_dir(void **state)
{
	fixture *f = *state;
	kura_buf enc = KURA_BUF_INIT;
	kura_node n[3];
	kura_tree t = {n, 3};

	/* In name order, so the three make a tree the encoder accepts. */
	assert_int_equal(mkfifoat(f->src, "fifo", 0604), 0);
	assert_int_equal(fchmodat(f->src, "fifo", 0604, 0), 0);
	assert_ok(capture(&n[0], f->src, "fifo"));
	assert_int_equal(n[0].type, KURA_NODE_FIFO);
	assert_int_equal(n[0].mode, 0604);
	assert_int_equal(n[0].size, 0);

	assert_int_equal(symlinkat("../some/where", f->src, "link"), 0);
	assert_ok(capture(&n[1], f->src, "link"));
	assert_int_equal(n[1].type, KURA_NODE_SYMLINK);
	assert_string_equal(n[1].target, "../some/where");
	assert_int_equal(n[1].size, strlen("../some/where"));
	assert_int_equal(n[1].nxattrs, 0);

	assert_int_equal(mkdirat(f->src, "sub", 0750), 0);
	assert_ok(capture(&n[2], f->src, "sub"));
	assert_int_equal(n[2].type, KURA_NODE_DIR);
	assert_int_equal(n[2].mode, 0750);
	assert_int_equal(n[2].size, 0);

	/* What capture produces satisfies the tree's invariants. */
	assert_ok(kura_tree_encode(&enc, &t));
	kura_buf_free(&enc);
	for (int i = 0; i < 3; i++)
		node_free(&n[i]);
}

static void test_roundtrip(void **state)
{
	fixture *f = *state;
	const char *names[] = {"dir", "file", "fifo", "link"};
	kura_node a[4], b[4];
	uint8_t acl[64];
	size_t acl_len = make_acl(acl);
	int fd;

	assert_int_equal(mkdirat(f->src, "dir", 02751), 0);
	assert_int_equal(fchmodat(f->src, "dir", 02751, 0), 0);
	fd = openat(f->src, "file", O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fsetxattr(fd, "user.test", "v\0bin", 5, 0), 0);
	assert_int_equal(fsetxattr(fd, "user.empty", "", 0, 0), 0);
	assert_int_equal(fsetxattr(fd, "system.posix_acl_access", acl, acl_len, 0), 0);
	close(fd);
	assert_int_equal(mkfifoat(f->src, "fifo", 0640), 0);
	assert_int_equal(symlinkat("target/x", f->src, "link"), 0);
	if (geteuid() == 0) {
		assert_int_equal(fchownat(f->src, "file", 1234, 5678, AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(fchownat(f->src, "link", 1234, 5678, AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(fchmodat(f->src, "file", 06755, 0), 0);
	}
	for (int i = 0; i < 4; i++)
		set_mtime(f->src, names[i], 1500000000 + i, 100000000 * i + 7);

	for (int i = 0; i < 4; i++) {
		assert_ok(capture(&a[i], f->src, names[i]));
		if (a[i].type == KURA_NODE_FILE) {
			fd = openat(f->dst, names[i], O_CREAT | O_EXCL | O_WRONLY, 0600);
			assert_true(fd >= 0);
			close(fd);
		} else {
			assert_ok(kura_fsmeta_create(f->dst, &a[i]));
		}
		assert_ok(kura_fsmeta_apply(f->dst, &a[i], false));
		assert_ok(capture(&b[i], f->dst, names[i]));
		/* The size of a file is its content's business, not fsmeta's. */
		if (a[i].type == KURA_NODE_FILE)
			b[i].size = a[i].size;
		assert_nodes_equal(&a[i], &b[i]);
		node_free(&a[i]);
		node_free(&b[i]);
	}
}

static void test_create_existing(void **state)
{
	fixture *f = *state;
	kura_node n = {0};
	struct stat st;

	assert_int_equal(symlinkat("/tmp/elsewhere", f->dst, "x"), 0);
	n.name = "x";
	n.type = KURA_NODE_SYMLINK;
	n.target = "other";
	assert_int_equal(kura_fsmeta_create(f->dst, &n), KURA_EEXISTS);
	n.type = KURA_NODE_FIFO;
	assert_int_equal(kura_fsmeta_create(f->dst, &n), KURA_EEXISTS);
	/* Not even a directory may reuse a symlink to a directory. */
	assert_int_equal(symlinkat(".", f->dst, "dirlink"), 0);
	n.name = "dirlink";
	n.type = KURA_NODE_DIR;
	assert_int_equal(kura_fsmeta_create(f->dst, &n), KURA_EEXISTS);
	assert_int_equal(fstatat(f->dst, "x", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISLNK(st.st_mode));

	/* An existing directory is reused. */
	assert_int_equal(mkdirat(f->dst, "d", 0755), 0);
	n.name = "d";
	assert_ok(kura_fsmeta_create(f->dst, &n));

	/* Regular files, hard links and bad names are refused. */
	n.name = "file";
	n.type = KURA_NODE_FILE;
	assert_int_equal(kura_fsmeta_create(f->dst, &n), KURA_EINVAL);
	n.type = KURA_NODE_HARDLINK;
	assert_int_equal(kura_fsmeta_create(f->dst, &n), KURA_EINVAL);
	n.type = KURA_NODE_DIR;
	n.name = "..";
	assert_int_equal(kura_fsmeta_create(f->dst, &n), KURA_EINVAL);
	n.name = "a/b";
	assert_int_equal(kura_fsmeta_create(f->dst, &n), KURA_EINVAL);
	n.name = "";
	assert_int_equal(kura_fsmeta_create(f->dst, &n), KURA_EINVAL);
	assert_int_equal(kura_fsmeta_apply(f->dst, &n, false), KURA_EINVAL);
}

static void test_apply_no_follow(void **state)
{
	fixture *f = *state;
	char victim[96];
	kura_node n = {0};
	struct stat st;
	int fd;

	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	fd = open(victim, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlinkat(victim, f->dst, "f"), 0);

	n.name = "f";
	n.type = KURA_NODE_FILE;
	n.mode = 06777;
	n.uid = 1234;
	n.gid = 1234;
	n.user = "";
	n.group = "";
	n.mtime_sec = 1000;
	assert_int_equal(kura_fsmeta_apply(f->dst, &n, false), KURA_EDENIED);
	assert_non_null(strstr(kura_error_message(), "f: not applying"));
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_true(st.st_mtime != 1000);

	/* As a symlink node, only the link itself is touched. */
	n.type = KURA_NODE_SYMLINK;
	n.target = victim;
	if (geteuid() != 0) {
		n.uid = geteuid();
		n.gid = getegid();
	}
	assert_ok(kura_fsmeta_apply(f->dst, &n, true));
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_true(st.st_mtime != 1000);
	assert_int_equal(lstat(victim, &st), 0);
	assert_int_equal(fstatat(f->dst, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_uid, n.uid);
	assert_true(st.st_mtime == 1000);
}

static void test_apply_owner_names(void **state)
{
	fixture *f = *state;
	kura_node n = {0};
	struct stat st;

	if (geteuid() != 0)
		skip();
	assert_int_equal(mkfifoat(f->dst, "p", 0600), 0);
	n.name = "p";
	n.type = KURA_NODE_FIFO;
	n.mode = 0640;
	n.uid = 1234;
	n.gid = 5678;
	n.user = "root";		/* exists here: wins over the number */
	n.group = "no-such-group-kura"; /* does not: the number is used */
	assert_ok(kura_fsmeta_apply(f->dst, &n, false));
	assert_int_equal(fstatat(f->dst, "p", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 5678);
	assert_ok(kura_fsmeta_apply(f->dst, &n, true));
	assert_int_equal(fstatat(f->dst, "p", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 5678);
	assert_int_equal(st.st_mode & 07777, 0640);
}

static void test_apply_continues(void **state)
{
	fixture *f = *state;
	kura_xattr x[2] = {{"bogus.ns", (uint8_t *)"v", 1}, {"user.ok", (uint8_t *)"w", 1}};
	kura_node n = {0};
	struct stat st;
	char val[4];
	int fd;

	fd = openat(f->dst, "g", O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	n.name = "g";
	n.type = KURA_NODE_FILE;
	n.mode = 0604;
	n.uid = geteuid();
	n.gid = getegid();
	n.user = n.group = "";
	n.mtime_sec = 1234567;
	n.mtime_nsec = 89;
	n.xattrs = x;
	n.nxattrs = 2;
	assert_int_equal(kura_fsmeta_apply(f->dst, &n, false), KURA_EIO);
	assert_non_null(strstr(kura_error_message(), "bogus.ns"));
	assert_int_equal(fstatat(f->dst, "g", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0604);
	assert_true(st.st_mtim.tv_sec == 1234567);
	assert_int_equal(st.st_mtim.tv_nsec, 89);
	fd = openat(f->dst, "g", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fgetxattr(fd, "user.ok", val, sizeof(val)), 1);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test_setup_teardown(test_capture_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_capture_symlink_fifo_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_existing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_no_follow, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_owner_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_continues, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
