/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_scan.c - `kura scan`: ransomware detection after the fact
 * (include/kura/scan.h, docs/DETECTION.md "kura scan").
 *
 * Prints, per snapshot, the scan's verdict beside the one the backup
 * stored, then per source the clean point (the last snapshot before the
 * first suspect one) and the blast radius; --files lists the suspect
 * files with the snapshot each first turned suspect in.  --json prints
 * one object.  Exit 5 when any snapshot scanned is suspect.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kura/keyless.h"
#include "kura/scan.h"
#include "scanaccept.h"

enum { OPT_FILES = CLI_OPT_LONG, OPT_ACCEPT, OPT_REASON };

static const struct option longs[] = {
	{"files", no_argument, NULL, OPT_FILES},
	{"accept", required_argument, NULL, OPT_ACCEPT},
	{"reason", required_argument, NULL, OPT_REASON},
	{NULL, 0, NULL, 0},
};

static const char *verdict_name(int v)
{
	switch (v) {
	case KURA_DETECTION_CLEAN: return "clean";
	case KURA_DETECTION_PARTIAL: return "partial";
	case KURA_DETECTION_SUSPECT: return "suspect";
	default: return NULL;
	}
}

/* A record's JSON text, parsed; without its file list unless `files`. */
static json_t *record_json(const char *text, bool files)
{
	json_t *r = text ? json_loads(text, 0, NULL) : NULL;

	if (r && !files)
		json_object_del(r, "files");
	return r;
}

static json_t *snapshot_json(const kura_scan_snapshot *s, bool files)
{
	json_t *rec = record_json(s->record, files), *o;
	json_t *stored = json_pack("{s:o, s:i}", "verdict",
				   verdict_name(s->stored_verdict)
				       ? json_string(verdict_name(s->stored_verdict))
				       : json_null(),
				   "score", s->stored_score);

	if (stored)
		json_object_set_new(stored, "record",
				    s->stored_record ? record_json(s->stored_record, files)
						     : json_null());
	o = json_pack("{s:s, s:o, s:I, s:s, s:i, s:I, s:I, s:o, s:o}", "id", s->id, "previous",
		      s->previous[0] ? json_string(s->previous) : json_null(), "source",
		      (json_int_t)s->source, "verdict", verdict_name(s->verdict), "score",
		      s->score, "changed", (json_int_t)s->changed, "unreadable",
		      (json_int_t)s->unreadable, "detection", rec ? rec : json_null(), "backup",
		      stored ? stored : json_null());
	if (o) /* kura scan --accept: an operator's word, applied (scanaccept.c) */
		json_object_set_new(o, "accepted", json_boolean(s->accepted));
	return o;
}

static json_t *id_or_null(const char *id)
{
	return id[0] ? json_string(id) : json_null();
}

static int print_json(const kura_scan_result *r, bool files)
{
	json_t *snaps = json_array(), *srcs = json_array();

	for (size_t i = 0; snaps && i < r->nsnapshots; i++)
		json_array_append_new(snaps, snapshot_json(&r->snapshots[i], files));
	for (size_t i = 0; srcs && i < r->nsources; i++) {
		const kura_scan_source *s = &r->sources[i];

		json_array_append_new(
		    srcs, json_pack("{s:o, s:o, s:o, s:o, s:I, s:I}", "host", cli_json_str(s->host),
				    "paths", cli_json_str(s->paths), "clean_point",
				    id_or_null(s->clean_point), "first_suspect",
				    id_or_null(s->first_suspect), "blast_files",
				    (json_int_t)s->blast_files, "suspect_files",
				    (json_int_t)s->suspect_files));
	}
	return cli_json_print(json_pack("{s:o, s:o, s:I}", "snapshots", snaps, "sources", srcs,
					"skipped", (json_int_t)r->skipped));
}

static void print_files(const char *record)
{
	json_t *rec = json_loads(record, 0, NULL), *f, *reason;
	size_t i, j;

	json_array_foreach(json_object_get(rec, "files"), i, f)
	{
		printf("    %s  (", json_string_value(json_object_get(f, "path")));
		json_array_foreach(json_object_get(f, "reasons"), j, reason)
			printf("%s%s", j ? ", " : "", json_string_value(reason));
		printf("; since %.8s)\n", json_string_value(json_object_get(f, "first-suspect")));
	}
	json_decref(rec);
}

static void print_text(const kura_scan_result *r, bool files)
{
	for (size_t i = 0; i < r->nsnapshots; i++) {
		const kura_scan_snapshot *s = &r->snapshots[i];
		const char *stored = verdict_name(s->stored_verdict);

		printf("%.8s  %-7s score %3d  %6llu changed  backup said: %s", s->id,
		       verdict_name(s->verdict), s->score, (unsigned long long)s->changed,
		       stored ? stored : "(no verdict)");
		if (stored)
			printf(" (score %d)", s->stored_score);
		if (s->unreadable)
			printf("  %llu unreadable", (unsigned long long)s->unreadable);
		if (s->accepted)
			printf("  (accepted as a false alarm)");
		printf("\n");
		if (files && s->verdict == KURA_DETECTION_SUSPECT)
			print_files(s->record);
	}
	for (size_t i = 0; i < r->nsources; i++) {
		const kura_scan_source *s = &r->sources[i];

		printf("\nsource %s:%s\n", s->host, s->paths);
		printf("  clean point:   %s\n", s->clean_point[0] ? s->clean_point : "(none)");
		if (s->first_suspect[0])
			printf("  first suspect: %s (%llu files changed since the clean point, "
			       "%llu listed as suspect)\n",
			       s->first_suspect, (unsigned long long)s->blast_files,
			       (unsigned long long)s->suspect_files);
		else
			printf("  no suspect snapshot\n");
	}
	if (r->skipped)
		printf("\n%zu damaged snapshot%s skipped\n", r->skipped, r->skipped == 1 ? "" : "s");
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	kura_repo *repo = NULL;
	kura_scan_result res = {0};
	char (*ids)[KURA_ID_HEX] = NULL;
	const char **idp = NULL;
	size_t nids;
	bool files = false;
	const char *accept = NULL, *reason = NULL;
	int c, rc, err;

	cli_getopt_init(&p, g, &cli_cmd_scan, argc, argv, "", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == OPT_FILES)
			files = true;
		else if (c == OPT_ACCEPT)
			accept = p.arg;
		else if (c == OPT_REASON)
			reason = p.arg;
	}
	nids = (size_t)(argc - optind);
	if ((accept && nids) || (reason && !accept))
		return cli_usage_error(&cli_cmd_scan, accept ? "--accept takes one snapshot, alone"
							     : "--reason goes with --accept");
	if ((rc = cli_repo_open(&repo, g, &cli_cmd_scan)) != CLI_EXIT_OK)
		return rc;
	if (accept) { /* scanaccept.c */
		rc = cli_scan_accept(g, repo, accept, reason);
		goto done;
	}
	if (nids && (!(ids = calloc(nids, sizeof(*ids))) || !(idp = calloc(nids, sizeof(*idp))))) {
		rc = cli_fail(KURA_ENOMEM, NULL);
		goto done;
	}
	for (size_t i = 0; i < nids; i++) {
		if ((rc = cli_snapshot_resolve(repo, argv[optind + (int)i], ids[i])) != CLI_EXIT_OK)
			goto done;
		idp[i] = ids[i];
	}
	if ((err = kura_scan(repo, idp, nids, &res)) < 0) {
		rc = cli_fail(err, NULL);
		goto done;
	}
	if (g->json)
		rc = print_json(&res, files);
	else
		print_text(&res, files);
	for (size_t i = 0; rc == CLI_EXIT_OK && i < res.nsnapshots; i++)
		if (res.snapshots[i].verdict == KURA_DETECTION_SUSPECT)
			rc = CLI_EXIT_SUSPECT;
done:
	kura_scan_result_clear(&res);
	free(ids);
	free(idp);
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_scan = {
	.name = "scan",
	.summary = "look for ransomware in stored snapshots",
	.usage = "kura scan [--files] [SNAPSHOT...] | kura scan --accept SNAPSHOT [--reason TEXT]",
	.help = "Judge each SNAPSHOT (default: all) against its predecessor of the same\n"
		"source (host, paths, excludes) by the backup's detection rules, reading\n"
		"both trees from the repository: a file's type from the magic bytes of its\n"
		"first chunk, random blocks, renames to new extensions, new ransom notes.\n"
		"Each source is judged from its first snapshot on (a verdict needs its\n"
		"predecessor's), so this reads every distinct file version once.\n"
		"\n"
		"Prints each snapshot's verdict beside the one its backup stored, then per\n"
		"source the clean point (the last snapshot before the first suspect one)\n"
		"and the blast radius (files new, changed or gone since the clean point).\n"
		"Needs the restore key.  Exit status 5 when any snapshot is suspect.\n"
		"\n"
		"Options:\n"
		"      --files  list the suspect files, with the snapshot each first turned\n"
		"               suspect in (at most 100 a snapshot)\n"
		"      --accept SNAPSHOT  record that SNAPSHOT's alarm was false: the next\n"
		"               backups of its source weigh files with the same extensions\n"
		"               in the same directories at a tenth, and say so; notes and\n"
		"               onion addresses are never accepted (DETECTION.md)\n"
		"      --reason TEXT  why, kept sealed with the record\n",
	.run = run,
};
