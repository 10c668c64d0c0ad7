// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>

#include "internal.h"

__attribute__((format(printf, 2, 0))) static int default_print(enum abmap_print_level level,
							       const char *fmt, va_list args)
{
	if (level == ABMAP_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static abmap_print_fn_t print_fn = default_print;

abmap_print_fn_t abmap_set_print(abmap_print_fn_t fn)
{
	abmap_print_fn_t old = print_fn;

	print_fn = fn;
	return old;
}

void abmap_log(enum abmap_print_level level, const char *fmt, ...)
{
	abmap_print_fn_t fn = print_fn;
	int saved_errno = errno;
	va_list args;

	if (!fn)
		return;
	va_start(args, fmt);
	fn(level, fmt, args);
	va_end(args);
	errno = saved_errno;
}
