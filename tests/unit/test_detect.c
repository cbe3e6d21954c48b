/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_detect.c - the ransomware detector's signals on crafted data.
 *
 * Blocks: random bytes are random, text is text, zeros and page-structured
 * data are neither; strongly compressed data (zstd -19) looks random at
 * 4 KiB, which is why types come from magic bytes and not from the blocks.
 * Types: each signature of the table on a crafted header, names against
 * types, random bytes almost never taken for OpenPGP.  Notes and onion
 * addresses.  The judge's lines: 5 % of a tree is an attack, two files are
 * not, 2 % a day is flagged on the third day and a quiet day takes the
 * slack off.  The collector over two backups with a history in a
 * temporary cache: a normal day is clean, benign dense files (ZIP, JPEG,
 * gzip, a user's gpg file) are clean, encryption with renames and notes,
 * in-place encryption and partial encryption are suspect with the right
 * reasons, and without history the verdict is partial.
 */
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "testutil.h"

#include "detect/blockstat.h"
#include "detect/detect.h"
#include "detect/judge.h"
#include "detect/magic.h"
#include "detect/notes.h"
#include "detect/state.h"

#include <jansson.h>

static void fill_text(uint8_t *p, size_t n, unsigned seed)
{
	static const char *const words[] = {
	    "patient", "admitted",   "ward",   "4WEST",	 "glucose", "110", "mg/dL", "discharged",
	    "MRN",     "2026-11-02", "report", "normal", "\n",	    "CT",  "chest"};
	size_t i = 0;

	srand(seed);
	while (i < n) {
		const char *w = words[rand() % 15];

		while (*w && i < n)
			p[i++] = (uint8_t)*w++;
		if (i < n)
			p[i++] = ' ';
	}
}

static void test_blocks(void **state)
{
	size_t n = 256 * 1024;
	uint8_t *rnd = malloc(n), *txt = malloc(n), *zero = calloc(1, n);
	size_t zcap = ZSTD_compressBound(n);
	uint8_t *z = malloc(zcap);
	kura_blockscan s;
	size_t zlen;

	(void)state;
	randombytes_buf(rnd, n);
	fill_text(txt, n, 1);
	kura_detect_scan(rnd, n, 0, &s);
	assert_int_equal(s.blocks, 64);
	assert_true(s.random >= 63); /* one miss in ten thousand blocks */
	assert_true(s.first_random || s.random == 63);
	assert_int_equal(s.text, 0);
	/* a chunk at offset 100: its first block starts 3996 bytes in */
	kura_detect_scan(rnd, 3996 + 512, 100, &s);
	assert_int_equal(s.blocks, 1);
	assert_false(s.first_random);
	kura_detect_scan(txt, n, 0, &s);
	assert_int_equal(s.random, 0);
	assert_int_equal(s.text, 64);
	assert_true(s.first_text);
	kura_detect_scan(zero, n, 0, &s);
	assert_int_equal(s.random, 0);
	assert_int_equal(s.text, 0);
	assert_true(kura_detect_chi2(rnd, 4096) < KURA_DETECT_CHI2_RANDOM);
	assert_true(kura_detect_chi2(txt, 4096) > 10 * KURA_DETECT_CHI2_RANDOM);
	/* a short tail block is not judged, but a small file's text is still told */
	kura_detect_scan(txt, 300, 0, &s);
	assert_int_equal(s.blocks, 0);
	assert_true(s.first_text);
	/*
	 * Blocks sit on the file's 4 KiB grid, whatever the chunk boundaries: every
	 * other block encrypted, seen through chunks cut at odd offsets, is half random.
	 */
	fill_text(txt, n, 2);
	for (size_t k = 0; k < n; k += 8192)
		randombytes_buf(txt + k + 4096, 4096);
	{
		uint32_t blocks = 0, random = 0;
		size_t cuts[] = {0, 5000, 70001, 70002, 131071, 200000, n};

		for (int c = 0; c + 1 < 7; c++) {
			kura_detect_scan(txt + cuts[c], cuts[c + 1] - cuts[c], cuts[c], &s);
			blocks += s.blocks;
			random += s.random;
			assert_int_equal(s.first_text,
					 cuts[c] == 0); /* only the file's first block */
		}
		assert_true(blocks >= 60 && blocks <= 64); /* a few cut by a chunk's end */
		assert_true(random * 2 >= blocks - 3 && random * 2 <= blocks + 3);
	}
	/* what the chi-square cannot do: strong compression is as uniform as ciphertext */
	for (size_t i = 0; i + 32 < n; i += 16) {
		char line[40];

		snprintf(line, sizeof(line), "%08x %06d\n", (unsigned)rand(), rand() % 1000000);
		memcpy(txt + i, line, 16);
	}
	zlen = ZSTD_compress(z, zcap, txt, n, 19);
	assert_false(ZSTD_isError(zlen));
	kura_detect_scan(z, zlen, 0, &s);
	assert_true(s.blocks > 0);
	assert_true(s.random > 0); /* real text under zstd -19 or xz: nearly every block */
	/* ...so its type comes from its magic: zstd's frame header */
	assert_int_equal(kura_detect_magic(z, zlen, 0), KURA_FT_ZSTD);
	free(rnd);
	free(txt);
	free(zero);
	free(z);
}

static void test_magic(void **state)
{
	uint8_t h[KURA_DETECT_HEAD];
	static const struct {
		const char *bytes;
		size_t len, off;
		kura_filetype type;
	} cases[] = {
	    {"PK\x03\x04\x14\0\x06\0", 8, 0, KURA_FT_ZIP},
	    {"%PDF-1.7\n", 9, 0, KURA_FT_PDF},
	    {"\xff\xd8\xff\xe0\0\x10JFIF", 10, 0, KURA_FT_JPEG},
	    {"\x89PNG\r\n\x1a\n", 8, 0, KURA_FT_PNG},
	    {"DICM", 4, 128, KURA_FT_DICOM},
	    {"\0\0\0\x20"
	     "ftypisom",
	     12, 0, KURA_FT_MP4},
	    {"\x1f\x8b\x08\0", 4, 0, KURA_FT_GZIP},
	    {"\xfd"
	     "7zXZ\0",
	     6, 0, KURA_FT_XZ},
	    {"\x28\xb5\x2f\xfd", 4, 0, KURA_FT_ZSTD},
	    {"7z\xbc\xaf\x27\x1c", 6, 0, KURA_FT_7Z},
	    {"SQLite format 3\0", 16, 0, KURA_FT_SQLITE},
	    {"age-encryption.org/v1\n", 22, 0, KURA_FT_AGE},
	    {"Salted__", 8, 0, KURA_FT_OPENSSL},
	    {"\x85\x01\x0c\x03", 4, 0, KURA_FT_OPENPGP}, /* old-format PKESK, version 3 */
	    {"\xc1\xc0\x4c\x03", 4, 0, KURA_FT_OPENPGP}, /* new format, 2-byte length */
	    {"ustar", 5, 257, KURA_FT_TAR},
	};
	uint8_t *rnd = malloc(KURA_DETECT_HEAD * 10000);
	int pgp = 0, known = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		memset(h, 0x41, sizeof(h));
		memcpy(h + cases[i].off, cases[i].bytes, cases[i].len);
		assert_int_equal(kura_detect_magic(h, sizeof(h), 0), cases[i].type);
	}
	memset(h, 0x41, sizeof(h));
	assert_int_equal(kura_detect_magic(h, sizeof(h), 1), KURA_FT_TEXT);
	assert_int_equal(kura_detect_magic(h, sizeof(h), 0), KURA_FT_UNKNOWN);
	/* a short file cannot match a signature beyond its end */
	assert_int_equal(kura_detect_magic((const uint8_t *)"DIC", 3, 0), KURA_FT_UNKNOWN);
	/* random bytes: a recognised type lets a file's noise pass, so it must be rare */
	randombytes_buf(rnd, KURA_DETECT_HEAD * 10000);
	for (int i = 0; i < 10000; i++) {
		kura_filetype t =
		    kura_detect_magic(rnd + i * KURA_DETECT_HEAD, KURA_DETECT_HEAD, 0);

		pgp += t == KURA_FT_OPENPGP;
		known += t != KURA_FT_UNKNOWN;
	}
	assert_true(pgp <= 20);	  /* ~1 in 2,000 expected */
	assert_true(known <= 60); /* 2-byte signatures (MZ, gzip, DER): ~1 in 300 together */
	free(rnd);
	assert_int_equal(kura_detect_expected("/a/b/Report.DOCX"), KURA_FT_ZIP);
	assert_int_equal(kura_detect_expected("/a/b/x.tar.gz"), KURA_FT_GZIP);
	assert_int_equal(kura_detect_expected("/a/b/notes.txt"), KURA_FT_TEXT);
	assert_int_equal(kura_detect_expected("/a/b/x.docx.locked"), KURA_FT_UNKNOWN);
	assert_int_equal(kura_detect_expected("/a/.bashrc"), KURA_FT_UNKNOWN);
	assert_int_equal(kura_detect_expected("/a.b/noext"), KURA_FT_UNKNOWN);
	assert_true(kura_detect_type_dense(KURA_FT_JPEG));
	assert_false(kura_detect_type_dense(KURA_FT_TEXT));
	assert_false(kura_detect_type_dense(KURA_FT_SQLITE));
	assert_true(kura_detect_type_compatible(KURA_FT_OLE2, KURA_FT_ZIP));
	assert_false(kura_detect_type_compatible(KURA_FT_ZIP, KURA_FT_UNKNOWN));
	assert_string_equal(kura_detect_type_name(KURA_FT_DICOM), "dicom");
}

static void test_notes_and_onions(void **state)
{
	const char *note = "!!! ALL YOUR FILES HAVE BEEN ENCRYPTED !!!\nDownload the Tor Browser. "
			   "Visit http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx"
			   ".onion/x and pay in Bitcoin. Your personal ID: 42\n";
	const char *prose =
	    "The ward moved to the new wing. Payment of invoices is weekly.\n"
	    "See http://example.onion.invalid/ and the 15-char abcdefghijklmno.onion\n";
	kura_text_clues c = {0};

	(void)state;
	assert_true(kura_detect_note_name("RESTORE-MY-FILES.TXT"));
	assert_true(kura_detect_note_name("restore-my-files.txt"));
	assert_true(kura_detect_note_name("a1b2c3d4e.README.txt"));
	assert_true(kura_detect_note_name("!!!_READ_ME_!!!.txt"));
	assert_false(kura_detect_note_name("README.txt"));
	assert_false(kura_detect_note_name("report.docx"));
	kura_detect_text_clues((const uint8_t *)note, strlen(note), &c);
	assert_int_equal(c.onions, 1);
	assert_true(c.ransom_words >= 4);
	memset(&c, 0, sizeof(c));
	kura_detect_text_clues((const uint8_t *)prose, strlen(prose), &c);
	assert_int_equal(c.onions, 0);
	assert_true(c.ransom_words < 2);
}

static void test_judge(void **state)
{
	kura_detect_tally t = {0};
	kura_detect_outcome o;
	double cusum = 0;

	(void)state;
	t.history = 1;
	t.files = t.prev_files = 1000;
	kura_detect_judge(&t, &o);
	assert_int_equal(o.verdict, KURA_VERDICT_CLEAN);
	assert_int_equal(o.score, 0);
	/* 5 % of the tree turned to noise: an attack in one backup */
	t.content_files = t.counts[KURA_SIG_NOISE] = 50;
	kura_detect_judge(&t, &o);
	assert_int_equal(o.verdict, KURA_VERDICT_SUSPECT);
	assert_true(o.points[KURA_SIG_NOISE] >= 50);
	/* two files are not a campaign, even in a small tree */
	t.files = t.prev_files = 20;
	t.content_files = t.counts[KURA_SIG_NOISE] = 2;
	kura_detect_judge(&t, &o);
	assert_int_equal(o.verdict, KURA_VERDICT_CLEAN);
	/* 2 % a day: flagged on the third backup, not before */
	t.files = t.prev_files = 1000;
	for (int day = 1; day <= 3; day++) {
		t.content_files = t.counts[KURA_SIG_NOISE] = 20;
		t.cusum = cusum;
		kura_detect_judge(&t, &o);
		cusum = o.cusum;
		assert_int_equal(o.verdict, day < 3 ? KURA_VERDICT_CLEAN : KURA_VERDICT_SUSPECT);
	}
	assert_true(o.points[KURA_SIG_SLOW] > 0);
	/* quiet days take the slack off */
	t.content_files = t.counts[KURA_SIG_NOISE] = 0;
	for (int day = 0; day < 10; day++) {
		t.cusum = cusum;
		kura_detect_judge(&t, &o);
		cusum = o.cusum;
	}
	assert_true(cusum < 0.01);
	/* notes: a listed name in two directories, an unlisted shape in three */
	memset(&t, 0, sizeof(t));
	t.history = 1;
	t.files = t.prev_files = 1000;
	t.note_dirs_named = 2;
	kura_detect_judge(&t, &o);
	assert_int_equal(o.verdict, KURA_VERDICT_SUSPECT);
	t.note_dirs_named = 0;
	t.note_dirs_shape = 3;
	kura_detect_judge(&t, &o);
	assert_int_equal(o.verdict, KURA_VERDICT_SUSPECT);
	/* mass deletion alone; but not when archives of the size appeared (an archival job) */
	memset(&t, 0, sizeof(t));
	t.history = 1;
	t.prev_files = 1000;
	t.files = 400;
	t.counts[KURA_SIG_DELETED] = 600;
	t.gone_bytes = 600u << 20;
	kura_detect_judge(&t, &o);
	assert_int_equal(o.verdict, KURA_VERDICT_SUSPECT);
	t.new_dense_bytes = 100u << 20;
	kura_detect_judge(&t, &o);
	assert_int_equal(o.verdict, KURA_VERDICT_CLEAN);
	/* no history: partial, never clean */
	memset(&t, 0, sizeof(t));
	t.files = 10;
	kura_detect_judge(&t, &o);
	assert_int_equal(o.verdict, KURA_VERDICT_PARTIAL);
	assert_string_equal(kura_detect_signal_name(KURA_SIG_PARTIAL), "partial-encryption");
}

/* ---------------------------------------------------------------------- */
/* The collector over backups                                              */

static char cache[64];

typedef struct {
	const char *name;
	uint8_t *data;
	size_t len;
} fake_file;

/* Feed one file through the collector as the pipeline would: 64 KiB chunks, in any order. */
static void feed(kura_detect *d, const char *name, const uint8_t *data, size_t len)
{
	char path[256];
	kura_detect_file *f;
	size_t nchunks = (len + 65535) / 65536;

	snprintf(path, sizeof(path), "/srv/files/%s", name);
	f = kura_detect_file_begin(d, path, len);
	assert_non_null(f);
	for (size_t k = nchunks; k-- > 0;) { /* backwards: order must not matter */
		size_t off = k * 65536, n = len - off < 65536 ? len - off : 65536;

		kura_detect_chunk(d, f, off, data + off, n, n);
	}
	kura_detect_file_end(d, f, 1);
}

static void unchanged(kura_detect *d, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/srv/files/%s", name);
	kura_detect_unchanged(d, path);
}

static uint8_t *make(const char *kind, size_t len, unsigned seed)
{
	uint8_t *p = malloc(len);

	uint8_t key[randombytes_SEEDBYTES] = {0};

	fill_text(p, len, seed);
	if (strcmp(kind, "text") == 0)
		return p;
	/* deterministic: a run that passes passes again (1 in 300 random heads looks like MZ) */
	memcpy(key, &seed, sizeof(seed));
	randombytes_buf_deterministic(p, len, key);
	if (strcmp(kind, "zip") == 0)
		memcpy(p, "PK\x03\x04\x14\0\x06\0\x08\0", 10);
	else if (strcmp(kind, "jpeg") == 0)
		memcpy(p,
		       "\xff\xd8\xff\xe1\0\x10"
		       "Exif",
		       10);
	else if (strcmp(kind, "gzip") == 0)
		memcpy(p, "\x1f\x8b\x08\0", 4);
	else if (strcmp(kind, "gpg") == 0)
		memcpy(p, "\x85\x01\x0c\x03", 4);
	return p; /* "random": ciphertext */
}

typedef struct {
	kura_verdict verdict;
	json_t *record;
} outcome;

static outcome run(kura_detect_report *rep, kura_detect *d)
{
	outcome o;
	json_error_t je;

	assert_ok(kura_detect_finish(d, rep));
	assert_ok(kura_detect_commit(d));
	o.verdict = rep->verdict;
	o.record = json_loads(rep->record, 0, &je);
	assert_non_null(o.record);
	/* the summary never carries a name */
	assert_null(strstr(rep->summary, "/srv/files"));
	free(rep->record);
	free(rep->summary);
	kura_detect_free(d);
	return o;
}

static json_int_t count_of(json_t *rec, const char *signal)
{
	return json_integer_value(json_object_get(json_object_get(rec, "counts"), signal));
}

static kura_detect *open_collector(void)
{
	kura_detect_config cfg = {cache, "00112233", "host\n/srv/files", NULL};
	kura_detect *d;

	assert_ok(kura_detect_open(&d, &cfg));
	return d;
}

#define NTEXT 40
#define NDOC 20

/* Day 0: 40 text reports, 20 docx (ZIP), a database; judged without history. */
static void day0(void)
{
	kura_detect_report rep;
	kura_detect *d = open_collector();
	char name[64];
	outcome o;

	for (int i = 0; i < NTEXT; i++) {
		uint8_t *p = make("text", 20000 + (size_t)i * 1000, (unsigned)i);

		snprintf(name, sizeof(name), "dept%d/report%02d.txt", i % 5, i);
		feed(d, name, p, 20000 + (size_t)i * 1000);
		free(p);
	}
	for (int i = 0; i < NDOC; i++) {
		uint8_t *p = make("zip", 30000, (unsigned)i);

		snprintf(name, sizeof(name), "dept%d/letter%02d.docx", i % 5, i);
		feed(d, name, p, 30000);
		free(p);
	}
	{
		uint8_t *p = make("text", 1 << 20, 99);

		memset(p, 0, 100); /* a page-structured file: not text, not random */
		for (size_t k = 0; k < (1u << 20); k += 4096)
			memset(p + k, 0, 512);
		feed(d, "db/main.db", p, 1 << 20);
		free(p);
	}
	o = run(&rep, d);
	assert_int_equal(o.verdict, KURA_VERDICT_PARTIAL);
	json_decref(o.record);
}

static void setup_cache(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", cache);
	if (cache[0])
		assert_int_equal(system(cmd), 0);
	snprintf(cache, sizeof(cache), "/tmp/kura-test-detect-XXXXXX");
	assert_non_null(mkdtemp(cache));
}

/* Everything unchanged but `skip` (a mask over the text files and the docs). */
static void rest_unchanged(kura_detect *d, const int *skip_text, const int *skip_doc)
{
	char name[64];

	for (int i = 0; i < NTEXT; i++)
		if (!skip_text || !skip_text[i]) {
			snprintf(name, sizeof(name), "dept%d/report%02d.txt", i % 5, i);
			unchanged(d, name);
		}
	for (int i = 0; i < NDOC; i++)
		if (!skip_doc || !skip_doc[i]) {
			snprintf(name, sizeof(name), "dept%d/letter%02d.docx", i % 5, i);
			unchanged(d, name);
		}
}

static void test_collector_benign(void **state)
{
	kura_detect_report rep;
	kura_detect *d;
	int skip_doc[NDOC] = {0};
	char name[64];
	outcome o;

	(void)state;
	setup_cache();
	day0();
	/* a normal day: docx re-saved (new random body, ZIP header), new JPEGs, gzip, gpg, texts */
	d = open_collector();
	for (int i = 0; i < NDOC; i += 2) {
		uint8_t *p = make("zip", 31000, (unsigned)i + 100);

		skip_doc[i] = 1;
		snprintf(name, sizeof(name), "dept%d/letter%02d.docx", i % 5, i);
		feed(d, name, p, 31000);
		free(p);
	}
	skip_doc[1] = 1; /* unreadable this time: not a deletion */
	{
		kura_detect_file *f =
		    kura_detect_file_begin(d, "/srv/files/dept1/letter01.docx", 30000);

		assert_non_null(f);
		kura_detect_file_end(d, f, 0);
	}
	rest_unchanged(d, NULL, skip_doc);
	unchanged(d, "db/main.db");
	for (int i = 0; i < 30; i++) {
		const char *kinds[] = {"jpeg", "gzip", "gpg"}, *ext[] = {"jpg", "log.gz", "gpg"};
		uint8_t *p = make(kinds[i % 3], 50000, (unsigned)i + 200);

		snprintf(name, sizeof(name), "new/item%02d.%s", i, ext[i % 3]);
		feed(d, name, p, 50000);
		free(p);
	}
	o = run(&rep, d);
	assert_int_equal(o.verdict, KURA_VERDICT_CLEAN);
	assert_int_equal(json_integer_value(json_object_get(o.record, "score")), 0);
	assert_int_equal(count_of(o.record, "mass-deletion"), 0);
	json_decref(o.record);
}

static void test_collector_full(void **state)
{
	kura_detect_report rep;
	kura_detect *d;
	char name[80];
	const char *note = "!!! ALL YOUR FILES HAVE BEEN ENCRYPTED !!!\nUse the Tor Browser: "
			   "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion "
			   "pay in bitcoin, your personal ID 7\n";
	outcome o;

	(void)state;
	setup_cache();
	day0();
	/* every file encrypted and renamed to .locked, a note in each directory */
	d = open_collector();
	for (int i = 0; i < NTEXT + NDOC; i++) {
		uint8_t *p = make("random", 30000, (unsigned)i + 300);

		if (i < NTEXT)
			snprintf(name, sizeof(name), "dept%d/report%02d.txt.locked", i % 5, i);
		else
			snprintf(name, sizeof(name), "dept%d/letter%02d.docx.locked",
				 (i - NTEXT) % 5, i - NTEXT);
		feed(d, name, p, 30000);
		free(p);
	}
	for (int k = 0; k < 5; k++) {
		snprintf(name, sizeof(name), "dept%d/README_RESTORE.txt", k);
		feed(d, name, (const uint8_t *)note, strlen(note));
	}
	unchanged(d, "db/main.db");
	o = run(&rep, d);
	assert_int_equal(o.verdict, KURA_VERDICT_SUSPECT);
	assert_int_equal(count_of(o.record, "renamed-to-noise"), NTEXT + NDOC);
	assert_int_equal(count_of(o.record, "ransom-note"), 5);
	assert_int_equal(count_of(o.record, "onion-address"), 5);
	assert_int_equal(count_of(o.record, "mass-deletion"), 0); /* renames, not deletions */
	/* zstd's result is reported: here every chunk was stored at its full size */
	assert_true(count_of(o.record, "incompressible-kib") > 0);
	assert_true(count_of(o.record, "new-kib") >= count_of(o.record, "incompressible-kib"));
	assert_true(json_array_size(json_object_get(o.record, "files")) > 0);
	json_decref(o.record);
}

static void test_collector_in_place_and_partial(void **state)
{
	kura_detect_report rep;
	kura_detect *d;
	int skip_text[NTEXT] = {0}, skip_doc[NDOC] = {0};
	char name[64];
	outcome o;

	(void)state;
	setup_cache();
	day0();
	/* no renames, no notes: a third of the docx and texts encrypted in place */
	d = open_collector();
	for (int i = 0; i < NDOC; i += 3) {
		uint8_t *p = make("random", 30000, (unsigned)i + 400);

		skip_doc[i] = 1;
		snprintf(name, sizeof(name), "dept%d/letter%02d.docx", i % 5, i);
		feed(d, name, p, 30000);
		free(p);
	}
	for (int i = 0; i < NTEXT; i += 3) {
		uint8_t *p = make("random", 20000, (unsigned)i + 500);

		skip_text[i] = 1;
		snprintf(name, sizeof(name), "dept%d/report%02d.txt", i % 5, i);
		feed(d, name, p, 20000);
		free(p);
	}
	rest_unchanged(d, skip_text, skip_doc);
	unchanged(d, "db/main.db");
	o = run(&rep, d);
	assert_int_equal(o.verdict, KURA_VERDICT_SUSPECT);
	assert_true(count_of(o.record, "type-mismatch") >= 7 + 14 - 2);
	json_decref(o.record);

	/* partial encryption: every 4th 4 KiB block of the database and of text files, from 64 KiB
	 */
	d = open_collector();
	{
		uint8_t *p = make("text", 1 << 20, 99);

		memset(p, 0, 100);
		for (size_t k = 0; k < (1u << 20); k += 4096)
			memset(p + k, 0, 512);
		for (size_t k = 65536; k < (1u << 20); k += 4 * 4096)
			randombytes_buf(p + k, 4096);
		feed(d, "db/main.db", p, 1 << 20);
		free(p);
	}
	memset(skip_text, 0, sizeof(skip_text));
	for (int i = 0; i < 6; i++) {
		size_t len = 20000 + (size_t)i * 1000;
		uint8_t *p = make("text", len, (unsigned)i);

		for (size_t k = 4096; k + 4096 <= len; k += 2 * 4096)
			randombytes_buf(p + k, 4096);
		skip_text[i] = 1;
		snprintf(name, sizeof(name), "dept%d/report%02d.txt", i % 5, i);
		feed(d, name, p, len);
		free(p);
	}
	rest_unchanged(d, skip_text, NULL);
	o = run(&rep, d);
	assert_int_equal(count_of(o.record, "partial-encryption"), 7);
	assert_int_equal(o.verdict, KURA_VERDICT_SUSPECT);
	json_decref(o.record);
}

static void test_state_damage(void **state)
{
	kura_detect_state s = {0}, back;
	kura_detect_entry e[3] = {
	    {1, 2, 3, 1, 0, 0, 0}, {5, 6, 7, 2, 100, 0, 0}, {9, 9, 9, 3, 50, 0, 0}};
	char file[128];
	FILE *f;
	long len;
	uint8_t *data;

	(void)state;
	setup_cache();
	snprintf(file, sizeof(file), "%s/state", cache);
	s.entries = e;
	s.count = 3;
	s.snapshots = 4;
	s.cusum = 1.5;
	assert_ok(kura_detect_state_save(&s, file));
	assert_int_equal(kura_detect_state_load(&back, file), 1);
	assert_int_equal(back.count, 3);
	assert_int_equal(back.snapshots, 4);
	assert_true(back.cusum > 1.49 && back.cusum < 1.51);
	assert_non_null(kura_detect_state_find(&back, 5));
	assert_null(kura_detect_state_find(&back, 4));
	kura_detect_state_clear(&back);
	/* every flipped bit and every cut makes it "no history", never a wrong one */
	f = fopen(file, "rb");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	data = malloc((size_t)len);
	assert_int_equal(fread(data, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	for (long i = 0; i < len * 8; i += 7) {
		data[i / 8] ^= (uint8_t)(1u << (i % 8));
		f = fopen(file, "wb");
		fwrite(data, 1, (size_t)len, f);
		fclose(f);
		assert_int_equal(kura_detect_state_load(&back, file), 0);
		assert_int_equal(back.count, 0);
		data[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	f = fopen(file, "wb");
	fwrite(data, 1, (size_t)len - 1, f);
	fclose(f);
	assert_int_equal(kura_detect_state_load(&back, file), 0);
	free(data);
}

/*
 * kura scan's path: the history held in memory, handed from one collector
 * to the next (kura_detect_take_state), judges as the cache's would; and a
 * larger file list than the backup's 100 examples when asked.
 */
#define NNEW 150

/* NNEW new text files that are ciphertext: more suspect files than the backup's 100 examples. */
static void new_noise(kura_detect *d)
{
	char name[64];

	for (int i = 0; i < NNEW; i++) {
		uint8_t *p = make("random", 4096, 3000u + (unsigned)i);

		snprintf(name, sizeof(name), "new/n%03d.txt", i);
		feed(d, name, p, 4096);
		free(p);
	}
}

static void test_collector_in_memory_history(void **state)
{
	kura_detect_report rep;
	kura_detect_state st = {0}, again;
	kura_detect *d;
	json_t *rec;
	char name[64];
	int skip_doc[NDOC];

	(void)state;
	for (int i = 0; i < NDOC; i++)
		skip_doc[i] = 1;
	/* the first snapshot: no history */
	assert_ok(kura_detect_open_history(&d, NULL, 0));
	assert_int_equal(kura_detect_take_state(d, &again), KURA_EINVAL); /* not judged yet */
	for (int i = 0; i < NTEXT; i++) {
		uint8_t *p = make("text", 8192, (unsigned)i);

		snprintf(name, sizeof(name), "dept%d/report%02d.txt", i % 5, i);
		feed(d, name, p, 8192);
		free(p);
	}
	for (int i = 0; i < NDOC; i++) {
		uint8_t *p = make("zip", 30000, (unsigned)i);

		snprintf(name, sizeof(name), "dept%d/letter%02d.docx", i % 5, i);
		feed(d, name, p, 30000);
		free(p);
	}
	assert_ok(kura_detect_finish(d, &rep));
	assert_int_equal(rep.verdict, KURA_VERDICT_PARTIAL);
	free(rep.record);
	free(rep.summary);
	assert_ok(kura_detect_take_state(d, &st));
	assert_int_equal(st.count, NTEXT + NDOC);
	assert_int_equal(st.snapshots, 1);
	assert_int_equal(kura_detect_take_state(d, &again), KURA_EINVAL); /* moved once */
	kura_detect_free(d);

	/* the next one, every file encrypted in place, with room for them all */
	assert_ok(kura_detect_open_history(&d, &st, 1000));
	for (int i = 0; i < NTEXT; i++) {
		uint8_t *p = make("random", 8192, 1000u + (unsigned)i);

		snprintf(name, sizeof(name), "dept%d/report%02d.txt", i % 5, i);
		feed(d, name, p, 8192);
		free(p);
	}
	for (int i = 0; i < NDOC; i++) {
		uint8_t *p = make("random", 30000, 2000u + (unsigned)i);

		snprintf(name, sizeof(name), "dept%d/letter%02d.docx", i % 5, i);
		feed(d, name, p, 30000);
		free(p);
	}
	new_noise(d);
	assert_ok(kura_detect_finish(d, &rep));
	assert_int_equal(rep.verdict, KURA_VERDICT_SUSPECT);
	rec = json_loads(rep.record, 0, NULL);
	assert_non_null(rec);
	assert_true(json_is_true(json_object_get(rec, "history")));
	assert_int_equal(count_of(rec, "type-mismatch"), NTEXT + NDOC + NNEW);
	assert_int_equal(json_array_size(json_object_get(rec, "files")), NTEXT + NDOC + NNEW);
	json_decref(rec);
	free(rep.record);
	free(rep.summary);
	kura_detect_free(d);

	/* the backup's limit: the record names 100; unchanged files keep their features */
	assert_ok(kura_detect_open_history(&d, &st, 0));
	rest_unchanged(d, NULL, skip_doc);
	for (int i = 0; i < NDOC; i++) {
		uint8_t *p = make("random", 30000, 2000u + (unsigned)i);

		snprintf(name, sizeof(name), "dept%d/letter%02d.docx", i % 5, i);
		feed(d, name, p, 30000);
		free(p);
	}
	new_noise(d);
	assert_ok(kura_detect_finish(d, &rep));
	rec = json_loads(rep.record, 0, NULL);
	assert_non_null(rec);
	assert_int_equal(count_of(rec, "type-mismatch"), NDOC + NNEW);
	assert_int_equal(json_array_size(json_object_get(rec, "files")), 100);
	json_decref(rec);
	free(rep.record);
	free(rep.summary);
	kura_detect_free(d);
	kura_detect_state_clear(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blocks),
	    cmocka_unit_test(test_magic),
	    cmocka_unit_test(test_notes_and_onions),
	    cmocka_unit_test(test_judge),
	    cmocka_unit_test(test_collector_benign),
	    cmocka_unit_test(test_collector_full),
	    cmocka_unit_test(test_collector_in_place_and_partial),
	    cmocka_unit_test(test_state_damage),
	    cmocka_unit_test(test_collector_in_memory_history),
	};
	int rc;

	if (sodium_init() < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (cache[0]) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", cache);
		if (system(cmd) != 0)
			rc = 1;
	}
	return rc;
}
