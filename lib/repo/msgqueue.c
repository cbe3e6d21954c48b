/* SPDX-License-Identifier: Apache-2.0 */
/* msgqueue.c - see msgqueue.h. */
#include "repo/msgqueue.h"

#include <stdlib.h>
#include <string.h>

void kura_msglist_init(kura_msglist *l)
{
	l->head = NULL;
	l->tail = &l->head;
	l->lost = 0;
}

void kura_msglist_add(kura_msglist *l, int kind, const void *ref, const char *text,
		      const char *second)
{
	size_t len = strlen(text) + 1, slen = second ? strlen(second) + 1 : 0;
	kura_msg *m = malloc(sizeof(*m) + len + slen);

	if (!m) {
		l->lost++;
		return;
	}
	m->next = NULL;
	m->kind = kind;
	m->ref = ref;
	memcpy(m->text, text, len);
	m->second = slen ? len : 0;
	if (slen)
		memcpy(m->text + len, second, slen);
	*l->tail = m;
	l->tail = &m->next;
}

void kura_msglist_cat(kura_msglist *a, kura_msglist *b)
{
	if (b->head) {
		*a->tail = b->head;
		a->tail = b->tail;
	}
	a->lost += b->lost;
	kura_msglist_init(b);
}

void kura_msglist_free(kura_msglist *l)
{
	while (l->head) {
		kura_msg *next = l->head->next;

		free(l->head);
		l->head = next;
	}
	kura_msglist_init(l);
}

void kura_msgqueue_init(kura_msgqueue *q)
{
	pthread_mutex_init(&q->lock, NULL);
	kura_msglist_init(&q->list);
}

void kura_msgqueue_destroy(kura_msgqueue *q)
{
	kura_msglist_free(&q->list);
	pthread_mutex_destroy(&q->lock);
}

void kura_msgqueue_add(kura_msgqueue *q, int kind, const void *ref, const char *text,
		       const char *second)
{
	kura_msglist one;

	/* allocated outside the lock: the lock is held only to link it */
	kura_msglist_init(&one);
	kura_msglist_add(&one, kind, ref, text, second);
	kura_msgqueue_put(q, &one);
}

void kura_msgqueue_put(kura_msgqueue *q, kura_msglist *l)
{
	pthread_mutex_lock(&q->lock);
	kura_msglist_cat(&q->list, l);
	pthread_mutex_unlock(&q->lock);
}

void kura_msgqueue_take(kura_msgqueue *q, kura_msglist *out)
{
	kura_msglist_init(out);
	pthread_mutex_lock(&q->lock);
	kura_msglist_cat(out, &q->list);
	pthread_mutex_unlock(&q->lock);
}
