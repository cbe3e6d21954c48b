/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_spool.h - a backend that streams uploads into local spool files
 * and stores each, once complete, through the put() of another backend
 * (the vault on S3: vault_store.h).  The handlers need an upload as a
 * file they can hash, map and check before it is stored; an object store
 * takes a file in one request.  So a stream is a private file in the
 * spool directory, stream_fd() is that file, and stream_commit() hands
 * its bytes (mapped, not copied) to the inner put(), which on S3 writes
 * them with COMPLIANCE retention and confirms the lock.  A file is visible
 * only when put() returned: a crash leaves a spool file, never a partial
 * object.  Reads, listings, times and removals go to the inner backend;
 * get_range() of 0 bytes asks whether a file is stored (the handlers'
 * existence test), which the inner backend answers with its mtime().
 */
#ifndef KURA_SERVER_STORE_SPOOL_H
#define KURA_SERVER_STORE_SPOOL_H

#include "kura/sys/backend.h"

/*
 * A spool in directory `spool` (made, mode 0700, if missing) in front of
 * `inner`, which the new backend owns from now on, also on failure.
 */
int store_spool_open(kura_backend **out, kura_backend *inner, const char *spool);

#endif
