/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notes.c - matching base names against the shipped list of ransom-note
 * names (notes.h).  The patterns are fnmatch(3) globs, compared without
 * regard to case: families vary the case of their own notes.
 */
#include "detect/notes.h"

#include <fnmatch.h>

int kura_detect_note_name(const char *base)
{
	for (const char *const *p = kura_detect_note_patterns; *p; p++)
		if (fnmatch(*p, base, FNM_CASEFOLD) == 0)
			return 1;
	return 0;
}
