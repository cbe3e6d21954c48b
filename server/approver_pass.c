/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approver_pass.c - an approver key's passphrase on the vault host
 * (approver_pass.h).
 *
 * The line itself is read by common/ttyline.c, as the client reads its
 * passphrase: a byte at a time, the terminal's echo off for the prompt.
 */
#include "approver_pass.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/ttyline.h"
#include "crypto/crypto.h"

int approver_pass_read(char *buf, size_t size, const char *prompt, bool confirm)
{
	const char *file = getenv(APPROVER_PASS_ENV);
	char *again = NULL;
	ssize_t n;
	int fd, err = 0;

	buf[0] = '\0';
	if (file && *file) {
		if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0)
			return kura_error_errno(KURA_EIO, errno, APPROVER_PASS_ENV " %s", file);
		n = kura_read_line(fd, buf, size);
		close(fd);
		if (n < 0)
			err = n == -2 ? kura_error_set(KURA_EINVAL,
						       APPROVER_PASS_ENV " %s: the first line is "
									 "longer than %zu bytes",
						       file, size - 1)
				      : kura_error_errno(KURA_EIO, errno, APPROVER_PASS_ENV " %s",
							 file);
		goto done;
	}
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 || !isatty(fd)) {
		if (fd >= 0)
			close(fd);
		return kura_error_set(KURA_EINVAL,
				      "no passphrase for the approver key: set " APPROVER_PASS_ENV
				      " or run on a terminal");
	}
	n = kura_tty_prompt(fd, prompt, buf, size);
	if (n < 0) {
		err = n == -2 ? kura_error_set(KURA_EINVAL,
					       "the passphrase is longer than %zu bytes", size - 1)
			      : kura_error_errno(KURA_EIO, errno, "reading the passphrase");
	} else if (confirm) {
		if (!(again = malloc(size)))
			err = kura_error_set(KURA_ENOMEM, "out of memory");
		else if (kura_tty_prompt(fd, "enter the passphrase again: ", again, size) < 0 ||
			 strcmp(buf, again) != 0)
			err = kura_error_set(KURA_EINVAL, "the passphrases do not match");
	}
	close(fd);
done:
	if (again) {
		kura_wipe(again, size);
		free(again);
	}
	if (err < 0)
		kura_wipe(buf, size);
	return err;
}
