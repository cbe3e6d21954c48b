/* SPDX-License-Identifier: Apache-2.0 */
/*
 * detect.c - the collector (detect.h): per-file judgement as files
 * complete, then the backup-wide signals once the walk is over.
 *
 * Per file, from what the pipeline hands over: the first bytes (its type,
 * magic.h), each chunk's blocks (random, text: blockstat.h), and for small
 * text files their wording; judged against the name's promise and the
 * previous version's features (state.h).  Backup-wide, once every file is
 * known: files of the previous backup not seen again are deletions or,
 * when a new random file has their stem, renames; new small text files
 * sharing one name across directories are notes; then the tally goes to
 * judge.c and the record and summary are written as JSON.
 *
 * Memory grows with the number of files by one 32-byte entry each (the
 * history, old and new) plus 24 bytes per new random file; names are kept
 * only for the first KURA_DETECT_EXAMPLES suspect files.
 */
#include "detect/detect.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/array.h"
#include "common/error.h"
#include "common/utf8.h"
#include "detect/blockstat.h"
#include "detect/magic.h"
#include "detect/notes.h"
#include "detect/state.h"

#define KURA_DETECT_EXAMPLES 100
/* Files up to this size are searched for onion addresses and ransom wording. */
#define SMALL_TEXT_MAX (64 * 1024)
/* A file this random (percent of its blocks) is noise. */
#define NOISE_PCT 90
/* Unlisted note names: in this many directories, with onion or this much wording. */
#define NOTE_WORDS 4
#define NAMES_MAX (1u << 20)

struct kura_detect_file {
	char *path;
	uint64_t size;
	uint8_t head[KURA_DETECT_HEAD];
	size_t headlen;
	uint32_t blocks, random, text;
	int first_random, first_text, have_first;
	int is_new; /* not in the history: only new files can be notes */
	kura_text_clues clues;
};

typedef struct {
	char *path;
	uint32_t reasons;
} example;

typedef struct {
	uint64_t path, stem;
	char *name;   /* kept for the first examples only */
	uint32_t acc; /* the signals an acceptance allows it (accept.h) */
} candidate;

typedef struct {
	uint64_t key; /* hash of the base name; 0: empty slot */
	uint32_t dirs;
	uint8_t named, words, onion;
} name_slot;

struct kura_detect {
	pthread_mutex_t lock;
	char *state_file;
	kura_detect_state old;
	int history;
	kura_detect_entry *now;
	size_t nnow, now_cap;
	kura_detect_tally tally;
	uint64_t unfollowed;
	example *ex;
	size_t nex, ex_cap;
	candidate *noisy; /* new random files without a type: renames or new noise */
	size_t nnoisy, noisy_cap;
	candidate *notes; /* new small text files that read like notes (examples) */
	size_t nnotes, notes_cap;
	name_slot *names; /* open addressing, a power of two */
	size_t names_cap, names_used;
	kura_detect_outcome outcome;
	int finished;
	size_t max_examples; /* files the record names */
	const kura_detect_accepts *acc; /* the operator's acceptances (borrowed), or NULL */
	int acc_restarted;		/* one is newer than the history: the accumulator restarted */
};

static int note_words(const kura_detect_file *f);

/* ---------------------------------------------------------------------- */

int kura_detect_open(kura_detect **out, const kura_detect_config *cfg)
{
	kura_detect *d = calloc(1, sizeof(*d));
	int err = 0;

	*out = NULL;
	if (!d)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	pthread_mutex_init(&d->lock, NULL);
	d->max_examples = KURA_DETECT_EXAMPLES;
	if (cfg->cache_dir && cfg->repo_id_hex && cfg->source) {
		uint64_t src = kura_detect_hash(cfg->source, strlen(cfg->source));

		if (asprintf(&d->state_file, "%s/%s/detect-%016llx", cfg->cache_dir,
			     cfg->repo_id_hex, (unsigned long long)src) < 0)
			d->state_file = NULL;
	}
	if (d->state_file && (err = kura_detect_state_load(&d->old, d->state_file)) < 0)
		goto fail;
	d->history = err == 1;
	d->acc = cfg->accepts && cfg->accepts->records ? cfg->accepts : NULL;
	if (d->acc && d->history) {
		struct stat st;

		/* the first backup since an acceptance: the accepted share was no attack */
		if (stat(d->state_file, &st) == 0 &&
		    (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec < d->acc->newest_ns) {
			d->old.cusum = 0;
			d->acc_restarted = 1;
		}
	}
	d->tally.history = d->history;
	d->tally.prev_files = d->old.count;
	d->tally.cusum = d->old.cusum;
	*out = d;
	return 0;
fail:
	kura_detect_free(d);
	return err;
}

int kura_detect_open_history(kura_detect **out, const kura_detect_state *history, size_t max_files)
{
	kura_detect_config cfg = {0};
	kura_detect *d;
	int err;

	if ((err = kura_detect_open(&d, &cfg)) < 0)
		return err;
	if (max_files > d->max_examples)
		d->max_examples = max_files;
	if (history) {
		d->old.snapshots = history->snapshots;
		d->old.cusum = history->cusum;
		if (history->count) {
			d->old.entries = malloc(history->count * sizeof(*history->entries));
			if (!d->old.entries) {
				kura_detect_free(d);
				*out = NULL;
				return kura_error_set(KURA_ENOMEM, "out of memory");
			}
			memcpy(d->old.entries, history->entries,
			       history->count * sizeof(*history->entries));
			d->old.count = history->count;
			for (size_t i = 0; i < d->old.count; i++)
				d->old.entries[i].flags = 0;
		}
		d->history = 1;
		d->tally.history = 1;
		d->tally.prev_files = d->old.count;
		d->tally.cusum = d->old.cusum;
	}
	*out = d;
	return 0;
}

void kura_detect_set_accepts(kura_detect *d, const kura_detect_accepts *a, int restart)
{
	d->acc = a && a->records ? a : NULL;
	if (d->acc && restart && d->history) {
		d->old.cusum = 0;
		d->tally.cusum = 0;
		d->acc_restarted = 1;
	}
}

kura_detect_file *kura_detect_file_begin(kura_detect *d, const char *path, uint64_t size)
{
	kura_detect_file *f = calloc(1, sizeof(*f));

	if (!f || !(f->path = strdup(path))) {
		free(f);
		pthread_mutex_lock(&d->lock);
		d->unfollowed++;
		pthread_mutex_unlock(&d->lock);
		return NULL;
	}
	f->size = size;
	pthread_mutex_lock(&d->lock);
	f->is_new =
	    !d->history || !kura_detect_state_find(&d->old, kura_detect_hash(path, strlen(path)));
	pthread_mutex_unlock(&d->lock);
	return f;
}

void kura_detect_chunk(kura_detect *d, kura_detect_file *f, uint64_t offset, const uint8_t *data,
		       size_t len, size_t stored)
{
	kura_blockscan scan;

	if (!f)
		return;
	kura_detect_scan(data, len, offset, &scan);
	kura_detect_chunk_scanned(d, f, offset, data, len, stored, &scan);
}

void kura_detect_chunk_scanned(kura_detect *d, kura_detect_file *f, uint64_t offset,
			       const uint8_t *data, size_t len, size_t stored,
			       const kura_blockscan *scan_in)
{
	const kura_blockscan scan = *scan_in;
	kura_text_clues clues = {0};

	if (!f)
		return;
	if (f->is_new && f->size <= SMALL_TEXT_MAX && offset == 0 && scan.first_text)
		kura_detect_text_clues(data, len, &clues);
	pthread_mutex_lock(&d->lock);
	/*
	 * How it compressed: reported (new data that zstd cannot shrink is
	 * ciphertext or already compressed), not scored: the blocks and the
	 * type tell the two apart, a ratio cannot.
	 */
	if (stored) {
		d->tally.stored_raw += len;
		if ((uint64_t)stored * 50 >= (uint64_t)len * 49)
			d->tally.stored_dense += len;
	}
	f->blocks += scan.blocks;
	f->random += scan.random;
	f->text += scan.text;
	f->clues.onions += clues.onions;
	if (clues.ransom_words > f->clues.ransom_words)
		f->clues.ransom_words = clues.ransom_words;
	if (offset == 0) {
		f->headlen = len < sizeof(f->head) ? len : sizeof(f->head);
		memcpy(f->head, data, f->headlen);
		f->first_random = scan.first_random;
		f->first_text = scan.first_text;
		f->have_first = 1;
	}
	pthread_mutex_unlock(&d->lock);
}

/* The path without its last extension (the whole path if it has none). */
static uint64_t stem_hash(const char *path)
{
	const char *base = strrchr(path, '/'), *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	return kura_detect_hash(path, dot && dot != base ? (size_t)(dot - path) : strlen(path));
}

/* Callers hold d->lock. */
static void add_entry(kura_detect *d, const kura_detect_entry *e)
{
	if (KURA_ARRAY_GROW(d->now, d->now_cap, d->nnow + 1) < 0) {
		d->unfollowed++;
		return;
	}
	d->now[d->nnow] = *e;
	d->now[d->nnow++].flags = 0;
}

static void add_example(kura_detect *d, const char *path, uint32_t reasons)
{
	if (d->nex >= d->max_examples || KURA_ARRAY_GROW(d->ex, d->ex_cap, d->nex + 1) < 0)
		return;
	if ((d->ex[d->nex].path = kura_utf8_sanitize(path)))
		d->ex[d->nex++].reasons = reasons;
}

static void add_candidate(candidate **list, size_t *n, size_t *cap, uint64_t path, uint64_t stem,
			  const char *name, size_t keep_names, uint32_t acc)
{
	if (KURA_ARRAY_GROW(*list, *cap, *n + 1) < 0)
		return;
	(*list)[*n].path = path;
	(*list)[*n].stem = stem;
	(*list)[*n].acc = acc;
	(*list)[*n].name = *n < keep_names ? kura_utf8_sanitize(name) : NULL;
	(*n)++;
}

static name_slot *name_find(kura_detect *d, uint64_t key)
{
	if (key == 0)
		key = 1;
	if (d->names_used * 2 >= d->names_cap) {
		size_t cap = d->names_cap ? d->names_cap * 2 : 1024;
		name_slot *t;

		if (d->names_used >= NAMES_MAX || !(t = calloc(cap, sizeof(*t))))
			return NULL;
		for (size_t i = 0; i < d->names_cap; i++) {
			size_t j = d->names[i].key & (cap - 1);

			if (!d->names[i].key)
				continue;
			while (t[j].key)
				j = (j + 1) & (cap - 1);
			t[j] = d->names[i];
		}
		free(d->names);
		d->names = t;
		d->names_cap = cap;
	}
	for (size_t j = key & (d->names_cap - 1);; j = (j + 1) & (d->names_cap - 1)) {
		if (d->names[j].key == key)
			return &d->names[j];
		if (!d->names[j].key) {
			d->names[j].key = key;
			d->names_used++;
			return &d->names[j];
		}
	}
}

static int note_words(const kura_detect_file *f)
{
	return f->clues.ransom_words > 255 ? 255 : (int)f->clues.ransom_words;
}

/*
 * The reasons one file gives on its own: its content against its name and
 * against its previous version.  Callers hold d->lock.
 */
static uint32_t judge_file(const kura_detect_file *f, const kura_detect_entry *prev,
			   kura_filetype type, unsigned noise)
{
	kura_filetype expected = kura_detect_expected(f->path);
	uint32_t r = 0;

	/* its header is gone: random where the name promises a format */
	if (expected != KURA_FT_UNKNOWN && type == KURA_FT_UNKNOWN && f->first_random)
		r |= 1u << KURA_SIG_MISMATCH;
	else if (prev && prev->type != KURA_FT_UNKNOWN && type == KURA_FT_UNKNOWN &&
		 f->first_random)
		r |= 1u << KURA_SIG_TYPE_LOST;
	else if (prev && prev->noise < 10 && noise >= NOISE_PCT && !kura_detect_type_dense(type))
		r |= 1u << KURA_SIG_NOISE;
	/* random blocks where the format allows none, beside blocks that are not */
	if (!kura_detect_type_dense(type) && f->random >= 2 && noise < NOISE_PCT &&
	    (type == KURA_FT_TEXT || type == KURA_FT_SQLITE || expected == KURA_FT_TEXT ||
	     (prev && prev->noise == 0 && prev->type == type)))
		r |= 1u << KURA_SIG_PARTIAL;
	return r;
}

void kura_detect_file_end(kura_detect *d, kura_detect_file *f, int ok)
{
	kura_detect_entry e = {0}, *prev;
	const char *base;
	kura_filetype type;
	unsigned noise;
	uint32_t reasons;

	if (!f)
		return;
	if (!ok) {
		/* unreadable, not deleted: what we knew of it stays for next time */
		e.path = kura_detect_hash(f->path, strlen(f->path));
		pthread_mutex_lock(&d->lock);
		if (d->history && (prev = kura_detect_state_find(&d->old, e.path))) {
			prev->flags |= KURA_DETECT_SEEN;
			add_entry(d, prev);
		}
		pthread_mutex_unlock(&d->lock);
		goto done;
	}
	base = strrchr(f->path, '/');
	base = base ? base + 1 : f->path;
	type = kura_detect_magic(f->head, f->headlen, f->first_text);
	noise = f->blocks ? f->random * 100 / f->blocks : 0;
	e.path = kura_detect_hash(f->path, strlen(f->path));
	e.stem = stem_hash(f->path);
	e.size = f->size;
	e.type = (uint8_t)type;
	e.noise = (uint8_t)noise;
	pthread_mutex_lock(&d->lock);
	prev = d->history ? kura_detect_state_find(&d->old, e.path) : NULL;
	if (prev)
		prev->flags |= KURA_DETECT_SEEN;
	d->tally.files++;
	d->tally.files_read++;
	reasons = judge_file(f, prev, type, noise);
	if (!prev) {
		d->tally.files_new++;
		if (kura_detect_type_dense(type))
			d->tally.new_dense_bytes += f->size;
		/* a new random file without a type: a rename of a gone file, or new noise */
		if (!reasons && f->blocks && noise >= NOISE_PCT && type == KURA_FT_UNKNOWN &&
		    kura_detect_expected(f->path) == KURA_FT_UNKNOWN)
			add_candidate(&d->noisy, &d->nnoisy, &d->noisy_cap, e.path, e.stem, f->path,
				      d->max_examples, kura_detect_accepted(d->acc, f->path));
		/* a new small text file: a note? */
		if (f->size <= SMALL_TEXT_MAX && (type == KURA_FT_TEXT || f->first_text)) {
			int named = kura_detect_note_name(base);
			name_slot *slot = name_find(d, kura_detect_hash(base, strlen(base)));

			if (slot) {
				slot->dirs++;
				slot->named |= (uint8_t)named;
				if (note_words(f) > slot->words)
					slot->words = (uint8_t)note_words(f);
				slot->onion |= f->clues.onions > 0;
			}
			if (f->clues.onions) {
				reasons |= 1u << KURA_SIG_ONION;
			}
			if (named || f->clues.onions || f->clues.ransom_words >= 2)
				add_candidate(&d->notes, &d->nnotes, &d->notes_cap, e.path,
					      kura_detect_hash(base, strlen(base)), f->path,
					      2 * d->max_examples, 0);
		}
	}
	for (int s = 0; s < KURA_SIG_COUNT; s++)
		if (reasons & (1u << s))
			d->tally.counts[s]++;
	if (reasons & KURA_SIG_CONTENT_MASK) {
		d->tally.content_files++;
		/* accepted: counted at a tenth, and not named (it is no suspect file) */
		if (d->acc && !(reasons & KURA_SIG_CONTENT_MASK &
				~kura_detect_accepted(d->acc, f->path))) {
			d->tally.accepted_files++;
			reasons &= ~KURA_SIG_CONTENT_MASK;
		}
	}
	if (reasons)
		add_example(d, f->path, reasons);
	add_entry(d, &e);
	pthread_mutex_unlock(&d->lock);
done:
	free(f->path);
	free(f);
}

void kura_detect_unchanged(kura_detect *d, const char *path)
{
	kura_detect_entry e = {0}, *prev;

	e.path = kura_detect_hash(path, strlen(path));
	pthread_mutex_lock(&d->lock);
	d->tally.files++;
	prev = d->history ? kura_detect_state_find(&d->old, e.path) : NULL;
	if (prev) {
		prev->flags |= KURA_DETECT_SEEN;
		e = *prev;
	} else {
		/* kept by the file cache while the history was lost: features unknown */
		e.stem = stem_hash(path);
		e.noise = KURA_DETECT_NOISE_UNKNOWN;
	}
	add_entry(d, &e);
	pthread_mutex_unlock(&d->lock);
}

/* ---------------------------------------------------------------------- */
/* The backup as a whole                                                   */

static int entry_path_cmp(const void *x, const void *y)
{
	uint64_t a = ((const kura_detect_entry *)x)->path, b = ((const kura_detect_entry *)y)->path;

	return a < b ? -1 : a > b;
}

static int ref_stem_cmp(const void *x, const void *y)
{
	uint64_t a = (*(kura_detect_entry *const *)x)->stem,
		 b = (*(kura_detect_entry *const *)y)->stem;

	return a < b ? -1 : a > b;
}

/* A gone file of the previous backup that `c` replaces under a new extension, or NULL. */
static kura_detect_entry *renamed_from(kura_detect *d, const candidate *c, kura_detect_entry **gone,
				       size_t ngone)
{
	kura_detect_entry *e =
	    kura_detect_state_find(&d->old, c->stem); /* name.ext -> name.ext.x */
	size_t lo = 0, hi = ngone;

	if (e && !(e->flags & (KURA_DETECT_SEEN | KURA_DETECT_MOVED)))
		return e;
	while (lo < hi) { /* name.ext -> name.x */
		size_t mid = lo + (hi - lo) / 2;

		if (gone[mid]->stem < c->stem)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ngone && gone[lo]->stem == c->stem; lo++)
		if (!(gone[lo]->flags & KURA_DETECT_MOVED))
			return gone[lo];
	return NULL;
}

static void find_renames(kura_detect *d)
{
	kura_detect_entry **gone = NULL;
	size_t ngone = 0;

	if (d->history && d->old.count && (gone = calloc(d->old.count, sizeof(*gone)))) {
		for (size_t i = 0; i < d->old.count; i++)
			if (!(d->old.entries[i].flags & KURA_DETECT_SEEN))
				gone[ngone++] = &d->old.entries[i];
		qsort(gone, ngone, sizeof(*gone), ref_stem_cmp);
	}
	for (size_t i = 0; i < d->nnoisy; i++) {
		const candidate *c = &d->noisy[i];
		kura_detect_entry *from = gone ? renamed_from(d, c, gone, ngone) : NULL;
		kura_signal s = from ? KURA_SIG_RENAMED : KURA_SIG_NEW_NOISE;
		int acc = (c->acc & (1u << s)) != 0;

		if (from)
			from->flags |= KURA_DETECT_MOVED;
		d->tally.counts[s]++;
		if (from)
			d->tally.content_files++;
		if (acc && from)
			d->tally.accepted_files++;
		else if (acc)
			d->tally.accepted_new++;
		if (c->name && !acc)
			add_example(d, c->name, 1u << s);
	}
	free(gone);
	for (size_t i = 0; d->history && i < d->old.count; i++) {
		const kura_detect_entry *e = &d->old.entries[i];

		if (!(e->flags & (KURA_DETECT_SEEN | KURA_DETECT_MOVED))) {
			d->tally.counts[KURA_SIG_DELETED]++;
			d->tally.gone_bytes += e->size;
		}
	}
}

static int note_slot(const name_slot *s)
{
	if (s->named && (s->words >= 2 || s->onion))
		return 1;
	return s->dirs >= 3 && (s->onion || s->words >= NOTE_WORDS);
}

static void find_notes(kura_detect *d)
{
	for (size_t i = 0; i < d->names_cap; i++) {
		const name_slot *s = &d->names[i];

		if (!s->key || !note_slot(s))
			continue;
		d->tally.counts[KURA_SIG_NOTE] += s->dirs;
		if (s->named)
			d->tally.note_dirs_named += s->dirs;
		else if (s->dirs > d->tally.note_dirs_shape)
			d->tally.note_dirs_shape = s->dirs;
	}
	for (size_t i = 0; i < d->nnotes; i++) {
		const candidate *c = &d->notes[i];
		name_slot *s = c->name ? name_find(d, c->stem) : NULL;

		if (s && note_slot(s))
			add_example(d, c->name, 1u << KURA_SIG_NOTE);
	}
}

/* Content and notes first: they are what the message shows. */
static int example_rank(const example *e)
{
	if (e->reasons & (KURA_SIG_CONTENT_MASK & ~(1u << KURA_SIG_RENAMED)))
		return 0;
	if (e->reasons &
	    ((1u << KURA_SIG_RENAMED) | (1u << KURA_SIG_NOTE) | (1u << KURA_SIG_ONION)))
		return 1;
	return 2;
}

static int example_cmp(const void *x, const void *y)
{
	return example_rank(x) - example_rank(y);
}

static json_t *counts_json(const kura_detect *d)
{
	const kura_detect_tally *t = &d->tally;
	json_t *c = json_object();

	if (!c)
		return NULL;
	json_object_set_new(c, "files", json_integer((json_int_t)t->files));
	json_object_set_new(c, "read", json_integer((json_int_t)t->files_read));
	json_object_set_new(c, "new", json_integer((json_int_t)t->files_new));
	json_object_set_new(c, "previous", json_integer((json_int_t)t->prev_files));
	json_object_set_new(c, "unfollowed", json_integer((json_int_t)d->unfollowed));
	json_object_set_new(c, "new-kib", json_integer((json_int_t)(t->stored_raw >> 10)));
	json_object_set_new(c, "incompressible-kib",
			    json_integer((json_int_t)(t->stored_dense >> 10)));
	for (int s = 0; s < KURA_SIG_SLOW; s++)
		json_object_set_new(c, kura_detect_signal_name(s),
				    json_integer((json_int_t)t->counts[s]));
	if (d->acc) /* files an operator's acceptance weighed at a tenth: never silently */
		json_object_set_new(c, "accepted",
				    json_integer((json_int_t)(t->accepted_files + t->accepted_new)));
	return c;
}

/* What the operator's acceptances did to this backup (accept.h), or NULL without any. */
static json_t *accepted_json(const kura_detect *d)
{
	if (!d->acc)
		return NULL;
	return json_pack("{s:I, s:s, s:I, s:b, s:i}", "records", (json_int_t)d->acc->records,
			 "snapshots", d->acc->snapshots ? d->acc->snapshots : "", "files",
			 (json_int_t)(d->tally.accepted_files + d->tally.accepted_new),
			 "restarted", d->acc_restarted, "divisor", KURA_DETECT_ACCEPT_DIVISOR);
}

static json_t *signals_json(const kura_detect_outcome *o, const kura_detect_tally *t)
{
	json_t *a = json_array();
	int done[KURA_SIG_COUNT] = {0};

	/* strongest first */
	for (int k = 0; a && k < KURA_SIG_COUNT; k++) {
		int best = -1;

		for (int s = 0; s < KURA_SIG_COUNT; s++)
			if (!done[s] && o->points[s] > 0 &&
			    (best < 0 || o->points[s] > o->points[best]))
				best = s;
		if (best < 0)
			break;
		done[best] = 1;
		/* the accumulator's files are this backup's content files */
		json_array_append_new(
		    a, json_pack(
			   "{s:s, s:I, s:i}", "signal", kura_detect_signal_name(best), "files",
			   (json_int_t)(best == KURA_SIG_SLOW ? t->content_files : t->counts[best]),
			   "points", o->points[best]));
	}
	return a;
}

static char *dump(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

int kura_detect_finish(kura_detect *d, kura_detect_report *out)
{
	kura_detect_outcome *o = &d->outcome;
	json_t *rec = NULL, *sum = NULL, *files = NULL;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&d->lock);
	find_renames(d);
	find_notes(d);
	kura_detect_judge(&d->tally, o);
	if (d->nex > 1)
		qsort(d->ex, d->nex, sizeof(*d->ex), example_cmp);
	d->finished = 1;
	if ((files = json_array()))
		for (size_t i = 0; i < d->nex; i++) {
			json_t *reasons = json_array();

			for (int s = 0; reasons && s < KURA_SIG_COUNT; s++)
				if (d->ex[i].reasons & (1u << s))
					json_array_append_new(
					    reasons, json_string(kura_detect_signal_name(s)));
			json_array_append_new(files, json_pack("{s:s, s:o}", "path", d->ex[i].path,
							       "reasons", reasons));
		}
	rec = json_pack("{s:i, s:s, s:i, s:b, s:f, s:f, s:o, s:o, s:o}", "v", 1, "verdict",
			kura_detect_verdict_name(o->verdict), "score", o->score, "history",
			d->history, "share", o->share, "cusum", o->cusum, "counts", counts_json(d),
			"signals", signals_json(o, &d->tally), "files", files);
	if (rec && d->acc)
		json_object_set_new(rec, "accepted", accepted_json(d));
	sum = json_pack("{s:i, s:s, s:i, s:b, s:o}", "v", 1, "verdict",
			kura_detect_verdict_name(o->verdict), "score", o->score, "history",
			d->history, "counts", counts_json(d));
	pthread_mutex_unlock(&d->lock);
	out->verdict = o->verdict;
	out->score = o->score;
	out->record = dump(rec);
	out->summary = dump(sum);
	if (!out->record || !out->summary) {
		free(out->record);
		free(out->summary);
		memset(out, 0, sizeof(*out));
		return kura_error_set(KURA_ENOMEM, "detection: out of memory");
	}
	return 0;
}

static int make_parent(const char *file)
{
	char *dir = strdup(file), *slash;

	if (!dir)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	/* <cache>/<repository id>/detect-...: the two levels above */
	if ((slash = strrchr(dir, '/'))) {
		*slash = '\0';
		if ((slash = strrchr(dir, '/'))) {
			*slash = '\0';
			mkdir(dir, 0700);
			*slash = '/';
		}
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			int e = errno;

			free(dir);
			return kura_error_errno(KURA_EIO, e, "cache directory for %s", file);
		}
	}
	free(dir);
	return 0;
}

/* The history for next time, borrowing d->now (sorted, one entry a path).  Callers hold d->lock. */
static void next_state(kura_detect *d, kura_detect_state *s)
{
	size_t n = 0;

	if (d->nnow > 1)
		qsort(d->now, d->nnow, sizeof(*d->now), entry_path_cmp);
	for (size_t i = 0; i < d->nnow; i++) /* one entry a path (hard links are one file) */
		if (n == 0 || d->now[i].path != d->now[n - 1].path)
			d->now[n++] = d->now[i];
	d->nnow = n;
	s->entries = d->now;
	s->count = d->nnow;
	s->snapshots = d->old.snapshots + 1;
	s->cusum = d->outcome.cusum;
}

int kura_detect_take_state(kura_detect *d, kura_detect_state *out)
{
	memset(out, 0, sizeof(*out));
	if (!d->finished)
		return kura_error_set(KURA_EINVAL, "detection: the backup was not judged yet");
	pthread_mutex_lock(&d->lock);
	next_state(d, out);
	d->now = NULL; /* moved */
	d->nnow = d->now_cap = 0;
	d->finished = 0;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int kura_detect_commit(kura_detect *d)
{
	kura_detect_state s = {0};
	int err;

	if (!d->finished || !d->state_file)
		return 0;
	pthread_mutex_lock(&d->lock);
	next_state(d, &s);
	pthread_mutex_unlock(&d->lock);
	if ((err = make_parent(d->state_file)) < 0)
		return err;
	return kura_detect_state_save(&s, d->state_file);
}

void kura_detect_free(kura_detect *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nex; i++)
		free(d->ex[i].path);
	for (size_t i = 0; i < d->nnoisy; i++)
		free(d->noisy[i].name);
	for (size_t i = 0; i < d->nnotes; i++)
		free(d->notes[i].name);
	free(d->ex);
	free(d->noisy);
	free(d->notes);
	free(d->names);
	free(d->now);
	kura_detect_state_clear(&d->old);
	free(d->state_file);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
