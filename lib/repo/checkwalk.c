/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checkwalk.c - the tree walk of a check (restore key).  Every
 * snapshot's trees are decrypted and walked; every chunk and tree they
 * reference must be indexed in a pack that exists and that the snapshot's
 * plaintext pack list names.  Each distinct clean tree is walked once
 * (memoised with the set of packs below it); trees with damage below them
 * are walked again for every snapshot, so every damaged file is named under
 * every snapshot.  The walk uses an explicit stack, not recursion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "repo/checker.h"

/* ------------------------------------------------------------------ */
/* The tree walk                                                        */

/* The copies of blob `id`: *first is an index into ck->copies; returns the count. */
static size_t copies_of(const checker *ck, const uint8_t id[KURA_HASH_SIZE], size_t *first)
{
	size_t lo = 0, hi = ck->ncopies, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(ck->copies[mid].e.id, id, KURA_HASH_SIZE) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo + n < ck->ncopies && memcmp(ck->copies[lo + n].e.id, id, KURA_HASH_SIZE) == 0)
		n++;
	return n;
}

static bool copy_usable(const checker *ck, const ck_copy *cp)
{
	if (!ck->packs[cp->pack].present || cp->state == CK_BAD)
		return false;
	return !ck->read_data || cp->state == CK_GOOD;
}

/*
 * The copy of a blob this snapshot can use, preferring one in a pack the
 * snapshot lists; NULL with the reason in `why` if there is none.  `own`:
 * only a copy stored on its own, not against another blob (a reference
 * must be one, and so must a chunk whose tree names no reference: nothing
 * keeps what its stored form needs).
 */
static const ck_copy *pick_copy(const ck_walk *w, const uint8_t id[KURA_HASH_SIZE], bool own,
				char *why, size_t why_len)
{
	const checker *ck = w->ck;
	const ck_copy *best = NULL;
	size_t first, n = copies_of(ck, id, &first), against = 0;
	char hex[KURA_ID_HEX];

	for (size_t i = 0; i < n; i++) {
		const ck_copy *cp = &ck->copies[first + i];

		if (!copy_usable(ck, cp))
			continue;
		if (own && (cp->e.flags & KURA_BLOB_FLAG_REF)) {
			against++;
			continue;
		}
		if (w->pflags[cp->pack] & CK_LISTED)
			return cp;
		if (!best)
			best = cp;
	}
	if (best)
		return best;
	if (n == 0) {
		snprintf(why, why_len, "is in no index");
		return NULL;
	}
	if (against) {
		snprintf(why, why_len, "is stored only against another blob");
		return NULL;
	}
	kura_hex(hex, ck->packs[ck->copies[first].pack].name, KURA_HASH_SIZE);
	if (!ck->packs[ck->copies[first].pack].present)
		snprintf(why, why_len, "is in pack %s, which is missing", hex);
	else if (ck->copies[first].state == CK_REFLOST)
		snprintf(why, why_len, "is stored in pack %s against a blob that could not be read",
			 hex);
	else
		snprintf(why, why_len, "is damaged in pack %s", hex);
	return NULL;
}

static const char *walk_path(const ck_walk *w)
{
	return w->path_len ? w->path : "/";
}

/*
 * The snapshot needs pack `ord`: report once if its plaintext list lacks
 * it.  `for_ref`: for the reference of a chunk (named in the report).
 */
static void need_pack(ck_walk *w, uint32_t ord, const kura_extent *for_ref)
{
	char object[96], hex[KURA_ID_HEX], ref[KURA_ID_HEX], chunk[KURA_ID_HEX];

	if (w->pflags[ord] & (CK_LISTED | CK_REPORTED))
		return;
	w->pflags[ord] |= CK_REPORTED;
	snprintf(object, sizeof(object), "snapshot %s", w->snap->id);
	kura_hex(hex, w->ck->packs[ord].name, KURA_HASH_SIZE);
	if (!for_ref) {
		kura_check__problem(w->ck, w->snap->id, walk_path(w), object,
				    "needs pack %s but does not list it: a keyless store could "
				    "delete it",
				    hex);
		return;
	}
	kura_hex(ref, for_ref->ref, KURA_HASH_SIZE);
	kura_hex(chunk, for_ref->id, KURA_HASH_SIZE);
	kura_check__problem(w->ck, w->snap->id, walk_path(w), object,
			    "needs pack %s for blob %s, which chunk %s is stored against, but "
			    "does not list it: a keyless store could delete it",
			    hex, ref, chunk);
}

static int path_push(ck_walk *w, const char *name, size_t *saved)
{
	size_t len = strlen(name);

	*saved = w->path_len;
	if (w->path_len + len + 2 > w->path_cap) {
		size_t cap = (w->path_len + len + 2) * 2;
		char *np = realloc(w->path, cap);

		if (!np)
			return kura_error_set(KURA_ENOMEM, "check: out of memory");
		w->path = np;
		w->path_cap = cap;
	}
	w->path[w->path_len++] = '/';
	memcpy(w->path + w->path_len, name, len + 1);
	w->path_len += len;
	return 0;
}

static void path_pop(ck_walk *w, size_t saved)
{
	w->path_len = saved;
	if (w->path)
		w->path[saved] = '\0';
}

/* The data key of a pack, from its header, cached in the pack table. */
static int pack_key(checker *ck, ck_pack *p, uint8_t out[KURA_KEY_SIZE])
{
	kura_backend *b = ck->repo->backend;
	uint8_t header[KURA_PACK_HEADER_SIZE];
	char name[KURA_ID_HEX];
	int err;

	if (p->key_state == 0) {
		kura_hex(name, p->name, KURA_HASH_SIZE);
		p->key_state = -1;
		err = b->get_range(b, KURA_FILE_PACK, name, 0, sizeof(header), header);
		if (err < 0)
			return kura_error_wrap(err, "pack %s: header", name);
		err = kura_pack_open_key(p->key, &ck->repo->keys, header, sizeof(header));
		if (err < 0)
			return kura_error_wrap(err, "pack %s", name);
		p->key_state = 1;
	}
	if (p->key_state < 0)
		return kura_error_set(KURA_ECORRUPT, "the pack's data key cannot be opened");
	memcpy(out, p->key, KURA_KEY_SIZE);
	return 0;
}

/* Read, decrypt, verify and parse one tree from the copy `cp`. */
static int load_tree(checker *ck, const ck_copy *cp, kura_tree **out)
{
	kura_backend *b = ck->repo->backend;
	ck_pack *p = &ck->packs[cp->pack];
	uint8_t key[KURA_KEY_SIZE], *stored = NULL, *plain = NULL;
	char name[KURA_ID_HEX];
	int err;

	*out = NULL;
	if ((err = pack_key(ck, p, key)) < 0)
		goto done;
	if (!kura_check__tree_ahead(ck, cp, &stored)) {
		stored = malloc(cp->e.stored_len ? cp->e.stored_len : 1);
		if (!stored) {
			err = kura_error_set(KURA_ENOMEM, "check: out of memory");
			goto done;
		}
		kura_hex(name, p->name, KURA_HASH_SIZE);
		err = b->get_range(b, KURA_FILE_PACK, name, cp->e.offset, cp->e.stored_len, stored);
		if (err < 0)
			goto done;
	}
	err = kura_blob_decode(&plain, key, ck->repo->mac, &cp->e, stored, cp->e.stored_len);
	if (err < 0) {
		plain = NULL;
		goto done;
	}
	err = kura_tree_decode(out, plain, cp->e.raw_len);
done:
	kura_wipe(key, sizeof(key));
	if (plain) {
		kura_wipe(plain, cp->e.raw_len);
		free(plain);
	}
	free(stored);
	return err;
}

/*
 * The copy *cp of a tree failed (its index entry may lie): name it, and
 * try the blob's other usable copies, as readers do (lib/repo/locate.c).
 * On success *cp is the copy that worked.
 */
static int load_tree_elsewhere(ck_walk *w, const uint8_t id[KURA_HASH_SIZE], const ck_copy **cp,
			       kura_tree **out)
{
	checker *ck = w->ck;
	size_t first, n = copies_of(ck, id, &first);
	char object[96], hex[KURA_ID_HEX], msg[256];
	int err = KURA_ECORRUPT;

	kura_hex(hex, ck->packs[(*cp)->pack].name, KURA_HASH_SIZE);
	snprintf(object, sizeof(object), "pack %s", hex);
	snprintf(msg, sizeof(msg), "%s", kura_error_message());
	kura_hex(hex, id, KURA_HASH_SIZE);
	kura_check__problem(ck, NULL, NULL, object,
			    "tree %s is not at offset %u as an index says: %s", hex,
			    (*cp)->e.offset, msg);
	for (size_t i = 0; i < n; i++) {
		const ck_copy *other = &ck->copies[first + i];

		if (other == *cp || !copy_usable(ck, other))
			continue;
		if ((err = load_tree(ck, other, out)) == 0) {
			*cp = other;
			return 0;
		}
		if (err == KURA_ENOMEM)
			return err;
	}
	kura_error_set(KURA_ECORRUPT, "no copy of tree %s is intact (%s)", hex, msg);
	return KURA_ECORRUPT;
}

/*
 * One chunk of a file: a usable copy of it and, when its tree says it is
 * stored against another blob, of that blob stored on its own, both in
 * packs the snapshot must list (unless a copy of the chunk stored on its
 * own is in a pack it lists).  0 with `why` empty, or with the reason it
 * is unreadable.
 */
static int walk_chunk(ck_walk *w, const kura_extent *x, ck_u32s *packs, char *why, size_t why_len)
{
	const ck_copy *cp, *ref = NULL;
	const uint8_t *named;
	char hex[KURA_ID_HEX], ref_why[160];
	int err;

	if (x->has_ref) {
		/* a copy stored on its own, in a pack the snapshot lists, needs no reference */
		cp = pick_copy(w, x->id, true, why, why_len);
		why[0] = '\0';
		if (cp && (w->pflags[cp->pack] & CK_LISTED))
			return kura_check__u32s_push(packs, cp->pack);
		ref = pick_copy(w, x->ref, true, ref_why, sizeof(ref_why));
		if (!ref) {
			kura_hex(hex, x->ref, KURA_HASH_SIZE);
			snprintf(why, why_len, "is stored against blob %s, which %s", hex, ref_why);
			return 0;
		}
	}
	/* a chunk whose tree names no reference must be readable on its own */
	why[0] = '\0';
	if (!(cp = pick_copy(w, x->id, !x->has_ref, why, why_len))) {
		if (!x->has_ref && strstr(why, "only against"))
			snprintf(why + strlen(why), why_len - strlen(why),
				 ", and its tree names none");
		return 0;
	}
	/* --read-data learnt which blob the stored chunk names: the tree must name it too */
	if (ref && (cp->e.flags & KURA_BLOB_FLAG_REF) &&
	    (named = kura_check__ref_named(w->ck, cp)) &&
	    memcmp(named, x->ref, KURA_HASH_SIZE) != 0) {
		char other[KURA_ID_HEX];

		kura_hex(hex, named, KURA_HASH_SIZE);
		kura_hex(other, x->ref, KURA_HASH_SIZE);
		snprintf(why, why_len, "is stored against blob %s, but its tree names blob %s", hex,
			 other);
		return 0;
	}
	need_pack(w, cp->pack, NULL);
	if ((err = kura_check__u32s_push(packs, cp->pack)) < 0)
		return err;
	if (ref) {
		need_pack(w, ref->pack, x);
		if ((err = kura_check__u32s_push(packs, ref->pack)) < 0)
			return err;
	}
	return 0;
}

/* Check every chunk of a file; one report per damaged file. */
static int walk_file(ck_walk *w, const kura_node *node, ck_u32s *packs, bool *clean)
{
	uint64_t offset = 0, bad_offset = 0;
	uint32_t nbad = 0, nchunks = 0;
	uint8_t bad_id[KURA_HASH_SIZE];
	char why[320] = "", bad_why[320] = "";
	int err;

	for (uint32_t i = 0; i < node->nextents; i++) {
		const kura_extent *x = &node->extents[i];

		if (x->kind == KURA_EXTENT_CHUNK) {
			nchunks++;
			if ((err = walk_chunk(w, x, packs, why, sizeof(why))) < 0)
				return err;
			if (why[0] && !nbad++) {
				bad_offset = offset;
				memcpy(bad_id, x->id, KURA_HASH_SIZE);
				memcpy(bad_why, why, sizeof(why));
			}
		}
		offset += x->len;
	}
	if (nbad) {
		char object[96], hex[KURA_ID_HEX];

		*clean = false;
		snprintf(object, sizeof(object), "snapshot %s", w->snap->id);
		kura_hex(hex, bad_id, KURA_HASH_SIZE);
		kura_check__problem(
		    w->ck, w->snap->id, walk_path(w), object,
		    "file content lost: %u of %u chunks unreadable; first at offset %llu: "
		    "chunk %s %s",
		    nbad, nchunks, (unsigned long long)bad_offset, hex, bad_why);
	}
	return 0;
}

static bool memo_all_listed(const ck_walk *w, const ck_memo *m)
{
	for (size_t i = 0; i < m->npacks; i++)
		if (!(w->pflags[m->packs[i]] & CK_LISTED))
			return false;
	return true;
}

static int memo_add(checker *ck, const uint8_t id[KURA_HASH_SIZE], bool clean, ck_u32s *packs)
{
	kura_blob_loc loc;
	ck_memo *m;
	int err;

	if ((err = KURA_ARRAY_GROW(ck->memos, ck->memos_cap, ck->nmemos + 1)) < 0)
		return err;
	memset(&loc, 0, sizeof(loc));
	memcpy(loc.id, id, KURA_HASH_SIZE);
	loc.offset = (uint32_t)ck->nmemos;
	if ((err = kura_idmap_put(ck->memo_map, &loc)) < 0)
		return err;
	m = &ck->memos[ck->nmemos++];
	m->clean = clean;
	m->packs = NULL;
	m->npacks = 0;
	if (clean && packs->n) {
		m->packs = malloc(packs->n * sizeof(*m->packs));
		if (!m->packs) {
			m->clean = false;
			return kura_error_set(KURA_ENOMEM, "check: out of memory");
		}
		memcpy(m->packs, packs->v, packs->n * sizeof(*m->packs));
		m->npacks = packs->n;
	}
	return 0;
}

/*
 * A tree being walked.  The walk keeps these on an explicit stack, not
 * the C stack: a snapshot may nest KURA_TREE_MAX_DEPTH trees, and a
 * hostile one tries to nest more.  The frame at index k is a tree at depth
 * k (the root is 0).
 */
typedef struct {
	kura_tree *t;
	size_t next;	 /* the node to visit next */
	size_t saved;	 /* path length before the node being visited */
	unsigned height; /* levels of directories below it, so far */
	ck_u32s mine;	 /* packs needed at and below this tree */
	bool clean, memoised;
	uint8_t id[KURA_HASH_SIZE];
} ck_frame;

typedef struct {
	ck_frame *v;
	size_t n, cap;
} ck_frames;

/*
 * Start on the tree `id`: settled at once (returns 0: known from the memo
 * or this snapshot, or lost, its packs added to `out` and *clean cleared
 * if anything below is unreadable) or pushed as a frame (returns 1).
 * Negative only when the check itself cannot go on.
 */
static int tree_enter(ck_walk *w, ck_frames *st, const uint8_t id[KURA_HASH_SIZE], ck_u32s *out,
		      bool *clean, unsigned *height)
{
	checker *ck = w->ck;
	kura_blob_loc memo;
	const ck_copy *cp;
	kura_tree *t = NULL;
	kura_blob_loc seen;
	ck_frame *f;
	bool memoised;
	char why[160], object[96], hex[KURA_ID_HEX];
	int err;

	*height = 0;
	memoised = kura_idmap_get(&memo, ck->memo_map, id);
	if (memoised && ck->memos[memo.offset].clean &&
	    st->n + ck->memos[memo.offset].height > KURA_TREE_MAX_DEPTH) {
		/* walked clean at a shallower place; here it ends too deep */
		*clean = false;
		snprintf(object, sizeof(object), "snapshot %s", w->snap->id);
		kura_check__problem(ck, w->snap->id, walk_path(w), object,
				    "directories nested more than %u deep below here",
				    KURA_TREE_MAX_DEPTH);
		return 0;
	}
	if (memoised) {
		const ck_memo *m = &ck->memos[memo.offset];

		*height = m->height;
		if (m->clean && memo_all_listed(w, m))
			return kura_check__u32s_append(out, m->packs, m->npacks);
	}
	if (kura_idmap_get(NULL, w->seen, id)) {
		/* Walked already in this snapshot; its problems are reported. */
		if (memoised && ck->memos[memo.offset].clean)
			return kura_check__u32s_append(out, ck->memos[memo.offset].packs,
						       ck->memos[memo.offset].npacks);
		*clean = false;
		return 0;
	}
	memset(&seen, 0, sizeof(seen));
	memcpy(seen.id, id, KURA_HASH_SIZE);
	if ((err = kura_idmap_put(w->seen, &seen)) < 0)
		return err;

	snprintf(object, sizeof(object), "snapshot %s", w->snap->id);
	kura_hex(hex, id, KURA_HASH_SIZE);
	cp = pick_copy(w, id, false, why, sizeof(why));
	if (!cp) {
		*clean = false;
		kura_check__problem(ck, w->snap->id, walk_path(w), object,
				    "directory listing lost: tree %s %s", hex, why);
		return 0;
	}
	err = load_tree(ck, cp, &t);
	if (err == KURA_ENOMEM)
		return err;
	if (err < 0)
		err = load_tree_elsewhere(w, id, &cp, &t);
	if (err == KURA_ENOMEM)
		return err;
	if (err < 0) {
		*clean = false;
		kura_check__problem(ck, w->snap->id, walk_path(w), object,
				    "directory listing lost: tree %s: %s", hex,
				    kura_error_message());
		return 0;
	}
	need_pack(w, cp->pack, NULL);
	if ((err = KURA_ARRAY_GROW(st->v, st->cap, st->n + 1)) < 0) {
		kura_tree_free(t);
		return err;
	}
	f = &st->v[st->n++];
	memset(f, 0, sizeof(*f));
	f->t = t;
	f->clean = true;
	f->memoised = memoised;
	memcpy(f->id, id, KURA_HASH_SIZE);
	if ((err = kura_check__u32s_push(&f->mine, cp->pack)) < 0)
		return err;
	return 1;
}

/* Finish the top frame: memoise it and hand its packs, cleanliness and height up. */
static int tree_leave(ck_walk *w, ck_frames *st, ck_u32s *out, bool *clean, unsigned *height)
{
	ck_frame *f = &st->v[--st->n];
	int err = 0;

	kura_check__u32s_sort_unique(&f->mine);
	if (!f->memoised) {
		w->ck->trees++;
		if ((err = memo_add(w->ck, f->id, f->clean, &f->mine)) == 0)
			w->ck->memos[w->ck->nmemos - 1].height = f->height;
	}
	if (f->height + 1 > *height)
		*height = f->height + 1;
	if (err == 0)
		err = kura_check__u32s_append(out, f->mine.v, f->mine.n);
	if (!f->clean)
		*clean = false;
	kura_tree_free(f->t);
	free(f->mine.v);
	return err;
}

/*
 * Walk a snapshot's trees from its root.  Adds the ordinals of every pack
 * needed to `out`; clears *clean if anything is unreadable.  Returns a
 * negative code only when the check itself cannot go on.
 */
static int walk_tree(ck_walk *w, const uint8_t id[KURA_HASH_SIZE], ck_u32s *out, bool *clean)
{
	ck_frames st = {0};
	unsigned height;
	int err = tree_enter(w, &st, id, out, clean, &height);

	while (err >= 0 && st.n > 0) {
		ck_frame *f = &st.v[st.n - 1];
		const kura_node *node;

		if (f->next == f->t->count) {
			bool top = st.n == 1;

			err = tree_leave(w, &st, top ? out : &st.v[st.n - 2].mine,
					 top ? clean : &st.v[st.n - 2].clean,
					 top ? &height : &st.v[st.n - 2].height);
			if (!top)
				path_pop(w, st.v[st.n - 1].saved);
			continue;
		}
		node = &f->t->nodes[f->next++];
		if ((err = path_push(w, node->name, &f->saved)) < 0)
			break;
		if (node->type == KURA_NODE_FILE || node->type == KURA_NODE_HARDLINK) {
			err = walk_file(w, node, &f->mine, &f->clean);
		} else if (node->type == KURA_NODE_DIR && st.n > KURA_TREE_MAX_DEPTH) {
			char object[96];

			f->clean = false;
			snprintf(object, sizeof(object), "snapshot %s", w->snap->id);
			kura_check__problem(w->ck, w->snap->id, walk_path(w), object,
					    "directories nested more than %u deep",
					    KURA_TREE_MAX_DEPTH);
		} else if (node->type == KURA_NODE_DIR) {
			/* may move the stack: f is not used after this */
			err = tree_enter(w, &st, node->subtree, &f->mine, &f->clean, &height);
			if (err == 1)
				continue; /* its path is popped when it is left */
			if (height + 1 > f->height)
				f->height = height + 1;
		}
		path_pop(w, st.v[st.n - 1].saved);
	}
	while (st.n > 0) {
		ck_frame *f = &st.v[--st.n];

		kura_tree_free(f->t);
		free(f->mine.v);
	}
	free(st.v);
	return err;
}

int kura_check__walk_snapshot(checker *ck, const ck_snap *sn, uint8_t *pflags)
{
	ck_walk w = {.ck = ck, .snap = sn, .pflags = pflags};
	ck_u32s all = {0};
	bool clean = true;
	int err;

	memset(pflags, 0, ck->npacks ? ck->npacks : 1);
	for (size_t i = 0; i < sn->s->npacks; i++) {
		const ck_pack *p = kura_check__find_pack(ck, sn->s->packs[i]);

		if (p)
			pflags[p - ck->packs] |= CK_LISTED;
	}
	if ((err = kura_idmap_new(&w.seen)) < 0)
		goto done;
	err = walk_tree(&w, sn->s->tree, &all, &clean);
done:
	kura_idmap_free(w.seen);
	free(w.path);
	free(all.v);
	return err;
}
