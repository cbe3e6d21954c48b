/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_syslog.c - alerts to syslog(3) (alert_syslog.h).  The names in a
 * line come from clients (a repository name is checked, a summary is
 * cleaned when raised), and are cleaned here again, so a line never
 * carries a control character into the system log.
 */
#include "alert_syslog.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "common/error.h"

int alert_syslog_parse(const char *text, size_t len, const char *path, bool *out)
{
	json_t *doc, *m;
	json_error_t jerr;
	int err = 0;

	*out = false;
	if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)))
		return kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
	m = json_object_get(doc, "alert_syslog");
	if (m && !json_is_null(m) && !json_is_boolean(m))
		err = kura_error_set(KURA_ECORRUPT, "%s: \"alert_syslog\" must be true or false",
				     path);
	else
		*out = json_is_true(m);
	json_decref(doc);
	return err;
}

void alert_syslog_line(char *out, size_t size, const json_t *doc, const char *event)
{
	const char *repo = json_string_value(json_object_get(doc, "repo"));
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *summary = json_string_value(json_object_get(doc, "summary"));

	snprintf(out, size,
		 "kura alert %" JSON_INTEGER_FORMAT
		 " %s: kind=%s repo=%s count=%" JSON_INTEGER_FORMAT ": %s",
		 json_integer_value(json_object_get(doc, "id")), event, kind ? kind : "?",
		 repo && *repo ? repo : "-", json_integer_value(json_object_get(doc, "count")),
		 summary ? summary : "");
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
}

void alert_syslog_send(const json_t *doc, const char *event)
{
	char line[ALERT_SYSLOG_LINE_MAX];

	alert_syslog_line(line, sizeof(line), doc, event);
	/* syslog(3) is thread-safe in glibc; openlog only names us. */
	openlog("kurad", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	syslog(strcmp(event, "opened") == 0 ? LOG_ALERT : LOG_NOTICE, "%s", line);
}
