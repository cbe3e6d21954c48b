/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_command.c - the operator's alert command (alert_command.h).
 *
 * The command is an argv from vault.json, never a shell line: an alert's
 * summary carries names a client chose, and it reaches the command only
 * through the environment, so no quoting can go wrong.  kurad has many
 * threads, so the child does only async-signal-safe work between fork and
 * exec, with everything it needs built before the fork.  It forks twice:
 * the middle process exits at once and is reaped here, the command is
 * left to init, and kurad never waits for it.  A close-on-exec pipe tells
 * the parent whether exec succeeded (EOF) or why not (the errno).
 */
#include "alert_command.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/error.h"
#include "files.h"

void alert_command_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

int alert_command_load(const char *dir, char ***out_argv)
{
	char *path = NULL, *text = NULL;
	size_t len;
	int err;

	*out_argv = NULL;
	if (asprintf(&path, "%s/vault.json", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &text, &len)) == 0)
		err = alert_command_parse(text, len, path, out_argv);
	free(text);
	free(path);
	return err;
}

int alert_command_parse(const char *text, size_t len, const char *path, char ***out_argv)
{
	char **argv = NULL;
	json_t *doc = NULL, *cmd, *item;
	json_error_t jerr;
	size_t i;
	int err = 0;

	*out_argv = NULL;
	if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
		goto done;
	}
	cmd = json_object_get(doc, "alert_command");
	if (!cmd || json_is_null(cmd))
		goto done;
	if (!json_is_array(cmd) || json_array_size(cmd) == 0 ||
	    json_array_size(cmd) > ALERT_COMMAND_ARGS_MAX) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: \"alert_command\" must be an array of 1 to %d strings "
				     "(the program's absolute path, then its arguments)",
				     path, ALERT_COMMAND_ARGS_MAX);
		goto done;
	}
	if (!(argv = calloc(json_array_size(cmd) + 1, sizeof(*argv)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	json_array_foreach(cmd, i, item) {
		const char *s = json_string_value(item);
		size_t n = json_string_length(item);

		if (!s || n == 0 || n > ALERT_COMMAND_ARG_MAX || strlen(s) != n) {
			err = kura_error_set(KURA_ECORRUPT,
					     "%s: \"alert_command\" item %zu is not a string of 1 to "
					     "%d bytes without NUL",
					     path, i + 1, ALERT_COMMAND_ARG_MAX);
			goto done;
		}
		if (i == 0 && s[0] != '/') {
			err = kura_error_set(KURA_ECORRUPT,
					     "%s: \"alert_command\" must start with an absolute path "
					     "(not \"%s\": kurad does not search PATH)",
					     path, s);
			goto done;
		}
		if (!(argv[i] = strdup(s))) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
	}
	*out_argv = argv;
	argv = NULL;
done:
	alert_command_free(argv);
	json_decref(doc);
	return err;
}

/* In the grandchild, before exec: async-signal-safe calls only. */
_Noreturn static void exec_child(char *const argv[], char *const envp[], int report_fd)
{
	int null_fd, e;

	(void)setsid();
	if ((null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && null_fd != 0)
		(void)dup2(null_fd, 0);
	/* Every descriptor but 0-2 closes at exec; the report pipe must stay open until then. */
#ifdef SYS_close_range
	(void)syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
#endif
	execve(argv[0], argv, envp);
	e = errno;
	(void)!write(report_fd, &e, sizeof(e));
	_exit(127);
}

int alert_command_start(char *const argv[], char *const envp[])
{
	int fds[2], status, e = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return kura_error_errno(KURA_EIO, errno, "alert command %s: pipe", argv[0]);
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(fds[0]);
		close(fds[1]);
		return kura_error_errno(KURA_EIO, e, "alert command %s: fork", argv[0]);
	}
	if (pid == 0) {
		pid_t grandchild;

		close(fds[0]);
		grandchild = fork();
		if (grandchild == 0)
			exec_child(argv, envp, fds[1]);
		if (grandchild < 0) {
			e = errno;
			(void)!write(fds[1], &e, sizeof(e));
		}
		_exit(0);
	}
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	while ((n = read(fds[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(fds[0]);
	if (n == (ssize_t)sizeof(e))
		return kura_error_errno(KURA_EIO, e, "alert command %s: cannot start", argv[0]);
	return 0;
}
