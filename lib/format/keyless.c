/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyless.c - the keyless view of a repository (include/kura/keyless.h),
 * over the crypto and format modules.  Validation only dispatches: each
 * format module owns the checks of its plaintext parts, so a store and a
 * reader never disagree about what a well-formed file is.
 */
#include "kura/keyless.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "format/config.h"
#include "format/acceptrec.h"
#include "format/drillrec.h"
#include "format/proofrec.h"
#include "format/indexfile.h"
#include "format/pack.h"
#include "format/snapshot.h"

struct kura_hasher {
	kura_sha256_ctx *ctx;
};

int kura_hasher_new(kura_hasher **out)
{
	kura_hasher *h = calloc(1, sizeof(*h));
	int err;

	*out = NULL;
	if (!h)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = kura_crypto_init()) < 0 || (err = kura_sha256_new(&h->ctx)) < 0) {
		free(h);
		return err;
	}
	*out = h;
	return 0;
}

void kura_hasher_update(kura_hasher *h, const void *data, size_t len)
{
	kura_sha256_update(h->ctx, data, len);
}

void kura_hasher_final(kura_hasher *h, char out[KURA_ID_HEX])
{
	uint8_t digest[KURA_HASH_SIZE];

	kura_sha256_final(h->ctx, digest);
	kura_hex(out, digest, sizeof(digest));
}

void kura_hasher_free(kura_hasher *h)
{
	if (!h)
		return;
	kura_sha256_free(h->ctx);
	free(h);
}

bool kura_file_name_is_valid(const char *name)
{
	size_t i;

	if (!name)
		return false;
	for (i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return name[64] == '\0';
}

int kura_snapshot_peek(const uint8_t *data, size_t len, int64_t *out_client_time_ns,
		       char (**out_packs)[KURA_ID_HEX], size_t *out_count)
{
	kura_snapshot *s = NULL;
	char (*packs)[KURA_ID_HEX] = NULL;
	int err;

	*out_packs = NULL;
	*out_count = 0;
	if ((err = kura_snapshot_decode(&s, NULL, data, len)) < 0)
		return err;
	if (s->npacks && !(packs = calloc(s->npacks, sizeof(*packs)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < s->npacks; i++)
		kura_hex(packs[i], s->packs[i], KURA_HASH_SIZE);
	*out_client_time_ns = s->time_ns;
	*out_packs = packs;
	*out_count = s->npacks;
done:
	kura_snapshot_free(s);
	return err;
}

/* Names as the format modules' own messages spell them. */
static const char *const format_names[KURA_FILE_TYPES] = {"config", "key file", "snapshot",
							  "index",  "pack",     "drill record",
							  "proof record", "acceptance record"};

int kura_keyless_validate(kura_file_type type, const uint8_t *data, size_t len)
{
	kura_config config;
	int kind, err = 0;

	if (type < KURA_FILE_CONFIG || type > KURA_FILE_ACCEPT)
		return kura_error_set(KURA_EINVAL, "unknown repository file type %d", (int)type);
	/* Every format starts with a magic: the SHA-256 of nothing names no file. */
	if (len == 0)
		return kura_error_set(KURA_ECORRUPT, "%s: empty file", format_names[type]);
	switch (type) {
	case KURA_FILE_CONFIG:
		err = kura_config_decode(&config, data, len);
		break;
	case KURA_FILE_KEY:
		if ((kind = kura_keyfile_check(data, len)) < 0)
			err = kind;
		else if (kind != KURA_KEY_RESTORE)
			err = kura_error_set(KURA_ECORRUPT,
					     "key file: kind %d is a backup key, which never "
					     "belongs in a repository (only restore keys do)",
					     kind);
		break;
	case KURA_FILE_SNAPSHOT:
		err = kura_snapshot_check(data, len);
		break;
	case KURA_FILE_INDEX:
		err = kura_indexfile_check(data, len);
		break;
	case KURA_FILE_PACK:
		err = kura_pack_check(data, len);
		break;
	case KURA_FILE_DRILL:
		err = kura_drillrec_check(data, len);
		break;
	case KURA_FILE_PROOF:
		err = kura_proofrec_check(data, len);
		break;
	case KURA_FILE_ACCEPT:
		err = kura_acceptrec_check(data, len);
		break;
	}
	return err;
}

int kura_keyless_validate_fd(kura_file_type type, int fd)
{
	const char *what =
	    type >= KURA_FILE_CONFIG && type <= KURA_FILE_ACCEPT ? format_names[type] : "file";
	struct stat st;
	void *map = NULL;
	size_t len;
	int err;

	if (fstat(fd, &st) < 0)
		return kura_error_set(KURA_EIO, "%s: cannot stat the file: %s", what,
				      strerror(errno));
	if (st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX)
		return kura_error_set(KURA_ECORRUPT, "%s: %lld bytes is too large", what,
				      (long long)st.st_size);
	len = (size_t)st.st_size;
	if (len > 0) {
		map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			return kura_error_set(KURA_EIO, "%s: cannot map the file: %s", what,
					      strerror(errno));
	}
	err = kura_keyless_validate(type, map, len);
	if (map)
		munmap(map, len);
	return err;
}
