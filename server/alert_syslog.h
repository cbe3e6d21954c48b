/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_syslog.h - alerts to syslog(3) (vault.json "alert_syslog": true),
 * which journald reads too: one line per alert opened or closed, facility
 * LOG_DAEMON, LOG_ALERT when it opens and LOG_NOTICE when it closes.
 */
#ifndef KURA_SERVER_ALERT_SYSLOG_H
#define KURA_SERVER_ALERT_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define ALERT_SYSLOG_LINE_MAX 640

/*
 * vault.json's "alert_syslog" in `len` bytes of `text`: absent, null or
 * false (*out false) or true.  KURA_ECORRUPT otherwise.
 */
int alert_syslog_parse(const char *text, size_t len, const char *path, bool *out);

/*
 * The line for `event` of alert record `doc`: "kura alert ID EVENT:
 * kind=KIND repo=REPO count=N: SUMMARY" (repo "-" for the whole vault),
 * printable ASCII only, cut to fit `size` (at least 64).
 */
void alert_syslog_line(char *out, size_t size, const json_t *doc, const char *event);

/* Write that line with syslog(3); the level from `event`. */
void alert_syslog_send(const json_t *doc, const char *event);

#endif
