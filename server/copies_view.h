/* SPDX-License-Identifier: Apache-2.0 */
/*
 * copies_view.h - what the vault sees of a repository's copies
 * (docs/PROTOCOL.md, "Status", member "copies"): the 3-2-1-1-0 report of
 * include/kura/status321.h, made from the proof records `kura copy` and
 * `kura check --read-data` store in the repository and from the drill
 * records' summaries.  Both are plaintext, so the vault reads them without
 * a key; it never opens a copy's target (those paths are the client's).
 */
#ifndef KURA_SERVER_COPIES_VIEW_H
#define KURA_SERVER_COPIES_VIEW_H

#include <stdint.h>

#include <jansson.h>

#include "kura/backend.h"

/*
 * Add "copies" to a repository's status object: {"source", "newest_snapshot",
 * "stores": [...], "check", "drill", "rules": [...], "verdict",
 * "damaged_records"} (PROTOCOL.md lists every member).  0, or the store's
 * error.
 */
int copies_view_add(json_t *repo, kura_backend *b, const char *repo_name, int64_t now_ns);

/* The rule names of the metrics' label: "copies", "media", "offsite", "offline", "errors". */
const char *copies_view_rule_key(int rule);

#endif
