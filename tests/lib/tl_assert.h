/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared assertions of the kernel tests (cmocka): library calls and their one-line errors. */
#ifndef __UDPLB_TESTS_ASSERT_H
#define __UDPLB_TESTS_ASSERT_H

#include <string.h>

/* @expr returned 0 (the call filled @err, a struct lb_err, on failure). */
#define tl_assert_ok(expr, err)                                                                    \
	do {                                                                                       \
		int __ret = (expr);                                                                \
		if (__ret)                                                                         \
			fail_msg("%s: %s returned %d (%s): %s", __func__, #expr, __ret,            \
				 strerror(__ret < 0 ? -__ret : 0), (err).msg);                     \
	} while (0)

/* @expr returned 0 (no message). */
#define tl_assert_zero(expr)                                                                       \
	do {                                                                                       \
		int __ret = (expr);                                                                \
		if (__ret)                                                                         \
			fail_msg("%s: %s returned %d (%s)", __func__, #expr, __ret,                \
				 strerror(__ret < 0 ? -__ret : 0));                                \
	} while (0)

#endif /* __UDPLB_TESTS_ASSERT_H */
