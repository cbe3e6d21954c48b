/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acceptance.h - acceptance records inside the library (internal): what
 * names a source, and the acceptances of one source as the backup's
 * detector applies them (lib/detect/accept.h).  The public side is
 * include/kura/accept.h.
 */
#ifndef KURA_REPO_ACCEPTANCE_H
#define KURA_REPO_ACCEPTANCE_H

#include "detect/accept.h"
#include "format/snapshot.h"
#include "repo/repo.h"

/* "host\npath...\n-e exclude..." (malloc'd), or NULL: out of memory.  scan.c. */
char *kura_scan__source_key(const kura_snapshot *s);

/*
 * The acceptances of the source named `source` (as kura_scan__source_key
 * and the backup name it) folded into *out (kura_detect_accepts_clear).
 * Any key: only the plaintext header is read.  A record that cannot be
 * read is skipped and noted in kura_repo_damage; 0, or a negative KURA_E*
 * when the listing itself fails.
 */
int kura_repo__accepts_for(kura_repo *repo, const char *source, kura_detect_accepts *out);

#endif
