/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c - the vault's HTTPS front end (docs/PROTOCOL.md, "Requests" and
 * "Upload rules") over libmicrohttpd.
 *
 * Every request goes through the same gate, in this order: a peer that
 * failed authentication too often gets 429; a request without a valid
 * bearer token gets 401 (and counts as a failure); the path must parse
 * exactly (server/route.c: 400 or 404); the method must be GET, PUT for
 * a file or POST for deletion requests (405; method-override headers
 * are never read); the client's role and
 * repository must allow the request (403).  Only then is anything of the
 * repository touched.  Every request that reaches the handler is written
 * to the audit log once, before its answer is queued; if the log cannot
 * be written, a request that would have succeeded gets 500 instead (no
 * unlogged reads).  Requests that end without an answer (client gone,
 * timeout) are logged with status 0 when the connection ends.
 *
 * Uploads are streamed: each piece of body goes straight into a private
 * temporary file of the repository while it is hashed, so memory per
 * request is bounded by libmicrohttpd's 64 KiB connection pool.  A file
 * is linked into place only when it has exactly Content-Length bytes and
 * hashes to its name, and never over an existing name.  A snapshot is
 * stored only if every pack it names is stored already.
 *
 * Connections are kept alive: a restore makes thousands of small reads,
 * and a TCP and TLS handshake for each cost more than the read.  So a
 * request without a body is answered only once libmicrohttpd has read all
 * of it (an answer queued earlier makes it close the connection), and
 * files are sent in large pieces rather than 4 KiB TLS records.  An upload
 * refused before its body is read still closes its connection.
 *
 * Threads: one thread per connection (MHD_USE_THREAD_PER_CONNECTION),
 * not a thread pool.  Handlers block on disk (fsync of a 1 GiB pack, the
 * audit log's fdatasync, reading a snapshot back), and in a pool such a
 * wait would stall every connection sharing that thread; with 64
 * connections at most, 64 threads is a small price.  Per-request state
 * lives in the connection's con_cls pointer and is freed in the
 * request-completed callback; state shared between requests is the vault
 * (thread-safe by its contract) and the `server` below, whose tables are
 * guarded by their own mutexes.
 */
#include "http.h"

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

#include "audit.h"
#include "common/error.h"
#include "deletion_intake.h"
#include "deletion_run.h"
#include "kura/keyless.h"
#include "route.h"
#include "status.h"

#define CONNECTION_LIMIT 64
#define PER_IP_CONNECTION_LIMIT 16
#define CONNECTION_TIMEOUT_S 30
#define CONNECTION_MEMORY (64 * 1024)
#define LISTEN_BACKLOG 64
#define UPLOAD_MAX (((uint64_t)1 << 30) + 64 * 1024)
#define POST_MAX ((uint64_t)1 << 20) /* a deletion request's JSON body */
#define FILE_BLOCK (256 * 1024) /* read and sent at a time (several TLS records) */

#define NS_PER_S 1000000000LL
#define AUTH_FAIL_MAX 10 /* failures within the window... */
#define AUTH_WINDOW_NS (60 * NS_PER_S)
#define AUTH_BLOCK_NS (60 * NS_PER_S) /* ...then 429 for this long */
#define PEER_SLOTS 1024

/* Snapshot missing-pack names quoted in a 409 before "and N more". */
#define MISSING_SHOWN 3

/* GnuTLS priorities: TLS 1.2 and 1.3 with forward-secret AEAD suites only. */
#define TLS_PRIORITIES                                                                             \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:"                               \
	"+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-RSA:%SERVER_PRECEDENCE"

/* Authentication failures of one peer address. */
typedef struct {
	char addr[INET6_ADDRSTRLEN]; /* "" for a free slot */
	int64_t window_start;
	int64_t last_seen;
	int64_t blocked_until;
	unsigned failures;
} peer_slot;

typedef struct {
	vault *v;
	pthread_mutex_t peers_lock;
	peer_slot peers[PEER_SLOTS];
	/* Check "no config yet" and store config or keys as one step. */
	pthread_mutex_t init_lock;
	/* One snapshot check at a time: its pack list may be large. */
	pthread_mutex_t snapshot_lock;
} server;

typedef struct {
	server *srv;
	char peer[INET6_ADDRSTRLEN];
	char method[16];
	char *path;
	const vault_client *client;
	vault_route route;
	kura_backend *backend;
	bool answered;
	bool deferred; /* no body: begin() waits for the call that ends the request */

	/* PUT */
	bool uploading;
	bool discard; /* the name is stored already: hash, do not keep */
	int fd;	      /* the temporary file, -1 when none */
	char tmp[48]; /* its name, "" once committed or dropped */
	kura_hasher *hasher;
	uint64_t expected; /* Content-Length */
	uint64_t received;
	int fail_status; /* an error met while reading the body */
	char fail_msg[384];

	/* POST: the body, held whole (at most POST_MAX bytes) */
	bool posting;
	char *body;
} request;

/* -------------------------------------------------------------------- */
/* Clocks and small helpers                                              */

static int64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	fputs("kurad: ", stderr);
	vfprintf(stderr, fmt, ap);
}

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
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
/* Authentication failures per peer                                      */

static peer_slot *peer_find(server *srv, const char *addr, bool create, int64_t now)
{
	peer_slot *victim = NULL;

	for (size_t i = 0; i < PEER_SLOTS; i++) {
		peer_slot *s = &srv->peers[i];

		if (s->addr[0] && strcmp(s->addr, addr) == 0)
			return s;
		if (!create)
			continue;
		/* Prefer a free slot, then one that is neither blocked nor recent. */
		if (!s->addr[0]) {
			if (!victim || victim->addr[0])
				victim = s;
		} else if (s->blocked_until <= now &&
			   (!victim || (victim->addr[0] && s->last_seen < victim->last_seen))) {
			victim = s;
		}
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->addr, sizeof(victim->addr), "%s", addr);
	return victim;
}

static bool peer_blocked(server *srv, const char *addr)
{
	int64_t now = now_ns(CLOCK_MONOTONIC);
	peer_slot *s;
	bool blocked;

	pthread_mutex_lock(&srv->peers_lock);
	s = peer_find(srv, addr, false, now);
	blocked = s && s->blocked_until > now;
	pthread_mutex_unlock(&srv->peers_lock);
	return blocked;
}

static void peer_failed(server *srv, const char *addr)
{
	int64_t now = now_ns(CLOCK_MONOTONIC);
	peer_slot *s;

	pthread_mutex_lock(&srv->peers_lock);
	/* With every slot blocked, an unknown peer is not counted (but still 401). */
	s = peer_find(srv, addr, true, now);
	if (s) {
		if (s->failures == 0 || now - s->window_start > AUTH_WINDOW_NS) {
			s->window_start = now;
			s->failures = 0;
		}
		s->last_seen = now;
		if (++s->failures >= AUTH_FAIL_MAX) {
			s->blocked_until = now + AUTH_BLOCK_NS;
			s->failures = 0;
		}
	}
	pthread_mutex_unlock(&srv->peers_lock);
}

/* -------------------------------------------------------------------- */
/* Answers                                                               */

/* Headers every answer carries. */
static void common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
}

static int audit(request *rq, unsigned status, uint64_t bytes)
{
	vault_audit *a = vault_get_audit(rq->srv->v);
	vault_audit_entry e = {
	    .peer = rq->peer,
	    .client = rq->client ? rq->client->name : "",
	    .role = rq->client ? vault_role_name(rq->client->role) : "",
	    .method = rq->method,
	    .path = rq->path ? rq->path : "",
	    .status = (int)status,
	    .bytes = bytes,
	};
	int err;

	if (!a)
		return kura_error_set(KURA_EIO, "vault has no audit log open");
	if ((err = vault_audit_append(a, &e)) < 0)
		fprintf(stderr, "kurad: audit log: %s %s from %s (status %u) not logged: %s\n",
			rq->method, e.path, rq->peer, status, kura_error_message());
	return err;
}

static struct MHD_Response *json_error_response(const char *msg)
{
	struct MHD_Response *resp;
	json_t *o = json_pack("{s:s}", "error", msg);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!text)
		return NULL;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	return resp;
}

/*
 * Log the request, then queue `resp` (consumed).  A success that cannot
 * be logged becomes a 500: the vault does not serve what it cannot log.
 */
static enum MHD_Result respond(request *rq, struct MHD_Connection *con, unsigned status,
			       struct MHD_Response *resp, uint64_t bytes)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	rq->answered = true;
	if (audit(rq, status, bytes) < 0 && status < 400) {
		MHD_destroy_response(resp);
		resp = json_error_response("the vault cannot write its audit log");
		if (!resp)
			return MHD_NO;
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	common_headers(resp);
	ret = MHD_queue_response(con, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Answer {"error": "..."} with `status`; `allow` adds an Allow header. */
static enum MHD_Result respond_error(request *rq, struct MHD_Connection *con, unsigned status,
				     const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum MHD_Result respond_error(request *rq, struct MHD_Connection *con, unsigned status,
				     const char *allow, const char *fmt, ...)
{
	struct MHD_Response *resp;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp = json_error_response(msg);
	if (!resp)
		return MHD_NO;
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"kura\"");
	if (status == MHD_HTTP_TOO_MANY_REQUESTS)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "60");
	return respond(rq, con, status, resp, 0);
}

/* A failure inside the vault: the details go to stderr, not to the client. */
static enum MHD_Result respond_internal(request *rq, struct MHD_Connection *con, const char *what)
{
	fprintf(stderr, "kurad: %s %s from %s: %s: %s\n", rq->method, rq->path, rq->peer, what,
		kura_error_message());
	return respond_error(rq, con, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "%s", what);
}

/* The audit log counts the answer's own body. */
#define BYTES_BODY UINT64_MAX

/* Answer `text` (malloc'd, consumed); the log gets `bytes` (or BYTES_BODY). */
static enum MHD_Result respond_buffer(request *rq, struct MHD_Connection *con, unsigned status,
				      char *text, const char *type, uint64_t bytes)
{
	struct MHD_Response *resp;
	size_t len;

	if (!text)
		return MHD_NO;
	len = strlen(text);

	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return respond(rq, con, status, resp, bytes == BYTES_BODY ? len : bytes);
}

/* -------------------------------------------------------------------- */
/* GET                                                                   */

static enum MHD_Result get_status(request *rq, struct MHD_Connection *con)
{
	char *json = NULL;

	if (vault_status_json(rq->srv->v, &json) < 0)
		return respond_internal(rq, con, "cannot read the vault status");
	return respond_buffer(rq, con, MHD_HTTP_OK, json, "application/json", BYTES_BODY);
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
		return respond_internal(rq, con, "cannot read the file");
	}
	size = (uint64_t)st.st_size;
	len = size;
	if (ranges)
		range = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	if (range) {
		err = vault_range_parse(range, size, &start, &len);
		if (err == KURA_ENOTFOUND) {
			struct MHD_Response *r416 = json_error_response("range is beyond the file");

			close(fd);
			if (!r416)
				return MHD_NO;
			snprintf(content_range, sizeof(content_range), "bytes */%llu",
				 (unsigned long long)size);
			MHD_add_response_header(r416, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
			return respond(rq, con, MHD_HTTP_RANGE_NOT_SATISFIABLE, r416, 0);
		}
		if (err < 0) {
			close(fd);
			return respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL,
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
	return respond(rq, con, status, resp, len);
}

static enum MHD_Result get_log(request *rq, struct MHD_Connection *con)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/audit/log.jsonl", vault_dir(rq->srv->v));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		kura_error_errno(KURA_EIO, errno, "%s: open", path);
		return respond_internal(rq, con, "cannot read the audit log");
	}
	return send_fd(rq, con, fd, "application/x-ndjson", false);
}

static enum MHD_Result get_file(request *rq, struct MHD_Connection *con)
{
	const vault_route *r = &rq->route;
	char path[PATH_MAX];
	int fd;

	if (r->type == KURA_FILE_PACK)
		snprintf(path, sizeof(path), "%s/repos/%s/data/%.2s/%s", vault_dir(rq->srv->v),
			 r->repo, r->name, r->name);
	else
		snprintf(path, sizeof(path), "%s/repos/%s/%s/%s", vault_dir(rq->srv->v), r->repo,
			 kura_file_type_name(r->type), r->name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return respond_error(rq, con, MHD_HTTP_NOT_FOUND, NULL,
					     "no %s file %s in repository %s",
					     kura_file_type_name(r->type), r->name, r->repo);
		kura_error_errno(KURA_EIO, errno, "%s: open", path);
		return respond_internal(rq, con, "cannot read the file");
	}
	return send_fd(rq, con, fd, "application/octet-stream", true);
}

static int list_one(const char *name, uint64_t size, void *ctx)
{
	json_t *item = json_pack("{s:s,s:I}", "name", name, "size", (json_int_t)size);

	if (!item || json_array_append_new(ctx, item) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory listing files");
	return 0;
}

static enum MHD_Result get_list(request *rq, struct MHD_Connection *con)
{
	json_t *arr = json_array();
	char *text;

	if (!arr) {
		kura_error_set(KURA_ENOMEM, "out of memory");
		return respond_internal(rq, con, "cannot list the files");
	}
	if (rq->backend->list(rq->backend, rq->route.type, list_one, arr) < 0) {
		json_decref(arr);
		return respond_internal(rq, con, "cannot list the files");
	}
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (!text) {
		kura_error_set(KURA_ENOMEM, "out of memory");
		return respond_internal(rq, con, "cannot list the files");
	}
	return respond_buffer(rq, con, MHD_HTTP_OK, text, "application/json", BYTES_BODY);
}

/* -------------------------------------------------------------------- */
/* Deletion requests (docs/PROTOCOL.md, "Deletion")                      */

static enum MHD_Result get_deletions(request *rq, struct MHD_Connection *con)
{
	json_t *arr = NULL;
	char *text;

	if (deletion_intake_list(rq->srv->v, rq->route.repo, &arr) < 0)
		return respond_internal(rq, con, "cannot list the deletion requests");
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (!text) {
		kura_error_set(KURA_ENOMEM, "out of memory");
		return respond_internal(rq, con, "cannot list the deletion requests");
	}
	return respond_buffer(rq, con, MHD_HTTP_OK, text, "application/json", BYTES_BODY);
}

static enum MHD_Result post_begin(request *rq, struct MHD_Connection *con)
{
	const char *cl;

	if (MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return respond_error(rq, con, MHD_HTTP_LENGTH_REQUIRED, NULL,
				     "requests must have a Content-Length (Transfer-Encoding is "
				     "refused)");
	cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cl)
		return respond_error(rq, con, MHD_HTTP_LENGTH_REQUIRED, NULL,
				     "requests must have a Content-Length");
	if (vault_length_parse(cl, &rq->expected) < 0)
		return respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL,
				     "Content-Length is not a number");
	if (rq->expected > POST_MAX)
		return respond_error(rq, con, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
				     "a deletion request is limited to %llu bytes",
				     (unsigned long long)POST_MAX);
	if (!(rq->body = malloc(rq->expected + 1))) {
		kura_error_set(KURA_ENOMEM, "out of memory");
		return respond_internal(rq, con, "cannot take the request");
	}
	rq->posting = true;
	rq->uploading = true;
	return MHD_YES;
}

static void post_data(request *rq, const char *data, size_t len)
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
	json_array_foreach(snaps, i, item) {
		if (!kura_file_name_ok(json_string_value(item))) {
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

static enum MHD_Result post_finish(request *rq, struct MHD_Connection *con)
{
	char(*names)[KURA_ID_HEX] = NULL;
	json_t *made = NULL, *prot = NULL, *o;
	char *text;
	size_t n = 0;
	bool prune = false;
	int err;

	if (rq->fail_status)
		return respond_error(rq, con, (unsigned)rq->fail_status, NULL, "%s", rq->fail_msg);
	if (rq->received != rq->expected)
		return respond_error(
		    rq, con, MHD_HTTP_BAD_REQUEST, NULL, "got %llu bytes, Content-Length said %llu",
		    (unsigned long long)rq->received, (unsigned long long)rq->expected);
	if (post_parse(rq, &names, &n, &prune) < 0)
		return respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL, "%s", rq->fail_msg);
	err = deletion_intake_file(rq->srv->v, rq->route.repo, rq->client->name,
				     (const char(*)[KURA_ID_HEX])names, n, prune,
				     now_ns(CLOCK_REALTIME), &made, &prot);
	free(names);
	switch (err) {
	case 0:
		text = json_dumps(made, JSON_COMPACT);
		json_decref(made);
		if (!text) {
			kura_error_set(KURA_ENOMEM, "out of memory");
			return respond_internal(rq, con, "cannot answer");
		}
		return respond_buffer(rq, con, MHD_HTTP_ACCEPTED, text, "application/json",
				      rq->received);
	case KURA_EINVAL:
		return respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL, "%s",
				     kura_error_message());
	case KURA_ENOTFOUND:
		return respond_error(rq, con, MHD_HTTP_NOT_FOUND, NULL, "%s", kura_error_message());
	case KURA_EEXISTS:
		return respond_error(rq, con, MHD_HTTP_TOO_MANY_REQUESTS, NULL, "%s",
				     kura_error_message());
	case KURA_EDENIED:
		o = json_pack("{s:s, s:o}", "error", kura_error_message(), "protected",
			      prot ? prot : json_array());
		text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!text)
			return MHD_NO;
		return respond_buffer(rq, con, MHD_HTTP_CONFLICT, text, "application/json",
				      rq->received);
	}
	json_decref(prot);
	return respond_internal(rq, con, "cannot file the deletion request");
}

/* -------------------------------------------------------------------- */
/* PUT                                                                   */

static bool file_stored(request *rq, kura_file_type type, const char *name)
{
	uint8_t none;

	/* A zero-byte read opens the file and nothing more. */
	return rq->backend->get_range(rq->backend, type, name, 0, 0, &none) == 0;
}

static enum MHD_Result put_begin(request *rq, struct MHD_Connection *con)
{
	const char *te, *cl;
	int err;

	te = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (te)
		return respond_error(rq, con, MHD_HTTP_LENGTH_REQUIRED, NULL,
				     "uploads must have a Content-Length (Transfer-Encoding is "
				     "refused)");
	cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cl)
		return respond_error(rq, con, MHD_HTTP_LENGTH_REQUIRED, NULL,
				     "uploads must have a Content-Length");
	if (vault_length_parse(cl, &rq->expected) < 0)
		return respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL,
				     "Content-Length is not a number");
	if (rq->expected > UPLOAD_MAX)
		return respond_error(rq, con, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
				     "uploads are limited to %llu bytes",
				     (unsigned long long)UPLOAD_MAX);

	if ((err = kura_hasher_new(&rq->hasher)) < 0)
		return respond_internal(rq, con, "cannot start the upload");
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
	if ((err = kura_backend_local_tmpfile(rq->backend, &rq->fd, rq->tmp)) < 0)
		return respond_internal(rq, con, "cannot start the upload");
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

static void put_data(request *rq, const char *data, size_t len)
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
	if (write_all(rq->fd, data, len) < 0) {
		fprintf(stderr, "kurad: %s %s from %s: writing %s/tmp/%s: %s\n", rq->method,
			rq->path, rq->peer, rq->route.repo, rq->tmp, strerror(errno));
		put_fail(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "the vault cannot store the upload");
	}
}

/*
 * A snapshot's pack list, read without a key, must name only packs that
 * are stored.  Returns 0, or the HTTP status to refuse it with (and the
 * message in rq->fail_msg).  Called under snapshot_lock.
 */
static int snapshot_check(request *rq)
{
	char(*packs)[KURA_ID_HEX] = NULL;
	char missing[MISSING_SHOWN * (KURA_ID_HEX + 2)] = "";
	size_t count = 0, nmissing = 0, used = 0;
	int64_t client_ns;
	void *map = NULL;
	int status = 0;

	if (rq->received > 0) {
		/* Mapped, not read: a large pack list costs page cache, not heap. */
		map = mmap(NULL, rq->received, PROT_READ, MAP_SHARED, rq->fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			fprintf(stderr, "kurad: %s %s from %s: mmap %s/tmp/%s: %s\n", rq->method,
				rq->path, rq->peer, rq->route.repo, rq->tmp, strerror(errno));
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
	for (size_t i = 0; i < count; i++) {
		if (file_stored(rq, KURA_FILE_PACK, packs[i]))
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
	free(packs);
	if (map)
		munmap(map, rq->received);
	return status;
}

/* Store the verified upload; 0 stored, 1 already there, or an HTTP status. */
static int put_store(request *rq)
{
	const vault_route *r = &rq->route;
	server *srv = rq->srv;
	int rc;

	if (r->type == KURA_FILE_CONFIG || r->type == KURA_FILE_KEY) {
		pthread_mutex_lock(&srv->init_lock);
		if (vault_repo_initialised(srv->v, r->repo)) {
			pthread_mutex_unlock(&srv->init_lock);
			snprintf(rq->fail_msg, sizeof(rq->fail_msg),
				 "repository %s has a config: config and keys are closed", r->repo);
			return MHD_HTTP_FORBIDDEN;
		}
		rc = kura_backend_local_commit(rq->backend, r->type, r->name, rq->fd, rq->tmp);
		pthread_mutex_unlock(&srv->init_lock);
	} else if (r->type == KURA_FILE_SNAPSHOT) {
		/*
		 * The receive time is recorded before the snapshot becomes
		 * visible: a stored snapshot always has a vault time (retention
		 * depends on it); a failed commit leaves at most a line for a
		 * name that is not stored, which readers ignore.  The lock keeps
		 * two uploads of one snapshot from recording it twice.  The
		 * repository's lock, held shared from the pack check to the
		 * commit, keeps garbage collection (exclusive) from removing a
		 * pack between the two; it is taken first so that a collection
		 * in one repository does not stall snapshots of the others.
		 */
		if (vault_repo_lock_shared(srv->v, r->repo) < 0) {
			fprintf(stderr, "kurad: %s %s from %s: %s\n", rq->method, rq->path,
				rq->peer, kura_error_message());
			snprintf(rq->fail_msg, sizeof(rq->fail_msg),
				 "the vault cannot store the upload");
			return MHD_HTTP_INTERNAL_SERVER_ERROR;
		}
		pthread_mutex_lock(&srv->snapshot_lock);
		if ((rc = snapshot_check(rq)) != 0) {
			pthread_mutex_unlock(&srv->snapshot_lock);
			vault_repo_unlock(srv->v, r->repo);
			return rc;
		}
		rc = 0;
		if (!file_stored(rq, KURA_FILE_SNAPSHOT, r->name))
			rc = vault_record_snapshot(srv->v, r->repo, r->name, now_ns(CLOCK_REALTIME),
						   rq->client->name);
		/* Stored meanwhile: commit() finds it, answers 1 and drops the tmp file. */
		if (rc == 0)
			rc = kura_backend_local_commit(rq->backend, r->type, r->name, rq->fd,
						       rq->tmp);
		pthread_mutex_unlock(&srv->snapshot_lock);
		vault_repo_unlock(srv->v, r->repo);
	} else {
		rc = kura_backend_local_commit(rq->backend, r->type, r->name, rq->fd, rq->tmp);
	}
	if (rc < 0) {
		fprintf(stderr, "kurad: %s %s from %s: %s\n", rq->method, rq->path, rq->peer,
			kura_error_message());
		snprintf(rq->fail_msg, sizeof(rq->fail_msg), "the vault cannot store the upload");
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	return rc;
}

/* Drop the temporary file, if there still is one. */
static void put_drop(request *rq)
{
	if (rq->tmp[0]) {
		kura_backend_local_abort(rq->backend, rq->fd, rq->tmp);
		rq->fd = -1;
		rq->tmp[0] = '\0';
	}
	if (rq->fd >= 0) {
		close(rq->fd);
		rq->fd = -1;
	}
}

static enum MHD_Result put_finish(request *rq, struct MHD_Connection *con)
{
	char digest[KURA_ID_HEX];
	int rc;

	if (rq->fail_status) {
		put_drop(rq);
		return respond_error(rq, con, (unsigned)rq->fail_status, NULL, "%s", rq->fail_msg);
	}
	if (rq->received != rq->expected) {
		put_drop(rq);
		return respond_error(
		    rq, con, MHD_HTTP_BAD_REQUEST, NULL, "got %llu bytes, Content-Length said %llu",
		    (unsigned long long)rq->received, (unsigned long long)rq->expected);
	}
	kura_hasher_final(rq->hasher, digest);
	if (strcmp(digest, rq->route.name) != 0) {
		put_drop(rq);
		return respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL,
				     "content does not match its name (its SHA-256 is %s)", digest);
	}
	if (rq->discard)
		return respond_buffer(rq, con, MHD_HTTP_OK, strdup("{}"), "application/json",
				      rq->received);
	rc = put_store(rq);
	if (rc == 0 || rc == 1) {
		/* commit() removed the tmp name either way. */
		rq->tmp[0] = '\0';
		/* Mode 0400 it has from tmpfile(); the flag needs the stored inode. */
		if (rc == 0)
			make_immutable(rq->fd, rq->path);
		put_drop(rq);
		return respond_buffer(rq, con, rc == 0 ? MHD_HTTP_CREATED : MHD_HTTP_OK,
				      strdup("{}"), "application/json", rq->received);
	}
	put_drop(rq);
	return respond_error(rq, con, (unsigned)rc, NULL, "%s", rq->fail_msg);
}

/* -------------------------------------------------------------------- */
/* The gate                                                              */

/* May this client make this request?  NULL if so, else why not. */
static const char *denied(const vault_client *c, const vault_route *r, bool put)
{
	static const char *const not_auditor = "this request is for auditors";

	if (r->kind == VAULT_ROUTE_STATUS || r->kind == VAULT_ROUTE_LOG)
		return c->role == VAULT_ROLE_AUDITOR ? NULL : not_auditor;
	if (c->role == VAULT_ROLE_AUDITOR)
		return "auditors may read only /v1/status and /v1/log";
	if (strcmp(c->repo, r->repo) != 0)
		return "this client may not use that repository";
	/* Writers and readers may file and list requests; approvers decide. */
	if (r->kind == VAULT_ROUTE_DELETIONS)
		return NULL;
	if (c->role == VAULT_ROLE_READER)
		return put ? "readers may not upload" : NULL;
	/* writer */
	if (put)
		return NULL;
	if (r->kind == VAULT_ROUTE_LIST)
		return r->type == KURA_FILE_KEY ? "writers may not list keys" : NULL;
	if (r->type == KURA_FILE_CONFIG || r->type == KURA_FILE_INDEX)
		return NULL;
	return "writers may read only config and index files";
}

static enum MHD_Result begin(request *rq, struct MHD_Connection *con)
{
	server *srv = rq->srv;
	const char *auth, *token, *why;
	bool get = strcmp(rq->method, MHD_HTTP_METHOD_GET) == 0;
	bool put = strcmp(rq->method, MHD_HTTP_METHOD_PUT) == 0;
	bool post = strcmp(rq->method, MHD_HTTP_METHOD_POST) == 0;
	bool dels;
	int err;

	if (peer_blocked(srv, rq->peer))
		return respond_error(rq, con, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
				     "too many failed logins from %s; try again later", rq->peer);
	auth = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	token = vault_bearer_token(auth);
	rq->client = token ? vault_authenticate(srv->v, token) : NULL;
	if (!rq->client) {
		peer_failed(srv, rq->peer);
		return respond_error(rq, con, MHD_HTTP_UNAUTHORIZED, NULL,
				     auth ? "the token is not valid"
					  : "requests need \"Authorization: Bearer TOKEN\"");
	}

	/* libmicrohttpd splits the query off the path; no request has one. */
	if (MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0)
		return respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL,
				     "query strings are not accepted");
	err = vault_route_parse(rq->path, &rq->route);
	if (err == KURA_ENOTFOUND)
		return respond_error(rq, con, MHD_HTTP_NOT_FOUND, NULL, "no such path");
	if (err < 0)
		return respond_error(rq, con, MHD_HTTP_BAD_REQUEST, NULL,
				     "bad path: want /v1/repos/REPO/TYPE/, /v1/repos/REPO/TYPE/"
				     "NAME (TYPE config, keys, snapshots, index or data; NAME 64 "
				     "lowercase hex digits) or /v1/repos/REPO/deletions");
	dels = rq->route.kind == VAULT_ROUTE_DELETIONS;
	/* X-HTTP-Method-Override and its kin are deliberately never read. */
	if (!get && !(put && rq->route.kind == VAULT_ROUTE_FILE) && !(post && dels))
		return respond_error(rq, con, MHD_HTTP_METHOD_NOT_ALLOWED,
				     rq->route.kind == VAULT_ROUTE_FILE ? "GET, PUT"
				     : dels				? "GET, POST"
									: "GET",
				     "method %s is not allowed here", rq->method);
	if ((why = denied(rq->client, &rq->route, put)) != NULL)
		return respond_error(rq, con, MHD_HTTP_FORBIDDEN, NULL, "%s", why);

	if (rq->route.kind == VAULT_ROUTE_STATUS)
		return get_status(rq, con);
	if (rq->route.kind == VAULT_ROUTE_LOG)
		return get_log(rq, con);

	if ((err = vault_repo(srv->v, rq->route.repo, &rq->backend)) < 0) {
		if (err == KURA_ENOTFOUND)
			return respond_error(rq, con, MHD_HTTP_NOT_FOUND, NULL, "no repository %s",
					     rq->route.repo);
		return respond_internal(rq, con, "cannot open the repository");
	}
	if (dels)
		return post ? post_begin(rq, con) : get_deletions(rq, con);
	if (put) {
		if ((rq->route.type == KURA_FILE_CONFIG || rq->route.type == KURA_FILE_KEY) &&
		    vault_repo_initialised(srv->v, rq->route.repo))
			return respond_error(rq, con, MHD_HTTP_FORBIDDEN, NULL,
					     "repository %s has a config: config and keys are "
					     "closed",
					     rq->route.repo);
		return put_begin(rq, con);
	}
	if (rq->route.kind == VAULT_ROUTE_LIST)
		return get_list(rq, con);
	return get_file(rq, con);
}

static void peer_address(struct MHD_Connection *con, char out[INET6_ADDRSTRLEN])
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, INET6_ADDRSTRLEN, "unknown");
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  INET6_ADDRSTRLEN);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, INET6_ADDRSTRLEN);
}

static void request_free(request *rq)
{
	if (!rq)
		return;
	put_drop(rq);
	kura_hasher_free(rq->hasher);
	free(rq->body);
	free(rq->path);
	free(rq);
}

/* Does the request announce a body (any Content-Length or Transfer-Encoding)? */
static bool has_body(struct MHD_Connection *con)
{
	return MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) ||
	       MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	request *rq = *con_cls;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		rq->srv = cls;
		rq->fd = -1;
		rq->path = strdup(url ? url : "");
		snprintf(rq->method, sizeof(rq->method), "%s", method ? method : "");
		peer_address(con, rq->peer);
		*con_cls = rq;
		if (!rq->path)
			return MHD_NO;
		/*
		 * An answer queued on this first call makes libmicrohttpd close
		 * the connection after it (it does not yet know whether a body
		 * follows), and a new TCP and TLS connection for every read made
		 * restores slow.  A request without a body is therefore answered
		 * on the next call, which ends it; an upload is still judged
		 * here, so a refused body is never read.
		 */
		if (!has_body(con)) {
			rq->deferred = true;
			return MHD_YES;
		}
		return begin(rq, con);
	}
	if (rq->deferred) {
		rq->deferred = false;
		*upload_data_size = 0;
		return begin(rq, con);
	}
	if (!rq->uploading || rq->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (rq->posting)
			post_data(rq, upload_data, *upload_data_size);
		else
			put_data(rq, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return rq->posting ? post_finish(rq, con) : put_finish(rq, con);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	request *rq = *con_cls;

	if (!rq)
		return;
	/* Ended before an answer: client gone, timeout, shutdown.  Still logged. */
	if (!rq->answered)
		audit(rq, 0, rq->received);
	request_free(rq);
	*con_cls = NULL;
}

static size_t on_unescape(void *cls, struct MHD_Connection *con, char *s)
{
	return vault_url_unescape(s);
}

/* -------------------------------------------------------------------- */
/* Serving                                                               */

/*
 * A failure of a periodic job is printed when it is new, not once a
 * second for as long as it lasts; `last` holds the previous message.
 */
static void report_once(const char *job, int err, char *last, size_t len)
{
	if (err == 0) {
		last[0] = '\0';
		return;
	}
	if (strncmp(last, kura_error_message(), len - 1) == 0)
		return;
	snprintf(last, len, "%s", kura_error_message());
	fprintf(stderr, "kurad: %s: %s\n", job, last);
}

/*
 * The once-a-second tick: first what the operator changed on the vault
 * host (clients issued or revoked, approvers, policy: in effect and in the
 * audit log from now on), then the deletion requests (approvals to log,
 * quora to record, requests whose delay has passed to carry out).
 */
static void tick(vault *v, char last[2][512])
{
	report_once("reload", vault_reload(v), last[0], sizeof(last[0]));
	report_once("deletions", deletion_run(v, now_ns(CLOCK_REALTIME)), last[1],
		    sizeof(last[1]));
}

/* Our own listening socket, so that a failure says exactly why. */
static int listen_on(const char *addr, int *out_fd, bool *out_v6)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	*out_fd = -1;
	if (vault_addr_parse(addr, &ss, &len) < 0)
		return kura_error_set(
		    KURA_EINVAL, "listen address \"%s\" is not A.B.C.D:PORT or [IPv6]:PORT", addr);
	*out_v6 = ss.ss_family == AF_INET6;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return kura_error_errno(KURA_EIO, errno, "cannot listen on %s: socket", addr);
	/* Restart without waiting out TIME_WAIT; Linux still refuses a second listener. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (*out_v6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		int e = errno;

		close(fd);
		return kura_error_errno(KURA_EIO, e, "cannot listen on %s", addr);
	}
	*out_fd = fd;
	return 0;
}

int vault_http_serve(vault *v, volatile int *stop)
{
	const struct timespec tick_sleep = {0, 100 * 1000 * 1000};
	const char *addr = vault_listen_addr(v);
	char last_tick_error[2][512] = {"", ""};
	struct MHD_Daemon *d = NULL;
	unsigned int flags;
	server *srv;
	bool v6 = false;
	int fd = -1, quiesced, err;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	srv->v = v;
	pthread_mutex_init(&srv->peers_lock, NULL);
	pthread_mutex_init(&srv->init_lock, NULL);
	pthread_mutex_init(&srv->snapshot_lock, NULL);

	if ((err = listen_on(addr ? addr : "(none)", &fd, &v6)) < 0)
		goto done;
	/* A client that hangs up mid-answer must not end the vault. */
	signal(SIGPIPE, SIG_IGN);

	flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	/* The logger comes first so that every later message goes through it. */
	d = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_HTTPS_MEM_CERT, vault_tls_cert(v),
	    MHD_OPTION_HTTPS_MEM_KEY, vault_tls_key(v), MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)PER_IP_CONNECTION_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	    MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, srv, MHD_OPTION_END);
	if (!d) {
		err = kura_error_set(KURA_EIO,
				     "cannot start the HTTPS server on %s (libmicrohttpd refused; "
				     "is the TLS key or certificate in %s/tls/ valid?)",
				     addr, vault_dir(v));
		goto done;
	}
	tick(v, last_tick_error);
	for (unsigned n = 1; !*stop; n++) {
		nanosleep(&tick_sleep, NULL);
		if (n % 10 == 0)
			tick(v, last_tick_error);
	}

	/*
	 * Take no new connections, then give the running requests up to one
	 * connection timeout to end (an idle keep-alive connection ends by
	 * then too) before the rest are cut.
	 */
	quiesced = MHD_quiesce_daemon(d);
	for (int waited = 0; waited < CONNECTION_TIMEOUT_S * 10; waited++) {
		const union MHD_DaemonInfo *di =
		    MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (!di || di->num_connections == 0)
			break;
		nanosleep(&tick_sleep, NULL);
	}
	MHD_stop_daemon(d);
	d = NULL;
	if (quiesced >= 0)
		close(quiesced);
	fd = -1; /* closed above, or by MHD_stop_daemon */
	err = 0;

done:
	if (fd >= 0)
		close(fd);
	pthread_mutex_destroy(&srv->peers_lock);
	pthread_mutex_destroy(&srv->init_lock);
	pthread_mutex_destroy(&srv->snapshot_lock);
	free(srv);
	return err;
}
