/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_probe.c - how `kurad doctor` reads the host (doctor.h): host
 * files under the doctor's root, bounded and refused when binary, and the
 * parsers of sshd_config and /proc/net/tcp.  The parsers are pure (text
 * in, values out) so that they are unit-tested and fuzzed on their own;
 * whatever they are fed, they skip what they do not understand.
 */
#include "doctor.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int doctor_read_host(const doctor_ctx *ctx, const char *path, char **out, size_t *out_len)
{
	char full[4096];
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, err = 0;

	*out = NULL;
	*out_len = 0;
	if ((size_t)snprintf(full, sizeof(full), "%s%s", ctx->root, path) >= sizeof(full))
		return -ENAMETOOLONG;
	if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto done;
	}
	/* /proc files say size 0: read up to the limit whatever st_size says. */
	if (!(buf = malloc(DOCTOR_FILE_MAX + 1))) {
		err = -ENOMEM;
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, DOCTOR_FILE_MAX + 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto done;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > DOCTOR_FILE_MAX) {
			err = -EFBIG;
			goto done;
		}
	}
	if (memchr(buf, '\0', got)) {
		err = -EINVAL;
		goto done;
	}
	buf[got] = '\0';
	*out = buf;
	*out_len = got;
	buf = NULL;
done:
	free(buf);
	close(fd);
	return err;
}

const char *doctor_read_error(int err)
{
	switch (err) {
	case -ENOENT:
		return "missing";
	case -EFBIG:
		return "larger than 1 MiB, not read";
	case -EINVAL:
		return "not a text file";
	case -EACCES:
	case -EPERM:
		return "not readable by this user";
	default:
		return strerror(-err);
	}
}

/* The next line of text: [*s, end) without its newline; false at the end. */
static bool next_line(const char **s, const char *end, const char **line, size_t *len)
{
	const char *nl;

	if (*s >= end)
		return false;
	nl = memchr(*s, '\n', (size_t)(end - *s));
	*line = *s;
	*len = nl ? (size_t)(nl - *s) : (size_t)(end - *s);
	*s = nl ? nl + 1 : end;
	return true;
}

/* The first two words of a config line (comments and '=' separators skipped). */
static bool two_words(const char *line, size_t len, char *k, size_t kmax, char *v, size_t vmax)
{
	size_t i = 0, n;

	while (i < len && isspace((unsigned char)line[i]))
		i++;
	if (i == len || line[i] == '#')
		return false;
	for (n = 0; i < len && !isspace((unsigned char)line[i]) && line[i] != '='; i++)
		if (n + 1 < kmax)
			k[n++] = line[i];
	k[n] = '\0';
	while (i < len && (isspace((unsigned char)line[i]) || line[i] == '='))
		i++;
	for (n = 0; i < len && !isspace((unsigned char)line[i]) && line[i] != '#'; i++)
		if (n + 1 < vmax)
			v[n++] = line[i];
	v[n] = '\0';
	return k[0] != '\0';
}

void doctor_sshd_parse(const char *text, size_t len, doctor_sshd *sshd)
{
	const char *s = text, *end = text + len, *line;
	char k[64], v[64];
	size_t n;

	while (next_line(&s, end, &line, &n)) {
		if (!two_words(line, n, k, sizeof(k), v, sizeof(v)))
			continue;
		if (strcasecmp(k, "Match") == 0)
			return;
		if (strcasecmp(k, "PasswordAuthentication") == 0 && sshd->password_auth < 0) {
			if (strcasecmp(v, "yes") == 0)
				sshd->password_auth = 1;
			else if (strcasecmp(v, "no") == 0)
				sshd->password_auth = 0;
		} else if (strcasecmp(k, "PermitRootLogin") == 0 && sshd->root_login < 0) {
			if (strcasecmp(v, "yes") == 0)
				sshd->root_login = 1;
			else if (strcasecmp(v, "no") == 0)
				sshd->root_login = 0;
			else if (strcasecmp(v, "prohibit-password") == 0 ||
				 strcasecmp(v, "without-password") == 0 ||
				 strcasecmp(v, "forced-commands-only") == 0)
				sshd->root_login = 2;
		}
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* n hex digits at s into *out; false if any is not one. */
static bool hex_word(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int h = hexval(s[i]);

		if (h < 0)
			return false;
		v = v << 4 | (uint32_t)h;
	}
	*out = v;
	return true;
}

size_t doctor_tcp_listeners(const char *text, size_t len, bool v6, unsigned port,
			    void (*fn)(const char *addr, void *arg), void *arg)
{
	const char *s = text, *end = text + len, *line;
	size_t n, found = 0, alen = v6 ? 32 : 8;

	while (next_line(&s, end, &line, &n)) {
		/* "  0: 0100007F:1D13 00000000:0000 0A ..." */
		const char *p = memchr(line, ':', n), *e = line + n;
		char addr[INET6_ADDRSTRLEN];
		uint32_t w[4], lport, st;
		size_t i;

		if (!p)
			continue;
		p++;
		while (p < e && *p == ' ')
			p++;
		if ((size_t)(e - p) < alen + 1 + 4 + 1 + alen + 1 + 4 + 1 + 2 || p[alen] != ':')
			continue;
		for (i = 0; i < alen / 8; i++)
			if (!hex_word(p + 8 * i, 8, &w[i]))
				break;
		if (i < alen / 8 || !hex_word(p + alen + 1, 4, &lport))
			continue;
		if (!hex_word(p + 2 * alen + 12, 2, &st) || st != 0x0A || lport != port)
			continue; /* 0A: TCP_LISTEN */
		/* The kernel prints each 32-bit word of the address as the host reads it. */
		if (v6) {
			struct in6_addr a6;

			memcpy(&a6, w, sizeof(a6));
			inet_ntop(AF_INET6, &a6, addr, sizeof(addr));
		} else {
			struct in_addr a4;

			a4.s_addr = w[0];
			inet_ntop(AF_INET, &a4, addr, sizeof(addr));
		}
		found++;
		if (fn)
			fn(addr, arg);
	}
	return found;
}

bool doctor_addr_wildcard(const char *listen)
{
	const char *colon = strrchr(listen, ':');
	size_t hl = colon ? (size_t)(colon - listen) : strlen(listen);

	return (hl == 7 && strncmp(listen, "0.0.0.0", 7) == 0) ||
	       (hl == 4 && strncmp(listen, "[::]", 4) == 0) || hl == 0 ||
	       (hl == 1 && listen[0] == '*');
}

unsigned doctor_addr_port(const char *listen)
{
	const char *colon = strrchr(listen, ':');
	unsigned long v = 0;
	const char *p;

	if (!colon || !colon[1])
		return 0;
	for (p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9' || v > 65535)
			return 0;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	return v <= 65535 ? (unsigned)v : 0;
}

bool doctor_is_approver_key(const char *text, size_t len)
{
	static const char mark[] = "\"kura_approver_key\"";

	return len >= sizeof(mark) - 1 && memmem(text, len, mark, sizeof(mark) - 1) != NULL;
}
