/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backend.c - what every backend shares: the version check a repository
 * makes when it opens one, and the checked calls of kura/backend.h that
 * reach an optional slot.
 *
 * This is the one place that knows which slots are optional: a caller
 * outside lib/ never reads the struct, and a missing slot becomes either
 * the documented fallback (nothing to clean) or KURA_EUNSUPPORTED saying
 * what this store cannot do.  Nothing here knows which backend it holds:
 * a store is what its slots say it can do, so a third backend needs no
 * change here.
 */
#include "kura/sys/backend.h"
#include "kura/keyless.h"
#include "kura/kura.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/buf.h"
#include "crypto/crypto.h"

static const char *const type_dirs[KURA_FILE_TYPES] = {
    [KURA_FILE_CONFIG] = "config",	[KURA_FILE_KEY] = "keys",
    [KURA_FILE_SNAPSHOT] = "snapshots", [KURA_FILE_INDEX] = "index",
    [KURA_FILE_PACK] = "data",		[KURA_FILE_DRILL] = "drills",
    [KURA_FILE_PROOF] = "proofs",	[KURA_FILE_ACCEPT] = "accepts",
};

const char *kura_file_type_name(kura_file_type type)
{
	if ((unsigned)type >= KURA_FILE_TYPES)
		return "unknown";
	return type_dirs[type];
}

static const char *const type_what[KURA_FILE_TYPES] = {
    [KURA_FILE_CONFIG] = "config",	[KURA_FILE_KEY] = "key",
    [KURA_FILE_SNAPSHOT] = "snapshot",	[KURA_FILE_INDEX] = "index",
    [KURA_FILE_PACK] = "pack",		[KURA_FILE_DRILL] = "drill record",
    [KURA_FILE_PROOF] = "proof record", [KURA_FILE_ACCEPT] = "acceptance record",
};

const char *kura_file_type_what(kura_file_type type)
{
	if ((unsigned)type >= KURA_FILE_TYPES)
		return "file";
	return type_what[type];
}

int kura_backend_check_name(const char *who, kura_file_type type, const char *name)
{
	if ((unsigned)type >= KURA_FILE_TYPES)
		return kura_error_set(KURA_EINVAL, "%s: bad file type %d", who, (int)type);
	if (!kura_file_name_is_valid(name))
		return kura_error_set(
		    KURA_EINVAL, "%s: bad %s file name \"%.80s\" (want 64 lowercase hex digits)",
		    who, type_what[type], name ? name : "(null)");
	return 0;
}

int kura_backend_check_range(kura_file_type type, const char *name, uint64_t offset, size_t len)
{
	/* written so that neither side can wrap: offset + len is never formed */
	if (offset > (uint64_t)INT64_MAX || (uint64_t)len > (uint64_t)INT64_MAX - offset)
		return kura_error_set(KURA_EINVAL, "%s %s: range %llu+%zu is out of bounds",
				      kura_file_type_what(type), name ? name : "(null)",
				      (unsigned long long)offset, len);
	return 0;
}

int kura_backend_get_verified(kura_backend *b, kura_file_type type, const char *name, uint8_t **out,
			      size_t *out_len)
{
	uint8_t hash[KURA_HASH_SIZE];
	char hex[KURA_ID_HEX];
	int err;

	*out = NULL;
	*out_len = 0;
	if ((err = b->get(b, type, name, out, out_len)) < 0)
		return err;
	kura_sha256(hash, *out, *out_len);
	kura_hex(hex, hash, KURA_HASH_SIZE);
	if (strcmp(hex, name) == 0)
		return 0;
	free(*out);
	*out = NULL;
	*out_len = 0;
	return kura_error_set(KURA_ECORRUPT, "%s %s: its bytes hash to %.16s…, not to its name",
			      kura_file_type_what(type), name, hex);
}

int kura_backend_init(kura_backend *b, unsigned version)
{
	if (version != KURA_BACKEND_VERSION)
		return kura_error_set(KURA_EINVAL,
				      "backend interface version %u asked for; this kura has "
				      "version %u",
				      version, (unsigned)KURA_BACKEND_VERSION);
	memset(b, 0, sizeof(*b));
	b->version = KURA_BACKEND_VERSION;
	return 0;
}

int kura_backend_check(const kura_backend *b)
{
	const char *missing = NULL;
	int nstream;

	if (!b)
		return kura_error_set(KURA_EINVAL, "no backend given");
	/* Nothing else is read before this: another version has another layout. */
	if (b->version != KURA_BACKEND_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED,
				      "the store's backend speaks interface version %u, this kura "
				      "speaks version %u (rebuild the backend against this "
				      "kura's kura/sys/backend.h)",
				      b->version, (unsigned)KURA_BACKEND_VERSION);
	if (!b->put)
		missing = "put";
	else if (!b->get)
		missing = "get";
	else if (!b->get_range)
		missing = "get_range";
	else if (!b->list)
		missing = "list";
	else if (!b->free)
		missing = "free";
	if (missing)
		return kura_error_set(KURA_EINVAL,
				      "the store's backend has no %s(), which every "
				      "backend must have",
				      missing);
	if (!b->lock != !b->unlock)
		return kura_error_set(KURA_EINVAL,
				      "the store's backend has lock() without unlock() or the "
				      "other way round");
	nstream = !!b->stream_open + !!b->stream_append + !!b->stream_commit + !!b->stream_free;
	if (nstream != 0 && nstream != 4)
		return kura_error_set(KURA_EINVAL,
				      "the store's backend has %d of the four stream slots (all "
				      "or none)",
				      nstream);
	if (b->stream_fd && nstream == 0)
		return kura_error_set(KURA_EINVAL,
				      "the store's backend has stream_fd() without streams");
	if (!b->request_deletion != !b->list_deletions)
		return kura_error_set(KURA_EINVAL,
				      "the store's backend has one of request_deletion() and "
				      "list_deletions() without the other");
	return 0;
}

void kura_backend_free(kura_backend *b)
{
	if (b)
		b->free(b);
}

bool kura_backend_has(const kura_backend *b, kura_backend_ability ability)
{
	if (!b)
		return false;
	switch (ability) {
	case KURA_BACKEND_HAS_LOCK:
		return b->lock != NULL;
	case KURA_BACKEND_HAS_LIST_DETAIL:
		return b->list_detail != NULL;
	case KURA_BACKEND_HAS_STREAM:
		return b->stream_open != NULL;
	case KURA_BACKEND_HAS_REMOVE:
		return b->remove != NULL;
	case KURA_BACKEND_HAS_MTIME:
		return b->mtime != NULL;
	case KURA_BACKEND_HAS_CLEAN_TMP:
		return b->clean_tmp != NULL;
	case KURA_BACKEND_HAS_DELETION_REQUESTS:
		return b->request_deletion != NULL;
	case KURA_BACKEND_HAS_QUARANTINE:
		return b->list_quarantine != NULL;
	}
	return false;
}

unsigned kura_backend_access(kura_backend *b)
{
	if (b && b->access)
		return b->access(b);
	return KURA_BACKEND_READ | KURA_BACKEND_WRITE;
}

int kura_backend_remove(kura_backend *b, kura_file_type type, const char *name)
{
	if (!b || !b->remove)
		return kura_error_set(
		    KURA_EUNSUPPORTED, "this repository's store cannot remove files%s",
		    b && b->request_deletion
			? " (a vault removes files only through approved deletion requests)"
			: "");
	return b->remove(b, type, name);
}

int kura_backend_mtime(kura_backend *b, kura_file_type type, const char *name, int64_t *out_ns)
{
	if (!b || !b->mtime)
		return kura_error_set(
		    KURA_EUNSUPPORTED,
		    "this repository's store does not say when a file was written");
	return b->mtime(b, type, name, out_ns);
}

int kura_backend_clean_tmp(kura_backend *b, int64_t older_than_s, bool dry_run, uint64_t *out_files,
			   uint64_t *out_bytes)
{
	*out_files = *out_bytes = 0;
	if (!b || !b->clean_tmp)
		return 0; /* a store that leaves nothing behind has nothing to clean */
	return b->clean_tmp(b, older_than_s, dry_run, out_files, out_bytes);
}

/* The deletion-request calls: only a store that deletes through approvals has them. */
static int no_deletion_requests(long *out_status, uint8_t **out_body, size_t *out_len)
{
	*out_status = 0;
	*out_body = NULL;
	*out_len = 0;
	return kura_error_set(KURA_EINVAL,
			      "deletion requests go to a vault; this repository is not on one");
}

int kura_vault_request_deletion(kura_backend *b, const char *body_json, long *out_status,
				uint8_t **out_body, size_t *out_len)
{
	if (!b || !b->request_deletion)
		return no_deletion_requests(out_status, out_body, out_len);
	if (!body_json) {
		no_deletion_requests(out_status, out_body, out_len);
		return kura_error_set(KURA_EINVAL, "vault: a deletion request needs a body");
	}
	return b->request_deletion(b, body_json, out_status, out_body, out_len);
}

int kura_vault_list_deletions(kura_backend *b, long *out_status, uint8_t **out_body,
			      size_t *out_len)
{
	if (!b || !b->list_deletions)
		return no_deletion_requests(out_status, out_body, out_len);
	return b->list_deletions(b, out_status, out_body, out_len);
}

int kura_vault_list_quarantine(kura_backend *b, long *out_status, uint8_t **out_body,
			       size_t *out_len)
{
	if (!b || !b->list_quarantine) {
		*out_status = 0;
		*out_body = NULL;
		*out_len = 0;
		return kura_error_set(KURA_EINVAL,
				      "only a vault quarantines; this repository is not on one");
	}
	return b->list_quarantine(b, out_status, out_body, out_len);
}
