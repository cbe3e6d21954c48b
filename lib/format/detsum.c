/* SPDX-License-Identifier: Apache-2.0 */
/*
 * detsum.c - the detection summary in a snapshot's plaintext header
 * (include/kura/keyless.h, docs/FORMAT.md "Detection summary").
 *
 * The summary is read by stores that hold no key, from files any writer
 * may have crafted, so it is parsed strictly and stays small: a JSON
 * object of at most 4 KiB with exactly the keys "v" (1), "verdict",
 * "score" (0..100), "history" (boolean) and "counts" (an object of at most
 * 32 non-negative integers under names of [a-z0-9-], 1..32 characters).
 * Anything else is refused: no free text travels in the clear.
 */
#include <jansson.h>
#include <string.h>

#include "common/error.h"
#include "kura/keyless.h"

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > KURA_DETECTION_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

static int verdict_of(const char *s)
{
	if (strcmp(s, "clean") == 0)
		return KURA_DETECTION_CLEAN;
	if (strcmp(s, "partial") == 0)
		return KURA_DETECTION_PARTIAL;
	if (strcmp(s, "suspect") == 0)
		return KURA_DETECTION_SUSPECT;
	return KURA_DETECTION_NONE;
}

int kura_detection_summary_parse(const uint8_t *text, size_t n, kura_detection_summary *out)
{
	json_error_t jerr;
	json_t *root, *v, *counts;
	const char *key;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n > KURA_DETECTION_MAX_BYTES)
		return kura_error_set(KURA_ECORRUPT, "detection summary: %zu bytes (1..%d)", n,
				      KURA_DETECTION_MAX_BYTES);
	/* depth is bounded by jansson, size by the limit above */
	if (!(root = json_loadb((const char *)text, n, JSON_REJECT_DUPLICATES, &jerr)))
		return kura_error_set(KURA_ECORRUPT,
				      "detection summary: invalid JSON at column %d: %s",
				      jerr.column, jerr.text);
	if (!json_is_object(root)) {
		err = kura_error_set(KURA_ECORRUPT, "detection summary: not a JSON object");
		goto done;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "v") && strcmp(key, "verdict") && strcmp(key, "score") &&
		    strcmp(key, "history") && strcmp(key, "counts")) {
			err = kura_error_set(KURA_ECORRUPT, "detection summary: unknown key");
			goto done;
		}
	}
	v = json_object_get(root, "v");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		err = kura_error_set(KURA_EUNSUPPORTED, "detection summary: \"v\" is not 1");
		goto done;
	}
	v = json_object_get(root, "verdict");
	if (!json_is_string(v) || !(out->verdict = verdict_of(json_string_value(v)))) {
		err = kura_error_set(
		    KURA_ECORRUPT,
		    "detection summary: \"verdict\" is not clean, partial or suspect");
		goto done;
	}
	v = json_object_get(root, "score");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100) {
		err = kura_error_set(KURA_ECORRUPT, "detection summary: \"score\" is not 0..100");
		goto done;
	}
	out->score = (int)json_integer_value(v);
	v = json_object_get(root, "history");
	if (!json_is_boolean(v)) {
		err = kura_error_set(KURA_ECORRUPT,
				     "detection summary: \"history\" is not a boolean");
		goto done;
	}
	out->history = json_is_true(v);
	counts = json_object_get(root, "counts");
	if (!json_is_object(counts) || json_object_size(counts) > KURA_DETECTION_MAX_COUNTS) {
		err = kura_error_set(KURA_ECORRUPT,
				     "detection summary: \"counts\" is not an object of at most %d",
				     KURA_DETECTION_MAX_COUNTS);
		goto done;
	}
	json_object_foreach(counts, key, v)
	{
		if (!name_ok(key) || !json_is_integer(v) || json_integer_value(v) < 0) {
			err = kura_error_set(KURA_ECORRUPT,
					     "detection summary: count %zu is not a name [a-z0-9-] "
					     "with a non-negative integer",
					     out->ncounts);
			goto done;
		}
		memcpy(out->counts[out->ncounts].name, key, strlen(key) + 1);
		out->counts[out->ncounts++].value = (uint64_t)json_integer_value(v);
	}
done:
	json_decref(root);
	if (err < 0)
		memset(out, 0, sizeof(*out));
	return err;
}
