/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drillcheck.c - the checking half of a drill (drill_int.h): list what a
 * snapshot holds and compare a restored copy with it.
 *
 * The restorer already authenticates every chunk it reads; a drill checks
 * again from the other end, on what reached the disk: each extent of each
 * restored file is read back and its id recomputed with the repository's
 * id key, holes must read as zeros, and type, size, permissions,
 * modification time, owner (when running as root, the only case where a
 * restore sets it) and link targets must be the snapshot's.  So a drill
 * proves the bytes a restore leaves behind, not only those it read.  Paths
 * are opened beneath the scratch directory without following symlinks.
 */
#include "repo/drill_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fdio.h"
#include "kura/drill.h"
#include "repo/walk.h"

#define EXTENT_READ_MAX (64u << 20) /* no chunk the chunker makes is near this */

static int list_add(drill_list *l, char *path, kura_node *n)
{
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		drill_entry *items = realloc(l->items, cap * sizeof(*items));

		if (!items)
			return kura_error_set(KURA_ENOMEM, "drill: out of memory listing the snapshot");
		l->items = items;
		l->cap = cap;
	}
	l->items[l->count].path = path;
	l->items[l->count].node = *n;
	l->items[l->count].selected = false;
	memset(n, 0, sizeof(*n));
	l->count++;
	return 0;
}

static int collect_tree(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], kura_walk_path *p,
			unsigned depth, drill_list *out)
{
	kura_tree *t = NULL;
	int err;

	if (depth > KURA_TREE_MAX_DEPTH)
		return kura_error_set(KURA_ECORRUPT, "drill: %s: nested deeper than %u directories",
				      p->s ? p->s : "/", KURA_TREE_MAX_DEPTH);
	if ((err = kura_repo__load_tree(repo, id, &t)) < 0)
		return err;
	for (size_t i = 0; i < t->count; i++) {
		kura_node *n = &t->nodes[i];
		size_t back = p->len;
		uint8_t sub[KURA_HASH_SIZE];
		char *path;
		bool dir = n->type == KURA_NODE_DIR;

		if ((err = kura_walk__push(p, n->name)) < 0)
			goto done;
		if (!(path = strdup(p->s))) {
			err = kura_error_set(KURA_ENOMEM, "drill: out of memory");
			goto done;
		}
		if (n->type == KURA_NODE_FILE) {
			out->files++;
			out->bytes += n->size;
		}
		memcpy(sub, n->subtree, sizeof(sub));
		if ((err = list_add(out, path, n)) < 0) {
			free(path);
			goto done;
		}
		if (dir && (err = collect_tree(repo, sub, p, depth + 1, out)) < 0)
			goto done;
		kura_walk__pop(p, back);
	}
done:
	kura_tree_free(t);
	return err;
}

int kura_drill__collect(kura_repo *repo, const uint8_t root[KURA_HASH_SIZE], drill_list *out)
{
	kura_walk_path p = {0};
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = kura_walk__append(&p, "")) < 0)
		return err;
	err = collect_tree(repo, root, &p, 1, out);
	kura_walk__path_free(&p);
	if (err < 0)
		kura_drill__list_free(out);
	return err;
}

void kura_drill__list_free(drill_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		free(l->items[i].path);
		kura_node_clear(&l->items[i].node);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* Open `rel` below rootfd without following a symlink on the way or at the end. */
static int open_beneath(int rootfd, const char *rel, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					  RESOLVE_NO_MAGICLINKS};
	long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));

	return fd < 0 ? -1 : (int)fd;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int read_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	return kura_pread_all(fd, buf, len, off) == 0 ? 0 : -errno;
}

#define HOLE_PIECE (1u << 20)

/*
 * A hole must read as zeros.  It may be far larger than any chunk (a
 * sparse disk image), so only the data the file system reports inside it
 * (SEEK_DATA) is read, a piece at a time.  0, 1 if a byte is not zero, or
 * a negative errno.
 */
static int check_hole(int fd, uint64_t off, uint64_t len, uint8_t *piece)
{
	uint64_t end = off + len;

	while (off < end) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA);
		size_t n;
		int e;

		if (data < 0)
			return errno == ENXIO ? 0 : -errno; /* no data up to the end of the file */
		if ((uint64_t)data >= end)
			return 0;
		off = (uint64_t)data;
		n = end - off < HOLE_PIECE ? (size_t)(end - off) : HOLE_PIECE;
		if ((e = read_full(fd, piece, n, off)) < 0)
			return e;
		if (!all_zero(piece, n))
			return 1;
		off += n;
	}
	return 0;
}

/* Re-hash every extent of the file open at fd. */
static int check_content(kura_repo *repo, int fd, const kura_node *n, char *msg, size_t msglen,
			 uint64_t *bytes)
{
	uint8_t *buf = NULL, id[KURA_HASH_SIZE];
	size_t cap = 0;
	uint64_t off = 0;
	int rc = 0, e;

	for (uint32_t i = 0; i < n->nextents; i++) {
		const kura_extent *x = &n->extents[i];

		if (x->kind == KURA_EXTENT_HOLE) {
			if (cap < HOLE_PIECE) {
				uint8_t *nb = realloc(buf, HOLE_PIECE);

				if (!nb) {
					rc = kura_error_set(KURA_ENOMEM, "drill: out of memory");
					goto done;
				}
				buf = nb;
				cap = HOLE_PIECE;
			}
			if ((e = check_hole(fd, off, x->len, buf)) != 0) {
				snprintf(msg, msglen, "bytes %llu..%llu should be a hole of zeros%s%s",
					 (unsigned long long)off, (unsigned long long)(off + x->len),
					 e < 0 ? ": " : "", e < 0 ? strerror(-e) : "");
				rc = KURA_DRILL_FAILED_CONTENT;
				goto done;
			}
			*bytes += x->len; /* checked, if not hashed */
			off += x->len;
			continue;
		}
		if (x->len > EXTENT_READ_MAX) {
			snprintf(msg, msglen, "extent %u of %llu bytes is larger than any chunk", i,
				 (unsigned long long)x->len);
			rc = KURA_DRILL_FAILED_CONTENT;
			goto done;
		}
		if (x->len > cap) {
			uint8_t *nb = realloc(buf, (size_t)x->len);

			if (!nb) {
				rc = kura_error_set(KURA_ENOMEM, "drill: out of memory");
				goto done;
			}
			buf = nb;
			cap = (size_t)x->len;
		}
		if ((e = read_full(fd, buf, (size_t)x->len, off)) < 0) {
			snprintf(msg, msglen, "cannot read %llu bytes at offset %llu: %s",
				 (unsigned long long)x->len, (unsigned long long)off,
				 e == -ENODATA ? "the file is short" : strerror(-e));
			rc = KURA_DRILL_FAILED_CONTENT;
			goto done;
		}
		if ((rc = kura_mac_compute(repo->mac, id, buf, (size_t)x->len)) < 0)
			goto done;
		if (!kura_ct_equal(id, x->id, sizeof(id))) {
			char want[KURA_ID_HEX];

			kura_hex(want, x->id, KURA_HASH_SIZE);
			snprintf(msg, msglen,
				 "content at offset %llu (%llu bytes) does not hash to its chunk id "
				 "%.16s",
				 (unsigned long long)off, (unsigned long long)x->len, want);
			rc = KURA_DRILL_FAILED_CONTENT;
			goto done;
		}
		*bytes += x->len;
		off += x->len;
	}
done:
	free(buf);
	return rc;
}

static const char *type_name(int type)
{
	switch (type) {
	case KURA_NODE_FILE:
	case KURA_NODE_HARDLINK:
		return "regular file";
	case KURA_NODE_DIR:
		return "directory";
	case KURA_NODE_SYMLINK:
		return "symlink";
	case KURA_NODE_FIFO:
		return "fifo";
	case KURA_NODE_CHARDEV:
		return "character device";
	case KURA_NODE_BLOCKDEV:
		return "block device";
	case KURA_NODE_SOCKET:
		return "socket";
	}
	return "unknown";
}

static int mode_type(mode_t m)
{
	if (S_ISREG(m))
		return KURA_NODE_FILE;
	if (S_ISDIR(m))
		return KURA_NODE_DIR;
	if (S_ISLNK(m))
		return KURA_NODE_SYMLINK;
	if (S_ISFIFO(m))
		return KURA_NODE_FIFO;
	if (S_ISCHR(m))
		return KURA_NODE_CHARDEV;
	if (S_ISBLK(m))
		return KURA_NODE_BLOCKDEV;
	return KURA_NODE_SOCKET;
}

int kura_drill__check_entry(kura_repo *repo, int rootfd, const drill_entry *e, bool check_owner,
			    char *msg, size_t msglen, uint64_t *bytes)
{
	const kura_node *n = &e->node;
	const char *rel = e->path + 1; /* below the scratch directory */
	int want = n->type == KURA_NODE_HARDLINK ? KURA_NODE_FILE : n->type;
	struct stat st;
	int fd = -1, rc = 0;

	if (fstatat(rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(msg, msglen, "not restored: %s", strerror(errno));
		return KURA_DRILL_FAILED_META;
	}
	if (mode_type(st.st_mode) != want) {
		snprintf(msg, msglen, "restored as a %s, the snapshot has a %s",
			 type_name(mode_type(st.st_mode)), type_name(want));
		return KURA_DRILL_FAILED_META;
	}
	if (n->type == KURA_NODE_HARDLINK)
		return 0; /* its content and metadata are those of the file it names */
	if (n->type == KURA_NODE_SYMLINK) {
		char target[KURA_TARGET_MAX + 2];
		ssize_t len = readlinkat(rootfd, rel, target, sizeof(target) - 1);

		if (len < 0 || (size_t)len != strlen(n->target) ||
		    memcmp(target, n->target, (size_t)len) != 0) {
			snprintf(msg, msglen, "symlink target differs from the snapshot's");
			return KURA_DRILL_FAILED_META;
		}
		return 0;
	}
	if ((st.st_mode & 07777) != (n->mode & 07777)) {
		snprintf(msg, msglen, "mode %04o, the snapshot has %04o", (unsigned)(st.st_mode & 07777),
			 (unsigned)(n->mode & 07777));
		return KURA_DRILL_FAILED_META;
	}
	if (st.st_mtim.tv_sec != n->mtime_sec || (uint32_t)st.st_mtim.tv_nsec != n->mtime_nsec) {
		snprintf(msg, msglen, "modification time %lld.%09ld, the snapshot has %lld.%09u",
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)n->mtime_sec,
			 n->mtime_nsec);
		return KURA_DRILL_FAILED_META;
	}
	if (check_owner && (st.st_uid != n->uid || st.st_gid != n->gid)) {
		snprintf(msg, msglen, "owner %u:%u, the snapshot has %u:%u", (unsigned)st.st_uid,
			 (unsigned)st.st_gid, n->uid, n->gid);
		return KURA_DRILL_FAILED_META;
	}
	if (n->type != KURA_NODE_FILE)
		return 0;
	if ((uint64_t)st.st_size != n->size) {
		snprintf(msg, msglen, "%llu bytes, the snapshot has %llu",
			 (unsigned long long)st.st_size, (unsigned long long)n->size);
		return KURA_DRILL_FAILED_META;
	}
	/* A file restored without read permission is still ours to read back. */
	if ((fd = open_beneath(rootfd, rel, O_RDONLY)) < 0 && errno == EACCES &&
	    fchmodat(rootfd, rel, (st.st_mode & 07777) | 0400, 0) == 0)
		fd = open_beneath(rootfd, rel, O_RDONLY);
	if (fd < 0) {
		snprintf(msg, msglen, "cannot open the restored file: %s", strerror(errno));
		return KURA_DRILL_FAILED_CONTENT;
	}
	rc = check_content(repo, fd, n, msg, msglen, bytes);
	close(fd);
	return rc;
}
