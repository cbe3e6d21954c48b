/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proof_int.h - what status321.c reads through proof.c: the newest drill
 * record of a store, from its plaintext summary, without a key.
 */
#ifndef KURA_REPO_PROOF_INT_H
#define KURA_REPO_PROOF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kura/backend.h"

typedef struct {
	int64_t time_ns; /* 0: no drill record */
	bool passed;
	double rto_s;
	size_t damaged; /* drill records that do not hash to their name or do not parse */
} kura_proof__drill;

/* The newest drill record of `b` (by its time); 0 or the store's error. */
int kura_proof__latest_drill(kura_backend *b, kura_proof__drill *out);

#endif
