/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status321.c - the 3-2-1-1-0 report (include/kura/status321.h).
 *
 * Copies are known by their label: the newest copy record of a label
 * says where it is and how its last run ended, the newest passed one what
 * it is known to hold.  A copy counts for rule 3 only if it holds the
 * repository's newest snapshot; for the media, off-site and offline rules
 * it counts while its last good sync is younger than copy_age_s, because
 * a weekly off-site copy is never as new as the nightly backup and still
 * is the copy that survives the fire.  The repository itself is the
 * first copy.  Rule 0 wants a passed drill and a passed check --read-data
 * of the repository, each young enough, and nothing failed since in any
 * copy it can see: a failed record stays red until a later one passes.
 */
#include "kura/status321.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/error.h"
#include "repo/proof_int.h"

#define NS 1000000000LL

static const char *const rule_names[KURA_RULES] = {"3 copies", "2 media", "1 off-site",
						   "1 offline or immutable", "0 errors"};

const char *kura_status_rule_name(int rule)
{
	return rule >= 0 && rule < KURA_RULES ? rule_names[rule] : "?";
}

/* "3h", "2.5d": an age for a reason line. */
static const char *age(char buf[32], int64_t ns)
{
	double s = (double)ns / (double)NS;

	if (s < 0)
		snprintf(buf, 32, "in the future");
	else if (s < 3600)
		snprintf(buf, 32, "%.0fm", s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, 32, "%.1fh", s / 3600);
	else
		snprintf(buf, 32, "%.1fd", s / 86400);
	return buf;
}

/* Append to a rule's text, "; " between parts (", " in a list of names),
 * cut at the buffer's end. */
static void vadd(char *dst, size_t size, const char *sep, const char *fmt, va_list ap)
{
	size_t n = strlen(dst);

	if (n + 3 >= size)
		return;
	if (n) {
		memcpy(dst + n, sep, 3);
		n += 2;
	}
	vsnprintf(dst + n, size - n, fmt, ap);
}

static void add(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(dst, size, "; ", fmt, ap);
	va_end(ap);
}

static void addl(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void addl(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(dst, size, ", ", fmt, ap);
	va_end(ap);
}

static bool immutable_or_offline(kura_media m)
{
	return m == KURA_MEDIA_REMOVABLE || m == KURA_MEDIA_VAULT || m == KURA_MEDIA_S3 ||
	       m == KURA_MEDIA_TAPE;
}

/* Drills and checks of one store into `c`. */
static int read_store(kura_backend *b, kura_status_copy *c, const kura_proof_info *proofs, size_t n,
		      size_t *damaged)
{
	kura_proof__drill d;
	int err;

	if ((err = kura_proof__latest_drill(b, &d)) < 0)
		return err;
	*damaged += d.damaged;
	c->drill_ns = d.time_ns;
	c->drill_passed = d.passed;
	c->drill_rto_s = d.rto_s;
	for (size_t i = 0; i < n; i++) {
		if (proofs[i].damage) {
			(*damaged)++;
			continue;
		}
		if (proofs[i].kind != KURA_PROOF_CHECK || proofs[i].time_ns < c->check_ns)
			continue;
		c->check_ns = proofs[i].time_ns;
		c->check_passed = proofs[i].passed;
		c->check_problems = proofs[i].problems;
	}
	c->looked = true;
	return 0;
}

/* A copy on a local path that is there now: read its own drills and checks. */
static void look_at_copy(kura_status_copy *c, size_t *damaged)
{
	kura_backend *b = NULL;
	kura_proof_info *proofs = NULL;
	char config[KURA_PROOF_TARGET_MAX + 16];
	struct stat st;
	size_t n = 0;

	if (strncmp(c->target, "vault://", 8) == 0) {
		snprintf(c->unreachable, sizeof(c->unreachable),
			 "a vault: run kura status on it with its reader credential");
		return;
	}
	snprintf(config, sizeof(config), "%s/config", c->target);
	if (c->target[0] != '/' || stat(config, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(c->unreachable, sizeof(c->unreachable), "not mounted now");
		return;
	}
	if (kura_backend_local_open(&b, c->target) < 0 || kura_proofs_list(b, &proofs, &n) < 0 ||
	    read_store(b, c, proofs, n, damaged) < 0)
		snprintf(c->unreachable, sizeof(c->unreachable), "%s", kura_error_message());
	kura_proofs_free(proofs, n);
	kura_backend_free(b);
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const kura_status_copy *)a)->label, ((const kura_status_copy *)b)->label);
}

/* The copies, one per label, from the proof records (oldest first). */
static int collect_copies(kura_status_report *r, const kura_proof_info *proofs, size_t n,
			  const kura_status_policy *p, int64_t copy_age_ns)
{
	for (size_t i = 0; i < n; i++) {
		const kura_proof_info *pr = &proofs[i];
		kura_status_copy *c = NULL;

		if (pr->damage || pr->kind != KURA_PROOF_COPY)
			continue;
		for (size_t j = 1; j < r->ncopies; j++)
			if (strcmp(r->copies[j].label, pr->label) == 0)
				c = &r->copies[j];
		if (!c) {
			kura_status_copy *v = realloc(r->copies, (r->ncopies + 1) * sizeof(*v));

			if (!v)
				return kura_error_set(KURA_ENOMEM, "status: out of memory");
			r->copies = v;
			c = &r->copies[r->ncopies++];
			memset(c, 0, sizeof(*c));
			memcpy(c->label, pr->label, sizeof(c->label));
		}
		/* oldest first: each later record overrides */
		memcpy(c->target, pr->target, sizeof(c->target));
		c->media = pr->media;
		c->site = pr->site;
		c->copied_ns = pr->time_ns;
		c->copy_passed = pr->passed;
		c->copy_problems = pr->problems;
		c->copy_files = pr->files;
		if (pr->passed) {
			c->synced_ns = pr->time_ns;
			memcpy(c->snapshot_id, pr->snapshot_id, KURA_ID_HEX);
		}
	}
	if (r->ncopies > 2)
		qsort(r->copies + 1, r->ncopies - 1, sizeof(*r->copies), label_cmp);
	for (size_t j = 1; j < r->ncopies; j++) {
		kura_status_copy *c = &r->copies[j];

		/* a copy whose last run failed is not trusted to hold anything until one passes */
		c->current =
		    c->copy_passed && r->newest[0] && strcmp(c->snapshot_id, r->newest) == 0;
		c->fresh =
		    c->copy_passed && c->synced_ns && r->now_ns - c->synced_ns <= copy_age_ns;
	}
	(void)p;
	return 0;
}

static void rule_copies(kura_status_report *r)
{
	kura_status_rule *ru = &r->rules[KURA_RULE_COPIES];
	char names[400] = "";

	for (size_t j = 0; j < r->ncopies; j++)
		if (r->copies[j].current || (j == 0 && r->newest[0])) {
			r->holding++;
			addl(names, sizeof(names), "%s",
			     j == 0 ? "the repository" : r->copies[j].label);
		}
	ru->ok = r->holding >= 3;
	if (!r->newest[0]) {
		snprintf(ru->reason, sizeof(ru->reason), "the repository holds no snapshot");
		snprintf(ru->fix, sizeof(ru->fix), "kura backup PATH...");
		return;
	}
	snprintf(ru->reason, sizeof(ru->reason),
		 "%zu of 3 copies hold the newest snapshot %.8s (%s)", r->holding, r->newest,
		 names);
	if (ru->ok)
		return;
	for (size_t j = 1; j < r->ncopies; j++)
		if (!r->copies[j].current)
			add(ru->fix, sizeof(ru->fix), "kura copy --to %s --label '%s'",
			    r->copies[j].target, r->copies[j].label);
	if (r->ncopies < 3) /* fewer than two copies recorded: make new ones */
		add(ru->fix, sizeof(ru->fix),
		    "kura copy --to DIR --media removable (a disk "
		    "unplugged afterwards) or --to vault://HOST:PORT/REPO");
}

static void rule_media(kura_status_report *r)
{
	kura_status_rule *ru = &r->rules[KURA_RULE_MEDIA];
	bool seen[KURA_MEDIA_TAPE + 1] = {0};
	char names[200] = "";

	for (size_t j = 0; j < r->ncopies; j++) {
		kura_media m = r->copies[j].media;

		if ((j == 0 || r->copies[j].fresh) && m >= KURA_MEDIA_DISK &&
		    m <= KURA_MEDIA_TAPE && !seen[m]) {
			seen[m] = true;
			r->media_kinds++;
			addl(names, sizeof(names), "%s", kura_media_name(m));
		}
	}
	ru->ok = r->media_kinds >= 2;
	snprintf(ru->reason, sizeof(ru->reason),
		 "%zu kind(s) of media among the repository and "
		 "the copies synced lately (%s)",
		 r->media_kinds, names);
	if (!ru->ok)
		snprintf(
		    ru->fix, sizeof(ru->fix),
		    "kura copy --to vault://HOST:PORT/REPO, or --to DIR --media removable|tape");
}

static void rule_offsite(kura_status_report *r)
{
	kura_status_rule *ru = &r->rules[KURA_RULE_OFFSITE];
	char names[400] = "";

	for (size_t j = 0; j < r->ncopies; j++)
		if ((j == 0 || r->copies[j].fresh) && r->copies[j].site == KURA_SITE_OFFSITE) {
			r->offsite++;
			addl(names, sizeof(names), "%s",
			     j == 0 ? "the repository" : r->copies[j].label);
		}
	ru->ok = r->offsite >= 1;
	if (ru->ok) {
		snprintf(ru->reason, sizeof(ru->reason),
			 "%zu off-site copy(ies) synced lately (%s)", r->offsite, names);
		return;
	}
	snprintf(ru->reason, sizeof(ru->reason), "no off-site copy synced lately");
	for (size_t j = 1; j < r->ncopies; j++)
		if (r->copies[j].site == KURA_SITE_OFFSITE)
			add(ru->fix, sizeof(ru->fix), "kura copy --to %s --label '%s'",
			    r->copies[j].target, r->copies[j].label);
	if (!ru->fix[0])
		snprintf(ru->fix, sizeof(ru->fix),
			 "kura copy --to vault://HOST:PORT/REPO (a vault off-site), or --to DIR "
			 "--site offsite");
}

static void rule_offline(kura_status_report *r, int64_t copy_age_ns)
{
	kura_status_rule *ru = &r->rules[KURA_RULE_OFFLINE];
	char names[400] = "", stale[400] = "", a[32];

	for (size_t j = 0; j < r->ncopies; j++) {
		const kura_status_copy *c = &r->copies[j];

		if (!immutable_or_offline(c->media))
			continue;
		if (j == 0 || c->fresh) {
			r->offline++;
			addl(names, sizeof(names), "%s on %s", j == 0 ? "the repository" : c->label,
			     kura_media_name(c->media));
		} else {
			addl(stale, sizeof(stale), "%s on %s last synced %s ago", c->label,
			     kura_media_name(c->media),
			     c->synced_ns ? age(a, r->now_ns - c->synced_ns) : "never");
			add(ru->fix, sizeof(ru->fix), "kura copy --to %s --label '%s'", c->target,
			    c->label);
		}
	}
	ru->ok = r->offline >= 1;
	if (ru->ok) {
		snprintf(ru->reason, sizeof(ru->reason), "%s", names);
		ru->fix[0] = '\0';
		return;
	}
	snprintf(ru->reason, sizeof(ru->reason),
		 "no offline or immutable copy synced within %s%s%s", age(a, copy_age_ns),
		 stale[0] ? ": " : "", stale);
	if (!ru->fix[0])
		snprintf(ru->fix, sizeof(ru->fix),
			 "kura copy --to DIR --media removable (then unplug it), or --to "
			 "vault://HOST:PORT/REPO");
}

static void rule_zero(kura_status_report *r, int64_t drill_age_ns, int64_t check_age_ns)
{
	kura_status_rule *ru = &r->rules[KURA_RULE_ZERO];
	const kura_status_copy *s = &r->copies[0];
	char a[32];

	if (!s->drill_ns) {
		add(ru->reason, sizeof(ru->reason), "the repository was never drilled");
		add(ru->fix, sizeof(ru->fix), "kura drill");
	} else if (!s->drill_passed) {
		add(ru->reason, sizeof(ru->reason), "the last drill (%s ago) failed",
		    age(a, r->now_ns - s->drill_ns));
		add(ru->fix, sizeof(ru->fix),
		    "kura drill (after kura check --read-data and kura "
		    "repair)");
	} else if (r->now_ns - s->drill_ns > drill_age_ns) {
		add(ru->reason, sizeof(ru->reason), "the last drill passed but is %s old",
		    age(a, r->now_ns - s->drill_ns));
		add(ru->fix, sizeof(ru->fix), "kura drill");
	}
	if (!s->check_ns) {
		add(ru->reason, sizeof(ru->reason), "check --read-data never ran");
		add(ru->fix, sizeof(ru->fix), "kura check --read-data");
	} else if (!s->check_passed) {
		add(ru->reason, sizeof(ru->reason),
		    "the last check --read-data (%s ago) found "
		    "%llu problem(s)",
		    age(a, r->now_ns - s->check_ns), (unsigned long long)s->check_problems);
		add(ru->fix, sizeof(ru->fix), "kura check --read-data (after kura repair)");
	} else if (r->now_ns - s->check_ns > check_age_ns) {
		add(ru->reason, sizeof(ru->reason),
		    "the last check --read-data passed but is %s old",
		    age(a, r->now_ns - s->check_ns));
		add(ru->fix, sizeof(ru->fix), "kura check --read-data");
	}
	for (size_t j = 1; j < r->ncopies; j++) {
		const kura_status_copy *c = &r->copies[j];

		if (!c->copy_passed) {
			add(ru->reason, sizeof(ru->reason),
			    "the last copy to %s (%s ago) had %llu "
			    "problem(s)",
			    c->label, age(a, r->now_ns - c->copied_ns),
			    (unsigned long long)c->copy_problems);
			add(ru->fix, sizeof(ru->fix), "kura copy --to %s --label '%s'", c->target,
			    c->label);
		}
		if (c->looked && c->drill_ns && !c->drill_passed) {
			add(ru->reason, sizeof(ru->reason), "the last drill of %s failed",
			    c->label);
			add(ru->fix, sizeof(ru->fix), "kura --repo %s drill", c->target);
		}
		if (c->looked && c->check_ns && !c->check_passed) {
			add(ru->reason, sizeof(ru->reason),
			    "the last check --read-data of %s failed", c->label);
			add(ru->fix, sizeof(ru->fix), "kura --repo %s check --read-data",
			    c->target);
		}
	}
	if (r->damaged_records) {
		add(ru->reason, sizeof(ru->reason), "%zu drill or proof record(s) do not parse",
		    r->damaged_records);
		add(ru->fix, sizeof(ru->fix), "kura check");
	}
	ru->ok = ru->reason[0] == '\0';
	if (ru->ok)
		snprintf(
		    ru->reason, sizeof(ru->reason),
		    "drill passed %s ago, check --read-data passed %s ago, every copy verified",
		    age(a, r->now_ns - s->drill_ns), age((char[32]){0}, r->now_ns - s->check_ns));
}

int kura_status321(kura_backend *b, const char *location, const kura_status_policy *p,
		   kura_status_report *out)
{
	kura_status_policy def = {0};
	kura_proof_info *proofs = NULL;
	kura_status_copy *src;
	size_t n = 0;
	int64_t drill_age, check_age, copy_age;
	int err;

	memset(out, 0, sizeof(*out));
	if (!p)
		p = &def;
	drill_age = (p->drill_age_s > 0 ? p->drill_age_s : KURA_STATUS_DRILL_AGE_S) * NS;
	check_age = (p->check_age_s > 0 ? p->check_age_s : KURA_STATUS_CHECK_AGE_S) * NS;
	copy_age = (p->copy_age_s > 0 ? p->copy_age_s : KURA_STATUS_COPY_AGE_S) * NS;
	out->now_ns = p->now_ns > 0 ? p->now_ns : kura_now_ns(CLOCK_REALTIME);
	if (!(out->copies = calloc(1, sizeof(*out->copies))))
		return kura_error_set(KURA_ENOMEM, "status: out of memory");
	out->ncopies = 1;
	src = &out->copies[0];
	src->is_source = true;
	snprintf(src->label, sizeof(src->label), "repository");
	snprintf(src->target, sizeof(src->target), "%s", location ? location : "");
	src->media = p->media					? p->media
		     : strncmp(src->target, "vault://", 8) == 0 ? KURA_MEDIA_VAULT
								: KURA_MEDIA_DISK;
	src->site = p->site ? p->site : KURA_SITE_ONSITE;
	src->fresh = true;

	err = kura_newest_snapshot(b, NULL, out->newest, &out->newest_ns);
	if (err == KURA_ENOTFOUND)
		err = 0;
	if (err < 0)
		goto done;
	if ((err = kura_proofs_list(b, &proofs, &n)) < 0 ||
	    (err = read_store(b, &out->copies[0], proofs, n, &out->damaged_records)) < 0)
		goto done;
	out->copies[0].synced_ns = out->newest_ns;
	memcpy(out->copies[0].snapshot_id, out->newest, KURA_ID_HEX);
	out->copies[0].current = out->newest[0] != '\0';
	if ((err = collect_copies(out, proofs, n, p, copy_age)) < 0)
		goto done;
	for (size_t j = 1; j < out->ncopies; j++)
		if (p->keep_away)
			snprintf(out->copies[j].unreachable, sizeof(out->copies[j].unreachable),
				 "not looked at from here");
		else
			look_at_copy(&out->copies[j], &out->damaged_records);
	rule_copies(out);
	rule_media(out);
	rule_offsite(out);
	rule_offline(out, copy_age);
	rule_zero(out, drill_age, check_age);
	out->all_ok = true;
	for (int i = 0; i < KURA_RULES; i++)
		out->all_ok = out->all_ok && out->rules[i].ok;
done:
	kura_proofs_free(proofs, n);
	return err;
}

void kura_status_report_clear(kura_status_report *r)
{
	if (!r)
		return;
	free(r->copies);
	memset(r, 0, sizeof(*r));
}
