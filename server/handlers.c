/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handlers.c - what the vault does for a request that passed the gate
 * (handlers.h; docs/PROTOCOL.md, "Requests" and "Upload rules"): status,
 * the log, file reads and listings, deletion requests, and uploads.
 *
 * Uploads are streamed: each piece of body goes straight into a private
 * temporary file of the repository while it is hashed, so memory per
 * request is bounded by libmicrohttpd's 64 KiB connection pool.  A file
 * is linked into place only when it has exactly Content-Length bytes and
 * hashes to its name, and never over an existing name.  A snapshot is
 * stored only if every pack it names is stored already.
 *
 * Files are sent in large pieces rather than 4 KiB TLS records: a
 * restore makes thousands of reads, and keeps its connection alive.
 */
#include "handlers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "acceptances.h"
#include "common/error.h"
#include "common/fdio.h"
#include "deletion_intake.h"
#include "files.h"
#include "policy.h"
#include "kura/keyless.h"
#include "provenance.h"
#include "quarantine.h"
#include "quota_answer.h"
#include "reserve.h"
#include "status.h"
#include "store_send.h"

#define UPLOAD_MAX (((uint64_t)1 << 30) + 64 * 1024)
#define FILE_BLOCK (256 * 1024) /* read and sent at a time (several TLS records) */

/* Snapshot missing-pack names quoted in a 409 before "and N more". */
#define MISSING_SHOWN 3

/* -------------------------------------------------------------------- */
/* Small helpers                                                         */

/*
 * A full disk is the one storage failure the client can act on (tell the
 * operator), so it gets its own status and words; anything else stays an
 * internal error whose details go to the vault's log only.
 */
static int store_status(int e)
{
	return e == ENOSPC || e == EDQUOT ? MHD_HTTP_INSUFFICIENT_STORAGE
					  : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

static const char *store_refusal(int e)
{
	return store_status(e) == MHD_HTTP_INSUFFICIENT_STORAGE
		   ? "the vault's disk is full"
		   : "the vault cannot store the upload";
}

/*
 * Ask the file system to make a stored file immutable (chattr +i), so
 * that not even its owner can change, rename or remove it.  This is a
 * second line behind mode 0400 and the absence of any delete request:
 * root can clear the flag again, it needs CAP_LINUX_IMMUTABLE (EPERM
 * without it), and not every file system has it (ENOTTY, EOPNOTSUPP,
 * EINVAL); those cases are expected and silent.
 */
static void make_immutable(int fd, const char *what)
{
	int flags;

	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
		return;
	flags |= FS_IMMUTABLE_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0 && errno != EPERM && errno != ENOTTY &&
	    errno != EOPNOTSUPP && errno != EINVAL)
		fprintf(stderr, "kurad: %s: cannot set the immutable flag: %s\n", what,
			strerror(errno));
}

/* -------------------------------------------------------------------- */
/* GET                                                                   */

enum MHD_Result handlers_get_status(request *rq, struct MHD_Connection *con)
{
	char *json = NULL;

	if (status_json(rq->srv->v, &json) < 0)
		return request_respond_internal(rq, con, "cannot read the vault status");
	return request_respond_buffer(rq, con, MHD_HTTP_OK, json, "application/json",
				      REQUEST_BYTES_BODY);
}

/*
 * A file answer, read by libmicrohttpd in FILE_BLOCK pieces.  Its own
 * file responses read 4 KiB at a time, and over TLS (no sendfile) every
 * piece becomes one TLS record and one send(): a 16 MiB pack took 4096
 * of each.  Stored files are immutable, so a short read is an error.
 */
typedef struct {
	int fd;
	uint64_t start, len;
} file_body;

static ssize_t file_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	file_body *b = cls;
	ssize_t n;

	if (pos >= b->len)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (max > b->len - pos)
		max = (size_t)(b->len - pos);
	do
		n = pread(b->fd, buf, max, (off_t)(b->start + pos));
	while (n < 0 && errno == EINTR);
	return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void file_free(void *cls)
{
	file_body *b = cls;

	close(b->fd);
	free(b);
}

/* Stream an open regular file (fd consumed), whole or the Range asked for. */
static enum MHD_Result send_fd(request *rq, struct MHD_Connection *con, int fd, const char *type,
			       bool ranges)
{
	struct MHD_Response *resp;
	const char *range = NULL;
	char content_range[96];
	uint64_t size, start = 0, len;
	unsigned status = MHD_HTTP_OK;
	file_body *body;
	struct stat st;
	int err;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		kura_error_set(KURA_ECORRUPT, "%s: not a regular file", rq->path);
		return request_respond_internal(rq, con, "cannot read the file");
	}
	size = (uint64_t)st.st_size;
	len = size;
	if (ranges)
		range = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	if (range) {
		err = route_range_parse(range, size, &start, &len);
		if (err == KURA_ENOTFOUND) {
			struct MHD_Response *r416 = request_json_error("range is beyond the file");

			close(fd);
			if (!r416)
				return MHD_NO;
			snprintf(content_range, sizeof(content_range), "bytes */%llu",
				 (unsigned long long)size);
			MHD_add_response_header(r416, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
			return request_respond(rq, con, MHD_HTTP_RANGE_NOT_SATISFIABLE, r416, 0);
		}
		if (err < 0) {
			close(fd);
			return request_respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL,
						     "Range must be \"bytes=A-B\" or \"bytes=A-\"");
		}
		status = MHD_HTTP_PARTIAL_CONTENT;
		snprintf(content_range, sizeof(content_range), "bytes %llu-%llu/%llu",
			 (unsigned long long)start, (unsigned long long)(start + len - 1),
			 (unsigned long long)size);
	}
	if (!(body = malloc(sizeof(*body)))) {
		close(fd);
		return MHD_NO;
	}
	body->fd = fd;
	body->start = start;
	body->len = len;
	/* a small range needs no 256 KiB buffer (and a block of 0 is invalid) */
	resp = MHD_create_response_from_callback(
	    len, len < FILE_BLOCK ? (size_t)len + 1 : FILE_BLOCK, file_read, body, file_free);
	if (!resp) {
		file_free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (ranges)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (status == MHD_HTTP_PARTIAL_CONTENT)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
	return request_respond(rq, con, status, resp, len);
}

enum MHD_Result handlers_get_log(request *rq, struct MHD_Connection *con)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/audit/log.jsonl", vault_dir(rq->srv->v));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		kura_error_errno(KURA_EIO, errno, "%s: open", path);
		return request_respond_internal(rq, con, "cannot read the audit log");
	}
	return send_fd(rq, con, fd, "application/x-ndjson", false);
}

enum MHD_Result handlers_get_file(request *rq, struct MHD_Connection *con)
{
	const vault_route *r = &rq->route;
	char path[PATH_MAX];
	int fd;

	/* Kept as evidence, but no client reads it (quarantine.h). */
	if (quarantine_view_hidden(rq->srv->quarantine, r->repo, r->name))
		return request_respond_error(
		    rq, con, MHD_HTTP_NOT_FOUND, NULL,
		    "%s file %s in repository %s is quarantined (GET /v1/repos/%s/quarantine)",
		    kura_file_type_name(r->type), r->name, r->repo, r->repo);
	if (!vault_on_disk(rq->srv->v))
		return store_send_file(rq, con);
	if (r->type == KURA_FILE_PACK)
		snprintf(path, sizeof(path), "%s/repos/%s/data/%.2s/%s", vault_dir(rq->srv->v),
			 r->repo, r->name, r->name);
	else
		snprintf(path, sizeof(path), "%s/repos/%s/%s/%s", vault_dir(rq->srv->v), r->repo,
			 kura_file_type_name(r->type), r->name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return request_respond_error(
			    rq, con, MHD_HTTP_NOT_FOUND, NULL, "no %s file %s in repository %s",
			    kura_file_type_name(r->type), r->name, r->repo);
		kura_error_errno(KURA_EIO, errno, "%s: open", path);
		return request_respond_internal(rq, con, "cannot read the file");
	}
	return send_fd(rq, con, fd, "application/octet-stream", true);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const vault_snapshot_time *)a)->name,
		      ((const vault_snapshot_time *)b)->name);
}

static int list_one(const char *name, uint64_t size, void *ctx)
{
	json_t *item = json_pack("{s:s,s:I}", "name", name, "size", (json_int_t)size);

	if (!item || json_array_append_new(ctx, item) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory listing files");
	return 0;
}

/*
 * Each snapshot entry gets "received": the vault's own receive time, so a
 * reader orders by it rather than by the time a client claims
 * (docs/PROTOCOL.md).  snapshot-times is read once for the listing.  A
 * snapshot removed between the two reads has no time: left without one.
 */
static int add_received(request *rq, json_t *arr)
{
	vault_snapshot_time *times = NULL, key, *hit;
	char when[40];
	size_t nt = 0, i;
	json_t *e;
	int err;

	if ((err = policy_snapshot_times(vault_dir(rq->srv->v), rq->route.repo, rq->backend, &times,
					 &nt)) < 0)
		return err;
	json_array_foreach(arr, i, e)
	{
		key.name = json_string_value(json_object_get(e, "name"));
		hit = key.name ? bsearch(&key, times, nt, sizeof(*times), by_name) : NULL;
		if (!hit)
			continue;
		files_format_time(when, hit->received_ns);
		if (json_object_set_new(e, "received", json_string(when)) < 0) {
			err = kura_error_set(KURA_ENOMEM, "out of memory listing snapshots");
			break;
		}
	}
	policy_snapshot_times_free(times, nt);
	return err;
}

/* Answer `status` with `v` as compact JSON (taken over); `what` names it in a 500. */
static enum MHD_Result respond_json(request *rq, struct MHD_Connection *con, unsigned status,
				    json_t *v, uint64_t bytes, const char *what)
{
	char *text = json_dumps(v, JSON_COMPACT);

	json_decref(v);
	if (!text) {
		kura_error_set(KURA_ENOMEM, "out of memory");
		return request_respond_internal(rq, con, what);
	}
	return request_respond_buffer(rq, con, status, text, "application/json", bytes);
}

enum MHD_Result handlers_get_list(request *rq, struct MHD_Connection *con)
{
	json_t *arr = json_array();
	size_t hidden;

	if (!arr) {
		kura_error_set(KURA_ENOMEM, "out of memory");
		return request_respond_internal(rq, con, "cannot list the files");
	}
	if (rq->backend->list(rq->backend, rq->route.type, list_one, arr) < 0 ||
	    quarantine_view_filter(rq->srv->quarantine, rq->route.repo, arr, &hidden) < 0 ||
	    (rq->route.type == KURA_FILE_SNAPSHOT && add_received(rq, arr) < 0)) {
		json_decref(arr);
		return request_respond_internal(rq, con, "cannot list the files");
	}
	return respond_json(rq, con, MHD_HTTP_OK, arr, REQUEST_BYTES_BODY, "cannot list the files");
}

/* -------------------------------------------------------------------- */
/* Deletion requests (docs/PROTOCOL.md, "Deletion")                      */

enum MHD_Result handlers_get_deletions(request *rq, struct MHD_Connection *con)
{
	json_t *arr = NULL;

	if (deletion_intake_list(rq->srv->v, rq->route.repo, &arr) < 0)
		return request_respond_internal(rq, con, "cannot list the deletion requests");
	return respond_json(rq, con, MHD_HTTP_OK, arr, REQUEST_BYTES_BODY,
			    "cannot list the deletion requests");
}

enum MHD_Result handlers_get_quarantine(request *rq, struct MHD_Connection *con)
{
	json_t *arr = NULL;

	if (quarantine_list_json(vault_dir(rq->srv->v), rq->route.repo, &arr) < 0)
		return request_respond_internal(rq, con, "cannot list the quarantine");
	return respond_json(rq, con, MHD_HTTP_OK, arr, REQUEST_BYTES_BODY,
			    "cannot list the quarantine");
}

enum MHD_Result handlers_post_begin(request *rq, struct MHD_Connection *con)
{
	const char *cl;

	if (MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return request_respond_error(
		    rq, con, MHD_HTTP_LENGTH_REQUIRED, NULL,
		    "requests must have a Content-Length (Transfer-Encoding is "
		    "refused)");
	cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cl)
		return request_respond_error(rq, con, MHD_HTTP_LENGTH_REQUIRED, NULL,
					     "requests must have a Content-Length");
	if (route_length_parse(cl, &rq->expected) < 0)
		return request_respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL,
					     "Content-Length is not a number");
	if (rq->expected > REQUEST_POST_MAX)
		return request_respond_error(rq, con, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
					     "a deletion request is limited to %llu bytes",
					     (unsigned long long)REQUEST_POST_MAX);
	if (!(rq->body = malloc(rq->expected + 1))) {
		kura_error_set(KURA_ENOMEM, "out of memory");
		return request_respond_internal(rq, con, "cannot take the request");
	}
	rq->posting = true;
	rq->uploading = true;
	return MHD_YES;
}

void handlers_post_data(request *rq, const char *data, size_t len)
{
	if (len > rq->expected - rq->received) {
		if (!rq->fail_status) {
			rq->fail_status = MHD_HTTP_BAD_REQUEST;
			snprintf(rq->fail_msg, sizeof(rq->fail_msg),
				 "more bytes than Content-Length");
		}
		rq->received = rq->expected;
		return;
	}
	memcpy(rq->body + rq->received, data, len);
	rq->received += len;
}

/*
 * The body {"snapshots": [NAME, ...], "prune": BOOL}, exactly: *out is
 * malloc'd (NULL when there are no names).  0, or a message in rq->fail_msg.
 */
static int post_parse(request *rq, char (**out)[KURA_ID_HEX], size_t *out_n, bool *prune)
{
	json_t *doc, *snaps, *item;
	json_error_t jerr;
	int p, err = -1;
	size_t i;

	*out = NULL;
	*out_n = 0;
	if (!(doc = json_loadb(rq->body, rq->received, JSON_REJECT_DUPLICATES, &jerr))) {
		snprintf(rq->fail_msg, sizeof(rq->fail_msg), "the body is not JSON: %s", jerr.text);
		return -1;
	}
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:o, s:b}", "snapshots", &snaps, "prune",
			   &p) < 0 ||
	    !json_is_array(snaps)) {
		snprintf(rq->fail_msg, sizeof(rq->fail_msg),
			 "the body must be {\"snapshots\": [NAME, ...], \"prune\": true|false}");
		goto done;
	}
	if (json_array_size(snaps) && !(*out = calloc(json_array_size(snaps), sizeof(**out)))) {
		snprintf(rq->fail_msg, sizeof(rq->fail_msg), "out of memory");
		goto done;
	}
	json_array_foreach(snaps, i, item)
	{
		if (!kura_file_name_is_valid(json_string_value(item))) {
			snprintf(rq->fail_msg, sizeof(rq->fail_msg),
				 "snapshot %zu is not a snapshot name (64 lowercase hex digits)",
				 i);
			goto done;
		}
		memcpy((*out)[i], json_string_value(item), KURA_ID_HEX);
	}
	*out_n = json_array_size(snaps);
	*prune = p != 0;
	err = 0;
done:
	if (err < 0) {
		free(*out);
		*out = NULL;
	}
	json_decref(doc);
	return err;
}

enum MHD_Result handlers_post_finish(request *rq, struct MHD_Connection *con)
{
	char(*names)[KURA_ID_HEX] = NULL;
	json_t *made = NULL, *prot = NULL, *o;
	char *text;
	size_t n = 0;
	bool prune = false;
	int err;

	if (rq->fail_status)
		return request_respond_error(rq, con, (unsigned)rq->fail_status, NULL, "%s",
					     rq->fail_msg);
	if (rq->received != rq->expected)
		return request_respond_error(
		    rq, con, MHD_HTTP_BAD_REQUEST, NULL, "got %llu bytes, Content-Length said %llu",
		    (unsigned long long)rq->received, (unsigned long long)rq->expected);
	if (post_parse(rq, &names, &n, &prune) < 0)
		return request_respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL, "%s",
					     rq->fail_msg);
	err = deletion_intake_file(rq->srv->v, rq->route.repo, rq->client->name,
				   (const char(*)[KURA_ID_HEX])names, n, prune,
				   kura_now_ns(CLOCK_REALTIME), &made, &prot);
	free(names);
	/* Filed or refused, a request counts toward a burst (not one that does not parse). */
	if (err != KURA_EINVAL && watch_deletion(rq->srv->watch, rq->route.repo, rq->client->name,
						 n, kura_now_ns(CLOCK_REALTIME)) < 0)
		fprintf(stderr, "kurad: watch: %s\n", kura_error_message());
	switch (err) {
	case 0:
		return respond_json(rq, con, MHD_HTTP_ACCEPTED, made, rq->received,
				    "cannot answer");
	case KURA_EINVAL:
		return request_respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL, "%s",
					     kura_error_message());
	case KURA_ENOTFOUND:
		return request_respond_error(rq, con, MHD_HTTP_NOT_FOUND, NULL, "%s",
					     kura_error_message());
	case DELETION_ETOOMANY:
		return request_respond_error(rq, con, MHD_HTTP_TOO_MANY_REQUESTS, NULL, "%s",
					     kura_error_message());
	case DELETION_EPROTECTED:
		o = json_pack("{s:s, s:o}", "error", kura_error_message(), "protected",
			      prot ? prot : json_array());
		text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!text)
			return MHD_NO;
		return request_respond_buffer(rq, con, MHD_HTTP_CONFLICT, text, "application/json",
					      rq->received);
	}
	json_decref(prot);
	return request_respond_internal(rq, con, "cannot file the deletion request");
}

/* -------------------------------------------------------------------- */
/* PUT                                                                   */

static bool file_stored(request *rq, kura_file_type type, const char *name)
{
	uint8_t none;

	/* A zero-byte read opens the file and nothing more. */
	return rq->backend->get_range(rq->backend, type, name, 0, 0, &none) == 0;
}

/*
 * Whether the upload leaves the reserve free (reserve.h); a file system
 * that cannot be asked lets it through to meet ENOSPC, if any.  A refusal
 * is also told to the operator.
 */
static bool space_reserved(request *rq, uint64_t *reserve)
{
	char path[PATH_MAX];
	uint64_t avail;
	bool ok;

	/* On S3 the vault's own disk holds only the spool: DIR is what fills. */
	if (vault_on_disk(rq->srv->v))
		snprintf(path, sizeof(path), "%s/repos/%s", vault_dir(rq->srv->v), rq->route.repo);
	else
		snprintf(path, sizeof(path), "%s", vault_dir(rq->srv->v));
	if (reserve_check(path, vault_reserve(rq->srv->v), rq->expected, &ok, &avail, reserve) <
	    0) {
		fprintf(stderr, "kurad: %s %s from %s: %s\n", rq->method, rq->path, rq->peer,
			kura_error_message());
		return true;
	}
	if (!ok)
		fprintf(stderr,
			"kurad: %s %s from %s: refused (507): %llu bytes would leave %llu free, "
			"below the reserve of %llu\n",
			rq->method, rq->path, rq->peer, (unsigned long long)rq->expected,
			(unsigned long long)(avail > rq->expected ? avail - rq->expected : 0),
			(unsigned long long)*reserve);
	return ok;
}

enum MHD_Result handlers_put_begin(request *rq, struct MHD_Connection *con)
{
	const char *te, *cl;
	uint64_t reserve;
	enum MHD_Result refused;
	int err;

	te = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (te)
		return request_respond_error(
		    rq, con, MHD_HTTP_LENGTH_REQUIRED, NULL,
		    "uploads must have a Content-Length (Transfer-Encoding is "
		    "refused)");
	cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cl)
		return request_respond_error(rq, con, MHD_HTTP_LENGTH_REQUIRED, NULL,
					     "uploads must have a Content-Length");
	if (route_length_parse(cl, &rq->expected) < 0)
		return request_respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL,
					     "Content-Length is not a number");
	if (rq->expected > UPLOAD_MAX)
		return request_respond_error(rq, con, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
					     "uploads are limited to %llu bytes",
					     (unsigned long long)UPLOAD_MAX);

	if ((err = kura_hasher_new(&rq->hasher)) < 0)
		return request_respond_internal(rq, con, "cannot start the upload");
	/*
	 * The same name means the same bytes: hash the body but keep
	 * nothing.  Other bytes under a stored name still get 400, so the
	 * log shows an overwrite attempt for what it is.
	 */
	if (file_stored(rq, rq->route.type, rq->route.name)) {
		rq->discard = true;
		rq->uploading = true;
		return MHD_YES;
	}
	if (!space_reserved(rq, &reserve)) {
		quota_answer_reserve_refused(rq);
		return request_respond_error(
		    rq, con, MHD_HTTP_INSUFFICIENT_STORAGE, NULL,
		    "the vault's disk is full (its last %llu MiB are kept for reads and its log)",
		    (unsigned long long)(reserve >> 20));
	}
	if (!quota_answer_admit(rq, con, &refused))
		return refused;
	/* vault_state.c opened the repository with streams to files (checked there) */
	if ((err = rq->backend->stream_open(rq->backend, &rq->upload)) < 0) {
		if (store_status(errno) == MHD_HTTP_INSUFFICIENT_STORAGE)
			return request_respond_error(rq, con, MHD_HTTP_INSUFFICIENT_STORAGE, NULL,
						     "%s", store_refusal(errno));
		return request_respond_internal(rq, con, "cannot start the upload");
	}
	rq->fd = rq->backend->stream_fd(rq->upload);
	rq->uploading = true;
	return MHD_YES;
}

static void put_fail(request *rq, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Remember the first error met in the body; it is answered at the end. */
static void put_fail(request *rq, int status, const char *fmt, ...)
{
	va_list ap;

	if (rq->fail_status)
		return;
	rq->fail_status = status;
	va_start(ap, fmt);
	vsnprintf(rq->fail_msg, sizeof(rq->fail_msg), fmt, ap);
	va_end(ap);
}

void handlers_put_data(request *rq, const char *data, size_t len)
{
	if (len > rq->expected - rq->received) {
		put_fail(rq, MHD_HTTP_BAD_REQUEST, "more bytes than Content-Length");
		rq->received = rq->expected;
		return;
	}
	rq->received += len;
	if (rq->fail_status)
		return;
	kura_hasher_update(rq->hasher, data, len);
	if (rq->discard)
		return;
	if (rq->backend->stream_append(rq->upload, data, len) < 0) {
		int e = errno; /* of the failed write, as the message says */

		fprintf(stderr, "kurad: %s %s from %s: repository %s: %s\n", rq->method, rq->path,
			rq->peer, rq->route.repo, kura_error_message());
		put_fail(rq, store_status(e), "%s", store_refusal(e));
	}
}

/*
 * Beyond this many packs a snapshot's check lists data/ once instead of a
 * lookup per pack: a million lookups of missing packs cost seconds.
 */
#define PACK_LOOKUPS_MAX 4096

typedef struct {
	char (*packs)[KURA_ID_HEX]; /* sorted (the keyless check made sure) */
	size_t count;
	bool *stored;
} pack_marks;

static int cmp_pack(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int mark_stored(const char *name, uint64_t size, void *ctx)
{
	pack_marks *m = ctx;
	char(*hit)[KURA_ID_HEX] = bsearch(name, m->packs, m->count, sizeof(*m->packs), cmp_pack);

	if (hit)
		m->stored[hit - m->packs] = true;
	return 0;
}

/*
 * A snapshot's pack list, read without a key, must name only packs that
 * are stored.  Returns 0, or the HTTP status to refuse it with (and the
 * message in rq->fail_msg).  Up to 2^24 packs: put_store makes it
 * without any lock held.
 */
static int snapshot_check(request *rq)
{
	char(*packs)[KURA_ID_HEX] = NULL;
	char missing[MISSING_SHOWN * (KURA_ID_HEX + 2)] = "";
	size_t count = 0, nmissing = 0, used = 0;
	int64_t client_ns;
	void *map = NULL;
	bool *stored = NULL;
	int status = 0;

	if (rq->received > 0) {
		/* Mapped, not read: a large pack list costs page cache, not heap. */
		map = mmap(NULL, rq->received, PROT_READ, MAP_SHARED, rq->fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			fprintf(stderr, "kurad: %s %s from %s: mmap the upload to %s: %s\n",
				rq->method, rq->path, rq->peer, rq->route.repo, strerror(errno));
			status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			snprintf(rq->fail_msg, sizeof(rq->fail_msg),
				 "cannot read the snapshot back");
			goto done;
		}
	}
	if (kura_snapshot_peek(map, rq->received, &client_ns, &packs, &count) < 0) {
		status = MHD_HTTP_BAD_REQUEST;
		snprintf(rq->fail_msg, sizeof(rq->fail_msg), "not a snapshot file: %s",
			 kura_error_message());
		goto done;
	}
	if (count > PACK_LOOKUPS_MAX) {
		pack_marks m = {packs, count, calloc(count, sizeof(bool))};

		if (!(stored = m.stored) ||
		    rq->backend->list(rq->backend, KURA_FILE_PACK, mark_stored, &m) < 0) {
			fprintf(stderr, "kurad: %s %s from %s: listing %s/data: %s\n", rq->method,
				rq->path, rq->peer, rq->route.repo,
				stored ? kura_error_message() : "out of memory");
			status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			snprintf(rq->fail_msg, sizeof(rq->fail_msg), "cannot check the pack list");
			goto done;
		}
	}
	for (size_t i = 0; i < count; i++) {
		if (stored ? stored[i] : file_stored(rq, KURA_FILE_PACK, packs[i]))
			continue;
		if (nmissing++ < MISSING_SHOWN)
			used += (size_t)snprintf(missing + used, sizeof(missing) - used, "%s%s",
						 used ? ", " : "", packs[i]);
	}
	if (nmissing) {
		status = MHD_HTTP_CONFLICT;
		snprintf(rq->fail_msg, sizeof(rq->fail_msg),
			 "snapshot references packs the vault does not hold: %s", missing);
		if (nmissing > MISSING_SHOWN) {
			size_t n = strlen(rq->fail_msg);

			snprintf(rq->fail_msg + n, sizeof(rq->fail_msg) - n, " and %zu more",
				 nmissing - MISSING_SHOWN);
		}
	}

done:
	free(stored);
	free(packs);
	if (map)
		munmap(map, rq->received);
	return status;
}

/* A lock that could not be taken: 500, the details in the vault's own log. */
static int put_internal(request *rq)
{
	fprintf(stderr, "kurad: %s %s from %s: %s\n", rq->method, rq->path, rq->peer,
		kura_error_message());
	snprintf(rq->fail_msg, sizeof(rq->fail_msg), "the vault cannot store the upload");
	return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* Commit the upload as the route's file: 0 stored, 1 already there, or a KURA_E* code. */
static int commit_upload(request *rq)
{
	bool existed;
	int err;

	err = rq->backend->stream_commit(rq->upload, rq->route.type, rq->route.name, &existed);
	if (err < 0)
		return err;
	return existed ? 1 : 0;
}

/*
 * Who uploaded it, recorded before it becomes visible (provenance.h): a
 * stored file always has its line.  <0 when it cannot be written.
 */
static int put_provenance(request *rq)
{
	return provenance_record(vault_dir(rq->srv->v), rq->route.repo, rq->route.type,
				 rq->route.name, kura_now_ns(CLOCK_REALTIME), rq->client->name);
}

/*
 * A new snapshot is stored: the vault's own judgment of it (watch.h).
 * Whatever it finds, the snapshot stays (the data is evidence); a failure
 * to judge is the vault's to report, not the client's.
 */
static void watch_stored(request *rq, int64_t received)
{
	void *map =
	    rq->received ? mmap(NULL, rq->received, PROT_READ, MAP_SHARED, rq->fd, 0) : MAP_FAILED;

	if (map == MAP_FAILED || watch_snapshot(rq->srv->watch, rq->route.repo, rq->client->name,
						rq->route.name, received, map, rq->received) < 0)
		fprintf(stderr, "kurad: watch: snapshot %s of %s: %s\n", rq->route.name,
			rq->route.repo,
			map == MAP_FAILED ? "cannot read it back" : kura_error_message());
	if (map != MAP_FAILED)
		munmap(map, rq->received);
}

/* An operator's acceptance of a false alarm: audited, shown with its alerts (acceptances.h). */
static void accept_stored(request *rq)
{
	void *map =
	    rq->received ? mmap(NULL, rq->received, PROT_READ, MAP_SHARED, rq->fd, 0) : MAP_FAILED;

	if (map == MAP_FAILED) {
		fprintf(stderr, "kurad: acceptance %s of %s: cannot read it back\n", rq->route.name,
			rq->route.repo);
		return;
	}
	acceptances_stored(rq->srv->v, rq->route.repo, rq->route.name, rq->client->name, map,
			   rq->received);
	munmap(map, rq->received);
}

/* Store the verified upload; 0 stored, 1 already there, or an HTTP status. */
static int put_store(request *rq)
{
	const vault_route *r = &rq->route;
	vault *v = rq->srv->v;
	int64_t received;
	uint64_t gen;
	int rc;

	/* Every lock here is this repository's own (vault_state.h). */
	if (r->type == KURA_FILE_CONFIG || r->type == KURA_FILE_KEY) {
		if (vault_repo_commit_lock(v, r->repo) < 0)
			return put_internal(rq);
		if (vault_repo_initialised(v, r->repo)) {
			vault_repo_commit_unlock(v, r->repo);
			snprintf(rq->fail_msg, sizeof(rq->fail_msg),
				 "repository %s has a config: config and keys are closed", r->repo);
			return MHD_HTTP_FORBIDDEN;
		}
		if ((rc = put_provenance(rq)) == 0)
			rc = commit_upload(rq);
		vault_repo_commit_unlock(v, r->repo);
	} else if (r->type == KURA_FILE_SNAPSHOT) {
		/*
		 * The pack check is the long part (a lookup per pack, or one
		 * listing of data/ for a long list): made
		 * before any lock, so that neither garbage collection nor other
		 * uploads wait for it.  Under the shared lock (collection holds
		 * it exclusive while it removes packs) it is made again only if
		 * a collection ran meanwhile.
		 */
		gen = vault_repo_gc_generation(v, r->repo);
		if ((rc = snapshot_check(rq)) != 0)
			return rc;
		if (vault_repo_lock_shared(v, r->repo) < 0)
			return put_internal(rq);
		if (vault_repo_gc_generation(v, r->repo) != gen && (rc = snapshot_check(rq)) != 0) {
			vault_repo_unlock(v, r->repo);
			return rc;
		}
		/*
		 * The receive time is recorded before the snapshot becomes
		 * visible: a stored snapshot always has a vault time (retention
		 * depends on it); a failed commit leaves at most a line for a
		 * name that is not stored, which readers ignore.  The commit
		 * mutex keeps two uploads of one snapshot from recording it
		 * twice.
		 */
		if (vault_repo_commit_lock(v, r->repo) < 0) {
			vault_repo_unlock(v, r->repo);
			return put_internal(rq);
		}
		rc = 0;
		received = kura_now_ns(CLOCK_REALTIME);
		if (!file_stored(rq, KURA_FILE_SNAPSHOT, r->name) &&
		    (rc = vault_record_snapshot(v, r->repo, r->name, received, rq->client->name)) ==
			0)
			rc = put_provenance(rq);
		/* Stored meanwhile: stream_commit() finds it, says it existed and drops the tmp
		 * file. */
		if (rc == 0)
			rc = commit_upload(rq);
		vault_repo_commit_unlock(v, r->repo);
		vault_repo_unlock(v, r->repo);
		if (rc == 0)
			watch_stored(rq, received);
	} else if ((rc = put_provenance(rq)) == 0) {
		rc = commit_upload(rq);
		if (rc == 0 && r->type == KURA_FILE_ACCEPT)
			accept_stored(rq);
	}
	if (rc < 0) {
		int e = errno; /* of the failed call, as the message says */

		fprintf(stderr, "kurad: %s %s from %s: %s\n", rq->method, rq->path, rq->peer,
			kura_error_message());
		snprintf(rq->fail_msg, sizeof(rq->fail_msg), "%s", store_refusal(e));
		return store_status(e);
	}
	return rc;
}

/* End the upload: its temporary file goes too, unless it was committed. */
void handlers_put_drop(request *rq)
{
	quota_answer_release(rq); /* stored: quota_answer_stored came first */
	if (rq->upload) {
		rq->backend->stream_free(rq->upload);
		rq->upload = NULL;
	}
	rq->fd = -1;
}

enum MHD_Result handlers_put_finish(request *rq, struct MHD_Connection *con)
{
	char digest[KURA_ID_HEX];
	int rc;

	if (rq->fail_status) {
		handlers_put_drop(rq);
		return request_respond_error(rq, con, (unsigned)rq->fail_status, NULL, "%s",
					     rq->fail_msg);
	}
	if (rq->received != rq->expected) {
		handlers_put_drop(rq);
		return request_respond_error(
		    rq, con, MHD_HTTP_BAD_REQUEST, NULL, "got %llu bytes, Content-Length said %llu",
		    (unsigned long long)rq->received, (unsigned long long)rq->expected);
	}
	kura_hasher_final(rq->hasher, digest);
	if (strcmp(digest, rq->route.name) != 0) {
		handlers_put_drop(rq);
		return request_respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL,
					     "content does not match its name (its SHA-256 is %s)",
					     digest);
	}
	if (rq->discard)
		return request_respond_buffer(rq, con, MHD_HTTP_OK, strdup("{}"),
					      "application/json", rq->received);
	/* What a store without a key can judge, it refuses (PROTOCOL.md, "Upload rules"). */
	if ((rc = kura_keyless_validate_fd(rq->route.type, rq->fd)) < 0) {
		handlers_put_drop(rq);
		if (rc == KURA_EIO)
			return request_respond_internal(rq, con, "cannot check the upload");
		return request_respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL, "%s",
					     kura_error_message());
	}
	rc = put_store(rq);
	if (rc == 0 || rc == 1) {
		/* Mode 0400 it has from stream_open(); the flag needs the stored inode. */
		if (rc == 0) {
			/* On S3 the fd is a spool file about to go: the lock is the store's. */
			if (vault_on_disk(rq->srv->v))
				make_immutable(rq->fd, rq->path);
			quota_answer_stored(rq);
		}
		handlers_put_drop(rq);
		return request_respond_buffer(rq, con, rc == 0 ? MHD_HTTP_CREATED : MHD_HTTP_OK,
					      strdup("{}"), "application/json", rq->received);
	}
	handlers_put_drop(rq);
	return request_respond_error(rq, con, (unsigned)rc, NULL, "%s", rq->fail_msg);
}
