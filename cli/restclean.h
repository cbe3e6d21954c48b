/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restclean.h - what `kura restore --clean` adds to the restore command:
 * the plan's listing, in words and as JSON (cli/restclean.c).
 */
#ifndef KURA_CLI_RESTCLEAN_H
#define KURA_CLI_RESTCLEAN_H

#include <jansson.h>

#include "kura/cleanpick.h"

/* The plan as the "clean" object of the restore's --json summary (new reference, or NULL). */
json_t *cli_clean_json(const kura_clean_plan *plan);

/* The plan in words on stdout: where each file came from, what was left out and why. */
void cli_clean_print(const kura_clean_plan *plan);

#endif
