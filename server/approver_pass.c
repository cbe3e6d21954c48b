/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approver_pass.c - an approver key's passphrase on the vault host
 * (approver_pass.h).
 *
 * Bytes are read one at a time with read(2), so no copy lingers in a
 * stdio buffer; the terminal's echo is switched off for the prompt and
 * restored before returning (and before a SIGINT ends the process).
 */
#include "approver_pass.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/error.h"
#include "crypto/crypto.h"

static int tty_fd = -1;
static struct termios tty_saved;

/* One line without its "\n" (and "\r"): its length, -1 on a read error, -2 if too long. */
static ssize_t read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;
	bool too_long = false;
	char c;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0 || c == '\n')
			break;
		if (len + 1 < size)
			buf[len++] = c;
		else
			too_long = true;
	}
	while (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return too_long ? -2 : (ssize_t)len;
}

static void on_signal(int sig)
{
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

static ssize_t prompt_line(int fd, const char *prompt, char *buf, size_t size)
{
	struct sigaction sa, old_int, old_term;
	struct termios raw;
	ssize_t n;

	if (write(fd, prompt, strlen(prompt)) < 0 || tcgetattr(fd, &tty_saved) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	tty_fd = fd;
	raw = tty_saved;
	raw.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	raw.c_lflag |= ECHONL;
	tcsetattr(fd, TCSAFLUSH, &raw);
	n = read_line(fd, buf, size);
	tcsetattr(fd, TCSAFLUSH, &tty_saved);
	tty_fd = -1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return n;
}

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
		n = read_line(fd, buf, size);
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
	n = prompt_line(fd, prompt, buf, size);
	if (n < 0) {
		err = n == -2 ? kura_error_set(KURA_EINVAL,
					       "the passphrase is longer than %zu bytes", size - 1)
			      : kura_error_errno(KURA_EIO, errno, "reading the passphrase");
	} else if (confirm) {
		if (!(again = malloc(size)))
			err = kura_error_set(KURA_ENOMEM, "out of memory");
		else if (prompt_line(fd, "enter the passphrase again: ", again, size) < 0 ||
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
