/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Attaching the data plane to a device. XDP goes through netlink and tc through a clsact filter:
 * both outlive the process without a pinned link. Replacing a running program of the same mode is
 * atomic (XDP_FLAGS_REPLACE, BPF_TC_F_REPLACE).
 */
#ifndef __UDPLB_LB_ATTACH_H
#define __UDPLB_LB_ATTACH_H

#include <stdbool.h>
#include <linux/types.h>

#include "udplb_shared.h"

/* What is attached to a device: a mode and a program id (UDPLB_MODE_NONE, 0: nothing). */
struct lb_attachment {
	enum udplb_mode mode;
	__u32 prog_id;
};

/* The program udplb would see on @ifindex now: XDP (driver, then generic), then its tc filter. */
struct lb_attachment lb_attachment_query(int ifindex);
/* True if program @id is one of udplb's (its name starts with "udplb_"). */
bool lb_prog_is_udplb(__u32 id);
/* Attach @prog_fd in @mode, replacing @old atomically when it has the same mode. */
int lb_attach(int ifindex, enum udplb_mode mode, int prog_fd, const struct lb_attachment *old);
/* Detach what @at describes. */
int lb_detach(int ifindex, const struct lb_attachment *at);
/* "xdp", "xdp-generic", "tc"; "none" otherwise. */
const char *lb_mode_name(enum udplb_mode mode);

#endif /* __UDPLB_LB_ATTACH_H */
