// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Test hooks (testing.h): hidden, reachable only through the static library. */
#include "internal.h"
#include "testing.h"

int abmap_testing_set_no_grace(struct abmap_group *group, bool no_grace)
{
	if (!group)
		return libabmap_err(-EINVAL);
	group->no_grace = no_grace;
	return 0;
}

static bool default_no_grace;

void abmap_testing_set_default_no_grace(bool no_grace)
{
	default_no_grace = no_grace;
}

bool testing_default_no_grace(void)
{
	return default_no_grace;
}

int abmap_testing_set_before_flip(struct abmap_group *group, int (*fn)(void *ctx), void *ctx)
{
	if (!group)
		return libabmap_err(-EINVAL);
	group->before_flip = fn;
	group->before_flip_ctx = ctx;
	return 0;
}
