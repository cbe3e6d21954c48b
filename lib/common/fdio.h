/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fdio.h - writing a whole buffer to a file descriptor: write(2) may
 * store less than asked (a signal, a full pipe or disk), and every
 * writer of a file must go on until it is all there or say why not.
 * The library's local backend, the vault's upload path and its small
 * files share this one loop.
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

#endif
