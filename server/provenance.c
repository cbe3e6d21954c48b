/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provenance.c - the vault's record of who uploaded what (provenance.h):
 * one appended, fsynced line per stored file, and a strict reader for it.
 *
 * A line is appended with O_APPEND in a single write of less than
 * PIPE_BUF bytes, so lines from concurrent uploads never interleave and
 * no lock is needed.
 */
#include "provenance.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "files.h"
#include "snaptimes.h"

static int open_append(const char *dir, const char *repo, const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0 && errno == ENOENT) {
		char meta[VAULT_NAME_MAX + 8];

		snprintf(meta, sizeof(meta), "meta/%s", repo);
		if (files_make_dir(dir, "meta") == 0 && files_make_dir(dir, meta) == 0)
			fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
				  0600);
	}
	return fd;
}

int provenance_record(const char *dir, const char *repo, kura_file_type type, const char *name,
		      int64_t received_ns, const char *client)
{
	char path[4096], line[PROVENANCE_LINE_MAX];
	int fd, len, err = 0;
	ssize_t n;

	if ((unsigned)type >= KURA_FILE_TYPES || !kura_file_name_is_valid(name) ||
	    !vault_name_ok(client) || !vault_name_ok(repo) || received_ns <= 0)
		return kura_error_set(KURA_EINVAL, "upload record: bad type, name, repo or client");
	snprintf(path, sizeof(path), "%s/meta/%s/uploads", dir, repo);
	len = snprintf(line, sizeof(line), "%s %s %" PRId64 " %s\n", kura_file_type_name(type),
		       name, received_ns, client);
	if ((fd = open_append(dir, repo, path)) < 0)
		return kura_error_errno(kura_errno_code(errno), errno, "%s", path);
	n = write(fd, line, (size_t)len);
	if (n >= 0 && n != len)
		errno = ENOSPC; /* a short write: the caller answers by errno */
	if (n != len || fsync(fd) < 0)
		err = kura_error_errno(KURA_EIO, errno, "%s: cannot append", path);
	close(fd);
	return err;
}

static int type_parse(const char *s, size_t len, kura_file_type *out)
{
	for (int t = 0; t < KURA_FILE_TYPES; t++) {
		const char *n = kura_file_type_name((kura_file_type)t);

		if (strlen(n) == len && memcmp(n, s, len) == 0) {
			*out = (kura_file_type)t;
			return 0;
		}
	}
	return -1;
}

int provenance_parse_line(const char *line, size_t len, provenance_entry *out)
{
	const char *p = line, *end = line + len, *sp;
	snaptimes_line tail;

	memset(out, 0, sizeof(*out));
	/* TYPE */
	if (!(sp = memchr(p, ' ', (size_t)(end - p))) ||
	    type_parse(p, (size_t)(sp - p), &out->type))
		goto bad;
	/* NAME RECEIVED_NS CLIENT: a snapshot-times line */
	p = sp + 1;
	if (snaptimes_parse(&tail, p, (size_t)(end - p)) < 0)
		goto bad;
	memcpy(out->name, tail.name, sizeof(out->name));
	out->received_ns = tail.received_ns;
	memcpy(out->client, tail.client, sizeof(out->client));
	return 0;
bad:
	return kura_error_set(KURA_ECORRUPT,
			      "not an upload record \"TYPE NAME RECEIVED_NS CLIENT\"");
}

/* Stream DIR/meta/REPO/uploads; each complete line goes to fn. */
static int each_upload(const char *dir, const char *repo, provenance_fn fn, void *ctx)
{
	char path[4096], *line = NULL;
	size_t cap = 0, lineno = 0;
	provenance_entry e;
	ssize_t len;
	FILE *f;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/meta/%s/uploads", dir, repo);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT
			   ? 0
			   : kura_error_errno(kura_errno_code(errno), errno, "%s", path);
	if (!(f = fdopen(fd, "r"))) {
		close(fd);
		return kura_error_errno(KURA_EIO, errno, "%s", path);
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[len - 1] != '\n') /* an append cut short: not a record */
			break;
		if (provenance_parse_line(line, (size_t)len - 1, &e) < 0) {
			fprintf(stderr, "kurad: %s: line %zu: %s; skipped\n", path, lineno,
				kura_error_message());
			continue;
		}
		if ((err = fn(&e, ctx)) < 0)
			break;
	}
	if (!err && ferror(f))
		err = kura_error_errno(KURA_EIO, errno, "%s: read", path);
	free(line);
	fclose(f);
	return err;
}

typedef struct {
	provenance_fn fn;
	void *ctx;
} as_upload;

/* A snapshot-times line is the upload line of a snapshot without its type. */
static int snapshot_upload(const snaptimes_line *l, unsigned long long lineno, void *ctx)
{
	const as_upload *a = ctx;
	provenance_entry e = {.type = KURA_FILE_SNAPSHOT, .received_ns = l->received_ns};

	memcpy(e.name, l->name, sizeof(e.name));
	memcpy(e.client, l->client, sizeof(e.client));
	return a->fn(&e, a->ctx);
}

int provenance_each(const char *dir, const char *repo, provenance_fn fn, void *ctx)
{
	as_upload a = {fn, ctx};
	snaptimes_skipped bad;
	int err;

	if ((err = each_upload(dir, repo, fn, ctx)) < 0)
		return err;
	/* Snapshots stored before the uploads record existed are in snapshot-times. */
	err = snaptimes_each(dir, repo, snapshot_upload, &a, &bad);
	snaptimes_warn(dir, repo, &bad);
	return err;
}
