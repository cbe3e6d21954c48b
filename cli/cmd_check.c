/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_check.c - `kura check`: verify the repository.
 *
 * Without --read-data the structure is checked: every pack, index and
 * snapshot is present, parses and agrees with the others.  With it every
 * blob is also decrypted and verified, which needs the restore key and
 * reads the whole repository: it is what proves backups can be restored.
 * Each problem is printed on stderr as it is found, naming the snapshot
 * and path it affects when known, so the operator learns which backups
 * are hurt and not only which pack.  Problems found: exit status 4.
 * Packs removed by a prune that index files still name are counted as
 * information ("packs_pruned"), not problems.  On S3 every version of every
 * file is also looked at: a file a thief with the writer's S3 keys
 * overwrote or hid behind a delete marker is a problem named as an attack
 * ("s3_attacked"), even though reads find the locked version that is
 * intact (`kura s3 heal` puts the store's view right).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kura/proof.h"

enum {
	OPT_READ_DATA = CLI_OPT_LONG,
	OPT_NO_RECORD,
};

static const struct option longs[] = {
	{"read-data", no_argument, NULL, OPT_READ_DATA},
	{"no-record", no_argument, NULL, OPT_NO_RECORD},
	{NULL, 0, NULL, 0},
};

struct check_ctx {
	struct cli_progress prog;
	json_t *errors; /* with --json */
};

static void on_problem(const char *object, const char *message, const char *snapshot_id,
		       const char *path, void *ctx)
{
	struct check_ctx *c = ctx;
	bool snap = snapshot_id && *snapshot_id, has_path = path && *path;

	cli_progress_clear(&c->prog);
	fprintf(stderr, "error: %s: %s", object ? object : "?", message ? message : "");
	if (snap && has_path)
		fprintf(stderr, " (snapshot %.8s, path %s)", snapshot_id, path);
	else if (snap)
		fprintf(stderr, " (snapshot %.8s)", snapshot_id);
	else if (has_path)
		fprintf(stderr, " (path %s)", path);
	fputc('\n', stderr);

	if (c->errors) {
		json_t *e = json_object();

		json_object_set_new(e, "object", cli_json_str(object));
		json_object_set_new(e, "message", cli_json_str(message));
		json_object_set_new(e, "snapshot", snap ? json_string(snapshot_id) : json_null());
		json_object_set_new(e, "path", has_path ? cli_json_str(path) : json_null());
		json_array_append_new(c->errors, e);
	}
}

/* On S3: each file overwritten or hidden by a delete marker is a problem. */
static int on_attack(const kura_s3_attack *a, void *ctx)
{
	char object[96], msg[320];

	snprintf(object, sizeof(object), "%s %s", kura_file_type_what(a->type), a->name);
	snprintf(msg, sizeof(msg), "attack on the S3 store: %s%s%s; %s",
		 a->overwritten ? "overwritten by a newer version with other bytes" : "",
		 a->overwritten && a->hidden ? ", and " : "",
		 a->hidden ? "hidden by a delete marker" : "",
		 a->intact ? "the locked version is intact and reads use it ('kura s3 heal' "
			     "puts it back on top)"
			   : "no stored version hashes to the name");
	on_problem(object, msg, NULL, NULL, ctx);
	return 0;
}

static int audit_s3(kura_repo *repo, struct check_ctx *ctx, uint64_t *out)
{
	kura_backend *b = kura_repo_backend(repo);
	bool locking;
	uint32_t days;

	*out = 0;
	if (kura_s3_lock_info(b, &locking, &days) < 0)
		return 0; /* not on S3 */
	return kura_s3_audit(b, false, on_attack, ctx, out);
}

static int print_json(kura_repo *repo, const kura_check_result *r, json_t *errors,
		      uint64_t attacked)
{
	json_t *o = json_object();

	json_object_set_new(o, "message_type", json_string("summary"));
	json_object_set_new(o, "problems", cli_json_u64(r->problems));
	json_object_set_new(o, "files_checked", cli_json_u64(r->files_checked));
	json_object_set_new(o, "packs", cli_json_u64(r->packs));
	json_object_set_new(o, "packs_pruned", cli_json_u64(r->packs_pruned));
	json_object_set_new(o, "s3_attacked", cli_json_u64(attacked));
	json_object_set_new(o, "indexes", cli_json_u64(r->indexes));
	json_object_set_new(o, "snapshots", cli_json_u64(r->snapshots));
	json_object_set_new(o, "trees", cli_json_u64(r->trees));
	json_object_set_new(o, "blobs_checked", cli_json_u64(r->blobs_checked));
	json_object_set_new(o, "bytes_read", cli_json_u64(r->bytes_read));
	json_object_set_new(o, "duration", json_real(r->seconds));
	json_object_set_new(o, "errors", json_incref(errors));
	json_object_set_new(o, "damaged_files", cli_damage_json(repo));
	return cli_json_print(o);
}

static void print_human(const kura_check_result *r)
{
	char size[CLI_FMT_MAX], took[CLI_FMT_MAX];

	printf("checked %llu snapshots, %llu trees, %llu packs, %llu indexes",
	       (unsigned long long)r->snapshots, (unsigned long long)r->trees,
	       (unsigned long long)r->packs, (unsigned long long)r->indexes);
	if (r->blobs_checked)
		printf(", %llu blobs", (unsigned long long)r->blobs_checked);
	printf(" (%s read in %s)\n", cli_fmt_size(size, r->bytes_read),
	       cli_fmt_duration(took, r->seconds));
	if (r->packs_pruned)
		printf("%llu pack%s named by index files were removed by a prune; no snapshot "
		       "needs %s\n",
		       (unsigned long long)r->packs_pruned, r->packs_pruned == 1 ? "" : "s",
		       r->packs_pruned == 1 ? "it" : "them");
	if (r->problems == 0)
		printf("no errors were found\n");
	else
		printf("%llu problem%s found\n", (unsigned long long)r->problems,
		       r->problems == 1 ? "" : "s");
}

/*
 * A check --read-data that ran leaves a proof record (kura/proof.h) in the
 * repository, so kura status can tell when data was last read in full and
 * how that ended.  A record that cannot be written (a read-only mirror, a
 * damaged store) is a warning: the check itself stands, and kura status
 * will say that no recent check is recorded.
 */
static void record_check(kura_repo *repo, const kura_check_result *res, bool quiet)
{
	kura_backend *b = kura_repo_backend(repo);
	kura_proof_info p;
	char id[KURA_ID_HEX];
	int err;

	memset(&p, 0, sizeof(p));
	p.kind = KURA_PROOF_CHECK;
	p.passed = res->problems == 0;
	p.time_ns = kura_now_ns(CLOCK_REALTIME);
	p.files = res->files_checked;
	p.bytes = res->bytes_read;
	p.problems = res->problems;
	p.duration_ms = (uint64_t)(res->seconds * 1000);
	err = kura_newest_snapshot(b, NULL, p.snapshot_id, NULL);
	if (err < 0 && err != KURA_ENOTFOUND)
		p.snapshot_id[0] = '\0';
	if ((err = kura_proof_write(b, &p, id)) < 0) {
		fprintf(stderr, "kura: warning: the check's result is not recorded in the "
				"repository, so kura status will not see it: %s\n",
			kura_error_message());
		return;
	}
	if (!quiet)
		fprintf(stderr, "check: recorded as %.12s\n", id);
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct check_ctx ctx = {0};
	struct cli_getopt p;
	kura_check_options opts = KURA_CHECK_OPTIONS_INIT;
	kura_check_result res = {0};
	kura_repo *repo = NULL;
	bool no_record = false;
	uint64_t attacked = 0;
	int c, rc, err;

	cli_getopt_init(&p, g, &cli_cmd_check, argc, argv, "", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == OPT_READ_DATA)
			opts.read_data = true;
		else if (c == OPT_NO_RECORD)
			no_record = true;
	}
	if (optind < argc)
		return cli_usage_error(&cli_cmd_check, "unexpected argument '%s'", argv[optind]);
	if ((rc = cli_repo_open_for_data(&repo, g, &cli_cmd_check, opts.read_data)) != CLI_EXIT_OK)
		return rc;

	cli_progress_init(&ctx.prog, g);
	if (g->json && !(ctx.errors = json_array())) {
		rc = cli_json_print(NULL);
		goto done;
	}
	opts.threads = g->threads;
	opts.progress = cli_progress_update;
	opts.progress_ctx = &ctx.prog;
	opts.problem = on_problem;
	opts.problem_ctx = &ctx;
	err = kura_check(repo, &opts, &res);
	cli_progress_clear(&ctx.prog);
	if (err < 0 && err != KURA_ECORRUPT) {
		rc = cli_fail(err, err == KURA_ENEEDKEY && opts.read_data
					   ? "--read-data decrypts every blob and so needs the "
					     "restore key; you opened the repository with a backup "
					     "key (KURA_KEY_FILE). Unset KURA_KEY_FILE to use the "
					     "passphrase, or run without --read-data"
					   : NULL);
		goto done;
	}
	/* KURA_ECORRUPT always means problems, even if none was counted. */
	if (err == KURA_ECORRUPT && res.problems == 0)
		res.problems = 1;
	if ((err = audit_s3(repo, &ctx, &attacked)) < 0) {
		rc = cli_fail(err, "the version listing of the S3 store failed");
		goto done;
	}
	res.problems += attacked;
	if (g->json)
		rc = print_json(repo, &res, ctx.errors, attacked);
	else if (!g->quiet)
		print_human(&res);
	if (res.problems > 0) {
		if (g->quiet && !g->json)
			fprintf(stderr, "kura: %llu problem(s) found\n",
				(unsigned long long)res.problems);
		rc = CLI_EXIT_INTEGRITY;
	}
	if (opts.read_data && !no_record)
		record_check(repo, &res, g->quiet || g->json);
done:
	json_decref(ctx.errors);
	/* check names every damaged file as a problem: no second list of warnings */
	kura_repo_free(repo);
	return rc;
}

const struct cli_command cli_cmd_check = {
	.name = "check",
	.summary = "verify the repository's integrity",
	.usage = "kura check [--read-data [--no-record]]",
	.help = "Check that every pack, index, snapshot and tree is present, readable and\n"
		"consistent.  Problems are printed on stderr as\n"
		"  error: OBJECT: MESSAGE (snapshot ID, path PATH)\n"
		"and the exit status is 4 if there were any.\n"
		"\n"
		"Options:\n"
		"      --read-data   also decrypt and verify every blob: reads the whole\n"
		"                    repository and needs the restore key.  The result is\n"
		"                    recorded in the repository (a proof record, read by\n"
		"                    kura status)\n"
		"      --no-record   with --read-data: do not record the result\n",
	.run = run,
};
