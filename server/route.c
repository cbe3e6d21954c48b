/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route.c - the vault's request parsers (server/route.h).
 *
 * Every parser walks its input once, byte by byte, against a fixed
 * grammar, and never looks at anything outside the string it was given.
 * Names that reach the file system (REPO, TYPE, NAME) come only from
 * here, and only in forms that cannot name anything but one file of one
 * repository: no '/', no leading '.', no '%', no bytes outside ASCII.
 * Nothing here allocates, keeps state or sets the thread's error message:
 * the caller knows which HTTP answer each code means.
 */
#include "route.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <string.h>

#define TOKEN_MAX 256

static const char *const route_types[KURA_FILE_TYPES] = {
    [KURA_FILE_CONFIG] = "config", [KURA_FILE_KEY] = "keys",  [KURA_FILE_SNAPSHOT] = "snapshots",
    [KURA_FILE_INDEX] = "index",   [KURA_FILE_PACK] = "data",   [KURA_FILE_DRILL] = "drills",
    [KURA_FILE_PROOF] = "proofs",
    [KURA_FILE_ACCEPT] = "accepts",
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_lower_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static int is_name_char(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '-';
}

/* Consume `lit` at *p; 1 if it was there. */
static int eat(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		return 0;
	*p += n;
	return 1;
}

/* REPO = [a-z0-9][a-z0-9._-]{0,62}, ended by '/'. */
static int parse_repo(const char **p, char out[VAULT_NAME_MAX + 1])
{
	const char *s = *p;
	size_t n = 0;

	if (!(is_digit(s[0]) || (s[0] >= 'a' && s[0] <= 'z')))
		return KURA_EINVAL;
	while (is_name_char(s[n])) {
		if (++n > VAULT_NAME_MAX)
			return KURA_EINVAL;
	}
	if (s[n] != '/')
		return KURA_EINVAL;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = s + n + 1;
	return 0;
}

/* TYPE, ended by '/'. */
static int parse_type(const char **p, kura_file_type *out)
{
	for (int t = 0; t < KURA_FILE_TYPES; t++) {
		size_t n = strlen(route_types[t]);

		if (strncmp(*p, route_types[t], n) == 0 && (*p)[n] == '/') {
			*out = (kura_file_type)t;
			*p += n + 1;
			return 0;
		}
	}
	return KURA_EINVAL;
}

int route_parse(const char *url, vault_route *out)
{
	const char *p = url;
	size_t i;
	int err;

	memset(out, 0, sizeof(*out));
	if (!url)
		return KURA_ENOTFOUND;
	if (strcmp(url, "/v1/status") == 0) {
		out->kind = VAULT_ROUTE_STATUS;
		return 0;
	}
	if (strcmp(url, "/v1/log") == 0) {
		out->kind = VAULT_ROUTE_LOG;
		return 0;
	}
	if (!eat(&p, "/v1/repos/"))
		return KURA_ENOTFOUND;
	if ((err = parse_repo(&p, out->repo)) < 0)
		goto bad;
	if (strcmp(p, "deletions") == 0) {
		out->kind = VAULT_ROUTE_DELETIONS;
		return 0;
	}
	if (strcmp(p, "quarantine") == 0) {
		out->kind = VAULT_ROUTE_QUARANTINE;
		return 0;
	}
	if ((err = parse_type(&p, &out->type)) < 0)
		goto bad;
	if (*p == '\0') {
		out->kind = VAULT_ROUTE_LIST;
		return 0;
	}
	for (i = 0; i < KURA_ID_HEX - 1; i++)
		if (!is_lower_hex(p[i]))
			goto bad;
	if (p[i] != '\0')
		goto bad;
	memcpy(out->name, p, KURA_ID_HEX);
	out->kind = VAULT_ROUTE_FILE;
	return 0;

bad:
	memset(out, 0, sizeof(*out));
	return KURA_EINVAL;
}

int route_deletion_id(const char *url, unsigned long *out)
{
	static const char prefix[] = "/v1/deletions/";
	const char *p;
	unsigned long v = 0;
	size_t n;

	*out = 0;
	if (!url || strncmp(url, prefix, sizeof(prefix) - 1) != 0)
		return KURA_ENOTFOUND;
	p = url + sizeof(prefix) - 1;
	for (n = 0; is_digit(p[n]); n++)
		if (n >= 9)
			return KURA_EINVAL;
	if (n == 0 || p[n] != '\0' || p[0] == '0')
		return KURA_EINVAL;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(p[i] - '0');
	*out = v;
	return 0;
}

/* Decimal digits up to `end` (or NUL), no overflow, at least one digit. */
static int parse_u64(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (!is_digit(*s))
		return KURA_EINVAL;
	for (; is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return KURA_EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	*p = s;
	return 0;
}

int route_range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *len)
{
	const char *p = header;
	uint64_t a, b;

	*start = 0;
	*len = 0;
	if (!header || !eat(&p, "bytes="))
		return KURA_EINVAL;
	if (parse_u64(&p, &a) < 0 || *p++ != '-')
		return KURA_EINVAL;
	if (*p == '\0') {
		b = UINT64_MAX;
	} else {
		if (parse_u64(&p, &b) < 0 || *p != '\0')
			return KURA_EINVAL;
		if (a > b)
			return KURA_EINVAL;
	}
	if (a >= size)
		return KURA_ENOTFOUND;
	if (b > size - 1)
		b = size - 1;
	*start = a;
	*len = b - a + 1;
	return 0;
}

int route_length_parse(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t v;

	*out = 0;
	if (!s || strlen(s) > 20)
		return KURA_EINVAL;
	if (parse_u64(&p, &v) < 0 || *p != '\0')
		return KURA_EINVAL;
	*out = v;
	return 0;
}

const char *route_bearer_token(const char *header)
{
	static const char scheme[] = "bearer ";
	const char *tok;
	size_t i;

	if (!header || strncasecmp(header, scheme, sizeof(scheme) - 1) != 0)
		return NULL;
	tok = header + sizeof(scheme) - 1;
	for (i = 0; tok[i]; i++)
		if (tok[i] <= ' ' || tok[i] >= 0x7f || i >= TOKEN_MAX)
			return NULL;
	return i > 0 ? tok : NULL;
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t route_url_unescape(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		int hi, lo;

		if (r[0] == '%' && (hi = hex_value(r[1])) >= 0 && (lo = hex_value(r[2])) >= 0) {
			unsigned char c = (unsigned char)(hi * 16 + lo);

			if (c >= 0x20 && c != 0x7f) {
				*w++ = (char)c;
				r += 3;
				continue;
			}
		}
		*w++ = *r++;
	}
	*w = '\0';
	return (size_t)(w - s);
}

static int parse_port(const char *s, uint16_t *out)
{
	const char *p = s;
	uint64_t v;

	if (strlen(s) > 5 || parse_u64(&p, &v) < 0 || *p != '\0' || v == 0 || v > 65535)
		return KURA_EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int route_addr_parse(const char *s, struct sockaddr_storage *out, socklen_t *out_len)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon, *end;
	uint16_t port;

	memset(out, 0, sizeof(*out));
	*out_len = 0;
	if (!s)
		return KURA_EINVAL;
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;

		end = strchr(s, ']');
		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
			return KURA_EINVAL;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		if (parse_port(end + 2, &port) < 0 ||
		    inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return KURA_EINVAL;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*out_len = sizeof(*a6);
		return 0;
	}
	colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return KURA_EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)out;

		/* inet_pton takes only dotted quads: no "1", no "0x7f.1", no names. */
		if (parse_port(colon + 1, &port) < 0 ||
		    inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return KURA_EINVAL;
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*out_len = sizeof(*a4);
	}
	return 0;
}
