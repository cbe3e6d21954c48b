/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_store.h - where a vault keeps its repositories' files
 * (docs/PROTOCOL.md, "Vault directory" and "A vault on S3"): on its own
 * disk (DIR/repos/REPO, the default), or in an S3 bucket with Object Lock
 * (`kurad init DIR --store s3:...`), each repository under PREFIX/REPO/ in
 * the S3 backend's layout.  Either way the handlers see a kura_backend
 * with streamed uploads; on S3 an upload is spooled to DIR/spool/REPO/
 * and stored by one locked, confirmed PUT when it is complete
 * (store_spool.h).
 *
 * The vault's state, credentials, audit log and policy stay in DIR.  The
 * store's settings are vault.json's "store" member; its keys are
 * DIR/s3.json (mode 0600, never readable by anyone but kurad's user).
 *
 * One vault per prefix: `kurad init` claims PREFIX by a locked marker
 * object (PREFIX/_kurad/config/NAME, holding the vault's id, the hex of
 * its signing.pub) and refuses a prefix another vault has claimed; `kurad
 * serve` refuses to start on a prefix whose markers do not name it.
 */
#ifndef KURA_SERVER_VAULT_STORE_H
#define KURA_SERVER_VAULT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kura/sys/backend.h"

typedef struct vault_store vault_store;

/* What `kurad init --store` was given; strings borrowed for the call. */
typedef struct {
	const char *url; /* "s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX]" or "s3://BUCKET[/PREFIX]" */
	const char *endpoint;	   /* AWS_ENDPOINT_URL, for s3://; may be NULL */
	const char *region;	   /* AWS_REGION; may be NULL */
	const char *access_key;	   /* AWS_ACCESS_KEY_ID */
	const char *secret_key;	   /* AWS_SECRET_ACCESS_KEY */
	const char *session_token; /* AWS_SESSION_TOKEN; may be NULL */
	uint32_t lock_days;	   /* 0: KURA_S3_LOCK_DAYS_DEFAULT */
	bool virtual_host;
} vault_store_init_options;

/*
 * For `kurad init`, before vault.json is written: check the options,
 * prepare the bucket (created with Object Lock, or one that has it), claim
 * the prefix for vault `vault_id` (KURA_EEXISTS if another vault holds
 * it), and write DIR/s3.json.  *out_json is vault.json's "store" member
 * (a new reference).
 */
int vault_store_init(const char *dir, const char *vault_id, const vault_store_init_options *o,
		     json_t **out_json);

/*
 * The store of the vault in `dir`: vault.json's "store" and DIR/s3.json
 * when there is one, else the disk.  KURA_ECORRUPT naming the file for
 * anything malformed, a credentials file others may read included.
 */
int vault_store_load(vault_store **out, const char *dir);
void vault_store_free(vault_store *s);

/* true for the default store, the vault's own disk. */
bool vault_store_on_disk(const vault_store *s);

/* "s3:http://HOST/BUCKET/PREFIX" or "disk"; borrowed. */
const char *vault_store_describe(const vault_store *s);

/* The S3 lock period of the store's repositories in days (0 on disk). */
uint32_t vault_store_lock_days(const vault_store *s);

/*
 * On S3: KURA_EDENIED unless the prefix's markers name vault `vault_id`
 * (another vault's prefix, or a prefix nobody claimed).  0 on disk.
 */
int vault_store_check_claim(const vault_store *s, const char *vault_id);

/*
 * Open repository `repo` for serving: the local backend on DIR/repos/REPO,
 * or the S3 repository PREFIX/REPO/ behind an upload spool in
 * DIR/spool/REPO.  *out belongs to the caller.
 */
int vault_store_open_repo(const vault_store *s, const char *dir, const char *repo,
			  kura_backend **out);

/* The S3 repository PREFIX/REPO/ itself, without a spool (lock extension). */
int vault_store_open_s3(const vault_store *s, const char *repo, kura_backend **out);

/* The prefix's marker "repository" (PREFIX/_kurad/), for lock extension. */
int vault_store_open_marker(const vault_store *s, kura_backend **out);

/* Make repository `repo` if it does not exist yet (`kurad client add`). */
int vault_store_create_repo(const vault_store *s, const char *dir, const char *repo);

/* The vault's id: the lowercase hex of DIR/signing.pub (65 bytes with the NUL). */
int vault_store_vault_id(const char *dir, char out[65]);

#endif
