/* SPDX-License-Identifier: Apache-2.0 */
/*
 * progress.c - the live progress line and per-path warnings.
 *
 * While a long operation runs, one line on stderr is redrawn in place:
 * elapsed time, files and bytes done out of the total (once the library
 * knows it), the rate and an estimate of the time left.  It is shown only
 * when stderr is a terminal and neither --json nor --quiet was given, so
 * logs and pipes never fill with carriage returns.  The library already
 * limits how often it calls back, so every call redraws.
 *
 * Warnings share the terminal line: the progress line is cleared before a
 * warning is printed and redrawn at the next update.  Warnings are printed
 * even with --quiet and --json, because an unreadable file is something
 * the operator must hear about.
 */
#include "cli.h"

#include <stdio.h>
#include <unistd.h>

void cli_progress_init(struct cli_progress *p, const struct cli_global *g)
{
	p->enabled = !g->json && !g->quiet && isatty(STDERR_FILENO);
	p->drawn = false;
	p->warnings = 0;
}

void cli_progress_clear(struct cli_progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = false;
	}
}

void cli_progress_update(const kura_progress *pr, void *ctx)
{
	struct cli_progress *p = ctx;
	char elapsed[CLI_FMT_MAX], done[CLI_FMT_MAX], total[CLI_FMT_MAX], rate[CLI_FMT_MAX],
		eta[CLI_FMT_MAX];
	double bps;

	if (!p->enabled)
		return;
	cli_fmt_duration(elapsed, pr->elapsed);
	cli_fmt_size(done, pr->bytes_done);
	bps = pr->elapsed > 0.5 ? (double)pr->bytes_done / pr->elapsed : 0;
	cli_fmt_size(rate, (uint64_t)bps);

	fprintf(stderr, "\r\033[K[%s] %llu", elapsed, (unsigned long long)pr->files_done);
	if (pr->files_total)
		fprintf(stderr, "/%llu", (unsigned long long)pr->files_total);
	fprintf(stderr, " files, %s", done);
	if (pr->bytes_total)
		fprintf(stderr, "/%s", cli_fmt_size(total, pr->bytes_total));
	if (bps > 0)
		fprintf(stderr, ", %s/s", rate);
	if (pr->bytes_total > pr->bytes_done && bps > 0)
		fprintf(stderr, ", ETA %s",
			cli_fmt_duration(eta, (double)(pr->bytes_total - pr->bytes_done) / bps));
	fflush(stderr);
	p->drawn = true;
}

void cli_progress_warning(const char *path, const char *message, void *ctx)
{
	struct cli_progress *p = ctx;

	cli_progress_clear(p);
	fprintf(stderr, "warning: %s: %s\n", path ? path : "?", message ? message : "");
	p->warnings++;
}
