/* SPDX-License-Identifier: Apache-2.0 */
/*
 * repolock.h - the local backend's repository lock (repolock.c), kept apart
 * from local.c because it is a job of its own: local.c's lock slots call it.
 */
#ifndef KURA_REPOLOCK_H
#define KURA_REPOLOCK_H

#include <stdint.h>

#include "kura/sys/backend.h"

/* The lock file in a local repository's root (not named by a hash, like tmp/). */
#define KURA_REPOLOCK_NAME "lock"

/*
 * Lock the repository whose root directory is `root_fd` (called `path` in
 * messages) in `mode`, waiting at most `wait_ms`; backend.h's lock slot.
 */
int kura_repolock__take(int root_fd, const char *path, kura_lock_mode mode, int64_t wait_ms,
			kura_backend_lock **out);

/* Release a lock taken above; NULL is fine. */
void kura_repolock__release(kura_backend_lock *lock);

#endif
