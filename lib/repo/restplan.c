/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restplan.c - restore in place: what becomes of a path of the snapshot
 * whose name is already taken in the target, and how it is replaced.
 *
 * Deciding.  kura_restore__decide compares the node with what is there
 * (lstat, never followed): with --overwrite never it is left (as a
 * restore into an empty target always did); on another file system than
 * the target's it is left unless cross_fs; with always it is replaced;
 * with if-changed it is kept when type, size and mtime (symlinks: the
 * target; devices: the number) are the snapshot's, and with verify also
 * the content: every chunk of the file is read and its id recomputed with
 * the repository's id key, holes must read as zeros.  A kept file keeps
 * its inode; its metadata (owner, xattrs, mode, mtime) is applied by name.
 *
 * Replacing atomically.  In place every file (new or replacing) is
 * written under a temporary name beside its own, ".kura-tmp." and 12
 * random hex digits (created O_EXCL, so it is ours; RS_FNAME), gets its
 * metadata there, and once its batch is written the file system is
 * synced (syncfs: one call per batch, not one per file) and each
 * temporary is renamed over its name (kura_restore__commit).  A crash
 * leaves the old file or the new one under the name, never half of one,
 * plus temporaries that the next restore in place removes from every
 * directory it visits (restdelete.c).  A file that fails loses its
 * temporary and leaves what was in the target as it was.  Something that
 * is not a directory where a directory goes is removed first; a directory
 * where a file goes is removed (not crossing file systems, no symlink
 * followed) just before the rename.  Symlinks, devices and fifos are made
 * under a temporary name and renamed over too; hard links are linked to
 * a temporary name and renamed over.
 *
 * Everything made, replaced or removed is told to opts->change, from the
 * calling thread, and counted.
 */
#include "repo/restshared.h"

#include <sys/random.h>

#include "common/fdio.h"
#include "crypto/crypto.h"
#include "repo/repo.h"
#include "repo/restplan.h"

#define RS_VERIFY_PIECE (1u << 20) /* a hole is read back in pieces of this size */

#define say_fail(r, rel, ...)                                                                      \
	kura_restore__say((r), RS_FAIL, (rel), __VA_ARGS__) /* counted already */

/* rs_fail and co. about `name` in dirs[dir]: its path is made only to be said. */
#define say_in(r, macro, dir, name, ...)                                                           \
	do {                                                                                       \
		char *rel_ = kura_restore__dir_rel((r), (dir), (name));                            \
		macro((r), rel_ ? rel_ : (name), __VA_ARGS__);                                     \
		free(rel_);                                                                        \
	} while (0)

int kura_restore__inplace_init(rs *r)
{
	const kura_restore_options *o = r->opts;

	if (o->version < 2)
		return 0;
	if (o->overwrite < KURA_OVERWRITE_NEVER || o->overwrite > KURA_OVERWRITE_ALWAYS)
		return kura_error_set(KURA_EINVAL,
				      "restore: overwrite mode %d is not one of never, "
				      "if-changed, always",
				      o->overwrite);
	r->overwrite = o->overwrite;
	r->verify = o->verify;
	r->delete_extra = o->delete_extra;
	r->dry_run = o->dry_run;
	r->cross_fs = o->cross_fs;
	r->inplace = r->overwrite != KURA_OVERWRITE_NEVER || r->delete_extra || r->dry_run;
	if (r->dry_run && access(o->target, F_OK) < 0 && errno == ENOENT)
		return kura_error_set(KURA_ENOTFOUND,
				      "dry run: the target %s does not exist (a "
				      "restore would create it and everything in it)",
				      o->target);
	return 0;
}

dev_t kura_restore__root_dev(rs *r)
{
	struct stat st;

	if (!r->root_dev_known && fstat(r->rootfd, &st) == 0) {
		r->root_dev = st.st_dev;
		r->root_dev_known = true;
	}
	return r->root_dev;
}

bool kura_restore__is_tmp(const char *name)
{
	size_t plen = strlen(RS_TMP_PREFIX);

	if (strncmp(name, RS_TMP_PREFIX, plen) != 0 || strlen(name) != plen + RS_TMP_HEX)
		return false;
	for (const char *s = name + plen; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

char *kura_restore__tmp_name(void)
{
	uint8_t b[RS_TMP_HEX / 2];
	char *s;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return NULL;
	if (!(s = malloc(strlen(RS_TMP_PREFIX) + RS_TMP_HEX + 1)))
		return NULL;
	strcpy(s, RS_TMP_PREFIX);
	for (size_t i = 0; i < sizeof(b); i++)
		sprintf(s + strlen(RS_TMP_PREFIX) + 2 * i, "%02x", b[i]);
	return s;
}

void kura_restore__note(rs *r, int what, const char *rel)
{
	char *path;

	if (!r->inplace)
		return;
	if (what == KURA_RESTORE_CREATE)
		r->res->created++;
	else if (what == KURA_RESTORE_REPLACE)
		r->res->replaced++;
	else
		r->res->deleted++;
	if (!r->opts->change)
		return;
	/* at full length: a deep path is told whole */
	if (asprintf(&path, "%s%s%s", r->opts->target, *rel ? "/" : "", rel) < 0) {
		r->res->warnings++;
		return;
	}
	r->opts->change((kura_restore_change)what, path, r->opts->change_ctx);
	free(path);
}

void kura_restore__note_at(rs *r, int what, size_t dir, const char *name)
{
	char *rel = NULL;

	if (!r->inplace)
		return;
	/* the path is made only for whom it is told to */
	if (r->opts->change && !(rel = kura_restore__dir_rel(r, dir, name))) {
		rs_warn(r, name, "out of memory: a change is counted but not told");
		return;
	}
	kura_restore__note(r, what, rel ? rel : "");
	free(rel);
}

bool kura_restore__same_kind(const kura_node *n, const struct stat *st)
{
	switch (n->type) {
	case KURA_NODE_FILE:
	case KURA_NODE_HARDLINK:
		return S_ISREG(st->st_mode) && (uint64_t)st->st_size == n->size &&
		       (int64_t)st->st_mtim.tv_sec == n->mtime_sec &&
		       (uint32_t)st->st_mtim.tv_nsec == n->mtime_nsec;
	case KURA_NODE_DIR:
		return S_ISDIR(st->st_mode);
	case KURA_NODE_SYMLINK:
		return S_ISLNK(st->st_mode) && (uint64_t)st->st_size == n->size;
	case KURA_NODE_FIFO:
		return S_ISFIFO(st->st_mode);
	case KURA_NODE_SOCKET:
		return S_ISSOCK(st->st_mode);
	case KURA_NODE_CHARDEV:
		return S_ISCHR(st->st_mode) && (uint64_t)st->st_rdev == n->rdev;
	case KURA_NODE_BLOCKDEV:
		return S_ISBLK(st->st_mode) && (uint64_t)st->st_rdev == n->rdev;
	default:
		return false;
	}
}

static bool read_all(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	return kura_pread_all(fd, buf, len, off) == 0;
}

/* Whether the file `name` in dirfd holds exactly the node's content (its chunks' ids, zeros). */
static bool same_content(rs *r, int dirfd, const kura_node *n)
{
	uint8_t *buf = NULL, id[KURA_HASH_SIZE];
	uint64_t off = 0;
	size_t cap = 0;
	bool same = false;
	struct stat st;
	int fd;

	fd = openat(dirfd, n->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto done;
	for (uint32_t i = 0; i < n->nextents; i++) {
		const kura_extent *x = &n->extents[i];
		/* a chunk is read whole; a hole in pieces */
		size_t len = x->kind != KURA_EXTENT_CHUNK && x->len > RS_VERIFY_PIECE
				 ? RS_VERIFY_PIECE
				 : (size_t)x->len;

		if (x->kind == KURA_EXTENT_CHUNK && x->len > KURA_BLOB_MAX_RAW)
			goto done;
		if (len > cap) {
			uint8_t *nb = realloc(buf, len);

			if (!nb)
				goto done;
			buf = nb;
			cap = len;
		}
		if (x->kind == KURA_EXTENT_CHUNK) {
			if (!read_all(fd, buf, len, off) ||
			    kura_mac_compute(r->repo->mac, id, buf, len) < 0 ||
			    !kura_ct_equal(id, x->id, sizeof(id)))
				goto done;
			off += len;
			continue;
		}
		for (uint64_t left = x->len; left > 0;) {
			size_t piece = left < len ? (size_t)left : len;

			if (!read_all(fd, buf, piece, off) || buf[0] ||
			    memcmp(buf, buf + 1, piece - 1) != 0)
				goto done;
			off += piece;
			left -= piece;
		}
	}
	same = off == n->size;
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	return same;
}

/* Whether the symlink `name` in dirfd points where the node says. */
static bool same_target(int dirfd, const kura_node *n)
{
	char buf[KURA_TARGET_MAX + 2];
	ssize_t len = readlinkat(dirfd, n->name, buf, sizeof(buf) - 1);

	if (len < 0 || !n->target)
		return false;
	buf[len] = '\0';
	return strcmp(buf, n->target) == 0;
}

int kura_restore__decide(rs *r, int dirfd, const kura_node *n, const struct stat *st,
			 const char **why)
{
	*why = NULL;
	if (r->overwrite == KURA_OVERWRITE_NEVER) {
		*why = "already exists: not overwritten";
		return RS_LEAVE;
	}
	if (st->st_dev != kura_restore__root_dev(r) && !r->cross_fs) {
		*why = "already exists on another file system than the target's: not replaced "
		       "(--cross-fs)";
		return RS_LEAVE;
	}
	if (r->overwrite == KURA_OVERWRITE_ALWAYS || !kura_restore__same_kind(n, st))
		return RS_REPLACE;
	if (n->type == KURA_NODE_SYMLINK && !same_target(dirfd, n))
		return RS_REPLACE;
	if (n->type == KURA_NODE_FILE && r->verify && !same_content(r, dirfd, n))
		return RS_REPLACE;
	return RS_KEEP;
}

/* A file that matches the snapshot: counted as done, its metadata applied, its inode kept. */
static void keep_file(rs *r, int dirfd, size_t dir, const kura_node *n, const struct stat *st)
{
	r->res->unchanged++;
	r->files_total++;
	r->bytes_total += n->size;
	atomic_fetch_add(&r->files_done, 1);
	atomic_fetch_add(&r->bytes_done, n->size);
	/* a first name that hard links of the snapshot may be linked to */
	if (KURA_ARRAY_GROW(r->inodes, r->inodes_cap, r->ninodes + 1) == 0)
		r->inodes[r->ninodes++] = (rs_inode){st->st_dev, st->st_ino};
	if (kura_fsmeta_apply(dirfd, n, r->opts->numeric_owner) < 0)
		say_in(r, rs_warn, dir, n->name, "%s", kura_error_message());
}

int kura_restore__plan_file(rs *r, int dirfd, size_t dir, kura_node *n, char **out_tmp)
{
	const char *why;
	struct stat st;

	*out_tmp = NULL;
	if (fstatat(dirfd, n->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		switch (kura_restore__decide(r, dirfd, n, &st, &why)) {
		case RS_LEAVE:
			say_in(r, rs_exists, dir, n->name, "%s", why);
			return 1;
		case RS_KEEP:
			keep_file(r, dirfd, dir, n, &st);
			return 1;
		default:
			break;
		}
	} else if (errno != ENOENT) {
		int e = errno;

		say_in(r, rs_fail, dir, n->name, "cannot look at what is in the target: %s",
		       strerror(e));
		return 1;
	}
	if (!(*out_tmp = kura_restore__tmp_name()))
		return kura_error_set(KURA_ENOMEM, "restore: out of memory (or no random bytes)");
	return 0;
}

/* Whether `name` in dfd is the file we made (device and inode). */
static bool ours(int dfd, const char *name, const rs_file *f)
{
	struct stat st;

	return dfd >= 0 && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       st.st_dev == f->dev && st.st_ino == f->ino;
}

void kura_restore__fail_tmp(rs *r, int dfd, size_t i)
{
	rs_file *f = &r->files[i];
	const char *why = f->reason ? f->reason : "could not be restored";
	char *rel = kura_restore__file_rel(r, i);
	rs_cursor own;

	/* any thread: a cursor of its own when the caller has no fd of the directory */
	kura_restore__cursor_init(&own);
	if (atomic_load(&f->state) != RS_CREATED) {
		kura_restore__queue_say(r, RS_FAIL, rel, false,
					"%s; what was in the target is left "
					"as it was",
					why);
		free(rel);
		return;
	}
	if (dfd < 0)
		dfd = kura_restore__cursor_fd(r, &own, f->dir);
	if (ours(dfd, f->tmp, f) && unlinkat(dfd, f->tmp, 0) == 0)
		kura_restore__queue_say(r, RS_FAIL, rel, false,
					"%s; what was in the target is "
					"left as it was",
					why);
	else
		kura_restore__queue_say(r, RS_FAIL, rel, false,
					"%s; its temporary %s could not be "
					"removed (the next restore in place removes it)",
					why, f->tmp);
	kura_restore__cursor_free(&own);
	free(rel);
}

/*
 * Make room at `name` for the object renamed over it: a directory there is
 * removed (rename cannot replace one with a file).  0, or -1 reported.
 */
static int clear_dir(rs *r, int dfd, size_t dir, const char *name)
{
	struct stat st;
	char *rel;
	int rc = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	/* restdelete.c says paths below it: they start from this one */
	if (!(rel = kura_restore__dir_rel(r, dir, name)))
		return -1;
	if (kura_restore__remove(r, dfd, name, rel, false) < 0 ||
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		rc = -1;
	free(rel);
	return rc;
}

/* Rename a finished temporary of files[i] over its name; from the calling thread. */
static void commit_one(rs *r, int dfd, size_t i)
{
	rs_file *f = &r->files[i];
	struct stat st;
	bool existed;

	if (!ours(dfd, f->tmp, f)) {
		kura_restore__file_failed(r, (uint32_t)i,
					  "was replaced by something else during "
					  "the restore: not renamed over its name");
		say_in(r, say_fail, f->dir, f->node.name, "%s", f->reason ? f->reason : "replaced");
		return;
	}
	existed = fstatat(dfd, f->node.name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (clear_dir(r, dfd, f->dir, f->node.name) < 0 ||
	    renameat(dfd, f->tmp, dfd, f->node.name) < 0) {
		int e = errno;

		unlinkat(dfd, f->tmp, 0);
		kura_restore__file_failed(r, (uint32_t)i, "cannot rename it over its name: %s",
					  strerror(e));
		say_in(r, say_fail, f->dir, f->node.name,
		       "%s; what was in the target is left as it was",
		       f->reason ? f->reason : "cannot rename it over its name");
		return;
	}
	kura_restore__note_at(r, existed ? KURA_RESTORE_REPLACE : KURA_RESTORE_CREATE, f->dir,
			      f->node.name);
}

int kura_restore__commit(rs *r)
{
	bool synced = false;

	for (size_t i = 0; i < r->nfiles; i++) {
		rs_file *f = &r->files[i];
		int dfd;

		if (!f->tmp)
			continue;
		if (atomic_load(&f->state) == RS_CREATED && !atomic_load(&f->failed)) {
			/* The content is on the disk before any name points at it. */
			if (!synced && syncfs(r->rootfd) < 0)
				rs_warn(r, "", "cannot sync the target's file system: %s",
					strerror(errno));
			synced = true;
			/* the calling thread's cursor: files of one directory are consecutive */
			if ((dfd = kura_restore__cursor_fd(r, &r->cursor, f->dir)) < 0) {
				kura_restore__file_failed(r, (uint32_t)i,
							  "cannot open its directory: %s",
							  strerror(-dfd));
				say_in(r, say_fail, f->dir, f->node.name, "%s",
				       f->reason ? f->reason : "");
			} else {
				commit_one(r, dfd, i);
			}
		}
		free(f->tmp);
		f->tmp = NULL;
	}
	return 0;
}

/* Apply metadata; a failure is a warning. */
static void apply_meta(rs *r, int dirfd, const kura_node *n, size_t dir, const char *name)
{
	if (kura_fsmeta_apply(dirfd, n, r->opts->numeric_owner) < 0)
		say_in(r, rs_warn, dir, name, "%s", kura_error_message());
}

int kura_restore__other(rs *r, int dirfd, size_t dir, kura_node *n)
{
	kura_node tmpnode = *n;
	const char *why;
	struct stat st;
	char *tmp = NULL;

	if (fstatat(dirfd, n->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;

		if (e != ENOENT) {
			say_in(r, rs_fail, dir, n->name, "cannot look at what is in the target: %s",
			       strerror(e));
		} else if (kura_fsmeta_create(dirfd, n) < 0) {
			say_in(r, rs_fail, dir, n->name, "cannot create: %s", kura_error_message());
		} else {
			r->res->others++;
			kura_restore__note_at(r, KURA_RESTORE_CREATE, dir, n->name);
			apply_meta(r, dirfd, n, dir, n->name);
		}
		return 0;
	}
	switch (kura_restore__decide(r, dirfd, n, &st, &why)) {
	case RS_LEAVE:
		say_in(r, rs_exists, dir, n->name, "%s", why);
		return 0;
	case RS_KEEP:
		r->res->unchanged++;
		apply_meta(r, dirfd, n, dir, n->name);
		return 0;
	default:
		break;
	}
	if (!(tmp = kura_restore__tmp_name()))
		return kura_error_set(KURA_ENOMEM, "restore: out of memory");
	tmpnode.name = tmp;
	if (kura_fsmeta_create(dirfd, &tmpnode) < 0) {
		say_in(r, rs_fail, dir, n->name, "cannot create: %s", kura_error_message());
		goto done;
	}
	apply_meta(r, dirfd, &tmpnode, dir, n->name);
	if (clear_dir(r, dirfd, dir, n->name) < 0 || renameat(dirfd, tmp, dirfd, n->name) < 0) {
		int e = errno;

		say_in(r, rs_fail, dir, n->name, "cannot rename it over what is there: %s",
		       strerror(e));
		unlinkat(dirfd, tmp, 0);
		goto done;
	}
	r->res->others++;
	kura_restore__note_at(r, KURA_RESTORE_REPLACE, dir, n->name);
done:
	free(tmp);
	return 0;
}

void kura_restore__dir_plan(rs *r, int pfd, size_t pdir, const kura_node *n)
{
	struct stat st;

	if (!r->inplace)
		return;
	if (fstatat(pfd, n->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			kura_restore__note_at(r, KURA_RESTORE_CREATE, pdir, n->name);
		return;
	}
	/* Left in the way (never, another file system): the subtree is skipped, as it was. */
	if (S_ISDIR(st.st_mode) || r->overwrite == KURA_OVERWRITE_NEVER ||
	    (st.st_dev != kura_restore__root_dev(r) && !r->cross_fs))
		return;
	if (unlinkat(pfd, n->name, 0) < 0) {
		int e = errno;

		say_in(r, rs_warn, pdir, n->name,
		       "cannot remove what is in the way of the directory: %s", strerror(e));
	} else
		kura_restore__note_at(r, KURA_RESTORE_REPLACE, pdir, n->name);
}

int kura_restore__relink(rs *r, int ffd, const char *from, int tfd, const char *to, size_t dir)
{
	struct stat a, b;
	char *tmp;
	int err = 0;

	if (fstatat(tfd, to, &b, AT_SYMLINK_NOFOLLOW) < 0)
		return kura_error_errno(KURA_EIO, errno, "cannot look at what is there");
	if (fstatat(ffd, from, &a, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino) {
		r->res->unchanged++;
		return 0;
	}
	if (r->overwrite == KURA_OVERWRITE_NEVER ||
	    (b.st_dev != kura_restore__root_dev(r) && !r->cross_fs))
		return KURA_EEXISTS;
	if (!(tmp = kura_restore__tmp_name()))
		return kura_error_set(KURA_ENOMEM, "restore: out of memory");
	if (linkat(ffd, from, tfd, tmp, 0) < 0) {
		err = kura_error_errno(KURA_EIO, errno, "cannot link");
	} else if (clear_dir(r, tfd, dir, to) < 0 || renameat(tfd, tmp, tfd, to) < 0) {
		err =
		    kura_error_errno(KURA_EIO, errno, "cannot rename the link over what is there");
		unlinkat(tfd, tmp, 0);
	} else {
		kura_restore__note_at(r, KURA_RESTORE_REPLACE, dir, to);
	}
	free(tmp);
	return err;
}
