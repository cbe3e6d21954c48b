/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restorer.h - the restorer's tuning knobs, for tests (kura_restore itself
 * is in include/kura/kura.h).  A restore plans and restores its files in
 * batches of at most about kura_restore__batch_files files and
 * kura_restore__batch_chunks chunk uses (a file is never split, so one big
 * file can exceed the latter), which is what bounds its memory.  On a
 * remote store a batch also ends once the chunks stored against another
 * blob add up to kura_restore__batch_ref_bytes, so that their references
 * (about as large) fit in what is read ahead (refahead.h).  Tests
 * make them tiny so that every boundary is crossed; set them only while no
 * restore runs.
 */
#ifndef KURA_REPO_RESTORER_H
#define KURA_REPO_RESTORER_H

#include <stddef.h>

extern size_t kura_restore__batch_files;
extern size_t kura_restore__batch_chunks;
extern size_t kura_restore__batch_ref_bytes;

#endif
