/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_backup.c - `kura backup`: save files, directories or stdin as a new
 * snapshot.
 *
 * Works with a backup key (KURA_KEY_FILE), which is how backup clients are
 * meant to run: the key can add snapshots but not read the history.  Files
 * that cannot be read are warned about as they happen and left out, and
 * files that change while they are read are stored as read, warned about
 * and marked; the snapshot is still saved and the exit status is 3, so a
 * nightly job can tell "saved but incomplete" from both success and
 * failure.  Every backup is judged for ransomware as it is read
 * (docs/DETECTION.md): a suspect one is saved too (it is evidence), and
 * the exit status is 5 with a message naming the strongest signals and a
 * few files.  SIGINT keeps its default action: an interrupted backup leaves
 * the repository consistent, merely without the new snapshot.
 */
#include "cli.h"

#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kura/keyless.h"

enum {
	OPT_TAG = CLI_OPT_LONG,
	OPT_HOST,
	OPT_STDIN,
	OPT_STDIN_FILENAME,
	OPT_TIME,
	OPT_NO_DETECT,
};

static const struct option longs[] = {
	{"tag", required_argument, NULL, OPT_TAG},
	{"exclude", required_argument, NULL, 'e'},
	{"host", required_argument, NULL, OPT_HOST},
	{"stdin", no_argument, NULL, OPT_STDIN},
	{"stdin-filename", required_argument, NULL, OPT_STDIN_FILENAME},
	{"time", required_argument, NULL, OPT_TIME},
	{"no-detect", no_argument, NULL, OPT_NO_DETECT},
	{NULL, 0, NULL, 0},
};

struct args {
	struct cli_strlist tags, excludes;
	const char *host;
	const char *stdin_filename;
	bool use_stdin;
	bool no_detect;
	int64_t time_ns;
};

/* "YYYY-MM-DDTHH:MM:SSZ" (UTC) into ns since the epoch; -1 if it is not that. */
static int64_t parse_time(const char *s)
{
	struct tm tm = {0};
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	time_t t;

	if (!rest || *rest || (t = timegm(&tm)) <= 0 || t > INT64_MAX / 1000000000)
		return -1;
	return (int64_t)t * 1000000000;
}

static int parse(struct args *a, struct cli_getopt *p)
{
	int c, err = 0;

	while ((c = cli_getopt_next(p)) != -1) {
		switch (c) {
		case CLI_OPT_STOP:
			return p->status == 0 ? -1 : p->status;
		case OPT_TAG:
			if (!*p->arg)
				return cli_usage_error(&cli_cmd_backup,
						       "--tag wants a non-empty tag");
			err = cli_strlist_add(&a->tags, p->arg);
			break;
		case 'e':
			err = cli_strlist_add(&a->excludes, p->arg);
			break;
		case OPT_HOST:
			a->host = p->arg;
			break;
		case OPT_STDIN:
			a->use_stdin = true;
			break;
		case OPT_STDIN_FILENAME:
			a->stdin_filename = p->arg;
			break;
		case OPT_NO_DETECT:
			a->no_detect = true;
			break;
		case OPT_TIME:
			if ((a->time_ns = parse_time(p->arg)) < 0)
				return cli_usage_error(&cli_cmd_backup,
						       "--time wants YYYY-MM-DDTHH:MM:SSZ (UTC), "
						       "not '%s'",
						       p->arg);
			break;
		}
		if (err < 0)
			return CLI_EXIT_FATAL;
	}
	if (a->stdin_filename && !a->use_stdin)
		return cli_usage_error(&cli_cmd_backup, "--stdin-filename goes with --stdin");
	if (a->use_stdin && optind < p->argc)
		return cli_usage_error(&cli_cmd_backup,
				       "give either --stdin or paths, not both ('%s')",
				       p->argv[optind]);
	if (!a->use_stdin && optind >= p->argc)
		return cli_usage_error(&cli_cmd_backup,
				       "nothing to back up: give one or more paths");
	if (a->use_stdin && !a->stdin_filename)
		a->stdin_filename = "stdin";
	if (a->use_stdin && (!*a->stdin_filename || strchr(a->stdin_filename, '/')))
		return cli_usage_error(&cli_cmd_backup,
				       "--stdin-filename wants a plain file name without '/'");
	return 0;
}

/* The snapshot's detection record, or null when detection was off. */
static json_t *detection_json(const kura_backup_result *r)
{
	json_t *rec = r->detection_record ? json_loads(r->detection_record, 0, NULL) : NULL;

	return rec ? rec : json_null();
}

static const char *verdict_word(int v)
{
	return v == KURA_DETECTION_SUSPECT   ? "suspect"
	       : v == KURA_DETECTION_PARTIAL ? "partial"
	       : v == KURA_DETECTION_CLEAN   ? "clean"
					     : "off";
}

/*
 * The alarm on stderr: what was found, its strongest signals and a few
 * files, so that whoever reads the nightly mail knows where to look.
 */
static void print_suspect(const kura_backup_result *r)
{
	json_t *rec = r->detection_record ? json_loads(r->detection_record, 0, NULL) : NULL;
	json_t *signals = json_object_get(rec, "signals"), *files = json_object_get(rec, "files");
	size_t i;
	json_t *item;

	fprintf(stderr,
		"kura: WARNING: snapshot %.8s shows signs of ransomware (score %d of 100).\n"
		"kura: it is saved as evidence; do not take it as a clean restore point.\n",
		r->snapshot_id, r->detection_score);
	json_array_foreach(signals, i, item) {
		if (i == 4)
			break;
		fprintf(stderr, "kura:   %-20s %6lld file(s), %d points\n",
			json_string_value(json_object_get(item, "signal")),
			(long long)json_integer_value(json_object_get(item, "files")),
			(int)json_integer_value(json_object_get(item, "points")));
	}
	json_array_foreach(files, i, item) {
		json_t *reasons = json_object_get(item, "reasons");

		if (i == 5) {
			fprintf(stderr, "kura:   ... (kura backup --json lists up to 100 files)\n");
			break;
		}
		fprintf(stderr, "kura:   e.g. %s (%s)\n", json_string_value(json_object_get(item, "path")),
			json_string_value(json_array_get(reasons, 0)));
	}
	json_decref(rec);
}

/* An operator's acceptances applied to this backup: never silently (DETECTION.md). */
static void print_accepted(const kura_backup_result *r)
{
	json_t *rec = r->detection_record ? json_loads(r->detection_record, 0, NULL) : NULL;
	json_t *acc = json_object_get(rec, "accepted");

	if (acc)
		printf("detection: %lld acceptance(s) of false alarms applied (snapshot(s) %s, kura "
		       "scan --accept): %lld file(s) in accepted directories weighed at 1/%lld%s\n",
		       (long long)json_integer_value(json_object_get(acc, "records")),
		       json_string_value(json_object_get(acc, "snapshots")),
		       (long long)json_integer_value(json_object_get(acc, "files")),
		       (long long)json_integer_value(json_object_get(acc, "divisor")),
		       json_is_true(json_object_get(acc, "restarted"))
			   ? "; the slow-attack accumulator restarted after the acceptance"
			   : "");
	json_decref(rec);
}

static int print_json(kura_repo *repo, const kura_backup_result *r)
{
	json_t *o = json_object();

	if (!o)
		return cli_json_print(NULL);
	json_object_set_new(o, "message_type", json_string("summary"));
	json_object_set_new(o, "snapshot_id", json_string(r->snapshot_id));
	json_object_set_new(o, "files_new", cli_json_u64(r->files_new));
	json_object_set_new(o, "files_changed", cli_json_u64(r->files_changed));
	json_object_set_new(o, "files_unmodified", cli_json_u64(r->files_unmodified));
	json_object_set_new(o, "files_unreadable", cli_json_u64(r->files_unreadable));
	json_object_set_new(o, "files_changed_during_read",
			    cli_json_u64(r->files_changed_during_read));
	json_object_set_new(o, "dirs_processed", cli_json_u64(r->dirs));
	json_object_set_new(o, "total_bytes_processed", cli_json_u64(r->bytes_total));
	json_object_set_new(o, "bytes_read", cli_json_u64(r->bytes_read));
	json_object_set_new(o, "data_added", cli_json_u64(r->bytes_new_raw));
	json_object_set_new(o, "data_stored", cli_json_u64(r->bytes_new_stored));
	json_object_set_new(o, "blobs_new", cli_json_u64(r->blobs_new));
	json_object_set_new(o, "total_duration", json_real(r->seconds));
	json_object_set_new(o, "damaged_files", cli_damage_json(repo));
	json_object_set_new(o, "detection", detection_json(r));
	return cli_json_print(o);
}

static void print_human(const kura_backup_result *r)
{
	char added[CLI_FMT_MAX], stored[CLI_FMT_MAX], total[CLI_FMT_MAX], took[CLI_FMT_MAX];
	unsigned long long files = r->files_new + r->files_changed + r->files_unmodified;

	printf("\nFiles:  %6llu new, %6llu changed, %6llu unmodified\n",
	       (unsigned long long)r->files_new, (unsigned long long)r->files_changed,
	       (unsigned long long)r->files_unmodified);
	printf("Dirs:   %6llu\n", (unsigned long long)r->dirs);
	printf("Added to the repository: %s (%s stored)\n\n", cli_fmt_size(added, r->bytes_new_raw),
	       cli_fmt_size(stored, r->bytes_new_stored));
	printf("processed %llu files, %s in %s\n", files, cli_fmt_size(total, r->bytes_total),
	       cli_fmt_duration(took, r->seconds));
	printf("snapshot %.8s saved\n", r->snapshot_id);
	if (r->detection == KURA_DETECTION_PARTIAL)
		printf("detection: nothing found, but judged without history (the first backup of "
		       "these paths from this host, or the cache was lost)\n");
	else if (r->detection)
		printf("detection: %s (score %d)\n", verdict_word(r->detection), r->detection_score);
	print_accepted(r);
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct args a = {0};
	struct cli_getopt p;
	struct cli_progress prog;
	kura_backup_options opts = KURA_BACKUP_OPTIONS_INIT;
	kura_backup_result res = {0};
	kura_repo *repo = NULL;
	int rc, err;

	cli_getopt_init(&p, g, &cli_cmd_backup, argc, argv, "e:", longs);
	if ((rc = parse(&a, &p)) != 0) {
		rc = rc < 0 ? CLI_EXIT_OK : rc;
		goto done;
	}
	if ((rc = cli_repo_open(&repo, g, &cli_cmd_backup)) != CLI_EXIT_OK)
		goto done;

	cli_progress_init(&prog, g);
	opts.paths = (const char *const *)(argv + optind);
	opts.npaths = a.use_stdin ? 0 : (size_t)(argc - optind);
	opts.tags = a.tags.items;
	opts.ntags = a.tags.count;
	opts.excludes = a.excludes.items;
	opts.nexcludes = a.excludes.count;
	opts.stdin_fd = a.use_stdin ? STDIN_FILENO : -1;
	opts.stdin_filename = a.use_stdin ? a.stdin_filename : NULL;
	opts.hostname = a.host;
	opts.time_ns = a.time_ns;
	opts.threads = g->threads;
	opts.progress = cli_progress_update;
	opts.progress_ctx = &prog;
	opts.warning = cli_progress_warning;
	opts.warning_ctx = &prog;
	opts.no_detect = a.no_detect;
	opts.want_detection_record = 1;

	err = kura_backup(repo, &opts, &res);
	cli_progress_clear(&prog);
	if (err < 0) {
		rc = cli_fail(err, NULL);
		goto done;
	}
	if (g->json)
		rc = print_json(repo, &res);
	else if (!g->quiet)
		print_human(&res);
	if (res.files_unreadable > 0) {
		fprintf(stderr,
			"kura: snapshot %.8s saved without %llu unreadable file(s); see the "
			"warnings above\n",
			res.snapshot_id, (unsigned long long)res.files_unreadable);
		if (rc == CLI_EXIT_OK)
			rc = CLI_EXIT_PARTIAL;
	}
	if (res.files_changed_during_read > 0) {
		fprintf(stderr,
			"kura: snapshot %.8s saved with %llu file(s) that changed while they were "
			"read, stored as read and marked in the snapshot; see the warnings above\n",
			res.snapshot_id, (unsigned long long)res.files_changed_during_read);
		if (rc == CLI_EXIT_OK)
			rc = CLI_EXIT_PARTIAL;
	}
	if (res.detection == KURA_DETECTION_SUSPECT) {
		print_suspect(&res);
		if (rc == CLI_EXIT_OK || rc == CLI_EXIT_PARTIAL)
			rc = CLI_EXIT_SUSPECT;
	}
done:
	kura_backup_result_clear(&res);
	cli_strlist_free(&a.tags);
	cli_strlist_free(&a.excludes);
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_backup = {
	.name = "backup",
	.summary = "back up files and directories as a new snapshot",
	.usage = "kura backup [--tag TAG]... [--exclude PATTERN]... [--host NAME] [--time TIME]\n"
		 "            [--no-detect] PATH...\n"
		 "       kura backup [--tag TAG]... [--host NAME] --stdin [--stdin-filename NAME]",
	.help = "Save PATHs (files and directories, recursively) as a new snapshot.  Files\n"
		"unchanged since the last backup from this host are recognised through the\n"
		"cache and not read again.  Runs with a backup key (KURA_KEY_FILE), which is\n"
		"what backup clients should hold.\n"
		"\n"
		"Options:\n"
		"      --tag TAG                add a tag to the snapshot (repeatable)\n"
		"  -e, --exclude PATTERN        leave out paths matching the fnmatch(3) PATTERN\n"
		"                               (repeatable)\n"
		"      --host NAME              record NAME as the host (default: hostname)\n"
		"      --stdin                  back up standard input as a single file\n"
		"      --stdin-filename NAME    the file's name in the snapshot (default: stdin)\n"
		"      --time YYYY-MM-DDTHH:MM:SSZ  the time the snapshot claims (UTC; default:\n"
		"                               now); on a vault its receive time still orders\n"
		"      --no-detect              do not judge the backup for ransomware\n"
		"\n"
		"Unreadable files are reported as 'warning: PATH: MESSAGE' and left out; a\n"
		"file is read up to the size it had when the backup reached it, and one that\n"
		"changes while it is read is stored as read, reported the same way and marked\n"
		"in the snapshot (kura ls -l, restore).  Either way the snapshot is still\n"
		"saved and the exit status is 3.\n"
		"\n"
		"Every backup is judged for ransomware as it is read, against the previous\n"
		"backup of the same paths from this host (history kept in the cache): files\n"
		"turned to noise, types that no longer match names, partial encryption,\n"
		"renames, ransom notes, mass deletions.  A suspect backup is saved too, with\n"
		"its findings in the snapshot, a message on stderr and exit status 5.\n",
	.run = run,
};
