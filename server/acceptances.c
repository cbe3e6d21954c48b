/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acceptances.c - acceptance records on the vault (acceptances.h).
 *
 * The vault reads only the plaintext header (kura_accept_peek): which
 * snapshot, and when the operator accepted it.  The reason and the names
 * are sealed to the restore key.  Records are read from the repository's
 * own accepts/ files, through the vault's store (its disk or S3), when
 * alerts are listed, so nothing here keeps a second copy that could
 * disagree; a record that no longer parses or hashes to its name is skipped
 * (kura check reports it).  When it was received is the store's time of
 * the file (mtime on disk, Last-Modified on S3).
 */
#include "acceptances.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "common/error.h"
#include "kura/backend.h"
#include "kura/keyless.h"
#include "vault_store.h"

#define ACCEPT_FILE_MAX (1u << 20) /* a record is at most 64 KiB of details and 8 KiB of hashes */

void acceptances_stored(vault *v, const char *repo, const char *name, const char *client,
			const uint8_t *data, size_t len)
{
	vault_audit *a = vault_get_audit(v);
	char snap[KURA_ID_HEX], path[512];
	int64_t t;

	if (kura_accept_peek(data, len, snap, &t) < 0) {
		fprintf(stderr, "kurad: acceptance %s of %s: %s\n", name, repo,
			kura_error_message());
		return;
	}
	snprintf(path, sizeof(path), "/v1/repos/%s/accepts/%s?snapshot=%s", repo, name, snap);
	/* what the operator said, not what the vault did: no alert is closed by it */
	if (a && audit_local(a, client, "reader", "ACCEPT", path, 200, len) < 0)
		fprintf(stderr, "kurad: audit of acceptance %s: %s\n", name, kura_error_message());
}

/*
 * The acceptances of `snapshot` among the repository's accepts/ records
 * (through the vault's store: its disk or S3), as a JSON array (maybe
 * empty).  NULL only when out of memory.
 */
static json_t *of_snapshot(kura_backend *b, const char *snapshot)
{
	kura_listed_file *files = NULL;
	json_t *arr = json_array();
	size_t n = 0;

	if (!arr)
		return NULL;
	if (kura_list_files(&files, &n, b, KURA_FILE_ACCEPT) < 0) {
		kura_error_clear();
		return arr;
	}
	for (size_t i = 0; i < n; i++) {
		char snap[KURA_ID_HEX];
		uint8_t *data = NULL;
		int64_t t, received;
		size_t len;

		if (files[i].size > ACCEPT_FILE_MAX ||
		    kura_backend_get_verified(b, KURA_FILE_ACCEPT, files[i].name, &data, &len) <
			0 ||
		    kura_accept_peek(data, len, snap, &t) < 0 || strcmp(snap, snapshot) != 0 ||
		    kura_backend_mtime(b, KURA_FILE_ACCEPT, files[i].name, &received) < 0) {
			kura_error_clear();
			free(data);
			continue;
		}
		json_array_append_new(arr, json_pack("{s:s, s:I, s:I}", "record", files[i].name,
						     "accepted_ns", (json_int_t)t, "received_ns",
						     (json_int_t)received));
		free(data);
	}
	free(files);
	return arr;
}

/* The repository's store for reading (no spool: nothing is uploaded here). */
static int open_for_reading(const vault_store *s, const char *dir, const char *repo,
			    kura_backend **out)
{
	return vault_store_on_disk(s) ? vault_store_open_repo(s, dir, repo, out)
				      : vault_store_open_s3(s, repo, out);
}

void acceptances_annotate(const char *dir, json_t *alerts)
{
	vault_store *s = NULL;
	size_t i;
	json_t *item;

	if (vault_store_load(&s, dir) < 0) {
		/* alerts are still listed; the store's fault is the vault's own to report */
		kura_error_clear();
		return;
	}
	json_array_foreach(alerts, i, item)
	{
		const char *repo = json_string_value(json_object_get(item, "repo"));
		const char *snap = json_string_value(
		    json_object_get(json_object_get(item, "details"), "snapshot"));
		kura_backend *b = NULL;
		json_t *arr;

		if (!repo || !snap || !vault_name_ok(repo) || strlen(snap) != KURA_ID_HEX - 1)
			continue;
		if (open_for_reading(s, dir, repo, &b) < 0) {
			kura_error_clear();
			continue;
		}
		if ((arr = of_snapshot(b, snap)) && json_array_size(arr))
			json_object_set_new(item, "acceptances", arr);
		else
			json_decref(arr);
		kura_backend_free(b);
	}
	vault_store_free(s);
}
