/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reserve.h - the disk space an upload may not take.  A writer that
 * fills the vault's disk must not stop what keeps the vault useful: reads
 * (restores), the audit log and the status.  So uploads are refused (507)
 * while storing them would leave less than the reserve free; everything
 * else goes on using the reserve.
 */
#ifndef KURAD_RESERVE_H
#define KURAD_RESERVE_H

#include <stdbool.h>
#include <stdint.h>

/* The default reserve: 2% of the file system, at most this much. */
#define RESERVE_DEFAULT_MAX ((uint64_t)256 << 20)
#define RESERVE_DEFAULT_PERCENT 2

/*
 * Whether `need` more bytes can be stored on the file system holding
 * `path` with `reserve` bytes still free afterwards (reserve < 0: the
 * default).  0 and *out_ok; *out_free and *out_reserve say what was
 * found, for the operator's log.  KURA_EIO if the file system cannot be
 * asked (then the caller stores and meets ENOSPC, if that is what it is).
 */
int reserve_check(const char *path, int64_t reserve, uint64_t need, bool *out_ok,
		  uint64_t *out_free, uint64_t *out_reserve);

#endif
