/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - placeholder until the command line lands. */
#include <stdio.h>

#include "kura/kura.h"

int main(void)
{
	printf("kura %s\n", kura_version());
	return 0;
}
