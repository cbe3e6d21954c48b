/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locate.c - finding a blob when its index entry lies: index entries are
 * hints, checked against the data.
 *
 * Any writer can upload an index file, and a stolen backup key can make
 * one that authenticates and still maps existing blob ids to the wrong
 * pack or offset.  So a reader never trusts a location alone: the blob
 * must decrypt under its pack's key with its id as associated data and
 * hash back to its id.  When it does not, the reader tries the other
 * locations the index files gave for that id (kept in the repository's
 * side table, which is empty in a healthy repository, so memory stays at
 * the index's ~46 bytes a blob), and failing those, the packs' own
 * trailers, which only the writer of the pack itself could have made and
 * which can name only blobs of that pack.  The scan of the trailers runs
 * at most once per handle; what it finds that the index lacks joins the
 * index or the side table.  A location that works becomes the blob's
 * entry, so a poisoned entry costs one failed read per blob, not one per
 * use.  Every location that fails is noted as damage, naming the pack.
 * A location that cannot be read at all (EIO from a failing disk or a
 * broken connection) is not damage of the data: it is noted as unreadable,
 * and when no other location holds the blob the error says so, with the
 * store's own message (the pack, the offset, the errno), not "damaged".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "repo/repo.h"

/* Fetch and decode the blob at loc; *out is malloc'd with loc->raw_len bytes. */
static int read_at(kura_repo *repo, const kura_blob_loc *loc, uint8_t **out)
{
	uint8_t *stored = NULL;
	char name[KURA_ID_HEX];
	int err;

	*out = NULL;
	pthread_mutex_lock(&repo->lock);
	if (loc->pack >= repo->npacks) {
		pthread_mutex_unlock(&repo->lock);
		return kura_error_set(KURA_EINVAL, "pack ordinal %u out of range", loc->pack);
	}
	kura_hex(name, repo->packs[loc->pack], KURA_HASH_SIZE);
	pthread_mutex_unlock(&repo->lock);
	if (!(stored = malloc(loc->stored_len ? loc->stored_len : 1)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	err = repo->backend->get_range(repo->backend, KURA_FILE_PACK, name, loc->offset,
				       loc->stored_len, stored);
	/* the store's own read errors name the pack and the offset already */
	if (err == 0)
		err = kura_repo__decode_blob(repo, loc, stored, out);
	if (err < 0 && err != KURA_EIO)
		kura_error_wrap(err, "pack %s, offset %u", name, loc->offset);
	free(stored);
	return err;
}

/* Note that loc does not hold its blob (the message is the current error). */
static void note_bad(kura_repo *repo, const kura_blob_loc *loc)
{
	char name[KURA_ID_HEX], id[17];

	pthread_mutex_lock(&repo->lock);
	if (loc->pack >= repo->npacks) {
		pthread_mutex_unlock(&repo->lock);
		return;
	}
	kura_hex(name, repo->packs[loc->pack], KURA_HASH_SIZE);
	pthread_mutex_unlock(&repo->lock);
	kura_hex(id, loc->id, 8);
	/* the pack may be intact and the index lying: check --read-data tells which */
	kura_repo__damaged(repo, KURA_FILE_PACK, name,
			   "blob %s… is not at offset %u as an index says (looked elsewhere; "
			   "a damaged pack or a lying index file: 'kura check --read-data' "
			   "tells which): %s",
			   id, loc->offset, kura_error_message());
}

/* loc could not be read at all (the message is the store's error): not damage of the data. */
static void note_unreadable(kura_repo *repo, const kura_blob_loc *loc)
{
	char name[KURA_ID_HEX], id[17];

	pthread_mutex_lock(&repo->lock);
	if (loc->pack >= repo->npacks) {
		pthread_mutex_unlock(&repo->lock);
		return;
	}
	kura_hex(name, repo->packs[loc->pack], KURA_HASH_SIZE);
	pthread_mutex_unlock(&repo->lock);
	kura_hex(id, loc->id, 8);
	kura_repo__damaged(repo, KURA_FILE_PACK, name, "unreadable (blob %s…): %s", id,
			   kura_error_message());
}

/* The first read error of a lookup (KURA_EIO), kept for its final message. */
typedef struct {
	bool seen;
	char message[512];
} io_failure;

static bool same_place(const kura_blob_loc *a, const kura_blob_loc *b)
{
	return a->pack == b->pack && a->offset == b->offset && a->stored_len == b->stored_len;
}

/*
 * Every location of id that is not `skip`, entry first, as a malloc'd
 * copy (the side table may move while we read).
 */
static int candidates(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE],
		      const kura_blob_loc *skip, kura_blob_loc **out, size_t *out_count)
{
	const kura_blob_loc *alts;
	kura_blob_loc entry;
	size_t n = 0, nalts;
	bool has_entry;
	int err = 0;

	*out = NULL;
	*out_count = 0;
	pthread_mutex_lock(&repo->lock);
	has_entry = repo->index && kura_idmap_get(&entry, repo->index, id) &&
		    entry.pack != KURA_PACK_PENDING;
	nalts = kura_repo__alts(repo, id, &alts);
	if (!(*out = malloc((nalts + 1) * sizeof(**out)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (has_entry && !(skip && same_place(&entry, skip)))
		(*out)[n++] = entry;
	for (size_t i = 0; i < nalts; i++)
		if (!(skip && same_place(&alts[i], skip)))
			(*out)[n++] = alts[i];
	*out_count = n;
done:
	pthread_mutex_unlock(&repo->lock);
	return err;
}

/* loc worked: make it the blob's entry, and the old entry one of the others. */
static void promote(kura_repo *repo, const kura_blob_loc *loc)
{
	kura_blob_loc entry;

	pthread_mutex_lock(&repo->lock);
	if (repo->index && kura_idmap_get(&entry, repo->index, loc->id) &&
	    !same_place(&entry, loc) && kura_idmap_put(repo->index, loc) == 0 &&
	    entry.pack != KURA_PACK_PENDING) {
		/*
		 * The old entry takes loc's place among the others (same id, so
		 * the table stays sorted by id): it stays a candidate.
		 */
		const kura_blob_loc *alts;
		size_t n = kura_repo__alts(repo, loc->id, &alts);

		for (size_t i = 0; i < n; i++)
			if (same_place(&alts[i], loc)) {
				repo->alts[(size_t)(alts - repo->alts) + i] = entry;
				break;
			}
	}
	pthread_mutex_unlock(&repo->lock);
}

/* Try each candidate in turn; 1 if none worked (the error message says the last failure). */
static int try_all(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], const kura_blob_loc *skip,
		   const kura_blob_loc *tried, size_t ntried, uint8_t **out, kura_blob_loc *out_loc,
		   io_failure *io)
{
	kura_blob_loc *c = NULL;
	size_t n;
	int err;

	if ((err = candidates(repo, id, skip, &c, &n)) < 0)
		return err;
	err = 1;
	for (size_t i = 0; i < n && err != 0; i++) {
		bool seen = false;

		for (size_t j = 0; j < ntried && !seen; j++)
			seen = same_place(&c[i], &tried[j]);
		if (seen)
			continue;
		if ((err = read_at(repo, &c[i], out)) == 0) {
			if (out_loc)
				*out_loc = c[i];
			promote(repo, &c[i]);
			break;
		}
		if (err == KURA_ENOMEM || err == KURA_ENEEDKEY)
			break;
		if (err == KURA_EIO) {
			if (!io->seen)
				snprintf(io->message, sizeof(io->message), "%s",
					 kura_error_message());
			io->seen = true;
			note_unreadable(repo, &c[i]);
		} else {
			note_bad(repo, &c[i]);
		}
		err = 1;
	}
	free(c);
	return err;
}

int kura_repo__read_blob_any(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE],
			     const kura_blob_loc *tried, uint8_t **out, size_t *out_len,
			     kura_blob_loc *out_loc)
{
	kura_blob_loc *before = NULL, found;
	size_t nbefore = 0;
	char hex[KURA_ID_HEX];
	io_failure io = {0};
	int err;

	*out = NULL;
	if (tried)
		note_bad(repo, tried);
	if ((err = try_all(repo, id, tried, NULL, 0, out, &found, &io)) <= 0)
		goto done;
	/* every location the indexes give failed, or there is none: ask the packs */
	if ((err = candidates(repo, id, tried, &before, &nbefore)) < 0 ||
	    (err = kura_repo__scan_trailers(repo)) < 0)
		goto done;
	if ((err = try_all(repo, id, tried, before, nbefore, out, &found, &io)) <= 0)
		goto done;
	kura_hex(hex, id, KURA_HASH_SIZE);
	if (io.seen) {
		/* the cause is the store, not the data: say what it said */
		err = kura_error_set(KURA_EIO, "blob %s: %s%s", hex, io.message,
				     nbefore > 1 || tried ? " (no other location holds it intact)"
							  : "");
		goto done;
	}
	err = kura_error_set(nbefore || tried ? KURA_ECORRUPT : KURA_ENOTFOUND,
			     nbefore || tried ? "blob %s: no location the index or the packs give "
						"holds it intact"
					      : "blob %s is in no index and no pack",
			     hex);
done:
	free(before);
	if (err == 0) {
		if (out_len)
			*out_len = found.raw_len;
		if (out_loc)
			*out_loc = found;
	}
	return err;
}

int kura_repo__lookup_fit(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], uint8_t type,
			  uint32_t raw_len, kura_blob_loc *out)
{
	kura_blob_loc entry;
	char hex[KURA_ID_HEX];
	bool fits;
	int err;

	/* the common case, without copying candidates: the entry fits */
	pthread_mutex_lock(&repo->lock);
	fits = repo->index && kura_idmap_get(&entry, repo->index, id) &&
	       entry.pack != KURA_PACK_PENDING && entry.type == type && entry.raw_len == raw_len;
	pthread_mutex_unlock(&repo->lock);
	if (fits) {
		*out = entry;
		return 0;
	}
	for (int pass = 0; pass < 2; pass++) {
		kura_blob_loc *c = NULL;
		size_t n;

		if (pass == 1 && (err = kura_repo__scan_trailers(repo)) < 0)
			return err;
		if ((err = candidates(repo, id, NULL, &c, &n)) < 0)
			return err;
		for (size_t i = 0; i < n; i++)
			if (c[i].type == type && c[i].raw_len == raw_len) {
				*out = c[i];
				free(c);
				return 0;
			}
		free(c);
	}
	kura_hex(hex, id, KURA_HASH_SIZE);
	return kura_error_set(KURA_ENOTFOUND,
			      "blob %s (type %u, %u bytes) is in no index and no pack", hex, type,
			      raw_len);
}

int kura_repo__pack_trailer(kura_repo *repo, uint32_t pack, kura_pack_entry **out,
			    size_t *out_count)
{
	uint8_t header[KURA_PACK_HEADER_SIZE], footer[KURA_PACK_FOOTER_SIZE], *tail = NULL;
	char name[KURA_ID_HEX];
	uint64_t size;
	size_t tail_len;
	int err;

	*out = NULL;
	*out_count = 0;
	pthread_mutex_lock(&repo->lock);
	kura_hex(name, repo->packs[pack], KURA_HASH_SIZE);
	size = repo->pack_sizes[pack];
	pthread_mutex_unlock(&repo->lock);
	if (size < sizeof(header) + sizeof(footer) || size > KURA_PACK_MAX_SIZE)
		return kura_error_set(KURA_ECORRUPT, "pack %s: %llu bytes cannot hold a trailer",
				      name, (unsigned long long)size);
	if ((err = repo->backend->get_range(repo->backend, KURA_FILE_PACK, name,
					    size - sizeof(footer), sizeof(footer), footer)) < 0 ||
	    (err = repo->backend->get_range(repo->backend, KURA_FILE_PACK, name, 0,
					    sizeof(header), header)) < 0)
		goto done;
	tail_len = (size_t)kura_get_le32(footer) + sizeof(footer);
	if (tail_len > size - sizeof(header)) {
		err = kura_error_set(KURA_ECORRUPT, "pack: trailer length %u out of range",
				     kura_get_le32(footer));
		goto done;
	}
	if (!(tail = malloc(tail_len))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = repo->backend->get_range(repo->backend, KURA_FILE_PACK, name, size - tail_len,
					    tail_len, tail)) < 0)
		goto done;
	err = kura_pack_read_trailer(out, out_count, &repo->keys, header, tail, tail_len, size);
done:
	free(tail);
	if (err < 0)
		kura_error_wrap(err, "pack %s", name);
	return err;
}

int kura_repo__scan_trailers(kura_repo *repo)
{
	size_t npacks;
	int err = 0;

	if ((err = kura_repo__load_index(repo)) < 0)
		return err;
	pthread_mutex_lock(&repo->scan_lock);
	if (repo->trailers_scanned)
		goto done;
	pthread_mutex_lock(&repo->lock);
	npacks = repo->npacks;
	pthread_mutex_unlock(&repo->lock);
	for (uint32_t p = 0; p < npacks; p++) {
		kura_pack_entry *e = NULL;
		char name[KURA_ID_HEX];
		size_t n = 0;
		uint64_t size;

		pthread_mutex_lock(&repo->lock);
		size = repo->pack_sizes[p];
		kura_hex(name, repo->packs[p], KURA_HASH_SIZE);
		pthread_mutex_unlock(&repo->lock);
		if (size == 0)
			continue; /* written by this handle: indexed as it was written */
		if ((err = kura_repo__pack_trailer(repo, p, &e, &n)) < 0) {
			if (err == KURA_ENOMEM)
				goto done;
			if (kura_repo__is_damage(err) || err == KURA_EIO)
				kura_repo__damaged(repo, KURA_FILE_PACK, name, "%s",
						   kura_error_message());
			err = 0;
			continue;
		}
		pthread_mutex_lock(&repo->lock);
		for (size_t i = 0; i < n && err == 0; i++) {
			kura_blob_loc loc;

			kura_repo__loc_from_entry(&loc, &e[i], p);
			err = kura_repo__add_loc(repo, &loc);
		}
		pthread_mutex_unlock(&repo->lock);
		free(e);
		if (err < 0)
			goto done;
	}
	repo->trailers_scanned = true;
done:
	pthread_mutex_unlock(&repo->scan_lock);
	return err;
}
