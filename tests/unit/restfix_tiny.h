/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restfix_tiny.h - the restore suites' second run (test_restorer.c,
 * test_restplan.c): the restorer cut to batches of one file and one chunk,
 * so that files, shared chunks and hard links cross batch boundaries.  Its
 * own header because the saved batch sizes are file-scope state that a
 * suite without tiny batches would leave unused (-Werror).
 */
#ifndef KURA_RESTFIX_TINY_H
#define KURA_RESTFIX_TINY_H

#include <stddef.h>

#include "repo/restorer.h"

/*
 * setup_tiny and teardown_tiny: a suite's own `setup` and `teardown` with
 * the restorer cutting its work into the smallest batches in between.
 */
static size_t restfix_batch_files_was, restfix_batch_chunks_was;

#define RESTFIX_TINY_BATCHES(setup, teardown)                                                      \
	static int setup_tiny(void **state)                                                        \
	{                                                                                          \
		restfix_batch_files_was = kura_restore__batch_files;                               \
		restfix_batch_chunks_was = kura_restore__batch_chunks;                             \
		kura_restore__batch_files = 1;                                                     \
		kura_restore__batch_chunks = 1;                                                    \
		return setup(state);                                                               \
	}                                                                                          \
	static int teardown_tiny(void **state)                                                     \
	{                                                                                          \
		kura_restore__batch_files = restfix_batch_files_was;                               \
		kura_restore__batch_chunks = restfix_batch_chunks_was;                             \
		return teardown(state);                                                            \
	}

#endif
