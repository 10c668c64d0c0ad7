// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Errors of the library: a negative errno plus one line the caller prints. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

int lb_fail(struct lb_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	errno = -code;
	return code;
}
