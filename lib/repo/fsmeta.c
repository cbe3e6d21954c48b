/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fsmeta.c - file metadata between the file system and tree nodes (see
 * fsmeta.h).
 *
 * Everything works relative to a directory fd and a single name, and no
 * call ever follows a symlink at that name: a restore target may contain
 * symlinks planted by whoever else can write there, and following one
 * would let a restore chmod or chown something outside the target.
 *  - chown, utimes: the *at calls with AT_SYMLINK_NOFOLLOW;
 *  - xattrs: the l*xattr calls on "/proc/self/fd/<dirfd>/<name>" (there are
 *    no *at variants; the l-variants do not follow the final component,
 *    and the path lets us reach fifos and devices without opening them);
 *  - chmod, which Linux cannot do on a symlink and whose *at call always
 *    follows one: on an O_PATH|O_NOFOLLOW fd that pins the inode, checked
 *    not to be a symlink, through "/proc/self/fd/<fd>".
 *
 * User and group names are cached for the life of the process (a backup
 * asks for the same few ids millions of times); entries are never freed,
 * so the returned names are stable borrowed strings.
 */
#include "repo/fsmeta.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/error.h"

#define PROC_PATH_MAX (sizeof("/proc/self/fd/") + 12 + KURA_NAME_MAX + 2)
#define TARGET_MAX 4095 /* docs/FORMAT.md: symlink targets are 1..4095 bytes */
#define XATTRS_MAX 4096
#define LOOKUP_BUF_MAX (1u << 20)

/* ---------------------------------------------------------------------- */
/* Owner name cache                                                        */

enum { KIND_USER = 0, KIND_GROUP = 1 };

#define CACHE_BUCKETS 64

typedef struct name_entry {
	struct name_entry *next;
	uint32_t id;
	int found; /* by-name entries: whether the name exists here */
	char name[];
} name_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static name_entry *by_id[2][CACHE_BUCKETS];
static name_entry *by_name[2][CACHE_BUCKETS];

static unsigned hash_name(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h % CACHE_BUCKETS;
}

static name_entry *entry_new(uint32_t id, int found, const char *name)
{
	size_t len = strlen(name);
	name_entry *e = malloc(sizeof(*e) + len + 1);

	if (!e)
		return NULL;
	e->next = NULL;
	e->id = id;
	e->found = found;
	memcpy(e->name, name, len + 1);
	return e;
}

/*
 * One getpw*_r/getgr*_r call with a growing buffer.  Fills *out_name (a
 * pointer into *buf) or *out_id; returns 1 when found, 0 when not.
 */
static int nss_lookup(int kind, const char *name, uint32_t id, char **buf, const char **out_name,
		      uint32_t *out_id)
{
	size_t size = 1024;
	int rc;

	for (;;) {
		char *nb = realloc(*buf, size);
		struct passwd pw, *pwp = NULL;
		struct group gr, *grp = NULL;

		if (!nb)
			return 0;
		*buf = nb;
		if (kind == KIND_USER) {
			rc = name ? getpwnam_r(name, &pw, nb, size, &pwp)
				  : getpwuid_r((uid_t)id, &pw, nb, size, &pwp);
			if (rc == 0 && pwp) {
				*out_name = pwp->pw_name;
				*out_id = (uint32_t)pwp->pw_uid;
				return 1;
			}
		} else {
			rc = name ? getgrnam_r(name, &gr, nb, size, &grp)
				  : getgrgid_r((gid_t)id, &gr, nb, size, &grp);
			if (rc == 0 && grp) {
				*out_name = grp->gr_name;
				*out_id = (uint32_t)grp->gr_gid;
				return 1;
			}
		}
		if (rc != ERANGE || size >= LOOKUP_BUF_MAX)
			return 0;
		size *= 2;
	}
}

static const char *id_to_name(int kind, uint32_t id)
{
	name_entry **bucket = &by_id[kind][id % CACHE_BUCKETS], *e;
	const char *name = "", *result = "";
	char *buf = NULL;
	uint32_t unused;

	pthread_mutex_lock(&cache_lock);
	for (e = *bucket; e; e = e->next)
		if (e->id == id) {
			result = e->name;
			goto done;
		}
	/* A name the tree format cannot hold is as good as none. */
	if (!nss_lookup(kind, NULL, id, &buf, &name, &unused) || strlen(name) > 255)
		name = "";
	e = entry_new(id, 1, name);
	if (!e)
		goto done; /* out of memory: report no name, try again next time */
	e->next = *bucket;
	*bucket = e;
	result = e->name;

done:
	pthread_mutex_unlock(&cache_lock);
	free(buf);
	return result;
}

/* 1 and *out_id if `name` is a user/group here, else 0. */
static int name_to_id(int kind, const char *name, uint32_t *out_id)
{
	name_entry **bucket = &by_name[kind][hash_name(name)], *e;
	const char *unused;
	char *buf = NULL;
	uint32_t id = 0;
	int found = 0;

	pthread_mutex_lock(&cache_lock);
	for (e = *bucket; e; e = e->next)
		if (!strcmp(e->name, name)) {
			found = e->found;
			id = e->id;
			goto done;
		}
	found = nss_lookup(kind, name, 0, &buf, &unused, &id);
	e = entry_new(id, found, name);
	if (e) {
		e->next = *bucket;
		*bucket = e;
	}

done:
	pthread_mutex_unlock(&cache_lock);
	free(buf);
	*out_id = id;
	return found;
}

const char *kura_fsmeta_user_name(uint32_t uid)
{
	return id_to_name(KIND_USER, uid);
}

const char *kura_fsmeta_group_name(uint32_t gid)
{
	return id_to_name(KIND_GROUP, gid);
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */

/* Restore-time failures are either refusals or I/O errors (fsmeta.h). */
static int os_code(int e)
{
	return e == EPERM || e == EACCES || e == EROFS ? KURA_EDENIED : KURA_EIO;
}

/*
 * Names we act on at restore time come from a tree, which the decoder has
 * checked; check again here since a mistake would act outside dirfd.
 * `dot_ok` allows "." (applying metadata to dirfd itself).
 */
static int check_name(const char *name, int dot_ok)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > KURA_NAME_MAX || strchr(name, '/') || !strcmp(name, "..") ||
	    (!dot_ok && !strcmp(name, ".")))
		return kura_error_set(KURA_EINVAL, "bad file name \"%.*s\"", 300,
				      name ? name : "(null)");
	return 0;
}

static int proc_path(char *out, size_t size, int dirfd, const char *name)
{
	int n = snprintf(out, size, "/proc/self/fd/%d/%s", dirfd, name);

	if (n < 0 || (size_t)n >= size)
		return kura_error_set(KURA_EINVAL, "file name too long: %.300s", name);
	return 0;
}

static int node_type(uint8_t *out, mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		*out = KURA_NODE_FILE;
		return 0;
	case S_IFDIR:
		*out = KURA_NODE_DIR;
		return 0;
	case S_IFLNK:
		*out = KURA_NODE_SYMLINK;
		return 0;
	case S_IFIFO:
		*out = KURA_NODE_FIFO;
		return 0;
	case S_IFCHR:
		*out = KURA_NODE_CHARDEV;
		return 0;
	case S_IFBLK:
		*out = KURA_NODE_BLOCKDEV;
		return 0;
	case S_IFSOCK:
		*out = KURA_NODE_SOCKET;
		return 0;
	default:
		return -1;
	}
}

/* ---------------------------------------------------------------------- */
/* Capture                                                                 */

static int read_target(char **out, int dirfd, const char *name, const struct stat *st)
{
	size_t size = st->st_size > 0 && st->st_size <= TARGET_MAX ? (size_t)st->st_size + 1 : 256;
	char *buf = NULL, *nb;
	ssize_t n;
	int err = 0;

	for (;;) {
		nb = realloc(buf, size);
		if (!nb) {
			err = kura_error_set(KURA_ENOMEM,
					     "%s: out of memory for the symlink target", name);
			goto done;
		}
		buf = nb;
		n = readlinkat(dirfd, name, buf, size);
		if (n < 0) {
			err = kura_error_errno(kura_errno_code(errno), errno, "%s: readlink", name);
			goto done;
		}
		if ((size_t)n < size)
			break;
		/* The link grew since lstat (or st_size was 0): retry larger. */
		if (size > TARGET_MAX) {
			err = kura_error_set(KURA_EIO, "%s: symlink target is longer than %d bytes",
					     name, TARGET_MAX);
			goto done;
		}
		size = size * 2 > TARGET_MAX + 1 ? TARGET_MAX + 1 : size * 2;
	}
	if (n == 0) {
		err = kura_error_set(KURA_EIO, "%s: symlink has an empty target", name);
		goto done;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;

done:
	free(buf);
	return err;
}

static int xattr_cmp(const void *a, const void *b)
{
	return strcmp(((const kura_xattr *)a)->name, ((const kura_xattr *)b)->name);
}

static void xattrs_free(kura_xattr *x, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		free(x[i].name);
		free(x[i].value);
	}
	free(x);
}

/* The names of all xattrs, as the kernel's NUL-separated list. */
static int list_names(char **out, ssize_t *out_len, const char *path, const char *name)
{
	char *list = NULL, *nl;
	ssize_t len;

	*out = NULL;
	*out_len = 0;
	for (int tries = 0; tries < 8; tries++) {
		len = llistxattr(path, NULL, 0);
		if (len < 0) {
			if (errno == ENOTSUP || errno == EOPNOTSUPP)
				return 0;
			return kura_error_errno(KURA_EIO, errno, "%s: listing xattrs", name);
		}
		if (len == 0)
			return 0;
		nl = realloc(list, (size_t)len);
		if (!nl) {
			free(list);
			return kura_error_set(KURA_ENOMEM, "%s: out of memory for xattrs", name);
		}
		list = nl;
		len = llistxattr(path, list, (size_t)len);
		if (len >= 0) {
			*out = list;
			*out_len = len;
			return 0;
		}
		if (errno != ERANGE) {
			free(list);
			return kura_error_errno(KURA_EIO, errno, "%s: listing xattrs", name);
		}
	}
	free(list);
	return kura_error_set(KURA_EIO, "%s: xattr list keeps changing", name);
}

/*
 * Read one value into *out.  Returns 0, 1 when the attribute vanished
 * meanwhile (skip it), or a negative error.
 */
static int read_value(kura_xattr *out, const char *path, const char *name, const char *attr)
{
	uint8_t *val = NULL, *nv;
	ssize_t len;

	for (int tries = 0; tries < 8; tries++) {
		len = lgetxattr(path, attr, NULL, 0);
		if (len < 0)
			goto fail;
		if ((size_t)len > KURA_XATTR_VALUE_MAX) {
			free(val);
			return kura_error_set(KURA_EIO,
					      "%s: xattr %s is %zd bytes (at most %u are kept)",
					      name, attr, len, KURA_XATTR_VALUE_MAX);
		}
		nv = realloc(val, len ? (size_t)len : 1);
		if (!nv) {
			free(val);
			return kura_error_set(KURA_ENOMEM, "%s: out of memory for xattr %s", name,
					      attr);
		}
		val = nv;
		len = lgetxattr(path, attr, val, (size_t)len);
		if (len >= 0) {
			out->value = val;
			out->len = (uint32_t)len;
			return 0;
		}
		if (errno != ERANGE)
			goto fail;
	}
	free(val);
	return kura_error_set(KURA_EIO, "%s: xattr %s keeps changing", name, attr);

fail:
	free(val);
	if (errno == ENODATA)
		return 1;
	return kura_error_errno(KURA_EIO, errno, "%s: reading xattr %s", name, attr);
}

/*
 * Several steps may fail independently (one xattr, the chown...): keep the
 * first failure's code and message, count the rest, and carry on.
 */
typedef struct {
	int code;
	int more;
	char msg[512];
} first_error;

static void keep_error(first_error *f, int err)
{
	if (err >= 0)
		return;
	if (f->code) {
		f->more++;
		return;
	}
	f->code = err;
	snprintf(f->msg, sizeof(f->msg), "%s", kura_error_message());
}

static int report_error(const first_error *f)
{
	if (!f->code)
		return 0;
	if (f->more)
		return kura_error_set(f->code, "%s (and %d more problem%s)", f->msg, f->more,
				      f->more == 1 ? "" : "s");
	return kura_error_set(f->code, "%s", f->msg);
}

/*
 * Read every xattr, sorted by name.  An attribute that cannot be read or
 * kept is skipped and the first such problem returned as KURA_EIO, with
 * the others still in *out (the caller warns and keeps the rest of the
 * metadata).  Any other error leaves *out empty.
 */
static int read_xattrs(kura_xattr **out, uint32_t *out_n, int dirfd, const char *name)
{
	char path[PROC_PATH_MAX], *list = NULL;
	first_error fe = {0};
	kura_xattr *x = NULL;
	uint32_t n = 0, cap = 0;
	ssize_t len = 0;
	int err;

	*out = NULL;
	*out_n = 0;
	if ((err = proc_path(path, sizeof(path), dirfd, name)) < 0)
		return err;
	if ((err = list_names(&list, &len, path, name)) < 0)
		return err;
	for (char *a = list; a < list + len; a += strlen(a) + 1) {
		size_t alen = strlen(a);
		kura_xattr one = {NULL, NULL, 0};

		if (alen == 0)
			continue;
		if (alen > KURA_XATTR_NAME_MAX) {
			keep_error(&fe, kura_error_set(KURA_EIO,
						       "%s: xattr name %.40s... is %zu bytes long",
						       name, a, alen));
			continue;
		}
		if (n == XATTRS_MAX) {
			keep_error(&fe, kura_error_set(KURA_EIO, "%s: more than %d xattrs", name,
						       XATTRS_MAX));
			break;
		}
		err = read_value(&one, path, name, a);
		if (err == KURA_ENOMEM)
			goto done;
		if (err != 0) {
			keep_error(&fe, err);
			continue;
		}
		if (n == cap) {
			uint32_t ncap = cap ? cap * 2 : 8;
			kura_xattr *nx = realloc(x, ncap * sizeof(*x));

			if (!nx) {
				free(one.value);
				err = kura_error_set(KURA_ENOMEM, "%s: out of memory for xattrs",
						     name);
				goto done;
			}
			x = nx;
			cap = ncap;
		}
		one.name = strdup(a);
		if (!one.name) {
			free(one.value);
			err = kura_error_set(KURA_ENOMEM, "%s: out of memory for xattrs", name);
			goto done;
		}
		x[n++] = one;
	}
	if (n > 1)
		qsort(x, n, sizeof(*x), xattr_cmp);
	*out = x;
	*out_n = n;
	x = NULL;
	n = 0;
	err = report_error(&fe);

done:
	xattrs_free(x, n);
	free(list);
	return err;
}

int kura_fsmeta_capture(kura_node *node, int dirfd, const char *name, const struct stat *st)
{
	char *user = NULL, *group = NULL, *target = NULL;
	kura_xattr *xattrs = NULL;
	uint32_t nxattrs = 0;
	uint8_t type;
	int err;

	if (node_type(&type, st->st_mode) < 0)
		return kura_error_set(KURA_EUNSUPPORTED, "%s: unknown file type (mode 0%o)", name,
				      (unsigned)st->st_mode);
	user = strdup(kura_fsmeta_user_name((uint32_t)st->st_uid));
	group = strdup(kura_fsmeta_group_name((uint32_t)st->st_gid));
	if (!user || !group) {
		err = kura_error_set(KURA_ENOMEM, "%s: out of memory", name);
		goto fail;
	}
	if (type == KURA_NODE_SYMLINK && (err = read_target(&target, dirfd, name, st)) < 0)
		goto fail;
	/* Only an xattr problem lets us return a usable node. */
	err = read_xattrs(&xattrs, &nxattrs, dirfd, name);
	if (err < 0 && err != KURA_EIO)
		goto fail;

	node->type = type;
	node->mode = (uint32_t)(st->st_mode & 07777);
	node->uid = (uint32_t)st->st_uid;
	node->gid = (uint32_t)st->st_gid;
	node->user = user;
	node->group = group;
	node->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	node->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	/* tree.h: a symlink's size is its target's length; other non-files 0. */
	node->size = type == KURA_NODE_FILE ? (uint64_t)st->st_size
		     : target		    ? (uint64_t)strlen(target)
					    : 0;
	node->rdev =
	    type == KURA_NODE_CHARDEV || type == KURA_NODE_BLOCKDEV ? (uint64_t)st->st_rdev : 0;
	node->target = target;
	node->xattrs = xattrs;
	node->nxattrs = nxattrs;
	return err;

fail:
	free(user);
	free(group);
	free(target);
	return err;
}

/* ---------------------------------------------------------------------- */
/* Restore                                                                 */

int kura_fsmeta_create(int dirfd, const kura_node *node)
{
	const char *name = node->name;
	struct stat st;
	int rc, err;

	if ((err = check_name(name, 0)) < 0)
		return err;
	switch (node->type) {
	case KURA_NODE_DIR:
		/* Private until apply sets the real mode, after the contents. */
		rc = mkdirat(dirfd, name, 0700);
		break;
	case KURA_NODE_SYMLINK:
		if (!node->target || !node->target[0])
			return kura_error_set(KURA_EINVAL, "%s: symlink without a target", name);
		rc = symlinkat(node->target, dirfd, name);
		break;
	case KURA_NODE_FIFO:
		rc = mknodat(dirfd, name, S_IFIFO | 0600, 0);
		break;
	case KURA_NODE_CHARDEV:
		rc = mknodat(dirfd, name, S_IFCHR | 0600, (dev_t)node->rdev);
		break;
	case KURA_NODE_BLOCKDEV:
		rc = mknodat(dirfd, name, S_IFBLK | 0600, (dev_t)node->rdev);
		break;
	case KURA_NODE_SOCKET:
		rc = mknodat(dirfd, name, S_IFSOCK | 0600, 0);
		break;
	default:
		return kura_error_set(KURA_EINVAL, "%s: node type %u is not created by fsmeta",
				      name, node->type);
	}
	if (rc == 0)
		return 0;
	if (errno != EEXIST)
		return kura_error_errno(kura_errno_code(errno), errno, "%s: create", name);
	if (node->type == KURA_NODE_DIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		return 0;
	return kura_error_set(KURA_EEXISTS, "%s: already exists", name);
}

/* Whether the object found at restore time is of the node's type. */
static int type_matches(const kura_node *node, mode_t mode)
{
	uint8_t t;

	if (node_type(&t, mode) < 0)
		return 0;
	if (node->type == KURA_NODE_HARDLINK)
		return t == KURA_NODE_FILE;
	return t == node->type;
}

/* The owner to give the node here: its names where they exist, unless numeric_owner. */
static void owner_of(uint32_t *uid, uint32_t *gid, const kura_node *node, bool numeric_owner)
{
	uint32_t id;

	*uid = node->uid;
	*gid = node->gid;
	if (numeric_owner)
		return;
	if (node->user && node->user[0] && name_to_id(KIND_USER, node->user, &id))
		*uid = id;
	if (node->group && node->group[0] && name_to_id(KIND_GROUP, node->group, &id))
		*gid = id;
}

static int apply_owner(int dirfd, const kura_node *node, const struct stat *st, bool numeric_owner)
{
	uint32_t uid, gid;

	owner_of(&uid, &gid, node, numeric_owner);
	/* Already right (the usual case for an unprivileged restore): no error. */
	if (st->st_uid == (uid_t)uid && st->st_gid == (gid_t)gid)
		return 0;
	if (fchownat(dirfd, node->name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
		return kura_error_errno(os_code(errno), errno, "%s: chown to %u:%u", node->name,
					uid, gid);
	return 0;
}

static int has_xattr(const kura_node *node, const char *attr)
{
	for (uint32_t i = 0; i < node->nxattrs; i++)
		if (!strcmp(node->xattrs[i].name, attr))
			return 1;
	return 0;
}

/*
 * Whether the object `node->name` in dirfd may carry ACLs that the node
 * does not have, which must then be removed.  A directory may be one that
 * existed before the restore and is reused, with ACLs of its own: always
 * yes.  Anything else the restorer creates itself (O_EXCL, mknod...), so
 * its only foreign ACLs are inherited ones, and those come only from a
 * default ACL on the directory it was created in, at that moment.  The
 * restorer applies a directory's own metadata (its default ACL included)
 * only after that of everything in it, so when dirfd has no default ACL
 * now, it had none when the object was created there: the directories the
 * restorer makes get theirs only later, and one that existed before (the
 * target, or a directory it reuses) is seen here as it was.  One fgetxattr
 * on the open dirfd then replaces two lremovexattr path lookups per file,
 * nearly all of which found nothing.  When in doubt ("." is dirfd itself;
 * an O_PATH dirfd or an odd error): remove, as before.
 */
static int may_have_inherited(int dirfd, const kura_node *node)
{
	if (node->type == KURA_NODE_DIR || !strcmp(node->name, "."))
		return 1;
	return kura_fsmeta_may_inherit(dirfd);
}

bool kura_fsmeta_may_inherit(int dirfd)
{
	if (fgetxattr(dirfd, "system.posix_acl_default", NULL, 0) >= 0)
		return true;
	return errno != ENODATA && errno != ENOTSUP && errno != EOPNOTSUPP;
}

static void apply_xattrs(first_error *fe, int dirfd, const kura_node *node)
{
	static const char *const acls[] = {"system.posix_acl_access", "system.posix_acl_default"};
	char path[PROC_PATH_MAX];

	if (proc_path(path, sizeof(path), dirfd, node->name) < 0) {
		keep_error(fe, KURA_EINVAL);
		return;
	}
	for (uint32_t i = 0; i < node->nxattrs; i++) {
		const kura_xattr *x = &node->xattrs[i];

		if (lsetxattr(path, x->name, x->value, x->len, 0) < 0)
			keep_error(fe,
				   kura_error_errno(os_code(errno), errno, "%s: setting xattr %s",
						    node->name, x->name));
	}
	/*
	 * An object created in a directory with a default ACL inherits one;
	 * the snapshot says this object had none.
	 */
	if (node->type == KURA_NODE_SYMLINK || !may_have_inherited(dirfd, node))
		return;
	for (size_t i = 0; i < sizeof(acls) / sizeof(acls[0]); i++) {
		if (has_xattr(node, acls[i]))
			continue;
		if (lremovexattr(path, acls[i]) < 0 && errno != ENODATA && errno != ENOTSUP &&
		    errno != EOPNOTSUPP && errno != EACCES)
			keep_error(fe, kura_error_errno(os_code(errno), errno,
							"%s: removing inherited %s", node->name,
							acls[i]));
	}
}

/* chmod through the pinned inode: never reaches a symlink's target. */
static int apply_mode(int fd, const kura_node *node)
{
	char path[sizeof("/proc/self/fd/") + 12];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (chmod(path, (mode_t)(node->mode & 07777)) < 0)
		return kura_error_errno(os_code(errno), errno, "%s: chmod 0%o", node->name,
					node->mode & 07777);
	return 0;
}

int kura_fsmeta_apply(int dirfd, const kura_node *node, bool numeric_owner)
{
	first_error fe = {0};
	struct timespec ts[2];
	struct stat st;
	int fd = -1, err;

	if ((err = check_name(node->name, 1)) < 0)
		return err;
	fd = openat(dirfd, node->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = kura_error_errno(errno == ENOENT ? KURA_ENOTFOUND : os_code(errno), errno,
				       "%s: open", node->name);
		goto done;
	}
	if (fstat(fd, &st) < 0) {
		err = kura_error_errno(os_code(errno), errno, "%s: stat", node->name);
		goto done;
	}
	/* Something else now sits at the name (a planted symlink?): hands off. */
	if (!type_matches(node, st.st_mode)) {
		err = kura_error_set(KURA_EDENIED,
				     "%s: not applying metadata, the object there is not of "
				     "node type %u (mode 0%o)",
				     node->name, node->type, (unsigned)st.st_mode);
		goto done;
	}

	keep_error(&fe, apply_owner(dirfd, node, &st, numeric_owner));
	apply_xattrs(&fe, dirfd, node);
	if (!S_ISLNK(st.st_mode))
		keep_error(&fe, apply_mode(fd, node));
	ts[0].tv_sec = (time_t)node->mtime_sec;
	ts[0].tv_nsec = (long)node->mtime_nsec;
	ts[1] = ts[0];
	if (utimensat(dirfd, node->name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		keep_error(
		    &fe, kura_error_errno(os_code(errno), errno, "%s: setting mtime", node->name));
	err = report_error(&fe);

done:
	if (fd >= 0)
		close(fd);
	return err;
}

int kura_fsmeta_apply_fd(int fd, const struct stat *st, const kura_node *node, bool numeric_owner,
			 bool strip_inherited)
{
	static const char *const acls[] = {"system.posix_acl_access", "system.posix_acl_default"};
	first_error fe = {0};
	struct timespec ts[2];
	uint32_t uid, gid;
	bool chowned = false;

	if (!S_ISREG(st->st_mode) || !type_matches(node, st->st_mode))
		return kura_error_set(KURA_EDENIED, "%s: not applying metadata, not a regular file",
				      node->name);
	owner_of(&uid, &gid, node, numeric_owner);
	if (st->st_uid != (uid_t)uid || st->st_gid != (gid_t)gid) {
		if (fchown(fd, (uid_t)uid, (gid_t)gid) < 0)
			keep_error(&fe, kura_error_errno(os_code(errno), errno,
							 "%s: chown to %u:%u", node->name, uid,
							 gid));
		else
			chowned = true;
	}
	for (uint32_t i = 0; i < node->nxattrs; i++) {
		const kura_xattr *x = &node->xattrs[i];

		if (fsetxattr(fd, x->name, x->value, x->len, 0) < 0)
			keep_error(&fe,
				   kura_error_errno(os_code(errno), errno, "%s: setting xattr %s",
						    node->name, x->name));
	}
	for (size_t i = 0; strip_inherited && i < sizeof(acls) / sizeof(acls[0]); i++) {
		if (has_xattr(node, acls[i]))
			continue;
		if (fremovexattr(fd, acls[i]) < 0 && errno != ENODATA && errno != ENOTSUP &&
		    errno != EOPNOTSUPP && errno != EACCES)
			keep_error(&fe, kura_error_errno(os_code(errno), errno,
							"%s: removing inherited %s", node->name,
							acls[i]));
	}
	/* An ACL or a chown may have changed the mode bits: only an untouched match is skipped. */
	if (chowned || node->nxattrs || strip_inherited ||
	    (st->st_mode & 07777) != (node->mode & 07777)) {
		if (fchmod(fd, (mode_t)(node->mode & 07777)) < 0)
			keep_error(&fe, kura_error_errno(os_code(errno), errno, "%s: chmod 0%o",
							 node->name, node->mode & 07777));
	}
	ts[0].tv_sec = (time_t)node->mtime_sec;
	ts[0].tv_nsec = (long)node->mtime_nsec;
	ts[1] = ts[0];
	if (futimens(fd, ts) < 0)
		keep_error(
		    &fe, kura_error_errno(os_code(errno), errno, "%s: setting mtime", node->name));
	return report_error(&fe);
}
