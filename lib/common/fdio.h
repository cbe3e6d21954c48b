/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fdio.h - writing a whole buffer to a file descriptor: write(2) may
 * store less than asked (a signal, a full pipe or disk), and every
 * writer of a file must go on until it is all there or say why not.
 * The library's local backend, the vault's upload path and its small
 * files share this one loop.  The same for reading and writing at an
 * offset (pread/pwrite), where a short count is as ordinary.
 */
#ifndef KURA_COMMON_FDIO_H
#define KURA_COMMON_FDIO_H

#include <stddef.h>

/*
 * Write all `len` bytes of `data` to `fd`, resuming after EINTR and short
 * writes.  0, or -1 with errno set (ENOSPC when write() stored nothing):
 * callers map errno to their own answer (a KURA_E* code, an HTTP status).
 */
int kura_write_all(int fd, const void *data, size_t len);

/*
 * Read exactly `len` bytes at `off`, resuming after EINTR and short reads.
 * 0, or -1 with errno set (ENODATA when the file ends first).
 */
int kura_pread_all(int fd, void *buf, size_t len, unsigned long long off);

/* Write all `len` bytes at `off`; 0, or -1 with errno set (ENOSPC as kura_write_all). */
int kura_pwrite_all(int fd, const void *data, size_t len, unsigned long long off);

#endif
