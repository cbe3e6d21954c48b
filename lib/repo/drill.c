/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drill.c - restore drills (include/kura/drill.h): pick a snapshot and a
 * sample, restore with the restorer into a scratch directory, check the
 * copy (drillcheck.c), run the operator's verify command, measure, clean
 * up and write the drill record (format/drillrec.c).
 *
 * The sample: a drill of P percent restores every B-th file of the
 * snapshot in walk order, B = floor(100 / P), starting at the drill
 * counter modulo B.  The counter is this repository's, kept in the local
 * cache (drills/REPO_ID) and advanced by every drill, so B successive
 * drills of one snapshot restore every file, and so read every pack the
 * snapshot needs.  Every failure is counted and reported, and a drill
 * that ran writes its record whatever it found: a failed drill is the
 * record that matters most.
 */
#include "kura/drill.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "format/drillrec.h"
#include "kura/keyless.h"
#include "repo/drill_int.h"
#include "repo/filecache.h"
#include "repo/walk.h"

#define DETAILS_NAMES 20       /* failed paths kept in the record's sealed details */
#define DETAILS_LINE_MAX 1024

typedef struct {
	const kura_drill_options *opts;
	kura_drill_result *res;
	kura_buf details;          /* "FAIL path: why" lines, the first DETAILS_NAMES */
	uint64_t noted;
	char **failed;             /* paths the restorer reported, sorted once restored */
	size_t nfailed, failed_cap;
	size_t prefix;             /* strlen of the scratch path */
	int oom;
} drill_ctx;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Count a failed path, tell the caller, keep the first few for the record. */
static void note_failure(drill_ctx *c, unsigned flag, const char *path, const char *why)
{
	char line[DETAILS_LINE_MAX];

	c->res->fail_flags |= flag;
	c->res->files_failed++;
	if (c->opts->failure)
		c->opts->failure(c->res->snapshot_id, path, why, c->opts->failure_ctx);
	if (c->noted++ < DETAILS_NAMES) {
		snprintf(line, sizeof(line), "FAIL %s: %s\n", path, why);
		if (kura_buf_put(&c->details, line, strlen(line)) < 0)
			c->oom = 1;
	}
}

static void on_problem(const kura_restore_problem *p, void *ctx)
{
	drill_ctx *c = ctx;
	const char *path = strlen(p->path) >= c->prefix ? p->path + c->prefix : p->path;
	char *copy;

	if (!*path)
		path = "/";
	note_failure(c, KURA_DRILL_FAILED_RESTORE, path, p->error);
	if (c->nfailed == c->failed_cap) {
		size_t cap = c->failed_cap ? c->failed_cap * 2 : 16;
		char **f = realloc(c->failed, cap * sizeof(*f));

		if (!f) {
			c->oom = 1;
			return;
		}
		c->failed = f;
		c->failed_cap = cap;
	}
	if (!(copy = strdup(path))) {
		c->oom = 1;
		return;
	}
	c->failed[c->nfailed++] = copy;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool restore_failed(const drill_ctx *c, const char *path)
{
	return c->nfailed && bsearch(&path, c->failed, c->nfailed, sizeof(char *), str_cmp);
}

/* ------------------------------------------------------------------ */
/* The snapshot and the sample                                          */

static int pick_random(kura_repo *repo, int64_t window_s, char out[KURA_ID_HEX])
{
	kura_snapshot_info *list = NULL;
	size_t n = 0, ok = 0, *idx = NULL;
	int64_t now = (int64_t)time(NULL) * 1000000000LL;
	uint32_t r;
	int err;

	if ((err = kura_snapshots_list(repo, &list, &n)) < 0)
		return err;
	if (n && !(idx = calloc(n, sizeof(*idx)))) {
		err = kura_error_set(KURA_ENOMEM, "drill: out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (list[i].damaged || !list[i].readable)
			continue;
		if (window_s > 0 && kura_snapshot_order_ns(&list[i]) < now - window_s * 1000000000LL)
			continue;
		idx[ok++] = i;
	}
	if (!ok) {
		err = kura_error_set(KURA_ENOTFOUND, "drill: no readable snapshot %s",
				     window_s > 0 ? "within the window" : "in the repository");
		goto done;
	}
	kura_random(&r, sizeof(r));
	memcpy(out, list[idx[r % ok]].id, KURA_ID_HEX);
done:
	free(idx);
	kura_snapshots_free(list, n);
	return err;
}

/* Read and advance this repository's drill counter; a cache we cannot use only costs rotation. */
static uint64_t next_counter(const kura_drill_options *opts, const char *repo_id)
{
	char *dir = opts->cache_dir ? strdup(opts->cache_dir) : kura_filecache_default_dir();
	char path[PATH_MAX], tmp[PATH_MAX + 8], text[32] = "";
	uint64_t n = 0;
	FILE *f;

	if (!dir)
		return 1;
	snprintf(path, sizeof(path), "%s/drills", dir);
	(void)mkdir(dir, 0700);
	(void)mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/drills/%s", dir, repo_id);
	if ((f = fopen(path, "re"))) {
		if (fgets(text, sizeof(text), f))
			n = strtoull(text, NULL, 10);
		fclose(f);
	}
	n++;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "we"))) {
		fprintf(f, "%llu\n", (unsigned long long)n);
		if (fclose(f) != 0 || rename(tmp, path) != 0)
			unlink(tmp);
	}
	free(dir);
	return n;
}

/* `path` as an fnmatch pattern that matches only itself. */
static char *literal_pattern(const char *path)
{
	char *p = malloc(2 * strlen(path) + 1), *q = p;

	if (!p)
		return NULL;
	for (const char *s = path; *s; s++) {
		if (*s == '*' || *s == '?' || *s == '[' || *s == '\\')
			*q++ = '\\';
		*q++ = *s;
	}
	*q = '\0';
	return p;
}

/* Mark the sample; for a sample, the restore's include patterns (the chosen paths). */
static int select_sample(drill_list *l, unsigned bp, uint64_t counter, char ***out_pats,
			 size_t *out_n, uint64_t *out_selected)
{
	uint64_t stride = bp >= KURA_DRILL_FULL_BP ? 1 : 10000 / bp, k = 0, chosen = 0;
	char **pats = NULL;
	size_t np = 0;

	*out_pats = NULL;
	*out_n = 0;
	for (size_t i = 0; i < l->count; i++) {
		drill_entry *e = &l->items[i];

		if (e->node.type == KURA_NODE_DIR)
			e->selected = stride == 1;
		else if ((e->selected = (k++ + counter) % stride == 0))
			chosen++;
	}
	*out_selected = chosen;
	if (stride == 1 || chosen == 0)
		return 0;
	if (!(pats = calloc(chosen, sizeof(*pats))))
		return kura_error_set(KURA_ENOMEM, "drill: out of memory");
	for (size_t i = 0; i < l->count; i++) {
		if (!l->items[i].selected)
			continue;
		if (!(pats[np] = literal_pattern(l->items[i].path))) {
			while (np)
				free(pats[--np]);
			free(pats);
			return kura_error_set(KURA_ENOMEM, "drill: out of memory");
		}
		np++;
	}
	*out_pats = pats;
	*out_n = np;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The scratch directory                                                */

static int scratch_prepare(const kura_drill_options *opts, char *out, size_t outlen,
			   bool *out_created)
{
	const char *tmp = getenv("TMPDIR");
	DIR *d;
	struct dirent *de;

	*out_created = false;
	if (!opts->scratch) {
		snprintf(out, outlen, "%s/kura-drill.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(out))
			return kura_error_errno(KURA_EIO, errno, "drill: cannot create a scratch "
						"directory in %s", tmp && *tmp ? tmp : "/tmp");
		*out_created = true;
		return 0;
	}
	if (strlen(opts->scratch) >= outlen - 1)
		return kura_error_set(KURA_EINVAL, "drill: scratch path too long");
	snprintf(out, outlen, "%s", opts->scratch);
	if (mkdir(out, 0700) == 0) {
		*out_created = true;
		return 0;
	}
	if (errno != EEXIST)
		return kura_error_errno(kura_errno_code(errno), errno, "drill: scratch %s", out);
	if (!(d = opendir(out)))
		return kura_error_errno(kura_errno_code(errno), errno, "drill: scratch %s", out);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			closedir(d);
			return kura_error_set(KURA_EEXISTS,
					      "drill: scratch directory %s is not empty (a drill "
					      "removes what it restores, so it refuses a directory "
					      "that holds anything else)",
					      out);
		}
	}
	closedir(d);
	return 0;
}

static int unlock_dir(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	if (flag == FTW_D || flag == FTW_DNR)
		(void)chmod(path, 0700);
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	if (f->level == 0)
		return 0;
	if (remove(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Remove what the drill restored (and the directory if the drill made it). */
static int scratch_remove(const char *path, bool created)
{
	(void)nftw(path, unlock_dir, 64, FTW_PHYS);
	if (nftw(path, remove_one, 64, FTW_PHYS | FTW_DEPTH) < 0)
		return kura_error_errno(KURA_EIO, errno, "drill: cannot remove the scratch tree %s",
					path);
	if (created && rmdir(path) < 0)
		return kura_error_errno(KURA_EIO, errno, "drill: cannot remove %s", path);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The verify command                                                   */

static int run_command(const char *cmd, const char *scratch, const char *snapshot_id,
		       int *out_status)
{
	char *script = NULL;
	pid_t pid;
	int st;

	if (asprintf(&script, "%s \"$@\"", cmd) < 0)
		return kura_error_set(KURA_ENOMEM, "drill: out of memory");
	pid = fork();
	if (pid < 0) {
		free(script);
		return kura_error_errno(KURA_EIO, errno, "drill: cannot start the verify command");
	}
	if (pid == 0) {
		/* stdout is for the drill's own results (--json): the command talks on stderr */
		dup2(STDERR_FILENO, STDOUT_FILENO);
		setenv("KURA_DRILL_DIR", scratch, 1);
		setenv("KURA_DRILL_SNAPSHOT", snapshot_id, 1);
		execl("/bin/sh", "sh", "-c", script, "kura-drill", scratch, (char *)NULL);
		_exit(127);
	}
	free(script);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return kura_error_errno(KURA_EIO, errno, "drill: waiting for the verify command");
	}
	*out_status = WIFEXITED(st) ? WEXITSTATUS(st) : 256 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The record                                                           */

static int write_record(kura_repo *repo, drill_ctx *c, const char *cmd, int64_t started_ns)
{
	kura_drill_result *res = c->res;
	kura_drillrec rec = {0};
	uint8_t *data = NULL, name[KURA_HASH_SIZE];
	size_t len;
	char hex[KURA_ID_HEX];
	kura_buf details = KURA_BUF_INIT;
	int err;

	rec.mode = res->sample_bp >= KURA_DRILL_FULL_BP ? KURA_DRILL_MODE_FULL : KURA_DRILL_MODE_SAMPLE;
	rec.sample_bp = res->sample_bp;
	rec.passed = res->passed;
	rec.fail_flags = res->fail_flags;
	rec.time_ns = started_ns;
	for (int i = 0; i < KURA_HASH_SIZE; i++) {
		unsigned v = 0;

		sscanf(res->snapshot_id + 2 * i, "%2x", &v);
		rec.snapshot[i] = (uint8_t)v;
	}
	rec.verify_status = res->verify_status;
	rec.files_verified = res->files_verified;
	rec.bytes_verified = res->bytes_verified;
	rec.files_failed = res->files_failed;
	rec.snapshot_files = res->snapshot_files;
	rec.snapshot_bytes = res->snapshot_bytes;
	rec.restore_ns = (uint64_t)(res->restore_seconds * 1e9);
	rec.rto_ms = (uint64_t)(res->rto_seconds * 1e3);
	if (cmd) {
		char line[DETAILS_LINE_MAX];

		snprintf(line, sizeof(line), "VERIFY %s\n", cmd);
		if ((err = kura_buf_put(&details, line, strlen(line))) < 0)
			goto done;
	}
	if ((err = kura_buf_put(&details, c->details.data, c->details.len)) < 0 ||
	    (err = kura_buf_put_u8(&details, 0)) < 0)
		goto done;
	rec.details = (char *)details.data;
	if ((err = kura_drillrec_encode(&data, &len, name, repo->keys.repo_pk, &rec)) < 0)
		goto done;
	kura_hex(hex, name, KURA_HASH_SIZE);
	if ((err = repo->backend->put(repo->backend, KURA_FILE_DRILL, hex, data, len)) < 0)
		goto done;
	memcpy(res->record_id, hex, KURA_ID_HEX);
done:
	free(data);
	kura_buf_free(&details);
	return err;
}

/* ------------------------------------------------------------------ */
/* The drill                                                            */

/* A directory's restored mode may forbid the walk down into it: open it up.
 * A failure is not checked here: the walk then names what it cannot open. */
static void open_for_walk(int rootfd, const char *path)
{
	if (fchmodat(rootfd, path + 1, 0700, 0) != 0)
		return;
}

static int check_copy(kura_repo *repo, drill_ctx *c, drill_list *l, const char *scratch)
{
	char msg[1024];
	int rootfd, rc, err = 0;
	bool owner = geteuid() == 0;

	if ((rootfd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return kura_error_errno(KURA_EIO, errno, "drill: cannot open %s", scratch);
	/* Directories first: their restored modes may forbid the walk down that follows. */
	for (int pass = 0; pass < 2 && err == 0; pass++) {
		for (size_t i = 0; i < l->count; i++) {
			drill_entry *e = &l->items[i];

			if ((e->node.type == KURA_NODE_DIR) != (pass == 0))
				continue;
			if (!e->selected || restore_failed(c, e->path)) {
				/* a parent of the sample: it must let the walk down */
				if (pass == 0)
					open_for_walk(rootfd, e->path);
				continue;
			}
			msg[0] = '\0';
			rc = kura_drill__check_entry(repo, rootfd, e, owner, msg, sizeof(msg),
						     &c->res->bytes_verified);
			if (rc < 0) {
				err = rc;
				break;
			}
			if (rc > 0)
				note_failure(c, (unsigned)rc, e->path, msg);
			else if (e->node.type != KURA_NODE_DIR)
				c->res->files_verified++;
			if (pass == 0)
				open_for_walk(rootfd, e->path);
		}
	}
	close(rootfd);
	return err;
}

int kura_drill(kura_repo *repo, const kura_drill_options *opts, kura_drill_result *out)
{
	kura_drill_result res = {0};
	drill_ctx c = {.opts = opts, .res = &res, .details = KURA_BUF_INIT};
	kura_snapshot *snap = NULL;
	drill_list list = {0};
	char **pats = NULL, snap_name[KURA_ID_HEX];
	size_t npats = 0;
	bool created = false, restored = false;
	double t0 = now_s(), t;
	int64_t started_ns = (int64_t)time(NULL) * 1000000000LL;
	int err, rerr;

	memset(out, 0, sizeof(*out));
	res.verify_status = -1;
	res.sample_bp = opts->sample_bp && opts->sample_bp < KURA_DRILL_FULL_BP ? opts->sample_bp
										  : KURA_DRILL_FULL_BP;
	if ((err = kura_repo__need_restore_key(repo, "a drill")) < 0)
		goto done;
	if (opts->random) {
		if ((err = pick_random(repo, opts->window_s, snap_name)) < 0)
			goto done;
	} else {
		snprintf(snap_name, sizeof(snap_name), "%s", opts->snapshot ? opts->snapshot : "latest");
	}
	if ((err = kura_walk__snapshot(&snap, res.snapshot_id, repo, snap_name, "a drill")) < 0)
		goto done;
	if ((err = kura_drill__collect(repo, snap->tree, &list)) < 0)
		goto done;
	res.snapshot_files = list.files;
	res.snapshot_bytes = list.bytes;
	res.drill_number = next_counter(opts, kura_repo_id(repo));
	if ((err = select_sample(&list, res.sample_bp, res.drill_number - 1, &pats, &npats,
				 &res.files_selected)) < 0)
		goto done;
	if ((err = scratch_prepare(opts, res.scratch, sizeof(res.scratch), &created)) < 0)
		goto done;
	c.prefix = strlen(res.scratch);

	{
		kura_restore_options ro = {0};
		kura_restore_result rr = {0};

		ro.target = res.scratch;
		ro.includes = (const char *const *)pats;
		ro.nincludes = npats;
		ro.threads = opts->threads;
		ro.progress = opts->progress;
		ro.progress_ctx = opts->progress_ctx;
		ro.warning = opts->warning;
		ro.warning_ctx = opts->warning_ctx;
		ro.problem = on_problem;
		ro.problem_ctx = &c;
		t = now_s();
		rerr = kura_restore(repo, res.snapshot_id, &ro, &rr);
		res.restore_seconds = now_s() - t;
		restored = true;
		/* Damage is what a drill is for: it is counted, not fatal.  A scratch disk
		 * that cannot take the tree (KURA_EIO) says nothing about the backup: the
		 * drill did not run, and no record blames the repository for it. */
		if (rerr < 0 && rerr != KURA_ECORRUPT && rerr != KURA_EEXISTS) {
			err = rerr;
			goto done;
		}
		if (rerr < 0 && !res.fail_flags) {
			note_failure(&c, KURA_DRILL_FAILED_RESTORE, "/", kura_error_message());
		}
		if (c.nfailed)
			qsort(c.failed, c.nfailed, sizeof(char *), str_cmp);
		if (rr.seconds > 0)
			res.bytes_per_second = (double)rr.bytes / res.restore_seconds;
		/* The projection: the share of the snapshot restored took this long. */
		if (res.sample_bp >= KURA_DRILL_FULL_BP)
			res.rto_seconds = res.restore_seconds;
		else if (rr.bytes > 0 && res.snapshot_bytes > 0)
			res.rto_seconds = res.restore_seconds * (double)res.snapshot_bytes / (double)rr.bytes;
		else if (rr.files > 0)
			res.rto_seconds = res.restore_seconds * (double)res.snapshot_files / (double)rr.files;
		else
			res.rto_seconds = res.restore_seconds;
	}

	t = now_s();
	if ((err = check_copy(repo, &c, &list, res.scratch)) < 0)
		goto done;
	res.check_seconds = now_s() - t;

	if (opts->verify_command) {
		t = now_s();
		if ((err = run_command(opts->verify_command, res.scratch, res.snapshot_id,
				       &res.verify_status)) < 0)
			goto done;
		res.command_seconds = now_s() - t;
		if (res.verify_status != 0) {
			char why[64];

			snprintf(why, sizeof(why), res.verify_status > 255 ? "killed by signal %d"
									  : "exit status %d",
				 res.verify_status > 255 ? res.verify_status - 256 : res.verify_status);
			res.fail_flags |= KURA_DRILL_FAILED_VERIFY;
			if (opts->failure)
				opts->failure(res.snapshot_id, "(verify command)", why,
					      opts->failure_ctx);
		}
	}
	if (c.oom) {
		err = kura_error_set(KURA_ENOMEM, "drill: out of memory noting failures");
		goto done;
	}
	res.passed = res.fail_flags == 0;
	/* The tree goes before the record: a drill that cannot clean up says so, but it ran. */
	if ((rerr = scratch_remove(res.scratch, created)) < 0 && opts->warning)
		opts->warning(res.scratch, kura_error_message(), opts->warning_ctx);
	restored = false;
	created = false;
	res.seconds = now_s() - t0;
	if (!opts->no_record && (err = write_record(repo, &c, opts->verify_command, started_ns)) < 0) {
		/* A failed drill still fails as such; a passed one proved nothing to others. */
		if (res.passed)
			goto done;
		if (opts->warning)
			opts->warning(res.snapshot_id, kura_error_message(), opts->warning_ctx);
	}
	err = res.passed ? 0
			 : kura_error_set(KURA_ECORRUPT,
					  "drill of snapshot %.8s failed: %llu path(s) failed%s",
					  res.snapshot_id, (unsigned long long)res.files_failed,
					  res.fail_flags & KURA_DRILL_FAILED_VERIFY
					      ? ", the verify command failed"
					      : "");
done:
	if (restored || created) {
		int keep = kura_error_code();
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", kura_error_message());
		(void)scratch_remove(res.scratch, created);
		kura_error_set(keep, "%s", msg);
	}
	res.seconds = now_s() - t0;
	*out = res;
	for (size_t i = 0; i < npats; i++)
		free(pats[i]);
	free(pats);
	for (size_t i = 0; i < c.nfailed; i++)
		free(c.failed[i]);
	free(c.failed);
	kura_buf_free(&c.details);
	kura_drill__list_free(&list);
	kura_snapshot_free(snap);
	return err;
}

/* ------------------------------------------------------------------ */
/* Listing                                                              */

static int info_cmp(const void *a, const void *b)
{
	const kura_drill_info *x = a, *y = b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

int kura_drills_list(kura_repo *repo, kura_drill_info **out, size_t *out_count)
{
	kura_backend *b = repo->backend;
	kura_listed_file *names = NULL;
	size_t count = 0;
	kura_drill_info *list = NULL;
	bool keys = kura_repo_can_read(repo);
	int err;

	*out = NULL;
	*out_count = 0;
	if ((err = kura_list_files(&names, &count, b, KURA_FILE_DRILL)) < 0)
		goto done;
	if (count && !(list = calloc(count, sizeof(*list)))) {
		err = kura_error_set(KURA_ENOMEM, "drill: out of memory listing records");
		goto done;
	}
	for (size_t i = 0; i < count; i++) {
		kura_drill_info *d = &list[i];
		kura_drillrec rec;
		uint8_t *data = NULL;
		size_t len = 0;
		int e;

		memcpy(d->id, names[i].name, KURA_ID_HEX);
		if ((e = kura_backend_get_verified(b, KURA_FILE_DRILL, d->id, &data, &len)) < 0) {
			if (!kura_repo__is_damage(e)) {
				err = e;
				goto done;
			}
			d->damage = strdup(kura_error_message());
			continue;
		}
		if ((e = kura_drillrec_decode(&rec, keys ? &repo->keys : NULL, data, len)) < 0) {
			d->damage = strdup(kura_error_message());
		} else {
			kura_hex(d->snapshot_id, rec.snapshot, KURA_HASH_SIZE);
			d->time_ns = rec.time_ns;
			d->full = rec.mode == KURA_DRILL_MODE_FULL;
			d->sample_bp = rec.sample_bp;
			d->passed = rec.passed;
			d->fail_flags = rec.fail_flags;
			d->verify_status = rec.verify_status;
			d->files_verified = rec.files_verified;
			d->bytes_verified = rec.bytes_verified;
			d->files_failed = rec.files_failed;
			d->snapshot_files = rec.snapshot_files;
			d->snapshot_bytes = rec.snapshot_bytes;
			d->restore_seconds = (double)rec.restore_ns / 1e9;
			d->rto_seconds = (double)rec.rto_ms / 1e3;
			d->details = rec.details;
		}
		if (d->damage)
			kura_repo__damaged(repo, KURA_FILE_DRILL, d->id, "%s", d->damage);
		free(data);
	}
	qsort(list, count, sizeof(*list), info_cmp);
	*out = list;
	*out_count = count;
	list = NULL;
done:
	if (list)
		kura_drills_free(list, count);
	free(names);
	return err;
}

void kura_drills_free(kura_drill_info *list, size_t count)
{
	if (!list)
		return;
	for (size_t i = 0; i < count; i++) {
		free(list[i].details);
		free(list[i].damage);
	}
	free(list);
}
