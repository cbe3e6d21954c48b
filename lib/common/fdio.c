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
