/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.c - kura_now_ns (kura.h): one clock reading in nanoseconds, for
 * the library, the CLI and the vault alike, instead of a copy in each
 * file that needs one.  CLOCK_REALTIME for times that are stored or
 * compared with stored ones, CLOCK_MONOTONIC for intervals.
 */
#include <time.h>

#include "kura/kura.h"

int64_t kura_now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
