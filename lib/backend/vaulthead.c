/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vaulthead.c - the vault backend's memory of the newest log head
 * (vaulthead.h, docs/PROTOCOL.md "Log head").
 *
 * Every vault answer carries Kura-Log-Head: the number of entries in the
 * vault's audit log and the last one's hash, signed with the key the
 * credential pins.  The newest one seen is kept in
 * $KURA_CACHE_DIR/vault-heads/<vault key> across runs.  A vault whose
 * head is older than one seen before (fewer entries, or as many with
 * another hash) had its log cut back or replaced: the client says so
 * loudly (through kura_loghead_warn, once per run), naming both heads,
 * and carries on, since refusing a restore would help nobody.  The
 * remembered head is what `kura log verify` demands the log still holds.
 *
 * Within one run, answers come back out of order: the vault signs each
 * answer's head right after that request's own audit entry, and parallel
 * requests (a restore's workers) finish in any order, so an answer may
 * carry an older head than one already seen in this run.  A rollback is
 * therefore judged against the head remembered from earlier runs only;
 * within a run, only as many entries with another hash (a fork) is one.
 *
 * A newer head is believed without proof that it extends the older one
 * (that needs the log).  So once a rollback was seen, PATH.rollback is
 * made and the remembered head no longer moves (a rolled-back log soon
 * grows past it): every later run warns, and `kura log verify` keeps
 * failing, until someone who has looked removes that file.
 */
#include "vaulthead.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "kura/kura.h"
#include "kura/loghead.h"

struct vaulthead {
	pthread_mutex_t lock;
	char *path;	/* the remembered head, NULL if there is no cache directory */
	char *location; /* "vault://HOST:PORT/REPO", for the warning */
	uint8_t pk[32];
	kura_loghead best; /* the newest seen, valid if have */
	kura_loghead base; /* remembered from earlier runs, valid if have_base */
	bool have_base;
	char *frozen; /* PATH.rollback: once a rollback was seen, the head stays */
	bool have, dirty, warned;
	time_t stored;
};

int vaulthead_open(vaulthead **out, const uint8_t pk[32], const char *location)
{
	vaulthead *vh;

	*out = NULL;
	if (!(vh = calloc(1, sizeof(*vh))) || !(vh->location = strdup(location))) {
		free(vh);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&vh->lock, NULL);
	memcpy(vh->pk, pk, 32);
	vh->path = kura_loghead_client_path(pk);
	/* A missing or damaged memory is an empty one; a forged one must still verify. */
	if (vh->path && kura_loghead_load(&vh->best, vh->path) == 0 &&
	    kura_loghead_verify(&vh->best, pk)) {
		vh->have = vh->have_base = true;
		vh->base = vh->best;
	}
	kura_error_clear();
	if (vh->path && asprintf(&vh->frozen, "%s.rollback", vh->path) < 0)
		vh->frozen = NULL;
	if (vh->have && vh->frozen && access(vh->frozen, F_OK) == 0) {
		/* Later heads may grow past it on the rolled-back history: keep the evidence. */
		vh->warned = true;
		kura_loghead_warn("%s: THE VAULT'S AUDIT LOG WENT BACK before (%s): the head "
				  "remembered in %s stays until that file is removed",
				  location, vh->frozen, vh->path);
	}
	*out = vh;
	return 0;
}

static void describe(char out[96], const kura_loghead *h)
{
	char hex[65];

	kura_hex(hex, h->hash, 32);
	snprintf(out, 96, "%" PRIu64 " entries, last hash %.16s…", h->seq, hex);
}

/* Lock held. Best effort: a client without a writable cache only loses its memory. */
static void store(vaulthead *vh)
{
	char *dir, *slash;

	if (!vh->path || !vh->dirty)
		return;
	if ((dir = strdup(vh->path)) && (slash = strrchr(dir, '/'))) {
		*slash = '\0';
		if ((slash = strrchr(dir, '/'))) {
			*slash = '\0';
			(void)mkdir(dir, 0700);
			*slash = '/';
		}
		(void)mkdir(dir, 0700);
	}
	free(dir);
	if (kura_loghead_store(vh->path, &vh->best) == 0) {
		vh->dirty = false;
		vh->stored = time(NULL);
	}
	kura_error_clear();
}

void vaulthead_seen(vaulthead *vh, const char *value)
{
	char seen[96], now_s[96];
	const kura_loghead *ref;
	kura_loghead_order order;
	kura_loghead h;

	if (!vh)
		return;
	pthread_mutex_lock(&vh->lock);
	if (!value || kura_loghead_parse(&h, value, strlen(value)) < 0 ||
	    !kura_loghead_verify(&h, vh->pk)) {
		kura_error_clear();
		if (!vh->warned)
			kura_loghead_warn("%s: the vault's answer carries %s log head; its audit "
					  "log cannot be checked for a rollback",
					  vh->location, value ? "an invalid" : "no");
		vh->warned = true;
		goto done;
	}
	/* A rollback against earlier runs; within this run only a fork counts. */
	ref = vh->have_base ? &vh->base : NULL;
	order = ref ? kura_loghead_compare(ref, &h) : KURA_LOGHEAD_NEWER;
	if (order != KURA_LOGHEAD_OLDER && order != KURA_LOGHEAD_FORKED && vh->have) {
		ref = &vh->best;
		order = kura_loghead_compare(ref, &h);
		if (order == KURA_LOGHEAD_OLDER) /* an answer overtaken by a later one */
			order = KURA_LOGHEAD_SAME;
	}
	switch (order) {
	case KURA_LOGHEAD_NEWER:
		if (vh->warned && vh->frozen && access(vh->frozen, F_OK) == 0)
			break;
		vh->best = h;
		vh->have = vh->dirty = true;
		/* Kept on disk at most once a second (and at the end): thousands of reads. */
		if (time(NULL) != vh->stored)
			store(vh);
		break;
	case KURA_LOGHEAD_SAME:
		break;
	case KURA_LOGHEAD_OLDER:
	case KURA_LOGHEAD_FORKED:
		if (vh->warned)
			break;
		vh->warned = true;
		if (vh->frozen) {
			FILE *f = fopen(vh->frozen, "w");

			if (f)
				fclose(f);
		}
		describe(seen, ref);
		describe(now_s, &h);
		kura_loghead_warn("%s: THE VAULT'S AUDIT LOG WENT BACK: it answered with a log "
				  "head of %s, but this client saw %s before (remembered in %s).  "
				  "Its log was cut back or replaced by an older copy; ask an "
				  "auditor to run `kura log verify`",
				  vh->location, now_s, seen, vh->path ? vh->path : "memory");
		break;
	}
done:
	pthread_mutex_unlock(&vh->lock);
}

void vaulthead_free(vaulthead *vh)
{
	int code = kura_error_code();
	char message[1024]; /* as long as a kura error message gets (error.c) */

	if (!vh)
		return;
	/* Freed on the way out of a failed call: keep the error the caller reports. */
	snprintf(message, sizeof(message), "%s", kura_error_message());
	store(vh);
	if (code < 0)
		kura_error_set(code, "%s", message);
	pthread_mutex_destroy(&vh->lock);
	free(vh->path);
	free(vh->frozen);
	free(vh->location);
	free(vh);
}
