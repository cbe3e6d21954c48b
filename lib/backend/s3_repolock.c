/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_repolock.c - keeps backups and prunes on one S3 repository apart, as
 * repolock.c does for a local one (docs/FORMAT.md, "Backups and prunes"),
 * with lock objects, because S3 has no atomic lock primitive.
 *
 * A lock is the object PREFIX/locks/MODE-ID (MODE "shared" for a backup,
 * "exclusive" for a prune; ID 32 random hex digits) holding who took it.
 * To take one: write it, then list PREFIX/locks/; if another lock that
 * conflicts is there (an exclusive one, or any other when ours is
 * exclusive) and is not stale, delete ours and try again later.  Two that
 * arrive together both back off (with jitter) and one wins later; one that
 * holds the repository never re-checks, and every newcomer sees it.
 * S3 is read-after-write consistent for PUT and LIST (AWS since 2020,
 * Ceph's bucket index always), which is what this needs.
 *
 * A held lock is rewritten every REFRESH_S by a thread of its own, so a
 * process that died leaves a lock that goes stale: one whose last write
 * (the store's LastModified) is STALE_S older than our own lock's, on the
 * store's clock, never a client's.  A stale lock is ignored.  If a holder
 * cannot refresh for that long, a prune may run beside it: the backup's
 * final check that its packs are still stored (gc.c) then fails it loudly
 * rather than report a snapshot whose data is gone.
 *
 * Names under locks/ that are not MODE-ID are not ignored: they block, and
 * the message names them (a lock that cannot be read must stop the
 * operation; restic PR #3569).  Releasing deletes the object without a
 * version id: on a versioned, locked bucket that leaves a delete marker
 * over it and its versions stay, a few hundred bytes each, until the
 * bucket's retention lets them go.
 */
#include "s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "kura/kura.h"

#define REFRESH_S 300
#define STALE_S 1800
#define LOCKS_DIR "locks/"
#define ID_BYTES 16
#define LIST_MAX ((size_t)4 << 20)

struct kura_backend_lock {
	s3_backend *sb;
	char *key;
	char *body;
	pthread_t thread;
	bool running, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int put_lock(s3_backend *sb, const char *key, const char *body)
{
	s3_request rq = {.method = "PUT",
			 .key = key,
			 .body = (const uint8_t *)body,
			 .body_len = strlen(body),
			 .content_md5 = true,
			 .max = 1 << 20};
	s3_response rs = {0};
	int err;

	if ((err = s3_http_perform(sb, &rq, &rs)) == 0 && rs.status != 200)
		err = s3_http_error(sb, &rs, "PUT", "the repository lock");
	s3_response_free(&rs);
	return err;
}

static int delete_lock(s3_backend *sb, const char *key)
{
	s3_request rq = {.method = "DELETE", .key = key, .max = 1 << 20};
	s3_response rs = {0};
	int err;

	if ((err = s3_http_perform(sb, &rq, &rs)) == 0 && rs.status != 204 && rs.status != 200 &&
	    rs.status != 404)
		err = s3_http_error(sb, &rs, "DELETE", "the repository lock");
	s3_response_free(&rs);
	return err;
}

/* "shared-ID" 1, "exclusive-ID" 2, anything else 0. */
static int lock_kind(const char *name)
{
	const char *id;
	int kind;

	if (strncmp(name, "shared-", 7) == 0)
		id = name + 7, kind = KURA_LOCK_SHARED;
	else if (strncmp(name, "exclusive-", 10) == 0)
		id = name + 10, kind = KURA_LOCK_EXCLUSIVE;
	else
		return 0;
	return strlen(id) == ID_BYTES * 2 && strspn(id, "0123456789abcdef") == ID_BYTES * 2 ? kind
											    : 0;
}

/*
 * One listing of locks/: into `who` (empty if none) the lock that keeps
 * `mine` (in `mode`) out, and whether ours was seen at all.
 */
static int conflicts(s3_backend *sb, const char *dir, const char *mine, kura_lock_mode mode,
		     char *who, size_t who_size, bool *out_seen)
{
	s3_xml_listing page = {0};
	s3_request rq = {.method = "GET", .max = LIST_MAX};
	s3_response rs = {0};
	char *enc = NULL, *query = NULL;
	size_t dlen = strlen(dir);
	int64_t my_time = -1;
	int err;

	who[0] = '\0';
	*out_seen = false;
	if (!(enc = s3_url_encode(dir)) || asprintf(&query, "list-type=2&prefix=%s", enc) < 0) {
		query = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	rq.query = query;
	if ((err = s3_http_perform(sb, &rq, &rs)) == 0 && rs.status != 200)
		err = s3_http_error(sb, &rs, "GET", "the listing of repository locks");
	if (err == 0 &&
	    (err = s3_xml_listing_parse(&page, (const char *)rs.body.data, rs.body.len)) < 0)
		kura_error_wrap(err, "%s: listing of %s", sb->display, dir);
	if (err < 0)
		goto done;
	/* a thousand locks at once is no honest state: the first page decides */
	for (size_t i = 0; i < page.count; i++)
		if (strcmp(page.objects[i].key, mine) == 0) {
			*out_seen = true;
			my_time = page.objects[i].modified;
		}
	for (size_t i = 0; i < page.count && !who[0]; i++) {
		const s3_xml_object *o = &page.objects[i];
		const char *name = o->key + (strncmp(o->key, dir, dlen) == 0 ? dlen : 0);
		int kind = lock_kind(name);

		if (strcmp(o->key, mine) == 0)
			continue;
		if (kind && my_time >= 0 && o->modified >= 0 && o->modified < my_time - STALE_S)
			continue; /* stale: its holder stopped refreshing it */
		if (!kind)
			snprintf(who, who_size,
				 "%s%s, which is not a lock kura wrote (remove it if no kura "
				 "process put it there), holds the repository",
				 LOCKS_DIR, name);
		else if (kind == KURA_LOCK_EXCLUSIVE || mode == KURA_LOCK_EXCLUSIVE)
			snprintf(who, who_size, "%s holds the repository (its lock %s%s)",
				 kind == KURA_LOCK_SHARED   ? "a backup"
				 : mode == KURA_LOCK_SHARED ? "a prune"
							    : "another prune",
				 LOCKS_DIR, name);
	}
done:
	s3_xml_listing_free(&page);
	s3_response_free(&rs);
	free(query);
	free(enc);
	return err;
}

static void *refresher(void *arg)
{
	kura_backend_lock *l = arg;
	struct timespec at;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		clock_gettime(CLOCK_REALTIME, &at);
		at.tv_sec += REFRESH_S;
		while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu, &at) == 0)
			;
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->mu);
		/* a failed refresh is tried again next time; a holder that cannot
		 * refresh for STALE_S is caught by the backup's final pack check */
		(void)put_lock(l->sb, l->key, l->body);
		kura_error_clear();
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static void lock_free(kura_backend_lock *l)
{
	if (!l)
		return;
	if (l->running) {
		pthread_mutex_lock(&l->mu);
		l->stop = true;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l->key);
	free(l->body);
	free(l);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

int s3_repolock_take(kura_backend *b, kura_lock_mode mode, int64_t wait_ms, kura_backend_lock **out)
{
	s3_backend *sb = (s3_backend *)b;
	kura_backend_lock *l = NULL;
	uint8_t id[ID_BYTES];
	char hex[ID_BYTES * 2 + 1], host[128] = "?", who[512], *dir = NULL;
	int64_t deadline, step = 200, now;
	bool seen;
	int err;

	*out = NULL;
	if (mode != KURA_LOCK_SHARED && mode != KURA_LOCK_EXCLUSIVE)
		return kura_error_set(KURA_EINVAL, "repository lock: bad mode %d", (int)mode);
	kura_random(id, sizeof(id));
	kura_hex(hex, id, sizeof(id));
	gethostname(host, sizeof(host) - 1);
	host[strcspn(host, "\"\\\n")] = '\0'; /* it goes into JSON as is */
	if (!(l = calloc(1, sizeof(*l))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	l->sb = sb;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (asprintf(&dir, "%s%s", sb->loc.prefix, LOCKS_DIR) < 0 ||
	    asprintf(&l->key, "%s%s-%s", dir, mode == KURA_LOCK_SHARED ? "shared" : "exclusive",
		     hex) < 0 ||
	    asprintf(&l->body, "{\"mode\": \"%s\", \"host\": \"%s\", \"pid\": %ld}\n",
		     mode == KURA_LOCK_SHARED ? "shared" : "exclusive", host, (long)getpid()) < 0) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	deadline = mono_ms() + (wait_ms > 0 ? wait_ms : 0);
	for (;;) {
		if ((err = put_lock(sb, l->key, l->body)) < 0 ||
		    (err = conflicts(sb, dir, l->key, mode, who, sizeof(who), &seen)) < 0)
			break;
		if (seen && !who[0])
			break; /* ours, and nothing in the way */
		if ((err = delete_lock(sb, l->key)) < 0)
			break;
		if (!seen)
			snprintf(who, sizeof(who),
				 "the store does not list the lock just written (%s)", l->key);
		if ((now = mono_ms()) >= deadline) {
			err = kura_error_set(KURA_EBUSY, "%s: %s%s", sb->display, who,
					     wait_ms > 0 ? ", and did not let go in time" : "");
			break;
		}
		{
			uint32_t j = 0;
			int64_t ms;

			kura_random(&j, sizeof(j)); /* jitter, so waiting writers do not retry in step */
			ms = step / 2 + (int64_t)(j % (uint32_t)(step / 2 + 1));
			sleep_ms(ms < deadline - now ? ms : deadline - now);
		}
		if (step < 5000)
			step *= 2;
	}
	if (err < 0)
		goto done;
	if (pthread_create(&l->thread, NULL, refresher, l) != 0) {
		(void)delete_lock(sb, l->key);
		err = kura_error_set(KURA_EIO, "repository lock: cannot start its refresh thread");
		goto done;
	}
	l->running = true;
	*out = l;
	l = NULL;
done:
	lock_free(l);
	free(dir);
	return err;
}

void s3_repolock_release(kura_backend *b, kura_backend_lock *lock)
{
	char *kept;
	int code;

	(void)b;
	if (!lock)
		return;
	/* releasing runs on the way out of an error too: keep its message */
	code = kura_error_code();
	kept = strdup(kura_error_message());
	if (lock->running) {
		pthread_mutex_lock(&lock->mu);
		lock->stop = true;
		pthread_cond_signal(&lock->cv);
		pthread_mutex_unlock(&lock->mu);
		pthread_join(lock->thread, NULL);
		lock->running = false;
	}
	/* a lock that cannot be deleted goes stale */
	(void)delete_lock(lock->sb, lock->key);
	kura_error_clear();
	if (code < 0 && kept)
		kura_error_set(code, "%s", kept);
	free(kept);
	lock_free(lock);
}
