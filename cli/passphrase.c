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

#include "common/ttyline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char no_source[] =
	"no passphrase: set KURA_PASSWORD_FILE or run on a terminal";

void cli_passphrase_wipe(char *buf, size_t size)
{
	if (buf)
		explicit_bzero(buf, size);
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
	n = kura_read_line(fd, buf, size);
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
	n = kura_tty_prompt(fd, prompt, buf, size);
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
		n = kura_tty_prompt(fd, "enter the passphrase again: ", again, size);
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
	n = kura_read_line(fd, answer, sizeof(answer));
	close(fd);
	return n > 0 && strcmp(answer, "yes") == 0;
}
