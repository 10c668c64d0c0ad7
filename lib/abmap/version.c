// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The library's version, from the header it was built with. */
#include "internal.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *abmap_version(void)
{
	return STR(LIBABMAP_MAJOR_VERSION) "." STR(LIBABMAP_MINOR_VERSION);
}
