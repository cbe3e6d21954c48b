/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_snapshots.c - `kura snapshots`: list the snapshots, oldest first.
 *
 * With the restore key every column is known.  With a backup key only the
 * id and the time are (the rest of a snapshot is encrypted to the restore
 * key), and the table says so instead of leaving the operator to wonder
 * whether the host name was empty.  A snapshot with several paths takes one
 * line per path, as restic users expect.  JSON is one array; fields that a
 * backup key cannot read are null, never a misleading zero.
 *
 * The time shown is the one that orders the list and picks `latest`: on a
 * vault its own receive time, on a local repository the time the snapshot
 * claims (the writing client's clock).  Where a vault's receive time and
 * the claim differ by more than SKEW_NS, the claim is shown beneath,
 * flagged: a client clock that is wrong, or a writer lying about the time.
 *
 * A snapshot file that does not authenticate is listed, marked damaged,
 * and never hides the others (the reason goes to stderr); the exit status
 * stays 0 unless --fail-on-damage asks to treat damage as an error.
 */
#include "cli.h"

#include "kura/keyless.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kura/backend.h"

static const char locked[] = "(restore key needed)";

#define SKEW_NS (600LL * 1000000000) /* 10 minutes: more is flagged as clock skew */

static bool skewed(const kura_snapshot_info *s)
{
	int64_t d = s->time_ns - s->received_ns;

	return !s->damaged && s->received_ns > 0 && (d > SKEW_NS || d < -SKEW_NS);
}

/* ns since the epoch as RFC 3339 UTC. */
static const char *fmt_ns(char buf[CLI_FMT_MAX], int64_t t)
{
	int64_t sec = t / 1000000000, ns = t % 1000000000;

	if (ns < 0) {
		sec--;
		ns += 1000000000;
	}
	return cli_fmt_time_rfc3339(buf, sec, (uint32_t)ns);
}

enum { OPT_FAIL_ON_DAMAGE = CLI_OPT_LONG };

static const struct option longs[] = {
	{"fail-on-damage", no_argument, NULL, OPT_FAIL_ON_DAMAGE},
	{NULL, 0, NULL, 0},
};

static const char *row_host(const kura_snapshot_info *s)
{
	if (s->damaged)
		return "";
	return s->readable ? (s->hostname ? s->hostname : "") : locked;
}

static const char *row_path(const kura_snapshot_info *s, size_t i)
{
	if (s->damaged)
		return "";
	if (!s->readable)
		return i == 0 ? locked : "";
	return i < s->npaths ? s->paths[i] : "";
}

/* The tags joined with commas; malloc'd. */
static char *join_tags(const kura_snapshot_info *s)
{
	size_t len = 1, i;
	char *out;

	for (i = 0; s->readable && i < s->ntags; i++)
		len += strlen(s->tags[i]) + 1;
	if (!(out = malloc(len)))
		return NULL;
	out[0] = '\0';
	for (i = 0; s->readable && i < s->ntags; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, s->tags[i]);
	}
	return out;
}

static int max_int(int a, size_t b)
{
	return (size_t)a > b ? a : (int)b;
}

static int print_table(const kura_snapshot_info *list, size_t n, size_t ndamaged)
{
	char **tags = calloc(n ? n : 1, sizeof(*tags));
	char tbuf[CLI_FMT_MAX], sbuf[CLI_FMT_MAX];
	int wh = 4, wt = 4, wp = 5, rc = CLI_EXIT_OK;
	size_t i, j, rows, nskewed = 0, nsuspect = 0;

	if (!tags)
		goto oom;
	for (i = 0; i < n; i++) {
		if (!(tags[i] = join_tags(&list[i])))
			goto oom;
		wh = max_int(wh, strlen(row_host(&list[i])));
		wt = max_int(wt, strlen(tags[i]));
		rows = list[i].readable && list[i].npaths > 1 ? list[i].npaths : 1;
		for (j = 0; j < rows; j++)
			wp = max_int(wp, strlen(row_path(&list[i], j)));
	}
	printf("%-8s  %-19s  %-*s  %-*s  %-*s  %10s\n", "ID", "Time", wh, "Host", wt, "Tags", wp,
	       "Paths", "Size");
	for (i = 0; i < (size_t)(8 + 2 + 19 + 2 + wh + 2 + wt + 2 + wp + 2 + 10); i++)
		putchar('-');
	putchar('\n');
	for (i = 0; i < n; i++) {
		const kura_snapshot_info *s = &list[i];

		printf("%.8s  %-19s  %-*s  %-*s  %-*s  %10s\n", s->id,
		       s->damaged ? "(damaged)"
				  : cli_fmt_time_local(tbuf, kura_snapshot_order_ns(s) / 1000000000),
		       wh, row_host(s), wt,
		       tags[i], wp, row_path(s, 0),
		       s->readable ? cli_fmt_size(sbuf, s->bytes) : "");
		for (j = 1; s->readable && j < s->npaths; j++)
			printf("%*s%s\n", 8 + 2 + 19 + 2 + wh + 2 + wt + 2, "", s->paths[j]);
		if (s->detection == KURA_DETECTION_SUSPECT) {
			printf("%10sSUSPECT: its backup showed signs of ransomware (score %d)\n", "",
			       s->detection_score);
			nsuspect++;
		}
		if (skewed(s)) {
			printf("%10sclaimed %s (clock skew!)\n", "",
			       cli_fmt_time_local(tbuf, s->time_ns / 1000000000));
			nskewed++;
		}
	}
	for (i = 0; i < (size_t)(8 + 2 + 19 + 2 + wh + 2 + wt + 2 + wp + 2 + 10); i++)
		putchar('-');
	printf("\n%zu snapshot%s", n, n == 1 ? "" : "s");
	if (ndamaged)
		printf(", %zu damaged (not readable: see the warnings)", ndamaged);
	if (nsuspect)
		printf(", %zu SUSPECT (signs of ransomware when backed up)", nsuspect);
	if (nskewed)
		printf(", %zu claiming a time far from when the vault received %s (ordered by "
		       "receipt)",
		       nskewed, nskewed == 1 ? "it" : "them");
	putchar('\n');
	goto done;
oom:
	fputs("kura: out of memory\n", stderr);
	rc = CLI_EXIT_FATAL;
done:
	for (i = 0; tags && i < n; i++)
		free(tags[i]);
	free(tags);
	return rc;
}

static json_t *str_array(char *const *items, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, cli_json_str(items[i]));
	return a;
}

static json_t *snapshot_json(const kura_snapshot_info *s)
{
	char tbuf[CLI_FMT_MAX], short_id[9];
	json_t *o = json_object();

	snprintf(short_id, sizeof(short_id), "%.8s", s->id);
	json_object_set_new(o, "id", json_string(s->id));
	json_object_set_new(o, "short_id", json_string(short_id));
	json_object_set_new(o, "damaged", json_boolean(s->damaged));
	json_object_set_new(o, "damage", s->damaged ? cli_json_str(s->damage) : json_null());
	/* "time" orders (the vault's receive time where known); the claim beside it */
	json_object_set_new(o, "time", s->damaged ? json_null()
						  : json_string(fmt_ns(tbuf, kura_snapshot_order_ns(s))));
	json_object_set_new(o, "claimed_time",
			    s->damaged ? json_null() : json_string(fmt_ns(tbuf, s->time_ns)));
	json_object_set_new(o, "received_time",
			    s->received_ns > 0 ? json_string(fmt_ns(tbuf, s->received_ns))
					       : json_null());
	json_object_set_new(o, "clock_skew", json_boolean(skewed(s)));
	json_object_set_new(o, "readable", json_boolean(s->readable));
	json_object_set_new(o, "packs", s->damaged ? json_null() : cli_json_u64(s->npacks));
	json_object_set_new(o, "detection",
			    s->detection == KURA_DETECTION_SUSPECT   ? json_string("suspect")
			    : s->detection == KURA_DETECTION_PARTIAL ? json_string("partial")
			    : s->detection == KURA_DETECTION_CLEAN   ? json_string("clean")
								     : json_null());
	json_object_set_new(o, "detection_score",
			    s->detection ? json_integer(s->detection_score) : json_null());
	if (s->readable) {
		json_object_set_new(o, "hostname", cli_json_str(s->hostname ? s->hostname : ""));
		json_object_set_new(o, "username", cli_json_str(s->username ? s->username : ""));
		json_object_set_new(o, "paths", str_array(s->paths, s->npaths));
		json_object_set_new(o, "tags", str_array(s->tags, s->ntags));
		json_object_set_new(o, "files", cli_json_u64(s->files));
		json_object_set_new(o, "bytes", cli_json_u64(s->bytes));
		json_object_set_new(o, "tree", json_string(s->tree));
	} else {
		json_object_set_new(o, "hostname", json_null());
		json_object_set_new(o, "username", json_null());
		json_object_set_new(o, "paths", json_null());
		json_object_set_new(o, "tags", json_null());
		json_object_set_new(o, "files", json_null());
		json_object_set_new(o, "bytes", json_null());
		json_object_set_new(o, "tree", json_null());
	}
	return o;
}

/*
 * How many snapshots the vault hides as quarantined (docs/PROTOCOL.md,
 * "Quarantine"); 0 on a local repository, an older vault, a credential
 * that may not ask, or an answer that does not parse: a count, never a
 * reason to fail the listing.
 */
static size_t quarantined_snapshots(kura_repo *repo)
{
	kura_backend *b = kura_repo_backend(repo);
	const json_t *r;
	uint8_t *body = NULL;
	size_t len = 0, n = 0, i;
	long status = 0;
	json_t *doc;

	if (!kura_backend_has(b, KURA_BACKEND_HAS_QUARANTINE) ||
	    kura_vault_list_quarantine(b, &status, &body, &len) < 0 || status != 200) {
		free(body);
		return 0;
	}
	doc = json_loadb((const char *)body, len, 0, NULL);
	free(body);
	json_array_foreach(doc, i, r)
	{
		const json_t *c = json_object_get(json_object_get(r, "counts"), "snapshots");

		if (json_is_string(json_object_get(r, "state")) &&
		    strcmp(json_string_value(json_object_get(r, "state")), "quarantined") == 0 &&
		    json_is_integer(c) && json_integer_value(c) > 0)
			n += (size_t)json_integer_value(c);
	}
	json_decref(doc);
	return n;
}

static int run(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	kura_repo *repo = NULL;
	kura_snapshot_info *list = NULL;
	const kura_snapshot_info *first_problem = NULL;
	size_t n = 0, ndamaged = 0, nproblems = 0, nquarantined, i;
	bool fail_on_damage = false;
	json_t *arr;
	int c, rc, err;

	cli_getopt_init(&p, g, &cli_cmd_snapshots, argc, argv, "", longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == OPT_FAIL_ON_DAMAGE)
			fail_on_damage = true;
	}
	if (optind < argc)
		return cli_usage_error(&cli_cmd_snapshots, "unexpected argument '%s'",
				       argv[optind]);
	if ((rc = cli_repo_open(&repo, g, &cli_cmd_snapshots)) != CLI_EXIT_OK)
		return rc;
	if ((err = kura_snapshots_list(repo, &list, &n)) < 0) {
		rc = cli_fail(err, NULL);
		goto done;
	}
	for (i = 0; i < n; i++) {
		ndamaged += list[i].damaged;
		if (list[i].time_problem && !first_problem)
			first_problem = &list[i];
		nproblems += list[i].time_problem != NULL;
	}
	/* one line, not one per snapshot: an older vault sends no times at all */
	if (first_problem)
		fprintf(stderr,
			"kura: warning: the vault sent no usable receive time for %zu snapshot%s "
			"(%.8s: %s): ordered by the time %s\n",
			nproblems, nproblems == 1 ? "" : "s", first_problem->id,
			first_problem->time_problem, nproblems == 1 ? "it claims" : "they claim");
	/* Said apart from the list: the vault does not even name them to a reader. */
	if ((nquarantined = quarantined_snapshots(repo)) > 0)
		fprintf(g->json ? stderr : stdout,
			"%s%zu quarantined snapshot%s hidden by the vault (a revoked client's "
			"uploads; the vault operator sees them with 'kurad quarantine list')\n",
			g->json ? "kura: note: " : "", nquarantined, nquarantined == 1 ? "" : "s");
	if (g->json) {
		arr = json_array();
		for (i = 0; arr && i < n; i++)
			json_array_append_new(arr, snapshot_json(&list[i]));
		rc = cli_json_print(arr);
	} else {
		rc = print_table(list, n, ndamaged);
	}
	if (rc == CLI_EXIT_OK && fail_on_damage) {
		kura_damage *d = NULL;
		size_t nd = 0;

		if (kura_repo_damage(repo, &d, &nd) == 0 && (nd || ndamaged))
			rc = CLI_EXIT_INTEGRITY;
		free(d);
	}
done:
	kura_snapshots_free(list, n);
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_snapshots = {
	.name = "snapshots",
	.summary = "list the snapshots",
	.usage = "kura snapshots [--fail-on-damage]",
	.help = "List the snapshots, oldest first: id, time (local), host, tags, paths and\n"
		"the total size of their files.  On a vault the time is when the vault\n"
		"received the snapshot, which orders the list and picks 'latest'; a claimed\n"
		"time more than 10 minutes away from it is shown beneath, flagged '(clock\n"
		"skew!)'.  On a local repository it is the time the snapshot claims (the\n"
		"backing-up client's clock).  With a backup key only the id and the time\n"
		"can be read; the other columns show '(restore key needed)'.  A snapshot\n"
		"file that does not authenticate is listed first as '(damaged)', with the\n"
		"reason on stderr; the others are listed as usual.\n"
		"\n"
		"Options:\n"
		"      --fail-on-damage  exit with status 4 if any snapshot or other file read\n"
		"                        was damaged (default: warn and exit 0)\n",
	.run = run,
};
