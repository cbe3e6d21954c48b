/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restcontent.c - step (b) of kura_restore: the content of a batch.
 * Every blob of the batch is looked up; the plan is sorted by (pack,
 * offset in pack), cut into jobs of one span of one pack each, and handed
 * in pack order to the pool.  A worker reads its span once, decodes each
 * blob once and pwrites it to every place that uses it; the worker that
 * first writes to a file creates it (RS_NEW -> RS_CREATING -> RS_CREATED
 * or RS_NOFILE), the one that writes its last chunk applies its metadata
 * through the fd it holds.  A span is allocated only by the worker running
 * its job, and the submitting loop waits while 3 * threads jobs are
 * pending, so memory stays bounded.  On a remote store (the backend's
 * read_parallel) a pool of that many read threads fetches the spans and
 * hands them to the workers, so requests stay in flight while the CPUs
 * decode; the spans in flight are then also bounded by RS_REMOTE_BYTES.  Workers never say anything: they
 * queue their messages (queue_msg), and the calling thread says them
 * before the batch they name is freed (drain_messages).
 */
#include "repo/restshared.h"

/* -------------------------------------------------------------------- */
/* (b) Content: workers read pack spans and write blobs                 */

/*
 * Queue a message about `rel` for the calling thread, which says it in
 * drain_messages; `partial`: a failed file's written part is kept as
 * REL.kura-partial.  The message holds its own copy of rel.
 */
static void queue_msg(rs *r, int kind, const char *rel, bool partial, const char *fmt, va_list ap)
{
	char text[1024];

	vsnprintf(text, sizeof(text), fmt, ap);
	/* out of memory: the caller has counted it; only its message is lost */
	kura_msgqueue_add(&r->msgs, kind | (partial ? RS_PARTIAL : 0), NULL,
			  rel ? rel : "(a path too long to say: out of memory)", text);
}

/*
 * Mark a file failed (once) and keep why: it is said with what became of
 * the file (fail_file), when its batch's metadata is applied.  Any thread.
 */
__attribute__((format(printf, 3, 4))) void kura_restore__file_failed(rs *r, uint32_t file,
								     const char *fmt, ...)
{
	va_list ap;

	if (atomic_exchange(&r->files[file].failed, true))
		return;
	atomic_fetch_add(&r->errors, 1);
	va_start(ap, fmt);
	if (vasprintf(&r->files[file].reason, fmt, ap) < 0)
		r->files[file].reason = NULL; /* said as "could not be restored" */
	va_end(ap);
}

__attribute__((format(printf, 5, 6))) void
kura_restore__queue_say(rs *r, int kind, const char *rel, bool partial, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	queue_msg(r, kind, rel, partial, fmt, ap);
	va_end(ap);
}

/* The file's name is taken in the target: left alone, counted apart.  Any thread. */
void kura_restore__file_exists(rs *r, uint32_t file)
{
	char *rel = kura_restore__file_rel(r, file);

	atomic_fetch_add(&r->existing, 1);
	kura_restore__queue_say(r, RS_EXISTS, rel, false, "already exists: not overwritten");
	free(rel);
}

/* rs_warn for workers: counted at once, said by the calling thread. */
__attribute__((format(printf, 3, 4))) void kura_restore__queue_warn(rs *r, const char *rel,
								    const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&r->warnings, 1);
	va_start(ap, fmt);
	queue_msg(r, RS_WARN, rel, false, fmt, ap);
	va_end(ap);
}

void kura_restore__drain_messages(rs *r)
{
	kura_msglist list;

	kura_msgqueue_take(&r->msgs, &list);
	for (kura_msg *m = list.head; m; m = m->next) {
		char *partial = NULL;

		if ((m->kind & RS_PARTIAL) && asprintf(&partial, "%s.kura-partial", m->text) < 0)
			partial = NULL;
		kura_restore__tell(r, m->kind & ~RS_PARTIAL, m->text, m->text + m->second, partial);
		free(partial);
	}
	kura_msglist_free(&list);
}

typedef struct {
	uint32_t file;
	int fd; /* -1: none yet, or the file could not be opened */
	bool valid;
	struct stat st; /* of fd, taken when it was opened */
	rs_cursor dirs; /* the directories of the job's files */
} fd_cache;

/* An fd of dirs[dir] (the target for SIZE_MAX), borrowed from the cache; -errno. */
static int dir_fd(rs *r, size_t dir, fd_cache *c)
{
	return kura_restore__cursor_fd(r, &c->dirs, dir);
}

static int open_for_write(rs *r, uint32_t file, fd_cache *c)
{
	rs_file *f = &r->files[file];
	struct stat st;
	int fd, dfd;

	if (c->valid && c->file == file)
		return c->fd;
	if (c->valid && c->fd >= 0)
		close(c->fd);
	c->valid = true;
	c->file = file;
	c->fd = -1;
	for (;;) {
		int state = RS_NEW;

		if (atomic_compare_exchange_strong(&f->state, &state, RS_CREATING)) {
			if ((dfd = dir_fd(r, f->dir, c)) < 0) {
				kura_restore__file_failed(r, file, "cannot open its directory: %s",
							  strerror(-dfd));
				atomic_store(&f->state, RS_NOFILE);
				return -1;
			}
			return c->fd = kura_restore__create_now(r, dfd, file, &c->st);
		}
		if (state == RS_NOFILE)
			return -1;
		if (state == RS_CREATED)
			break;
		sched_yield(); /* another worker is creating it: a few microseconds */
	}
	/* Created by another worker: reopen it, and make sure it is still ours. */
	if ((dfd = dir_fd(r, f->dir, c)) < 0 ||
	    (fd = openat(dfd, RS_FNAME(f), O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		kura_restore__file_failed(r, file, "cannot open to write: %s",
					  strerror(dfd < 0 ? -dfd : errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != f->dev ||
	    st.st_ino != f->ino) {
		kura_restore__file_failed(r, file,
					  "was replaced by something else during the restore: not "
					  "written");
		close(fd);
		return -1;
	}
	c->st = st;
	return c->fd = fd;
}

static void write_use(rs *r, const rs_use *u, const uint8_t *data, fd_cache *c)
{
	rs_file *f = &r->files[u->file];
	size_t done = 0;
	int fd;

	/* A file with a missing chunk still gets the others: kept as NAME.kura-partial. */
	if (atomic_load(&f->discard) || (fd = open_for_write(r, u->file, c)) < 0)
		return;
	while (done < u->len) {
		ssize_t n = pwrite(fd, data + done, u->len - done, (off_t)(u->off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : 0;

			kura_restore__target_failed(r, e ? e : EIO);
			/* Give the space back now (the fd is ours): the other files may fit. */
			atomic_store(&f->discard, true);
			if (ftruncate(fd, 0) < 0) {
				/* removed in (c) all the same */
			}
			kura_restore__file_failed(r, u->file, "write at offset %llu failed: %s",
						  (unsigned long long)(u->off + done),
						  e ? strerror(e) : "no progress");
			return;
		}
		done += (size_t)n;
	}
	atomic_fetch_add(&f->written, u->len);
	atomic_fetch_add(&r->bytes_done, u->len);
	/*
	 * Start writing back now what is written (asynchronously: WRITE
	 * without WAIT), so that the disk works while we decode and a final
	 * sync, which a restore is usually followed by, has little left.
	 */
	if (f->node.size >= RS_FLUSH_BIG)
		kura_writeback_add(r->wb, fd, u->off, u->len);
	if (atomic_fetch_sub(&f->remaining, 1) != 1 || atomic_load(&f->failed))
		return;
	/*
	 * The last chunk is written: the fd we hold is the file's (checked by
	 * device and inode), so its metadata goes on through it now rather
	 * than by name in phase (c).
	 */
	atomic_fetch_add(&r->files_done, 1);
	if (kura_fsmeta_apply_fd(fd, &c->st, &f->node, r->opts->numeric_owner, f->strip_acls) < 0) {
		char *rel = kura_restore__file_rel(r, u->file);

		kura_restore__queue_warn(r, rel, "%s", kura_error_message());
		free(rel);
	}
	atomic_store(&f->meta_done, true);
	if (f->node.size >= RS_FLUSH_FILE && f->node.size < RS_FLUSH_BIG)
		kura_writeback_add(r->wb, fd, 0, f->node.size);
}

/* Read the job's span: job->span, or job->err. */
static void span_read(rs *r, rs_job *job)
{
	if (!(job->span = malloc(job->len)))
		job->err = kura_error_set(KURA_ENOMEM, "out of memory for %zu bytes of pack %s",
					  job->len, job->pack);
	else
		job->err = r->repo->backend->get_range(r->repo->backend, KURA_FILE_PACK, job->pack,
						       job->start, job->len, job->span);
}

/*
 * Whether blob loc->id has a location stored on its own besides loc: when
 * the reference of loc (stored against it) cannot be read, that one may
 * still be.
 */
static bool alone_elsewhere(kura_repo *repo, const kura_blob_loc *loc)
{
	const kura_blob_loc *alts;
	kura_blob_loc entry;
	bool found = false;
	size_t n;

	pthread_mutex_lock(&repo->lock);
	if (repo->index && kura_idmap_get(&entry, repo->index, loc->id) &&
	    entry.pack != KURA_PACK_PENDING && !(entry.flags & KURA_BLOB_FLAG_REF) &&
	    !(entry.pack == loc->pack && entry.offset == loc->offset))
		found = true;
	n = kura_repo__alts(repo, loc->id, &alts);
	for (size_t i = 0; i < n && !found; i++)
		found = !(alts[i].flags & KURA_BLOB_FLAG_REF) &&
			!(alts[i].pack == loc->pack && alts[i].offset == loc->offset);
	pthread_mutex_unlock(&repo->lock);
	return found;
}

/* Decode the blobs of a read span and write them where they are used; frees the job. */
static void job_decode(void *arg, void *ctx)
{
	rs_job *job = arg;
	rs *r = ctx;
	fd_cache cache = {.fd = -1, .dirs = {.dir = SIZE_MAX, .fd = -1}};
	uint8_t *span = job->span, *plain = NULL;
	int err = job->err;

	for (size_t k = job->first; k < job->end; k++) {
		const rs_use *u = &r->uses[k];

		/* the same blob as the last use (a lying index may put two ids at one offset) */
		if (k == job->first || u->loc.offset != r->uses[k - 1].loc.offset ||
		    memcmp(u->loc.id, r->uses[k - 1].loc.id, KURA_HASH_SIZE) != 0) {
			size_t len = 0;
			bool ref_failed = false;

			free(plain);
			plain = NULL;
			/*
			 * Index entries are hints: a blob not where it should be is
			 * looked for.  When the span could not be read (a lying record
			 * of another id may reach past the pack's end), this blob's
			 * own location was not tried: it stays a candidate.  A blob
			 * whose reference (the blob it is stored against) failed is
			 * intact here: unless it is also stored on its own elsewhere,
			 * its files fail with the reference named, and its pack is not
			 * looked past as if it were damaged.
			 */
			if ((err < 0 || kura_repo__decode_blob_noting(
					    r->repo, &u->loc, span + (u->loc.offset - job->start),
					    &plain, &ref_failed) < 0) &&
			    (!ref_failed || alone_elsewhere(r->repo, &u->loc)) &&
			    (kura_repo__read_blob_any(r->repo, u->loc.id, err < 0 ? NULL : &u->loc,
						      &plain, &len, NULL) < 0 ||
			     len != u->len)) {
				if (plain)
					kura_error_set(KURA_ECORRUPT, "blob has %zu bytes, not %u",
						       len, u->len);
				free(plain);
				plain = NULL;
			}
		}
		if (!plain)
			kura_restore__file_failed(r, u->file, "pack %s, offset %u: %s", job->pack,
						  u->loc.offset, kura_error_message());
		else
			write_use(r, u, plain, &cache);
	}
	free(plain);
	free(span);
	if (cache.valid && cache.fd >= 0)
		close(cache.fd);
	kura_restore__cursor_free(&cache.dirs);
	pthread_mutex_lock(&r->lock);
	r->jobs_pending--;
	r->span_bytes -= job->len;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	free(job);
}

/* A local disk: the worker reads its span and decodes it. */
static void job_run(void *arg, void *ctx)
{
	span_read(ctx, arg);
	job_decode(arg, ctx);
}

/*
 * A remote store: a read thread waits for the span, then hands it to the
 * decoding workers (blocking while their queue is full), so requests stay
 * in flight while the CPUs decode.
 */
static void job_read(void *arg, void *ctx)
{
	rs *r = ctx;

	span_read(r, arg);
	if (kura_pool_add(r->decode_pool, job_decode, arg, r) < 0)
		job_decode(arg, r); /* cannot happen on a live pool; decoded here all the same */
}

static int use_cmp(const void *a, const void *b)
{
	const rs_use *x = a, *y = b;
	int c;

	if (x->loc.pack != y->loc.pack)
		return x->loc.pack < y->loc.pack ? -1 : 1;
	if (x->loc.offset != y->loc.offset)
		return x->loc.offset < y->loc.offset ? -1 : 1;
	if ((c = memcmp(x->loc.id, y->loc.id, KURA_HASH_SIZE)) != 0)
		return c; /* one offset, two ids: only a lying index does that */
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Find every blob; a blob that is missing or does not fit fails its files. */
static void lookup_all(rs *r)
{
	for (size_t i = 0; i < r->nuses; i++) {
		rs_use *u = &r->uses[i];
		kura_blob_loc loc;

		if (atomic_load(&r->files[u->file].discard)) {
			u->loc.pack = KURA_PACK_PENDING;
			continue;
		}
		/* a location whose type or size does not fit is a lie: look for another */
		if (kura_repo__lookup_fit(r->repo, u->loc.id, KURA_BLOB_DATA, u->len, &loc) < 0) {
			kura_restore__file_failed(
			    r, u->file,
			    "content missing from the repository (no pack holds "
			    "it): %s",
			    kura_error_message());
			u->loc.pack = KURA_PACK_PENDING;
		} else {
			u->loc = loc;
		}
		if ((i & 0xfff) == 0) {
			kura_restore__drain_messages(r);
			kura_restore__progress(r, false);
		}
	}
}

/*
 * Wait until at most `below` jobs are pending and, when `want` (bytes of
 * a span about to be queued) is not 0, the spans in flight leave room for
 * it under RS_REMOTE_BYTES (or none is in flight).
 */
static void wait_room(rs *r, size_t below, size_t want)
{
	pthread_mutex_lock(&r->lock);
	while (r->jobs_pending > below ||
	       (want && r->jobs_pending && r->span_bytes + want > RS_REMOTE_BYTES)) {
		struct timespec ts;

		if (r->doomed_next < r->ndoomed) {
			/* --delete's removals, while the workers write: a few, then look again */
			pthread_mutex_unlock(&r->lock);
			kura_restore__remove_doomed(r, RS_DOOMED_STEP);
			kura_restore__progress(r, false);
			pthread_mutex_lock(&r->lock);
			continue;
		}

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += RS_PROGRESS_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->cond, &r->lock, &ts);
		pthread_mutex_unlock(&r->lock);
		kura_restore__drain_messages(r);
		kura_restore__progress(r, false);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
}

void kura_restore__wait_jobs(rs *r, size_t below)
{
	wait_room(r, below, 0);
}

int kura_restore__threads(const rs *r)
{
	return r->opts->threads > 0 ? r->opts->threads : kura_cpu_count();
}

/*
 * Read and write the content of the batch's files on `pool`; returns when
 * all is written.  On a remote store (backend read_parallel) the spans
 * are read by a pool of their own, that many requests in flight, and
 * `pool` only decodes and writes; memory: at most RS_REMOTE_BYTES of
 * spans (or one span, RS_SPAN_MAX at most) in flight.
 */
int kura_restore__content(rs *r, kura_pool *pool)
{
	int threads = kura_restore__threads(r), err = 0;
	unsigned parallel = r->repo->backend->read_parallel;
	size_t i = 0, queue = (size_t)threads * 2;
	uint64_t gap = parallel ? RS_SPAN_GAP_REMOTE : RS_SPAN_GAP;
	kura_pool *readers = NULL;

	if (parallel && (err = kura_pool_new(&readers, (int)parallel, parallel)) < 0)
		return err;
	if (readers) {
		/* the readers' jobs and the decoders' queue and hands are all pending */
		queue = parallel * 2 + (size_t)threads * 2;
		r->decode_pool = pool;
	}
	lookup_all(r);
	if (r->nuses)
		qsort(r->uses, r->nuses, sizeof(*r->uses), use_cmp);
	while (i < r->nuses && r->uses[i].loc.pack != KURA_PACK_PENDING) {
		uint32_t pack = r->uses[i].loc.pack;
		uint64_t start = r->uses[i].loc.offset;
		uint64_t end = start + r->uses[i].loc.stored_len;
		size_t j = i + 1;
		rs_job *job;

		for (; j < r->nuses && r->uses[j].loc.pack == pack; j++) {
			const kura_blob_loc *l = &r->uses[j].loc;
			uint64_t e = (uint64_t)l->offset + l->stored_len;

			/*
			 * No shortcut for a repeated offset: a lying index may put a
			 * longer blob there, and the span must hold it too.
			 */
			if (l->offset > end + gap || e - start > RS_SPAN_MAX)
				break;
			if (e > end)
				end = e;
		}
		if (!(job = calloc(1, sizeof(*job)))) {
			err = kura_error_set(KURA_ENOMEM, "restore: out of memory");
			break;
		}
		job->first = i;
		job->end = j;
		job->start = start;
		job->len = (size_t)(end - start);
		pthread_mutex_lock(&r->repo->lock);
		if (pack < r->repo->npacks)
			kura_hex(job->pack, r->repo->packs[pack], KURA_HASH_SIZE);
		pthread_mutex_unlock(&r->repo->lock);
		/* Wait here rather than in kura_pool_add so progress keeps flowing. */
		wait_room(r, queue + (size_t)threads - 1, readers ? job->len : 0);
		pthread_mutex_lock(&r->lock);
		r->jobs_pending++;
		r->span_bytes += job->len;
		pthread_mutex_unlock(&r->lock);
		kura_pool_add(readers ? readers : pool, readers ? job_read : job_run, job, r);
		i = j;
		kura_restore__progress(r, false);
	}
	kura_restore__wait_jobs(r, 0);
	kura_pool_free(readers);
	r->decode_pool = NULL;
	kura_restore__drain_messages(r);
	return err;
}
