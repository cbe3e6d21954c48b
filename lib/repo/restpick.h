/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restpick.h - the restorer driven file by file (internal): one restore
 * into one target from several snapshots, each file taken from the one a
 * picker names (kura restore --clean, lib/repo/cleanpick.c).
 *
 * The snapshots are walked in the order given, into the same restore
 * state: directories are created when a file picked below them needs
 * them (a directory met again is reused, not an error), hard links and
 * directory metadata are settled once at the end, so a directory gets the
 * metadata of the last snapshot that restored a file in it.  The picker
 * must name each path in at most one snapshot: a second file under the
 * same name is "already exists", as in any restore.
 */
#ifndef KURA_REPO_RESTPICK_H
#define KURA_REPO_RESTPICK_H

#include <stdbool.h>
#include <stddef.h>

#include "kura/kura.h"

/*
 * Whether to restore the node at snapshot path `path` ("/a/b") of
 * snapshot number `snapshot` (an index into the ids given).  Asked for
 * directories too: false restores only what is picked below them.
 * Called from the restoring thread only.
 */
typedef bool (*kura_restore__pick_fn)(void *ctx, size_t snapshot, const char *path);

/*
 * kura_restore over `ids` (nids >= 1) with `pick` choosing the files of
 * each (NULL: every one, as kura_restore).  opts->subpath and includes
 * apply only without a picker.  Returns as kura_restore.
 */
int kura_restore__picked(kura_repo *repo, const char *const *ids, size_t nids,
			 kura_restore__pick_fn pick, void *pick_ctx,
			 const kura_restore_options *opts, kura_restore_result *out);

#endif
