/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyless_fuzz.h - what the fuzz_keyless_* targets share: the fixed keys
 * their corpora were made with (as in fuzz_pack.c and fuzz_snapshot.c, so
 * that the keyed decoders get past the tags), and one call that validates
 * an input both from memory and through a file descriptor and aborts if
 * the two disagree in result or message.
 */
#ifndef KURA_KEYLESS_FUZZ_H
#define KURA_KEYLESS_FUZZ_H

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/keyfile.h"
#include "kura/keyless.h"

static inline const kura_keys *keyless_fuzz_keys(void)
{
	static kura_keys k;
	static int ready;
	uint8_t seed[crypto_box_SEEDBYTES];

	if (ready)
		return &k;
	if (kura_crypto_init() < 0)
		abort();
	k.kind = KURA_KEY_RESTORE;
	memset(k.repo_id, 0x01, sizeof(k.repo_id));
	memset(k.id_key, 0x11, sizeof(k.id_key));
	memset(k.index_key, 0x22, sizeof(k.index_key));
	memset(k.chunker_seed, 0x33, sizeof(k.chunker_seed));
	memset(seed, 0x44, sizeof(seed));
	crypto_box_seed_keypair(k.repo_pk, k.repo_sk, seed);
	ready = 1;
	return &k;
}

/* kura_keyless_validate() of the input; the descriptor form must agree. */
static inline int keyless_fuzz_validate(kura_file_type type, const uint8_t *data, size_t size)
{
	char msg[512] = "";
	int rc, fd_rc, fd;

	rc = kura_keyless_validate(type, data, size);
	if (rc < 0)
		snprintf(msg, sizeof(msg), "%s", kura_error_message());
	if ((fd = memfd_create("keyless-fuzz", MFD_CLOEXEC)) < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	fd_rc = kura_keyless_validate_fd(type, fd);
	close(fd);
	if (fd_rc != rc || (rc < 0 && strcmp(msg, kura_error_message()) != 0))
		abort();
	/* A refusal always says why. */
	if (rc < 0 && !msg[0])
		abort();
	return rc;
}

#endif
