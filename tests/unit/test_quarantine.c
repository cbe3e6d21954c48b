/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_quarantine.c - the vault's upload record (server/provenance.c) and
 * quarantine records and hidden table (server/quarantine_store.c,
 * server/quarantine_view.c): what the parsers accept and refuse, appends
 * read back in order, records written and read back, and which names the
 * table hides in which repository.
 */
#include "testutil.h"

#include <stdio.h>
#include <sys/stat.h>

#include "provenance.h"
#include "quarantine_store.h"
#include "quarantine_view.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333333333333333333333333333"

typedef struct {
	char dir[64];
} tmpdir;

static int setup_dir(void **state)
{
	tmpdir *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/kura-test-quarantine-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	*state = t;
	return 0;
}

static int teardown_dir(void **state)
{
	tmpdir *t = *state;

	if (test_remove_tree(t->dir) != 0)
		return -1;
	free(t);
	return 0;
}

static int parse(const char *line, provenance_entry *e)
{
	return provenance_parse_line(line, strlen(line), e);
}

static void test_line_parse(void **state)
{
	provenance_entry e;

	(void)state;
	assert_int_equal(parse("data " H1 " 1796206296208897423 ward4", &e), 0);
	assert_int_equal(e.type, KURA_FILE_PACK);
	assert_string_equal(e.name, H1);
	assert_true(e.received_ns == 1796206296208897423LL);
	assert_string_equal(e.client, "ward4");
	assert_int_equal(parse("snapshots " H2 " 9223372036854775807 a", &e), 0);
	assert_int_equal(e.type, KURA_FILE_SNAPSHOT);

	/* each field wrong in turn */
	assert_int_equal(parse("", &e), KURA_ECORRUPT);
	assert_int_equal(parse("pack " H1 " 5 ward4", &e), KURA_ECORRUPT);
	assert_int_equal(parse("data " H1 "0 5 ward4", &e), KURA_ECORRUPT);
	assert_int_equal(parse("data 1111 5 ward4", &e), KURA_ECORRUPT);
	assert_int_equal(parse("data " H1 " 05 ward4", &e), KURA_ECORRUPT);
	assert_int_equal(parse("data " H1 " 0 ward4", &e), KURA_ECORRUPT);
	assert_int_equal(parse("data " H1 " -5 ward4", &e), KURA_ECORRUPT);
	assert_int_equal(parse("data " H1 " 9223372036854775808 ward4", &e), KURA_ECORRUPT);
	assert_int_equal(parse("data " H1 " 5", &e), KURA_ECORRUPT);
	assert_int_equal(parse("data " H1 " 5 ", &e), KURA_ECORRUPT);
	assert_int_equal(parse("data " H1 " 5 Ward4", &e), KURA_ECORRUPT);
	assert_int_equal(parse("data " H1 " 5 ward4 x", &e), KURA_ECORRUPT);
	assert_int_equal(parse("data " H1 "  5 ward4", &e), KURA_ECORRUPT);
	/* a NUL inside the client name (found by fuzz_quarantine) */
	{
		static const char nul[] = "data " H1 " 5 ward\0x";

		assert_int_equal(provenance_parse_line(nul, sizeof(nul) - 1, &e), KURA_ECORRUPT);
	}
}

typedef struct {
	provenance_entry e[8];
	size_t n;
} seen;

static int collect(const provenance_entry *e, void *ctx)
{
	seen *s = ctx;

	if (s->n < 8)
		s->e[s->n++] = *e;
	return 0;
}

static void test_record_and_read_back(void **state)
{
	tmpdir *t = *state;
	char path[256];
	seen s = {0};
	FILE *f;

	/* no file yet: no lines */
	assert_int_equal(provenance_each(t->dir, "clinic", collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(provenance_record(t->dir, "clinic", KURA_FILE_PACK, H1, 100, "ward4"), 0);
	assert_int_equal(provenance_record(t->dir, "clinic", KURA_FILE_INDEX, H2, 200, "ward5"), 0);
	assert_int_equal(provenance_record(t->dir, "clinic", KURA_FILE_PACK, "nothex", 1, "w"),
			 KURA_EINVAL);
	assert_int_equal(provenance_record(t->dir, "clinic", KURA_FILE_PACK, H1, 1, "../x"),
			 KURA_EINVAL);
	/* a damaged line is skipped, a cut-short last line ends the read */
	snprintf(path, sizeof(path), "%s/meta/clinic/uploads", t->dir);
	assert_non_null(f = fopen(path, "a"));
	fputs("junk line\nsnapshots " H3 " 300 ward4\ndata " H3, f);
	fclose(f);
	/* snapshot-times follows, its lines read as snapshots' uploads */
	snprintf(path, sizeof(path), "%s/meta/clinic/snapshot-times", t->dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(H2 " 400 old-writer\nnot a line\n", f);
	fclose(f);
	assert_int_equal(provenance_each(t->dir, "clinic", collect, &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.e[0].name, H1);
	assert_string_equal(s.e[1].client, "ward5");
	assert_true(s.e[2].received_ns == 300);
	assert_int_equal(s.e[2].type, KURA_FILE_SNAPSHOT);
	assert_int_equal(s.e[3].type, KURA_FILE_SNAPSHOT);
	assert_string_equal(s.e[3].name, H2);
	assert_string_equal(s.e[3].client, "old-writer");
}

static quarantine_rec make_rec(unsigned long id, const char *repo, quarantine_state st)
{
	static quarantine_file files[2] = {
	    {KURA_FILE_INDEX, H1, 10, 100},
	    {KURA_FILE_SNAPSHOT, H2, 20, 200},
	};
	quarantine_rec r = {
	    .id = id, .since_ns = 5, .made_ns = 30, .files = files, .nfiles = 2, .state = st};

	strcpy(r.repo, repo);
	strcpy(r.client, "ward4");
	if (st != QUARANTINE_HELD) {
		r.request = 9;
		r.done_ns = 40;
	}
	return r;
}

static void test_records_and_view(void **state)
{
	tmpdir *t = *state;
	quarantine_rec a = make_rec(1, "clinic", QUARANTINE_HELD), b, *all = NULL;
	quarantine_view *q = NULL;
	json_t *listing;
	size_t n = 0, dropped = 0;

	assert_int_equal(quarantine_rec_save(t->dir, &a, true), 0);
	assert_int_equal(quarantine_rec_save(t->dir, &a, true), KURA_EEXISTS);
	assert_int_equal(quarantine_rec_load(t->dir, 1, &b), 0);
	assert_int_equal(b.nfiles, 2);
	assert_string_equal(b.files[1].name, H2);
	assert_int_equal(b.files[1].type, KURA_FILE_SNAPSHOT);
	assert_int_equal(b.state, QUARANTINE_HELD);
	quarantine_rec_free(&b);
	assert_int_equal(quarantine_rec_load(t->dir, 2, &b), KURA_ENOTFOUND);

	assert_int_equal(quarantine_view_new(&q), 0);
	assert_int_equal(quarantine_view_refresh(q, t->dir, true), 0);
	assert_true(quarantine_view_hidden(q, "clinic", H1));
	assert_true(quarantine_view_hidden(q, "clinic", H2));
	assert_false(quarantine_view_hidden(q, "clinic", H3));
	assert_false(quarantine_view_hidden(q, "other", H1)); /* per repository */

	listing = json_pack("[{s:s}, {s:s}, {s:s}]", "name", H1, "name", H3, "name", H2);
	assert_int_equal(quarantine_view_filter(q, "clinic", listing, &dropped), 0);
	assert_int_equal(dropped, 2);
	assert_int_equal(json_array_size(listing), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(listing, 0), "name")),
			    H3);
	json_decref(listing);

	/* released: visible again, whatever the directory's time says */
	a = make_rec(1, "clinic", QUARANTINE_RELEASED);
	assert_int_equal(quarantine_rec_save(t->dir, &a, false), 0);
	assert_int_equal(quarantine_view_refresh(q, t->dir, false), 0);
	assert_false(quarantine_view_hidden(q, "clinic", H1));

	/* a record that cannot be read keeps the old table and says why */
	a = make_rec(2, "clinic", QUARANTINE_HELD);
	assert_int_equal(quarantine_rec_save(t->dir, &a, true), 0);
	assert_int_equal(quarantine_view_refresh(q, t->dir, true), 0);
	assert_true(quarantine_view_hidden(q, "clinic", H1));
	{
		char path[256];
		FILE *f;

		snprintf(path, sizeof(path), "%s/quarantine/3.json", t->dir);
		assert_non_null(f = fopen(path, "w"));
		fputs("{\"id\": 3}", f);
		fclose(f);
	}
	assert_int_equal(quarantine_view_refresh(q, t->dir, true), KURA_ECORRUPT);
	assert_true(quarantine_view_hidden(q, "clinic", H1));
	assert_int_equal(quarantine_rec_load_all(t->dir, &all, &n), KURA_ECORRUPT);
	quarantine_view_free(q);
}

static void test_record_parse_refusals(void **state)
{
	static const char *const bad[] = {
	    /* files out of order */
	    "{\"id\":1,\"repo\":\"r\",\"client\":\"c\",\"since_ns\":1,\"made_ns\":1,\"files\":["
	    "{\"type\":\"data\",\"name\":\"" H2 "\",\"received_ns\":1,\"size\":1},"
	    "{\"type\":\"data\",\"name\":\"" H1 "\",\"received_ns\":1,\"size\":1}],"
	    "\"kept_visible\":[],\"state\":\"quarantined\",\"request\":null,\"done_ns\":null,"
	    "\"logged\":false}",
	    /* the wrong id for its file */
	    "{\"id\":2,\"repo\":\"r\",\"client\":\"c\",\"since_ns\":1,\"made_ns\":1,\"files\":[],"
	    "\"kept_visible\":[],\"state\":\"quarantined\",\"request\":null,\"done_ns\":null,"
	    "\"logged\":false}",
	    /* removed without the request that removed it */
	    "{\"id\":1,\"repo\":\"r\",\"client\":\"c\",\"since_ns\":1,\"made_ns\":1,\"files\":[],"
	    "\"kept_visible\":[],\"state\":\"removed\",\"request\":null,\"done_ns\":5,"
	    "\"logged\":false}",
	    /* a path for a type */
	    "{\"id\":1,\"repo\":\"r\",\"client\":\"c\",\"since_ns\":1,\"made_ns\":1,\"files\":["
	    "{\"type\":\"../data\",\"name\":\"" H1 "\",\"received_ns\":1,\"size\":1}],"
	    "\"kept_visible\":[],\"state\":\"quarantined\",\"request\":null,\"done_ns\":null,"
	    "\"logged\":false}",
	};
	quarantine_rec r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(quarantine_rec_parse(&r, bad[i], strlen(bad[i]), "t", 1),
				 KURA_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_line_parse),
	    cmocka_unit_test_setup_teardown(test_record_and_read_back, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_records_and_view, setup_dir, teardown_dir),
	    cmocka_unit_test(test_record_parse_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
