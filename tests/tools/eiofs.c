/* SPDX-License-Identifier: Apache-2.0 */
/*
 * eiofs.c - a FUSE file system for tests that fails like a dying disk.
 *
 * It mirrors a source directory at a mount point and answers EIO to the
 * reads (and, if asked, the writes) of the files whose path matches a
 * pattern, so the end-to-end tests can show that kura names the file and
 * the errno when a disk fails, without a device-mapper error target (which
 * not every kernel has).  Everything else passes through to the source
 * directory unchanged: inode numbers (hard links stay hard links), modes,
 * owners, times, extended attributes, symlinks.
 *
 *   eiofs [--read-eio PATTERN]... [--write-eio PATTERN]... SOURCE MOUNTPOINT
 *
 * PATTERN is an fnmatch(3) pattern on the path under the mount point,
 * starting with '/', where '*' also matches '/' ("*.bin", "/data/ab*").
 * It runs in the foreground and unmounts on SIGTERM or SIGINT; each EIO it
 * gives is logged on stderr ("eiofs: EIO read /path"), so a test can tell
 * that the failure really happened.  Caches are off (every read reaches
 * this process, every lookup is fresh).  Needs /dev/fuse and, for the
 * mount, root or fusermount3.  Test code: not installed, not part of kura.
 */
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_PATTERNS 16

static struct {
	int src;	     /* the source directory */
	char root[PATH_MAX]; /* its absolute path, for the calls without an *at form */
	const char *read_eio[MAX_PATTERNS], *write_eio[MAX_PATTERNS];
	int nread, nwrite;
} fs;

/* The path relative to the source directory: "." for the root. */
static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static int full(char out[PATH_MAX], const char *path)
{
	if (snprintf(out, PATH_MAX, "%s%s", fs.root, path) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static int matches(const char *const *patterns, int n, const char *path)
{
	for (int i = 0; i < n; i++)
		if (fnmatch(patterns[i], path, 0) == 0)
			return 1;
	return 0;
}

static int fails(const char *op, const char *const *patterns, int n, const char *path)
{
	if (!path || !matches(patterns, n, path))
		return 0;
	fprintf(stderr, "eiofs: EIO %s %s\n", op, path);
	return 1;
}

#define CHECK(call) ((call) < 0 ? -errno : 0)

static void *eio_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->use_ino = 1;
	cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 0;
	cfg->direct_io = 1; /* every read and write reaches this process */
	cfg->nullpath_ok = 0;
	return NULL;
}

static int eio_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (fi)
		return CHECK(fstat((int)fi->fh, st));
	return CHECK(fstatat(fs.src, rel(path), st, AT_SYMLINK_NOFOLLOW));
}

static int eio_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n = readlinkat(fs.src, rel(path), buf, size - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int eio_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	int fd = openat(fs.src, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	(void)off;
	(void)fi;
	(void)flags;
	if (fd < 0)
		return -errno;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d)))
		if (filler(buf, e->d_name, NULL, 0, 0))
			break;
	closedir(d);
	return 0;
}

static int eio_mknod(const char *path, mode_t mode, dev_t dev)
{
	return CHECK(mknodat(fs.src, rel(path), mode, dev));
}

static int eio_mkdir(const char *path, mode_t mode)
{
	return CHECK(mkdirat(fs.src, rel(path), mode));
}

static int eio_unlink(const char *path)
{
	return CHECK(unlinkat(fs.src, rel(path), 0));
}

static int eio_rmdir(const char *path)
{
	return CHECK(unlinkat(fs.src, rel(path), AT_REMOVEDIR));
}

static int eio_symlink(const char *target, const char *path)
{
	return CHECK(symlinkat(target, fs.src, rel(path)));
}

static int eio_rename(const char *from, const char *to, unsigned int flags)
{
	return CHECK(renameat2(fs.src, rel(from), fs.src, rel(to), flags));
}

static int eio_link(const char *from, const char *to)
{
	return CHECK(linkat(fs.src, rel(from), fs.src, rel(to), 0));
}

static int eio_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if (fi)
		return CHECK(fchmod((int)fi->fh, mode));
	return CHECK(fchmodat(fs.src, rel(path), mode, 0));
}

static int eio_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	if (fi)
		return CHECK(fchown((int)fi->fh, uid, gid));
	return CHECK(fchownat(fs.src, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW));
}

static int eio_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	int fd, err;

	if (fi)
		return CHECK(ftruncate((int)fi->fh, size));
	if ((fd = openat(fs.src, rel(path), O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	err = CHECK(ftruncate(fd, size));
	close(fd);
	return err;
}

static int eio_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	if (fi)
		return CHECK(futimens((int)fi->fh, tv));
	return CHECK(utimensat(fs.src, rel(path), tv, AT_SYMLINK_NOFOLLOW));
}

static int eio_open(const char *path, struct fuse_file_info *fi)
{
	int fd = openat(fs.src, rel(path), fi->flags | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int eio_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd = openat(fs.src, rel(path), fi->flags | O_CREAT | O_CLOEXEC, mode);

	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int eio_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n;

	if (fails("read", fs.read_eio, fs.nread, path))
		return -EIO;
	n = pread((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int eio_write(const char *path, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	ssize_t n;

	if (fails("write", fs.write_eio, fs.nwrite, path))
		return -EIO;
	n = pwrite((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int eio_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	return CHECK(fstatvfs(fs.src, st));
}

static int eio_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static int eio_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	return CHECK(datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh));
}

static int eio_access(const char *path, int mask)
{
	return CHECK(faccessat(fs.src, rel(path), mask, AT_SYMLINK_NOFOLLOW));
}

static int eio_setxattr(const char *path, const char *name, const char *value, size_t size,
			int flags)
{
	char p[PATH_MAX];
	int err = full(p, path);

	return err ? err : CHECK(lsetxattr(p, name, value, size, flags));
}

static int eio_getxattr(const char *path, const char *name, char *value, size_t size)
{
	char p[PATH_MAX];
	int err = full(p, path);
	ssize_t n;

	if (err)
		return err;
	n = lgetxattr(p, name, value, size);
	return n < 0 ? -errno : (int)n;
}

static int eio_listxattr(const char *path, char *list, size_t size)
{
	char p[PATH_MAX];
	int err = full(p, path);
	ssize_t n;

	if (err)
		return err;
	n = llistxattr(p, list, size);
	return n < 0 ? -errno : (int)n;
}

static int eio_removexattr(const char *path, const char *name)
{
	char p[PATH_MAX];
	int err = full(p, path);

	return err ? err : CHECK(lremovexattr(p, name));
}

static const struct fuse_operations ops = {
    .init = eio_init,
    .getattr = eio_getattr,
    .readlink = eio_readlink,
    .readdir = eio_readdir,
    .mknod = eio_mknod,
    .mkdir = eio_mkdir,
    .unlink = eio_unlink,
    .rmdir = eio_rmdir,
    .symlink = eio_symlink,
    .rename = eio_rename,
    .link = eio_link,
    .chmod = eio_chmod,
    .chown = eio_chown,
    .truncate = eio_truncate,
    .utimens = eio_utimens,
    .open = eio_open,
    .create = eio_create,
    .read = eio_read,
    .write = eio_write,
    .statfs = eio_statfs,
    .release = eio_release,
    .fsync = eio_fsync,
    .access = eio_access,
    .setxattr = eio_setxattr,
    .getxattr = eio_getxattr,
    .listxattr = eio_listxattr,
    .removexattr = eio_removexattr,
};

static int usage(void)
{
	fprintf(stderr, "usage: eiofs [--read-eio PATTERN]... [--write-eio PATTERN]... SOURCE "
			"MOUNTPOINT\n");
	return 2;
}

int main(int argc, char **argv)
{
	char *fuse_argv[] = {argv[0], "-f", "-o", "fsname=eiofs,subtype=eiofs,max_threads=16",
			     NULL,    NULL};
	int i;

	for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		int *n = strcmp(argv[i], "--read-eio") == 0    ? &fs.nread
			 : strcmp(argv[i], "--write-eio") == 0 ? &fs.nwrite
							       : NULL;

		if (!n || *n == MAX_PATTERNS)
			return usage();
		(n == &fs.nread ? fs.read_eio : fs.write_eio)[(*n)++] = argv[i + 1];
	}
	if (argc - i != 2)
		return usage();
	umask(0); /* the kernel applied the caller's umask to every mode it sends */
	if (!realpath(argv[i], fs.root) ||
	    (fs.src = open(fs.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror(argv[i]);
		return 1;
	}
	fuse_argv[4] = argv[i + 1];
	return fuse_main(5, fuse_argv, &ops, NULL);
}
