/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_copies.h - the status page's 3-2-1-1-0 section (id "copies"), drawn
 * from each repository's "copies" in the status document (copies_view.h).
 */
#ifndef KURA_SERVER_UI_COPIES_H
#define KURA_SERVER_UI_COPIES_H

#include <stdio.h>

#include <jansson.h>

/* The section, for the repositories of `status` (status.h's document). */
void ui_copies_section(FILE *f, const json_t *status);

#endif
