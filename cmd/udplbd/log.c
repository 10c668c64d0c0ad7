// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Log lines for journald: "<PRIO>message", one event a line, on stderr. */
#include <stdarg.h>
#include <stdio.h>

#include "udplbd.h"

static bool verbose;

void ulog_verbose(bool on)
{
	verbose = on;
}

void ulog(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (prio >= UDPLBD_DEBUG && !verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line: lines of concurrent writers never interleave. */
	fprintf(stderr, "<%d>%s\n", prio, line);
	fflush(stderr);
}
