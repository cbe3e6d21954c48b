/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keysplit.c - kura_repo_key_split(): the open repository's restore key
 * handed to the share code (lib/crypto/keyshare.c), which knows nothing
 * of repositories.  Refused when the repository was opened with a backup
 * key, which holds no repo_sk to split.
 */
#include "crypto/keyshare_int.h"
#include "repo/repo.h"

int kura_repo_key_split(char ***out, const kura_repo *repo, unsigned threshold, unsigned total)
{
	int err;

	*out = NULL;
	if ((err = kura_repo__need_restore_key(repo, "splitting the restore key")) < 0)
		return err;
	return kura_keyshare_split_keys(out, &repo->keys, threshold, total);
}
