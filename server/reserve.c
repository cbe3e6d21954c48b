/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reserve.c - the check behind reserve.h: statvfs on the repository's
 * directory and the upload's announced size.  Checked once per upload at
 * its start: uploads running side by side can eat into the reserve by
 * their sizes together, which the reserve is sized to absorb.
 */
#include "reserve.h"

#include <errno.h>
#include <sys/statvfs.h>

#include "common/error.h"

int reserve_check(const char *path, int64_t reserve, uint64_t need, bool *out_ok,
		  uint64_t *out_free, uint64_t *out_reserve)
{
	struct statvfs st;
	uint64_t avail, want;

	*out_ok = true;
	*out_free = *out_reserve = 0;
	if (statvfs(path, &st) < 0)
		return kura_error_errno(KURA_EIO, errno, "%s: statvfs", path);
	/* f_bavail: what an unprivileged writer may use; kurad may run as root. */
	avail = (uint64_t)st.f_bavail * st.f_frsize;
	if (reserve >= 0) {
		want = (uint64_t)reserve;
	} else {
		want = (uint64_t)st.f_blocks * st.f_frsize / 100 * RESERVE_DEFAULT_PERCENT;
		if (want > RESERVE_DEFAULT_MAX)
			want = RESERVE_DEFAULT_MAX;
	}
	*out_free = avail;
	*out_reserve = want;
	*out_ok = avail >= want && avail - want >= need;
	return 0;
}
