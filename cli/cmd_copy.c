/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_copy.c - `kura copy --to REPOSITORY [SNAPSHOT...]`: copy snapshots
 * and everything they need to a mirror (include/kura/copy.h), without a
 * key: both sides are opened as stores only.
 *
 * The source is --repo / KURA_REPOSITORY (a vault with the reader
 * credential in KURA_VAULT_CREDENTIALS); the target a local directory,
 * created as a new mirror when it is missing or empty, or a vault with a
 * writer credential (--to-credentials / KURA_COPY_TO_CREDENTIALS).  Every
 * file that fails is named on stderr as it is found; progress goes to
 * stderr too (a live line on a terminal; otherwise a line per phase and
 * one every 30 seconds while copying), so a cron job's log says how far a
 * copy got.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kura/copy.h"

enum {
	OPT_TO = CLI_OPT_LONG,
	OPT_TO_CRED,
};

static const struct option longs[] = {
	{"to", required_argument, NULL, OPT_TO},
	{"to-credentials", required_argument, NULL, OPT_TO_CRED},
	{NULL, 0, NULL, 0},
};

struct copy_cli {
	const struct cli_global *g;
	bool live;       /* a progress line on a terminal */
	bool drawn;
	time_t last_line; /* not a terminal: when the last progress line was printed */
	long kill_after; /* tests: SIGKILL itself after this many copied files (0: never) */
	json_t *problems;
};

static void clear_line(struct copy_cli *c)
{
	if (c->drawn)
		fputs("\r\033[K", stderr);
	c->drawn = false;
}

static void problem(struct copy_cli *c, const char *what, const kura_copy_event *ev)
{
	clear_line(c);
	fprintf(stderr, "kura: %s %s\n", what, ev->message); /* the message names the file */
	if (c->problems) {
		json_t *o = json_object();

		json_object_set_new(o, "kind", json_string(what));
		json_object_set_new(o, "type", json_string(kura_file_type_name(ev->file_type)));
		json_object_set_new(o, "name", json_string(ev->name));
		json_object_set_new(o, "message", cli_json_str(ev->message));
		json_array_append_new(c->problems, o);
	}
}

static int on_event(const kura_copy_event *ev, void *ctx)
{
	struct copy_cli *c = ctx;
	char a[CLI_FMT_MAX], b[CLI_FMT_MAX];
	bool quiet = c->g->quiet;

	switch (ev->type) {
	case KURA_COPY_PLANNED:
		if (!quiet)
			fprintf(stderr, "copy: %zu file(s) to copy, %s\n", ev->total,
				cli_fmt_size(a, ev->total_bytes));
		break;
	case KURA_COPY_VERIFYING:
		clear_line(c);
		if (!quiet)
			fprintf(stderr, "copy: verifying %zu file(s) in the target\n", ev->total);
		break;
	case KURA_COPY_COPIED:
		if (c->kill_after && (long)ev->done >= c->kill_after)
			raise(SIGKILL);
		/* fall through */
	case KURA_COPY_VERIFIED:
		if (c->live && (ev->done == ev->total || ev->done % 8 == 0)) {
			fprintf(stderr, "\r\033[K%s %zu/%zu", ev->type == KURA_COPY_COPIED ? "copied"
										   : "verified",
				ev->done, ev->total);
			if (ev->type == KURA_COPY_COPIED)
				fprintf(stderr, "  %s of %s", cli_fmt_size(a, ev->done_bytes),
					cli_fmt_size(b, ev->total_bytes));
			c->drawn = true;
		} else if (!c->live && !quiet && ev->type == KURA_COPY_COPIED &&
			   time(NULL) - c->last_line >= 30) {
			/* a log (cron, systemd) gets a line every half minute */
			fprintf(stderr, "copy: copied %zu of %zu file(s), %s of %s\n", ev->done,
				ev->total, cli_fmt_size(a, ev->done_bytes),
				cli_fmt_size(b, ev->total_bytes));
			c->last_line = time(NULL);
		}
		break;
	case KURA_COPY_FAILED:
		problem(c, "not copied:", ev);
		break;
	case KURA_COPY_SKIPPED:
		problem(c, "left behind:", ev);
		break;
	case KURA_COPY_BAD_TARGET:
		problem(c, "target check failed:", ev);
		break;
	}
	return 0;
}

/* Whether a local target is missing or an empty directory: a new mirror. */
static bool local_is_new(const char *path)
{
	struct dirent *e;
	bool empty = true;
	DIR *d = opendir(path);

	if (!d)
		return errno == ENOENT;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

static int open_target(kura_backend **out, const char *to, const char *cred)
{
	int err;

	if (strncmp(to, "vault://", 8) == 0) {
		if (!cred) {
			fprintf(stderr, "kura: the target %s needs a writer credential: "
					"--to-credentials FILE or KURA_COPY_TO_CREDENTIALS\n",
				to);
			return CLI_EXIT_USAGE;
		}
		err = kura_backend_vault_open(out, to, cred);
	} else if (kura_location_is_s3(to)) {
		kura_s3_options s3;
		int rc = cli_s3_options(&s3);

		if (rc != CLI_EXIT_OK)
			return rc;
		/* a prefix without kura's settings is a new target */
		if ((err = kura_backend_s3_open(out, to, &s3)) == KURA_ENOTFOUND)
			err = kura_backend_s3_create(out, to, &s3);
	} else if (local_is_new(to)) {
		err = kura_backend_local_create(out, to);
	} else {
		err = kura_backend_local_open(out, to);
	}
	if (err < 0) {
		fprintf(stderr, "kura: the target %s: %s\n", to, kura_error_message());
		return err == KURA_ENOTFOUND ? CLI_EXIT_NOREPO : cli_exit_status(err);
	}
	return CLI_EXIT_OK;
}

static int open_source(kura_backend **out, const char *loc)
{
	int err, rc;

	if ((rc = cli_vault_credentials_missing(loc)) != CLI_EXIT_OK)
		return rc;
	if (kura_location_is_s3(loc)) {
		kura_s3_options s3;

		if ((rc = cli_s3_options(&s3)) != CLI_EXIT_OK)
			return rc;
		err = kura_backend_s3_open(out, loc, &s3);
	} else
		err = strncmp(loc, "vault://", 8) == 0
			  ? kura_backend_vault_open(out, loc, cli_vault_credentials_env())
			  : kura_backend_local_open(out, loc);
	if (err < 0) {
		fprintf(stderr, "kura: the source %s: %s\n", loc, kura_error_message());
		return err == KURA_ENOTFOUND ? CLI_EXIT_NOREPO : cli_exit_status(err);
	}
	return CLI_EXIT_OK;
}

static int print_json(const kura_copy_result *r, json_t *problems, bool ok)
{
	json_t *o = json_object();

	json_object_set_new(o, "message_type", json_string("summary"));
	json_object_set_new(o, "result", json_string(ok ? "ok" : "incomplete"));
	json_object_set_new(o, "snapshots", cli_json_u64(r->snapshots));
	json_object_set_new(o, "files_needed", cli_json_u64(r->needed));
	json_object_set_new(o, "files_present", cli_json_u64(r->present));
	json_object_set_new(o, "files_copied", cli_json_u64(r->copied));
	json_object_set_new(o, "bytes_copied", cli_json_u64(r->copied_bytes));
	json_object_set_new(o, "files_failed", cli_json_u64(r->failed));
	json_object_set_new(o, "snapshots_skipped", cli_json_u64(r->skipped));
	json_object_set_new(o, "files_verified", cli_json_u64(r->verified));
	json_object_set_new(o, "files_verified_listed", cli_json_u64(r->verified_listed));
	json_object_set_new(o, "target_problems", cli_json_u64(r->bad_target));
	json_object_set_new(o, "problems", json_incref(problems));
	return cli_json_print(o);
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct copy_cli ctx = {.g = g};
	struct cli_getopt p;
	kura_copy_options opts = KURA_COPY_OPTIONS_INIT;
	kura_copy_result res;
	kura_backend *src = NULL, *dst = NULL;
	const char *loc, *to = NULL, *to_cred = getenv("KURA_COPY_TO_CREDENTIALS"), *kill;
	char size[CLI_FMT_MAX];
	int c, rc, err;
	bool ok;

	cli_getopt_init(&p, g, &cli_cmd_copy, argc, argv, "", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == OPT_TO)
			to = p.arg;
		else if (c == OPT_TO_CRED)
			to_cred = p.arg;
	}
	if (!to || !*to)
		return cli_usage_error(&cli_cmd_copy, "no target given: use --to REPOSITORY");
	if (!(loc = cli_repo_location(g, &cli_cmd_copy)))
		return CLI_EXIT_USAGE;
	if (strcmp(loc, to) == 0)
		return cli_usage_error(&cli_cmd_copy, "the target is the source (%s)", to);
	if (to_cred && !*to_cred)
		to_cred = NULL;
	opts.snapshots = (const char *const *)argv + optind;
	opts.nsnapshots = (size_t)(argc - optind);
	opts.fn = on_event;
	opts.ctx = &ctx;
	ctx.live = !g->json && !g->quiet && isatty(STDERR_FILENO);
	/* a fault for tests/e2e/copy.sh: a real kill at a known point, without a timing race */
	if ((kill = getenv("KURA_TEST_COPY_KILL_AFTER")) && *kill)
		ctx.kill_after = strtol(kill, NULL, 10);
	ctx.last_line = time(NULL);
	if (g->json && !(ctx.problems = json_array()))
		return cli_json_print(NULL);

	if ((rc = open_source(&src, loc)) != CLI_EXIT_OK ||
	    (rc = open_target(&dst, to, to_cred)) != CLI_EXIT_OK)
		goto done;
	err = kura_copy(src, dst, &opts, &res);
	clear_line(&ctx);
	if (err < 0) {
		rc = cli_fail(err, err == KURA_EDENIED
					? "copying from a vault needs a reader credential "
					  "(KURA_VAULT_CREDENTIALS), to a vault a writer credential "
					  "(--to-credentials)"
					: NULL);
		goto done;
	}
	ok = !res.failed && !res.skipped && !res.bad_target;
	if (g->json)
		rc = print_json(&res, ctx.problems, ok);
	else if (!g->quiet)
		printf("copied %llu file(s) (%s) of %llu needed by %llu snapshot(s); %llu were "
		       "there already\nverified %llu file(s) in the target by hash%s%llu by "
		       "listing\n",
		       (unsigned long long)res.copied, cli_fmt_size(size, res.copied_bytes),
		       (unsigned long long)res.needed, (unsigned long long)res.snapshots,
		       (unsigned long long)res.present, (unsigned long long)res.verified,
		       res.verified_listed ? ", " : ", ", (unsigned long long)res.verified_listed);
	if (!ok) {
		fprintf(stderr,
			"kura: copy incomplete: %llu file(s) not copied, %llu snapshot(s) left "
			"behind, %llu problem(s) in the target\n",
			(unsigned long long)res.failed, (unsigned long long)res.skipped,
			(unsigned long long)res.bad_target);
		rc = CLI_EXIT_INTEGRITY;
	}
done:
	json_decref(ctx.problems);
	kura_backend_free(src);
	kura_backend_free(dst);
	return rc;
}

const struct cli_command cli_cmd_copy = {
	.name = "copy",
	.summary = "copy snapshots and what they need to a mirror (offline disk, second vault)",
	.usage = "kura copy --to REPOSITORY [--to-credentials FILE] [SNAPSHOT...]",
	.help = "Copy SNAPSHOTs (full ids or unique prefixes; default: all) with their packs,\n"
		"the index files that describe those packs, and the config and key files, to\n"
		"REPOSITORY, a mirror of this one (docs/FORMAT.md, \"Mirrors\").  No key is\n"
		"needed: files are named by their hash and re-hashed and checked on arrival;\n"
		"a file that fails is named and not copied, nor is any snapshot that needs it.\n"
		"Only what the target lacks is copied, snapshots last, so a rerun after a kill\n"
		"finishes the job.  Every file the copied snapshots need is then checked in\n"
		"the target.  A local target that is missing or empty becomes a new mirror.\n"
		"\n"
		"  --to REPOSITORY        a local directory, vault://HOST:PORT/REPO or\n"
		"                         s3:https://HOST/BUCKET/PREFIX (created with Object\n"
		"                         Lock if new; KURA_S3_LOCK_DAYS, default 30)\n"
		"  --to-credentials FILE  a writer credential for a vault target\n"
		"                         (default: $KURA_COPY_TO_CREDENTIALS)\n"
		"\n"
		"A vault source needs a reader credential (KURA_VAULT_CREDENTIALS).  Exit status\n"
		"4: a file was not copied, a snapshot was left behind, or the target check\n"
		"failed (each is named on stderr).\n",
	.run = run,
};
