/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The apply format: a whole udplb configuration as text, one item a line, read by `udplb apply`
 * and written by `udplb save`:
 *
 *	# comment (also after an item)
 *	hash-seed 12345
 *	vip 10.0.0.1:53 [fwd dsr|ipip] [hash 5tuple|src-ip] [ring-size 65537] [flags LIST|none]
 *	backend 10.0.1.1[:53] [weight 1] [mac 02:00:00:00:00:01|none] [drain]
 *
 * A backend line belongs to the vip line above it. Values are exactly as on the command line
 * (parse.h, names.h). A backend without a mac word has its MAC resolved by the applier
 * (lb_conf.resolve); "mac none" means no MAC (the data plane does a FIB lookup).
 * lb_conf_write() gives text that lb_conf_parse() reads back to the same configuration.
 */
#ifndef __UDPLB_CONF_H
#define __UDPLB_CONF_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "lb.h"

/* Longest line accepted (a comment included), in bytes. */
#define LB_CONF_MAX_LINE 4096
/* Most words on one line. */
#define LB_CONF_MAX_WORDS 32

/* A backend whose MAC the file leaves to the neighbour table. */
struct lb_conf_backend_ref {
	struct udplb_vip_key vip;
	__be32 addr;
	__be16 port;
};

struct lb_conf {
	struct lb_state state;
	bool has_seed;
	__u32 hash_seed;
	__u32 nr_resolve;
	__u32 cap_resolve;
	struct lb_conf_backend_ref *resolve;
};

void lb_conf_init(struct lb_conf *c);
void lb_conf_free(struct lb_conf *c);

/*
 * Read a whole file into @c (lb_conf_init() first). On error, @err holds "NAME:LINE: what is
 * wrong" (@name is the file name to show) and the return is -EINVAL (bad content), -ENOMEM, or
 * the read error; @c then holds the lines before the bad one.
 */
int lb_conf_parse(FILE *f, const char *name, struct lb_conf *c, struct lb_err *err);
/* The same from memory (@len bytes, NUL bytes in it are errors). */
int lb_conf_parse_mem(const char *buf, size_t len, const char *name, struct lb_conf *c,
		      struct lb_err *err);

/* Write @c in the apply format (every field explicit, MACs as "mac none" when absent). */
int lb_conf_write(FILE *f, const struct lb_conf *c);

#endif /* __UDPLB_CONF_H */
