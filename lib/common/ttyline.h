/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttyline.h - reading one secret line: from a file the user named, or
 * from the terminal with echo off.  Shared by the client's passphrase
 * (cli/passphrase.c) and the vault host's approver passphrase
 * (server/approver_pass.c), which differ only in where they look first
 * and in how they report.
 */
#ifndef KURA_COMMON_TTYLINE_H
#define KURA_COMMON_TTYLINE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * One line from `fd` into `buf` (NUL-terminated) without its "\n" and
 * trailing "\r"s, read a byte at a time so no copy lingers in a stdio
 * buffer.  Its length, -1 on a read error (errno set), -2 if it does not
 * fit in `size` bytes (the rest of the line is read and dropped).
 */
ssize_t kura_read_line(int fd, char *buf, size_t size);

/*
 * Show `prompt` on the terminal `fd` and read a line with echo off
 * (kura_read_line's results).  The terminal gets its settings back before
 * returning, and before SIGINT, SIGTERM or SIGHUP ends the process.
 */
ssize_t kura_tty_prompt(int fd, const char *prompt, char *buf, size_t size);

#endif
