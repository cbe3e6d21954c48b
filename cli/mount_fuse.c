/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mount_fuse.c - the FUSE operations of `kura mount`: each low-level
 * request is answered from the kura_fs (kura/mount.h), which numbers the
 * inodes, so this file only translates.
 *
 * The mount is read-only ("ro": the kernel refuses every write before it
 * reaches us) and uses the kernel's permission checks on the stored modes
 * and POSIX ACLs (default_permissions, and FUSE_CAP_POSIX_ACL so that
 * system.posix_acl_* are served as stored).  Snapshots never change, so
 * attributes, entries and page-cache contents are kept by the kernel for
 * an hour (keep_cache).  The loop is multi-threaded: kura_fs calls are
 * thread-safe and the repository's read path is too, so one slow chunk
 * fetch (a vault over a WAN) does not stall a directory listing.  Errors
 * that mean damage or a failed fetch are said on stderr, with the
 * library's message, and answered EIO.
 *
 * Signals: fuse_set_signal_handlers makes SIGINT, SIGTERM and SIGHUP end
 * the session loop; the mount is then taken down by
 * fuse_session_unmount.  An outside `fusermount3 -u` ends the loop too.
 */
#define FUSE_USE_VERSION 312

#include "mount_fuse.h"

#ifdef KURA_NO_FUSE
#include <stdio.h>

int cli_mount_serve(kura_fs *fs, const struct cli_mount_opts *o)
{
	(void)fs;
	(void)o;
	fprintf(stderr, "kura: this kura was built without libfuse3 (scripts/deps.sh installs "
			"libfuse3-dev): it cannot mount\n");
	return -1;
}
#else

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CACHE_SECONDS 3600.0

static kura_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The errno for a library error; damage and fetch failures are said on stderr. */
static int errno_of(int err, int notfound)
{
	switch (err) {
	case KURA_ENOTFOUND:
		return notfound;
	case KURA_ENOMEM:
		return ENOMEM;
	case KURA_EINVAL:
		return EINVAL;
	default:
		fprintf(stderr, "kura mount: %s\n", kura_error_message());
		return EIO;
	}
}

static void to_stat(struct stat *st, const kura_fs_attr *a)
{
	static const mode_t types[] = {
	    [KURA_NODE_FILE] = S_IFREG,	    [KURA_NODE_DIR] = S_IFDIR,
	    [KURA_NODE_SYMLINK] = S_IFLNK,  [KURA_NODE_HARDLINK] = S_IFREG,
	    [KURA_NODE_FIFO] = S_IFIFO,	    [KURA_NODE_CHARDEV] = S_IFCHR,
	    [KURA_NODE_BLOCKDEV] = S_IFBLK, [KURA_NODE_SOCKET] = S_IFSOCK,
	};

	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = (a->type > 0 && a->type <= KURA_NODE_SOCKET ? types[a->type] : S_IFREG) |
		      (a->mode & 07777);
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_mtim.tv_sec = a->mtime_sec;
	st->st_mtim.tv_nsec = a->mtime_nsec;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	kura_fs_attr a;
	int err = kura_fs_lookup(fs_of(req), parent, name, &a);

	if (err < 0) {
		fuse_reply_err(req, err == KURA_EINVAL ? ENOTDIR : errno_of(err, ENOENT));
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = a.ino;
	e.generation = 1;
	to_stat(&e.attr, &a);
	e.attr_timeout = CACHE_SECONDS;
	e.entry_timeout = CACHE_SECONDS;
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	kura_fs_attr a;
	int err = kura_fs_getattr(fs_of(req), ino, &a);

	(void)fi;
	if (err < 0) {
		fuse_reply_err(req, errno_of(err, ENOENT));
		return;
	}
	to_stat(&st, &a);
	fuse_reply_attr(req, &st, CACHE_SECONDS);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	const char *target;
	int err = kura_fs_readlink(fs_of(req), ino, &target);

	if (err < 0)
		fuse_reply_err(req, errno_of(err, ENOENT));
	else
		fuse_reply_readlink(req, target);
}

struct dir_fill {
	fuse_req_t req;
	char *buf;
	size_t size, used;
};

static int add_entry(struct dir_fill *d, const char *name, const struct stat *st, off_t next)
{
	size_t need = fuse_add_direntry(d->req, NULL, 0, name, NULL, 0);

	if (d->used + need > d->size)
		return 1; /* full: the kernel asks again from `next` */
	fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used, name, st, next);
	d->used += need;
	return 0;
}

/* Offsets: 1 after ".", 2 after "..", then 2 + the library's positions. */
static int on_entry(const char *name, const kura_fs_attr *a, uint64_t next, void *ctx)
{
	struct stat st;

	to_stat(&st, a);
	return add_entry(ctx, name, &st, (off_t)(next + 2));
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dir_fill d = {req, NULL, size, 0};
	struct stat st;
	int err = 0;

	(void)fi;
	if (!(d.buf = malloc(size ? size : 1))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR;
	st.st_ino = ino;
	if (off < 1 && add_entry(&d, ".", &st, 1) != 0)
		goto reply;
	if (off < 2 && add_entry(&d, "..", &st, 2) != 0)
		goto reply;
	err = kura_fs_readdir(fs_of(req), ino, off > 2 ? (uint64_t)off - 2 : 0, on_entry, &d);
reply:
	if (err < 0)
		fuse_reply_err(req, err == KURA_EINVAL ? ENOTDIR : errno_of(err, ENOENT));
	else
		fuse_reply_buf(req, d.buf, d.used);
	free(d.buf);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	kura_fs_file *f;
	int err;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((err = kura_fs_file_open(&f, fs_of(req), ino)) < 0) {
		fuse_reply_err(req, err == KURA_EINVAL ? EISDIR : errno_of(err, ENOENT));
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->keep_cache = 1; /* a snapshot's content never changes */
	if (fuse_reply_open(req, fi) != 0)
		kura_fs_file_close(f); /* the open was interrupted: no release will come */
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	kura_fs_file *f = (kura_fs_file *)(uintptr_t)fi->fh;
	size_t got = 0;
	char *buf;
	int err;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (!(buf = malloc(size ? size : 1))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if ((err = kura_fs_file_read(f, (uint64_t)off, buf, size, &got)) < 0)
		fuse_reply_err(req, errno_of(err, ENOENT));
	else
		fuse_reply_buf(req, buf, got);
	free(buf);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	kura_fs_file_close((kura_fs_file *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	const uint8_t *value;
	size_t len;
	int err = kura_fs_getxattr(fs_of(req), ino, name, &value, &len);

	if (err < 0)
		fuse_reply_err(req, errno_of(err, ENODATA));
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)value, len);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char *buf = NULL;
	size_t len;
	int err = kura_fs_listxattr(fs_of(req), ino, NULL, 0, &len);

	if (err < 0) {
		fuse_reply_err(req, errno_of(err, ENOENT));
		return;
	}
	if (size == 0) {
		fuse_reply_xattr(req, len);
		return;
	}
	if (len > size) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	if (!(buf = malloc(len ? len : 1))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if ((err = kura_fs_listxattr(fs_of(req), ino, buf, len, &len)) < 0)
		fuse_reply_err(req, errno_of(err, ENOENT));
	else
		fuse_reply_buf(req, buf, len);
	free(buf);
}

static const struct fuse_lowlevel_ops ops = {
    .init = op_init,
    .lookup = op_lookup,
    .getattr = op_getattr,
    .readlink = op_readlink,
    .readdir = op_readdir,
    .open = op_open,
    .read = op_read,
    .release = op_release,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
};

int cli_mount_serve(kura_fs *fs, const struct cli_mount_opts *o)
{
	char opts[256];
	char *argv[4] = {"kura", "-o", opts, NULL};
	struct fuse_args args;
	struct fuse_session *se = NULL;
	struct fuse_loop_config *cfg = NULL;
	bool handlers = false, mounted = false;
	int rc = -1;

	snprintf(opts, sizeof(opts), "ro,default_permissions,fsname=kura,subtype=kura%s%s",
		 o->allow_other ? ",allow_other" : "", o->debug ? ",debug" : "");
	args = (struct fuse_args)FUSE_ARGS_INIT(3, argv);
	if (!(se = fuse_session_new(&args, &ops, sizeof(ops), fs)))
		goto done; /* libfuse said why */
	if (fuse_set_signal_handlers(se) != 0) {
		fprintf(stderr, "kura: cannot install the signal handlers\n");
		goto done;
	}
	handlers = true;
	if (fuse_session_mount(se, o->mountpoint) != 0) {
		fprintf(stderr,
			"kura: cannot mount at %s (is it a directory? is /dev/fuse there?)\n",
			o->mountpoint);
		goto done;
	}
	mounted = true;
	if (o->threads == 1) {
		rc = fuse_session_loop(se);
	} else {
		if (!(cfg = fuse_loop_cfg_create())) {
			fprintf(stderr, "kura: out of memory\n");
			goto done;
		}
		fuse_loop_cfg_set_max_threads(cfg, (unsigned)(o->threads > 1 ? o->threads : 4));
		rc = fuse_session_loop_mt(se, cfg);
	}
	/* a positive value is the signal that ended the loop: a clean end */
	if (rc < 0)
		fprintf(stderr, "kura: the FUSE session ended with an error: %s\n", strerror(-rc));
	rc = rc < 0 ? -1 : 0;
done:
	if (mounted)
		fuse_session_unmount(se);
	if (handlers)
		fuse_remove_signal_handlers(se);
	if (cfg)
		fuse_loop_cfg_destroy(cfg);
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return rc;
}
#endif
