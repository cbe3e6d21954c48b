/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_s3.c - the S3 backend's pure parts, without a store: locations (both
 * forms, hostile ones refused), object keys and request URLs in both
 * addressing styles, query encoding, the dates S3 sends (Ceph's
 * nanoseconds included), listing pages and error answers, and the
 * refusal of XML with a DOCTYPE.  The store itself is tests/e2e/s3_*.sh.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "backend/s3.h"

static void test_locations(void **state)
{
	s3_location l;
	char *u;

	(void)state;
	assert_int_equal(s3_url_parse(&l, "s3:http://127.0.0.1:7480/bkt/a/b/", NULL, false), 0);
	assert_string_equal(l.scheme, "http");
	assert_string_equal(l.host, "127.0.0.1:7480");
	assert_string_equal(l.bucket, "bkt");
	assert_string_equal(l.prefix, "a/b/");
	assert_int_equal(s3_url_parse(&l, "s3://my.bucket-1", "https://s3.example.org/", false), 0);
	assert_string_equal(l.scheme, "https");
	assert_string_equal(l.host, "s3.example.org");
	assert_string_equal(l.prefix, "");
	u = s3_url_for(&l, "config/x", "list-type=2");
	assert_string_equal(u, "https://s3.example.org/my.bucket-1/config/x?list-type=2");
	free(u);
	l.virtual_host = true;
	u = s3_url_for(&l, NULL, "object-lock=");
	assert_string_equal(u, "https://my.bucket-1.s3.example.org/?object-lock=");
	free(u);

	/* refused: no endpoint, bad buckets, escaping prefixes, odd hosts */
	assert_int_equal(s3_url_parse(&l, "s3://bkt/p", NULL, false), KURA_EINVAL);
	assert_int_equal(s3_url_parse(&l, "s3:http://h/Bkt/p", NULL, false), KURA_EINVAL);
	assert_int_equal(s3_url_parse(&l, "s3:http://h/ab/p", NULL, false), KURA_EINVAL);
	assert_int_equal(s3_url_parse(&l, "s3:http://h/bkt/a/../b", NULL, false), KURA_EINVAL);
	assert_int_equal(s3_url_parse(&l, "s3:http://h/bkt/a//b", NULL, false), KURA_EINVAL);
	assert_int_equal(s3_url_parse(&l, "s3:http://h/bkt/a?b", NULL, false), KURA_EINVAL);
	assert_int_equal(s3_url_parse(&l, "s3:http://h@evil/bkt/a", NULL, false), KURA_EINVAL);
	assert_int_equal(s3_url_parse(&l, "s3:ftp://h/bkt", NULL, false), KURA_EINVAL);
	assert_int_equal(s3_url_parse(&l, "s3://bkt", "file:///etc", false), KURA_EINVAL);
	assert_true(s3_url_is_s3("s3:https://h/b"));
	assert_false(s3_url_is_s3("/var/backups"));
}

static void test_encoding_and_dates(void **state)
{
	char *e, d[32];

	(void)state;
	e = s3_url_encode("p/data/ a+b=~");
	assert_string_equal(e, "p%2Fdata%2F%20a%2Bb%3D~");
	free(e);
	/* RGW's version ids hold characters a query must escape */
	assert_int_equal(s3_url_version_query("3sL4kqtJ+lcpXroDTDmJ/x.y", &e), 0);
	assert_string_equal(e, "versionId=3sL4kqtJ%2BlcpXroDTDmJ%2Fx.y");
	free(e);
	assert_int_equal(s3_url_parse_iso8601("2026-12-03T13:55:11.000000000Z"), 1796306111);
	assert_int_equal(s3_url_parse_iso8601("2026-12-03T13:55:11Z"), 1796306111);
	assert_int_equal(s3_url_parse_iso8601("2026-12-03T13:55:11.Z"), -1);
	assert_int_equal(s3_url_parse_iso8601("2026-12-03T13:55:11+09:00"), -1);
	assert_int_equal(s3_url_parse_iso8601(""), -1);
	s3_url_iso8601(d, 1796306111);
	assert_string_equal(d, "2026-12-03T13:55:11Z");
	assert_int_equal(s3_url_parse_http_date("Thu, 03 Dec 2026 13:55:11 GMT"), 1796306111);
	assert_int_equal(s3_url_parse_http_date("Thu, 03 Dec 2026 13:55:11 PST"), -1);
}

static void test_xml(void **state)
{
	static const char page[] =
	    "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/"
	    "2006-03-01/\"><IsTruncated>true</IsTruncated><NextContinuationToken>t/k=</"
	    "NextContinuationToken><Contents><Key>p/data/a</Key><Size>12</Size></Contents>"
	    "<Contents><Key>p/data/b</Key><Size>0</Size></Contents></ListBucketResult>";
	static const char nosize[] = "<ListBucketResult><Contents><Key>k</Key></Contents>"
				     "</ListBucketResult>";
	static const char notoken[] = "<ListBucketResult><IsTruncated>true</IsTruncated>"
				      "</ListBucketResult>";
	static const char bomb[] = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><Error><Code>&a;</Code>"
				   "</Error>";
	static const char err[] = "<Error><Code>AccessDenied</Code><Message>no</Message></Error>";
	s3_xml_listing l;
	char out[8];

	(void)state;
	assert_int_equal(s3_xml_listing_parse(&l, page, strlen(page)), 0);
	assert_int_equal(l.count, 2);
	assert_true(l.truncated);
	assert_string_equal(l.next_token, "t/k=");
	assert_string_equal(l.objects[0].key, "p/data/a");
	assert_int_equal(l.objects[0].size, 12);
	s3_xml_listing_free(&l);
	assert_int_equal(s3_xml_listing_parse(&l, nosize, strlen(nosize)), KURA_ECORRUPT);
	assert_int_equal(s3_xml_listing_parse(&l, notoken, strlen(notoken)), KURA_ECORRUPT);
	assert_int_equal(s3_xml_listing_parse(&l, "<a>", 3), KURA_ECORRUPT);
	assert_int_equal(s3_xml_find(out, sizeof(out), bomb, strlen(bomb), "Error/Code"),
			 KURA_ECORRUPT);
	/* cut to the buffer, NUL-terminated */
	assert_int_equal(s3_xml_find(out, sizeof(out), err, strlen(err), "Error/Code"), 0);
	assert_string_equal(out, "AccessD");
	assert_int_equal(s3_xml_find(out, sizeof(out), err, strlen(err), "Error/Nope"),
			 KURA_ENOTFOUND);
}

/* A version listing: markers and versions per key, and what they mean. */
static void test_versions(void **state)
{
	const char *page =
	    "<ListVersionsResult><IsTruncated>true</IsTruncated>"
	    "<NextKeyMarker>r/data/bb</NextKeyMarker><NextVersionIdMarker>v4</NextVersionIdMarker>"
	    "<DeleteMarker><Key>r/data/aa</Key><VersionId>m1</VersionId><IsLatest>true</IsLatest>"
	    "<LastModified>2026-12-02T19:23:45.123Z</LastModified></DeleteMarker>"
	    "<Version><Key>r/data/aa</Key><VersionId>v2</VersionId><IsLatest>false</IsLatest>"
	    "<LastModified>2026-12-02T19:23:44Z</LastModified><ETag>\"e1\"</ETag><Size>7</Size>"
	    "</Version>"
	    "<Version><Key>r/data/bb</Key><VersionId>v4</VersionId><IsLatest>true</IsLatest>"
	    "<LastModified>2026-12-02T19:23:46Z</LastModified><ETag>\"junk\"</ETag><Size>3</Size>"
	    "</Version>"
	    "<Version><Key>r/data/bb</Key><VersionId>v3</VersionId><IsLatest>false</IsLatest>"
	    "<LastModified>2026-12-02T19:20:00Z</LastModified><ETag>\"e2\"</ETag><Size>9</Size>"
	    "</Version></ListVersionsResult>";
	const char *noid = "<ListVersionsResult><Version><Key>k</Key><LastModified>"
			   "2026-12-02T19:20:00Z</LastModified></Version></ListVersionsResult>";
	const char *nomarker = "<ListVersionsResult><IsTruncated>true</IsTruncated>"
			       "</ListVersionsResult>";
	s3_xml_versions v;
	s3_key_versions aa, bb;

	(void)state;
	assert_int_equal(s3_xml_versions_parse(&v, page, strlen(page)), 0);
	assert_int_equal(v.count, 4);
	assert_true(v.truncated);
	assert_string_equal(v.next_key, "r/data/bb");
	assert_string_equal(v.next_version, "v4");
	assert_true(v.items[0].marker);
	assert_true(v.items[0].latest);
	assert_false(v.items[1].marker);
	assert_int_equal(v.items[1].size, 7);
	assert_string_equal(v.items[1].etag, "\"e1\"");
	aa = (s3_key_versions){.key = v.items[0].key, .v = v.items, .n = 2};
	bb = (s3_key_versions){.key = v.items[2].key, .v = v.items + 2, .n = 2};
	assert_int_equal(s3_key_attacks(&aa), S3_KEY_HIDDEN);
	assert_string_equal(s3_key_oldest(&aa)->version_id, "v2");
	assert_int_equal(s3_key_attacks(&bb), S3_KEY_OVERWRITTEN);
	assert_string_equal(s3_key_oldest(&bb)->version_id, "v3");
	bb.v = v.items + 3;
	bb.n = 1;
	assert_int_equal(s3_key_attacks(&bb), 0);
	aa.v = v.items;
	aa.n = 1;
	assert_null(s3_key_oldest(&aa));
	assert_int_equal(s3_key_attacks(&aa), 0);
	s3_xml_versions_free(&v);
	assert_int_equal(s3_xml_versions_parse(&v, noid, strlen(noid)), KURA_ECORRUPT);
	assert_int_equal(s3_xml_versions_parse(&v, nomarker, strlen(nomarker)), KURA_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_locations),
	    cmocka_unit_test(test_encoding_and_dates),
	    cmocka_unit_test(test_xml),
	    cmocka_unit_test(test_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
