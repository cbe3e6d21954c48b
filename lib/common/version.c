/* SPDX-License-Identifier: Apache-2.0 */
/* version.c - the library version. */
#include "kura/kura.h"

const char *kura_version(void) { return KURA_VERSION; }
