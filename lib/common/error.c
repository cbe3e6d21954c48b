/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error.c - per-thread error messages (see error.h).
 */
#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KURA_ERROR_MAX 1024

static _Thread_local char error_message[KURA_ERROR_MAX];
static _Thread_local int error_code;

static void error_vset(int code, const char *fmt, va_list ap)
{
	vsnprintf(error_message, sizeof(error_message), fmt, ap);
	error_code = code;
}

int kura_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(code, fmt, ap);
	va_end(ap);
	return code;
}

int kura_error_errno(int code, int errno_value, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	error_vset(code, fmt, ap);
	va_end(ap);
	len = strlen(error_message);
	snprintf(error_message + len, sizeof(error_message) - len, ": %s",
		 strerror(errno_value));
	return code;
}

int kura_error_wrap(int code, const char *fmt, ...)
{
	char old[KURA_ERROR_MAX];
	va_list ap;
	size_t len;

	memcpy(old, error_message, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(error_message, sizeof(error_message), fmt, ap);
	va_end(ap);
	len = strlen(error_message);
	if (old[0] && len + 2 < sizeof(error_message)) {
		memcpy(error_message + len, ": ", 2);
		len += 2;
		strncpy(error_message + len, old, sizeof(error_message) - len - 1);
		error_message[sizeof(error_message) - 1] = '\0';
	}
	error_code = code;
	return code;
}

void kura_error_clear(void)
{
	error_message[0] = '\0';
	error_code = 0;
}

const char *kura_error_message(void)
{
	return error_message[0] ? error_message : "no error";
}

int kura_error_code(void)
{
	return error_code;
}

const char *kura_error_name(int code)
{
	switch (code) {
	case KURA_OK: return "ok";
	case KURA_ERROR: return "error";
	case KURA_ENOMEM: return "out of memory";
	case KURA_EINVAL: return "invalid argument";
	case KURA_ENOTFOUND: return "not found";
	case KURA_EEXISTS: return "already exists";
	case KURA_ECORRUPT: return "corrupt data";
	case KURA_EAUTH: return "authentication failed";
	case KURA_EDENIED: return "permission denied";
	case KURA_EIO: return "I/O error";
	case KURA_EUNSUPPORTED: return "unsupported";
	case KURA_ENEEDKEY: return "restore key needed";
	case KURA_EWEAK: return "passphrase too weak";
	case KURA_EAMBIGUOUS: return "ambiguous";
	case KURA_ECANCELED: return "canceled";
	case KURA_EBUSY: return "repository busy";
	default: return "unknown error";
	}
}

int kura_errno_code(int errno_value)
{
	switch (errno_value) {
	case ENOENT:
		return KURA_ENOTFOUND;
	case EEXIST:
		return KURA_EEXISTS;
	case EACCES:
	case EPERM:
	case EROFS:
		return KURA_EDENIED;
	case ENOMEM:
		return KURA_ENOMEM;
	default:
		return KURA_EIO;
	}
}
