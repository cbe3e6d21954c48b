/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provenance.h - which credential uploaded each stored file, and when by
 * the vault's own clock (docs/PROTOCOL.md, "Vault directory").
 *
 * DIR/meta/REPO/uploads holds one line per stored file,
 *   TYPE " " NAME " " RECEIVED_NS " " CLIENT "\n"
 * (TYPE config, keys, snapshots, index or data), appended and fsynced
 * before the file becomes visible, so every stored file has a line.  The
 * file is only ever appended to.  When a name has several lines (two
 * uploads of the same bytes raced, or a commit failed after its line was
 * written), the first line is the one that counts: a file already
 * attributed is never re-attributed.  `kurad client revoke --since`
 * (quarantine.h) reads it to find what a stolen credential uploaded.
 */
#ifndef KURA_SERVER_PROVENANCE_H
#define KURA_SERVER_PROVENANCE_H

#include <stddef.h>
#include <stdint.h>

#include "kura/backend.h"
#include "kura/keyless.h"
#include "kura/kura.h"
#include "vault_state.h"

#define PROVENANCE_LINE_MAX 256

typedef struct {
	kura_file_type type;
	char name[KURA_ID_HEX];
	int64_t received_ns;
	char client[VAULT_NAME_MAX + 1];
} provenance_entry;

/* Append the line for an upload to DIR/meta/REPO/uploads (made if missing), fsynced. */
int provenance_record(const char *dir, const char *repo, kura_file_type type, const char *name,
		      int64_t received_ns, const char *client);

/*
 * Parse one line (without its "\n") of exactly the form above.  0 and
 * *out, or KURA_ECORRUPT.
 */
int provenance_parse_line(const char *line, size_t len, provenance_entry *out);

/*
 * Call fn for every line of DIR/meta/REPO/uploads in order (a missing file
 * has none), then for every line of snapshot-times as a snapshot's upload
 * (so snapshots stored before this record existed have an uploader too;
 * for the others it repeats what uploads said first).  A line that does
 * not parse is reported on stderr with its number and skipped: one bad
 * line must not hide the others.  fn returns 0 to go on, <0 to stop with
 * that error.
 */
typedef int (*provenance_fn)(const provenance_entry *e, void *ctx);
int provenance_each(const char *dir, const char *repo, provenance_fn fn, void *ctx);

#endif
