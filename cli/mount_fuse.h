/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mount_fuse.h - the FUSE side of `kura mount` (mount_fuse.c): serve a
 * kura_fs (kura/mount.h) at a mount point with libfuse3's low-level API
 * until it is unmounted or the process gets SIGINT, SIGTERM or SIGHUP.
 */
#ifndef KURA_CLI_MOUNT_FUSE_H
#define KURA_CLI_MOUNT_FUSE_H

#include <stdbool.h>

#include "kura/mount.h"

struct cli_mount_opts {
	const char *mountpoint;
	bool allow_other; /* other users too (then bound by the stored modes) */
	bool debug;	  /* libfuse's request log on stderr */
	int threads;	  /* FUSE worker threads; 1: a single-threaded loop */
};

/*
 * Mount, serve and unmount.  Returns 0 after a clean unmount (fusermount3
 * -u, umount, or a signal), -1 when the mount failed (said on stderr).
 */
int cli_mount_serve(kura_fs *fs, const struct cli_mount_opts *o);

#endif
