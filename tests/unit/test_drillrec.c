/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_drillrec.c - drill records (lib/format/drillrec.c): what goes in
 * comes out, the summary reads without a key and the details do not, the
 * encoder refuses a record that breaks an invariant, and the decoder
 * refuses every truncation and each field out of range.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "format/drillrec.h"
#include "kura/keyless.h"
#include "kura/kura.h"

static kura_keys keys, other;

static void sample(kura_drillrec *r)
{
	memset(r, 0, sizeof(*r));
	r->mode = KURA_DRILL_MODE_SAMPLE;
	r->passed = false;
	r->fail_flags = KURA_DRILL_FAIL_CONTENT;
	r->time_ns = 1764547200123456789LL;
	memset(r->snapshot, 0x5a, sizeof(r->snapshot));
	r->sample_bp = 1000;
	r->verify_status = -1;
	r->files_verified = 7;
	r->bytes_verified = 12345;
	r->files_failed = 1;
	r->snapshot_files = 80;
	r->snapshot_bytes = 987654;
	r->restore_ns = 250000000;
	r->rto_ms = 2500;
	r->details = "FAIL /ward4/patient-17.txt: content does not hash to its chunk id\n";
}

static void test_roundtrip(void **state)
{
	kura_drillrec in, out;
	uint8_t *data, name[KURA_HASH_SIZE], hash[KURA_HASH_SIZE];
	size_t len;

	sample(&in);
	assert_int_equal(kura_drillrec_encode(&data, &len, name, keys.repo_pk, &in), 0);
	kura_sha256(hash, data, len);
	assert_memory_equal(hash, name, sizeof(hash));
	assert_int_equal(kura_keyless_validate(KURA_FILE_DRILL, data, len), 0);
	/* the summary without a key; the names never in the clear */
	assert_int_equal(kura_drillrec_decode(&out, NULL, data, len), 0);
	assert_null(out.details);
	assert_int_equal(out.files_failed, 1);
	assert_int_equal(out.rto_ms, 2500);
	assert_int_equal(out.sample_bp, 1000);
	assert_true(out.time_ns == in.time_ns);
	assert_memory_equal(out.snapshot, in.snapshot, KURA_HASH_SIZE);
	assert_null(memmem(data, len, "patient-17", 10));
	/* the details with the restore key only */
	assert_int_equal(kura_drillrec_decode(&out, &keys, data, len), 0);
	assert_string_equal(out.details, in.details);
	kura_drillrec_clear(&out);
	assert_int_equal(kura_drillrec_decode(&out, &other, data, len), KURA_EAUTH);
	/* the summary is the details' associated data: a changed figure breaks them */
	data[112] ^= 1;
	assert_int_equal(kura_drillrec_decode(&out, NULL, data, len), 0);
	assert_int_equal(kura_drillrec_decode(&out, &keys, data, len), KURA_EAUTH);
	free(data);
}

static void test_truncations(void **state)
{
	kura_drillrec in, out;
	uint8_t *data, name[KURA_HASH_SIZE];
	size_t len;

	sample(&in);
	in.details = NULL;
	assert_int_equal(kura_drillrec_encode(&data, &len, name, keys.repo_pk, &in), 0);
	assert_int_equal(len, KURA_DRILLREC_HEAD + 28);
	for (size_t n = 0; n < len; n++)
		assert_int_equal(kura_drillrec_decode(&out, NULL, data, n), KURA_ECORRUPT);
	free(data);
}

static void test_invariants(void **state)
{
	kura_drillrec r;
	uint8_t *data, name[KURA_HASH_SIZE];
	size_t len;

	sample(&r);
	r.passed = true; /* with a failure recorded */
	assert_int_equal(kura_drillrec_encode(&data, &len, name, keys.repo_pk, &r), KURA_EINVAL);
	sample(&r);
	r.fail_flags = 0; /* failed without a cause */
	assert_int_equal(kura_drillrec_encode(&data, &len, name, keys.repo_pk, &r), KURA_EINVAL);
	sample(&r);
	r.mode = KURA_DRILL_MODE_FULL; /* full with a sample of 10 % */
	assert_int_equal(kura_drillrec_encode(&data, &len, name, keys.repo_pk, &r), KURA_EINVAL);
	sample(&r);
	r.time_ns = 0;
	assert_int_equal(kura_drillrec_encode(&data, &len, name, keys.repo_pk, &r), KURA_EINVAL);

	/* and the decoder: each byte of the fixed fields set to a value out of range */
	sample(&r);
	assert_int_equal(kura_drillrec_encode(&data, &len, name, keys.repo_pk, &r), 0);
	static const struct {
		size_t off;
		uint8_t v;
	} bad[] = {{0, 'X'}, {8, 2}, {9, 3}, {10, 2}, {11, 1}, {12, 0x80}, {58, 1}, {57, 0x40}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t keep = data[bad[i].off];
		kura_drillrec out;

		data[bad[i].off] = bad[i].v;
		assert_int_not_equal(kura_drillrec_decode(&out, NULL, data, len), 0);
		assert_int_not_equal(kura_keyless_validate(KURA_FILE_DRILL, data, len), 0);
		data[bad[i].off] = keep;
	}
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_truncations),
	    cmocka_unit_test(test_invariants),
	};

	kura_crypto_init();
	kura_keys_generate(&keys);
	kura_keys_generate(&other);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
