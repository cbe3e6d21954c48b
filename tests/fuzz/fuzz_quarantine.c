/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_quarantine.c - the vault's two new parsers on arbitrary bytes: the
 * upload record's lines (server/provenance.c, DIR/meta/REPO/uploads) and
 * a quarantine record (server/quarantine_store.c, DIR/quarantine/QID.json).
 * The whole input is tried as a record (id 1), and each of its lines as an
 * upload line.
 *
 * Promises checked: a line that parses, written back as the vault writes
 * it, is the same line; a record that parses is sorted and unique, and
 * written back as JSON parses again to the same record.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_lines.h"
#include "provenance.h"
#include "quarantine_store.h"

static void check_line(const char *line, size_t len)
{
	char back[PROVENANCE_LINE_MAX];
	provenance_entry e;
	int n;

	if (provenance_parse_line(line, len, &e) < 0)
		return;
	n = snprintf(back, sizeof(back), "%s %s %" PRId64 " %s", kura_file_type_name(e.type),
		     e.name, e.received_ns, e.client);
	if (n < 0 || (size_t)n != len || memcmp(back, line, len) != 0 || e.received_ns <= 0)
		abort();
}

static void check_record(const quarantine_rec *r)
{
	quarantine_rec q;
	json_t *doc;
	char *text;

	for (size_t i = 1; i < r->nfiles; i++)
		if (strcmp(r->files[i - 1].name, r->files[i].name) >= 0)
			abort();
	if (!(doc = quarantine_rec_json(r)))
		return; /* out of memory */
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text)
		return;
	if (quarantine_rec_parse(&q, text, strlen(text), "roundtrip", r->id) < 0)
		abort();
	if (q.nfiles != r->nfiles || q.nkept != r->nkept || q.state != r->state ||
	    q.request != r->request || q.done_ns != r->done_ns || q.since_ns != r->since_ns ||
	    q.logged != r->logged || strcmp(q.repo, r->repo) != 0 ||
	    strcmp(q.client, r->client) != 0)
		abort();
	for (size_t i = 0; i < q.nfiles; i++)
		if (memcmp(&q.files[i], &r->files[i], sizeof(q.files[i])) != 0)
			abort();
	for (size_t i = 0; i < q.nkept; i++)
		if (strcmp(q.kept[i], r->kept[i]) != 0)
			abort();
	quarantine_rec_free(&q);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	quarantine_rec r;

	if (quarantine_rec_parse(&r, (const char *)data, size, "fuzz", 1) == 0) {
		check_record(&r);
		quarantine_rec_free(&r);
	}
	fuzz_each_line(data, size, check_line);
	return 0;
}
