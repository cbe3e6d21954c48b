/* SPDX-License-Identifier: Apache-2.0 */
/*
 * judge.c - points per signal, score, CUSUM and verdict (judge.h).
 *
 * The score is the sum of the signals' points, capped at 100; a backup at
 * or above KURA_DETECT_SUSPECT_SCORE is suspect.  Content signals are
 * weighed by the share of the tree they touch (10 points per percent, so
 * 5 % of the files turning to noise alone is an attack), and by count
 * when the tree is small (fewer than three files never make an attack
 * alone: one damaged or hand-encrypted file is not a campaign).  Notes
 * and onion addresses are near-certain on their own.  Deletions count
 * only in mass, and not when new archives of comparable size appear (an
 * archival job).
 *
 * Slow attacks: a one-sided CUSUM over the content share, S = max(0, S +
 * share - slack), alarms at S >= line: 2 % a day alarms on the third
 * backup (1.5, 3.0, 4.5), a normal day (no content signal) takes the slack
 * off.  The accumulator is kept only where history is (state.h).  With
 * fewer than three content files a backup adds at most 2 % to it, as it
 * gets at most 30 points: in a small tree one file is a large share.
 */
#include "detect/judge.h"

#include "detect/accept.h"

static const char *const signal_names[KURA_SIG_COUNT] = {
    "type-mismatch", "type-lost",     "turned-to-noise", "partial-encryption", "renamed-to-noise",
    "ransom-note",   "onion-address", "mass-deletion",	 "new-noise",	       "slow-attack",
};

const char *kura_detect_signal_name(kura_signal s)
{
	return (unsigned)s < KURA_SIG_COUNT ? signal_names[s] : "unknown";
}

const char *kura_detect_verdict_name(kura_verdict v)
{
	switch (v) {
	case KURA_VERDICT_CLEAN:
		return "clean";
	case KURA_VERDICT_PARTIAL:
		return "partial";
	case KURA_VERDICT_SUSPECT:
		return "suspect";
	}
	return "unknown";
}

static int cap(double v, int max)
{
	return v >= max ? max : v <= 0 ? 0 : (int)(v + 0.5);
}

void kura_detect_judge(const kura_detect_tally *t, kura_detect_outcome *out)
{
	uint64_t base = t->files > t->prev_files ? t->files : t->prev_files;
	const uint64_t *c = t->counts;
	/* what an operator accepted weighs a tenth (accept.h): its threshold is ten times higher */
	uint64_t content = t->content_files - t->accepted_files +
			   t->accepted_files / KURA_DETECT_ACCEPT_DIVISOR;
	uint64_t new_noise =
	    c[KURA_SIG_NEW_NOISE] - t->accepted_new + t->accepted_new / KURA_DETECT_ACCEPT_DIVISOR;
	double share, gone_share;
	int sum = 0;

	if (base == 0)
		base = 1;
	*out = (kura_detect_outcome){0};
	share = 100.0 * (double)content / (double)base;
	out->share = share;
	/* every content file has a reason; the points go to the content signals as a whole */
	{
		int pts = cap(10.0 * share, 100);

		if (content < 3 && pts > 30)
			pts = 30;
		for (int s = KURA_SIG_MISMATCH; s <= KURA_SIG_RENAMED; s++)
			if (c[s]) {
				/* shared in proportion, so the strongest reason leads the message
				 */
				out->points[s] = (int)((uint64_t)pts * c[s] / t->content_files);
			}
		sum += pts;
	}
	/* a listed note name in two directories, or one unlisted name in three with a note's shape
	 */
	if (t->note_dirs_named >= 2 || t->note_dirs_shape >= 3)
		out->points[KURA_SIG_NOTE] = 100;
	else if (t->note_dirs_named == 1)
		out->points[KURA_SIG_NOTE] = 30;
	out->points[KURA_SIG_ONION] = cap(30.0 * (double)c[KURA_SIG_ONION], 60);
	gone_share = t->prev_files ? (double)c[KURA_SIG_DELETED] / (double)t->prev_files : 0;
	/* an archival job: new archives at least a twentieth of what went */
	if (t->new_dense_bytes * 20 < t->gone_bytes || t->gone_bytes == 0) {
		if (c[KURA_SIG_DELETED] >= 20 && gone_share >= 0.5)
			out->points[KURA_SIG_DELETED] = 60;
		else
			out->points[KURA_SIG_DELETED] = cap(50.0 * gone_share, 25);
	}
	out->points[KURA_SIG_NEW_NOISE] =
	    cap(200.0 * (double)new_noise / (double)base, 40);
	for (int s = KURA_SIG_NOTE; s < KURA_SIG_SLOW; s++)
		sum += out->points[s];
	if (t->history) {
		/* in a small tree one file is a large share: it alone must not cross the line */
		double step = content < 3 && share > 2.0 ? 2.0 : share;

		out->cusum = t->cusum + step - KURA_DETECT_CUSUM_SLACK;
		if (out->cusum < 0)
			out->cusum = 0;
		if (out->cusum >= KURA_DETECT_CUSUM_LINE)
			out->points[KURA_SIG_SLOW] = KURA_DETECT_SUSPECT_SCORE;
		sum += out->points[KURA_SIG_SLOW];
	}
	out->score = sum > 100 ? 100 : sum;
	if (out->score >= KURA_DETECT_SUSPECT_SCORE)
		out->verdict = KURA_VERDICT_SUSPECT;
	else
		out->verdict = t->history ? KURA_VERDICT_CLEAN : KURA_VERDICT_PARTIAL;
}
