/* SPDX-License-Identifier: Apache-2.0 */
/* testutil.h - what every cmocka unit test includes. */
#ifndef KURA_TESTUTIL_H
#define KURA_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kura/kura.h"

/* Assert a kura call succeeded, printing the library's message if not. */
#define assert_ok(expr)                                                                   \
	do {                                                                              \
		int assert_ok_rc_ = (expr);                                               \
		if (assert_ok_rc_ != 0)                                                   \
			print_error("%s -> %d: %s\n", #expr, assert_ok_rc_, kura_error_message()); \
		assert_int_equal(assert_ok_rc_, 0);                                       \
	} while (0)

#endif
