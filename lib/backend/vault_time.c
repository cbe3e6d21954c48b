/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_time.c - the vault's receive time of a snapshot, as sent in a
 * listing, parsed strictly (see vault_time.h).
 *
 * Only the exact form kurad writes is accepted (files_format_time in
 * server/files.c): anything looser would be a second, untested meaning.
 * timegm() does the calendar; the fields are range-checked first so that
 * it never normalises "February 31" into March.
 */
#include "vault_time.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#define NS 1000000000LL
#define Y2000_S 946684800LL
#define DAY_NS (86400LL * NS)

/* n decimal digits at s into *out; false if any is not a digit. */
static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int days_in(int year, int month)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : d[month - 1];
}

const char *kura_vault__parse_received(const char *text, int64_t now_ns, int64_t *out_ns)
{
	static const char bad[] = "not an RFC 3339 UTC time";
	struct tm tm = {0};
	int year, mon, day, hour, min, sec, frac = 0, nfrac = 0;
	const char *p;
	time_t t;

	*out_ns = 0;
	if (!text)
		return "missing";
	if (strlen(text) < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
	    text[13] != ':' || text[16] != ':' || !digits(text, 4, &year) ||
	    !digits(text + 5, 2, &mon) || !digits(text + 8, 2, &day) ||
	    !digits(text + 11, 2, &hour) || !digits(text + 14, 2, &min) ||
	    !digits(text + 17, 2, &sec))
		return bad;
	if (mon < 1 || mon > 12 || day < 1 || day > days_in(year, mon) || hour > 23 || min > 59 ||
	    sec > 59)
		return bad;
	p = text + 19;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9' && nfrac < 9; p++, nfrac++)
			frac = frac * 10 + (*p - '0');
		if (nfrac == 0)
			return bad;
		for (int i = nfrac; i < 9; i++)
			frac *= 10;
	}
	if (p[0] != 'Z' || p[1] != '\0')
		return bad;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if ((long long)t < Y2000_S)
		return "before 2000";
	/* compared in seconds first: year 9999 would overflow nanoseconds */
	if ((long long)t > now_ns / NS + 86400 || (int64_t)t * NS + frac > now_ns + DAY_NS)
		return "more than a day in the future";
	*out_ns = (int64_t)t * NS + frac;
	return NULL;
}
