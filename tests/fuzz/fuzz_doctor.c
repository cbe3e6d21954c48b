/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_doctor.c - the host-file parsers of `kurad doctor`
 * (server/doctor_probe.c) on arbitrary bytes: sshd_config text,
 * /proc/net/tcp and tcp6 text, and listen addresses.
 *
 * Promises checked: sshd values stay in their ranges; no more listeners
 * are found than the text has lines, each a printable address; a port
 * found is at most 65535.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"

static void check_addr(const char *addr, void *arg)
{
	size_t i, n = strlen(addr);

	if (n == 0 || n >= 46)
		abort();
	for (i = 0; i < n; i++)
		if (!strchr("0123456789abcdef.:", addr[i]))
			abort();
	(*(size_t *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	doctor_sshd s = {-1, -1};
	size_t lines = 1, i, seen = 0, n;
	char *z;

	doctor_sshd_parse(text, size, &s);
	if (s.password_auth < -1 || s.password_auth > 1 || s.root_login < -1 || s.root_login > 2)
		abort();
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	n = doctor_tcp_listeners(text, size, false, 7443, check_addr, &seen);
	n += doctor_tcp_listeners(text, size, true, 7443, check_addr, &seen);
	if (n != seen || n > 2 * lines)
		abort();
	if (!(z = malloc(size + 1)))
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	if (doctor_addr_port(z) > 65535)
		abort();
	(void)doctor_addr_wildcard(z);
	(void)doctor_is_approver_key(z, size);
	free(z);
	return 0;
}
