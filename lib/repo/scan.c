/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scan.c - kura_scan (include/kura/scan.h): each snapshot judged against
 * its predecessor of the same source, by the backup's own collector
 * (lib/detect/detect.h), fed from the repository instead of the disk.
 *
 * A file whose content ids equal its predecessor's is "unchanged" (as the
 * file cache would have said); any other file is read chunk by chunk and
 * handed over as the backup pipeline hands it.  The history the backup
 * keeps in the client's cache is here the collector's state after the
 * predecessor, held in memory, so the slow-attack accumulator runs along
 * the chain as it does across backups.  Reading is sequential and one
 * snapshot at a time; every distinct file version is read once.
 *
 * The walk recurses (depth bounded by KURA_TREE_MAX_DEPTH, as every
 * reader's); a directory or chunk that cannot be read is counted and the
 * scan goes on: a damaged repository is what one scans after an attack.
 */
#include "kura/scan.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/buf.h"
#include "common/error.h"
#include "detect/detect.h"
#include "detect/state.h"
#include "kura/keyless.h"
#include "repo/acceptance.h"
#include "repo/walk.h"

/*
 * Suspect files a snapshot's record names: far more than the backup's 100
 * examples (the person recovering wants them all), bounded so that a tree
 * of millions of encrypted files costs tens of megabytes, not gigabytes.
 */
#define SCAN_MAX_FILES 100000

/* A file of the previous snapshot: its path hash and content digest. */
typedef struct {
	uint64_t path;
	uint8_t digest[KURA_HASH_SIZE];
} seen_file;

typedef struct {
	kura_repo *repo;
	kura_detect *det;
	const seen_file *prev; /* sorted by path */
	size_t nprev;
	seen_file *now;
	size_t nnow, now_cap;
	uint64_t changed, unreadable;
	kura_walk_path path;
} scan_walk;

/* One source's chain: what carries from a snapshot to the next. */
typedef struct {
	char *key; /* host, paths and excludes */
	kura_detect_state state;
	int have_state;
	seen_file *files;
	size_t nfiles;
	char last_id[KURA_ID_HEX];
	json_t *first_seen; /* path -> the snapshot it first turned suspect in */
	char last_clean[KURA_ID_HEX];
	int suspect_seen;
	kura_detect_accepts acc; /* the operator's acceptances of this source */
	int last_accepted;	 /* the previous snapshot is one of them */
} chain;

static int seen_cmp(const void *x, const void *y)
{
	uint64_t a = ((const seen_file *)x)->path, b = ((const seen_file *)y)->path;

	return a < b ? -1 : a > b;
}

static const seen_file *seen_find(const seen_file *v, size_t n, uint64_t path)
{
	seen_file key = {.path = path};

	return n ? bsearch(&key, v, n, sizeof(*v), seen_cmp) : NULL;
}

/* Feed one changed file's content to the collector. */
static void scan_file(scan_walk *w, const kura_node *n)
{
	kura_detect_file *f = kura_detect_file_begin(w->det, w->path.s, n->size);
	uint64_t off = 0;
	int ok = 1;

	for (uint32_t i = 0; i < n->nextents; i++) {
		const kura_extent *e = &n->extents[i];
		uint8_t *data = NULL;
		size_t len = 0;

		if (e->kind == KURA_EXTENT_CHUNK) {
			if (kura_repo__read_blob(w->repo, e->id, &data, &len) < 0) {
				ok = 0;
				break;
			}
			kura_detect_chunk(w->det, f, off, data, len, 0);
			free(data);
		}
		off += e->len;
	}
	if (!ok)
		w->unreadable++;
	kura_detect_file_end(w->det, f, ok);
}

static int scan_tree(scan_walk *w, const uint8_t id[KURA_HASH_SIZE], unsigned depth)
{
	kura_tree *tree = NULL;
	int err;

	err =
	    depth > KURA_TREE_MAX_DEPTH ? KURA_ECORRUPT : kura_repo__load_tree(w->repo, id, &tree);
	if (err == KURA_ENOMEM)
		return err;
	if (err < 0) {
		w->unreadable++; /* a directory: its files are left out */
		return 0;
	}
	for (size_t i = 0; i < tree->count; i++) {
		const kura_node *n = &tree->nodes[i];
		size_t len = w->path.len;
		seen_file s;
		const seen_file *p;

		if ((err = kura_walk__push(&w->path, n->name)) < 0)
			goto out;
		if (n->type == KURA_NODE_DIR) {
			if ((err = scan_tree(w, n->subtree, depth + 1)) < 0)
				goto out;
		} else if (n->type == KURA_NODE_FILE) {
			s.path = kura_detect_hash(w->path.s, w->path.len);
			kura_walk__digest(s.digest, n);
			if ((err = KURA_ARRAY_GROW(w->now, w->now_cap, w->nnow + 1)) < 0)
				goto out;
			w->now[w->nnow++] = s;
			p = seen_find(w->prev, w->nprev, s.path);
			if (p && memcmp(p->digest, s.digest, sizeof(s.digest)) == 0) {
				kura_detect_unchanged(w->det, w->path.s);
			} else {
				w->changed++;
				scan_file(w, n);
			}
		}
		kura_walk__pop(&w->path, len);
	}
	err = 0;
out:
	kura_tree_free(tree);
	return err;
}

/* What names a source: as the backup names its detection history (archdetect.c). */
char *kura_scan__source_key(const kura_snapshot *s)
{
	kura_buf b = KURA_BUF_INIT;
	int err = kura_buf_put(&b, s->hostname ? s->hostname : "",
			       strlen(s->hostname ? s->hostname : ""));

	for (size_t i = 0; !err && i < s->npaths; i++)
		err =
		    kura_buf_put(&b, "\n", 1) || kura_buf_put(&b, s->paths[i], strlen(s->paths[i]));
	for (size_t i = 0; !err && i < s->nexcludes; i++)
		err = kura_buf_put(&b, "\n-e ", 4) ||
		      kura_buf_put(&b, s->excludes[i], strlen(s->excludes[i]));
	if (!err)
		err = kura_buf_put(&b, "", 1);
	if (err) {
		kura_buf_free(&b);
		return NULL;
	}
	return (char *)b.data;
}

static uint64_t count_of(json_t *rec, const char *name)
{
	return (uint64_t)json_integer_value(json_object_get(json_object_get(rec, "counts"), name));
}

/*
 * The record's files, one entry a path (a note is named once for its
 * onion address and once as a note: their reasons are joined), each with
 * the snapshot it first turned suspect in (`first_seen`, kept along the
 * chain).
 */
static int merge_files(json_t *rec, json_t *first_seen, const char *id)
{
	json_t *files = json_object_get(rec, "files"), *merged = json_array(),
	       *by_path = json_object(), *f;
	size_t i;
	int err = 0;

	if (!merged || !by_path) {
		err = kura_error_set(KURA_ENOMEM, "scan: out of memory");
		goto done;
	}
	json_array_foreach(files, i, f)
	{
		const char *path = json_string_value(json_object_get(f, "path"));
		json_t *have, *first, *r;
		size_t j;

		if (!path)
			continue;
		if ((have = json_object_get(by_path, path))) {
			json_t *reasons = json_object_get(have, "reasons");

			json_array_foreach(json_object_get(f, "reasons"), j, r)
			{
				size_t k;
				json_t *x;
				int dup = 0;

				json_array_foreach(reasons, k, x) dup |= json_equal(x, r);
				if (!dup)
					json_array_append(reasons, r);
			}
			continue;
		}
		if (!(first = json_object_get(first_seen, path))) {
			first = json_string(id);
			json_object_set_new(first_seen, path, first);
		}
		json_object_set(f, "first-suspect", first);
		json_object_set(by_path, path, f);
		json_array_append(merged, f);
	}
	json_object_set(rec, "files", merged);
done:
	json_decref(merged);
	json_decref(by_path);
	return err;
}

/* Judge one snapshot against its chain's last; fills *out and moves the chain on. */
static int judge_one(kura_repo *repo, chain *c, const kura_snapshot *snap, const char *id,
		     kura_scan_snapshot *out)
{
	scan_walk w = {.repo = repo};
	kura_detect_report rep = {0};
	kura_detect_state next = {0};
	json_t *rec = NULL;
	int err;

	if ((err = kura_detect_open_history(&w.det, c->have_state ? &c->state : NULL,
					    SCAN_MAX_FILES)) < 0)
		return err;
	/* what the operator accepted weighs here as in the backups after the acceptance */
	kura_detect_set_accepts(w.det, &c->acc, c->last_accepted);
	out->accepted = c->acc.snapshots && strstr(c->acc.snapshots, id) != NULL;
	w.prev = c->files;
	w.nprev = c->nfiles;
	if ((err = scan_tree(&w, snap->tree, 0)) < 0)
		goto done;
	if ((err = kura_detect_finish(w.det, &rep)) < 0 ||
	    (err = kura_detect_take_state(w.det, &next)) < 0)
		goto done;
	if (!(rec = json_loads(rep.record, 0, NULL))) {
		err = kura_error_set(KURA_ENOMEM, "scan: out of memory");
		goto done;
	}
	/* gone files count as changed: the blast radius includes what was deleted */
	w.changed += count_of(rec, kura_detect_signal_name(KURA_SIG_DELETED));
	if ((err = merge_files(rec, c->first_seen, id)) < 0)
		goto done;
	memcpy(out->id, id, KURA_ID_HEX);
	memcpy(out->previous, c->last_id, KURA_ID_HEX);
	out->verdict = (int)rep.verdict;
	out->score = rep.score;
	out->record = json_dumps(rec, JSON_COMPACT);
	out->stored_verdict = snap->verdict;
	out->stored_score = snap->score;
	out->stored_record = snap->detection ? strdup(snap->detection) : NULL;
	out->changed = w.changed;
	out->unreadable = w.unreadable;
	if (!out->record || (snap->detection && !out->stored_record)) {
		err = kura_error_set(KURA_ENOMEM, "scan: out of memory");
		goto done;
	}
	/* the chain moves on */
	kura_detect_state_clear(&c->state);
	c->state = next;
	memset(&next, 0, sizeof(next));
	c->have_state = 1;
	free(c->files);
	if (w.nnow > 1)
		qsort(w.now, w.nnow, sizeof(*w.now), seen_cmp);
	c->files = w.now;
	c->nfiles = w.nnow;
	w.now = NULL;
	memcpy(c->last_id, id, KURA_ID_HEX);
	c->last_accepted = out->accepted;
	err = 0;
done:
	json_decref(rec);
	free(rep.record);
	free(rep.summary);
	kura_detect_state_clear(&next);
	kura_detect_free(w.det);
	free(w.now);
	kura_walk__path_free(&w.path);
	return err;
}

static void chain_clear(chain *c)
{
	free(c->key);
	kura_detect_state_clear(&c->state);
	free(c->files);
	json_decref(c->first_seen);
	kura_detect_accepts_clear(&c->acc);
}

static int wanted(const char *id, const char *const *ids, size_t nids)
{
	if (nids == 0)
		return 1;
	for (size_t i = 0; i < nids; i++)
		if (strcmp(ids[i], id) == 0)
			return 1;
	return 0;
}

static int has_key(char *const *keys, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0)
			return 1;
	return 0;
}

/* Add the source of snapshot `id` to *keys (the sources a scan reads). */
static int wanted_source(kura_repo *repo, const char *id, char ***keys, size_t *n)
{
	kura_snapshot *snap = NULL;
	char *key, **grown;
	int err;

	if ((err = kura_repo__load_snapshot(repo, id, &snap)) < 0)
		return err;
	key = kura_scan__source_key(snap);
	kura_snapshot_free(snap);
	if (!key)
		return kura_error_set(KURA_ENOMEM, "scan: out of memory");
	if (has_key(*keys, *n, key)) {
		free(key);
		return 0;
	}
	if (!(grown = realloc(*keys, (*n + 1) * sizeof(**keys)))) {
		free(key);
		return kura_error_set(KURA_ENOMEM, "scan: out of memory");
	}
	*keys = grown;
	(*keys)[(*n)++] = key;
	return 0;
}

static char *join_paths(const kura_snapshot *s)
{
	kura_buf b = KURA_BUF_INIT;
	int err = 0;

	for (size_t i = 0; !err && i < s->npaths; i++)
		err = (i && kura_buf_put(&b, " ", 1)) ||
		      kura_buf_put(&b, s->paths[i], strlen(s->paths[i]));
	if (err || kura_buf_put(&b, "", 1)) {
		kura_buf_free(&b);
		return NULL;
	}
	return (char *)b.data;
}

/* kura_scan; with `whole_chain`, every snapshot of the sources read is reported, not only `ids`. */
static int scan_run(kura_repo *repo, const char *const *ids, size_t nids, int whole_chain,
		    kura_scan_result *out)
{
	kura_snapshot_info *list = NULL;
	size_t nlist = 0, nchains = 0, chains_cap = 0, snaps_cap = 0, srcs_cap = 0, last = 0;
	chain *chains = NULL;
	char **want_keys = NULL;
	size_t nwant = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = kura_repo__need_restore_key(repo, "scanning snapshots")) < 0)
		return err;
	for (size_t i = 0; i < nids; i++)
		if (strlen(ids[i]) != KURA_ID_HEX - 1)
			return kura_error_set(KURA_EINVAL, "scan: not a full snapshot id: %s",
					      ids[i]);
	if ((err = kura_snapshots_list(repo, &list, &nlist)) < 0)
		return err;
	/* the newest snapshot asked for: nothing after it needs reading */
	for (size_t i = 0; i < nlist; i++)
		if (!list[i].damaged && wanted(list[i].id, ids, nids))
			last = i + 1;
	for (size_t i = 0; i < nids; i++) {
		size_t j = 0;

		while (j < nlist && strcmp(list[j].id, ids[i]) != 0)
			j++;
		if (j == nlist || list[j].damaged) {
			err =
			    kura_error_set(KURA_ENOTFOUND, "scan: no readable snapshot %s", ids[i]);
			goto done;
		}
		if ((err = wanted_source(repo, list[j].id, &want_keys, &nwant)) < 0)
			goto done;
	}
	for (size_t i = 0; i < last; i++) {
		kura_snapshot *snap = NULL;
		kura_scan_snapshot one;
		chain *c = NULL;
		char *key;
		size_t k;

		err = list[i].damaged ? KURA_ECORRUPT
				      : kura_repo__load_snapshot(repo, list[i].id, &snap);
		if (err == KURA_ENOMEM)
			goto done;
		if (err < 0) { /* damaged: noted by the repository, the others still judged */
			out->skipped++;
			err = 0;
			continue;
		}
		if (!(key = kura_scan__source_key(snap))) {
			kura_snapshot_free(snap);
			err = kura_error_set(KURA_ENOMEM, "scan: out of memory");
			goto done;
		}
		/* a source none of the snapshots asked for belongs to is not read */
		if (nids && !has_key(want_keys, nwant, key)) {
			free(key);
			kura_snapshot_free(snap);
			continue;
		}
		for (k = 0; k < nchains; k++)
			if (strcmp(chains[k].key, key) == 0)
				break;
		if (k == nchains) {
			if ((err = KURA_ARRAY_GROW(chains, chains_cap, nchains + 1)) < 0 ||
			    (err = KURA_ARRAY_GROW(out->sources, srcs_cap, nchains + 1)) < 0) {
				free(key);
				kura_snapshot_free(snap);
				goto done;
			}
			memset(&chains[k], 0, sizeof(chains[k]));
			memset(&out->sources[k], 0, sizeof(out->sources[k]));
			chains[k].key = key;
			chains[k].first_seen = json_object();
			nchains++;
			out->nsources = nchains;
			if ((err = kura_repo__accepts_for(repo, key, &chains[k].acc)) < 0) {
				kura_snapshot_free(snap);
				goto done;
			}
			out->sources[k].host = strdup(snap->hostname ? snap->hostname : "");
			out->sources[k].paths = join_paths(snap);
			if (!chains[k].first_seen || !out->sources[k].host ||
			    !out->sources[k].paths) {
				kura_snapshot_free(snap);
				err = kura_error_set(KURA_ENOMEM, "scan: out of memory");
				goto done;
			}
		} else {
			free(key); /* the chain holds its own */
		}
		c = &chains[k];
		memset(&one, 0, sizeof(one));
		one.source = k;
		one.order_ns = kura_snapshot_order_ns(&list[i]);
		err = judge_one(repo, c, snap, list[i].id, &one);
		kura_snapshot_free(snap);
		if (err < 0) {
			free(one.record);
			free(one.stored_record);
			goto done;
		}
		/* the clean point and the blast radius: the first suspect snapshot decides */
		if (!c->suspect_seen && one.verdict == KURA_DETECTION_SUSPECT) {
			kura_scan_source *s = &out->sources[k];
			json_t *rec = json_loads(one.record, 0, NULL);

			c->suspect_seen = 1;
			memcpy(s->first_suspect, list[i].id, KURA_ID_HEX);
			memcpy(s->clean_point, c->last_clean, KURA_ID_HEX);
			s->blast_files = one.changed;
			s->suspect_files = json_array_size(json_object_get(rec, "files"));
			json_decref(rec);
		} else if (!c->suspect_seen) {
			memcpy(c->last_clean, list[i].id, KURA_ID_HEX);
			memcpy(out->sources[k].clean_point, list[i].id, KURA_ID_HEX);
		}
		if (!whole_chain && !wanted(list[i].id, ids, nids)) {
			free(one.record);
			free(one.stored_record);
			continue;
		}
		if ((err = KURA_ARRAY_GROW(out->snapshots, snaps_cap, out->nsnapshots + 1)) < 0) {
			free(one.record);
			free(one.stored_record);
			goto done;
		}
		out->snapshots[out->nsnapshots++] = one;
	}
done:
	for (size_t k = 0; k < nchains; k++)
		chain_clear(&chains[k]);
	for (size_t k = 0; k < nwant; k++)
		free(want_keys[k]);
	free(want_keys);
	free(chains);
	kura_snapshots_free(list, nlist);
	if (err < 0)
		kura_scan_result_clear(out);
	return err;
}

int kura_scan(kura_repo *repo, const char *const *ids, size_t nids, kura_scan_result *out)
{
	return scan_run(repo, ids, nids, 0, out);
}

int kura_scan_chain(kura_repo *repo, const char *id, kura_scan_result *out)
{
	return scan_run(repo, &id, 1, 1, out);
}

void kura_scan_result_clear(kura_scan_result *r)
{
	for (size_t i = 0; i < r->nsnapshots; i++) {
		free(r->snapshots[i].record);
		free(r->snapshots[i].stored_record);
	}
	for (size_t i = 0; i < r->nsources; i++) {
		free(r->sources[i].host);
		free(r->sources[i].paths);
	}
	free(r->snapshots);
	free(r->sources);
	memset(r, 0, sizeof(*r));
}
