/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_route.c - the vault's request parsers (server/route.c) on
 * arbitrary bytes.  The first byte picks the size of the file a Range
 * applies to; the rest is one NUL-terminated string fed to every parser.
 * Whatever a parser accepts must keep its promises: a route names only a
 * valid repository and file name, a range lies inside the file, decoding
 * never lengthens the string nor makes a NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

static void check_route(const char *url)
{
	vault_route r;

	if (route_parse(url, &r) < 0)
		return;
	if (r.kind == VAULT_ROUTE_LIST || r.kind == VAULT_ROUTE_FILE) {
		if (!r.repo[0] || strlen(r.repo) > VAULT_NAME_MAX || r.repo[0] == '.' ||
		    strchr(r.repo, '/') || (unsigned)r.type >= KURA_FILE_TYPES)
			abort();
		if (r.kind == VAULT_ROUTE_FILE && strlen(r.name) != 64)
			abort();
		if (strstr(url, "//") || strstr(url, "/.") || strchr(url, '%'))
			abort();
	} else if (r.kind == VAULT_ROUTE_DELETIONS) {
		if (!r.repo[0] || r.repo[0] == '.' || strchr(r.repo, '/') || r.name[0] ||
		    strchr(url, '%') || strcmp(url + strlen(url) - 10, "/deletions") != 0)
			abort();
	} else if (r.kind != VAULT_ROUTE_STATUS && r.kind != VAULT_ROUTE_LOG) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t sizes[] = {0, 1, 10, 4096, UINT64_MAX - 1, UINT64_MAX};
	struct sockaddr_storage ss;
	socklen_t sl;
	uint64_t fsize, start, len, v;
	char *s;
	size_t n;

	if (size < 1)
		return 0;
	fsize = sizes[data[0] % (sizeof(sizes) / sizeof(sizes[0]))];
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	if (route_range_parse(s, fsize, &start, &len) == 0)
		if (len == 0 || start >= fsize || len > fsize - start)
			abort();
	(void)route_length_parse(s, &v);
	(void)route_bearer_token(s);
	(void)route_addr_parse(s, &ss, &sl);
	check_route(s);

	n = strlen(s);
	if (route_url_unescape(s) > n || strlen(s) > n)
		abort();
	check_route(s);
	free(s);
	return 0;
}
