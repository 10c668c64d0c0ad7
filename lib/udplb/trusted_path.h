/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Paths only this user can change. bpffs is mounted 1777 (sticky) here, so any user can create
 * /sys/fs/bpf/udplb, a ns<inode> or DEV directory below it, or a pin, before root does; root's
 * instance would then live in a directory that user owns, and the user could swap instances or
 * pins at will. Every directory and pin udplb uses is therefore checked the way sshd checks
 * ~/.ssh: owned by us, nobody else can write to it, no symbolic link on the way.
 */
#ifndef __UDPLB_TRUSTED_PATH_H
#define __UDPLB_TRUSTED_PATH_H

#include <stdbool.h>

#include "lb.h"

/*
 * Check (and with @create, make) the directory @base/@rel and return 0 when it can be trusted:
 * - every component of @base is owned by root or by us and is writable by nobody else, unless it
 *   is a root-owned sticky directory (the bpffs root itself, /tmp);
 * - every component of @rel is a real directory (not a symbolic link), owned by us, with no
 *   permission bit for group or others (mode 0700); with @create, missing ones are made 0700.
 * On refusal, -EPERM (-ENOTDIR, -ELOOP) and @err names the offending path and what is wrong.
 * @rel may be empty (then only @base is checked, leniently).
 */
int lb_trusted_dir(const char *base, const char *rel, bool create, struct lb_err *err);

/*
 * Check that @dir/@name, a pin, is a regular bpffs file (not a symbolic link) owned by us with no
 * permission bit for group or others. -ENOENT when absent (@err names the path); -EPERM when it
 * cannot be trusted.
 */
int lb_trusted_pin(const char *dir, const char *name, struct lb_err *err);

#endif /* __UDPLB_TRUSTED_PATH_H */
