/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_alert_record.c - the vault's alert files and vault.json's
 * "alert_command" (server/alert_record.c, alert_command.c) on arbitrary
 * bytes.  The input up to its first NUL is an alert record, what follows
 * it a vault.json.
 *
 * Promises checked: a record that parses is written back to text that
 * parses to an equal record, and its resolve statement can be built and
 * names its id; a command that parses is 1 to ALERT_COMMAND_ARGS_MAX
 * non-empty strings, the first an absolute path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert_command.h"
#include "alert_record.h"
#include "files.h"

static void check_record(const char *text, size_t len)
{
	alert_rec r, back;
	char *out, *st = NULL, want[32];
	size_t st_len;

	if (alert_record_parse(&r, 1, text, len, "fuzz") < 0)
		return;
	if (!(out = files_json_text(r.doc))) {
		json_decref(r.doc);
		return; /* out of memory */
	}
	if (alert_record_parse(&back, 1, out, strlen(out), "fuzz") < 0 ||
	    !json_equal(r.doc, back.doc))
		abort();
	if (alert_record_statement(r.doc, "key", &st, &st_len) == 0) {
		snprintf(want, sizeof(want), "\nkey\n1\n");
		if (st_len != strlen(st) || !strstr(st, want))
			abort();
	}
	free(st);
	free(out);
	json_decref(back.doc);
	json_decref(r.doc);
}

static void check_command(const char *text, size_t len)
{
	char **argv = NULL;
	size_t n;

	if (alert_command_parse(text, len, "fuzz", &argv) < 0 || !argv)
		return;
	if (argv[0][0] != '/')
		abort();
	for (n = 0; argv[n]; n++)
		if (!argv[n][0] || strlen(argv[n]) > ALERT_COMMAND_ARG_MAX)
			abort();
	if (n == 0 || n > ALERT_COMMAND_ARGS_MAX)
		abort();
	alert_command_free(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t rec_len = nul ? (size_t)(nul - data) : size;

	check_record((const char *)data, rec_len);
	if (nul)
		check_command((const char *)nul + 1, size - rec_len - 1);
	return 0;
}
