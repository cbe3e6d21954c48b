/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_repos.c - the vault's repositories: one slot per repository a
 * client names, each with its storage (a local backend on DIR/repos/REPO,
 * or PREFIX/REPO/ on S3: vault_store.h; opened on first use), its garbage-collection lock, its
 * commit mutex, and the record of when each snapshot was received (DIR/meta/REPO/).
 *
 * Every lock here is the repository's own: no request waits for work in
 * another repository.  Slots are published by an atomic count and never
 * move (vault_struct.h), so finding one takes no lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "files.h"
#include "kura/keyless.h"
#include "vault_state.h"
#include "vault_struct.h"

static int cmp_repo(const void *a, const void *b)
{
	return strcmp(((const repo_slot *)a)->name, ((const repo_slot *)b)->name);
}

/* The slot of repository `repo`, or NULL. */
repo_slot *vault_repos_find(vault *v, const char *repo)
{
	size_t i, n = v->nrepos;

	if (!repo)
		return NULL;
	for (i = 0; i < n; i++)
		if (strcmp(v->repos[i].name, repo) == 0)
			return &v->repos[i];
	return NULL;
}

/* Publish a slot for `repo` if it has none (one thread at a time). */
void vault_repos_add(vault *v, const char *repo)
{
	size_t n = v->nrepos;

	if (!repo[0] || vault_repos_find(v, repo))
		return;
	memset(&v->repos[n], 0, sizeof(v->repos[n]));
	strcpy(v->repos[n].name, repo);
	pthread_rwlock_init(&v->repos[n].gc_lock, NULL);
	pthread_mutex_init(&v->repos[n].commit, NULL);
	pthread_mutex_init(&v->repos[n].lock, NULL);
	v->nrepos = n + 1; /* seq_cst store: the slot is complete before it is seen */
}

/* The repositories that clients name, each once, in name order. */
void vault_repos_collect(vault *v)
{
	for (size_t i = 0; i < v->nclients; i++)
		vault_repos_add(v, v->clients[i].repo);
	qsort(v->repos, v->nrepos, sizeof(*v->repos), cmp_repo); /* before any lock is used */
}

/* ------------------------------------------------------------------ */
/* Repositories                                                        */

/*
 * What the vault needs of the store under a repository: the checked
 * interface, and uploads streamed to files it can map and flag
 * (handlers.c), with removal and write times for its deletions and
 * retention.
 */
static int vault_backend_usable(kura_backend *b, const char *name)
{
	int err;

	if ((err = kura_backend_check(b)) < 0)
		return kura_error_wrap(err, "repository %s", name);
	if (!b->stream_open || !b->stream_fd || !b->remove || !b->mtime)
		return kura_error_set(KURA_EUNSUPPORTED,
				      "repository %s: its store does not stream uploads to files, "
				      "or cannot remove files or say when they were written",
				      name);
	return 0;
}

/*
 * Uploads that a crash or a dropped connection cut short leave their
 * temporary files in tmp/; an upload is one request, so an hour-old one
 * is nobody's.  Cleared when the repository is first used.
 */
static void clean_stale_uploads(kura_backend *b, const char *name)
{
	uint64_t files, bytes;

	if (kura_backend_clean_tmp(b, 3600, false, &files, &bytes) < 0)
		fprintf(stderr, "kurad: repository %s: %s\n", name, kura_error_message());
	else if (files)
		fprintf(stderr,
			"kurad: repository %s: removed %llu interrupted upload%s (%llu bytes)\n",
			name, (unsigned long long)files, files == 1 ? "" : "s",
			(unsigned long long)bytes);
}

int vault_repo(vault *v, const char *repo, kura_backend **out)
{
	repo_slot *s = vault_repos_find(v, repo);
	int err = 0;

	*out = NULL;
	if (!s)
		return kura_error_set(KURA_ENOTFOUND, "no repository '%s' in this vault",
				      repo ? repo : "");
	/* Per repository: a first use's tmp/ sweep delays only its own repository. */
	pthread_mutex_lock(&s->lock);
	if (!s->b) {
		if ((err = vault_store_open_repo(v->store, v->dir, s->name, &s->b)) < 0)
			goto done;
		if ((err = vault_backend_usable(s->b, s->name)) < 0) {
			kura_backend_free(s->b);
			s->b = NULL;
			goto done;
		}
		clean_stale_uploads(s->b, s->name);
	}
	*out = s->b;
done:
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int repo_lock(vault *v, const char *repo, bool exclusive)
{
	repo_slot *s = vault_repos_find(v, repo);
	int rc;

	if (!s)
		return kura_error_set(KURA_ENOTFOUND, "no repository '%s' in this vault",
				      repo ? repo : "");
	rc = exclusive ? pthread_rwlock_wrlock(&s->gc_lock) : pthread_rwlock_rdlock(&s->gc_lock);
	if (rc != 0)
		return kura_error_errno(KURA_EIO, rc, "repository '%s': lock", repo);
	if (exclusive)
		atomic_fetch_add(&s->gc_gen, 1); /* before anything is removed */
	return 0;
}

int vault_repo_lock_shared(vault *v, const char *repo)
{
	return repo_lock(v, repo, false);
}

int vault_repo_lock_exclusive(vault *v, const char *repo)
{
	return repo_lock(v, repo, true);
}

void vault_repo_unlock(vault *v, const char *repo)
{
	repo_slot *s = vault_repos_find(v, repo);

	if (s)
		pthread_rwlock_unlock(&s->gc_lock);
}

uint64_t vault_repo_gc_generation(vault *v, const char *repo)
{
	repo_slot *s = vault_repos_find(v, repo);

	return s ? atomic_load(&s->gc_gen) : 0;
}

int vault_repo_commit_lock(vault *v, const char *repo)
{
	repo_slot *s = vault_repos_find(v, repo);

	if (!s)
		return kura_error_set(KURA_ENOTFOUND, "no repository '%s' in this vault",
				      repo ? repo : "");
	pthread_mutex_lock(&s->commit);
	return 0;
}

void vault_repo_commit_unlock(vault *v, const char *repo)
{
	repo_slot *s = vault_repos_find(v, repo);

	if (s)
		pthread_mutex_unlock(&s->commit);
}

static int stop_at_first(const char *name, uint64_t size, void *ctx)
{
	*(bool *)ctx = true;
	return 1;
}

int vault_repo_initialised(vault *v, const char *repo)
{
	kura_backend *b;
	bool any = false;

	/* When in doubt, closed: config and keys are refused to writers. */
	if (vault_repo(v, repo, &b) < 0 || b->list(b, KURA_FILE_CONFIG, stop_at_first, &any) < 0)
		return 1;
	return any ? 1 : 0;
}

int vault_record_snapshot(vault *v, const char *repo, const char *name, int64_t received_ns,
			  const char *client)
{
	char *path = NULL, *line = NULL;
	int fd = -1, len, err = 0;
	ssize_t n;
	repo_slot *s = vault_repos_find(v, repo);

	if (!s)
		return kura_error_set(KURA_ENOTFOUND, "no repository '%s' in this vault",
				      repo ? repo : "");
	if (!kura_file_name_is_valid(name) || !vault_name_ok(client))
		return kura_error_set(KURA_EINVAL, "snapshot record: bad snapshot or client name");
	if (asprintf(&path, "%s/meta/%s/snapshot-times", v->dir, repo) < 0 ||
	    (len = asprintf(&line, "%s %" PRId64 " %s\n", name, received_ns, client)) < 0) {
		path = line = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	pthread_mutex_lock(&s->lock);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == ENOENT) {
		char *meta = NULL;

		if (asprintf(&meta, "meta/%s", repo) >= 0 && files_make_dir(v->dir, meta) == 0)
			fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
				  0600);
		free(meta);
	}
	if (fd < 0) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s", path);
	} else {
		n = write(fd, line, (size_t)len);
		if (n >= 0 && n != len)
			errno = ENOSPC; /* a short write: the caller answers by errno */
		if (n != len || fsync(fd) < 0)
			err = kura_error_errno(KURA_EIO, errno, "%s: cannot append", path);
		close(fd);
	}
	pthread_mutex_unlock(&s->lock);
done:
	free(line);
	free(path);
	return err;
}

size_t vault_repo_count(const vault *v)
{
	return v->nrepos;
}

const char *vault_repo_name(const vault *v, size_t i)
{
	return v->repos[i].name;
}
