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
#include "kura/proof.h"

enum {
	OPT_TO = CLI_OPT_LONG,
	OPT_TO_CRED,
	OPT_MEDIA,
	OPT_SITE,
	OPT_LABEL,
	OPT_NO_RECORD,
};

static const struct option longs[] = {
	{"to", required_argument, NULL, OPT_TO},
	{"to-credentials", required_argument, NULL, OPT_TO_CRED},
	{"media", required_argument, NULL, OPT_MEDIA},
	{"site", required_argument, NULL, OPT_SITE},
	{"label", required_argument, NULL, OPT_LABEL},
	{"no-record", no_argument, NULL, OPT_NO_RECORD},
	{NULL, 0, NULL, 0},
};

/* How the copy is recorded in the source (include/kura/proof.h). */
struct copy_record {
	int media, site;   /* 0: inferred from the target */
	const char *label; /* NULL: the target */
	bool skip;         /* --no-record */
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
	json_object_set_new(o, "acceptances_refused", cli_json_u64(r->accepts_refused));
	json_object_set_new(o, "problems", json_incref(problems));
	return cli_json_print(o);
}

/*
 * The target as the record names it: a local path made absolute (status
 * looks there for the mounted disk), a vault URL as given.
 */
static void target_name(char *out, size_t size, const char *to)
{
	char *abs;

	if (strncmp(to, "vault://", 8) != 0 && (abs = realpath(to, NULL))) {
		snprintf(out, size, "%s", abs);
		free(abs);
		return;
	}
	snprintf(out, size, "%s", to);
}

/*
 * Write the copy record into the source: where the copy is, what it now
 * holds, how its verification ended.  Returns an exit status.
 */
static int record_copy(const struct copy_record *cr, kura_backend *src, kura_backend *dst,
		       const char *to, const kura_copy_result *res, bool ok, double seconds,
		       bool quiet)
{
	kura_proof_info p;
	char id[KURA_ID_HEX];
	const char *label;
	bool vault = strncmp(to, "vault://", 8) == 0;
	int err;

	memset(&p, 0, sizeof(p));
	p.kind = KURA_PROOF_COPY;
	p.passed = ok;
	p.media = cr->media ? cr->media : vault ? KURA_MEDIA_VAULT : KURA_MEDIA_DISK;
	p.site = cr->site ? cr->site : vault ? KURA_SITE_OFFSITE : KURA_SITE_ONSITE;
	p.time_ns = kura_now_ns(CLOCK_REALTIME);
	p.files = res->verified + res->verified_listed;
	p.bytes = res->copied_bytes;
	p.problems = res->failed + res->skipped + res->bad_target;
	p.duration_ms = (uint64_t)(seconds * 1000);
	target_name(p.target, sizeof(p.target), to);
	label = cr->label ? cr->label : p.target;
	if (strlen(label) > KURA_PROOF_LABEL_MAX) {
		fprintf(stderr, "kura: the copy is not recorded: the target is too long to be its "
				"label; give --label NAME\n");
		return CLI_EXIT_USAGE;
	}
	memcpy(p.label, label, strlen(label) + 1);
	err = kura_newest_snapshot(src, dst, p.snapshot_id, NULL);
	if (err < 0 && err != KURA_ENOTFOUND)
		fprintf(stderr, "kura: warning: which snapshot the copy holds is not known: %s\n",
			kura_error_message());
	if ((err = kura_proof_write(src, &p, id)) < 0) {
		fprintf(stderr, "kura: the copy is not recorded in the source, so kura status "
				"will not count it: %s (--no-record to copy without)\n",
			kura_error_message());
		return cli_exit_status(err);
	}
	if (!quiet)
		fprintf(stderr, "copy: recorded as %.12s (label '%s', %s, %s)\n", id, p.label,
			kura_media_name(p.media), kura_site_name(p.site));
	return CLI_EXIT_OK;
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
	struct copy_record cr = {0};
	int64_t started;
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
		else if (c == OPT_MEDIA && !(cr.media = kura_media_parse(p.arg)))
			return cli_usage_error(&cli_cmd_copy, "--media %s: one of disk, removable, "
							      "vault, s3, tape",
					       p.arg);
		else if (c == OPT_SITE && !(cr.site = kura_site_parse(p.arg)))
			return cli_usage_error(&cli_cmd_copy, "--site %s: onsite or offsite", p.arg);
		else if (c == OPT_LABEL)
			cr.label = p.arg;
		else if (c == OPT_NO_RECORD)
			cr.skip = true;
	}
	if (cr.label && (!*cr.label || strlen(cr.label) > KURA_PROOF_LABEL_MAX))
		return cli_usage_error(&cli_cmd_copy, "--label: 1 to %d bytes",
				       KURA_PROOF_LABEL_MAX);
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
	started = kura_now_ns(CLOCK_MONOTONIC);
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
	if (res.accepts_refused)
		fprintf(stderr,
			"kura: %llu acceptance record(s) (kura scan --accept) not copied: the "
			"target takes them only from a reader credential; its snapshots are "
			"whole, but there they count as not accepted until a reader accepts "
			"them again\n",
			(unsigned long long)res.accepts_refused);
	if (!ok) {
		fprintf(stderr,
			"kura: copy incomplete: %llu file(s) not copied, %llu snapshot(s) left "
			"behind, %llu problem(s) in the target\n",
			(unsigned long long)res.failed, (unsigned long long)res.skipped,
			(unsigned long long)res.bad_target);
		rc = CLI_EXIT_INTEGRITY;
	}
	if (!cr.skip) {
		int rrc = record_copy(&cr, src, dst, to, &res, ok,
				      (double)(kura_now_ns(CLOCK_MONOTONIC) - started) / 1e9, g->quiet);

		if (rc == CLI_EXIT_OK)
			rc = rrc;
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
	.usage = "kura copy --to REPOSITORY [--to-credentials FILE] [--media M] [--site S]\n"
		 "          [--label NAME] [--no-record] [SNAPSHOT...]",
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
		"  --media M              what the target is, for kura status: disk, removable\n"
		"                         (unplugged after the copy), vault, s3, tape\n"
		"                         (default: vault for a vault, else disk)\n"
		"  --site S               onsite or offsite (default: offsite for a vault,\n"
		"                         else onsite)\n"
		"  --label NAME           the copy's name in kura status (default: the target)\n"
		"  --no-record            do not write the copy record into the source\n"
		"\n"
		"After the copy, a proof record (docs/FORMAT.md, \"Proof records\") is written\n"
		"into the source: label, target, media, site, time, the newest snapshot the\n"
		"target now holds and how its verification ended.  kura status reads it.  A\n"
		"vault source takes it from the reader credential that copies from it.\n"
		"\n"
		"A vault source needs a reader credential (KURA_VAULT_CREDENTIALS).  Exit status\n"
		"4: a file was not copied, a snapshot was left behind, or the target check\n"
		"failed (each is named on stderr).\n",
	.run = run,
};
