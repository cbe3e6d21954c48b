/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_webhook.h - alerts sent out as signed HTTP POSTs (vault.json
 * "alert_webhook", docs/PROTOCOL.md "Alert webhook").
 *
 * A delivery is queued and sent by one worker thread, so a slow or dead
 * receiver never holds up a request or the tick.  The queue is bounded
 * (ALERT_WEBHOOK_QUEUE_MAX): when it is full the new delivery is dropped,
 * counted and logged.  Each delivery is tried up to ALERT_WEBHOOK_TRIES
 * times with doubling pauses; every failed try is logged on stderr.
 *
 * The body is signed: X-Kura-Timestamp is the send time in Unix seconds,
 * X-Kura-Signature is "sha256=" and the lowercase hex of
 * HMAC-SHA256(secret, TIMESTAMP "." BODY), so a receiver that checks the
 * signature and the timestamp's age refuses a forged or replayed POST.
 */
#ifndef KURA_SERVER_ALERT_WEBHOOK_H
#define KURA_SERVER_ALERT_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#define ALERT_WEBHOOK_QUEUE_MAX 64
#define ALERT_WEBHOOK_TRIES 6
#define ALERT_WEBHOOK_FIRST_PAUSE_MS 1000 /* then doubled after every failed try */
#define ALERT_WEBHOOK_TIMEOUT_S 10	  /* one try, connection included */
#define ALERT_WEBHOOK_URL_MAX 2048
#define ALERT_WEBHOOK_SECRET_MIN 16
#define ALERT_WEBHOOK_SECRET_MAX 1024
/* "sha256=" and 64 hex digits, NUL-terminated */
#define ALERT_WEBHOOK_SIG_SIZE (7 + 64 + 1)

typedef struct alert_webhook_conf {
	char *url;
	char *secret_file;
	char *ca_file; /* NULL: the system's CAs */
} alert_webhook_conf;

/*
 * vault.json's "alert_webhook" in `len` bytes of `text` (`path` names it
 * in messages): absent or null (*out NULL), or {"url": URL, "secret_file":
 * PATH, "ca_file": PATH (optional)} with no other member, the URL https://
 * (or http:// to a loopback host: 127.0.0.0/8, [::1], localhost) of at
 * most ALERT_WEBHOOK_URL_MAX bytes, the paths absolute.  *out is the
 * caller's (alert_webhook_conf_free).  KURA_ECORRUPT naming the problem.
 */
int alert_webhook_parse(const char *text, size_t len, const char *path, alert_webhook_conf **out);
void alert_webhook_conf_free(alert_webhook_conf *c);

/*
 * The secret of `c`: the bytes of its secret_file without one trailing
 * newline, ALERT_WEBHOOK_SECRET_MIN to ALERT_WEBHOOK_SECRET_MAX of them.
 * *out (malloc'd, *out_len bytes) is the caller's, to wipe and free.
 */
int alert_webhook_secret(const alert_webhook_conf *c, uint8_t **out, size_t *out_len);

/* The X-Kura-Signature value of `body` sent at `timestamp` (Unix seconds). */
void alert_webhook_sign(char out[ALERT_WEBHOOK_SIG_SIZE], const uint8_t *secret, size_t secret_len,
			int64_t timestamp, const char *body, size_t len);

/*
 * Start the worker (once per process; 0 if it runs already), and stop it:
 * the try in progress is cut short, what is still queued is dropped and
 * logged.  Without a worker, alert_webhook_enqueue queues nothing.
 */
int alert_webhook_start(void);
void alert_webhook_stop(void);

/*
 * Queue `body` (JSON) for `c`'s receiver; `what` names the delivery in
 * log lines and in the X-Kura-Delivery header ("12-opened").  Copies
 * everything.  0 once queued; KURA_EIO if the secret cannot be read, the
 * worker is not running, or the queue is full (counted, see
 * alert_webhook_dropped).
 */
int alert_webhook_enqueue(const alert_webhook_conf *c, const char *what, const char *body);

/* Deliveries dropped (queue full or stopped) and given up since the start of the process. */
uint64_t alert_webhook_dropped(void);
uint64_t alert_webhook_failed(void);

#endif
