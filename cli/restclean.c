/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restclean.c - the listing of `kura restore --clean` (cleanpick.h): every
 * path of the plan once, with the snapshot its version came from and why,
 * or why it was left out.  Nothing is hidden: the person recovering must
 * be able to check each choice against `kura scan --files`.
 */
#include "restclean.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static json_t *chain_id(const kura_clean_plan *p, size_t i)
{
	return i < p->nchain ? json_string(p->chain[i]) : json_null();
}

static json_t *reasons_json(const char *reasons)
{
	json_t *a = json_array();
	const char *s = reasons;

	while (a && s && *s) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);

		json_array_append_new(a, json_stringn(s, len));
		s = comma ? comma + 1 : NULL;
	}
	return a;
}

json_t *cli_clean_json(const kura_clean_plan *p)
{
	json_t *files = json_array(), *left = json_array(), *counts = json_object();

	for (int w = 0; counts && w < KURA_CLEAN_NWHY; w++)
		json_object_set_new(counts, kura_clean_why_name(w),
				    json_integer((json_int_t)p->count[w]));
	for (size_t i = 0; files && left && i < p->nentries; i++) {
		const kura_clean_entry *e = &p->entries[i];
		json_t *o = json_pack("{s:o, s:s}", "path", cli_json_str(e->path), "why",
				      kura_clean_why_name(e->why));

		if (!o)
			continue;
		if (e->from != SIZE_MAX)
			json_object_set_new(o, "from", chain_id(p, e->from));
		if (e->first_suspect != SIZE_MAX)
			json_object_set_new(o, "first_suspect", chain_id(p, e->first_suspect));
		if (e->reasons)
			json_object_set_new(o, "reasons", reasons_json(e->reasons));
		if (e->original)
			json_object_set_new(o, "original", cli_json_str(e->original));
		if (e->gone_in != SIZE_MAX)
			json_object_set_new(o, "gone_in", chain_id(p, e->gone_in));
		json_array_append_new(e->from == SIZE_MAX ? left : files, o);
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "snapshot",
			 chain_id(p, p->nchain - 1), "first_suspect", chain_id(p, p->first_suspect),
			 "clean_point", chain_id(p, p->clean_point), "window_start",
			 chain_id(p, p->window), "counts", counts, "files", files, "left_out", left,
			 "skipped", (json_int_t)p->skipped);
}

static const char *short_id(const kura_clean_plan *p, size_t i)
{
	static char buf[4][9];
	static int next;
	char *b = buf[next++ & 3];

	snprintf(b, sizeof(buf[0]), "%.8s", i < p->nchain ? p->chain[i] : "-");
	return b;
}

void cli_clean_print(const kura_clean_plan *p)
{
	size_t last = p->nchain - 1;

	if (p->first_suspect == SIZE_MAX) {
		printf(
		    "clean restore of %s: no snapshot of its source is suspect (kura scan); every "
		    "file at its version in it\n",
		    short_id(p, last));
	} else {
		printf(
		    "clean restore of %s: first suspect snapshot %s, clean point %s; files looked "
		    "at from %s on\n",
		    short_id(p, last), short_id(p, p->first_suspect), short_id(p, p->clean_point),
		    short_id(p, p->window));
	}
	for (size_t i = 0; i < p->nentries; i++) {
		const kura_clean_entry *e = &p->entries[i];

		switch (e->why) {
		case KURA_CLEAN_NEWEST:
			printf("  %-14s %s  (%s)\n", "newest", e->path, short_id(p, e->from));
			break;
		case KURA_CLEAN_BEFORE:
			printf("  %-14s %s  (%s; suspect from %s: %s)\n", "before-attack", e->path,
			       short_id(p, e->from), short_id(p, e->first_suspect), e->reasons);
			break;
		case KURA_CLEAN_GONE:
			printf("  %-14s %s  (%s; gone in %s, a mass deletion)\n", "gone", e->path,
			       short_id(p, e->from), short_id(p, e->gone_in));
			break;
		case KURA_CLEAN_DELETED:
			printf("  %-14s %s  (deleted in %s, no sign of the attack; its last "
			       "version is "
			       "in %s)\n",
			       "left out", e->path, short_id(p, e->gone_in),
			       short_id(p, e->gone_in - 1));
			break;
		case KURA_CLEAN_ATTACK:
			printf("  %-14s %s  (attack output, no clean version: %s%s%s)\n",
			       "left out", e->path, e->reasons ? e->reasons : "?",
			       e->original ? "; the original restored: " : "",
			       e->original ? e->original : "");
			break;
		default:
			printf("  %-14s %s  (a copy renamed by the attack; %s is restored)\n",
			       "left out", e->path, e->original);
		}
	}
	printf("%llu newest, %llu from before the attack, %llu gone and brought back; left out: "
	       "%llu attack output, %llu renamed copies, %llu deleted cleanly\n",
	       (unsigned long long)p->count[KURA_CLEAN_NEWEST],
	       (unsigned long long)p->count[KURA_CLEAN_BEFORE],
	       (unsigned long long)p->count[KURA_CLEAN_GONE],
	       (unsigned long long)p->count[KURA_CLEAN_ATTACK],
	       (unsigned long long)p->count[KURA_CLEAN_RENAMED],
	       (unsigned long long)p->count[KURA_CLEAN_DELETED]);
	if (p->skipped)
		printf("%zu damaged snapshot(s) of the repository were not judged\n", p->skipped);
}
