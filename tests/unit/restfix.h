/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restfix.h - a repository with one backup in it, for the suites that
 * restore or check one (test_restorer.c, test_restplan.c, test_restmeta.c,
 * test_checker.c), and the small source tree the two restore suites back
 * up.  The switch to batches of one file and one chunk is restfix_tiny.h,
 * apart, so that a suite without it has no unused state.
 */
#ifndef KURA_RESTFIX_H
#define KURA_RESTFIX_H

#include "testutil.h"

#include <sys/stat.h>
#include <unistd.h>

/*
 * In SRC (made here): top (holding `top_text`), a/one, a/b/two (a/b with
 * mode 0750), the symlink a/b/link -> ../one and a/hard, a hard link of
 * top.  0, or -1 if a part could not be made.
 */
static inline int restfix_tree(const char *src, const char *top_text)
{
	char path[256], first[256];

	snprintf(first, sizeof(first), "%s/a", src);
	snprintf(path, sizeof(path), "%s/a/b", src);
	if (mkdir(src, 0755) < 0 || mkdir(first, 0755) < 0 || mkdir(path, 0750) < 0)
		return -1;
	test_put(src, "top", top_text);
	test_put(src, "a/one", "one\n");
	test_put(src, "a/b/two", "two\n");
	snprintf(path, sizeof(path), "%s/a/b/link", src);
	if (symlink("../one", path) < 0)
		return -1;
	snprintf(first, sizeof(first), "%s/top", src);
	snprintf(path, sizeof(path), "%s/a/hard", src);
	return link(first, path);
}

/*
 * A new repository at `repo` (a fast KDF) with one backup of `src`, its
 * file cache in `cache`: *out (the caller frees it) and the snapshot's id
 * in `snap`.  0, or -1 with the library's message printed.
 */
static inline int restfix_repo(kura_repo **out, char snap[KURA_ID_HEX], const char *repo,
			       const char *passphrase, const char *src, const char *cache)
{
	kura_init_options io;
	kura_backup_result res;

	kura_init_options_default(&io);
	io.kdf_profile = KURA_KDF_INTERACTIVE;
	if (kura_repo_init(out, repo, passphrase, &io) < 0) {
		print_error("init %s: %s\n", repo, kura_error_message());
		return -1;
	}
	if (test_backup_dir(*out, src, cache, &res) < 0) {
		print_error("backup %s: %s\n", src, kura_error_message());
		return -1;
	}
	memcpy(snap, res.snapshot_id, KURA_ID_HEX);
	return 0;
}

#endif
