/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_s3_xml.c - the S3 backend's parsers on arbitrary bytes: a
 * ListObjectsV2 page, a ListObjectVersions page, the one-text lookups (error code, retention date),
 * the dates S3 sends and S3 locations.  Whatever parses must be
 * consistent: a listing's entries all have keys, a truncated page has a
 * token, a found text is NUL-terminated within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/s3.h"
#include "common/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	s3_xml_listing l;
	s3_xml_versions v;
	s3_location loc;
	char out[64], *s;

	if (s3_xml_listing_parse(&l, (const char *)data, size) == 0) {
		for (size_t i = 0; i < l.count; i++)
			if (!l.objects[i].key)
				abort();
		if (l.truncated && !l.next_token)
			abort();
		s3_xml_listing_free(&l);
	}
	if (s3_xml_versions_parse(&v, (const char *)data, size) == 0) {
		for (size_t i = 0; i < v.count; i++)
			if (!v.items[i].key || !v.items[i].version_id || v.items[i].modified < 0)
				abort();
		if (v.truncated && !v.next_key)
			abort();
		s3_xml_versions_free(&v);
	}
	if (s3_xml_find(out, sizeof(out), (const char *)data, size, "Error/Code") == 0 &&
	    strlen(out) >= sizeof(out))
		abort();
	if (!(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)s3_url_parse_iso8601(s);
	(void)s3_url_parse_http_date(s);
	if (s3_url_parse(&loc, s, "http://127.0.0.1:7480", false) == 0) {
		/* what a location lets through never walks out of its prefix */
		char walk[S3_PREFIX_MAX + 2] = "/";

		strcat(walk, loc.prefix);
		if (strstr(walk, "/../") || strstr(walk, "/./") || strstr(walk, "//"))
			abort();
		if (loc.prefix[0] && loc.prefix[strlen(loc.prefix) - 1] != '/')
			abort();
	}
	kura_error_clear();
	free(s);
	return 0;
}
