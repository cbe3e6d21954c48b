/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quarantine_view.h - what `kurad serve` hides: the files of every
 * quarantine record still "quarantined" (quarantine_store.h), held in
 * memory so that each read asks a sorted table, not the disk.
 *
 * `kurad serve`'s tick refreshes it once a second when DIR/quarantine
 * changed, so a quarantine made by `kurad client revoke --since` or a
 * release takes effect within a second.  Thread-safe: request threads
 * look up under a read lock while the tick swaps the table in.
 */
#ifndef KURA_SERVER_QUARANTINE_VIEW_H
#define KURA_SERVER_QUARANTINE_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

typedef struct quarantine_view quarantine_view;

int quarantine_view_new(quarantine_view **out);
void quarantine_view_free(quarantine_view *q); /* NULL is fine */

/*
 * Reload from DIR/quarantine if it changed since the last load (or
 * always, with `force`).  A record that cannot be read keeps the old
 * table and returns the error: hiding less than before is never the
 * answer to a damaged record.
 */
int quarantine_view_refresh(quarantine_view *q, const char *dir, bool force);

/* Is file `name` of `repo` quarantined (hidden)? */
bool quarantine_view_hidden(quarantine_view *q, const char *repo, const char *name);

/*
 * Drop from a listing (a JSON array of {"name", ...}) the entries of
 * `repo` that are hidden; *out_dropped says how many.  KURA_ENOMEM leaves
 * the listing as it was: the caller must not send it.
 */
int quarantine_view_filter(quarantine_view *q, const char *repo, json_t *listing,
			   size_t *out_dropped);

#endif
