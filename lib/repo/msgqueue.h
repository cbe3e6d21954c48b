/* SPDX-License-Identifier: Apache-2.0 */
/*
 * msgqueue.h - messages that pool workers leave for the calling thread
 * (internal to lib/repo).  The library's callbacks (problems, warnings)
 * run on the caller's thread only, so a worker that meets something to
 * say queues it here, and the calling thread drains the queue between
 * jobs and says it, in the order queued.  Used by check --read-data
 * (checkdata.c) and restore (restcontent.c).
 *
 * A message is one allocation: a kind and a borrowed pointer for the
 * user, and one or two strings.  A kura_msglist belongs to one thread (a
 * worker gathers one job's messages in order); a kura_msgqueue is shared,
 * behind its own mutex.  A message that cannot be allocated is counted
 * as lost, never silently dropped: the caller still counts what it was
 * about.
 */
#ifndef KURA_REPO_MSGQUEUE_H
#define KURA_REPO_MSGQUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kura_msg {
	struct kura_msg *next;
	int kind;          /* the user's */
	const void *ref;   /* the user's, borrowed: must outlive the message */
	size_t second;     /* offset in text of the second string; 0: none */
	char text[];       /* the first string, NUL, then the second, NUL */
} kura_msg;

typedef struct {
	kura_msg *head, **tail;
	uint64_t lost;     /* messages that could not be allocated */
} kura_msglist;

typedef struct {
	pthread_mutex_t lock;
	kura_msglist list;
} kura_msgqueue;

void kura_msglist_init(kura_msglist *l);
/*
 * Append a message (`second` may be NULL); out of memory, l->lost counts
 * it instead.
 */
void kura_msglist_add(kura_msglist *l, int kind, const void *ref, const char *text,
		      const char *second);
/* Move b's messages (and lost count) to the end of a's; b is left empty. */
void kura_msglist_cat(kura_msglist *a, kura_msglist *b);
/* Free every message; the list is left empty. */
void kura_msglist_free(kura_msglist *l);

void kura_msgqueue_init(kura_msgqueue *q);
/* Frees what was never drained. */
void kura_msgqueue_destroy(kura_msgqueue *q);
/* kura_msglist_add on the shared queue: any thread. */
void kura_msgqueue_add(kura_msgqueue *q, int kind, const void *ref, const char *text,
		       const char *second);
/* Move a whole list to the end of the queue: any thread. */
void kura_msgqueue_put(kura_msgqueue *q, kura_msglist *l);
/* Take everything queued so far into *out (initialised here), in order: the draining thread. */
void kura_msgqueue_take(kura_msgqueue *q, kura_msglist *out);

#endif
