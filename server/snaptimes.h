/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snaptimes.h - the one reader of DIR/meta/REPO/snapshot-times, the
 * vault's record of when each snapshot arrived by its own clock and from
 * which client (docs/PROTOCOL.md, "Vault directory"):
 *   NAME " " RECEIVED_NS " " CLIENT "\n"
 * appended and fsynced by vault_record_snapshot (vault_repos.c), one
 * line per committed snapshot; a name may have several lines (a retried
 * upload), and the first one counts.
 *
 * Retention, holds, the silence watch, `kurad status`, the web page and
 * the upload provenance all read it through snaptimes_each, so they agree
 * on what a well-formed line is.  The file is the vault's own, but a
 * crash can tear its last line and a disk can damage it: a line that does
 * not parse is skipped and counted, never fatal.
 */
#ifndef KURA_SERVER_SNAPTIMES_H
#define KURA_SERVER_SNAPTIMES_H

#include <stddef.h>
#include <stdint.h>

#include "kura/keyless.h"
#include "vault_records.h"

#define SNAPTIMES_FILE "snapshot-times" /* in DIR/meta/REPO/ */

/* One line of the file. */
typedef struct {
	char name[KURA_ID_HEX];		 /* 64 lowercase hex digits */
	int64_t received_ns;		 /* > 0 */
	char client[VAULT_NAME_MAX + 1]; /* vault_name_ok */
} snaptimes_line;

/*
 * Parse one line, without its "\n", of exactly the form above (no other
 * spaces, RECEIVED_NS digits only with no leading zero).  0 and *out, or
 * KURA_ECORRUPT; *out is zeroed either way first.
 */
int snaptimes_parse(snaptimes_line *out, const char *line, size_t len);

/* What snaptimes_each passed over: how many lines, and the number of the first (1-based). */
typedef struct {
	unsigned long long count;
	unsigned long long first_line;
} snaptimes_skipped;

/*
 * fn gets each well-formed line, in file order, with its line number
 * (1-based); it returns 0 to go on, <0 to stop with that error.
 */
typedef int (*snaptimes_fn)(const snaptimes_line *l, unsigned long long lineno, void *ctx);

/*
 * Stream DIR/meta/REPO/snapshot-times (any size) into fn.  A missing file
 * has no lines: 0.  A malformed line, or a last line without its newline
 * (a torn append), is skipped and counted in *out_skipped (when not NULL)
 * for the caller to warn about.  Returns 0, fn's error, KURA_EINVAL for a
 * bad repository name, or an I/O error naming the file; the file is
 * opened with O_NOFOLLOW.
 */
int snaptimes_each(const char *vault_dir, const char *repo, snaptimes_fn fn, void *ctx,
		   snaptimes_skipped *out_skipped);

/*
 * Say on stderr what snaptimes_each skipped, if anything: "kurad: PATH:
 * skipped N malformed lines (the first is line L)".  For kurad's commands,
 * which may print; a reader that shows no warnings just does not call it.
 */
void snaptimes_warn(const char *vault_dir, const char *repo, const snaptimes_skipped *s);

#endif
