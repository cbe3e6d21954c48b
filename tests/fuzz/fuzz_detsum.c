/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_detsum.c - the detection summary parser (lib/format/detsum.c), which
 * a keyless vault runs on every snapshot header a writer uploads, and the
 * keyless reader of a whole snapshot file around it.
 *
 * Promises checked: never a crash; a summary that parses has a known
 * verdict, a score of 0..100, at most 32 counts with names of [a-z0-9-];
 * a refusal leaves the result empty; kura_snapshot_detection on the same
 * bytes as a snapshot file never crashes either.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kura/keyless.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kura_detection_summary d;

	if (kura_detection_summary_parse(data, size, &d) == 0) {
		if (d.verdict < KURA_DETECTION_CLEAN || d.verdict > KURA_DETECTION_SUSPECT ||
		    d.score < 0 || d.score > 100 || d.ncounts > KURA_DETECTION_MAX_COUNTS)
			abort();
		for (size_t i = 0; i < d.ncounts; i++) {
			size_t n = strlen(d.counts[i].name);

			if (n == 0 || n > KURA_DETECTION_NAME_MAX ||
			    strspn(d.counts[i].name, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
				abort();
		}
	} else if (d.verdict || d.ncounts) {
		abort();
	}
	(void)kura_snapshot_detection(data, size, &d);
	return 0;
}
