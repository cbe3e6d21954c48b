/* SPDX-License-Identifier: Apache-2.0 */
/*
 * passphrase.c - getting the restore key's passphrase from the user.
 *
 * Two sources, in order: the first line of the file named by
 * KURA_PASSWORD_FILE (trailing "\r\n" or "\n" stripped, for scripts and
 * timers), or the controlling terminal, read from /dev/tty with echo off so
 * that the passphrase works even when stdin and stdout are redirected.
 * There is deliberately no environment variable holding the passphrase
 * itself: environments leak into process listings and crash reports.
 *
 * Invariants: bytes are read one at a time with read(2) so no copy lingers
 * in a stdio buffer; every buffer that held a passphrase is wiped; if the
 * user interrupts the prompt, the terminal gets its echo back before the
 * default SIGINT action ends the process.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const char no_source[] =
	"no passphrase: set KURA_PASSWORD_FILE or run on a terminal";

/* Saved for the signal handler, which restores echo. */
static int tty_fd = -1;
static struct termios tty_saved;

void cli_passphrase_wipe(char *buf, size_t size)
{
	if (buf)
		explicit_bzero(buf, size);
}

/*
 * Read one line from fd into buf without its line ending.  Returns the
 * length, -1 on a read error, -2 if the line does not fit.
 */
static ssize_t read_line(int fd, char *buf, size_t size)
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

static int read_file(char *buf, size_t size, const char *env, const char *path)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "kura: %s %s: %s\n", env, path, strerror(errno));
		fprintf(stderr,
			"hint: make the file readable by this user, or unset %s to be asked on "
			"the terminal\n",
			env);
		return CLI_EXIT_FATAL;
	}
	n = read_line(fd, buf, size);
	close(fd);
	if (n == -1) {
		fprintf(stderr, "kura: %s %s: %s\n", env, path, strerror(errno));
		return CLI_EXIT_FATAL;
	}
	if (n == -2) {
		fprintf(stderr, "kura: %s %s: the first line is longer than %d bytes\n", env, path,
			CLI_PASSPHRASE_MAX - 1);
		return CLI_EXIT_FATAL;
	}
	return CLI_EXIT_OK;
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

/* Prompt on the terminal `fd` and read a line with echo off. */
static ssize_t prompt_line(int fd, const char *prompt, char *buf, size_t size)
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

	n = read_line(fd, buf, size);

	tcsetattr(fd, TCSAFLUSH, &tty_saved);
	tty_fd = -1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return n;
}

static int read_tty(char *buf, size_t size, const char *prompt, bool confirm, const char *env)
{
	char *again = NULL;
	int fd, rc = CLI_EXIT_FATAL;
	ssize_t n;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 || !isatty(fd)) {
		if (fd >= 0)
			close(fd);
		if (strcmp(env, "KURA_PASSWORD_FILE") == 0)
			fprintf(stderr, "kura: %s\n", no_source);
		else
			fprintf(stderr, "kura: no passphrase: set %s or run on a terminal\n", env);
		return CLI_EXIT_FATAL;
	}
	n = prompt_line(fd, prompt, buf, size);
	if (n == -2) {
		fprintf(stderr, "kura: the passphrase is longer than %zu bytes\n", size - 1);
		goto done;
	}
	if (n < 0) {
		fprintf(stderr, "kura: cannot read the passphrase from the terminal: %s\n",
			strerror(errno));
		goto done;
	}
	if (confirm) {
		if (!(again = malloc(size))) {
			fputs("kura: out of memory\n", stderr);
			goto done;
		}
		n = prompt_line(fd, "enter the passphrase again: ", again, size);
		if (n < 0 || strcmp(buf, again) != 0) {
			fputs("kura: the passphrases do not match; run the command again\n",
			      stderr);
			goto done;
		}
	}
	rc = CLI_EXIT_OK;
done:
	if (again) {
		cli_passphrase_wipe(again, size);
		free(again);
	}
	if (rc != CLI_EXIT_OK)
		cli_passphrase_wipe(buf, size);
	close(fd);
	return rc;
}

bool cli_passphrase_available(void)
{
	const char *file = getenv("KURA_PASSWORD_FILE");
	int fd;
	bool ok;

	if (file && *file)
		return true;
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return false;
	ok = isatty(fd);
	close(fd);
	return ok;
}

int cli_passphrase_read_env(const char *env, char *buf, size_t size, const char *prompt,
			    bool confirm)
{
	const char *file = getenv(env);

	if (file && *file)
		return read_file(buf, size, env, file);
	return read_tty(buf, size, prompt, confirm, env);
}

int cli_passphrase_read(char *buf, size_t size, const char *prompt, bool confirm)
{
	return cli_passphrase_read_env("KURA_PASSWORD_FILE", buf, size, prompt, confirm);
}

int cli_tty_confirm(const char *question)
{
	char answer[16];
	ssize_t n;
	int fd;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 || !isatty(fd)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	put(fd, question);
	n = read_line(fd, answer, sizeof(answer));
	close(fd);
	return n > 0 && strcmp(answer, "yes") == 0;
}
