/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_mount.c - `kura mount SNAPSHOT|all MOUNTPOINT`: browse snapshots as
 * a read-only file system (FUSE), for cp, rsync, diff -r and a file
 * manager, without restoring them first.
 *
 * The repository is opened as `kura restore` opens it (repo_open.c: the
 * passphrase, KURA_KEY_FILE with an exported restore key, and through a
 * vault a reader credential); the file system is kura_fs (kura/mount.h),
 * served by mount_fuse.c in the foreground until fusermount3 -u, umount,
 * Ctrl-C or SIGTERM.  The layout is in kura/mount.h and kura(1).
 */
#include "cli.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "kura/mount.h"
#include "mount_fuse.h"

enum { OPT_CACHE = CLI_OPT_LONG, OPT_ALLOW_OTHER, OPT_DEBUG };

static const struct option longs[] = {
    {"cache-size", required_argument, NULL, OPT_CACHE},
    {"allow-other", no_argument, NULL, OPT_ALLOW_OTHER},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {NULL, 0, NULL, 0},
};

static void on_warning(const char *id, const char *message, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "kura: warning: snapshot %s left out: %s\n", id, message);
}

static int run(struct cli_global *g, int argc, char **argv)
{
	kura_fs_options fo = KURA_FS_OPTIONS_INIT;
	struct cli_mount_opts mo = {0};
	struct cli_getopt p;
	kura_repo *repo = NULL;
	kura_fs *fs = NULL;
	char sz[CLI_FMT_MAX];
	uint64_t cache = KURA_FS_CACHE_DEFAULT;
	struct stat st;
	int c, rc, err;

	cli_getopt_init(&p, g, &cli_cmd_mount, argc, argv, "", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		switch (c) {
		case CLI_OPT_STOP:
			return p.status;
		case OPT_CACHE:
			if (cli_parse_size(&cache, p.arg) != 0 || cache < 1024 * 1024)
				return cli_usage_error(&cli_cmd_mount,
						       "--cache-size wants a size of 1M or more, "
						       "like 64M or 1G, not '%s'",
						       p.arg);
			break;
		case OPT_ALLOW_OTHER:
			mo.allow_other = true;
			break;
		case OPT_DEBUG:
			mo.debug = true;
			break;
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(&cli_cmd_mount,
				       argc - optind < 2 ? "give a snapshot ('all', 'latest' or "
							   "an id) and a mount point"
							 : "unexpected argument '%s'",
				       argv[optind + (argc - optind < 2 ? 0 : 2)]);
	mo.mountpoint = argv[optind + 1];
	mo.threads = g->threads;
	if (stat(mo.mountpoint, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "kura: the mount point %s %s\n", mo.mountpoint,
			errno == ENOENT ? "does not exist: create the directory first"
					: "is not a directory");
		return CLI_EXIT_FATAL;
	}

	if ((rc = cli_repo_open(&repo, g, &cli_cmd_mount)) != CLI_EXIT_OK)
		return rc;
	fo.snapshot = argv[optind];
	fo.cache_bytes = cache;
	fo.warning = on_warning;
	if ((err = kura_fs_open(&fs, repo, &fo)) < 0) {
		rc = cli_fail(err, err == KURA_ENOTFOUND || err == KURA_EAMBIGUOUS
				       ? "name a snapshot by 'latest', 'all' or 4 or more hex "
					 "digits of its id; 'kura snapshots' lists them"
				       : NULL);
		goto done;
	}
	if (!g->quiet) {
		if (*kura_fs_snapshot(fs))
			fprintf(stderr, "kura: snapshot %.8s mounted at %s", kura_fs_snapshot(fs),
				mo.mountpoint);
		else
			fprintf(stderr, "kura: %zu snapshots mounted at %s",
				kura_fs_snapshot_count(fs), mo.mountpoint);
		fprintf(stderr,
			" (read-only, cache %s); unmount with 'fusermount3 -u %s' or "
			"Ctrl-C\n",
			cli_fmt_size(sz, cache), mo.mountpoint);
	}
	/*
	 * Chunks (~1 MiB) are allocated and freed by every read; glibc would
	 * raise its mmap threshold past them and keep the freed ones in each
	 * thread's arena.  Mapped, they go back to the system when freed, so
	 * the process stays near the cache's size.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	rc = cli_mount_serve(fs, &mo) == 0 ? CLI_EXIT_OK : CLI_EXIT_FATAL;
done:
	kura_fs_free(fs);
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_mount = {
    .name = "mount",
    .summary = "browse snapshots as a read-only file system (FUSE)",
    .usage = "kura mount [OPTIONS] SNAPSHOT|all MOUNTPOINT",
    .help = "Serve snapshots at MOUNTPOINT, read-only, until 'fusermount3 -u MOUNTPOINT',\n"
	    "Ctrl-C or SIGTERM.  Files are read on demand: only the chunks a read needs\n"
	    "are fetched and decrypted, through a cache of bounded size.  Needs the\n"
	    "restore key (through a vault: a reader credential).\n"
	    "\n"
	    "With 'all':  snapshots/ID/     one directory per snapshot, by full id\n"
	    "             by-time/TIME      a symlink per snapshot, TIME in local time\n"
	    "                               (2026-12-02T14:03:05+0900)\n"
	    "             latest            a symlink to the newest snapshot\n"
	    "With one SNAPSHOT ('latest' or an id prefix), its files are at the root.\n"
	    "\n"
	    "Options:\n"
	    "      --cache-size SIZE  decoded file content kept for reuse (default 64M)\n"
	    "      --allow-other      let other users in too (the stored modes apply)\n"
	    "      --debug            log every FUSE request on stderr\n"
	    "  (--threads N sets the FUSE worker threads, default 4; 1: single-threaded)\n",
    .run = run,
};
