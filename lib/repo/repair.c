/* SPDX-License-Identifier: Apache-2.0 */
/*
 * repair.c - `kura repair index`: rebuild the index from the packs' own
 * trailers.
 *
 * Every pack ends with a list of its blobs encrypted under a subkey of the
 * index key (lib/format/pack.c), so either key can read it: the restore
 * key, and also a backup key, which can write index files anyway and so
 * gains nothing new.  Repair reads every trailer and writes new index
 * files for each pack whose blobs the existing index files do not all
 * locate exactly where the trailer says (missing, damaged or lying index
 * files).  It never deletes anything: a damaged index file stays where it
 * is and readers skip it with a warning; a lying one stays too, and
 * readers, which check every location against the data, fall back to the
 * locations repair wrote.  A pack whose trailer does not authenticate is
 * counted and named, and cannot be indexed: its blobs are lost to readers
 * unless another copy exists.
 *
 * Through a vault a reader credential may read packs but not upload, and
 * a writer may upload but not read packs (docs/THREATS.md), and that must
 * stay so.  So the repair reads through the repository's own backend (a
 * reader's) and uploads through a second one the caller opened with a
 * writer credential.  Both must show the same config file, or the new
 * index files would land in another repository.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/error.h"
#include "format/indexfile.h"
#include "repo/repo.h"

#define REPAIR_PACKS_PER_FILE 64
#define REPAIR_RECORDS_PER_FILE 65536

typedef struct {
	kura_repo *repo;
	kura_backend *upload; /* where the new index files go */
	kura_indexfile pending;
	size_t cap_packs, cap_records;
	kura_repair_result *res;
} repairer;

static int write_pending(repairer *r)
{
	uint8_t *data = NULL, name[KURA_HASH_SIZE];
	char hex[KURA_ID_HEX];
	size_t len;
	int err;

	if (r->pending.npacks == 0)
		return 0;
	if ((err = kura_indexfile_encode(&data, &len, name, &r->repo->keys, &r->pending)) < 0)
		return err;
	kura_hex(hex, name, sizeof(name));
	err = r->upload->put(r->upload, KURA_FILE_INDEX, hex, data, len);
	free(data);
	if (err == KURA_EEXISTS)
		err = 0; /* the same index already stored */
	else if (err < 0)
		return kura_error_wrap(err, "writing index %s", hex);
	else
		r->res->files_written++;
	r->pending.npacks = r->pending.nrecords = 0;
	return err;
}

/* Whether the index locates every entry of the pack exactly as its trailer does. */
static bool covered(kura_repo *repo, uint32_t pack, const kura_pack_entry *e, size_t n)
{
	bool ok = true;

	pthread_mutex_lock(&repo->lock);
	for (size_t i = 0; i < n && ok; i++) {
		kura_blob_loc want = {0}, entry;
		const kura_blob_loc *alts;
		size_t nalts;

		memcpy(want.id, e[i].id, KURA_HASH_SIZE);
		want.pack = pack;
		want.offset = e[i].offset;
		ok = kura_idmap_get(&entry, repo->index, e[i].id) && entry.pack == pack &&
		     entry.offset == e[i].offset && entry.stored_len == e[i].stored_len &&
		     entry.raw_len == e[i].raw_len && entry.type == e[i].type &&
		     entry.flags == e[i].flags;
		nalts = kura_repo__alts(repo, e[i].id, &alts);
		for (size_t j = 0; j < nalts && !ok; j++)
			ok = alts[j].pack == pack && alts[j].offset == e[i].offset &&
			     alts[j].stored_len == e[i].stored_len &&
			     alts[j].raw_len == e[i].raw_len && alts[j].type == e[i].type &&
			     alts[j].flags == e[i].flags;
	}
	pthread_mutex_unlock(&repo->lock);
	return ok;
}

/* Queue a pack's entries for the next index file, and let this handle use them. */
static int add_pack(repairer *r, uint32_t pack, const kura_pack_entry *e, size_t n)
{
	kura_repo *repo = r->repo;
	int err;

	if ((err = KURA_ARRAY_GROW(r->pending.packs, r->cap_packs, r->pending.npacks + 1)) < 0 ||
	    (err = KURA_ARRAY_GROW(r->pending.records, r->cap_records, r->pending.nrecords + n)) < 0)
		return err;
	pthread_mutex_lock(&repo->lock);
	memcpy(r->pending.packs[r->pending.npacks], repo->packs[pack], KURA_HASH_SIZE);
	for (size_t i = 0; i < n && err == 0; i++) {
		kura_blob_loc loc;

		r->pending.records[r->pending.nrecords].pack = (uint32_t)r->pending.npacks;
		r->pending.records[r->pending.nrecords++].blob = e[i];
		kura_repo__loc_from_entry(&loc, &e[i], pack);
		err = kura_repo__add_loc(repo, &loc);
	}
	pthread_mutex_unlock(&repo->lock);
	r->pending.npacks++;
	r->res->blobs_indexed += n;
	if (err == 0 && (r->pending.npacks >= REPAIR_PACKS_PER_FILE ||
			 r->pending.nrecords >= REPAIR_RECORDS_PER_FILE))
		err = write_pending(r);
	return err;
}

/* The one config file a backend lists, as hex; KURA_ECORRUPT for none or several. */
typedef struct {
	char name[KURA_ID_HEX];
	size_t count;
} config_seen;

static int see_config(const char *name, uint64_t size, void *ctx)
{
	config_seen *c = ctx;

	(void)size;
	if (c->count++ == 0)
		snprintf(c->name, sizeof(c->name), "%s", name);
	return 0;
}

static int only_config(kura_backend *b, const char *whose, config_seen *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = b->list(b, KURA_FILE_CONFIG, see_config, out)) < 0)
		return kura_error_wrap(err, "listing the config through %s", whose);
	if (out->count != 1)
		return kura_error_set(KURA_ECORRUPT, "%s lists %zu config files, expected one",
				      whose, out->count);
	return 0;
}

/*
 * Where the new index files may go: the repository's own backend, or
 * beside a vault's reader a writer's backend that shows the same config.
 */
static int choose_upload(kura_repo *repo, kura_backend *upload, kura_backend **out)
{
	config_seen mine, theirs;
	int err;

	*out = repo->backend;
	if (!upload || upload == repo->backend) {
		if (!(kura_backend_access(repo->backend) & KURA_BACKEND_WRITE))
			return kura_error_set(
			    KURA_EINVAL,
			    "repair index through a vault reads the packs with a reader "
			    "credential and uploads the new index files with a writer "
			    "credential, and no writer credential was given (a reader may not "
			    "upload, a writer may not read packs)");
		return 0;
	}
	if (kura_backend_access(repo->backend) & KURA_BACKEND_WRITE)
		return kura_error_set(KURA_EINVAL,
				      "a separate upload backend is for a store opened read-only "
				      "(a vault's reader); this one takes writes and is repaired "
				      "in place");
	if (!(kura_backend_access(upload) & KURA_BACKEND_WRITE))
		return kura_error_set(KURA_EINVAL,
				      "the writer credential's opening of the vault takes no "
				      "uploads: no index file written");
	if ((err = only_config(repo->backend, "the repository", &mine)) < 0 ||
	    (err = only_config(upload, "the writer credential", &theirs)) < 0)
		return err;
	if (strcmp(mine.name, theirs.name) != 0)
		return kura_error_set(KURA_EINVAL,
				      "the writer credential reaches another repository (config "
				      "%.16s…, not %.16s…): no index file written",
				      theirs.name, mine.name);
	*out = upload;
	return 0;
}

int kura_repair_index(kura_repo *repo, kura_backend *upload, kura_repair_result *out)
{
	repairer r = {repo, NULL, {0}, 0, 0, out};
	size_t npacks;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = choose_upload(repo, upload, &r.upload)) < 0)
		return err;
	if ((err = kura_repo__load_index(repo)) < 0)
		return err;
	pthread_mutex_lock(&repo->lock);
	npacks = repo->npacks;
	pthread_mutex_unlock(&repo->lock);
	for (uint32_t p = 0; p < npacks; p++) {
		kura_pack_entry *e = NULL;
		size_t n = 0;
		char name[KURA_ID_HEX];

		pthread_mutex_lock(&repo->lock);
		kura_hex(name, repo->packs[p], KURA_HASH_SIZE);
		pthread_mutex_unlock(&repo->lock);
		out->packs_scanned++;
		if ((err = kura_repo__pack_trailer(repo, p, &e, &n)) < 0) {
			if (!kura_repo__is_damage(err) && err != KURA_ENOTFOUND)
				goto done;
			kura_repo__damaged(repo, KURA_FILE_PACK, name, "%s", kura_error_message());
			out->damaged_packs++;
			continue;
		}
		if (!covered(repo, p, e, n))
			err = add_pack(&r, p, e, n);
		free(e);
		if (err < 0)
			goto done;
	}
	err = write_pending(&r);
done:
	free(r.pending.packs);
	free(r.pending.records);
	return err;
}
