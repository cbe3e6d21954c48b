/* SPDX-License-Identifier: Apache-2.0 */
/* fdio.c - see fdio.h. */
#include "common/fdio.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

int kura_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC; /* nothing stored and no error: the medium is full */
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int kura_pread_all(int fd, void *buf, size_t len, unsigned long long off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENODATA;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += (size_t)n;
	}
	return 0;
}

int kura_pwrite_all(int fd, const void *data, size_t len, unsigned long long off)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += (size_t)n;
	}
	return 0;
}
