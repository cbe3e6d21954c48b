/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_command.h - the operator's alert command (vault.json
 * "alert_command", docs/kurad.8): read from the settings and started
 * without a shell, detached, so that a slow or hung command never holds
 * up the vault.
 */
#ifndef KURA_SERVER_ALERT_COMMAND_H
#define KURA_SERVER_ALERT_COMMAND_H

#include <stddef.h>

#define ALERT_COMMAND_ARGS_MAX 32
#define ALERT_COMMAND_ARG_MAX 4096

/*
 * vault.json's "alert_command": absent or null (*out_argv NULL), or an
 * array of 1 to ALERT_COMMAND_ARGS_MAX strings of 1 to ALERT_COMMAND_ARG_MAX
 * bytes without NUL, the first an absolute path (no PATH search): then
 * *out_argv is a NULL-terminated malloc'd vector (alert_command_free).
 * KURA_ECORRUPT naming the problem otherwise.
 */
int alert_command_load(const char *dir, char ***out_argv);
/* The same from vault.json's `len` bytes of `text` (`path` names it in messages). */
int alert_command_parse(const char *text, size_t len, const char *path, char ***out_argv);
void alert_command_free(char **argv);

/*
 * Start argv with exactly the environment envp (NULL-terminated
 * "NAME=VALUE" strings), stdin from /dev/null, stdout and stderr kurad's,
 * no other descriptor, in its own session, and not waited for (it is
 * orphaned to init, so no zombie is left).  0 once the program is running;
 * KURA_EIO naming the cause if it could not be started (no such file, not
 * executable).
 */
int alert_command_start(char *const argv[], char *const envp[]);

#endif
