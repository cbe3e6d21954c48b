/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fsmeta.h - reading file metadata into tree nodes at backup time, and
 * creating objects and applying metadata at restore time, always relative
 * to an open directory fd and never following a symlink, so that a
 * restore cannot be steered outside its target.
 */
#ifndef KURA_REPO_FSMETA_H
#define KURA_REPO_FSMETA_H

#include <stdbool.h>
#include <sys/stat.h>

#include "format/tree.h"

/*
 * Fill node->type, mode, uid, gid, user, group, mtime, size, rdev, target
 * (symlinks) and xattrs (including POSIX ACLs) for `name` in `dirfd`,
 * whose lstat result is `st`.  node->name, extents and subtree are left
 * alone.  Unreadable xattrs are KURA_EIO with a message.
 */
int kura_fsmeta_capture(kura_node *node, int dirfd, const char *name, const struct stat *st);

/* Owner name lookups are cached; safe from several threads. */
const char *kura_fsmeta_user_name(uint32_t uid);
const char *kura_fsmeta_group_name(uint32_t gid);

/*
 * Create the node's object `node->name` in `dirfd` (directories, symlinks,
 * fifos, devices, sockets; regular files are created by the restorer).
 * KURA_EEXISTS if something is already there and is not a directory we may
 * reuse.
 */
int kura_fsmeta_create(int dirfd, const kura_node *node);

/*
 * Apply ownership, xattrs, mode and mtime (in that order, so a chown
 * cannot clear setuid bits after chmod).  Never follows symlinks.
 * Ownership uses user/group names when they exist here, unless
 * numeric_owner.  Failures are KURA_EDENIED/KURA_EIO with a message; the
 * caller turns them into warnings.
 *
 * Contract with the caller: metadata is applied to an object's children
 * before the object itself.  ACLs a new object inherited from its parent's
 * default ACL are removed only when that parent has one at the time of the
 * call, which is why a parent's own ACLs must not be in place yet.
 */
int kura_fsmeta_apply(int dirfd, const kura_node *node, bool numeric_owner);

/*
 * kura_fsmeta_apply for a regular file the restorer created and holds open
 * as `fd` (checked by device and inode), whose fstat is `st`: every step
 * goes through the fd, so no name is looked up again.  With
 * strip_inherited (the parent had a default ACL when the file was
 * created, see kura_fsmeta_may_inherit) the ACLs the node does not have
 * are removed.  Steps that would change nothing (the owner, a mode that is
 * already right) are skipped.  Errors as kura_fsmeta_apply.
 */
int kura_fsmeta_apply_fd(int fd, const struct stat *st, const kura_node *node, bool numeric_owner,
			 bool strip_inherited);

/*
 * Whether objects created in `dirfd` now may inherit ACLs from it: it has
 * a default ACL, or that cannot be told.
 */
bool kura_fsmeta_may_inherit(int dirfd);

#endif
