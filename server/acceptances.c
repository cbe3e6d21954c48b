/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acceptances.c - acceptance records on the vault (acceptances.h).
 *
 * The vault reads only the plaintext header (kura_accept_peek): which
 * snapshot, and when the operator accepted it.  The reason and the names
 * are sealed to the restore key.  Records are read from the repository's
 * own accepts/ directory when alerts are listed, so nothing here keeps a
 * second copy that could disagree; a record that no longer parses is
 * skipped (kura check reports it).
 */
#include "acceptances.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "common/error.h"
#include "files.h"
#include "kura/keyless.h"

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

/* The acceptances of `snapshot` in DIR/repos/REPO/accepts, as a JSON array (maybe empty). */
static json_t *of_snapshot(const char *dir, const char *repo, const char *snapshot)
{
	json_t *arr = json_array();
	char *adir = NULL;
	DIR *d;
	struct dirent *e;

	if (!arr || asprintf(&adir, "%s/repos/%s/accepts", dir, repo) < 0) {
		json_decref(arr);
		return NULL;
	}
	if (!(d = opendir(adir))) {
		free(adir);
		return arr;
	}
	while ((e = readdir(d))) {
		char *path = NULL, *text = NULL, snap[KURA_ID_HEX];
		size_t len;
		int64_t t;
		struct stat st;

		if (!kura_file_name_is_valid(e->d_name) ||
		    asprintf(&path, "%s/%s", adir, e->d_name) < 0)
			continue;
		if (files_read(path, ACCEPT_FILE_MAX, &text, &len) == 0 &&
		    kura_accept_peek((const uint8_t *)text, len, snap, &t) == 0 &&
		    strcmp(snap, snapshot) == 0 && stat(path, &st) == 0)
			json_array_append_new(arr,
					      json_pack("{s:s, s:I, s:I}", "record", e->d_name,
							"accepted_ns", (json_int_t)t, "received_ns",
							(json_int_t)st.st_mtim.tv_sec * 1000000000 +
							    st.st_mtim.tv_nsec));
		kura_error_clear();
		free(text);
		free(path);
	}
	closedir(d);
	free(adir);
	return arr;
}

void acceptances_annotate(const char *dir, json_t *alerts)
{
	size_t i;
	json_t *item;

	json_array_foreach(alerts, i, item)
	{
		const char *repo = json_string_value(json_object_get(item, "repo"));
		const char *snap = json_string_value(
		    json_object_get(json_object_get(item, "details"), "snapshot"));
		json_t *arr;

		if (!repo || !snap || !vault_name_ok(repo) || strlen(snap) != KURA_ID_HEX - 1)
			continue;
		if ((arr = of_snapshot(dir, repo, snap)) && json_array_size(arr))
			json_object_set_new(item, "acceptances", arr);
		else
			json_decref(arr);
	}
}
