/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_webhook.c - signed HTTP POSTs of alerts (alert_webhook.h).
 *
 * One worker thread per process drains a bounded FIFO of deliveries, each
 * a self-contained copy (URL, CA file, secret, body), so a change to
 * vault.json affects only later alerts and nothing is shared with the
 * threads that queue.  A try is signed at its own send time, so a retry
 * is not refused as stale by a receiver checking the timestamp.  The
 * pauses between tries and the transfer itself watch the stop flag, so
 * `kurad serve` stops within a fraction of a second even with a dead
 * receiver.
 */
#include "alert_webhook.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "kura/kura.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "files.h"

typedef struct delivery {
	struct delivery *next;
	char *url, *ca_file, *what, *body;
	uint8_t *secret;
	size_t secret_len;
} delivery;

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static delivery *q_head, *q_tail;
static size_t q_len;
static bool q_running, q_stopping;
static pthread_t q_thread;
static atomic_uint_least64_t n_dropped, n_failed;

void alert_webhook_conf_free(alert_webhook_conf *c)
{
	if (!c)
		return;
	free(c->url);
	free(c->secret_file);
	free(c->ca_file);
	free(c);
}

/* 127.0.0.0/8, ::1 or "localhost": the only hosts plain http:// may name. */
static bool loopback_host(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char h[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(h)) {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
		return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/*
 * https://, or http:// to loopback; no user name or password in it.
 * *out (malloc'd) is the URL as libcurl understood it ("https:/a" becomes
 * "https://a/"): what is sent to is what was checked.
 */
static int check_url(const char *url, const char *path, char **out)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL, *full = NULL;
	int err = 0;

	*out = NULL;
	if (!u)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		err = kura_error_set(KURA_ECORRUPT, "%s: \"alert_webhook\" url is not a URL", path);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: \"alert_webhook\" url must not carry a user name or "
				     "password (the secret file signs the deliveries)",
				     path);
		goto done;
	}
	if (strcasecmp(scheme, "https") != 0 &&
	    (strcasecmp(scheme, "http") != 0 || !loopback_host(host))) {
		err =
		    kura_error_set(KURA_ECORRUPT,
				   "%s: \"alert_webhook\" url must be https:// (plain http:// only "
				   "to a loopback address such as 127.0.0.1)",
				   path);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK ||
	    strlen(full) > ALERT_WEBHOOK_URL_MAX) {
		err = kura_error_set(KURA_ECORRUPT, "%s: \"alert_webhook\" url is not a URL", path);
		goto done;
	}
	if (!(*out = strdup(full)))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
done:
	curl_free(full);
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	return err;
}

/* An absolute path, or NULL for an absent/null member; KURA_ECORRUPT otherwise. */
static int member_path(const json_t *o, const char *name, bool required, const char *path,
		       char **out)
{
	const json_t *m = json_object_get(o, name);
	const char *s = json_string_value(m);

	*out = NULL;
	if (!m || json_is_null(m)) {
		if (required)
			return kura_error_set(KURA_ECORRUPT, "%s: \"alert_webhook\" needs \"%s\"",
					      path, name);
		return 0;
	}
	if (!s || json_string_length(m) != strlen(s) || s[0] != '/' || strlen(s) > 4096)
		return kura_error_set(KURA_ECORRUPT,
				      "%s: \"alert_webhook\" \"%s\" must be an absolute path", path,
				      name);
	if (!(*out = strdup(s)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	return 0;
}

int alert_webhook_parse(const char *text, size_t len, const char *path, alert_webhook_conf **out)
{
	alert_webhook_conf *c = NULL;
	json_t *doc = NULL, *w, *url;
	json_error_t jerr;
	const char *key;
	json_t *val;
	int err = 0;

	*out = NULL;
	if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
		goto done;
	}
	w = json_object_get(doc, "alert_webhook");
	if (!w || json_is_null(w))
		goto done;
	if (!json_is_object(w)) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: \"alert_webhook\" must be an object {\"url\": ..., "
				     "\"secret_file\": ...}",
				     path);
		goto done;
	}
	json_object_foreach(w, key, val)
	{
		if (strcmp(key, "url") != 0 && strcmp(key, "secret_file") != 0 &&
		    strcmp(key, "ca_file") != 0) {
			err =
			    kura_error_set(KURA_ECORRUPT,
					   "%s: \"alert_webhook\" has an unknown member \"%.64s\" "
					   "(url, secret_file, ca_file are known)",
					   path, key);
			goto done;
		}
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	url = json_object_get(w, "url");
	if (!json_is_string(url) || json_string_length(url) == 0 ||
	    json_string_length(url) > ALERT_WEBHOOK_URL_MAX ||
	    strlen(json_string_value(url)) != json_string_length(url)) {
		err = kura_error_set(
		    KURA_ECORRUPT, "%s: \"alert_webhook\" needs a \"url\" string of 1 to %d bytes",
		    path, ALERT_WEBHOOK_URL_MAX);
		goto done;
	}
	if ((err = check_url(json_string_value(url), path, &c->url)) < 0)
		goto done;
	if ((err = member_path(w, "secret_file", true, path, &c->secret_file)) < 0 ||
	    (err = member_path(w, "ca_file", false, path, &c->ca_file)) < 0)
		goto done;
	*out = c;
	c = NULL;
done:
	alert_webhook_conf_free(c);
	json_decref(doc);
	return err;
}

int alert_webhook_secret(const alert_webhook_conf *c, uint8_t **out, size_t *out_len)
{
	char *text = NULL;
	size_t len = 0;
	int err;

	*out = NULL;
	*out_len = 0;
	if ((err = files_read(c->secret_file, ALERT_WEBHOOK_SECRET_MAX + 2, &text, &len)) < 0)
		return kura_error_wrap(err, "alert webhook secret");
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len > 0 && text[len - 1] == '\r')
		len--;
	if (len < ALERT_WEBHOOK_SECRET_MIN || len > ALERT_WEBHOOK_SECRET_MAX) {
		kura_wipe(text, len);
		free(text);
		return kura_error_set(
		    KURA_EINVAL, "alert webhook secret %s: %zu bytes, want %d to %d",
		    c->secret_file, len, ALERT_WEBHOOK_SECRET_MIN, ALERT_WEBHOOK_SECRET_MAX);
	}
	*out = (uint8_t *)text;
	*out_len = len;
	return 0;
}

void alert_webhook_sign(char out[ALERT_WEBHOOK_SIG_SIZE], const uint8_t *secret, size_t secret_len,
			int64_t timestamp, const char *body, size_t len)
{
	crypto_auth_hmacsha256_state st;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	char ts[24];

	snprintf(ts, sizeof(ts), "%" PRId64 ".", timestamp);
	crypto_auth_hmacsha256_init(&st, secret, secret_len);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "sha256=", 7);
	kura_hex(out + 7, mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
}

static void delivery_free(delivery *d)
{
	if (!d)
		return;
	if (d->secret)
		kura_wipe(d->secret, d->secret_len);
	free(d->secret);
	free(d->url);
	free(d->ca_file);
	free(d->what);
	free(d->body);
	free(d);
}

/* Whether the worker is asked to stop; the lock is not held. */
static bool stopping(void)
{
	bool s;

	pthread_mutex_lock(&q_lock);
	s = q_stopping;
	pthread_mutex_unlock(&q_lock);
	return s;
}

static int on_progress(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	return stopping() ? 1 : 0;
}

static size_t discard(char *p, size_t size, size_t n, void *u)
{
	return size * n;
}

/* One try; 0 on a 2xx answer, otherwise KURA_EIO saying what went wrong. */
static int try_once(const delivery *d)
{
	char sig[ALERT_WEBHOOK_SIG_SIZE], hdr_sig[32 + ALERT_WEBHOOK_SIG_SIZE], hdr_ts[48],
	    hdr_what[96], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL, *h2;
	int64_t now = (int64_t)time(NULL);
	long status = 0;
	CURLcode rc;
	CURL *c;
	int err = 0;

	if (!(c = curl_easy_init()))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	alert_webhook_sign(sig, d->secret, d->secret_len, now, d->body, strlen(d->body));
	snprintf(hdr_sig, sizeof(hdr_sig), "X-Kura-Signature: %s", sig);
	snprintf(hdr_ts, sizeof(hdr_ts), "X-Kura-Timestamp: %" PRId64, now);
	snprintf(hdr_what, sizeof(hdr_what), "X-Kura-Delivery: %s", d->what);
	const char *lines[] = {"Content-Type: application/json",
			       "User-Agent: kurad",
			       "Expect:",
			       hdr_ts,
			       hdr_sig,
			       hdr_what};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (!(h2 = curl_slist_append(h, lines[i]))) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		h = h2;
	}
	curl_easy_setopt(c, CURLOPT_URL, d->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (d->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, d->ca_file);
	curl_easy_setopt(c, CURLOPT_PROXY, ""); /* alerts go where vault.json says, no proxy */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)ALERT_WEBHOOK_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)ALERT_WEBHOOK_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		err = kura_error_set(KURA_EIO, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299)
		err = kura_error_set(KURA_EIO, "the receiver answered HTTP %ld", status);
done:
	sodium_memzero(sig, sizeof(sig));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return err;
}

/* Sleep `ms` unless asked to stop; true if asked to stop. */
static bool pause_ms(long ms)
{
	struct timespec until;
	bool s;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q_lock);
	while (!q_stopping && pthread_cond_timedwait(&q_cond, &q_lock, &until) != ETIMEDOUT)
		;
	s = q_stopping;
	pthread_mutex_unlock(&q_lock);
	return s;
}

static void deliver(const delivery *d)
{
	long pause = ALERT_WEBHOOK_FIRST_PAUSE_MS;

	for (int t = 1; t <= ALERT_WEBHOOK_TRIES; t++) {
		if (try_once(d) == 0) {
			if (t > 1)
				fprintf(stderr,
					"kurad: alert webhook: alert %s delivered on try %d\n",
					d->what, t);
			return;
		}
		if (t == ALERT_WEBHOOK_TRIES || stopping()) {
			fprintf(stderr,
				"kurad: alert webhook: alert %s not delivered to %s: %s (try %d of "
				"%d, giving up)\n",
				d->what, d->url, kura_error_message(), t, ALERT_WEBHOOK_TRIES);
			break;
		}
		fprintf(
		    stderr,
		    "kurad: alert webhook: alert %s to %s: %s (try %d of %d, again in %ld ms)\n",
		    d->what, d->url, kura_error_message(), t, ALERT_WEBHOOK_TRIES, pause);
		kura_error_clear();
		if (pause_ms(pause))
			break;
		pause *= 2;
	}
	kura_error_clear();
	atomic_fetch_add(&n_failed, 1);
}

static void *worker(void *arg)
{
	delivery *d;

	for (;;) {
		pthread_mutex_lock(&q_lock);
		while (!q_head && !q_stopping)
			pthread_cond_wait(&q_cond, &q_lock);
		if (q_stopping) {
			pthread_mutex_unlock(&q_lock);
			break;
		}
		d = q_head;
		q_head = d->next;
		if (!q_head)
			q_tail = NULL;
		q_len--;
		pthread_mutex_unlock(&q_lock);
		deliver(d);
		delivery_free(d);
	}
	return NULL;
}

int alert_webhook_start(void)
{
	int e, err = 0;

	if ((err = kura_crypto_init()) < 0)
		return err;
	pthread_mutex_lock(&q_lock);
	if (q_running)
		goto done;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		err = kura_error_set(KURA_EIO, "alert webhook: libcurl would not start");
		goto done;
	}
	q_stopping = false;
	if ((e = pthread_create(&q_thread, NULL, worker, NULL)) != 0) {
		err = kura_error_errno(KURA_EIO, e, "alert webhook: thread");
		goto done;
	}
	q_running = true;
done:
	pthread_mutex_unlock(&q_lock);
	return err;
}

void alert_webhook_stop(void)
{
	delivery *d, *rest;
	size_t n;

	pthread_mutex_lock(&q_lock);
	if (!q_running) {
		pthread_mutex_unlock(&q_lock);
		return;
	}
	q_stopping = true;
	pthread_cond_broadcast(&q_cond);
	pthread_mutex_unlock(&q_lock);
	pthread_join(q_thread, NULL);
	pthread_mutex_lock(&q_lock);
	rest = q_head;
	n = q_len;
	q_head = q_tail = NULL;
	q_len = 0;
	q_running = false;
	pthread_mutex_unlock(&q_lock);
	if (n)
		fprintf(stderr, "kurad: alert webhook: stopping with %zu deliveries not sent\n", n);
	for (; rest; rest = d) {
		d = rest->next;
		atomic_fetch_add(&n_dropped, 1);
		delivery_free(rest);
	}
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *r;

	if (!s)
		return NULL;
	if (!(r = strdup(s)))
		*oom = true;
	return r;
}

int alert_webhook_enqueue(const alert_webhook_conf *c, const char *what, const char *body)
{
	delivery *d;
	bool oom = false;
	int err;

	if (!(d = calloc(1, sizeof(*d))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	d->url = dup_or_null(c->url, &oom);
	d->ca_file = dup_or_null(c->ca_file, &oom);
	d->what = dup_or_null(what, &oom);
	d->body = dup_or_null(body, &oom);
	if (oom) {
		delivery_free(d);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	if ((err = alert_webhook_secret(c, &d->secret, &d->secret_len)) < 0) {
		delivery_free(d);
		atomic_fetch_add(&n_dropped, 1);
		return kura_error_wrap(KURA_EIO, "alert webhook: alert %s not sent", what);
	}
	pthread_mutex_lock(&q_lock);
	if (!q_running || q_stopping || q_len >= ALERT_WEBHOOK_QUEUE_MAX) {
		bool running = q_running && !q_stopping;

		pthread_mutex_unlock(&q_lock);
		delivery_free(d);
		return kura_error_set(
		    KURA_EIO,
		    "alert webhook: alert %s dropped (%s; %" PRIu64 " dropped since kurad started)",
		    what, running ? "the queue is full" : "no delivery thread runs",
		    (uint64_t)atomic_fetch_add(&n_dropped, 1) + 1);
	}
	if (q_tail)
		q_tail->next = d;
	else
		q_head = d;
	q_tail = d;
	q_len++;
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_lock);
	return 0;
}

uint64_t alert_webhook_dropped(void)
{
	return atomic_load(&n_dropped);
}

uint64_t alert_webhook_failed(void)
{
	return atomic_load(&n_failed);
}
