/* SPDX-License-Identifier: Apache-2.0 */
/*
 * utf8.h - making arbitrary bytes safe for JSON text.
 *
 * File names on Linux are bytes, not text; the few that reach JSON (the
 * paths given to `kura backup`, tags, the hostname) are passed through
 * this, so a name in Latin-1 never makes a backup fail at its very end.
 */
#ifndef KURA_COMMON_UTF8_H
#define KURA_COMMON_UTF8_H

#include <stddef.h>

/* 1 if s is well-formed UTF-8 (no overlongs, surrogates or values > U+10FFFF). */
int kura_utf8_valid(const char *s, size_t len);

/*
 * A malloc'd copy of the NUL-terminated s with every byte that is not part
 * of a well-formed UTF-8 sequence replaced by U+FFFD.  NULL if out of memory.
 */
char *kura_utf8_sanitize(const char *s);

#endif
