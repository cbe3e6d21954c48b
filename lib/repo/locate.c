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
 * use.  Every location that fails is noted as damage, naming the pack,
 * and kept as a suspect: when the damage is asked for, the pack's trailer
 * tells whether the pack is damaged or the index lies, and a lying index
 * file is named too (kura_repo__blame_indexes).
 * A location that cannot be read at all (EIO from a failing disk or a
 * broken connection) is not damage of the data: it is noted as unreadable,
 * and when no other location holds the blob the error says so, with the
 * store's own message (the pack, the offset, the errno), not "damaged".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/error.h"
#include "format/indexfile.h"
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

/* At most this many failed locations are kept to blame index files for. */
#define SUSPECTS_MAX 4096

static void suspect(kura_repo *repo, const kura_blob_loc *loc)
{
	pthread_mutex_lock(&repo->damage_lock);
	if (repo->nsuspects < SUSPECTS_MAX &&
	    KURA_ARRAY_GROW(repo->suspects, repo->suspects_cap, repo->nsuspects + 1) == 0)
		repo->suspects[repo->nsuspects++] = *loc;
	pthread_mutex_unlock(&repo->damage_lock);
}

/* Note that loc does not hold its blob (the message is the current error). */
static void note_bad(kura_repo *repo, const kura_blob_loc *loc)
{
	char name[KURA_ID_HEX], id[17];

	suspect(repo, loc);

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

/*
 * The first read error of a lookup (KURA_EIO), and the last failure of the
 * data (a blob stored against another names that one's fate in it), kept
 * for its final message.
 */
typedef struct {
	bool seen;
	char message[512];
	char last[512];
} io_failure;

static bool same_place(const kura_blob_loc *a, const kura_blob_loc *b)
{
	return a->pack == b->pack && a->offset == b->offset && a->stored_len == b->stored_len;
}

/*
 * Every location of id that is not `skip`, entry first, as a malloc'd
 * copy (the side table may move while we read).
 */
static int candidates(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], const kura_blob_loc *skip,
		      kura_blob_loc **out, size_t *out_count)
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

/*
 * Try each candidate in turn; 1 if none worked (the error message says the
 * last failure).  `own`: only locations of the blob stored on its own, not
 * against another (a reference must be one: no chains).
 */
static int try_all(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], const kura_blob_loc *skip,
		   const kura_blob_loc *tried, size_t ntried, bool own, uint8_t **out,
		   kura_blob_loc *out_loc, io_failure *io)
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
		if (seen || (own && (c[i].flags & KURA_BLOB_FLAG_REF)))
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
			snprintf(io->last, sizeof(io->last), "%s", kura_error_message());
			note_bad(repo, &c[i]);
		}
		err = 1;
	}
	free(c);
	return err;
}

static int read_any(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], const kura_blob_loc *tried,
		    bool own, uint8_t **out, size_t *out_len, kura_blob_loc *out_loc)
{
	kura_blob_loc *before = NULL, found;
	size_t nbefore = 0;
	char hex[KURA_ID_HEX], why[600] = "";
	io_failure io = {0};
	int err;

	*out = NULL;
	if (tried)
		note_bad(repo, tried);
	if ((err = try_all(repo, id, tried, NULL, 0, own, out, &found, &io)) <= 0)
		goto done;
	/* every location the indexes give failed, or there is none: ask the packs */
	if ((err = candidates(repo, id, tried, &before, &nbefore)) < 0 ||
	    (err = kura_repo__scan_trailers(repo)) < 0)
		goto done;
	if ((err = try_all(repo, id, tried, before, nbefore, own, out, &found, &io)) <= 0)
		goto done;
	kura_hex(hex, id, KURA_HASH_SIZE);
	if (io.seen) {
		/* the cause is the store, not the data: say what it said */
		err = kura_error_set(KURA_EIO, "blob %s: %s%s", hex, io.message,
				     nbefore > 1 || tried ? " (no other location holds it intact)"
							  : "");
		goto done;
	}
	/* the last failure says why, e.g. that a blob it is stored against is gone */
	if (io.last[0])
		snprintf(why, sizeof(why), " (last: %s)", io.last);
	err = kura_error_set(nbefore || tried ? KURA_ECORRUPT : KURA_ENOTFOUND,
			     nbefore || tried ? "blob %s: no location%s the index or the packs give "
						"holds it intact%s"
					      : "blob %s is in no index and no pack%s%s",
			     hex, own ? " stored on its own" : "", why);
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

int kura_repo__read_blob_any(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE],
			     const kura_blob_loc *tried, uint8_t **out, size_t *out_len,
			     kura_blob_loc *out_loc)
{
	return read_any(repo, id, tried, false, out, out_len, out_loc);
}

/*
 * kura_blob_refs.fetch: a reference is read only where it is stored on its
 * own; a restore batch's were read ahead so (refahead.h).
 */
static int fetch_ref(void *ctx, const uint8_t id[KURA_HASH_SIZE], uint8_t **out, size_t *out_len)
{
	if (kura_repo__refahead_take(ctx, id, out, out_len))
		return 0;
	return read_any(ctx, id, NULL, true, out, out_len, NULL);
}

void kura_repo__refs(kura_repo *repo, kura_blob_refs *out)
{
	out->fetch = fetch_ref;
	out->ctx = repo;
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
	    (err = repo->backend->get_range(repo->backend, KURA_FILE_PACK, name, 0, sizeof(header),
					    header)) < 0)
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

/* -------------------------------------------------------------------- */
/* Naming the index files that lie                                      */

static int loc_order(const void *a, const void *b)
{
	const kura_blob_loc *x = a, *y = b;
	int c = memcmp(x->id, y->id, KURA_HASH_SIZE);

	if (c)
		return c;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int pack_order(const void *a, const void *b)
{
	const kura_blob_loc *x = a, *y = b;

	return x->pack < y->pack ? -1 : x->pack > y->pack;
}

/*
 * Drop the suspects the packs' own trailers confirm (the pack is damaged
 * there, not the index) or cannot judge (a trailer that cannot be read):
 * what stays is a location its pack's writer never gave.  Sorted by pack.
 */
static size_t keep_lies(kura_repo *repo, kura_blob_loc *s, size_t n)
{
	size_t kept = 0;

	qsort(s, n, sizeof(*s), pack_order);
	for (size_t i = 0; i < n;) {
		kura_pack_entry *e = NULL;
		size_t ne = 0, end = i;
		bool readable;

		while (end < n && s[end].pack == s[i].pack)
			end++;
		readable = kura_repo__pack_trailer(repo, s[i].pack, &e, &ne) == 0;
		for (; i < end; i++) {
			bool confirmed = false;

			for (size_t j = 0; j < ne && !confirmed; j++)
				confirmed = memcmp(e[j].id, s[i].id, KURA_HASH_SIZE) == 0 &&
					    e[j].offset == s[i].offset &&
					    e[j].stored_len == s[i].stored_len;
			if (readable && !confirmed)
				s[kept++] = s[i];
		}
		free(e);
	}
	return kept;
}

typedef struct {
	char (*names)[KURA_ID_HEX];
	size_t count, cap;
} blame_names;

static int add_name(const char *name, uint64_t size, void *ctx)
{
	blame_names *l = ctx;

	(void)size;
	if (strlen(name) != KURA_ID_HEX - 1 || KURA_ARRAY_GROW(l->names, l->cap, l->count + 1) < 0)
		return 0; /* not a name this reader uses / no memory: one name less to blame */
	memcpy(l->names[l->count++], name, KURA_ID_HEX);
	return 0;
}

/* Note index file `name` if one of its records is among the lies (sorted by loc_order). */
static void blame_file(kura_repo *repo, const char *name, const kura_blob_loc *lies, size_t n)
{
	kura_indexfile *idx = NULL;
	uint8_t *data = NULL;
	size_t len;

	if (repo->backend->get(repo->backend, KURA_FILE_INDEX, name, &data, &len) < 0 ||
	    kura_indexfile_decode(&idx, &repo->keys, data, len) < 0)
		goto done; /* damaged: noted when the index was loaded */
	for (size_t i = 0; i < idx->nrecords; i++) {
		const kura_index_record *r = &idx->records[i];
		kura_blob_loc key = {0}, pack;
		const kura_blob_loc *hit;
		char id[17], pack_hex[17];
		bool known;

		pthread_mutex_lock(&repo->lock);
		known = repo->pack_ordinals &&
			kura_idmap_get(&pack, repo->pack_ordinals, idx->packs[r->pack]);
		pthread_mutex_unlock(&repo->lock);
		if (!known)
			continue;
		memcpy(key.id, r->blob.id, KURA_HASH_SIZE);
		key.pack = pack.pack;
		key.offset = r->blob.offset;
		if (!(hit = bsearch(&key, lies, n, sizeof(*lies), loc_order)))
			continue;
		kura_hex(id, hit->id, 8);
		kura_hex(pack_hex, idx->packs[r->pack], 8);
		kura_repo__damaged(repo, KURA_FILE_INDEX, name,
				   "lies: it puts blob %s… in pack %s… at offset %u, where that "
				   "pack's own trailer has no such blob",
				   id, pack_hex, hit->offset);
		break;
	}
done:
	kura_indexfile_free(idx);
	free(data);
}

void kura_repo__blame_indexes(kura_repo *repo)
{
	int code = kura_error_code();
	char message[1024]; /* as long as a kura error message gets (error.c) */
	kura_blob_loc *lies = NULL;
	blame_names names = {0};
	size_t n = 0;

	/* called on the way out of failed calls too: keep the error the caller reports */
	snprintf(message, sizeof(message), "%s", kura_error_message());
	pthread_mutex_lock(&repo->damage_lock);
	if (repo->suspects_blamed < repo->nsuspects) {
		n = repo->nsuspects - repo->suspects_blamed;
		if ((lies = malloc(n * sizeof(*lies))))
			memcpy(lies, repo->suspects + repo->suspects_blamed, n * sizeof(*lies));
		repo->suspects_blamed = repo->nsuspects;
	}
	pthread_mutex_unlock(&repo->damage_lock);
	if (!lies || !(n = keep_lies(repo, lies, n)))
		goto done;
	qsort(lies, n, sizeof(*lies), loc_order);
	if (repo->backend->list(repo->backend, KURA_FILE_INDEX, add_name, &names) < 0)
		goto done;
	for (size_t i = 0; i < names.count; i++)
		blame_file(repo, names.names[i], lies, n);
done:
	free(names.names);
	free(lies);
	if (code < 0)
		kura_error_set(code, "%s", message);
	else
		kura_error_clear();
}
