/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Loading the data plane this binary embeds (its skeleton) on a device, or upgrading a running
 * one in place: the pinned maps (configuration, conntrack, counters) are reused and the program
 * is replaced atomically when the mode stays. Shared by `udplb load` and udplbd.
 */
#ifndef __UDPLB_LB_LOAD_H
#define __UDPLB_LB_LOAD_H

#include <stdbool.h>
#include <linux/types.h>

#include "lb.h"
#include "udplb_shared.h"

/* Seed of a new instance: every LB node then hashes flows alike. */
#define LB_DEFAULT_HASH_SEED 0x75d91b5u

struct lb_load_opts {
	enum udplb_mode mode; /* XDP, XDP_GENERIC or TC */
	bool set_seed;	      /* write hash_seed (else keep it; a new instance gets the default) */
	__u32 hash_seed;
	bool force; /* allow changing the mode of a running instance (not atomic) */
};

struct lb_load_info {
	bool replaced; /* a program of the same mode was replaced atomically */
	__u32 prog_id; /* the program now attached */
};

/*
 * Load on @dev (@ifindex) with pins in @pin_dir (created, trusted and checked). -EEXIST: a
 * program udplb did not load is attached; -EBUSY: udplb runs in another mode and !force; other
 * errors from libbpf or netlink. @err says what failed.
 */
int lb_load(const char *dev, int ifindex, const char *pin_dir, const struct lb_load_opts *o,
	    struct lb_load_info *info, struct lb_err *err);

#endif /* __UDPLB_LB_LOAD_H */
