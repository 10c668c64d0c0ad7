/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Test hooks of libabmap. Not installed and not exported: hidden visibility and absent from
 * libabmap.map, so only programs linking the static libabmap.a (the tests, test builds of the
 * CLI) can call them. Production code has no way to turn the grace period off.
 */
#ifndef __LIBABMAP_TESTING_H
#define __LIBABMAP_TESTING_H

#include <stdbool.h>

#include <abmap.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Never wait for a grace period before rewriting a retired side of @p group.
 *
 * Programs still reading that side see torn data: exists so tests can show the grace period
 * matters (negative controls).
 * @return 0, or -EINVAL if @p group is NULL.
 */
int abmap_testing_set_no_grace(struct abmap_group *group, bool no_grace);

/**
 * @brief abmap_testing_set_no_grace() for every group created from now on, from its creation
 *        (so not even the grace period a reopened group owes its predecessor is waited for).
 */
void abmap_testing_set_default_no_grace(bool no_grace);

/**
 * @brief Call @p fn(@p ctx) after every passive side of a commit or switchover is written, just
 *        before the flip (e.g. to kill the writer there). A non-zero return aborts the commit
 *        with that error. @p fn NULL removes the hook.
 * @return 0, or -EINVAL if @p group is NULL.
 */
int abmap_testing_set_before_flip(struct abmap_group *group, int (*fn)(void *ctx), void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* __LIBABMAP_TESTING_H */
