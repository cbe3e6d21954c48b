/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error.h - kura's error codes and the per-thread error message.
 *
 * Every library function that can fail returns an int: 0 on success or one
 * of the negative KURA_E* codes below.  The function that detects a failure
 * records a message saying what and where ("pack 3f2a...: bad tag at offset
 * 1048576") with kura_error_set(); callers further up may prefix context with
 * kura_error_wrap().  The message lives in thread-local storage, so worker
 * threads never clobber each other's messages.  The library never prints.
 */
#ifndef KURA_COMMON_ERROR_H
#define KURA_COMMON_ERROR_H

#include "kura/kura.h"

/*
 * Record a message for the current thread and return `code`, so a failing
 * site can write `return kura_error_set(KURA_ECORRUPT, "...", ...);`.
 */
int kura_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* As kura_error_set, with ": strerror(errno_value)" appended. */
int kura_error_errno(int code, int errno_value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The KURA_E* code for an errno value: ENOENT -> KURA_ENOTFOUND, EEXIST ->
 * KURA_EEXISTS, EACCES/EPERM/EROFS -> KURA_EDENIED, ENOMEM -> KURA_ENOMEM,
 * anything else KURA_EIO.
 */
int kura_errno_code(int errno_value);

/* Prefix the current message with "context: " and return `code`. */
int kura_error_wrap(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Forget the current thread's message. */
void kura_error_clear(void);

#endif
