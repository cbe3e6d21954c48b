/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restorer.c - kura_restore: write a snapshot (or part of it) below a
 * target directory, reading packs in order and writing files in parallel.
 *
 * Staying inside the target.  The target is opened once with open()
 * (created with mkdir -p, mode 0700, if missing); the user chose that
 * path, so symlinks in it are followed.  From then on nothing is opened by
 * an absolute path: directories are opened with openat(..., O_NOFOLLOW |
 * O_DIRECTORY) relative to their parent's fd, and reached again later from
 * an open one, by ".." and single names, their (device, inode) checked
 * (restdirs.c: a directory is its parent and name, no path is kept); the
 * first names of hard links are resolved from the target fd with openat2()
 * and RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS (or, on
 * a kernel without openat2, one component at a time with O_NOFOLLOW).  Every
 * name comes from a decoded tree and is checked again with
 * kura_tree_name_ok.  So a symlink planted in the target is never
 * followed: where a directory should be it makes that subtree fail with a
 * warning, where a file should be O_CREAT | O_EXCL fails with a warning.
 * Nothing the user had is unlinked or overwritten (unless restoring in
 * place: restplan.c, restdelete.c, restdry.c): an existing file is
 * left alone with a warning.  A file is created by us with O_EXCL and its
 * (device, inode) recorded; when it is reopened to write content or apply
 * metadata the pair is checked, so a file swapped in during the restore is
 * not written through.
 *
 * Order and parallelism.  (a) One walk over the selected trees creates the
 * directories and special files, records each regular file with a plan
 * entry per chunk extent: (blob, file, offset), and creates at once only
 * the files without content (empty, or all holes), applying their
 * metadata through the creating fd.  Whenever kura_restore__batch_files
 * files or kura_restore__batch_chunks plan entries are recorded (a file is
 * never split between batches), the walk pauses and that batch is
 * restored by (b) and the first half of (c), and its records are freed:
 * memory stays bounded however many files the snapshot has.  What is kept
 * until the end is small per file: the (device, inode) of each file
 * created (16 bytes, to decide hard links), and the directories and hard
 * links with their nodes.  (b) Every blob of the batch is looked up; the
 * plan is sorted by (pack, offset in pack), cut into jobs that each cover
 * one span of one pack (at most RS_SPAN_MAX bytes, or one blob if that is
 * larger), and handed in pack order to a kura_pool of `threads` workers.
 * A worker reads its span with get_range, decodes each blob once and
 * pwrites it to every place that uses it, so reads are large and in order
 * and files are written out of order.  (A chunk used by files of two
 * batches is read and decoded once per batch.)  The worker that first
 * writes to a file creates it (O_CREAT | O_EXCL | O_NOFOLLOW in its directory, opened
 * beneath the target; truncated to its size only if it ends in a hole),
 * so creation runs on all workers and the file is not opened twice; a
 * worker needing a file another is creating waits for it (state RS_NEW ->
 * RS_CREATING -> RS_CREATED or RS_NOFILE).  The worker that writes a
 * file's last chunk applies its metadata through the fd it holds (no name
 * is resolved again) and hands it to the write-behind queue (writeback.h;
 * per chunk for big files): written back at once without waiting, and
 * dropped from the page cache once 64 MiB more wait, so that the disk
 * works during the restore, warm page frames are reused, and a final sync
 * has little left.  Memory is bounded: a span is
 * allocated only by the worker running its job, and a job holds one span
 * and one decoded blob, so at most `threads` spans exist at once; the
 * submitting loop waits while 3 * threads jobs (a few dozen bytes each)
 * are pending.  On a store reached over a network (the backend's
 * read_parallel: S3, a vault) each read waits a round trip, so spans are
 * read by that many threads of their own and handed to the workers, with
 * at most RS_REMOTE_BYTES of spans in flight, and the trees are read
 * ahead before the walk (treeahead.h).  The plan is about 64 bytes per
 * chunk of the batch.
 * Progress is reported from the calling thread only, at most four times a
 * second, and so are warnings: workers
 * queue their messages, which are said before the batch they name is
 * freed.  Since batches start before the walk has counted everything,
 * the totals reported are the snapshot's statistics until it has (a whole
 * snapshot), or grow as the walk goes on (a part of one).
 * (c) Metadata is applied to the batch's files not finished in (b) (their
 * content failed; one no worker reached is created here, as planned), on
 * the same pool, in contiguous ranges (each opens the directories of its
 * range), before the batch's records go.  After the last batch, hard
 * links are decided: one whose first name is a regular file this restore
 * created (looked up beneath the target, its (device, inode) among those
 * kept) is linked to it, any other is restored as a copy of its content in
 * one more batch (its node carries the content).  Then the links are
 * made, and finally metadata is applied to directories, deepest first, so
 * that writing into a directory never changes its restored mtime and a
 * read-only directory is made read-only only after it has been filled:
 * one depth at a time on a pool, each depth finished before the next
 * shallower one starts.
 * Workers queue their warnings like the content workers.
 *
 * Anything of the snapshot that is not restored (missing or corrupt blobs,
 * write errors, a link that cannot be made) is an error: it is reported
 * with its cause (opts->problem), everything else is still restored, and
 * kura_restore returns KURA_ECORRUPT, so a restore drill never counts a
 * partial restore as a success.  A file that failed is never left under
 * its name looking complete: a worker keeps writing its other chunks, and
 * in (c) it is renamed NAME.kura-partial if some came from the repository,
 * else removed (fail_file); it gets none of its metadata and is not a first
 * name for hard links.  A name already taken in the target (the object in
 * the way, a planted symlink where a directory goes) is no damage: it is
 * left alone, counted apart and reported as existing, and kura_restore
 * returns KURA_EEXISTS if nothing failed.  Failures to apply metadata are
 * warnings.
 *
 * The parts: this file holds kura_restore and the walk (a); restbatch.c
 * the batches; restpath.c the paths beneath the target; restdirs.c the directories as
 * parent and name, and the cursor that reaches them; restcontent.c the content
 * (b); restmeta.c hard links and metadata (c); restshared.h what they
 * share; restpick.h the walk over several snapshots, file by file.
 */
#include "repo/restorer.h"
#include "repo/restshared.h"



/* -------------------------------------------------------------------- */
/* Small helpers                                                         */

static double elapsed(const rs *r)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)(ts.tv_sec - r->start.tv_sec) + (ts.tv_nsec - r->start.tv_nsec) / 1e9;
}

/*
 * Tell the caller about `rel` (below the target) and, for a failed file,
 * the `partial` name its written part is kept under; from the calling
 * thread only.  Failed and existing paths go to opts->problem if set.
 */
void kura_restore__tell(rs *r, int kind, const char *rel, const char *text, const char *partial)
{
	char *path = NULL, *ppath = NULL, *msg = NULL;
	kura_restore_problem p;

	/* made here, at full length: a deep path is said whole, and kept nowhere */
	if (asprintf(&path, "%s%s%s", r->opts->target, *rel ? "/" : "", rel) < 0)
		path = NULL;
	if (partial && asprintf(&ppath, "%s/%s", r->opts->target, partial) < 0)
		ppath = NULL;
	if (!path || (partial && !ppath)) {
		free(path);
		free(ppath);
		return; /* out of memory: counted by the caller, only not said */
	}
	if (kind != RS_WARN && r->opts->problem) {
		p.path = path;
		p.error = text;
		p.partial = partial ? ppath : NULL;
		p.exists = kind == RS_EXISTS;
		r->opts->problem(&p, r->opts->problem_ctx);
	} else if (r->opts->warning) {
		if (partial && asprintf(&msg, "%s; what was restored of it is in %s", text, ppath) < 0)
			msg = NULL;
		r->opts->warning(path, msg ? msg : text, r->opts->warning_ctx);
	}
	free(path);
	free(ppath);
	free(msg);
}

__attribute__((format(printf, 4, 5))) void kura_restore__say(rs *r, int kind, const char *rel,
							  const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kura_restore__tell(r, kind, rel, msg, NULL);
}

void kura_restore__progress(rs *r, bool force)
{
	kura_progress p;
	int64_t now;

	if (!r->opts->progress)
		return;
	now = kura_now_ns(CLOCK_MONOTONIC);
	if (!force && now - r->last_progress < RS_PROGRESS_NS)
		return;
	r->last_progress = now;
	p.files_done = atomic_load(&r->files_done);
	p.files_total = r->files_total > r->files_hint ? r->files_total : r->files_hint;
	p.bytes_done = atomic_load(&r->bytes_done);
	p.bytes_total = r->bytes_total > r->bytes_hint ? r->bytes_total : r->bytes_hint;
	p.elapsed = elapsed(r);
	p.current = NULL;
	r->opts->progress(&p, r->opts->progress_ctx);
}

/* Take a node out of its tree, leaving an empty node behind for kura_tree_free. */
static void node_move(kura_node *dst, kura_node *src)
{
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

static bool included(const rs *r, const char *snap)
{
	if (r->pick)
		return r->pick(r->pick_ctx, r->pick_snap, snap);
	for (size_t i = 0; i < r->opts->nincludes; i++)
		if (fnmatch(r->opts->includes[i], snap, 0) == 0)
			return true;
	return false;
}

/* -------------------------------------------------------------------- */
/* (a) The walk: create everything but content, and plan the content    */

static int frame_fd(rs *r, rs_frame *f);

/*
 * Remember why writing into the target failed (a full or read-only file
 * system...): that, not damage in the repository, is then what the restore
 * reports.  Any thread.
 */
void kura_restore__target_failed(rs *r, int e)
{
	int none = 0;

	atomic_compare_exchange_strong(&r->target_errno, &none, e ? e : EIO);
}

/* Create the directory of frame f (and any missing parents). 0, 1 if skipped, or < 0. */
static int frame_ensure(rs *r, rs_frame *f)
{
	rs_frame *p = f->parent;
	struct stat st;
	int err, fd;

	if (f->skipped)
		return 1;
	if (f->created)
		return 0;
	if ((err = frame_fd(r, p)) != 0) {
		f->skipped = true;
		return err;
	}
	/* in place: what is in the way goes */
	kura_restore__dir_plan(r, p->fd, p->node ? p->dir : SIZE_MAX, f->node);
	if ((err = kura_fsmeta_create(p->fd, f->node)) < 0) {
		if (err == KURA_EEXISTS) {
			exists_at(r, f, NULL, "already exists and is not a directory: not replaced, "
				  "its contents are not restored");
		} else {
			if (err == KURA_EIO || err == KURA_EDENIED)
				kura_restore__target_failed(r, errno); /* mkdir's: setting the message keeps errno */
			fail_at(r, f, NULL, "cannot create directory, skipping its contents: %s",
				kura_error_message());
		}
		f->skipped = true;
		return 1;
	}
	fd = openat(p->fd, f->node->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fail_at(r, f, NULL, "%s, skipping its contents",
			errno == ELOOP || errno == ENOTDIR ? "something that is not a directory (a "
							     "symlink?) is in the way"
							   : strerror(errno));
		if (fd >= 0)
			close(fd);
		f->skipped = true;
		return 1;
	}
	if ((err = KURA_ARRAY_GROW(r->dirs, r->dirs_cap, r->ndirs + 1)) < 0) {
		close(fd);
		return err;
	}
	/* parent and name, no path: a deep chain's paths add up to the square of its depth */
	memset(&r->dirs[r->ndirs], 0, sizeof(rs_dir));
	r->dirs[r->ndirs].parent = p->node ? p->dir : SIZE_MAX;
	r->dirs[r->ndirs].name = f->node->name;
	r->dirs[r->ndirs].depth = f->depth;
	r->dirs[r->ndirs].dev = st.st_dev;
	r->dirs[r->ndirs].ino = st.st_ino;
	f->dir = r->ndirs++;
	f->created = true;
	f->fd = fd;
	r->res->dirs++;
	/* Keep few fds open however deep the tree: the parent is reopened when needed. */
	if (p->node && p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	return 0;
}

/* Make f->fd an open fd of f's directory (creating it if needed). 0, 1 if skipped, or < 0. */
static int frame_fd(rs *r, rs_frame *f)
{
	int err;

	if (!f->created && (err = frame_ensure(r, f)) != 0)
		return err;
	if (f->skipped)
		return 1;
	if (f->fd >= 0)
		return 0;
	if ((f->fd = kura_restore__frame_reopen(r, f)) < 0) {
		fail_at(r, f, NULL, "cannot reopen directory, skipping the rest of it: %s",
			strerror(-f->fd));
		f->fd = -1;
		f->skipped = true;
		return 1;
	}
	return 0;
}

/* Record a file (not created yet) and plan its content; takes the node. */
static int add_file(rs *r, kura_node *n, size_t dir, bool strip_acls)
{
	uint64_t off = 0, chunks = 0, data_end = 0;
	rs_file *f;
	size_t idx = r->nfiles;
	int err;

	if ((err = KURA_ARRAY_GROW(r->files, r->files_cap, r->nfiles + 1)) < 0)
		return err;
	f = &r->files[idx];
	memset(f, 0, sizeof(*f));
	node_move(&f->node, n);
	f->dir = dir;
	f->strip_acls = strip_acls;
	r->nfiles++;
	for (uint32_t i = 0; i < f->node.nextents; i++) {
		const kura_extent *e = &f->node.extents[i];

		if (e->kind == KURA_EXTENT_CHUNK) {
			rs_use *u;

			if (e->len > KURA_BLOB_MAX_RAW)
				break; /* caught by the size check below */
			if ((err = KURA_ARRAY_GROW(r->uses, r->uses_cap, r->nuses + 1)) < 0)
				return err;
			u = &r->uses[r->nuses++];
			memset(u, 0, sizeof(*u));
			memcpy(u->loc.id, e->id, KURA_HASH_SIZE);
			u->file = (uint32_t)idx;
			u->len = (uint32_t)e->len;
			u->off = off;
			/* out of memory: this reference is not read ahead, only fetched */
			if (e->has_ref && r->repo->backend->read_parallel &&
			    KURA_ARRAY_GROW(r->refs, r->refs_cap, r->nrefs + 1) == 0) {
				memcpy(r->refs[r->nrefs++], e->ref, KURA_HASH_SIZE);
				r->ref_bytes += e->len;
			}
			chunks++;
			r->bytes_total += e->len;
			data_end = off + e->len;
		}
		off += e->len;
	}
	f->tail_hole = f->node.size > data_end;
	if (off != f->node.size) {
		/* The planned uses stay; they are never written: the tree cannot be trusted. */
		atomic_store(&f->discard, true);
		kura_restore__file_failed(r, (uint32_t)idx, "corrupt tree: extents add up to %llu bytes, not %llu",
			    (unsigned long long)off, (unsigned long long)f->node.size);
	}
	free(f->node.extents);
	f->node.extents = NULL;
	f->node.nextents = 0;
	atomic_store(&f->remaining, chunks);
	r->files_total++;
	if (chunks == 0 && !atomic_load(&f->failed))
		atomic_fetch_add(&r->files_done, 1);
	return 0;
}

/*
 * Create files[i] in dirfd, empty and at its size (holes cost nothing),
 * with O_EXCL so that nothing already there is written through, and
 * record its (device, inode).  Returns the open fd with its fstat in *st,
 * or -1 with the file failed and its message queued.  Any thread.
 */
int kura_restore__create_now(rs *r, int dirfd, size_t i, struct stat *st)
{
	rs_file *f = &r->files[i];
	int fd;

	fd = openat(dirfd, RS_FNAME(f), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		if (errno == EEXIST) {
			kura_restore__file_exists(r, (uint32_t)i);
		} else {
			kura_restore__target_failed(r, errno);
			kura_restore__file_failed(r, (uint32_t)i, "cannot create: %s", strerror(errno));
		}
		atomic_store(&f->state, RS_NOFILE);
		return -1;
	}
	if ((f->tail_hole && ftruncate(fd, (off_t)f->node.size) < 0) || fstat(fd, st) < 0) {
		kura_restore__target_failed(r, errno);
		kura_restore__file_failed(r, (uint32_t)i, "cannot set the size to %llu bytes: %s",
			    (unsigned long long)f->node.size, strerror(errno));
		close(fd);
		atomic_store(&f->state, RS_NOFILE);
		return -1;
	}
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	atomic_store(&f->state, RS_CREATED);
	return fd;
}

/*
 * Record a regular file of directory `dir` (open as dirfd).
 * A file with content is created later by the worker that writes its
 * first chunk (no reopening, and creation runs in parallel); one without
 * (or with `now`) is created here and, when complete, gets its metadata
 * at once through the fd.
 */
static int create_file(rs *r, int dirfd, size_t dir, kura_node *n, bool strip_acls, bool now)
{
	size_t idx = r->nfiles;
	struct stat st;
	char *tmp = NULL;
	rs_file *f;
	int fd, err;

	/* In place: kept or left as it is (1), or written as tmp and renamed over. */
	if (r->inplace && (err = kura_restore__plan_file(r, dirfd, dir, n, &tmp)) != 0)
		return err < 0 ? err : 0;
	if ((err = add_file(r, n, dir, strip_acls)) < 0) {
		free(tmp);
		return err;
	}
	f = &r->files[idx];
	f->tmp = tmp;
	/* A file that failed already is not created at all. */
	if (atomic_load(&f->failed) || (!now && atomic_load(&f->remaining) > 0))
		return 0;
	if ((fd = kura_restore__create_now(r, dirfd, idx, &st)) < 0)
		return 0;
	if (atomic_load(&f->remaining) == 0) {
		if (kura_fsmeta_apply_fd(fd, &st, &f->node, r->opts->numeric_owner, strip_acls) < 0) {
			char *rel = kura_restore__file_rel(r, idx);

			rs_warn(r, rel ? rel : f->node.name, "%s", kura_error_message());
			free(rel);
		}
		atomic_store(&f->meta_done, true);
	}
	close(fd);
	return 0;
}

/* Everything that is not a directory. */
static int restore_leaf(rs *r, rs_frame *f, kura_node *n)
{
	int err;

	if ((err = frame_fd(r, f)) != 0)
		return err < 0 ? err : 0;
	switch (n->type) {
	case KURA_NODE_FILE:
		if (f->inherit < 0)
			f->inherit = kura_fsmeta_may_inherit(f->fd);
		return create_file(r, f->fd, f->node ? f->dir : SIZE_MAX, n, f->inherit, false);
	case KURA_NODE_HARDLINK:
		/* Decided after the walk, once we know whether the first name is restored. */
		if ((err = KURA_ARRAY_GROW(r->links, r->links_cap, r->nlinks + 1)) < 0)
			return err;
		r->links[r->nlinks].dir = f->node ? f->dir : SIZE_MAX;
		r->links[r->nlinks].from = NULL;
		node_move(&r->links[r->nlinks++].node, n);
		return 0;
	default:
		if (r->inplace)
			return kura_restore__other(r, f->fd, f->node ? f->dir : SIZE_MAX, n);
		/* Nothing is written into these later, so their metadata can go on now. */
		if ((err = kura_fsmeta_create(f->fd, n)) == KURA_EEXISTS) {
			exists_at(r, f, n->name, "already exists: not overwritten");
		} else if (err < 0) {
			fail_at(r, f, n->name, "cannot create: %s", kura_error_message());
		} else {
			r->res->others++;
			if (kura_fsmeta_apply(f->fd, n, r->opts->numeric_owner) < 0)
				warn_at(r, f, n->name, "%s", kura_error_message());
		}
		return 0;
	}
}

/*
 * One directory of the walk: its frame and where the walk is in its
 * nodes.  Levels are on the heap, linked by `up` (frames point to their
 * parent's), so the walk needs no stack however deep the snapshot.
 */
typedef struct rs_level {
	rs_frame f;
	kura_tree *tree;                /* its listing; NULL where the walk starts (borrowed nodes) */
	kura_node *nodes;
	size_t count, i;
	int pass;                       /* 0: all but directories, 1: directories */
	struct rs_level *up;
} rs_level;

static void level_leave(rs *r, rs_level *l)
{
	rs_frame *up = l->f.parent;

	if (l->f.fd >= 0) {
		/* A parent with more to enter gets its fd back by "..": by name it would cost its depth. */
		if (up->node && up->created && !up->skipped && up->fd < 0 && l->up->i < l->up->count) {
			int fd = openat(l->f.fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			struct stat st;

			if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == r->dirs[up->dir].dev &&
			    st.st_ino == r->dirs[up->dir].ino)
				up->fd = fd;
			else if (fd >= 0)
				close(fd); /* moved: frame_reopen finds it by name, or says so */
		}
		close(l->f.fd);
	}
	if (l->f.created)
		node_move(&r->dirs[l->f.dir].node, l->f.node);
	kura_tree_free(l->tree);
	free(l);
}

/*
 * The snapshot path of `name` in frame f's directory (malloc'd), made when
 * it is needed rather than kept per directory: the paths of a deep chain
 * add up to the square of its depth.
 */
static char *snap_path(const rs *r, const rs_frame *f, const char *name)
{
	char *rel = kura_restore__frame_rel(f, name), *s;

	if (!rel || asprintf(&s, "%s/%s", r->root_snap, rel) < 0)
		s = NULL;
	free(rel);
	return s;
}

/* Enter directory n of `up`: its level, or NULL when it is skipped (*err 0, reported) or < 0. */
static rs_level *level_enter(rs *r, rs_level *up, kura_node *n, int *err)
{
	rs_frame *f = &up->f;
	rs_level *l = calloc(1, sizeof(*l));

	*err = 0;
	if (!l) {
		*err = kura_error_set(KURA_ENOMEM, "restore: out of memory");
		return NULL;
	}
	l->f = (rs_frame){f, n, f->depth + 1, false, false, false, -1, -1, 0};
	l->up = up;
	l->f.included = f->included;
	if (!l->f.included) {
		char *snap = snap_path(r, f, n->name);

		if (!snap) {
			*err = kura_error_set(KURA_ENOMEM, "restore: out of memory");
			goto skip;
		}
		l->f.included = included(r, snap);
		free(snap);
	}
	if (l->f.depth > KURA_TREE_MAX_DEPTH) {
		fail_at(r, &l->f, NULL, "directories nested deeper than %d levels: skipped",
			KURA_TREE_MAX_DEPTH);
		goto skip;
	}
	if (l->f.included && (*err = frame_ensure(r, &l->f)) != 0) {
		*err = *err < 0 ? *err : 0;
		goto skip;
	}
	/* Our parent's fd is reopened after the subtree: a deep tree keeps few fds open. */
	if (f->node && f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	if ((*err = kura_repo__load_tree(r->repo, n->subtree, &l->tree)) < 0) {
		if (*err != KURA_ENOMEM) {
			fail_at(r, &l->f, NULL, "cannot read the directory's tree: %s",
				kura_error_message());
			*err = 0;
		}
		goto skip;
	}
	l->nodes = l->tree->nodes;
	l->count = l->tree->count;
	if (l->f.created && (*err = kura_restore__tidy(r, &l->f, l->nodes, l->count)) < 0)
		goto skip;
	return l;
skip:
	level_leave(r, l);
	return NULL;
}

/* Whether the snapshot lists this file as one that changed while it was backed up. */
static bool changed_in_backup(const rs *r, const rs_frame *f, const kura_node *n)
{
	char *snap;
	bool changed;

	if (!r->snap->nchanged || (n->type != KURA_NODE_FILE && n->type != KURA_NODE_HARDLINK))
		return false;
	if (!(snap = snap_path(r, f, n->name)))
		return false;
	changed = kura_snapshot_changed(r->snap, snap);
	free(snap);
	return changed;
}

/*
 * Walk `nodes` of the directory `root` stands for and everything below
 * them: in each directory the files first, then subdirectories, so each
 * directory is opened about once.
 */
static int walk_nodes(rs *r, rs_frame *root, kura_node *nodes, size_t count)
{
	rs_level base = {.f = *root, .nodes = nodes, .count = count}, *l = &base;
	int err = 0;

	while (err == 0) {
		rs_frame *f = &l->f;
		kura_node *n;
		char *snap;
		bool inc;

		if (l->i == l->count && l->pass == 0 && !f->skipped) {
			l->pass = 1;
			l->i = 0;
			continue;
		}
		if (l->i == l->count || f->skipped) {
			rs_level *up = l->up;

			if (l == &base)
				break;
			level_leave(r, l);
			l = up;
			kura_restore__progress(r, false);
			continue;
		}
		n = &l->nodes[l->i++];
		if ((n->type == KURA_NODE_DIR) != (l->pass == 1))
			continue;
		if (kura_tree_name_ok(n->name, strlen(n->name)) < 0) {
			fail_at(r, f, NULL, "refusing a hostile name in the snapshot");
			continue;
		}
		if (l->pass == 1) {
			rs_level *sub = level_enter(r, l, n, &err);

			if (sub)
				l = sub;
			else
				kura_restore__progress(r, false);
			continue;
		}
		if (!(inc = f->included)) {
			if (!(snap = snap_path(r, f, n->name))) {
				err = kura_error_set(KURA_ENOMEM, "restore: out of memory");
				break;
			}
			inc = included(r, snap);
			free(snap);
		}
		if (!inc)
			continue;
		if (changed_in_backup(r, f, n))
			warn_at(r, f, n->name, "changed while it was backed up: restored as stored, "
				"possibly inconsistent");
		if ((err = restore_leaf(r, f, n)) < 0)
			break;
		if (kura_restore__batch_full(r))
			err = kura_restore__run_batch(r);
	}
	while (l != &base) {
		rs_level *up = l->up;

		level_leave(r, l);
		l = up;
	}
	*root = base.f;
	return err;
}

/*
 * Hard links, once every file of the walk is restored: link to the first
 * name if we restored it, else restore the content again (a last batch).
 */
static int resolve_links(rs *r)
{
	size_t known = r->ninodes; /* copies made below are never first names */
	int err = 0;

	if (r->nlinks == 0)
		return 0;
	kura_restore__sort_inodes(r, known);
	for (size_t i = 0; i < r->nlinks; i++) {
		rs_link *l = &r->links[i];
		int fd;

		if ((l->from = kura_restore__link_first(r, l, known)))
			continue;
		if ((fd = kura_restore__cursor_fd(r, &r->cursor, l->dir)) < 0) {
			rs_link_say(r, rs_fail, i, "cannot open its directory: %s", strerror(-fd));
			continue;
		}
		l->node.type = KURA_NODE_FILE;
		err = create_file(r, fd, l->dir, &l->node, kura_fsmeta_may_inherit(fd), true);
		if (err < 0 || (kura_restore__batch_full(r) && (err = kura_restore__run_batch(r)) < 0))
			return err;
	}
	return kura_restore__run_batch(r);
}

/* -------------------------------------------------------------------- */

static void rs_free(rs *r)
{
	for (size_t i = 0; i < r->nfiles; i++) {
		free(r->files[i].reason);
		free(r->files[i].tmp);
		kura_node_clear(&r->files[i].node);
	}
	for (size_t i = 0; i < r->ndirs; i++)
		kura_node_clear(&r->dirs[i].node);
	for (size_t i = 0; i < r->nlinks; i++) {
		kura_node_clear(&r->links[i].node);
	}
	free(r->files);
	free(r->dirs);
	free(r->links);
	free(r->uses);
	free(r->refs);
	free(r->inodes);
	free(r->root_snap);
	kura_tree_free(r->root_tree);
	free(r->dir_order);
	kura_restore__cursor_free(&r->cursor);
	kura_restore__doomed_free(r);
	kura_msgqueue_destroy(&r->msgs);
}

/* Walk what the options select: a whole snapshot, a directory of it, or one node. */
static int restore_walk(rs *r, const kura_snapshot *snap, const char *subpath)
{
	rs_frame root = {NULL, NULL, 0, true, true, false, -1, r->rootfd, 0};
	kura_tree *tree = NULL, *holder = NULL;
	kura_node *node = NULL;
	char *slash;
	int err;

	r->snap = snap;
	if ((err = kura_walk__find(&holder, &node, r->repo, snap->tree, subpath)) < 0)
		return err;
	free(r->root_snap); /* walked before: restpick.h */
	if (!(r->root_snap = strdup(subpath))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (node && node->type != KURA_NODE_DIR) {
		/* One node: it goes into the target under its own name. */
		if ((slash = strrchr(r->root_snap, '/')))
			*slash = '\0';
	}
	root.depth = kura_walk__depth(r->root_snap); /* counted from the snapshot root, as check does */
	if (r->opts->nincludes || r->pick) {
		/* Included if the restore root or any directory above it matches. */
		char *p = r->root_snap;

		root.included = false;
		for (char *s = p; *s && *++s && !root.included;) {
			if (*s != '/')
				continue;
			*s = '\0';
			root.included = included(r, p);
			*s = '/';
		}
		if (*p && !root.included)
			root.included = included(r, p);
	}
	if (node && node->type != KURA_NODE_DIR) {
		err = r->dry_run ? kura_restore__dry_walk(r, &root, node, 1) : walk_nodes(r, &root, node, 1);
		goto done;
	}
	if ((err = kura_restore__trees_ahead(r, node ? node->subtree : snap->tree)) < 0 ||
	    (err = kura_repo__load_tree(r->repo, node ? node->subtree : snap->tree, &tree)) < 0 ||
	    (err = kura_restore__tidy(r, &root, tree->nodes, tree->count)) < 0)
		goto done;
	err = r->dry_run ? kura_restore__dry_walk(r, &root, tree->nodes, tree->count)
			 : walk_nodes(r, &root, tree->nodes, tree->count);
	if (err == 0 && node && r->inplace && !r->dry_run) {
		/* The target is DIR itself: its own metadata goes on at the end. */
		r->root_tree = holder;
		r->root_node = node;
		holder = NULL;
	}
done:
	kura_repo__treeahead_drop(r->repo); /* what the walk did not take */
	kura_tree_free(tree);
	kura_tree_free(holder);
	return err;
}

int kura_restore(kura_repo *repo, const char *snapshot_id, const kura_restore_options *opts,
		 kura_restore_result *out)
{
	return kura_restore__picked(repo, &snapshot_id, 1, NULL, NULL, opts, out);
}

int kura_restore__picked(kura_repo *repo, const char *const *ids, size_t nids,
			 kura_restore__pick_fn pick, void *pick_ctx, const kura_restore_options *opts,
			 kura_restore_result *out)
{
	kura_restore_result res = {0};
	kura_snapshot *snap = NULL;
	pthread_condattr_t attr;
	char *subpath = NULL;
	rs r = {0};
	int err;

	if (out)
		memset(out, 0, sizeof(*out));
	if (opts && opts->version > KURA_RESTORE_OPTIONS_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED,
				      "restore options version %u: this library knows up to %d",
				      opts->version, KURA_RESTORE_OPTIONS_VERSION);
	if (!opts || !opts->target || !*opts->target)
		return kura_error_set(KURA_EINVAL, "restore: no target directory given");
	r.repo = repo;
	r.opts = opts;
	r.res = &res;
	r.rootfd = -1;
	r.pick = pick;
	r.pick_ctx = pick_ctx;
	kura_restore__cursor_init(&r.cursor);
	kura_msgqueue_init(&r.msgs);
	clock_gettime(CLOCK_MONOTONIC, &r.start);
	pthread_mutex_init(&r.lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r.cond, &attr);
	pthread_condattr_destroy(&attr);

	err = nids ? kura_walk__snapshot(&snap, NULL, repo, ids[0], "restoring")
		   : kura_error_set(KURA_EINVAL, "restore: no snapshot");
	if (err < 0)
		goto done;
	if ((err = kura_walk__normalize(&subpath, opts->subpath)) < 0)
		goto done;
	if ((err = kura_repo__load_index(repo)) < 0 || (err = kura_restore__inplace_init(&r)) < 0)
		goto done;
	if ((err = kura_restore__open_target(opts->target, &r.rootfd)) < 0)
		goto done;
	if (!*subpath && !opts->nincludes && !pick) {
		/* Batches start before the walk has counted everything. */
		r.files_hint = snap->files;
		r.bytes_hint = snap->bytes;
	}
	for (; r.pick_snap < nids; r.pick_snap++) {
		if (r.pick_snap) { /* the next snapshot picked from: restpick.h */
			kura_snapshot_free(snap);
			snap = NULL;
			if ((err = kura_walk__snapshot(&snap, NULL, repo, ids[r.pick_snap],
						       "restoring")) < 0)
				goto done;
		}
		if ((err = restore_walk(&r, snap, subpath)) < 0)
			goto done;
	}
	r.files_hint = r.bytes_hint = 0;
	if ((err = kura_restore__run_batch(&r)) < 0 || (err = resolve_links(&r)) < 0)
		goto done;
	kura_restore__make_links(&r);
	kura_restore__apply_dir_meta(&r);
	kura_restore__root_meta(&r);
	kura_restore__progress(&r, true);
done:
	res.errors = atomic_load(&r.errors);
	res.skipped_existing = atomic_load(&r.existing);
	res.seconds = elapsed(&r);
	if (out)
		*out = res;
	if (err == 0 && res.errors && atomic_load(&r.target_errno))
		err = kura_error_set(KURA_EIO,
				     "restore into %s: cannot write: %s; %llu path(s) could not be "
				     "restored completely; everything else was",
				     opts->target, strerror(atomic_load(&r.target_errno)),
				     (unsigned long long)res.errors);
	else if (err == 0 && res.errors)
		err = kura_error_set(KURA_ECORRUPT,
				     "restore into %s: %llu path(s) could not be restored completely; "
				     "everything else was",
				     opts->target, (unsigned long long)res.errors);
	else if (err == 0 && res.skipped_existing)
		err = kura_error_set(KURA_EEXISTS,
				     "restore into %s: %llu path(s) already existed and were left as "
				     "they were; everything else was restored",
				     opts->target, (unsigned long long)res.skipped_existing);
	if (r.rootfd >= 0)
		close(r.rootfd);
	rs_free(&r);
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	kura_snapshot_free(snap);
	free(subpath);
	return err;
}
