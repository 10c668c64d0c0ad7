/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One udplb fixture for the kernel tests and the bench: the data plane loaded (the skeleton, or
 * any object with udplb's maps and programs), its configuration maps opened through the control
 * plane library (lb_maps_open_obj()), its settings, counters and test runs. Configurations go in
 * with lb_commit() and predictions come from the flow simulator (lb_sim.h): no hand-built map
 * lists, no raw slot writes, no private copy of the ring lookup.
 *
 * Functions return 0 or a negative errno with one line in @err; they never print or exit, so the
 * bench (no cmocka) uses them as the tests do.
 */
#ifndef __UDPLB_TESTS_FIXTURE_H
#define __UDPLB_TESTS_FIXTURE_H

#include <stdbool.h>
#include <linux/types.h>

#include "lb.h"
#include "lb_sim.h"

struct udplb;
struct bpf_object;

/*
 * A backend for a test configuration: @addr:@port (network order), @weight, @state, and the MAC
 * 02:xx:xx:xx:xx:xx whose last five bytes are @mac_tag (big-endian), so a test can tell which
 * backend a forwarded frame went to from its destination MAC.
 */
struct lb_backend tl_backend(__be32 addr, __be16 port, __u16 weight, __u8 state, __u64 mac_tag);
/* A VIP for a test configuration: @addr:@port (network order), @fwd, @ring_size (0: default). */
struct lb_vip tl_vip(__be32 addr, __be16 port, __u8 fwd, __u32 ring_size);

struct tl_udplb {
	struct udplb *skel; /* loaded by tl_udplb_load(), else NULL */
	const struct bpf_object *obj;
	struct lb_maps maps;
	int xdp_fd, tc_fd; /* udplb_xdp, udplb_tc */
	int config_fd, reasons_fd, conntrack_fd, pool_fd;
	__u32 hash_seed; /* last written with tl_udplb_config() */
};

/* Load the udplb skeleton and open it (tl_udplb_open_obj()). */
int tl_udplb_load(struct tl_udplb *fx, const struct abmap_group_opts *gopts, struct lb_err *err);
/* Open a loaded object that has udplb's maps and programs (e.g. a test variant of udplb). */
int tl_udplb_open_obj(struct tl_udplb *fx, const struct bpf_object *obj,
		      const struct abmap_group_opts *gopts, struct lb_err *err);
/* Free the group, and the skeleton if tl_udplb_load() loaded it. */
void tl_udplb_close(struct tl_udplb *fx);

/* Write the data plane's settings: flow hash seed, IP-in-IP source, device (1: lo). */
int tl_udplb_config(struct tl_udplb *fx, __u32 hash_seed, __be32 ipip_src, int ifindex);
/* lb_commit() with the default Maglev seed; 0, LB_COMMIT_UNCHANGED or -errno. */
int tl_udplb_commit(struct tl_udplb *fx, const struct lb_state *s, struct lb_err *err);
/* Sum over CPUs of reason counter @reason. */
int tl_udplb_reason(const struct tl_udplb *fx, __u32 reason, __u64 *sum);
/* Empty conntrack. */
int tl_udplb_ct_clear(const struct tl_udplb *fx);
/* A simulator of the live tables (lb_sim_free() it). */
int tl_udplb_sim(struct tl_udplb *fx, struct lb_sim **sim, struct lb_err *err);

/* What one BPF_PROG_TEST_RUN did to a frame. */
struct tl_run {
	__u32 retval;
	__u8 out[256];
	__u32 out_len;
};

/* Run @frame once through @prog_fd (one iteration). */
int tl_run(int prog_fd, const void *frame, __u32 len, struct tl_run *r);

#endif /* __UDPLB_TESTS_FIXTURE_H */
