/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restbatch.c - the batches of kura_restore (restorer.c): the walk records
 * files and their chunk uses until a batch is full, then their content is
 * restored (b, restcontent.c), the metadata of the files no worker
 * finished is applied (c, restmeta.c) and the records are freed, so memory
 * does not grow with the number of files.  Also the read-ahead of trees
 * that lets the walk run at local speed on a remote store.
 */
#include "repo/restorer.h"
#include "repo/refahead.h"
#include "repo/restshared.h"
#include "repo/treeahead.h"

/* A batch: about 10 MiB of records and plan at most, and enough jobs to keep workers busy. */
size_t kura_restore__batch_files = 32768;
size_t kura_restore__batch_chunks = 65536;
/* a batch's references fit the read-ahead, with room for the file that crosses the bound */
size_t kura_restore__batch_ref_bytes = KURA_REFAHEAD_BYTES / 2;

/* The files recorded so far are restored before more are: memory stays bounded. */
bool kura_restore__batch_full(const rs *r)
{
	return r->nfiles >= kura_restore__batch_files || r->nuses >= kura_restore__batch_chunks ||
	       r->ref_bytes >= kura_restore__batch_ref_bytes;
}

/* -------------------------------------------------------------------- */
/* Batches: (b), then the first half of (c) (restmeta.c), then free       */

/*
 * Count the batch's files, keep the (device, inode) of those created
 * (hard links are resolved against them at the end) and free the records.
 */
static int batch_free(rs *r)
{
	int err = 0;

	for (size_t i = 0; i < r->nfiles; i++) {
		rs_file *f = &r->files[i];

		/* A file that failed is not a first name hard links are made to. */
		if (atomic_load(&f->state) == RS_CREATED && !atomic_load(&f->failed)) {
			r->res->files++;
			r->res->bytes += f->node.size;
			if (!err &&
			    (err = KURA_ARRAY_GROW(r->inodes, r->inodes_cap, r->ninodes + 1)) == 0)
				r->inodes[r->ninodes++] = (rs_inode){f->dev, f->ino};
		}
		free(f->reason);
		free(f->tmp); /* a batch that failed: its temporaries were never renamed */
		kura_node_clear(&f->node);
	}
	r->nfiles = 0;
	r->nuses = 0;
	r->nrefs = 0;
	r->ref_bytes = 0;
	return err;
}

/*
 * On a remote store, read the references the batch's chunks are stored
 * against ahead, many at once, before the decoders fetch them one by one
 * (refahead.h).  A local disk is read as it was.
 */
static int refs_ahead(rs *r)
{
	unsigned parallel = r->repo->backend->read_parallel;

	return parallel && r->nrefs
		   ? kura_repo__refahead(r->repo, (const uint8_t(*)[KURA_HASH_SIZE])r->refs,
					 r->nrefs, (int)parallel)
		   : 0;
}

/*
 * Restore the files recorded since the last batch: their content (b), then
 * the metadata of those no worker finished (c); then their records go.
 * Called by the walk whenever a batch is full, so memory does not grow
 * with the number of files.
 */
int kura_restore__run_batch(rs *r)
{
	int threads = kura_restore__threads(r), err;
	kura_pool *pool = NULL;

	if (r->nfiles == 0) {
		kura_restore__remove_doomed(r, SIZE_MAX);
		kura_restore__drain_messages(r);
		return r->doomed_err;
	}
	if ((err = kura_writeback_new(&r->wb, RS_WRITEBACK_BYTES, RS_WRITEBACK_RANGES)) < 0)
		return err;
	if ((err = kura_pool_new(&pool, threads, (size_t)threads * 2)) == 0 &&
	    (err = refs_ahead(r)) == 0 && (err = kura_restore__content(r, pool)) == 0) {
		kura_restore__meta_queue(r, pool, threads, 0, r->nfiles, false);
		kura_restore__wait_jobs(r, 0);
		kura_restore__commit(r); /* in place: temporaries renamed over their names */
	}
	kura_pool_free(pool);
	kura_repo__refahead_drop(r->repo); /* what no chunk took */
	kura_writeback_free(r->wb);	   /* waits for the batch's last writes */
	r->wb = NULL;
	/* what the workers were too quick for: all gone before any directory's mtime is set */
	kura_restore__remove_doomed(r, SIZE_MAX);
	kura_restore__drain_messages(r);
	kura_restore__progress(r, false);
	if (err == 0)
		err = r->doomed_err;
	return err < 0 ? err : batch_free(r);
}

/*
 * On a store that answers each read after a round trip (S3, a vault), read
 * the trees below `root` ahead, many at once, before the walk asks for
 * them one by one (treeahead.h).  A local disk is read as it was.
 */
int kura_restore__trees_ahead(rs *r, const uint8_t root[KURA_HASH_SIZE])
{
	unsigned parallel = r->repo->backend->read_parallel;

	return parallel ? kura_repo__treeahead(r->repo, root, (int)parallel) : 0;
}
