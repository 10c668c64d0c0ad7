/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What an instance trusts on bpffs: its pin directory (trusted_path.h: ours alone, no symbolic
 * link on the way) and every pin in it (ours alone, and a map exactly as the udplb program built
 * into this binary declares it: map_check.h). Used by load, every command that opens an
 * instance, and unload.
 */
#ifndef __UDPLB_PIN_CHECK_H
#define __UDPLB_PIN_CHECK_H

#include <stdbool.h>

#include "lb_instance.h"
#include "map_check.h"

/*
 * Check (with @create: make) pin directory @path. Below LB_BPFFS_ROOT every component after the
 * bpffs root must be ours alone (mode 0700); elsewhere (a --pin-dir) the directory itself must
 * be, and its parents writable by nobody else unless sticky. -EPERM/-ELOOP/-ENOENT with @err
 * naming the path.
 */
int lb_pin_dir_trusted(const char *path, bool create, struct lb_err *err);

/* The declaration of every pinned map in the udplb program this binary embeds. */
int lb_pin_wants(struct lb_map_want wants[__LB_PIN_MAX], struct lb_err *err);

/*
 * Open pin @pin in trusted directory @dir: the pin must be ours alone and the map must match
 * @want. Return the fd, -ENOENT when absent, or a negative errno with @err naming the pin.
 */
int lb_pin_open_checked(const char *dir, enum lb_pin pin, const struct lb_map_want *want,
			struct lb_err *err);

/* Every pin present in @dir passes lb_pin_open_checked() (absent ones are fine): before a load. */
int lb_pin_dir_check_present(const char *dir, struct lb_err *err);

#endif /* __UDPLB_PIN_CHECK_H */
