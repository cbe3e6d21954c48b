/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_proofrec.c - proof records (lib/format/proofrec.c) and their store
 * side (lib/repo/proof.c): what goes in comes out, a store accepts what
 * the writer makes, the encoder refuses a record that breaks an
 * invariant, the decoder refuses every truncation, every extension and
 * each field out of range, and a local store lists records oldest first
 * with a damaged one named, not dropped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/proofrec.h"
#include "kura/keyless.h"
#include "kura/kura.h"
#include "kura/proof.h"
#include "kura/sys/backend.h"

static void sample(kura_proofrec *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = KURA_PROOFREC_COPY;
	r->passed = true;
	r->media = KURA_MEDIA_REMOVABLE;
	r->site = KURA_SITE_OFFSITE;
	r->time_ns = 1764547200123456789LL;
	r->has_snapshot = true;
	memset(r->snapshot, 0x5a, sizeof(r->snapshot));
	r->files = 42;
	r->bytes = 1 << 20;
	r->duration_ms = 1500;
	snprintf(r->label, sizeof(r->label), "usb-week-49");
	snprintf(r->target, sizeof(r->target), "/mnt/usb/kura");
}

static void test_roundtrip(void **state)
{
	kura_proofrec in, out;
	uint8_t *data, name[KURA_HASH_SIZE], hash[KURA_HASH_SIZE];
	size_t len;

	(void)state;
	sample(&in);
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &in), 0);
	assert_int_equal(len, KURA_PROOFREC_HEAD + strlen(in.label) + strlen(in.target));
	kura_sha256(hash, data, len);
	assert_memory_equal(hash, name, sizeof(hash));
	assert_int_equal(kura_keyless_validate(KURA_FILE_PROOF, data, len), 0);
	assert_int_equal(kura_proofrec_decode(&out, data, len), 0);
	assert_int_equal(out.kind, KURA_PROOFREC_COPY);
	assert_true(out.passed);
	assert_int_equal(out.media, KURA_MEDIA_REMOVABLE);
	assert_int_equal(out.site, KURA_SITE_OFFSITE);
	assert_true(out.time_ns == in.time_ns);
	assert_memory_equal(out.snapshot, in.snapshot, KURA_HASH_SIZE);
	assert_int_equal(out.files, 42);
	assert_int_equal(out.duration_ms, 1500);
	assert_string_equal(out.label, "usb-week-49");
	assert_string_equal(out.target, "/mnt/usb/kura");
	free(data);

	/* a failed check: no media, site, label or target, no snapshot */
	memset(&in, 0, sizeof(in));
	in.kind = KURA_PROOFREC_CHECK;
	in.problems = 3;
	in.time_ns = 1764547200000000000LL;
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &in), 0);
	assert_int_equal(len, KURA_PROOFREC_HEAD);
	assert_int_equal(kura_proofrec_decode(&out, data, len), 0);
	assert_false(out.passed);
	assert_false(out.has_snapshot);
	assert_int_equal(out.problems, 3);
	free(data);
}

static void test_encoder_refuses(void **state)
{
	kura_proofrec r;
	uint8_t *data, name[KURA_HASH_SIZE];
	size_t len;

	(void)state;
	sample(&r);
	r.problems = 1; /* passed with a problem */
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &r), KURA_EINVAL);
	sample(&r);
	r.passed = false; /* failed without one */
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &r), KURA_EINVAL);
	sample(&r);
	r.media = 6;
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &r), KURA_EINVAL);
	sample(&r);
	r.site = 0;
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &r), KURA_EINVAL);
	sample(&r);
	r.label[0] = '\0';
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &r), KURA_EINVAL);
	sample(&r);
	snprintf(r.label, sizeof(r.label), "usb\nFAKE: all green");
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &r), KURA_EINVAL);
	sample(&r);
	snprintf(r.target, sizeof(r.target), "/mnt/\xff\xfe");
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &r), KURA_EINVAL);
	sample(&r);
	r.kind = KURA_PROOFREC_CHECK; /* a check with a label */
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &r), KURA_EINVAL);
	sample(&r);
	r.time_ns = 0;
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &r), KURA_EINVAL);
}

static void test_decoder_refuses(void **state)
{
	kura_proofrec r, out;
	uint8_t *data, *longer, name[KURA_HASH_SIZE];
	size_t len;
	static const struct {
		size_t off;
		uint8_t v;
	} bad[] = {{0, 'X'}, {8, 2},   {9, 3},	{10, 2}, {11, 0},    {11, 9},
		   {12, 3},  {13, 2},  {14, 1}, {15, 1}, {23, 0},    {72, 1},
		   {88, 0},  {90, 99}, {92, 1}, {95, 1}, {96, 0x01}, {96 + 11, 0x7f}};

	(void)state;
	sample(&r);
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &r), 0);
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(kura_proofrec_decode(&out, data, n), 0);
	assert_non_null(longer = calloc(1, len + 1));
	memcpy(longer, data, len);
	assert_int_equal(kura_proofrec_decode(&out, longer, len + 1), KURA_ECORRUPT);
	free(longer);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t keep = data[bad[i].off];

		data[bad[i].off] = bad[i].v;
		assert_int_not_equal(kura_proofrec_decode(&out, data, len), 0);
		assert_int_not_equal(kura_keyless_validate(KURA_FILE_PROOF, data, len), 0);
		data[bad[i].off] = keep;
	}
	assert_int_equal(kura_proofrec_decode(&out, data, len), 0);
	free(data);

	/* a snapshot id without the flag */
	sample(&r);
	r.has_snapshot = false;
	memset(r.snapshot, 0, sizeof(r.snapshot));
	assert_int_equal(kura_proofrec_encode(&data, &len, name, &r), 0);
	data[30] = 1;
	assert_int_equal(kura_proofrec_decode(&out, data, len), KURA_ECORRUPT);
	free(data);
}

static void test_store(void **state)
{
	char dir[] = "/tmp/kura-test-proof.XXXXXX", id1[KURA_ID_HEX], id2[KURA_ID_HEX], junk[128];
	kura_backend *b;
	kura_proof_info p, *list;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(kura_backend_local_create(&b, dir), 0);
	memset(&p, 0, sizeof(p));
	p.kind = KURA_PROOF_COPY;
	p.passed = true;
	p.media = KURA_MEDIA_VAULT;
	p.site = KURA_SITE_OFFSITE;
	p.time_ns = 1764547300000000000LL;
	snprintf(p.label, sizeof(p.label), "second");
	snprintf(p.target, sizeof(p.target), "vault://127.0.0.1:8443/second");
	assert_int_equal(kura_proof_write(b, &p, id2), 0);
	p.time_ns -= 1000;
	snprintf(p.label, sizeof(p.label), "first");
	memset(p.snapshot_id, 'a', KURA_ID_HEX - 1);
	assert_int_equal(kura_proof_write(b, &p, id1), 0);
	/* the same record again is no error (a retry) */
	assert_int_equal(kura_proof_write(b, &p, id1), 0);
	/* a snapshot id that is no file name */
	snprintf(p.snapshot_id, sizeof(p.snapshot_id), "latest");
	assert_int_equal(kura_proof_write(b, &p, id1), KURA_EINVAL);
	/* junk in the store: listed as damaged, first */
	snprintf(junk, sizeof(junk), "%s/proofs/%064d", dir, 0);
	FILE *f = fopen(junk, "w");
	assert_non_null(f);
	fputs("KURAPROF", f);
	fclose(f);
	assert_int_equal(kura_proofs_list(b, &list, &n), 0);
	assert_int_equal(n, 3);
	assert_non_null(list[0].damage);
	assert_string_equal(list[1].label, "first");
	assert_string_equal(list[1].id, id1);
	assert_int_equal(strlen(list[1].snapshot_id), 64);
	assert_string_equal(list[2].label, "second");
	assert_int_equal(list[2].media, KURA_MEDIA_VAULT);
	assert_string_equal(list[2].snapshot_id, "");
	kura_proofs_free(list, n);
	kura_backend_free(b);
	assert_int_equal(kura_media_parse("removable"), KURA_MEDIA_REMOVABLE);
	assert_int_equal(kura_media_parse("floppy"), 0);
	assert_int_equal(kura_site_parse("offsite"), KURA_SITE_OFFSITE);
	assert_string_equal(kura_media_name(KURA_MEDIA_TAPE), "tape");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "chmod -R u+w %s && rm -rf %s", dir, dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_encoder_refuses),
	    cmocka_unit_test(test_decoder_refuses),
	    cmocka_unit_test(test_store),
	};

	kura_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
