/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_s3.c - `kura s3 extend-locks`: renew the Object Lock of what the
 * snapshots of an S3 repository still need, before it runs out; and `kura
 * s3 heal`: put right the names a thief with the writer's S3 keys
 * overwrote or hid behind delete markers (the locked versions are intact;
 * kura's reads already skip the junk, other tools' do not).
 *
 * Needs no key (which packs a snapshot needs is in its plaintext pack
 * list), only the store's credentials, and must run from the operator's
 * side: a backup client must never be what keeps or lets lapse the locks
 * (docs/THREATS.md).  Each run moves every needed file's lock to now +
 * the repository's lock period, each confirmed by a separate request; the
 * snapshots named by --let-expire, and the packs only they need, are left
 * to run out so that `kura forget` / `kura prune` can delete them then.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kura/keyless.h"

enum { OPT_LET_EXPIRE = CLI_OPT_LONG, OPT_DRY_RUN };

static const struct option longs[] = {
    {"let-expire", required_argument, NULL, OPT_LET_EXPIRE},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {NULL, 0, NULL, 0},
};

/* A full id or 4+ hex digits naming exactly one listed snapshot. */
static int resolve(char out[KURA_ID_HEX], const kura_listed_file *snaps, size_t n, const char *arg)
{
	size_t len = strlen(arg), hits = 0;

	if (len < 4 || len > 64 || strspn(arg, "0123456789abcdef") != len)
		return cli_usage_error(&cli_cmd_s3,
				       "--let-expire wants a snapshot id or 4 or more of its hex "
				       "digits, not '%s'",
				       arg);
	for (size_t i = 0; i < n; i++)
		if (strncmp(snaps[i].name, arg, len) == 0) {
			memcpy(out, snaps[i].name, KURA_ID_HEX);
			hits++;
		}
	if (hits == 1)
		return CLI_EXIT_OK;
	fprintf(stderr, "kura: --let-expire %s: %s\n", arg,
		hits ? "names more than one snapshot" : "no such snapshot");
	return CLI_EXIT_FATAL;
}

typedef struct {
	const struct cli_global *g;
	json_t *files;
} show;

static int on_file(const kura_s3_extend_event *ev, void *ctx)
{
	show *s = ctx;
	char until[32] = "";

	if (ev->kept_until > 0) {
		time_t t = (time_t)ev->kept_until;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (s->files) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "type", kura_file_type_name(ev->type),
				      "name", ev->name, "action",
				      ev->kept_until < 0    ? "let_expire"
				      : ev->kept_until == 0 ? "would_extend"
							    : "extended");

		if (o && until[0])
			json_object_set_new(o, "locked_until", json_string(until));
		json_array_append_new(s->files, o);
	} else if (!s->g->quiet && ev->kept_until < 0)
		printf("let expire %s/%s\n", kura_file_type_name(ev->type), ev->name);
	return 0;
}

typedef struct {
	const struct cli_global *g;
	bool heal;
	json_t *list;
	uint64_t healed, failed;
} heal_show;

static int on_attack(const kura_s3_attack *a, void *ctx)
{
	heal_show *h = ctx;
	const char *how = a->overwritten && a->hidden ? "overwritten and hidden by a delete marker"
			  : a->overwritten	      ? "overwritten by a newer version"
						      : "hidden by a delete marker";

	if (a->healed)
		h->healed++;
	else if (h->heal || !a->intact)
		h->failed++;
	if (h->list) {
		json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:b, s:b}", "type",
				      kura_file_type_name(a->type), "name", a->name, "overwritten",
				      a->overwritten, "hidden", a->hidden, "intact", a->intact,
				      "healed", a->healed);

		if (o && a->problem)
			json_object_set_new(o, "problem", cli_json_str(a->problem));
		json_array_append_new(h->list, o);
	} else if (!h->g->quiet || !a->healed)
		printf("%s %s/%s: %s%s%s\n",
		       a->healed		  ? "healed"
		       : a->problem || !a->intact ? "NOT healed"
						  : "attacked",
		       kura_file_type_name(a->type), a->name, how,
		       a->problem ? ": " : (a->intact ? "; the locked version is intact" : ""),
		       a->problem ? a->problem : "");
	return 0;
}

static int run_heal(struct cli_global *g, kura_backend *b, bool dry_run)
{
	heal_show h = {.g = g, .heal = !dry_run};
	uint64_t n = 0;
	int err, rc;

	if (g->json && !(h.list = json_array()))
		return cli_json_print(NULL);
	if ((err = kura_s3_audit(b, !dry_run, on_attack, &h, &n)) < 0) {
		json_decref(h.list);
		return cli_fail(err, "what was healed before the error stays healed; run it again");
	}
	rc = h.failed ? CLI_EXIT_INTEGRITY : CLI_EXIT_OK;
	if (g->json) {
		int prc = cli_json_print(json_pack("{s:b, s:o, s:o, s:o, s:o}", "dry_run", dry_run,
						   "attacked", cli_json_u64(n), "healed",
						   cli_json_u64(h.healed), "not_healed",
						   cli_json_u64(h.failed), "list", h.list));

		return prc != CLI_EXIT_OK ? prc : rc;
	}
	if (!g->quiet)
		printf("%llu file%s overwritten or hidden; %s %llu\n", (unsigned long long)n,
		       n == 1 ? "" : "s", dry_run ? "would heal" : "healed",
		       (unsigned long long)(dry_run ? n - h.failed : h.healed));
	return rc;
}

static int run(struct cli_global *g, int argc, char **argv)
{
	kura_s3_extend_result r;
	kura_listed_file *snaps = NULL;
	char(*ids)[KURA_ID_HEX] = NULL, **args = NULL;
	kura_backend *b = NULL;
	kura_s3_options o;
	struct cli_getopt p;
	show s = {g, NULL};
	size_t nargs = 0, nsnaps = 0;
	bool dry_run = false, heal;
	const char *loc;
	int c, err, rc;

	if (!(args = calloc((size_t)argc + 1, sizeof(*args))))
		return CLI_EXIT_FATAL;
	cli_getopt_init(&p, g, &cli_cmd_s3, argc, argv, "n", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP) {
			free(args);
			return p.status;
		}
		if (c == OPT_LET_EXPIRE)
			args[nargs++] = (char *)p.arg;
		else if (c == OPT_DRY_RUN || c == 'n')
			dry_run = true;
	}
	rc = CLI_EXIT_USAGE;
	if (optind >= argc ||
	    (strcmp(argv[optind], "extend-locks") != 0 && strcmp(argv[optind], "heal") != 0)) {
		cli_usage_error(&cli_cmd_s3,
				optind >= argc ? "which s3 command? (extend-locks, heal)"
					       : "no s3 command '%s'",
				optind >= argc ? "" : argv[optind]);
		goto done;
	}
	heal = strcmp(argv[optind], "heal") == 0;
	if (heal && nargs) {
		cli_usage_error(&cli_cmd_s3, "--let-expire is for extend-locks, not heal");
		goto done;
	}
	if (optind + 1 < argc) {
		cli_usage_error(&cli_cmd_s3, "unexpected argument '%s'", argv[optind + 1]);
		goto done;
	}
	if (!(loc = cli_repo_location(g, &cli_cmd_s3)))
		goto done;
	if (!kura_location_is_s3(loc)) {
		cli_usage_error(&cli_cmd_s3,
				"%s is not an S3 location (s3://... or s3:https://...)", loc);
		goto done;
	}
	if ((rc = cli_s3_options(&o)) != CLI_EXIT_OK)
		goto done;
	if ((err = kura_backend_s3_open(&b, loc, &o)) < 0) {
		rc = cli_fail(err, NULL);
		goto done;
	}
	if (heal) {
		rc = run_heal(g, b, dry_run);
		goto done;
	}
	if (nargs) {
		if ((err = kura_list_files(&snaps, &nsnaps, b, KURA_FILE_SNAPSHOT)) < 0) {
			rc = cli_fail(err, NULL);
			goto done;
		}
		if (!(ids = calloc(nargs, sizeof(*ids)))) {
			rc = CLI_EXIT_FATAL;
			goto done;
		}
		for (size_t i = 0; i < nargs; i++)
			if ((rc = resolve(ids[i], snaps, nsnaps, args[i])) != CLI_EXIT_OK)
				goto done;
	}
	if (g->json && !(s.files = json_array())) {
		rc = cli_json_print(NULL);
		goto done;
	}
	err = kura_s3_extend_locks(b, (const char(*)[KURA_ID_HEX])ids, nargs, dry_run, on_file, &s,
				   &r);
	if (err < 0) {
		rc = cli_fail(err, "no file was deleted; locks extended before the error stay; run "
				   "it again");
		goto done;
	}
	if (g->json) {
		char until[32];
		time_t t = (time_t)r.until;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
		rc = cli_json_print(json_pack(
		    "{s:b, s:o, s:o, s:o, s:s, s:o}", "dry_run", dry_run, "files",
		    cli_json_u64(r.files), "extended", cli_json_u64(r.extended), "let_expire",
		    cli_json_u64(r.let_expire), "locked_until", until, "list", s.files));
		s.files = NULL;
	} else {
		if (!g->quiet)
			printf("%s the lock of %llu file%s to %lld (epoch s); %llu let expire\n",
			       dry_run ? "would extend" : "extended",
			       (unsigned long long)(dry_run ? r.files : r.extended),
			       r.files == 1 ? "" : "s", (long long)r.until,
			       (unsigned long long)r.let_expire);
		rc = CLI_EXIT_OK;
	}
done:
	json_decref(s.files);
	kura_backend_free(b);
	free(snaps);
	free(ids);
	free(args);
	return rc;
}

const struct cli_command cli_cmd_s3 = {
    .name = "s3",
    .summary = "S3 repositories: extend the Object Lock of what snapshots need; heal "
	       "overwritten or hidden files",
    .usage = "kura s3 extend-locks [--let-expire SNAPSHOT]... [--dry-run]\n"
	     "       kura s3 heal [--dry-run]",
    .help = "Move the Object Lock (COMPLIANCE) of every file the snapshots of the S3\n"
	    "repository at --repo still need to now + the repository's lock period\n"
	    "(kura init --lock-days), each confirmed by a separate request.  Snapshots\n"
	    "named by --let-expire, and the packs no other snapshot needs, are not\n"
	    "extended: once their lock ends, 'kura forget' and 'kura prune' can delete\n"
	    "them.  Needs no key, only the store's credentials (AWS_* variables).\n"
	    "\n"
	    "Run it from the operator's side (a timer on an administration host), well\n"
	    "within the lock period, and never from a backup client: a compromised\n"
	    "client must not decide when backups become deletable.\n"
	    "\n"
	    "Options:\n"
	    "      --let-expire SNAPSHOT  do not extend this snapshot (repeatable)\n"
	    "  -n, --dry-run              only count what would be extended (or healed)\n"
	    "\n"
	    "kura s3 heal finds the files whose name a holder of the writer's S3 keys\n"
	    "overwrote (a newer version with other bytes) or hid (a delete marker), and,\n"
	    "where a stored version still hashes to the name, deletes the delete markers\n"
	    "and copies that version back on top, locked and read back.  Reads by kura\n"
	    "already skip such junk; heal puts the store's own view right.  Exit 4 if a\n"
	    "file could not be healed (no intact version is left).\n",
    .run = run,
};
