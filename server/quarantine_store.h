/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quarantine_store.h - the quarantine records of a vault
 * (docs/PROTOCOL.md, "Quarantine"): DIR/quarantine/QID.json, one per
 * `kurad client revoke NAME --since TIME` that found files.
 *
 * Record (JSON): {"id", "repo", "client", "since_ns", "made_ns",
 *   "files": [{"type", "name", "received_ns", "size"}, ...] (sorted by name, unique),
 *   "kept_visible": [PACK, ...]   packs the client uploaded that a snapshot
 *                                 outside the quarantine names: not hidden,
 *   "state": "quarantined"|"released"|"removed",
 *   "request": null | ID          the request that released or removed them,
 *   "done_ns": null | N, "logged": bool}
 * While the state is "quarantined" its files are kept but hidden from
 * every client of the vault (quarantine_view.h).  Records are written only
 * under the deletion lock (deletion_store_lock), by `kurad client revoke`,
 * `kurad serve`'s tick (which sets "logged" once the record is in the
 * audit log) and the carrying out of a quarantine request.
 */
#ifndef KURA_SERVER_QUARANTINE_STORE_H
#define KURA_SERVER_QUARANTINE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kura/backend.h"
#include "kura/kura.h"
#include "vault_state.h"

#define QUARANTINE_ID_MAX 999999999UL
#define QUARANTINE_FILES_MAX 10000000 /* ten million files in one record */

typedef enum {
	QUARANTINE_HELD = 1,	 /* "quarantined" */
	QUARANTINE_RELEASED = 2, /* "released" */
	QUARANTINE_REMOVED = 3,	 /* "removed" */
} quarantine_state;

typedef struct {
	kura_file_type type;
	char name[KURA_ID_HEX];
	int64_t received_ns;
	uint64_t size;
} quarantine_file;

typedef struct {
	unsigned long id;
	char repo[VAULT_NAME_MAX + 1];
	char client[VAULT_NAME_MAX + 1];
	int64_t since_ns, made_ns;
	quarantine_file *files; /* sorted by name, unique */
	size_t nfiles;
	char (*kept)[KURA_ID_HEX]; /* kept_visible */
	size_t nkept;
	quarantine_state state;
	unsigned long request; /* 0: null */
	int64_t done_ns;       /* 0: null */
	bool logged;
} quarantine_rec;

const char *quarantine_state_name(quarantine_state s);

void quarantine_rec_free(quarantine_rec *r);
void quarantine_recs_free(quarantine_rec *rs, size_t n);

/* strcmp of two quarantine_file names, for qsort and bsearch. */
int quarantine_file_cmp(const void *a, const void *b);

/* The record as its file's JSON object; NULL when out of memory. */
json_t *quarantine_rec_json(const quarantine_rec *r);

/*
 * Parse a record file's text (`path` names it in errors; `id` must match
 * its "id").  Every member is checked: KURA_ECORRUPT naming what is wrong.
 */
int quarantine_rec_parse(quarantine_rec *out, const char *text, size_t len, const char *path,
			 unsigned long id);

/* Read DIR/quarantine/QID.json (KURA_ENOTFOUND, KURA_ECORRUPT). */
int quarantine_rec_load(const char *dir, unsigned long id, quarantine_rec *out);

/*
 * Every record in DIR/quarantine by id (*out malloc'd).  A record that
 * cannot be read stops the load (KURA_ECORRUPT naming it): hiding less
 * than was quarantined is not a safe default.
 */
int quarantine_rec_load_all(const char *dir, quarantine_rec **out, size_t *out_n);

/* Write DIR/quarantine/QID.json (fresh: only if the id is free).  Under the deletion lock. */
int quarantine_rec_save(const char *dir, const quarantine_rec *r, bool fresh);

#endif
