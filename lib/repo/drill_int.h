/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drill_int.h - what the two parts of a drill share (internal):
 * drillcheck.c lists a snapshot's nodes and checks a restored copy of
 * each against them; drill.c picks the snapshot and the sample, restores,
 * runs the verify command and writes the record.
 */
#ifndef KURA_REPO_DRILL_INT_H
#define KURA_REPO_DRILL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo/repo.h"

typedef struct {
	char *path;        /* in the snapshot: "/a/b" */
	kura_node node;    /* moved out of its tree */
	bool selected;     /* restored and checked by this drill */
} drill_entry;

typedef struct {
	drill_entry *items;
	size_t count, cap;
	uint64_t files, bytes; /* regular files of the whole snapshot */
} drill_list;

/* Every node of the snapshot whose root tree is `root`, parents first, in byte order. */
int kura_drill__collect(kura_repo *repo, const uint8_t root[KURA_HASH_SIZE], drill_list *out);
void kura_drill__list_free(drill_list *l);

/*
 * Check the restored copy of `e` below `rootfd` (the scratch directory).
 * 0 when it matches; else the KURA_DRILL_FAILED_* flag of the mismatch
 * with why in `msg`; a negative code only when the check itself could not
 * run (memory).  *bytes counts the content bytes re-hashed.
 */
int kura_drill__check_entry(kura_repo *repo, int rootfd, const drill_entry *e, bool check_owner,
			    char *msg, size_t msglen, uint64_t *bytes);

#endif
