/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approver_pass.h - the passphrase of an approver key file on the vault
 * host (`kurad approver add`, `kurad approve`, `kurad cancel`, `kurad
 * alert resolve`), read the way `kura approve` reads it on the approver's
 * machine: the first line of the file named by KURA_APPROVER_PASSWORD_FILE,
 * or the terminal with echo off.  Never KURA_PASSWORD_FILE: that is the
 * restore key's, and one variable for both would unlock an approver key
 * wherever a drill or a script holds the restore key's passphrase.
 */
#ifndef KURA_SERVER_APPROVER_PASS_H
#define KURA_SERVER_APPROVER_PASS_H

#include <stdbool.h>
#include <stddef.h>

#define APPROVER_PASS_ENV "KURA_APPROVER_PASSWORD_FILE"
#define APPROVER_PASS_MAX 4096

/*
 * The passphrase into `buf` (`size` bytes, NUL-terminated; wipe it with
 * kura_wipe).  On a terminal `prompt` is shown, and with `confirm` it is
 * asked twice.  0, or a code with the message set (no source, unreadable
 * file, line too long, the two entries differ).
 */
int approver_pass_read(char *buf, size_t size, const char *prompt, bool confirm);

#endif
