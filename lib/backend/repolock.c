/* SPDX-License-Identifier: Apache-2.0 */
/*
 * repolock.c - keeps a local repository's backups and prunes apart with the
 * kernel's advisory locks (flock) on the file `lock` in its root.
 *
 * A backup holds the lock shared for its whole run, a prune exclusively
 * while it decides what to remove and removes it (docs/FORMAT.md, "Backups
 * and prunes").  The kernel drops a lock when the process holding it dies,
 * so there are no stale locks to clean up and nothing is written into the
 * file: it only gives the lock a name.  Each take opens the file anew, so
 * every held lock is its own open file description and two takes in one
 * process conflict exactly as two processes would.  flock has no timeout:
 * a wait polls with a non-blocking attempt, backing off to half a second.
 *
 * The file is hostile input like every other: it is opened without
 * following a symlink and without blocking (a FIFO planted there must not
 * hang a backup), and anything but a regular file is refused.
 */
#include "backend/repolock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"

struct kura_backend_lock {
	int fd;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/*
 * Who holds the lock we could not take, for the message.  An exclusive
 * lock is refused beside backups and beside another prune; only backups
 * let a shared lock through.
 */
static const char *holder(int fd, kura_lock_mode wanted)
{
	if (wanted == KURA_LOCK_SHARED)
		return "a prune";
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		return "a backup";
	}
	return "another prune";
}

int kura_repolock__take(int root_fd, const char *path, kura_lock_mode mode, int64_t wait_ms,
			kura_backend_lock **out)
{
	kura_backend_lock *l;
	struct stat st;
	int64_t deadline, step = 10, now;
	int fd = -1, op, err = 0;

	*out = NULL;
	if (mode != KURA_LOCK_SHARED && mode != KURA_LOCK_EXCLUSIVE)
		return kura_error_set(KURA_EINVAL, "repository lock: bad mode %d", (int)mode);
	fd = openat(root_fd, KURA_REPOLOCK_NAME,
		    O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s/%s: open", path,
				       KURA_REPOLOCK_NAME);
		goto done;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s/%s is not a regular file, so the repository cannot be "
				     "locked; it holds nothing: remove it",
				     path, KURA_REPOLOCK_NAME);
		goto done;
	}
	op = mode == KURA_LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH;
	deadline = now_ms() + (wait_ms > 0 ? wait_ms : 0);
	while (flock(fd, op | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			err = kura_error_errno(KURA_EIO, errno, "%s/%s: flock", path,
					       KURA_REPOLOCK_NAME);
			goto done;
		}
		if ((now = now_ms()) >= deadline) {
			err = kura_error_set(KURA_EBUSY,
					     "%s: %s holds the repository (its lock %s/%s)%s", path,
					     holder(fd, mode), path, KURA_REPOLOCK_NAME,
					     wait_ms > 0 ? ", and did not let go in time" : "");
			goto done;
		}
		sleep_ms(step < deadline - now ? step : deadline - now);
		if (step < 500)
			step *= 2;
	}
	if (!(l = malloc(sizeof(*l)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	l->fd = fd;
	fd = -1;
	*out = l;
done:
	if (fd >= 0)
		close(fd);
	return err;
}

void kura_repolock__release(kura_backend_lock *lock)
{
	if (!lock)
		return;
	close(lock->fd); /* drops the flock with the last descriptor of its open file */
	free(lock);
}
