/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttyline.c - one secret line from a file or the terminal (ttyline.h).
 */
#include "common/ttyline.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Saved for the signal handler, which gives the terminal its echo back. */
static int tty_fd = -1;
static struct termios tty_saved;

ssize_t kura_read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;
	bool too_long = false;
	char c;
	ssize_t n;

	for (;;) {
		n = read(fd, &c, 1);
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
	c = 0;
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

static void put(int fd, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;

	while (len > 0) {
		n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

ssize_t kura_tty_prompt(int fd, const char *prompt, char *buf, size_t size)
{
	struct sigaction sa, old_int, old_term, old_hup;
	struct termios raw;
	ssize_t n;

	put(fd, prompt);
	if (tcgetattr(fd, &tty_saved) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	tty_fd = fd;
	raw = tty_saved;
	raw.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	raw.c_lflag |= ECHONL;
	tcsetattr(fd, TCSAFLUSH, &raw);

	n = kura_read_line(fd, buf, size);

	tcsetattr(fd, TCSAFLUSH, &tty_saved);
	tty_fd = -1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return n;
}
