/* SPDX-License-Identifier: Apache-2.0 */
/*
 * watch.c - the vault's own judgment (watch.h, docs/DETECTION.md, "On the vault").
 *
 * The vault holds no key, so it judges by what it stores and sees:
 * - how many bytes of packs each snapshot newly names.  A client's
 *   backups add a fairly steady amount each time (what changed, after
 *   dedup and compression); files encrypted by ransomware neither dedup
 *   nor compress, so the snapshot that first contains them adds about
 *   the size of everything encrypted.  Judged with the median and the
 *   median absolute deviation of the client's last WATCH_HISTORY
 *   measures, which one earlier outlier (the first, full backup) cannot
 *   move, and only once there are WATCH_HISTORY_MIN of them.
 * - when each writer last sent a snapshot, against its usual interval.
 * - how many logins the gate refused in the last minute, vault-wide.
 * - how many deletion requests each repository got in the last hour.
 *
 * Measures are appended to DIR/meta/REPO/volumes, one line a snapshot:
 *   NAME RECEIVED_NS CLIENT NEW_BYTES NEW_PACKS SUSPECT(0|1)
 * (fsynced; a torn or malformed line is skipped).  While the repository
 * has an open alert, measures marked suspect are left out of the
 * baseline, so an attack that goes on does not become the new normal;
 * once approvers resolve the alert they count again.
 */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "alerts.h"
#include "common/error.h"
#include "files.h"
#include "kura/keyless.h"
#include "policy.h"
#include "snaptimes.h"
#include "store_stat.h"

#define NS 1000000000LL

typedef struct {
	char repo[VAULT_NAME_MAX + 1], client[VAULT_NAME_MAX + 1];
	const vault_client *c;		  /* NULL until the client table names it */
	int64_t times[WATCH_HISTORY + 1]; /* the newest receive times, ascending */
	size_t n;
	int64_t raised_for; /* the last receive time a silence alert was raised for */
} tracked;

typedef struct {
	char repo[VAULT_NAME_MAX + 1];
	int64_t times[WATCH_DELETION_BURST]; /* a ring of the newest request times */
	size_t next;
	int64_t raised_ns;
} del_rate;

struct watch {
	vault *v;
	watch_settings s;
	pthread_mutex_t lock;
	tracked *clients;
	size_t nclients, cap_clients;
	del_rate *dels;
	size_t ndels, cap_dels;
	/* refused logins: the running count once a second over the last window */
	uint64_t login_samples[WATCH_LOGIN_WINDOW_S + 1];
	size_t nsamples, sample_next;
	bool login_burst;
};

/* ------------------------------------------------------------------ */
/* Settings                                                            */

int watch_settings_load(const char *dir, watch_settings *out)
{
	char *path = NULL, *text = NULL;
	json_t *doc = NULL, *det, *smin = NULL, *silence = NULL;
	json_error_t jerr;
	size_t len;
	int err;

	out->surge_min = WATCH_SURGE_MIN;
	out->silence_min_s = WATCH_SILENCE_MIN_S;
	if (asprintf(&path, "%s/vault.json", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &text, &len)) < 0)
		goto done;
	if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
		goto done;
	}
	det = json_object_get(doc, "detect");
	if (!det || json_is_null(det))
		goto done;
	if (json_unpack_ex(det, &jerr, JSON_STRICT, "{s?o, s?o}", "surge_min", &smin, "silence_min",
			   &silence) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: \"detect\": %s", path, jerr.text);
		goto done;
	}
	if (smin) {
		if (!json_is_integer(smin) || json_integer_value(smin) < 0) {
			err = kura_error_set(KURA_ECORRUPT,
					     "%s: \"detect\": \"surge_min\" must be a whole number "
					     "of bytes",
					     path);
			goto done;
		}
		out->surge_min = (int64_t)json_integer_value(smin);
	}
	if (silence &&
	    (!json_is_string(silence) ||
	     policy_duration_parse(json_string_value(silence), &out->silence_min_s) < 0)) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: \"detect\": \"silence_min\" must be a duration such as "
				     "\"1h\" or \"90s\"",
				     path);
		goto done;
	}
done:
	json_decref(doc);
	free(text);
	free(path);
	return err;
}

/* ------------------------------------------------------------------ */
/* The rules                                                           */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median_u64(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2]
		     : v[n / 2 - 1] / 2 + v[n / 2] / 2 + (v[n / 2 - 1] % 2 + v[n / 2] % 2) / 2;
}

bool watch_surge(const uint64_t *hist, size_t n, uint64_t x, int64_t surge_min,
		 uint64_t *out_median, uint64_t *out_limit)
{
	uint64_t v[WATCH_HISTORY], m, mad, limit, spread;
	size_t i;

	if (out_median)
		*out_median = 0;
	if (out_limit)
		*out_limit = 0;
	if (n > WATCH_HISTORY) {
		hist += n - WATCH_HISTORY;
		n = WATCH_HISTORY;
	}
	if (n < WATCH_HISTORY_MIN)
		return false;
	memcpy(v, hist, n * sizeof(*v));
	m = median_u64(v, n);
	for (i = 0; i < n; i++)
		v[i] = hist[i] > m ? hist[i] - m : m - hist[i];
	mad = median_u64(v, n);
	/* 1.4826 x MAD estimates a standard deviation; in integers, x 14826 / 10000. */
	spread = mad > UINT64_MAX / 14826 / WATCH_SURGE_MADS
		     ? UINT64_MAX / 2
		     : mad * 14826 / 10000 * WATCH_SURGE_MADS;
	limit = surge_min > 0 ? (uint64_t)surge_min : 0;
	if (m > UINT64_MAX / WATCH_SURGE_RATIO || spread > UINT64_MAX - m)
		limit = UINT64_MAX;
	else {
		if (m * WATCH_SURGE_RATIO > limit)
			limit = m * WATCH_SURGE_RATIO;
		if (m + spread > limit)
			limit = m + spread;
	}
	if (out_median)
		*out_median = m;
	if (out_limit)
		*out_limit = limit;
	return x > limit;
}

bool watch_silent(const int64_t *times, size_t n, int64_t now_ns, int64_t silence_min_s,
		  int64_t *out_usual_ns, int64_t *out_limit_ns)
{
	uint64_t gaps[WATCH_HISTORY];
	size_t ng = 0, i;
	int64_t usual, limit;

	*out_usual_ns = 0;
	*out_limit_ns = 0;
	if (n < WATCH_HISTORY_MIN + 1)
		return false;
	for (i = n > WATCH_HISTORY + 1 ? n - WATCH_HISTORY : 1; i < n; i++)
		gaps[ng++] = times[i] > times[i - 1] ? (uint64_t)(times[i] - times[i - 1]) : 0;
	usual = (int64_t)median_u64(gaps, ng);
	limit = usual + silence_min_s * NS;
	if (usual > INT64_MAX / WATCH_SILENCE_FACTOR)
		limit = INT64_MAX;
	else if (usual * WATCH_SILENCE_FACTOR > limit)
		limit = usual * WATCH_SILENCE_FACTOR;
	*out_usual_ns = usual;
	*out_limit_ns = limit;
	return now_ns - times[n - 1] > limit;
}

/* ------------------------------------------------------------------ */
/* Tracking receive times                                              */

static tracked *find_client(watch *w, const char *repo, const char *client, bool make)
{
	size_t i;

	for (i = 0; i < w->nclients; i++)
		if (strcmp(w->clients[i].client, client) == 0 &&
		    strcmp(w->clients[i].repo, repo) == 0)
			return &w->clients[i];
	if (!make)
		return NULL;
	if (w->nclients == w->cap_clients) {
		size_t cap = w->cap_clients ? w->cap_clients * 2 : 16;
		tracked *grown = realloc(w->clients, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		w->clients = grown;
		w->cap_clients = cap;
	}
	memset(&w->clients[w->nclients], 0, sizeof(tracked));
	snprintf(w->clients[w->nclients].repo, sizeof(w->clients[0].repo), "%s", repo);
	snprintf(w->clients[w->nclients].client, sizeof(w->clients[0].client), "%s", client);
	return &w->clients[w->nclients++];
}

/* Lock held. */
static void note_receive(watch *w, const char *repo, const char *client, int64_t ns)
{
	tracked *t = find_client(w, repo, client, true);

	if (!t || (t->n && ns <= t->times[t->n - 1]))
		return;
	if (t->n == WATCH_HISTORY + 1) {
		memmove(t->times, t->times + 1, WATCH_HISTORY * sizeof(t->times[0]));
		t->n--;
	}
	t->times[t->n++] = ns;
}

typedef struct {
	watch *w;
	const char *repo;
} times_ctx;

static int note_line(const snaptimes_line *l, unsigned long long lineno, void *ctx)
{
	times_ctx *t = ctx;

	note_receive(t->w, t->repo, l->client, l->received_ns);
	return 0;
}

/* Every receive time on record, from DIR/meta/REPO/snapshot-times (streamed). */
static int load_times(watch *w, const char *repo)
{
	times_ctx t = {w, repo};

	return snaptimes_each(vault_dir(w->v), repo, note_line, &t, NULL);
}

/*
 * The silences already raised (open or resolved), so that a restart does
 * not raise one again for the same last snapshot: raised_for from each
 * silence alert's details.  Lock not needed: the watch is not shared yet.
 */
static int load_raised(watch *w)
{
	json_t *arr = NULL, *a, *d;
	size_t i;
	int err;

	if ((err = alerts_list(vault_dir(w->v), true, 0, &arr)) < 0)
		return err;
	json_array_foreach(arr, i, a)
	{
		const char *repo = json_string_value(json_object_get(a, "repo"));
		tracked *t;

		d = json_object_get(a, "details");
		if (!repo ||
		    strcmp(json_string_value(json_object_get(a, "kind")), "silence") != 0 ||
		    !json_is_string(json_object_get(d, "client")) ||
		    !json_is_integer(json_object_get(d, "last_ns")))
			continue;
		t = find_client(w, repo, json_string_value(json_object_get(d, "client")), false);
		if (t && json_integer_value(json_object_get(d, "last_ns")) > t->raised_for)
			t->raised_for = json_integer_value(json_object_get(d, "last_ns"));
	}
	json_decref(arr);
	return 0;
}

int watch_new(watch **out, vault *v)
{
	watch *w = calloc(1, sizeof(*w));
	int err;

	*out = NULL;
	if (!w)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	w->v = v;
	pthread_mutex_init(&w->lock, NULL);
	if ((err = watch_settings_load(vault_dir(v), &w->s)) < 0) {
		watch_free(w);
		return err;
	}
	for (size_t i = 0; i < vault_repo_count(v); i++)
		if ((err = load_times(w, vault_repo_name(v, i))) < 0) {
			watch_free(w);
			return err;
		}
	if ((err = load_raised(w)) < 0) {
		watch_free(w);
		return err;
	}
	*out = w;
	return 0;
}

void watch_free(watch *w)
{
	if (!w)
		return;
	pthread_mutex_destroy(&w->lock);
	free(w->clients);
	free(w->dels);
	free(w);
}

/* ------------------------------------------------------------------ */
/* Snapshots                                                           */

typedef struct {
	uint64_t bytes[WATCH_HISTORY];
	size_t n;	 /* in the ring */
	size_t next;	 /* where the next one goes */
	int64_t last_ns; /* the client's newest measured receive time */
} history;

static void hist_push(history *h, uint64_t bytes)
{
	h->bytes[h->next] = bytes;
	h->next = (h->next + 1) % WATCH_HISTORY;
	if (h->n < WATCH_HISTORY)
		h->n++;
}

/* The client's measures, oldest first, into out (n of them). */
static size_t hist_ordered(const history *h, uint64_t *out)
{
	size_t start = h->n < WATCH_HISTORY ? 0 : h->next;

	for (size_t i = 0; i < h->n; i++)
		out[i] = h->bytes[(start + i) % WATCH_HISTORY];
	return h->n;
}

/* The client's measures in DIR/meta/REPO/volumes (suspect ones only if `with_suspect`). */
static int read_history(const char *path, const char *client, bool with_suspect, history *h)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	memset(h, 0, sizeof(*h));
	if (!(f = fopen(path, "re")))
		return errno == ENOENT
			   ? 0
			   : kura_error_errno(kura_errno_code(errno), errno, "%s", path);
	while ((n = getline(&line, &cap, f)) > 0) {
		char name[KURA_ID_HEX + 1], who[VAULT_NAME_MAX + 2], end;
		long long ns;
		unsigned long long bytes, packs;
		int suspect;

		if (line[n - 1] != '\n' || (size_t)n != strlen(line) ||
		    sscanf(line, "%65s %lld %64s %llu %llu %d%c", name, &ns, who, &bytes, &packs,
			   &suspect, &end) != 7 ||
		    end != '\n' || ns <= 0 || strcmp(who, client) != 0 ||
		    (suspect != 0 && suspect != 1))
			continue;
		if (ns > h->last_ns)
			h->last_ns = (int64_t)ns;
		if (suspect && !with_suspect)
			continue;
		hist_push(h, bytes);
	}
	fclose(f);
	free(line);
	return 0;
}

static int append_line(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600), err = 0;

	if (fd < 0)
		return kura_error_errno(kura_errno_code(errno), errno, "%s", path);
	if (write(fd, text, len) != (ssize_t)len || fdatasync(fd) < 0)
		err = kura_error_errno(KURA_EIO, errno, "%s: cannot append", path);
	close(fd);
	return err;
}

/* The packs of `packs` stored after since_ns (their file's mtime): how many, and their bytes. */
static void new_packs(const char *dir, const char *repo, char (*packs)[KURA_ID_HEX], size_t count,
		      int64_t since_ns, uint64_t *out_bytes, uint64_t *out_packs)
{
	char path[4096];
	struct stat st;

	*out_bytes = 0;
	*out_packs = 0;
	for (size_t i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/repos/%s/data/%.2s/%s", dir, repo, packs[i],
			 packs[i]);
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if ((int64_t)st.st_mtim.tv_sec * NS + st.st_mtim.tv_nsec <= since_ns)
			continue;
		*out_bytes += (uint64_t)st.st_size;
		(*out_packs)++;
	}
}

static void human(char out[32], uint64_t n)
{
	if (n >= (1ULL << 30))
		snprintf(out, 32, "%.1f GiB", (double)n / (1ULL << 30));
	else if (n >= (1ULL << 20))
		snprintf(out, 32, "%.1f MiB", (double)n / (1ULL << 20));
	else if (n >= 1024)
		snprintf(out, 32, "%.1f KiB", (double)n / 1024);
	else
		snprintf(out, 32, "%" PRIu64 " B", n);
}

/*
 * The client's own verdict, from the snapshot's plaintext summary (the
 * backup's detector, docs/DETECTION.md): a suspect one raises an alert.
 * The client may lie either way; this only adds its claim to what the
 * vault sees for itself.  A snapshot without a summary says nothing.
 */
static int client_verdict(watch *w, const char *repo, const char *client, const char *name,
			  int64_t received_ns, const uint8_t *data, size_t len)
{
	kura_detection_summary d;
	char summary[400], details[1024], signals[256] = "";
	size_t i, used = 0;
	int n;

	if (kura_snapshot_detection(data, len, &d) < 0)
		return kura_error_wrap(KURA_ECORRUPT, "snapshot %s: detection summary", name);
	if (d.verdict != KURA_DETECTION_SUSPECT)
		return 0;
	for (i = 0; i < d.ncounts && used < sizeof(signals); i++) {
		n = snprintf(signals + used, sizeof(signals) - used, "%s%s:%" PRIu64, i ? ", " : "",
			     d.counts[i].name, d.counts[i].value);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	snprintf(summary, sizeof(summary),
		 "snapshot %.12s from %s: the backup's own detector judged it suspect "
		 "(score %d; %s)",
		 name, client, d.score, signals[0] ? signals : "no counts");
	snprintf(details, sizeof(details),
		 "{\"snapshot\": \"%s\", \"client\": \"%s\", \"score\": %d, "
		 "\"since_ns\": %" PRId64 "}",
		 name, client, d.score, received_ns);
	return alerts_raise(w->v, repo, "detection", summary, details);
}

int watch_snapshot(watch *w, const char *repo, const char *client, const char *name,
		   int64_t received_ns, const uint8_t *data, size_t len)
{
	char(*packs)[KURA_ID_HEX] = NULL;
	char *path = NULL, line[256], summary[400], a[32], b[32], details[512];
	uint64_t hist[WATCH_HISTORY], bytes, npacks, median, limit;
	size_t count = 0, nh;
	int64_t client_ns;
	history h, with_all;
	bool held, suspect;
	int err;

	if (kura_snapshot_peek(data, len, &client_ns, &packs, &count) < 0)
		return kura_error_wrap(KURA_ECORRUPT, "snapshot %s", name);
	if ((err = client_verdict(w, repo, client, name, received_ns, data, len)) < 0) {
		free(packs);
		return err;
	}
	if (asprintf(&path, "%s/meta/%s/volumes", vault_dir(w->v), repo) < 0) {
		free(packs);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	held = alerts_open_for_repo(w->v, repo);
	pthread_mutex_lock(&w->lock);
	note_receive(w, repo, client, received_ns);
	/* Since this client's previous snapshot (suspect ones included). */
	err = read_history(path, client, true, &with_all);
	pthread_mutex_unlock(&w->lock);
	if (err < 0)
		goto out;
	/* A stat per pack: made without the lock, so other repositories' uploads do not wait. */
	if (vault_on_disk(w->v)) {
		new_packs(vault_dir(w->v), repo, packs, count, with_all.last_ns, &bytes, &npacks);
	} else {
		/* No file to stat (S3): receive times from provenance, sizes from a listing. */
		kura_backend *st = NULL;

		if ((err = vault_repo(w->v, repo, &st)) < 0 ||
		    (err = store_stat_new_packs(vault_dir(w->v), repo, st,
						(const char(*)[KURA_ID_HEX])packs, count,
						with_all.last_ns, &bytes, &npacks)) < 0)
			goto out;
	}
	pthread_mutex_lock(&w->lock);
	if ((err = read_history(path, client, !held, &h)) < 0)
		goto done;
	nh = hist_ordered(&h, hist);
	suspect = watch_surge(hist, nh, bytes, w->s.surge_min, &median, &limit);
	snprintf(line, sizeof(line), "%s %" PRId64 " %s %" PRIu64 " %" PRIu64 " %d\n", name,
		 received_ns, client, bytes, npacks, suspect ? 1 : 0);
	if ((err = append_line(path, line)) < 0)
		goto done;
	if (!suspect)
		goto done;
	human(a, bytes);
	human(b, median);
	snprintf(summary, sizeof(summary),
		 "snapshot %.12s from %s added %s in %" PRIu64
		 " new packs; its usual is %s (median of its last %zu): encrypted files neither "
		 "dedup nor compress",
		 name, client, a, npacks, b, nh);
	snprintf(details, sizeof(details),
		 "{\"snapshot\": \"%s\", \"client\": \"%s\", \"new_bytes\": %" PRIu64
		 ", \"new_packs\": %" PRIu64 ", \"median\": %" PRIu64 ", \"limit\": %" PRIu64
		 ", \"history\": %zu, \"since_ns\": %" PRId64 "}",
		 name, client, bytes, npacks, median, limit, nh, received_ns);
	err = alerts_raise(w->v, repo, "bytes-surge", summary, details);
done:
	pthread_mutex_unlock(&w->lock);
out:
	free(packs);
	free(path);
	return err;
}

/* ------------------------------------------------------------------ */
/* Deletion requests                                                   */

int watch_deletion(watch *w, const char *repo, const char *client, size_t nsnapshots,
		   int64_t now_ns)
{
	char summary[256], details[256];
	del_rate *d = NULL;
	size_t i, recent = 0;
	int err = 0;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->ndels && !d; i++)
		if (strcmp(w->dels[i].repo, repo) == 0)
			d = &w->dels[i];
	if (!d) {
		if (w->ndels == w->cap_dels) {
			size_t cap = w->cap_dels ? w->cap_dels * 2 : 8;
			del_rate *grown = realloc(w->dels, cap * sizeof(*grown));

			if (!grown) {
				err = kura_error_set(KURA_ENOMEM, "out of memory");
				goto done;
			}
			w->dels = grown;
			w->cap_dels = cap;
		}
		d = &w->dels[w->ndels++];
		memset(d, 0, sizeof(*d));
		snprintf(d->repo, sizeof(d->repo), "%s", repo);
	}
	d->times[d->next] = now_ns;
	d->next = (d->next + 1) % WATCH_DELETION_BURST;
	for (i = 0; i < WATCH_DELETION_BURST; i++)
		if (d->times[i] && now_ns - d->times[i] < WATCH_DELETION_WINDOW_S * NS)
			recent++;
	/* Once per window: the alert's count says how long the burst went on. */
	if (recent < WATCH_DELETION_BURST ||
	    (d->raised_ns && now_ns - d->raised_ns < WATCH_DELETION_WINDOW_S * NS))
		goto done;
	d->raised_ns = now_ns;
	snprintf(summary, sizeof(summary),
		 "%zu deletion requests for repository %s within an hour (the last by %s, for %zu "
		 "snapshots)",
		 recent, repo, client, nsnapshots);
	snprintf(details, sizeof(details),
		 "{\"requests\": %zu, \"window_s\": %d, \"last_client\": \"%s\"}", recent,
		 WATCH_DELETION_WINDOW_S, client);
	err = alerts_raise(w->v, repo, "deletion-burst", summary, details);
done:
	pthread_mutex_unlock(&w->lock);
	return err;
}

/* ------------------------------------------------------------------ */
/* The tick                                                            */

static const vault_client *client_of(const vault *v, const tracked *t)
{
	size_t n = vault_client_count(v);

	for (size_t i = 0; i < n; i++) {
		const vault_client *c = vault_client_at(v, i);

		if (strcmp(c->name, t->client) == 0 && strcmp(c->repo, t->repo) == 0)
			return c;
	}
	return NULL;
}

/* Lock held. */
static int check_silence(watch *w, int64_t now_ns)
{
	char summary[300], details[256], usual_s[32], since_s[40];
	int64_t usual, limit;
	int err = 0, e;

	for (size_t i = 0; i < w->nclients; i++) {
		tracked *t = &w->clients[i];

		if (!t->c)
			t->c = client_of(w->v, t);
		if (!t->c || t->c->role != VAULT_ROLE_WRITER || atomic_load(&t->c->revoked) ||
		    t->raised_for == t->times[t->n ? t->n - 1 : 0])
			continue;
		if (!watch_silent(t->times, t->n, now_ns, w->s.silence_min_s, &usual, &limit))
			continue;
		t->raised_for = t->times[t->n - 1];
		policy_duration_format(usual / NS, usual_s);
		files_format_time_s(since_s, t->times[t->n - 1]);
		snprintf(summary, sizeof(summary),
			 "client %s has sent no snapshot since %s; it usually sends one every %s",
			 t->client, since_s, usual_s);
		snprintf(details, sizeof(details),
			 "{\"client\": \"%s\", \"last_ns\": %" PRId64 ", \"usual_ns\": %" PRId64
			 ", \"limit_ns\": %" PRId64 "}",
			 t->client, t->times[t->n - 1], usual, limit);
		if ((e = alerts_raise(w->v, t->repo, "silence", summary, details)) < 0 && !err)
			err = e;
	}
	return err;
}

/* Lock held. */
static int check_logins(watch *w, uint64_t total)
{
	char summary[200], details[128];
	uint64_t oldest, in_window;

	w->login_samples[w->sample_next] = total;
	w->sample_next = (w->sample_next + 1) % (WATCH_LOGIN_WINDOW_S + 1);
	if (w->nsamples < WATCH_LOGIN_WINDOW_S + 1)
		w->nsamples++;
	/* The oldest sample kept is a window ago (or the first, before a window has passed). */
	oldest = w->login_samples[w->nsamples < WATCH_LOGIN_WINDOW_S + 1 ? 0 : w->sample_next];
	in_window = total >= oldest ? total - oldest : 0;
	if (w->login_burst) {
		/* The burst is over when the rate falls to half the threshold. */
		if (in_window < WATCH_LOGIN_BURST / 2)
			w->login_burst = false;
		return 0;
	}
	if (in_window < WATCH_LOGIN_BURST)
		return 0;
	w->login_burst = true;
	snprintf(summary, sizeof(summary),
		 "%" PRIu64
		 " logins refused in the last %d s (bad or revoked tokens, or locked-out "
		 "addresses): someone is guessing or using stolen credentials",
		 in_window, WATCH_LOGIN_WINDOW_S);
	snprintf(details, sizeof(details), "{\"refused\": %" PRIu64 ", \"window_s\": %d}",
		 in_window, WATCH_LOGIN_WINDOW_S);
	return alerts_raise(w->v, NULL, "login-burst", summary, details);
}

int watch_tick(watch *w, uint64_t login_failures, int64_t now_ns)
{
	int err, e;

	pthread_mutex_lock(&w->lock);
	err = check_silence(w, now_ns);
	if ((e = check_logins(w, login_failures)) < 0 && !err)
		err = e;
	pthread_mutex_unlock(&w->lock);
	return err;
}
