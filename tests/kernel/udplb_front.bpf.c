// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Helper programs for test_udplb_packets: the front programs of bpf/udplb_front.h (prepare each
 * BPF_PROG_TEST_RUN iteration, then tail-call udplb_xdp / udplb_tc), references for the timing,
 * and a negative control for the test's xlated-code decoder.
 */
#include <linux/pkt_cls.h>

#include "udplb_front.h"

/* Negative control of the decoder: one call site, two maps (see abmap_inline.bpf.c). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} naive_a SEC(".maps"), naive_b SEC(".maps");

__u32 naive_side;
__u64 naive_seen;

SEC("xdp")
int front_xdp(struct xdp_md *ctx)
{
	return front_run_xdp(ctx);
}

SEC("tc")
int front_tc(struct __sk_buff *skb)
{
	return front_run_tc(skb);
}

/* Timing references: nothing at all. Also tail-call targets to time the fronts alone. */
UDPLB_FRONT_PASS_PROGRAMS

/* Must show up in the decoder as a real array lookup call. */
SEC("xdp")
int naive_xdp(struct xdp_md *ctx)
{
	__u32 key = ctx->rx_queue_index & 3;
	void *map = naive_side ? (void *)&naive_b : (void *)&naive_a;
	__u64 *v;

	v = bpf_map_lookup_elem(map, &key);
	if (!v)
		return XDP_ABORTED;
	naive_seen = *v;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
