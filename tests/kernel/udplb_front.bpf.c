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
	if (front_prepare_xdp(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &jmp_xdp, 0);
	return XDP_ABORTED;
}

SEC("tc")
int front_tc(struct __sk_buff *skb)
{
	if (front_prepare_tc(skb))
		return TC_ACT_SHOT;
	bpf_tail_call(skb, &jmp_tc, 0);
	return TC_ACT_SHOT;
}

/* Timing references: nothing at all. Also tail-call targets to time the fronts alone. */
SEC("xdp")
int pass_xdp(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

SEC("tc")
int pass_tc(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_OK;
}

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
