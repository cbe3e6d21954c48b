/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_alert_out.c - vault.json's "alert_webhook" and "alert_syslog"
 * (server/alert_webhook.c, alert_syslog.c) on arbitrary bytes, and the
 * syslog line of an alert record built from them.
 *
 * Promises checked: a webhook that parses has a URL of 1 to
 * ALERT_WEBHOOK_URL_MAX bytes that is https:// or http:// (the loopback
 * rule is the parser's), an absolute secret_file and, if any, an absolute
 * ca_file; a syslog line is printable ASCII that fits its buffer, whatever
 * the record holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alert_syslog.h"
#include "alert_webhook.h"

static void check_webhook(const char *text, size_t len)
{
	alert_webhook_conf *c = NULL;
	size_t n;

	if (alert_webhook_parse(text, len, "fuzz", &c) < 0 || !c)
		return;
	n = strlen(c->url);
	if (n == 0 || n > ALERT_WEBHOOK_URL_MAX ||
	    (strncasecmp(c->url, "https://", 8) != 0 && strncasecmp(c->url, "http://", 7) != 0))
		abort();
	if (c->secret_file[0] != '/' || (c->ca_file && c->ca_file[0] != '/'))
		abort();
	alert_webhook_conf_free(c);
}

static void check_syslog(const char *text, size_t len)
{
	char line[ALERT_SYSLOG_LINE_MAX];
	json_t *doc;
	bool on;

	(void)alert_syslog_parse(text, len, "fuzz", &on);
	/* Whatever object the bytes hold, taken as an alert record. */
	if (!(doc = json_loadb(text, len, 0, NULL)))
		return;
	alert_syslog_line(line, sizeof(line), doc, "opened");
	for (size_t i = 0; line[i]; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
			abort();
	if (strlen(line) >= sizeof(line))
		abort();
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_webhook((const char *)data, size);
	check_syslog((const char *)data, size);
	return 0;
}
