/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - placeholder for kurad until the vault lands. */
#include <stdio.h>

#include "kura/kura.h"

int main(void)
{
	fprintf(stderr, "kurad %s: not built yet\n", kura_version());
	return 1;
}
