/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snaptimes.c - the strict parser and the streaming reader of
 * DIR/meta/REPO/snapshot-times (snaptimes.h).  The parser accepts
 * exactly what vault_record_snapshot writes, so a line written back from
 * what it read is the same bytes (tests/fuzz/fuzz_snaptimes.c checks it).
 */
#include "snaptimes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"

int snaptimes_parse(snaptimes_line *out, const char *line, size_t len)
{
	const char *p = line, *end = line + len;
	int64_t ns = 0;
	size_t n;

	memset(out, 0, sizeof(*out));
	/* NAME */
	if (len < KURA_ID_HEX || p[KURA_ID_HEX - 1] != ' ')
		goto bad;
	memcpy(out->name, p, KURA_ID_HEX - 1);
	if (!kura_file_name_is_valid(out->name))
		goto bad;
	/* RECEIVED_NS: a positive int64, digits only, no leading zero */
	p += KURA_ID_HEX;
	for (n = 0; p + n < end && p[n] >= '0' && p[n] <= '9'; n++) {
		if ((n == 0 && p[n] == '0') || ns > (INT64_MAX - (p[n] - '0')) / 10)
			goto bad;
		ns = ns * 10 + (p[n] - '0');
	}
	if (n == 0 || p + n >= end || p[n] != ' ')
		goto bad;
	out->received_ns = ns;
	/* CLIENT, to the end */
	p += n + 1;
	n = (size_t)(end - p);
	/* a NUL would end the name early and let the rest of the line pass unread */
	if (n == 0 || n > VAULT_NAME_MAX || memchr(p, '\0', n))
		goto bad;
	memcpy(out->client, p, n);
	out->client[n] = '\0';
	if (!vault_name_ok(out->client))
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return kura_error_set(KURA_ECORRUPT, "not a snapshot time \"NAME RECEIVED_NS CLIENT\"");
}

static void skip(snaptimes_skipped *s, unsigned long long lineno)
{
	if (s->count++ == 0)
		s->first_line = lineno;
}

int snaptimes_each(const char *vault_dir, const char *repo, snaptimes_fn fn, void *ctx,
		   snaptimes_skipped *out_skipped)
{
	snaptimes_skipped skipped = {0, 0};
	unsigned long long lineno = 0;
	char *path = NULL, *line = NULL;
	snaptimes_line l;
	size_t cap = 0;
	ssize_t n;
	FILE *f = NULL;
	int fd, err = 0;

	if (out_skipped)
		*out_skipped = skipped;
	if (!vault_name_ok(repo))
		return kura_error_set(KURA_EINVAL, "bad repository name '%s'", repo ? repo : "");
	if (asprintf(&path, "%s/meta/%s/" SNAPTIMES_FILE, vault_dir, repo) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno != ENOENT) /* none yet: no snapshot recorded */
			err = kura_error_errno(kura_errno_code(errno), errno, "%s", path);
		goto done;
	}
	if (!(f = fdopen(fd, "r"))) {
		err = kura_error_errno(KURA_EIO, errno, "%s", path);
		close(fd);
		goto done;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] != '\n' || snaptimes_parse(&l, line, (size_t)n - 1) < 0) {
			skip(&skipped, lineno);
			continue;
		}
		if ((err = fn(&l, lineno, ctx)) < 0)
			goto done;
	}
	kura_error_clear(); /* a skipped line's message is not the caller's error */
	if (ferror(f))
		err = kura_error_errno(KURA_EIO, errno, "%s: cannot read", path);
done:
	if (out_skipped)
		*out_skipped = skipped;
	if (f)
		fclose(f);
	free(line);
	free(path);
	return err;
}

void snaptimes_warn(const char *vault_dir, const char *repo, const snaptimes_skipped *s)
{
	if (s->count)
		fprintf(stderr,
			"kurad: %s/meta/%s/" SNAPTIMES_FILE
			": skipped %llu malformed line%s (the first is line %llu)\n",
			vault_dir, repo, s->count, s->count == 1 ? "" : "s", s->first_line);
}
