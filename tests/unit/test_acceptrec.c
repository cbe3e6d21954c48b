/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_acceptrec.c - acceptance records (lib/format/acceptrec.c) and how
 * the detector applies them (lib/detect/accept.c, judge.c): what goes in
 * comes out, the header reads without a key and names nothing, the
 * details only with the restore key; the decoder refuses truncations and
 * fields out of range; a file is accepted only with an accepted extension
 * in an accepted directory or below, for accepted signals; accepted files
 * weigh a tenth in the verdict.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "detect/accept.h"
#include "detect/judge.h"
#include "format/acceptrec.h"
#include "kura/keyless.h"
#include "kura/kura.h"

static kura_keys keys, other;
static uint64_t dirs[2], exts[1];
static uint8_t hkey[16];

static void sample(kura_acceptrec *r)
{
	memset(r, 0, sizeof(*r));
	r->time_ns = 1764633600123456789LL;
	memset(r->snapshot, 0x3c, sizeof(r->snapshot));
	r->source = kura_acceptrec_hash(hkey, "host\n/srv", 9);
	r->signals = 1u << KURA_SIG_RENAMED;
	dirs[0] = kura_acceptrec_hash(hkey, "/srv/exports/lab", 16);
	dirs[1] = kura_acceptrec_hash(hkey, "/srv/pacs", 9);
	if (dirs[0] > dirs[1]) {
		uint64_t t = dirs[0];

		dirs[0] = dirs[1];
		dirs[1] = t;
	}
	exts[0] = kura_acceptrec_hash(hkey, ".pak", 4);
	r->dirs = dirs;
	r->ndirs = 2;
	r->exts = exts;
	r->nexts = 1;
	r->details = "reason nightly packer\ndir /srv/exports/lab\ndir /srv/pacs\next .pak\n";
}

static void test_roundtrip(void **state)
{
	kura_acceptrec in, out;
	uint8_t *data, name[KURA_HASH_SIZE], hash[KURA_HASH_SIZE];
	char snap[KURA_ID_HEX];
	int64_t t;
	size_t len;

	sample(&in);
	assert_int_equal(kura_acceptrec_encode(&data, &len, name, keys.repo_pk, &in), 0);
	kura_sha256(hash, data, len);
	assert_memory_equal(hash, name, sizeof(hash));
	assert_int_equal(kura_keyless_validate(KURA_FILE_ACCEPT, data, len), 0);
	assert_int_equal(kura_acceptrec_decode(&out, NULL, data, len), 0);
	assert_null(out.details);
	assert_int_equal(out.ndirs, 2);
	assert_int_equal(out.nexts, 1);
	assert_memory_equal(out.dirs, dirs, sizeof(dirs));
	assert_true(out.source == in.source && out.signals == in.signals &&
		    out.time_ns == in.time_ns);
	kura_acceptrec_clear(&out);
	assert_null(memmem(data, len, "exports", 7));
	assert_null(memmem(data, len, "nightly", 7));
	assert_int_equal(kura_accept_peek(data, len, snap, &t), 0);
	assert_string_equal(snap,
			    "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c");
	assert_true(t == in.time_ns);
	assert_int_equal(kura_acceptrec_decode(&out, &keys, data, len), 0);
	assert_string_equal(out.details, in.details);
	kura_acceptrec_clear(&out);
	assert_int_equal(kura_acceptrec_decode(&out, &other, data, len), KURA_EAUTH);
	/* the header is the details' associated data */
	data[40] ^= 1;
	assert_int_equal(kura_acceptrec_decode(&out, NULL, data, len), 0);
	kura_acceptrec_clear(&out);
	assert_int_equal(kura_acceptrec_decode(&out, &keys, data, len), KURA_EAUTH);
	free(data);
}

static void test_truncations_and_fields(void **state)
{
	kura_acceptrec in, out;
	uint8_t *data, name[KURA_HASH_SIZE];
	size_t len;

	sample(&in);
	in.details = NULL;
	assert_int_equal(kura_acceptrec_encode(&data, &len, name, keys.repo_pk, &in), 0);
	assert_int_equal(len, KURA_ACCEPTREC_FIXED + 3 * 8 + 80 + 28);
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(kura_acceptrec_decode(&out, NULL, data, n), 0);
	/* magic, version, reserved, time, a signal never accepted (notes), counts, order */
	static const struct {
		size_t off;
		uint8_t v;
	} bad[] = {{0, 'X'}, {8, 2},  {10, 1},	  {19, 0x7f}, {61, 0x02},
		   {64, 0},  {66, 0}, {65, 0x04}, {70, 1}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t keep = data[bad[i].off];

		data[bad[i].off] = bad[i].v;
		assert_int_not_equal(kura_acceptrec_decode(&out, NULL, data, len), 0);
		assert_int_not_equal(kura_keyless_validate(KURA_FILE_ACCEPT, data, len), 0);
		data[bad[i].off] = keep;
	}
	/* the directory hashes swapped: not sorted */
	{
		uint8_t tmp[8];

		memcpy(tmp, data + 72, 8);
		memcpy(data + 72, data + 80, 8);
		memcpy(data + 80, tmp, 8);
		assert_int_equal(kura_acceptrec_decode(&out, NULL, data, len), KURA_ECORRUPT);
	}
	free(data);
	/* the encoder refuses what the decoder would */
	sample(&in);
	in.signals = 1u << KURA_SIG_NOTE;
	assert_int_equal(kura_acceptrec_encode(&data, &len, name, keys.repo_pk, &in), KURA_EINVAL);
	sample(&in);
	in.nexts = 0;
	assert_int_equal(kura_acceptrec_encode(&data, &len, name, keys.repo_pk, &in), KURA_EINVAL);
}

static void test_accepted(void **state)
{
	kura_detect_accepts a = {0};
	kura_acceptrec r;

	memcpy(a.key, hkey, sizeof(hkey));
	assert_int_equal(kura_detect_accepted(&a, "/srv/exports/lab/x.csv.pak"), 0); /* none yet */
	sample(&r);
	assert_int_equal(kura_detect_accepts_add(&a, r.dirs, r.ndirs, r.exts, r.nexts, r.signals,
						 r.time_ns, "3c3c"),
			 0);
	assert_int_equal(kura_detect_accepted(&a, "/srv/exports/lab/x.csv.pak"), r.signals);
	assert_int_equal(kura_detect_accepted(&a, "/srv/exports/lab/2026/x.csv.pak"), r.signals);
	assert_int_equal(kura_detect_accepted(&a, "/srv/pacs/study.pak"), r.signals);
	assert_int_equal(kura_detect_accepted(&a, "/srv/exports/lab/x.csv.locked"), 0);
	assert_int_equal(kura_detect_accepted(&a, "/srv/exports/x.csv.pak"), 0); /* above */
	assert_int_equal(kura_detect_accepted(&a, "/srv/exports/labs/x.pak"), 0);
	assert_int_equal(kura_detect_accepted(&a, "/srv/exports/lab/.pak"), 0);
	assert_int_equal(kura_detect_accepted(&a, "/srv/exports/lab/pak"), 0);
	/* a second record: the union, deduplicated */
	assert_int_equal(kura_detect_accepts_add(&a, r.dirs, r.ndirs, r.exts, r.nexts,
						 1u << KURA_SIG_NEW_NOISE, r.time_ns + 1, "4d4d"),
			 0);
	assert_int_equal(a.ndirs, 2);
	assert_int_equal(a.records, 2);
	assert_string_equal(a.snapshots, "3c3c,4d4d");
	assert_true(a.newest_ns == r.time_ns + 1);
	kura_detect_accepts_clear(&a);
}

static void test_weighed(void **state)
{
	kura_detect_tally t = {0};
	kura_detect_outcome o;

	t.history = 1;
	t.files = t.prev_files = 200;
	t.content_files = t.counts[KURA_SIG_RENAMED] = 20; /* 10 %: an attack */
	kura_detect_judge(&t, &o);
	assert_int_equal(o.verdict, KURA_VERDICT_SUSPECT);
	t.accepted_files = 20; /* all accepted: 1 % */
	kura_detect_judge(&t, &o);
	assert_int_equal(o.verdict, KURA_VERDICT_CLEAN);
	assert_int_equal(o.score, 10);
	t.content_files = t.counts[KURA_SIG_RENAMED] = 40; /* 20 more elsewhere: an attack again */
	kura_detect_judge(&t, &o);
	assert_int_equal(o.verdict, KURA_VERDICT_SUSPECT);
	memset(&t, 0, sizeof(t));
	t.history = 1;
	t.files = t.prev_files = 100;
	t.counts[KURA_SIG_NEW_NOISE] = t.accepted_new =
	    20; /* new noise, accepted: 2 files' worth */
	kura_detect_judge(&t, &o);
	assert_int_equal(o.points[KURA_SIG_NEW_NOISE], 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_truncations_and_fields),
	    cmocka_unit_test(test_accepted),
	    cmocka_unit_test(test_weighed),
	};

	kura_crypto_init();
	kura_keys_generate(&keys);
	kura_keys_generate(&other);
	kura_acceptrec_key(hkey, keys.id_key);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
