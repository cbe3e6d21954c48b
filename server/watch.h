/* SPDX-License-Identifier: Apache-2.0 */
/*
 * watch.h - the vault's own judgment (docs/DETECTION.md, "On the vault"): what the
 * vault sees without a key that says a client was taken over, even when
 * the attacker disabled or lies through kura on that client.
 *
 *   bytes-surge     a snapshot that names far more new pack bytes than its
 *                   client's usual (encrypted files neither dedup nor
 *                   compress): robust median/MAD over the client's history
 *   silence         a writer that stopped backing up past its usual interval
 *   login-burst     many failed logins across the vault in a minute
 *   deletion-burst  many deletion requests for one repository in an hour
 *
 * Each raises an alert (alerts.h).  The snapshot history is durable
 * (DIR/meta/REPO/volumes); the rates are kept in memory by `kurad serve`.
 * Thread-safe: request threads report snapshots and deletion requests,
 * serve's tick calls watch_tick.
 */
#ifndef KURA_SERVER_WATCH_H
#define KURA_SERVER_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vault_state.h"

#define WATCH_HISTORY 20	     /* snapshots of a client the baseline looks at */
#define WATCH_HISTORY_MIN 3	     /* fewer: no judgment yet (learning) */
#define WATCH_SURGE_RATIO 4	     /* above 4 x the median ... */
#define WATCH_SURGE_MADS 6	     /* ... and the median + 6 robust deviations ... */
#define WATCH_SURGE_MIN (16LL << 20) /* ... and at least this many bytes (vault.json) */
#define WATCH_SILENCE_FACTOR 2	     /* silent past 2 x the usual interval ... */
#define WATCH_SILENCE_MIN_S 3600     /* ... and the usual + this (vault.json) */
#define WATCH_LOGIN_BURST 100	     /* failed logins in WATCH_LOGIN_WINDOW_S */
#define WATCH_LOGIN_WINDOW_S 60
#define WATCH_DELETION_BURST 10	     /* deletion requests of one repository ... */
#define WATCH_DELETION_WINDOW_S 3600 /* ... in this long */

typedef struct watch watch;

/* Settings from vault.json "detect": {"surge_min": BYTES, "silence_min": DURATION}. */
typedef struct {
	int64_t surge_min;     /* bytes */
	int64_t silence_min_s; /* seconds */
} watch_settings;

/*
 * vault.json's optional "detect" object, strictly: only those two members,
 * surge_min an integer >= 0, silence_min a duration (policy.h).  Missing:
 * the defaults above.  KURA_ECORRUPT naming the problem.
 */
int watch_settings_load(const char *dir, watch_settings *out);

/* A watch over vault `v` (borrowed; it outlives the watch).  Reads the settings. */
int watch_new(watch **out, vault *v);
void watch_free(watch *w);

/*
 * A new snapshot `name` of `repo` from `client`, received at received_ns,
 * whose bytes (`len`) are `data`: measure the new pack bytes it names
 * (packs it names stored after this client's previous snapshot), append
 * the measure to DIR/meta/REPO/volumes, judge it against the client's
 * history and raise "bytes-surge" if it stands out.  The snapshot is
 * stored already: nothing here refuses it (the data is evidence).
 */
int watch_snapshot(watch *w, const char *repo, const char *client, const char *name,
		   int64_t received_ns, const uint8_t *data, size_t len);

/* A deletion request for `repo` was made (filed or refused): count it. */
int watch_deletion(watch *w, const char *repo, const char *client, size_t nsnapshots,
		   int64_t now_ns);

/*
 * Once a second from serve's tick: `login_failures` is the vault's running
 * count of refused logins (gate.h).  Checks silence and the login rate.
 */
int watch_tick(watch *w, uint64_t login_failures, int64_t now_ns);

/*
 * The surge rule, pure (for tests and DETECTION.md): `x` new bytes
 * against `n` earlier measures.  true if n >= WATCH_HISTORY_MIN and x >
 * max(surge_min, RATIO x median, median + MADS x 1.4826 x MAD);
 * *out_median and *out_limit (may be NULL) say why.
 */
bool watch_surge(const uint64_t *hist, size_t n, uint64_t x, int64_t surge_min,
		 uint64_t *out_median, uint64_t *out_limit);

/*
 * The silence rule, pure: `n` receive times (ascending) of one client,
 * at now_ns.  true if n >= WATCH_HISTORY_MIN + 1 and now - last >
 * max(FACTOR x usual, usual + silence_min) where usual is the median of
 * the last WATCH_HISTORY intervals; *out_usual_ns, *out_limit_ns say why.
 */
bool watch_silent(const int64_t *times, size_t n, int64_t now_ns, int64_t silence_min_s,
		  int64_t *out_usual_ns, int64_t *out_limit_ns);

#endif
