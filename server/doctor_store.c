/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_store.c - the checks of `kurad doctor` that depend on where the
 * vault keeps its repositories (vault_store.h).  On its own disk the
 * stored files are protected by the immutable flag and fill DIR's file
 * system (doctor_vault.c); on S3 they are protected by the bucket's
 * COMPLIANCE Object Lock, which is read back here (the prefix's claim
 * must name this vault and be locked), and DIR holds only the upload
 * spool.
 */
#include "doctor.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "common/error.h"
#include "kura/backend.h"
#include "vault_store.h"

#define SPOOL_LOW ((uint64_t)1 << 30) /* below this a large pack may not fit in the spool */

/* The vault's store if it is S3 (*out set), 0 on disk (*out NULL); <0 if unreadable. */
static int s3_store(const doctor_ctx *ctx, vault_store **out)
{
	vault_store *s = NULL;
	int err;

	*out = NULL;
	if ((err = vault_store_load(&s, ctx->dir)) < 0)
		return err;
	if (vault_store_on_disk(s)) {
		vault_store_free(s);
		return 0;
	}
	*out = s;
	return 0;
}

int doctor_store_immutable(const doctor_ctx *ctx, doctor_result *out)
{
	static const char fix[] = "the bucket must have Object Lock and the prefix's claim must "
				  "name this vault: kurad init --store (kurad(8), \"A vault on "
				  "S3\")";
	kura_backend *m = NULL;
	vault_store *s = NULL;
	char id[65];
	uint32_t days = 0;
	bool locking = false;
	int err;

	if (s3_store(ctx, &s) < 0 || !s) {
		kura_error_clear();
		return 0; /* on disk, or unreadable (unprivileged): the disk's check says why */
	}
	if ((err = vault_store_vault_id(ctx->dir, id)) < 0 ||
	    (err = vault_store_open_marker(s, &m)) < 0 ||
	    (err = kura_s3_lock_info(m, &locking, &days)) < 0) {
		doctor_set(out, DOCTOR_UNCHECKED, fix, "%s: could not read the lock settings: %s",
			   vault_store_describe(s), kura_error_message());
	} else if (!locking) {
		doctor_set(out, DOCTOR_FAIL, fix,
			   "%s: the repositories are written without Object Lock: root on this "
			   "host, with the vault's S3 keys, can delete every backup",
			   vault_store_describe(s));
	} else if (vault_store_check_claim(s, id) < 0) {
		doctor_set(out, DOCTOR_FAIL, fix, "%s: %s", vault_store_describe(s),
			   kura_error_message());
	} else {
		doctor_set(out, DOCTOR_PASS, "",
			   "%s: every stored file under COMPLIANCE Object Lock for %u day(s), "
			   "confirmed when written and extended by serve; the prefix's claim names "
			   "this vault (the immutable flag is not used on S3)",
			   vault_store_describe(s), days);
	}
	kura_error_clear();
	kura_backend_free(m);
	vault_store_free(s);
	return 1;
}

int doctor_store_space(const doctor_ctx *ctx, doctor_result *out)
{
	vault_store *s = NULL;
	struct statvfs vfs;
	uint64_t avail;

	if (s3_store(ctx, &s) < 0 || !s) {
		kura_error_clear();
		return 0; /* on disk, or unreadable: the disk's check says the rest */
	}
	if (statvfs(ctx->dir, &vfs) < 0) {
		doctor_set(out, DOCTOR_UNCHECKED, "give the vault directory", "statvfs %s: %s",
			   ctx->dir, strerror(errno));
	} else {
		avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		doctor_set(out, avail < SPOOL_LOW ? DOCTOR_WARN : DOCTOR_PASS,
			   avail < SPOOL_LOW ? "give DIR's file system a few GiB for the upload "
					       "spool (each upload is spooled whole before its PUT)"
					     : "",
			   "the repositories are on %s (its space is the store's to watch); DIR "
			   "holds the upload spool, %.1f GiB free",
			   vault_store_describe(s), (double)avail / (1 << 30));
	}
	vault_store_free(s);
	return 1;
}
