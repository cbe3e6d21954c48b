/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_out.c - an alert opened or closed, sent where vault.json says
 * (alert_out.h).  vault.json is read at every send, as before for the
 * command, so an operator's edit counts from the next alert on without a
 * restart; a member that does not parse is reported and skipped, and the
 * others still go out: one bad setting must not silence every channel.
 */
#include "alert_out.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kura/kura.h"
#include "alert_command.h"
#include "alert_syslog.h"
#include "alert_webhook.h"
#include "common/error.h"
#include "files.h"
#include "vault_state.h"

/* vault.json's text, or NULL with the error set. */
static char *settings_text(const char *dir, size_t *out_len, char **out_path)
{
	char *text = NULL;

	*out_path = NULL;
	if (asprintf(out_path, "%s/vault.json", dir) < 0) {
		*out_path = NULL;
		kura_error_set(KURA_ENOMEM, "out of memory");
		return NULL;
	}
	if (files_read(*out_path, VAULT_SMALL_FILE_MAX, &text, out_len) < 0)
		return NULL;
	return text;
}

int alert_out_check(const char *dir)
{
	char *path = NULL, *text, **argv = NULL;
	alert_webhook_conf *w = NULL;
	size_t len;
	bool on;
	int err;

	if (!(text = settings_text(dir, &len, &path))) {
		free(path);
		return kura_error_code();
	}
	if ((err = alert_command_parse(text, len, path, &argv)) == 0 &&
	    (err = alert_webhook_parse(text, len, path, &w)) == 0)
		err = alert_syslog_parse(text, len, path, &on);
	alert_command_free(argv);
	alert_webhook_conf_free(w);
	free(text);
	free(path);
	return err;
}

json_t *alert_out_document(const json_t *doc, const char *event)
{
	static const char *const copied[] = {"id",	  "repo",	  "kind",
					     "summary",	  "details",	  "count",
					     "raised_ns", "last_seen_ns", "resolved_ns"};
	json_t *o = json_pack("{s:s}", "event", event);

	for (size_t i = 0; o && i < sizeof(copied) / sizeof(copied[0]); i++) {
		json_t *m = json_object_get(doc, copied[i]);

		if (json_object_set_new(o, copied[i], m ? json_deep_copy(m) : json_null()) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

/* Start the operator's command for the alert in `doc`; what happened, for the record. */
static char *run_command(vault *v, char **argv, const json_t *doc, const char *event,
			 const char *body)
{
	const char *repo = json_string_value(json_object_get(doc, "repo"));
	char *env[12] = {NULL}, *result = NULL;
	int n = 0;

	if (asprintf(&env[n++], "KURA_ALERT_ID=%" JSON_INTEGER_FORMAT,
		     json_integer_value(json_object_get(doc, "id"))) < 0 ||
	    asprintf(&env[n++], "KURA_ALERT_EVENT=%s", event) < 0 ||
	    asprintf(&env[n++], "KURA_ALERT_REPO=%s", repo ? repo : "") < 0 ||
	    asprintf(&env[n++], "KURA_ALERT_KIND=%s",
		     json_string_value(json_object_get(doc, "kind"))) < 0 ||
	    asprintf(&env[n++], "KURA_ALERT_SUMMARY=%s",
		     json_string_value(json_object_get(doc, "summary"))) < 0 ||
	    asprintf(&env[n++], "KURA_ALERT_COUNT=%" JSON_INTEGER_FORMAT,
		     json_integer_value(json_object_get(doc, "count"))) < 0 ||
	    asprintf(&env[n++], "KURA_ALERT_JSON=%s", body) < 0 ||
	    asprintf(&env[n++], "KURA_VAULT_DIR=%s", vault_dir(v)) < 0 ||
	    !(env[n++] = strdup("PATH=/usr/local/bin:/usr/bin:/bin"))) {
		env[n - 1] = NULL;
		goto done;
	}
	if (alert_command_start(argv, env) < 0) {
		if (asprintf(&result, "failed: %s", kura_error_message()) < 0)
			result = NULL;
		fprintf(stderr, "kurad: alert %" JSON_INTEGER_FORMAT " %s: %s\n",
			json_integer_value(json_object_get(doc, "id")), event,
			kura_error_message());
		kura_error_clear();
	} else {
		result = strdup("started");
	}
done:
	for (int i = 0; i < n; i++)
		free(env[i]);
	return result;
}

/* Report a setting that did not parse, and forget the error. */
static void report(const char *what)
{
	fprintf(stderr, "kurad: %s%s\n", what, kura_error_message());
	kura_error_clear();
}

char *alert_out_send(vault *v, const json_t *doc, const char *event)
{
	char *path = NULL, *text, **argv = NULL, *result = NULL, *body = NULL, what[48];
	alert_webhook_conf *w = NULL;
	json_t *d = NULL;
	size_t len;
	bool on = false;

	if (!(text = settings_text(vault_dir(v), &len, &path))) {
		report("alerts not sent: ");
		free(path);
		return NULL;
	}
	if (!(d = alert_out_document(doc, event)) ||
	    !(body = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS))) {
		fprintf(stderr, "kurad: alert not sent: out of memory\n");
		goto done;
	}
	/* A bad alert_command must not stop the alert: it is recorded, and reported. */
	if (alert_command_parse(text, len, path, &argv) < 0) {
		if (asprintf(&result, "not run: %s", kura_error_message()) < 0)
			result = NULL;
		report("");
	} else if (argv) {
		result = run_command(v, argv, doc, event, body);
	}
	if (alert_syslog_parse(text, len, path, &on) < 0)
		report("");
	else if (on)
		alert_syslog_send(doc, event);
	snprintf(what, sizeof(what), "%" JSON_INTEGER_FORMAT "-%s",
		 json_integer_value(json_object_get(doc, "id")), event);
	if (alert_webhook_parse(text, len, path, &w) < 0)
		report("");
	else if (w && alert_webhook_enqueue(w, what, body) < 0)
		report("");
done:
	alert_webhook_conf_free(w);
	alert_command_free(argv);
	json_decref(d);
	free(body);
	free(text);
	free(path);
	return result;
}
