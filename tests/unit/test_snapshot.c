/* SPDX-License-Identifier: Apache-2.0 */
/* test_snapshot.c - snapshot files: roundtrip, key roles, tampering, hostile bodies. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "format/snapshot.h"
#include "kura/keyless.h"

static kura_keys restore_keys, backup_keys;

static int setup(void **state)
{
	assert_ok(kura_crypto_init());
	assert_ok(kura_keys_generate(&restore_keys));
	kura_keys_to_backup(&backup_keys, &restore_keys);
	return 0;
}

static int teardown(void **state)
{
	kura_keys_wipe(&restore_keys);
	kura_keys_wipe(&backup_keys);
	return 0;
}

static uint8_t pack_names[3][KURA_HASH_SIZE];
static char *paths[] = {"/etc", "/home/a", "/srv/\xc3\xa9t\xc3\xa9"};
static char *tags[] = {"daily", "host:web1"};

/* 2026-11-25T20:31:07.123456789Z */
#define T_2026 (1795638667LL * 1000000000LL + 123456789LL)

static void make_snapshot(kura_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 3; i++)
		memset(pack_names[i], 0x20 * (i + 1), KURA_HASH_SIZE);
	s->time_ns = T_2026;
	s->packs = pack_names;
	s->npacks = 3;
	memset(s->tree, 0xab, KURA_HASH_SIZE);
	s->hostname = "web1";
	s->username = "root";
	s->paths = paths;
	s->npaths = 3;
	s->tags = tags;
	s->ntags = 2;
	s->excludes = NULL;
	s->nexcludes = 0;
	s->has_parent = true;
	memset(s->parent, 0xcd, KURA_HASH_SIZE);
	s->program = "kura 0.1.0";
	s->files = 12345;
	s->dirs = 678;
	s->bytes = 9876543210ull;
}

/* Decrypt the body of an encoded snapshot by hand (checks what the encoder wrote). */
static char *open_body(const uint8_t *data, size_t len, size_t npacks)
{
	size_t aad_len = 24 + 32 * npacks + KURA_SEALED_KEY_SIZE;
	uint8_t key[KURA_KEY_SIZE];
	char *body = calloc(1, len - aad_len - KURA_AEAD_OVERHEAD + 1);

	assert_ok(kura_unseal_key(key, data + aad_len - KURA_SEALED_KEY_SIZE, restore_keys.repo_pk,
				  restore_keys.repo_sk));
	assert_ok(
	    kura_aead_open((uint8_t *)body, key, data, aad_len, data + aad_len, len - aad_len));
	return body;
}

/* A snapshot with a hand-written JSON body and pack list. */
static uint8_t *raw_snapshot(size_t *out_len, const char *json, const uint8_t (*names)[32],
			     uint32_t npacks)
{
	kura_buf b = KURA_BUF_INIT;
	uint8_t key[KURA_KEY_SIZE], sealed[KURA_SEALED_KEY_SIZE];
	size_t aad_len, body_len = strlen(json);

	kura_random(key, sizeof(key));
	assert_ok(kura_seal_key(sealed, key, restore_keys.repo_pk));
	assert_ok(kura_buf_put(&b, "KURASNAP\1\0\0\0", 12));
	assert_ok(kura_buf_put_u64(&b, (uint64_t)T_2026));
	assert_ok(kura_buf_put_u32(&b, npacks));
	assert_ok(kura_buf_put(&b, names, 32 * (size_t)npacks));
	assert_ok(kura_buf_put(&b, sealed, sizeof(sealed)));
	aad_len = b.len;
	assert_ok(kura_buf_reserve(&b, body_len + KURA_AEAD_OVERHEAD));
	assert_ok(kura_aead_seal(b.data + b.len, key, b.data, aad_len, json, body_len));
	b.len += body_len + KURA_AEAD_OVERHEAD;
	return kura_buf_detach(&b, out_len);
}

static void test_roundtrip(void **state)
{
	kura_snapshot s, *back = NULL;
	uint8_t *data, name[KURA_HASH_SIZE], check[KURA_HASH_SIZE];
	size_t len;
	char *body;

	make_snapshot(&s);
	/* the backup client writes it */
	assert_ok(kura_snapshot_encode(&data, &len, name, &backup_keys, &s));
	kura_sha256(check, data, len);
	assert_memory_equal(check, name, KURA_HASH_SIZE);
	assert_memory_equal(data, "KURASNAP\1\0\0\0", 12);

	assert_ok(kura_snapshot_decode(&back, &restore_keys, data, len));
	assert_true(back->readable);
	assert_true(back->time_ns == T_2026);
	assert_int_equal(back->npacks, 3);
	assert_memory_equal(back->packs, pack_names, sizeof(pack_names));
	assert_memory_equal(back->tree, s.tree, KURA_HASH_SIZE);
	assert_string_equal(back->hostname, "web1");
	assert_string_equal(back->username, "root");
	assert_int_equal(back->npaths, 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(back->paths[i], paths[i]);
	assert_int_equal(back->ntags, 2);
	assert_string_equal(back->tags[1], "host:web1");
	assert_int_equal(back->nexcludes, 0);
	assert_true(back->has_parent);
	assert_memory_equal(back->parent, s.parent, KURA_HASH_SIZE);
	assert_string_equal(back->program, "kura 0.1.0");
	assert_true(back->files == 12345 && back->dirs == 678 && back->bytes == 9876543210ull);
	kura_snapshot_free(back);
	kura_snapshot_free(NULL);

	body = open_body(data, len, 3);
	assert_non_null(strstr(body, "\"time\":\"2026-11-25T20:31:07.123456789Z\""));
	free(body);
	free(data);

	/* no parent, no packs, a time before the epoch */
	s.has_parent = false;
	s.npacks = 0;
	s.time_ns = -1;
	assert_ok(kura_snapshot_encode(&data, &len, name, &restore_keys, &s));
	assert_ok(kura_snapshot_decode(&back, &restore_keys, data, len));
	assert_false(back->has_parent);
	assert_int_equal(back->npacks, 0);
	assert_true(back->time_ns == -1);
	kura_snapshot_free(back);
	body = open_body(data, len, 0);
	assert_non_null(strstr(body, "\"time\":\"1969-12-31T23:59:59.999999999Z\""));
	assert_null(strstr(body, "parent"));
	free(body);
	free(data);
}

static void test_header_only(void **state)
{
	kura_snapshot s, *back = NULL;
	uint8_t *data, name[KURA_HASH_SIZE];
	size_t len;

	make_snapshot(&s);
	assert_ok(kura_snapshot_encode(&data, &len, name, &backup_keys, &s));
	for (int k = 0; k < 2; k++) {
		assert_ok(kura_snapshot_decode(&back, k ? NULL : &backup_keys, data, len));
		assert_false(back->readable);
		assert_true(back->time_ns == T_2026);
		assert_int_equal(back->npacks, 3);
		assert_memory_equal(back->packs, pack_names, sizeof(pack_names));
		assert_null(back->hostname);
		assert_null(back->paths);
		kura_snapshot_free(back);
	}
	free(data);
}

static void test_tampering(void **state)
{
	kura_snapshot s, *back = NULL;
	kura_keys other;
	uint8_t *data, name[KURA_HASH_SIZE];
	size_t len;

	make_snapshot(&s);
	assert_ok(kura_snapshot_encode(&data, &len, name, &backup_keys, &s));
	for (size_t pos = 0; pos < len; pos++) {
		data[pos] ^= 0x04;
		assert_true(kura_snapshot_decode(&back, &restore_keys, data, len) < 0);
		assert_null(back);
		data[pos] ^= 0x04;
	}
	for (size_t cut = 0; cut < len; cut++) {
		assert_true(kura_snapshot_decode(&back, &restore_keys, data, cut) < 0);
		assert_null(back);
		/* header-only readers still need a complete header and the box's overhead */
		if (cut < 24 + 3 * 32 + 80 + 28)
			assert_true(kura_snapshot_decode(&back, NULL, data, cut) < 0);
	}
	assert_ok(kura_keys_generate(&other));
	assert_int_equal(kura_snapshot_decode(&back, &other, data, len), KURA_EAUTH);
	kura_keys_wipe(&other);
	data[8] = 3; /* 2: version 1 with a detection summary (test_detection_summary) */
	assert_int_equal(kura_snapshot_decode(&back, NULL, data, len), KURA_EUNSUPPORTED);
	data[8] = 1;
	/* an absurd pack count is refused before anything is allocated */
	data[20] = data[21] = data[22] = data[23] = 0xff;
	assert_int_equal(kura_snapshot_decode(&back, NULL, data, len), KURA_ECORRUPT);
	data[23] = 0;
	data[22] = 0; /* 65535 packs: more than the bytes present */
	assert_int_equal(kura_snapshot_decode(&back, NULL, data, len), KURA_ECORRUPT);
	free(data);
}

static void test_unsorted_packs(void **state)
{
	kura_snapshot s, *back = NULL;
	uint8_t *data = NULL, name[KURA_HASH_SIZE], tmp[KURA_HASH_SIZE];
	size_t len;

	make_snapshot(&s);
	memcpy(tmp, pack_names[0], KURA_HASH_SIZE);
	memcpy(pack_names[0], pack_names[1], KURA_HASH_SIZE);
	memcpy(pack_names[1], tmp, KURA_HASH_SIZE);
	assert_int_equal(kura_snapshot_encode(&data, &len, name, &restore_keys, &s), KURA_EINVAL);
	memcpy(pack_names[0], pack_names[1], KURA_HASH_SIZE);
	assert_int_equal(kura_snapshot_encode(&data, &len, name, &restore_keys, &s), KURA_EINVAL);
	assert_null(data);

	/* a file with an unsorted list is refused even without a key */
	make_snapshot(&s);
	assert_ok(kura_snapshot_encode(&data, &len, name, &restore_keys, &s));
	memcpy(tmp, data + 24, KURA_HASH_SIZE);
	memcpy(data + 24, data + 56, KURA_HASH_SIZE);
	memcpy(data + 56, tmp, KURA_HASH_SIZE);
	assert_int_equal(kura_snapshot_decode(&back, NULL, data, len), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "sorted"));
	memcpy(data + 24, data + 56, KURA_HASH_SIZE); /* duplicate */
	assert_int_equal(kura_snapshot_decode(&back, NULL, data, len), KURA_ECORRUPT);
	free(data);
}

#define GOOD_FIELDS                                                                                \
	"\"tree\":\"abababababababababababababababababababababababababababababababab\","           \
	"\"time\":\"2026-11-25T20:31:07.123456789Z\",\"paths\":[\"/etc\"],\"hostname\":\"h\","     \
	"\"username\":\"u\",\"tags\":[],\"excludes\":[],\"program\":\"kura 0.1.0\","               \
	"\"stats\":{\"files\":1,\"dirs\":2,\"bytes\":3}"

static int decode_json(const char *json)
{
	kura_snapshot *back = NULL;
	uint8_t *data;
	size_t len;
	int rc;

	data = raw_snapshot(&len, json, pack_names, 1);
	rc = kura_snapshot_decode(&back, &restore_keys, data, len);
	if (rc == 0) {
		assert_true(back->readable);
		kura_snapshot_free(back);
	} else {
		assert_null(back);
	}
	free(data);
	return rc;
}

static void test_hostile_bodies(void **state)
{
	memset(pack_names, 0x11, sizeof(pack_names));
	assert_ok(decode_json("{\"v\":1," GOOD_FIELDS "}"));
	/* unknown keys are ignored, also nested */
	assert_ok(decode_json("{\"v\":1,\"future\":[1,{\"x\":null}]," GOOD_FIELDS "}"));
	/* the time string is informational */
	assert_ok(
	    decode_json("{\"v\":1,\"tree\":"
			"\"abababababababababababababababababababababababababababababababab\","
			"\"time\":\"whenever\",\"paths\":[],\"hostname\":\"h\",\"username\":\"u\","
			"\"tags\":[],\"excludes\":[],\"program\":\"p\",\"stats\":{\"files\":1,"
			"\"dirs\":2,\"bytes\":3}}"));
	assert_int_equal(decode_json("{\"v\":2," GOOD_FIELDS "}"), KURA_EUNSUPPORTED);
	assert_int_equal(decode_json("{\"v\":1.0," GOOD_FIELDS "}"), KURA_EUNSUPPORTED);
	assert_int_equal(decode_json("{" GOOD_FIELDS "}"), KURA_ECORRUPT);
	/* duplicate keys */
	assert_int_equal(decode_json("{\"v\":1," GOOD_FIELDS ",\"hostname\":\"evil\"}"),
			 KURA_ECORRUPT);
	assert_int_equal(
	    decode_json("{\"v\":1,\"stats\":{\"files\":1,\"files\":2}," GOOD_FIELDS "}"),
	    KURA_ECORRUPT);
	/* wrong types and bad hex */
	assert_int_equal(decode_json("{\"v\":1,\"parent\":\"abc\"," GOOD_FIELDS "}"),
			 KURA_ECORRUPT);
	assert_int_equal(decode_json("{\"v\":1,\"parent\":7," GOOD_FIELDS "}"), KURA_ECORRUPT);
	assert_int_equal(
	    decode_json(
		"{\"v\":1,\"parent\":"
		"\"zbababababababababababababababababababababababababababababababab\"," GOOD_FIELDS
		"}"),
	    KURA_ECORRUPT);
	assert_int_equal(decode_json("{\"v\":1,\"tree\":\"ab\",\"time\":\"t\",\"paths\":[],"
				     "\"hostname\":\"h\",\"username\":\"u\",\"tags\":[],"
				     "\"excludes\":[],\"program\":\"p\",\"stats\":{\"files\":1,"
				     "\"dirs\":2,\"bytes\":3}}"),
			 KURA_ECORRUPT);
	assert_int_equal(
	    decode_json("{\"v\":1,\"tree\":"
			"\"abababababababababababababababababababababababababababababababab\","
			"\"time\":\"t\",\"paths\":[\"a\",3],\"hostname\":\"h\",\"username\":\"u\","
			"\"tags\":[],\"excludes\":[],\"program\":\"p\",\"stats\":{\"files\":1,"
			"\"dirs\":2,\"bytes\":3}}"),
	    KURA_ECORRUPT);
	assert_int_equal(
	    decode_json("{\"v\":1,\"tree\":"
			"\"abababababababababababababababababababababababababababababababab\","
			"\"time\":\"t\",\"paths\":[],\"hostname\":\"h\",\"username\":\"u\","
			"\"tags\":[],\"excludes\":[],\"program\":\"p\",\"stats\":{\"files\":-1,"
			"\"dirs\":2,\"bytes\":3}}"),
	    KURA_ECORRUPT);
	/* not JSON, not an object, invalid UTF-8, NUL, trailing garbage */
	assert_int_equal(decode_json(""), KURA_ECORRUPT);
	assert_int_equal(decode_json("[1,2]"), KURA_ECORRUPT);
	assert_int_equal(decode_json("{\"v\":1,\"x\":\"\xff\xfe\"," GOOD_FIELDS "}"),
			 KURA_ECORRUPT);
	assert_int_equal(decode_json("{\"v\":1,\"hostname\":\"a\\u0000b\"," GOOD_FIELDS "}"),
			 KURA_ECORRUPT);
	assert_int_equal(decode_json("{\"v\":1," GOOD_FIELDS "} {}"), KURA_ECORRUPT);
}

/* The optional list of files that changed while read: kept, sorted, looked up, typed. */
static void test_changed_list(void **state)
{
	/* a writer's list is sanitised UTF-8; the reader sorts what it gets */
	char *changed[] = {"/srv/z.log", "/srv/db/\xef\xbf\xbd.dat", "/srv/a.log"};
	kura_snapshot s, *back = NULL;
	uint8_t *data, name[KURA_HASH_SIZE];
	size_t len;
	char *body;

	make_snapshot(&s);
	assert_ok(kura_snapshot_encode(&data, &len, name, &backup_keys, &s));
	body = open_body(data, len, 3);
	assert_null(strstr(body, "changed")); /* none: the key is left out */
	free(body);
	assert_ok(kura_snapshot_decode(&back, &restore_keys, data, len));
	assert_int_equal(back->nchanged, 0);
	assert_false(kura_snapshot_changed(back, "/srv/a.log"));
	kura_snapshot_free(back);
	free(data);

	s.changed = changed;
	s.nchanged = 3;
	assert_ok(kura_snapshot_encode(&data, &len, name, &backup_keys, &s));
	assert_ok(kura_snapshot_decode(&back, &restore_keys, data, len));
	assert_int_equal(back->nchanged, 3);
	assert_string_equal(back->changed[0], "/srv/a.log");
	assert_true(kura_snapshot_changed(back, "/srv/a.log"));
	assert_true(kura_snapshot_changed(back, "/srv/z.log"));
	/* a name that is not UTF-8 matches its sanitised form */
	assert_true(kura_snapshot_changed(back, "/srv/db/\xff.dat"));
	assert_false(kura_snapshot_changed(back, "/srv/b.log"));
	assert_false(kura_snapshot_changed(back, "/srv"));
	assert_false(kura_snapshot_changed(NULL, "/srv/a.log"));
	kura_snapshot_free(back);
	free(data);

	memset(pack_names, 0x11, sizeof(pack_names));
	assert_ok(decode_json("{\"v\":1,\"changed\":[]," GOOD_FIELDS "}"));
	assert_int_equal(decode_json("{\"v\":1,\"changed\":\"/a\"," GOOD_FIELDS "}"),
			 KURA_ECORRUPT);
	assert_int_equal(decode_json("{\"v\":1,\"changed\":[\"/a\",1]," GOOD_FIELDS "}"),
			 KURA_ECORRUPT);
}

/*
 * Version 2: the detection summary after the pack names, readable without
 * a key, authenticated with the body; the record in the body.  Version 1
 * files stay readable (every other test writes them).
 */
static void test_detection_summary(void **state)
{
	const char *summary = "{\"v\":1,\"verdict\":\"suspect\",\"score\":87,\"history\":true,"
			      "\"counts\":{\"files\":10,\"type-mismatch\":7}}";
	kura_snapshot s, *back = NULL;
	kura_detection_summary d;
	uint8_t *data, name[KURA_HASH_SIZE];
	size_t len, at;
	static const char *const bad[] = {
		"", "[]", "{}", "{\"v\":2,\"verdict\":\"clean\",\"score\":0,\"history\":true,\"counts\":{}}",
		"{\"v\":1,\"verdict\":\"fine\",\"score\":0,\"history\":true,\"counts\":{}}",
		"{\"v\":1,\"verdict\":\"clean\",\"score\":101,\"history\":true,\"counts\":{}}",
		"{\"v\":1,\"verdict\":\"clean\",\"score\":0,\"history\":1,\"counts\":{}}",
		"{\"v\":1,\"verdict\":\"clean\",\"score\":0,\"history\":true,\"counts\":{\"A\":1}}",
		"{\"v\":1,\"verdict\":\"clean\",\"score\":0,\"history\":true,\"counts\":{\"a\":-1}}",
		/* no free text may ride along in the clear */
		"{\"v\":1,\"verdict\":\"clean\",\"score\":0,\"history\":true,\"counts\":{},"
		"\"files\":[\"/srv/x\"]}",
		"{\"v\":1,\"v\":1,\"verdict\":\"clean\",\"score\":0,\"history\":true,\"counts\":{}}",
	};

	make_snapshot(&s);
	s.summary = (char *)summary;
	s.detection = "{\"verdict\":\"suspect\",\"files\":[{\"path\":\"/srv/a.docx\"}]}";
	assert_ok(kura_snapshot_encode(&data, &len, name, &backup_keys, &s));
	assert_int_equal(data[8], 2);
	assert_ok(kura_snapshot_check(data, len));
	assert_ok(kura_keyless_validate(KURA_FILE_SNAPSHOT, data, len));
	assert_ok(kura_snapshot_detection(data, len, &d));
	assert_int_equal(d.verdict, KURA_DETECTION_SUSPECT);
	assert_int_equal(d.score, 87);
	assert_int_equal(d.ncounts, 2);
	/* without a key: the summary, never the names */
	assert_null(memmem(data, len, "/srv/a.docx", 11));
	assert_ok(kura_snapshot_decode(&back, NULL, data, len));
	assert_int_equal(back->verdict, KURA_DETECTION_SUSPECT);
	assert_string_equal(back->summary, summary);
	assert_null(back->detection);
	kura_snapshot_free(back);
	assert_ok(kura_snapshot_decode(&back, &restore_keys, data, len));
	assert_non_null(strstr(back->detection, "/srv/a.docx"));
	assert_int_equal(back->score, 87);
	kura_snapshot_free(back);
	/* the summary is under the AEAD: changing "87" to "86" fails the body */
	at = (size_t)((uint8_t *)memmem(data, len, "87", 2) - data);
	data[at + 1] = '6';
	assert_ok(kura_snapshot_decode(&back, NULL, data, len)); /* a keyless reader cannot tell */
	kura_snapshot_free(back);
	back = NULL;
	assert_int_equal(kura_snapshot_decode(&back, &restore_keys, data, len), KURA_EAUTH);
	data[at + 1] = '7';
	/* a length past the end, and zero */
	at = 24 + 3 * KURA_HASH_SIZE;
	data[at + 3] = 0x7f;
	assert_int_equal(kura_snapshot_check(data, len), KURA_ECORRUPT);
	data[at + 3] = 0;
	memset(data + at, 0, 4);
	assert_int_equal(kura_snapshot_check(data, len), KURA_ECORRUPT);
	free(data);
	/* a version 1 file has no summary */
	s.summary = NULL;
	s.detection = NULL;
	assert_ok(kura_snapshot_encode(&data, &len, name, &backup_keys, &s));
	assert_int_equal(data[8], 1);
	assert_ok(kura_snapshot_detection(data, len, &d));
	assert_int_equal(d.verdict, KURA_DETECTION_NONE);
	free(data);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_not_equal(kura_detection_summary_parse((const uint8_t *)bad[i], strlen(bad[i]), &d), 0);
		s.summary = (char *)bad[i];
		assert_true(kura_snapshot_encode(&data, &len, name, &backup_keys, &s) < 0);
	}
	s.summary = NULL;
	s.detection = "[1]";
	assert_int_equal(kura_snapshot_encode(&data, &len, name, &backup_keys, &s), KURA_EINVAL);
}

static void test_deep_nesting(void **state)
{
	size_t depth = 100000;
	char *json = malloc(2 * depth + 64);
	size_t n = 0;

	memset(pack_names, 0x11, sizeof(pack_names));
	n += (size_t)sprintf(json, "{\"v\":1,\"x\":");
	memset(json + n, '[', depth);
	n += depth;
	memset(json + n, ']', depth);
	n += depth;
	strcpy(json + n, "}");
	assert_int_equal(decode_json(json), KURA_ECORRUPT);
	free(json);
}

static void test_encode_rejects(void **state)
{
	kura_snapshot s;
	uint8_t *data = NULL, name[KURA_HASH_SIZE];
	size_t len;
	char *bad[] = {"ok", "\xff not utf-8"};

	make_snapshot(&s);
	s.paths = bad;
	s.npaths = 2;
	assert_int_equal(kura_snapshot_encode(&data, &len, name, &restore_keys, &s), KURA_EINVAL);
	make_snapshot(&s);
	s.files = UINT64_MAX;
	assert_int_equal(kura_snapshot_encode(&data, &len, name, &restore_keys, &s), KURA_EINVAL);
	assert_null(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),	   cmocka_unit_test(test_header_only),
	    cmocka_unit_test(test_tampering),	   cmocka_unit_test(test_unsorted_packs),
	    cmocka_unit_test(test_hostile_bodies), cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_encode_rejects), cmocka_unit_test(test_changed_list),
	    cmocka_unit_test(test_detection_summary),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
