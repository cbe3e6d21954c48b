/* SPDX-License-Identifier: Apache-2.0 */
/*
 * copy.c - `kura copy` (include/kura/copy.h): snapshots and every file
 * they need, from one store of a repository to a mirror, without a key.
 *
 * The plan comes from plaintext only: each snapshot's header lists its
 * packs, each index file's header the packs it describes (an index is
 * copied when it describes a needed pack).  The target is listed first,
 * and a name it holds is never fetched again: the same name is the same
 * bytes.  Writes follow a backup's order (keys and config, packs, index
 * files, snapshots, acceptance records), and a snapshot is written only
 * once every pack it lists is in the target, so a kill at any point leaves
 * nothing that names a missing file except index records, which readers
 * ignore (docs/FORMAT.md, "Index files").  Every file is read whole: packs
 * are at most pack_size (1 MiB .. 1 GiB) plus one blob.  An acceptance
 * record (`kura scan --accept`) goes with the snapshot it accepts, so an
 * accepted snapshot stays accepted in the mirror; drill and proof records
 * describe the source's own checks and copies and stay there.
 */
#include "kura/copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "format/acceptrec.h"
#include "format/indexfile.h"
#include "kura/keyless.h"
#include "kura/sys/backend.h"

/* A sorted listing of one type of file in one store. */
struct listing {
	kura_listed_file *v;
	size_t n;
	bool denied; /* the store would not list this type (a vault writer: keys) */
};

struct snap {
	char name[KURA_ID_HEX];
	char (*packs)[KURA_ID_HEX];
	size_t npacks;
	uint8_t *data; /* when the target lacks it */
	size_t len;
	bool ok;       /* read and valid in the source */
};

/* A source acceptance record of a snapshot copied. */
struct accept {
	char name[KURA_ID_HEX];
	uint8_t *data; /* when the target lacks it */
	size_t len;    /* SIZE_MAX: not in the target after the copy */
};

struct copy {
	kura_backend *src, *dst;
	const kura_copy_options *opts;
	kura_copy_result *out;
	struct listing from[KURA_FILE_TYPES], to[KURA_FILE_TYPES];
	struct snap *snaps;
	size_t nsnaps;
	char (*packs)[KURA_ID_HEX]; /* needed, sorted unique */
	size_t npacks;
	bool *pack_failed;          /* by index into packs */
	char (*indexes)[KURA_ID_HEX]; /* index files to copy */
	size_t nindexes;
	struct accept *accepts; /* sorted by name */
	size_t naccepts;
	size_t done, total;
	uint64_t done_bytes, total_bytes;
};

/* Singular names for messages ("pack 3f2a…"): kura_file_type_name() gives directories. */
static const char *const what[KURA_FILE_TYPES] = {"config", "key file", "snapshot",
						  "index file", "pack", "drill record",
						  "proof record", "acceptance record"};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b); /* kura_listed_file and char[KURA_ID_HEX] both start with the name */
}

static const kura_listed_file *find(const struct listing *l, const char *name)
{
	return l->n ? bsearch(name, l->v, l->n, sizeof(*l->v), cmp_name) : NULL;
}

static uint64_t size_of(const struct listing *l, const char *name)
{
	const kura_listed_file *f = find(l, name);

	return f ? f->size : 0;
}

static int list(struct listing *l, kura_backend *b, kura_file_type type, bool may_deny)
{
	int err = kura_list_files(&l->v, &l->n, b, type);

	if (err == KURA_EDENIED && may_deny) {
		l->denied = true;
		return 0;
	}
	return err;
}

static int tell(struct copy *c, kura_copy_event_type type, kura_file_type ft, const char *name,
		uint64_t size, const char *message)
{
	kura_copy_event ev = {type, ft, name, size, message, c->done, c->total, c->done_bytes,
			      c->total_bytes};

	return c->opts->fn ? c->opts->fn(&ev, c->opts->ctx) : 0;
}

/* Read a file and check it as a keyless store would: its name is its hash, its plaintext holds. */
static int fetch_checked(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
			 size_t *out_len)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int err;

	*out = NULL;
	*out_len = 0;
	if ((err = kura_backend_get_verified(b, type, name, &data, &len)) < 0)
		return err;
	if ((err = kura_keyless_validate(type, data, len)) < 0) {
		err = kura_error_set(err, "%s %s: %s", what[type], name, kura_error_message());
		goto done;
	}
	*out = data;
	*out_len = len;
	data = NULL;
done:
	free(data);
	return err;
}

/*
 * Put one file the target lacks: `data` if given, else fetched from the
 * source.  1 when it failed (reported and counted), 0 when copied, <0
 * when the callback stopped the copy.
 */
static int copy_file(struct copy *c, kura_file_type type, const char *name, const uint8_t *given,
		     size_t given_len)
{
	uint8_t *data = NULL;
	size_t len = given_len;
	int err = 0;

	c->done++;
	if (!given && (err = fetch_checked(c->src, type, name, &data, &len)) < 0)
		goto failed;
	if ((err = c->dst->put(c->dst, type, name, given ? given : data, len)) < 0) {
		err = kura_error_set(err, "writing %s %s to the target: %s",
				     what[type], name, kura_error_message());
		goto failed;
	}
	free(data);
	c->out->copied++;
	c->out->copied_bytes += len;
	c->done_bytes += len;
	return tell(c, KURA_COPY_COPIED, type, name, len, NULL);
failed:
	free(data);
	/* a store that refuses this credential refuses every file: stop, once */
	if (err == KURA_EDENIED)
		return err;
	c->out->failed++;
	c->done_bytes += size_of(&c->from[type], name);
	err = tell(c, KURA_COPY_FAILED, type, name, size_of(&c->from[type], name),
		   kura_error_message());
	return err < 0 ? err : 1;
}

/* The snapshots asked for, by full name, sorted unique, into c->snaps. */
static int select_snapshots(struct copy *c)
{
	const struct listing *l = &c->from[KURA_FILE_SNAPSHOT];
	size_t cap = 0, n = 0;
	int err;

	for (size_t i = 0; i < (c->opts->nsnapshots ? c->opts->nsnapshots : l->n); i++) {
		const char *name = c->opts->nsnapshots ? NULL : l->v[i].name;

		if (!name) {
			const char *want = c->opts->snapshots[i];
			size_t wl = strlen(want), hits = 0;

			for (size_t j = 0; j < l->n; j++)
				if (wl && strncmp(l->v[j].name, want, wl) == 0) {
					name = l->v[j].name;
					hits++;
				}
			if (hits == 0)
				return kura_error_set(KURA_ENOTFOUND,
						      "no snapshot %s in the source", want);
			if (hits > 1)
				return kura_error_set(KURA_EAMBIGUOUS,
						      "snapshot %s names %zu snapshots in the source",
						      want, hits);
		}
		if ((err = KURA_ARRAY_GROW(c->snaps, cap, c->nsnaps + 1)) < 0)
			return err;
		memset(&c->snaps[c->nsnaps], 0, sizeof(*c->snaps));
		memcpy(c->snaps[c->nsnaps++].name, name, KURA_ID_HEX);
	}
	if (c->nsnaps)
		qsort(c->snaps, c->nsnaps, sizeof(*c->snaps), cmp_name);
	/* the same snapshot named twice ("3f2a 3f2a9c") is copied once */
	for (size_t i = 0; i < c->nsnaps; i++)
		if (n == 0 || strcmp(c->snaps[n - 1].name, c->snaps[i].name) != 0)
			c->snaps[n++] = c->snaps[i];
	c->nsnaps = n;
	return 0;
}

/* Read each snapshot's pack list; the union is c->packs. */
static int plan_snapshots(struct copy *c)
{
	size_t cap = 0, n = 0;
	int err;

	for (size_t i = 0; i < c->nsnaps; i++) {
		struct snap *s = &c->snaps[i];
		int64_t t;

		if ((err = fetch_checked(c->src, KURA_FILE_SNAPSHOT, s->name, &s->data, &s->len)) <
			0 ||
		    (err = kura_snapshot_peek(s->data, s->len, &t, &s->packs, &s->npacks)) < 0) {
			if (err == KURA_EDENIED)
				return kura_error_set(err, "reading the source: %s",
						      kura_error_message());
			c->out->failed++;
			if ((err = tell(c, KURA_COPY_FAILED, KURA_FILE_SNAPSHOT, s->name,
					size_of(&c->from[KURA_FILE_SNAPSHOT], s->name),
					kura_error_message())) < 0)
				return err;
			continue;
		}
		s->ok = true;
		if (find(&c->to[KURA_FILE_SNAPSHOT], s->name)) {
			free(s->data);
			s->data = NULL;
		}
		if (!s->npacks) /* a snapshot of nothing but empty files */
			continue;
		if ((err = KURA_ARRAY_GROW(c->packs, cap, n + s->npacks)) < 0)
			return err;
		memcpy(c->packs + n, s->packs, s->npacks * sizeof(*s->packs));
		n += s->npacks;
	}
	if (n)
		qsort(c->packs, n, sizeof(*c->packs), cmp_name);
	for (size_t i = 0; i < n; i++)
		if (c->npacks == 0 || strcmp(c->packs[c->npacks - 1], c->packs[i]) != 0)
			memmove(c->packs[c->npacks++], c->packs[i], KURA_ID_HEX);
	if (!(c->pack_failed = calloc(c->npacks ? c->npacks : 1, sizeof(bool))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	return 0;
}

static bool needed_pack(const struct copy *c, const char *name)
{
	return c->npacks && bsearch(name, c->packs, c->npacks, sizeof(*c->packs), cmp_name);
}

/* The index files the target lacks that describe a needed pack. */
static int plan_indexes(struct copy *c)
{
	const struct listing *l = &c->from[KURA_FILE_INDEX];
	size_t cap = 0;
	int err;

	for (size_t i = 0; i < l->n; i++) {
		uint8_t *data = NULL, (*packs)[KURA_HASH_SIZE] = NULL;
		size_t len, np = 0;
		bool wanted = false;

		if (find(&c->to[KURA_FILE_INDEX], l->v[i].name))
			continue;
		if ((err = fetch_checked(c->src, KURA_FILE_INDEX, l->v[i].name, &data, &len)) < 0 ||
		    (err = kura_indexfile_packs(&packs, &np, data, len)) < 0) {
			free(data);
			if (err == KURA_EDENIED)
				return kura_error_set(err, "reading the source: %s",
						      kura_error_message());
			/* an index describing no needed pack is no loss; which it is, we cannot tell */
			c->out->failed++;
			if ((err = tell(c, KURA_COPY_FAILED, KURA_FILE_INDEX, l->v[i].name,
					l->v[i].size, kura_error_message())) < 0)
				return err;
			continue;
		}
		for (size_t j = 0; j < np && !wanted; j++) {
			char hex[KURA_ID_HEX];

			kura_hex(hex, packs[j], KURA_HASH_SIZE);
			wanted = needed_pack(c, hex);
		}
		free(packs);
		free(data);
		if (!wanted)
			continue;
		if ((err = KURA_ARRAY_GROW(c->indexes, cap, c->nindexes + 1)) < 0)
			return err;
		memcpy(c->indexes[c->nindexes++], l->v[i].name, KURA_ID_HEX);
	}
	return 0;
}

static bool selected_snapshot(const struct copy *c, const char *name)
{
	const struct snap *s =
	    c->nsnaps ? bsearch(name, c->snaps, c->nsnaps, sizeof(*c->snaps), cmp_name) : NULL;

	return s && s->ok;
}

/*
 * The source's acceptance records of the snapshots copied (every record
 * when the whole source is copied: an acceptance of a snapshot since
 * forgotten still teaches that source's backups), into c->accepts.  Each
 * is read to learn its snapshot: they are small and few.
 */
static int plan_accepts(struct copy *c)
{
	const struct listing *l = &c->from[KURA_FILE_ACCEPT];
	size_t cap = 0;
	int err;

	for (size_t i = 0; i < l->n; i++) {
		uint8_t *data = NULL;
		size_t len;
		char snap[KURA_ID_HEX];

		if ((err = fetch_checked(c->src, KURA_FILE_ACCEPT, l->v[i].name, &data, &len)) <
		    0) {
			if (err == KURA_EDENIED)
				return kura_error_set(err, "reading the source: %s",
						      kura_error_message());
			c->out->failed++;
			if ((err = tell(c, KURA_COPY_FAILED, KURA_FILE_ACCEPT, l->v[i].name,
					l->v[i].size, kura_error_message())) < 0)
				return err;
			continue;
		}
		/* fetch_checked validated the header: the snapshot is at its fixed offset */
		kura_hex(snap, data + KURA_ACCEPTREC_SNAPSHOT_OFFSET, KURA_HASH_SIZE);
		if (c->opts->nsnapshots && !selected_snapshot(c, snap)) {
			free(data);
			continue;
		}
		if ((err = KURA_ARRAY_GROW(c->accepts, cap, c->naccepts + 1)) < 0) {
			free(data);
			return err;
		}
		memcpy(c->accepts[c->naccepts].name, l->v[i].name, KURA_ID_HEX);
		if (find(&c->to[KURA_FILE_ACCEPT], l->v[i].name)) {
			free(data);
			data = NULL;
			len = 0;
		}
		c->accepts[c->naccepts].data = data;
		c->accepts[c->naccepts++].len = len;
	}
	return 0;
}


/* The target must hold the source's config, or none yet (a new mirror). */
static int check_mirror(struct copy *c)
{
	const struct listing *s = &c->from[KURA_FILE_CONFIG], *d = &c->to[KURA_FILE_CONFIG];

	if (s->n != 1)
		return kura_error_set(KURA_EINVAL, "the source holds %zu config files, not one: "
						   "it is not a repository kura can copy",
				      s->n);
	if (d->n && !find(d, s->v[0].name))
		return kura_error_set(KURA_EINVAL,
				      "the target holds another repository (config %.16s…, the "
				      "source's is %.16s…): a copy goes only to a mirror",
				      d->v[0].name, s->v[0].name);
	return 0;
}

/* Source index files the target holds already. */
static size_t index_present(const struct copy *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->from[KURA_FILE_INDEX].n; i++)
		n += !!find(&c->to[KURA_FILE_INDEX], c->from[KURA_FILE_INDEX].v[i].name);
	return n;
}

static void plan_totals(struct copy *c)
{
	static const kura_file_type first[] = {KURA_FILE_KEY, KURA_FILE_CONFIG};

	for (size_t t = 0; t < 2; t++)
		for (size_t i = 0; i < c->from[first[t]].n; i++)
			if (!find(&c->to[first[t]], c->from[first[t]].v[i].name) &&
			    !(first[t] == KURA_FILE_KEY && c->to[first[t]].denied &&
			      c->to[KURA_FILE_CONFIG].n)) {
				c->total++;
				c->total_bytes += c->from[first[t]].v[i].size;
			}
	for (size_t i = 0; i < c->npacks; i++)
		if (!find(&c->to[KURA_FILE_PACK], c->packs[i])) {
			c->total++;
			c->total_bytes += size_of(&c->from[KURA_FILE_PACK], c->packs[i]);
		}
	for (size_t i = 0; i < c->nindexes; i++) {
		c->total++;
		c->total_bytes += size_of(&c->from[KURA_FILE_INDEX], c->indexes[i]);
	}
	for (size_t i = 0; i < c->nsnaps; i++)
		if (c->snaps[i].data) {
			c->total++;
			c->total_bytes += c->snaps[i].len;
		}
	for (size_t i = 0; i < c->naccepts; i++)
		if (c->accepts[i].data) {
			c->total++;
			c->total_bytes += c->accepts[i].len;
		}
}

/* Keys before the config: a vault takes keys only while a repository has no config. */
static int copy_head(struct copy *c)
{
	static const kura_file_type order[] = {KURA_FILE_KEY, KURA_FILE_CONFIG};
	int err;

	for (size_t t = 0; t < 2; t++) {
		const struct listing *l = &c->from[order[t]];

		/* a vault writer cannot list keys; it may add them only to a new repository */
		if (order[t] == KURA_FILE_KEY && c->to[KURA_FILE_KEY].denied &&
		    c->to[KURA_FILE_CONFIG].n)
			continue;
		for (size_t i = 0; i < l->n; i++) {
			if (find(&c->to[order[t]], l->v[i].name))
				continue;
			if ((err = copy_file(c, order[t], l->v[i].name, NULL, 0)) < 0)
				return err;
			if (err > 0 && order[t] == KURA_FILE_CONFIG)
				return kura_error_set(KURA_EIO, "the config could not be copied, so "
								"the target is no mirror yet");
		}
	}
	return 0;
}

/*
 * After the snapshots they name.  A vault takes acceptance records only
 * from a reader, and a copy writes to a vault with a writer credential:
 * there they are counted as refused, not failed (the snapshots and their
 * data are whole; a reader can accept again on the vault).
 */
static int copy_accepts(struct copy *c)
{
	int err;

	for (size_t i = 0; i < c->naccepts; i++) {
		struct accept *a = &c->accepts[i];

		if (!a->data)
			continue;
		err = copy_file(c, KURA_FILE_ACCEPT, a->name, a->data, a->len);
		if (err == KURA_EDENIED) {
			for (size_t j = i; j < c->naccepts; j++)
				if (c->accepts[j].data) {
					c->out->accepts_refused++;
					free(c->accepts[j].data);
					c->accepts[j].data = NULL;
					c->accepts[j].len = SIZE_MAX; /* not in the target */
				}
			kura_error_clear();
			return 0;
		}
		if (err < 0)
			return err;
		if (err > 0)
			a->len = SIZE_MAX;
	}
	return 0;
}

static int copy_body(struct copy *c)
{
	int err;

	for (size_t i = 0; i < c->npacks; i++) {
		if (find(&c->to[KURA_FILE_PACK], c->packs[i]))
			continue;
		if ((err = copy_file(c, KURA_FILE_PACK, c->packs[i], NULL, 0)) < 0)
			return err;
		c->pack_failed[i] = err > 0;
	}
	for (size_t i = 0; i < c->nindexes; i++)
		if ((err = copy_file(c, KURA_FILE_INDEX, c->indexes[i], NULL, 0)) < 0)
			return err;
	for (size_t i = 0; i < c->nsnaps; i++) {
		struct snap *s = &c->snaps[i];
		const char *missing = NULL;

		if (!s->ok || !s->data)
			continue;
		for (size_t j = 0; j < s->npacks && !missing; j++) {
			char(*p)[KURA_ID_HEX] =
			    bsearch(s->packs[j], c->packs, c->npacks, sizeof(*c->packs), cmp_name);

			if (c->pack_failed[p - c->packs])
				missing = s->packs[j];
		}
		if (missing) {
			char msg[200];

			snprintf(msg, sizeof(msg),
				 "snapshot %s needs pack %s, which was not copied", s->name, missing);
			s->ok = false;
			c->out->skipped++;
			c->done++;
			c->done_bytes += s->len;
			if ((err = tell(c, KURA_COPY_SKIPPED, KURA_FILE_SNAPSHOT, s->name, s->len,
					msg)) < 0)
				return err;
			continue;
		}
		if ((err = copy_file(c, KURA_FILE_SNAPSHOT, s->name, s->data, s->len)) < 0)
			return err;
		if (err > 0)
			s->ok = false;
	}
	return copy_accepts(c);
}

/*
 * One file of the target as it must be: re-hashed where the target lets us
 * read it, else (a vault writer) listed with the source's size.
 */
static int verify_one(struct copy *c, struct listing *relisted, kura_file_type type,
		      const char *name)
{
	uint8_t *data = NULL;
	size_t len;
	const char *problem = NULL;
	int err = fetch_checked(c->dst, type, name, &data, &len);

	free(data);
	c->done++;
	if (err == KURA_EDENIED) {
		const kura_listed_file *f;

		if (!relisted->v && !relisted->denied &&
		    (err = list(relisted, c->dst, type, true)) < 0)
			return err;
		f = find(relisted, name);
		if (relisted->denied)
			problem = "the target lets this credential neither read nor list it";
		else if (!f)
			problem = "missing from the target";
		else if (f->size != size_of(&c->from[type], name))
			problem = "the target lists it with another size than the source";
		else
			c->out->verified_listed++;
	} else if (err < 0) {
		problem = kura_error_message();
	} else {
		c->out->verified++;
	}
	if (problem) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s %s: %s", what[type], name, problem);
		c->out->bad_target++;
		return tell(c, KURA_COPY_BAD_TARGET, type, name, 0, msg);
	}
	return tell(c, KURA_COPY_VERIFIED, type, name, 0, NULL);
}

static int verify_target(struct copy *c)
{
	struct listing relisted[KURA_FILE_TYPES] = {{0}};
	int err = 0;

	c->done = 0;
	c->total = c->from[KURA_FILE_CONFIG].n + c->nindexes + index_present(c);
	if (!c->to[KURA_FILE_KEY].denied)
		c->total += c->from[KURA_FILE_KEY].n;
	for (size_t i = 0; i < c->nsnaps; i++)
		if (c->snaps[i].ok)
			c->total += 1;
	for (size_t i = 0; i < c->npacks; i++)
		c->total += !c->pack_failed[i];
	for (size_t i = 0; i < c->naccepts; i++)
		c->total += c->accepts[i].len != SIZE_MAX;
	if ((err = tell(c, KURA_COPY_VERIFYING, KURA_FILE_CONFIG, NULL, 0, NULL)) < 0)
		goto done;
	for (size_t i = 0; i < c->from[KURA_FILE_CONFIG].n; i++)
		if ((err = verify_one(c, &relisted[KURA_FILE_CONFIG], KURA_FILE_CONFIG,
				      c->from[KURA_FILE_CONFIG].v[i].name)) < 0)
			goto done;
	/* a vault writer neither lists nor reads keys: the vault took them only with the config */
	for (size_t i = 0; !c->to[KURA_FILE_KEY].denied && i < c->from[KURA_FILE_KEY].n; i++)
		if ((err = verify_one(c, &relisted[KURA_FILE_KEY], KURA_FILE_KEY,
				      c->from[KURA_FILE_KEY].v[i].name)) < 0)
			goto done;
	for (size_t i = 0; i < c->npacks; i++)
		if (!c->pack_failed[i] &&
		    (err = verify_one(c, &relisted[KURA_FILE_PACK], KURA_FILE_PACK, c->packs[i])) < 0)
			goto done;
	/* index files: those copied now and those the target held that the source holds */
	for (size_t i = 0; i < c->nindexes; i++)
		if ((err = verify_one(c, &relisted[KURA_FILE_INDEX], KURA_FILE_INDEX,
				      c->indexes[i])) < 0)
			goto done;
	for (size_t i = 0; i < c->from[KURA_FILE_INDEX].n; i++) {
		const char *name = c->from[KURA_FILE_INDEX].v[i].name;

		if (find(&c->to[KURA_FILE_INDEX], name) &&
		    (err = verify_one(c, &relisted[KURA_FILE_INDEX], KURA_FILE_INDEX, name)) < 0)
			goto done;
	}
	for (size_t i = 0; i < c->nsnaps; i++)
		if (c->snaps[i].ok && (err = verify_one(c, &relisted[KURA_FILE_SNAPSHOT],
							 KURA_FILE_SNAPSHOT, c->snaps[i].name)) < 0)
			goto done;
	for (size_t i = 0; i < c->naccepts; i++)
		if (c->accepts[i].len != SIZE_MAX &&
		    (err = verify_one(c, &relisted[KURA_FILE_ACCEPT], KURA_FILE_ACCEPT,
				      c->accepts[i].name)) < 0)
			goto done;
done:
	for (size_t t = 0; t < KURA_FILE_TYPES; t++)
		free(relisted[t].v);
	return err;
}

int kura_copy(kura_backend *src, kura_backend *dst, const kura_copy_options *opts,
	      kura_copy_result *out)
{
	static const kura_file_type types[] = {KURA_FILE_CONFIG, KURA_FILE_KEY, KURA_FILE_SNAPSHOT,
					       KURA_FILE_INDEX, KURA_FILE_PACK,     KURA_FILE_ACCEPT};
	struct copy c = {0};
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!src || !dst || !opts || opts->version != KURA_COPY_OPTIONS_VERSION ||
	    (opts->nsnapshots && !opts->snapshots))
		return kura_error_set(KURA_EINVAL, "kura_copy: bad arguments");
	c.src = src;
	c.dst = dst;
	c.opts = opts;
	c.out = out;
	for (size_t t = 0; t < sizeof(types) / sizeof(*types); t++) {
		if ((err = list(&c.from[types[t]], src, types[t], false)) < 0) {
			err = kura_error_set(err, "listing the source: %s", kura_error_message());
			goto done;
		}
		if ((err = list(&c.to[types[t]], dst, types[t], types[t] == KURA_FILE_KEY)) < 0) {
			err = kura_error_set(err, "listing the target: %s", kura_error_message());
			goto done;
		}
	}
	if ((err = check_mirror(&c)) < 0 || (err = select_snapshots(&c)) < 0)
		goto done;
	out->snapshots = c.nsnaps;
	if ((err = plan_snapshots(&c)) < 0 || (err = plan_indexes(&c)) < 0 ||
	    (err = plan_accepts(&c)) < 0)
		goto done;
	/* needed: what the target must hold for these snapshots (keys only where it lists them) */
	for (size_t t = 0; t < KURA_FILE_TYPES; t++) {
		if (t == KURA_FILE_CONFIG || t == KURA_FILE_INDEX ||
		    (t == KURA_FILE_KEY && !c.to[t].denied)) {
			out->needed += c.from[t].n;
			for (size_t i = 0; i < c.from[t].n; i++)
				out->present += !!find(&c.to[t], c.from[t].v[i].name);
		}
	}
	out->needed -= c.from[KURA_FILE_INDEX].n - c.nindexes - index_present(&c);
	out->needed += c.npacks;
	for (size_t i = 0; i < c.npacks; i++)
		out->present += !!find(&c.to[KURA_FILE_PACK], c.packs[i]);
	for (size_t i = 0; i < c.nsnaps; i++) {
		out->needed += c.snaps[i].ok;
		out->present += c.snaps[i].ok && !c.snaps[i].data;
	}
	out->needed += c.naccepts;
	for (size_t i = 0; i < c.naccepts; i++)
		out->present += !c.accepts[i].data;
	plan_totals(&c);
	if ((err = tell(&c, KURA_COPY_PLANNED, KURA_FILE_CONFIG, NULL, 0, NULL)) < 0 ||
	    (err = copy_head(&c)) < 0 || (err = copy_body(&c)) < 0)
		goto done;
	err = verify_target(&c);
done:
	for (size_t t = 0; t < KURA_FILE_TYPES; t++) {
		free(c.from[t].v);
		free(c.to[t].v);
	}
	for (size_t i = 0; i < c.nsnaps; i++) {
		free(c.snaps[i].packs);
		free(c.snaps[i].data);
	}
	free(c.snaps);
	for (size_t i = 0; i < c.naccepts; i++)
		free(c.accepts[i].data);
	free(c.accepts);
	free(c.packs);
	free(c.pack_failed);
	free(c.indexes);
	return err;
}
