/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restmeta.c - the last steps of kura_restore: hard links and metadata.
 * make_links makes the hard links decided after the last batch;
 * fail_file renames a failed file NAME.kura-partial (or removes it) so it
 * never looks complete; meta_queue applies metadata to a batch's files
 * not finished by the content workers, in contiguous ranges on the pool;
 * apply_dir_meta applies directory metadata deepest first, one depth at a
 * time, so that writing into a directory never changes its restored mtime
 * and a read-only directory is made read-only only after it is filled.
 * Workers queue their warnings; the calling thread says them.
 */
#include "repo/restshared.h"


/* -------------------------------------------------------------------- */
/* (c) Metadata of a batch's files; at the end hard links, then directories */

void kura_restore__make_links(rs *r)
{
	for (size_t i = 0; i < r->nlinks; i++) {
		const rs_link *l = &r->links[i];
		const char *from, *to;
		int ffd, tfd;

		if (!l->from) /* restored as a copy, or failed */
			continue;
		if ((ffd = kura_restore__open_parent(r, l->from, &from)) < 0) {
			rs_link_say(r, rs_fail, i, "cannot link: %s", strerror(-ffd));
			continue;
		}
		to = l->node.name;
		if ((tfd = kura_restore__cursor_fd(r, &r->cursor, l->dir)) < 0) {
			rs_link_say(r, rs_fail, i, "cannot link: %s", strerror(-tfd));
		} else {
			int e = 0;

			/* Flags 0: linkat never follows a symlink at the old name. */
			if (linkat(ffd, from, tfd, to, 0) == 0) {
				r->res->others++;
				kura_restore__note_at(r, KURA_RESTORE_CREATE, l->dir, to);
			} else if (errno == EEXIST && r->inplace &&
				   (e = kura_restore__relink(r, ffd, from, tfd, to, l->dir)) != KURA_EEXISTS) {
				if (e < 0)
					rs_link_say(r, rs_fail, i, "cannot replace: %s",
						    kura_error_message());
				else
					r->res->others++;
			} else if (errno == EEXIST || e == KURA_EEXISTS)
				rs_link_say(r, rs_exists, i, "already exists: not overwritten (a "
					    "hard link to %s)", l->from);
			else
				rs_link_say(r, rs_fail, i, "cannot link to %s: %s", l->from,
					    strerror(errno));
		}
		close(ffd);
	}
}

/* Deepest first, then in walk order (a parent before its children). */
static int order_cmp(const void *a, const void *b, void *ctx)
{
	const rs_dir *dirs = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	unsigned x = dirs[i].depth, y = dirs[j].depth;

	return x < y ? 1 : x > y ? -1 : (i > j) - (i < j);
}

/* r->dir_order: the indices of dirs, deepest first; dirs[] itself keeps its order (parents). */
int kura_restore__dir_order(rs *r)
{
	free(r->dir_order);
	if (!(r->dir_order = malloc((r->ndirs ? r->ndirs : 1) * sizeof(size_t))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	for (size_t i = 0; i < r->ndirs; i++)
		r->dir_order[i] = i;
	if (r->ndirs > 1)
		qsort_r(r->dir_order, r->ndirs, sizeof(size_t), order_cmp, r->dirs);
	return 0;
}

/*
 * A file that failed does not stay under its name looking restored, and
 * gets none of its metadata (no original mtime on half a file).  What was
 * written from the repository is kept as NAME.kura-partial, mode 0600:
 * after a lost pack the good parts of a large file (a database, an image
 * archive) may be worth salvaging, and the next restore into the same
 * target finds the name free and tries again.  A file that failed writing
 * (a full disk) is removed instead, to leave room for the rest.  dfd is
 * its directory, or -1 if that could not be opened.  Runs on a worker.
 */
static void fail_file(rs *r, int dfd, size_t i)
{
	rs_file *f = &r->files[i];
	const char *why = f->reason ? f->reason : "could not be restored";
	char *partial = NULL, *rel;
	struct stat st;
	int fd = -1;
	bool ours;

	if (f->tmp) {
		kura_restore__fail_tmp(r, dfd, i); /* in place: the temporary goes, the old file stays */
		return;
	}
	rel = kura_restore__file_rel(r, i);
	if (atomic_load(&f->state) != RS_CREATED) {
		kura_restore__queue_say(r, RS_FAIL, rel, false, "%s", why); /* nothing of it is in the target */
		free(rel);
		return;
	}
	/* O_NONBLOCK: a FIFO swapped in does not block the open; it fails the check. */
	if (dfd >= 0)
		fd = openat(dfd, f->node.name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ours = fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino;
	/* Missing chunks at the end would leave it short: every byte keeps its offset. */
	if (ours && (uint64_t)st.st_size < f->node.size && ftruncate(fd, (off_t)f->node.size) < 0)
		atomic_store(&f->discard, true);
	if (fd >= 0)
		close(fd);
	if (!ours) {
		kura_restore__queue_say(r, RS_FAIL, rel, false, "%s; what was written of it could not be found "
			  "to remove it", why);
		free(rel);
		return;
	}
	if (atomic_load(&f->written) > 0 && !atomic_load(&f->discard) &&
	    asprintf(&partial, "%s.kura-partial", f->node.name) >= 0 &&
	    renameat2(dfd, f->node.name, dfd, partial, RENAME_NOREPLACE) == 0) {
		kura_restore__queue_say(r, RS_FAIL, rel, true, "%s", why);
	} else if (unlinkat(dfd, f->node.name, 0) == 0) {
		kura_restore__queue_say(r, RS_FAIL, rel, false, "%s", why);
	} else {
		kura_restore__queue_say(r, RS_FAIL, rel, false, "%s; and it could not be removed: %s", why,
			  strerror(errno));
	}
	free(partial);
	free(rel);
}

/* A warning about files[i], its path made only now. */
#define file_warn(r, i, ...)                                            \
	do {                                                            \
		char *rel_ = kura_restore__file_rel((r), (i));          \
		kura_restore__queue_warn((r), rel_, __VA_ARGS__);       \
		free(rel_);                                             \
	} while (0)

/* Apply the metadata of files[first..end), or say what became of those that failed; a worker. */
static void meta_files(rs *r, rs_cursor *cur, size_t first, size_t end)
{
	for (size_t i = first; i < end; i++) {
		const rs_file *f = &r->files[i];
		kura_node node = f->node; /* under its temporary name while restored in place */
		bool failed = atomic_load(&f->failed);
		struct stat st;
		int dfd;

		if (failed && atomic_load(&f->state) != RS_CREATED) {
			fail_file(r, -1, i);
			continue;
		}
		if (!failed && (atomic_load(&f->meta_done) || atomic_load(&f->state) == RS_NOFILE))
			continue;
		/* Files of one directory are consecutive: the cursor opens each directory once. */
		if ((dfd = kura_restore__cursor_fd(r, cur, f->dir)) < 0) {
			if (failed)
				fail_file(r, -1, i);
			else
				file_warn(r, i, "cannot open its directory to set metadata: %s",
					  strerror(-dfd));
			continue;
		}
		if (failed) {
			fail_file(r, dfd, i);
			continue;
		}
		if (atomic_load(&f->state) == RS_NEW) {
			/* Planned but reached by no worker: created here. */
			int fd = kura_restore__create_now(r, dfd, i, &st);

			if (fd >= 0 && kura_fsmeta_apply_fd(fd, &st, &f->node, r->opts->numeric_owner,
							    f->strip_acls) < 0)
				file_warn(r, i, "%s", kura_error_message());
			if (fd >= 0)
				close(fd);
			else if (atomic_load(&f->failed))
				fail_file(r, dfd, i);
			continue;
		}
		node.name = (char *)RS_FNAME(f);
		if (fstatat(dfd, node.name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    st.st_dev != f->dev || st.st_ino != f->ino) {
			file_warn(r, i, "was replaced during the restore: metadata not applied");
			continue;
		}
		if (kura_fsmeta_apply(dfd, &node, r->opts->numeric_owner) < 0)
			file_warn(r, i, "%s", kura_error_message());
	}
}

/* Apply the metadata of the dirs dir_order[first..end), all of one depth; runs on a worker. */
static void meta_dirs(rs *r, rs_cursor *cur, size_t first, size_t end)
{
	for (size_t k = first; k < end; k++) {
		size_t i = r->dir_order[k];
		const rs_dir *d = &r->dirs[i];
		char *rel;
		int dfd;

		if (!d->node.name)
			continue;
		/* its parent: deeper directories are done, so the cursor only passes shallower ones */
		if ((dfd = kura_restore__cursor_fd(r, cur, d->parent)) < 0) {
			rel = kura_restore__dir_rel(r, i, NULL);
			kura_restore__queue_warn(r, rel, "cannot open its parent to set metadata: %s",
				   strerror(-dfd));
			free(rel);
			continue;
		}
		if (kura_fsmeta_apply(dfd, &d->node, r->opts->numeric_owner) < 0) {
			rel = kura_restore__dir_rel(r, i, NULL);
			kura_restore__queue_warn(r, rel, "%s", kura_error_message());
			free(rel);
		}
	}
}

typedef struct {
	size_t first, end;
	bool dirs;                      /* dirs[first..end), else files[first..end) */
} rs_meta_job;

static void meta_job_run(void *arg, void *ctx)
{
	rs_meta_job *job = arg;
	rs *r = ctx;
	rs_cursor cur;

	kura_restore__cursor_init(&cur);
	if (job->dirs)
		meta_dirs(r, &cur, job->first, job->end);
	else
		meta_files(r, &cur, job->first, job->end);
	kura_restore__cursor_free(&cur);
	free(job);
	pthread_mutex_lock(&r->lock);
	r->jobs_pending--;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/*
 * Cut [first, end) into about `parts` ranges of at least RS_META_MIN
 * entries and queue each as a job.  Without a pool (or out of memory) the
 * range is done here; either way the messages go through the queue.
 */
void kura_restore__meta_queue(rs *r, kura_pool *pool, int threads, size_t first, size_t end, bool dirs)
{
	size_t parts = (size_t)threads * 4, step = (end - first + parts - 1) / parts;

	if (step < RS_META_MIN)
		step = RS_META_MIN;
	for (size_t i = first; i < end; i += step) {
		size_t stop = end - i > step ? i + step : end;
		rs_meta_job *job;

		if (!pool || !(job = malloc(sizeof(*job)))) {
			if (dirs)
				meta_dirs(r, &r->cursor, i, stop);
			else
				meta_files(r, &r->cursor, i, stop);
			continue;
		}
		job->first = i;
		job->end = stop;
		job->dirs = dirs;
		kura_restore__wait_jobs(r, (size_t)threads * 3 - 1);
		pthread_mutex_lock(&r->lock);
		r->jobs_pending++;
		pthread_mutex_unlock(&r->lock);
		kura_pool_add(pool, meta_job_run, job, r);
	}
}

/*
 * After the last batch and the links: directories one depth at a time,
 * deepest first: a directory's metadata goes on only once everything
 * below it is done (files, by their batches; links), so nothing written
 * or chmod-ed inside it later changes its mtime, and a read-only
 * directory is still writable while its contents are finished.
 * Directories of one depth are independent: each is reached through
 * shallower ones, which are not touched until that depth is done.
 */
void kura_restore__apply_dir_meta(rs *r)
{
	int threads = kura_restore__threads(r);
	kura_pool *pool = NULL;

	/* Without a pool everything is done on this thread, as before. */
	if (threads > 1 && r->ndirs > RS_META_MIN &&
	    kura_pool_new(&pool, threads, (size_t)threads * 2) < 0)
		pool = NULL;
	if (kura_restore__dir_order(r) < 0) {
		/* out of memory: no directory gets its metadata; each is said */
		r->res->warnings += r->ndirs;
		kura_pool_free(pool);
		return;
	}
	for (size_t i = 0, j; i < r->ndirs; i = j) {
		unsigned depth = r->dirs[r->dir_order[i]].depth;

		for (j = i + 1; j < r->ndirs && r->dirs[r->dir_order[j]].depth == depth; j++)
			;
		/* A depth of few directories (a deep, narrow tree has thousands) is not worth a handoff. */
		kura_restore__meta_queue(r, j - i < RS_META_MIN ? NULL : pool, threads, i, j, true);
		kura_restore__wait_jobs(r, 0);
	}
	kura_pool_free(pool);
	kura_restore__drain_messages(r);
	r->res->warnings += atomic_load(&r->warnings);
}


/*
 * In place from SNAPSHOT:DIR, the target is DIR: it gets DIR's stored
 * metadata too (as `rsync -a DIR/ TARGET/` does), after everything inside
 * it.  Through its parent by name, and only if that name is still the
 * directory the restore opened; never for "/" or a target ending in "..".
 */
void kura_restore__root_meta(rs *r)
{
	struct stat want, got;
	char *path = NULL, *slash;
	const char *parent, *base;
	kura_node node;
	size_t len;
	int pfd;

	if (!r->root_node || r->rootfd < 0 || fstat(r->rootfd, &want) < 0 ||
	    !(path = strdup(r->opts->target)))
		return;
	for (len = strlen(path); len > 1 && path[len - 1] == '/';)
		path[--len] = '\0';
	if (!(slash = strrchr(path, '/'))) {
		parent = ".";
		base = path;
	} else {
		*slash = '\0';
		parent = slash == path ? "/" : path;
		base = slash + 1;
	}
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		free(path);
		return;
	}
	if ((pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fstatat(pfd, base, &got, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(got.st_mode) ||
	    got.st_dev != want.st_dev || got.st_ino != want.st_ino) {
		kura_restore__queue_warn(r, "", "the target was moved or replaced during the "
					 "restore: its own metadata not applied");
	} else {
		node = *r->root_node;
		node.name = (char *)base;
		if (kura_fsmeta_apply(pfd, &node, r->opts->numeric_owner) < 0)
			kura_restore__queue_warn(r, "", "%s", kura_error_message());
	}
	if (pfd >= 0)
		close(pfd);
	free(path);
	kura_restore__drain_messages(r);
	r->res->warnings += atomic_exchange(&r->warnings, 0);
}

/* -------------------------------------------------------------------- */
/* Hard links: is the first name one this restore made?                   */

static int inode_cmp(const void *a, const void *b)
{
	const rs_inode *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/*
 * The first name of link l below the target, or NULL if it is outside what
 * is restored (targets are relative to the snapshot root, and the target
 * directory stands for root_snap).  Borrowed from l->node.target.
 */
static const char *link_source(const rs *r, const rs_link *l)
{
	const char *t = l->node.target ? l->node.target : "";
	size_t base_len = strlen(r->root_snap);

	while (*t == '/')
		t++;
	if (!base_len)
		return *t ? t : NULL;
	if (strncmp(t, r->root_snap + 1, base_len - 1) == 0 && t[base_len - 1] == '/' &&
	    t[base_len])
		return t + base_len;
	return NULL;
}

/*
 * Whether `rel` is a regular file the walk's batches created: their
 * records are gone, but the (device, inode) of every file created is kept
 * (the first `known` sorted), and the name is looked up beneath the target
 * without following a symlink.
 */
static bool restored_here(rs *r, const char *rel, size_t known)
{
	const char *name;
	struct stat st;
	rs_inode key;
	int dfd, rc;

	if ((dfd = kura_restore__open_parent(r, rel, &name)) < 0)
		return false;
	rc = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW);
	close(dfd);
	if (rc < 0 || !S_ISREG(st.st_mode))
		return false;
	key.dev = st.st_dev;
	key.ino = st.st_ino;
	return known && bsearch(&key, r->inodes, known, sizeof(key), inode_cmp) != NULL;
}

void kura_restore__sort_inodes(rs *r, size_t known)
{
	if (known)
		qsort(r->inodes, known, sizeof(*r->inodes), inode_cmp);
}

const char *kura_restore__link_first(rs *r, const rs_link *l, size_t known)
{
	const char *t = link_source(r, l);

	return t && restored_here(r, t, known) ? t : NULL;
}
