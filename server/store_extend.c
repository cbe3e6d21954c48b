/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_extend.c - lock extension by the vault (store_extend.h), after the
 * retry of deletions the lock kept (deletion_sweep.h), over the
 * library's kura_s3_extend_locks (lib/backend/s3_extend.c), which needs
 * no key: it reads the snapshots' plaintext pack lists.
 */
#include "store_extend.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "deletion_store.h"
#include "deletion_sweep.h"
#include "kura/backend.h"
#include "kura/keyless.h"

#define NS 1000000000LL

/* serve's run (store_extend_tick): its thread, and the flag that ends it early. */
static pthread_t worker;
static bool worker_started;
static atomic_bool worker_running, worker_stop;
static int worker_err;
static char worker_msg[512];

/* kura_s3_extend_locks' callback: stop between two files when serve stops. */
static int until_stopped(const kura_s3_extend_event *ev, void *ctx)
{
	(void)ev, (void)ctx;
	return atomic_load(&worker_stop)
		   ? kura_error_set(KURA_ECANCELED, "stopped: kurad serve is ending")
		   : 0;
}

/* The snapshots of `repo` whose deletion the vault carried out: let expire. */
static int deleted_snapshots(const char *dir, const char *repo, char (**out)[KURA_ID_HEX],
			     size_t *out_n)
{
	deletion_req *rs = NULL;
	size_t n = 0, total = 0, k = 0;
	int err;

	*out = NULL;
	*out_n = 0;
	if ((err = deletion_store_load_all(dir, &rs, &n)) < 0)
		return err;
	for (size_t i = 0; i < n; i++)
		if (!rs[i].corrupt && rs[i].kind == DELETION_KIND_DELETE &&
		    rs[i].state == DELETION_DONE && strcmp(rs[i].repo, repo) == 0)
			total += rs[i].nsnaps;
	if (total && !(*out = calloc(total, sizeof(**out)))) {
		deletion_store_reqs_free(rs, n);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		if (!rs[i].corrupt && rs[i].kind == DELETION_KIND_DELETE &&
		    rs[i].state == DELETION_DONE && strcmp(rs[i].repo, repo) == 0)
			for (size_t j = 0; j < rs[i].nsnaps; j++)
				memcpy((*out)[k++], rs[i].snaps[j], KURA_ID_HEX);
	*out_n = k;
	deletion_store_reqs_free(rs, n);
	return 0;
}

static int extend_repo(vault *v, const char *repo, bool dry_run, json_t *repos, int64_t *until)
{
	const vault_store *s = vault_get_store(v);
	vault_audit *a = vault_get_audit(v);
	char(*let)[KURA_ID_HEX] = NULL, path[96];
	kura_s3_extend_result res;
	kura_backend *b = NULL;
	size_t nlet = 0;
	int err;

	if ((err = vault_store_open_s3(s, repo, &b)) < 0)
		return kura_error_wrap(err, "repository %s", repo);
	if ((err = deleted_snapshots(vault_dir(v), repo, &let, &nlet)) < 0)
		goto done;
	if ((err = kura_s3_extend_locks(b, (const char(*)[KURA_ID_HEX])let, nlet, dry_run,
					until_stopped, NULL, &res)) < 0) {
		kura_error_wrap(err, "repository %s", repo);
		goto done;
	}
	*until = res.until;
	snprintf(path, sizeof(path), "/v1/repos/%s", repo);
	if (a && !dry_run &&
	    (err = audit_local(a, "kurad", "vault", "EXTEND-LOCKS", path, 200, res.extended)) < 0)
		goto done;
	json_array_append_new(repos,
			      json_pack("{s:s, s:I, s:I, s:I}", "repo", repo, "files",
					(json_int_t)res.files, "extended", (json_int_t)res.extended,
					"let_expire", (json_int_t)res.let_expire));
done:
	kura_backend_free(b);
	free(let);
	return err;
}

int store_extend_locks(vault *v, bool dry_run, json_t **out)
{
	const vault_store *s = vault_get_store(v);
	json_t *doc = NULL, *repos;
	kura_backend *m = NULL;
	kura_s3_extend_result res;
	int64_t until = 0;
	int err = 0;

	if (out)
		*out = NULL;
	if (vault_store_on_disk(s))
		return kura_error_set(KURA_EINVAL,
				      "%s keeps its repositories on its own disk: "
				      "there is no Object Lock to extend",
				      vault_dir(v));
	if (!(doc = json_pack("{s:I, s:b, s:[]}", "until", (json_int_t)0, "dry_run", dry_run,
			      "repos")))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	repos = json_object_get(doc, "repos");
	for (size_t i = 0; i < vault_repo_count(v); i++)
		if ((err = extend_repo(v, vault_repo_name(v, i), dry_run, repos, &until)) < 0)
			goto done;
	/* The claim stays locked too: no other vault may take the prefix. */
	if ((err = vault_store_open_marker(s, &m)) < 0 ||
	    (err = kura_s3_extend_locks(m, NULL, 0, dry_run, NULL, NULL, &res)) < 0) {
		kura_error_wrap(err, "the prefix's claim");
		goto done;
	}
	json_object_set_new(doc, "until", json_integer((json_int_t)(until ? until : res.until)));
	json_object_set_new(doc, "claim",
			    json_pack("{s:I, s:I}", "files", (json_int_t)res.files, "extended",
				      (json_int_t)res.extended));
	if (out) {
		*out = doc;
		doc = NULL;
	}
done:
	kura_backend_free(m);
	json_decref(doc);
	return err;
}

static void *extend_thread(void *arg)
{
	int err;

	/* Deletions the lock kept first: what is due goes before anything is extended. */
	err = deletion_sweep(arg, kura_now_ns(CLOCK_REALTIME), NULL);
	if (err < 0)
		snprintf(worker_msg, sizeof(worker_msg), "%s", kura_error_message());
	worker_err = store_extend_locks(arg, false, NULL);
	if (worker_err < 0)
		snprintf(worker_msg, sizeof(worker_msg), "%s", kura_error_message());
	else
		worker_err = err;
	atomic_store(&worker_running, false);
	return NULL;
}

/* Join a finished run; its failure, if any, becomes this thread's error. */
static int reap(void)
{
	int err = 0;

	if (!worker_started)
		return 0;
	pthread_join(worker, NULL);
	worker_started = false;
	if (worker_err < 0)
		err = kura_error_set(worker_err, "%s", worker_msg);
	worker_err = 0;
	return err;
}

int store_extend_tick(vault *v, int64_t now_ns)
{
	static int64_t last_ns; /* the tick runs on one thread */
	const vault_store *s = vault_get_store(v);
	int64_t every;
	int err, rc;

	if (vault_store_on_disk(s) || atomic_load(&worker_running))
		return 0;
	/* A run of thousands of files takes a while: its own thread, not the tick's. */
	if ((err = reap()) < 0)
		last_ns = now_ns - (int64_t)vault_store_lock_days(s) * 86400 * NS / 4 + 60 * NS;
	every = (int64_t)vault_store_lock_days(s) * 86400 * NS / 4;
	if (err < 0 || (last_ns && now_ns - last_ns < every))
		return err; /* a failure is retried in a minute */
	last_ns = now_ns;
	atomic_store(&worker_stop, false);
	atomic_store(&worker_running, true);
	if ((rc = pthread_create(&worker, NULL, extend_thread, v)) != 0) {
		atomic_store(&worker_running, false);
		return kura_error_errno(KURA_EIO, rc, "lock extension: cannot start a thread");
	}
	worker_started = true;
	return 0;
}

void store_extend_stop(void)
{
	atomic_store(&worker_stop, true);
	(void)reap();
}
