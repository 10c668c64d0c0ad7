// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Helper programs for test_udplb_packets: front programs that prepare each BPF_PROG_TEST_RUN
 * iteration, then tail-call into udplb_xdp / udplb_tc (slot 0 of jmp_xdp / jmp_tc, set by the
 * test); references for the timing; a negative control for the test's xlated-code decoder.
 *
 * BPF_PROG_TEST_RUN with repeat > 1 runs every iteration on the same buffer, without resetting
 * it. A front program therefore:
 *   - with vary_source, gives every iteration a new flow (source address and port from a per-CPU
 *     counter), so the load balancer takes its new-flow path and inserts into conntrack each time;
 *   - with restore_ipip, undoes the previous iteration's IP-in-IP encapsulation (drops the outer
 *     header, puts back the original Ethernet header saved in orig_eth), so every iteration
 *     encapsulates the original, untagged packet again.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jmp_xdp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jmp_tc SEC(".maps");

/* Iteration counter of the new-flow runs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seq SEC(".maps");

/* Set by the test before a run. */
__u32 vary_source;
__u32 restore_ipip;
__u8 orig_eth[ETH_HLEN];
/* Source addresses of the new flows: src_base + (n >> 16), ports n & 0xffff. */
__u32 src_base;

/* Negative control of the decoder: one call site, two maps (see abmap_inline.bpf.c). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} naive_a SEC(".maps"), naive_b SEC(".maps");

__u32 naive_side;
__u64 naive_seen;

/* New source for this iteration; the IPv4 header must be at @iph, the UDP one right after. */
static __always_inline int vary(struct iphdr *iph, void *data_end)
{
	struct udphdr *udp = (void *)(iph + 1);
	__u32 zero = 0;
	__u64 *n, cur;

	if ((void *)(udp + 1) > data_end)
		return -1;
	n = bpf_map_lookup_elem(&seq, &zero);
	if (!n)
		return -1;
	cur = (*n)++;
	iph->saddr = bpf_htonl(src_base + (__u32)(cur >> 16));
	udp->source = bpf_htons((__u16)cur);
	return 0;
}

SEC("xdp")
int front_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + ETH_HLEN;

	if (restore_ipip) {
		if ((void *)(iph + 1) > data_end)
			return XDP_ABORTED;
		if (iph->protocol == IPPROTO_IPIP) {
			if (bpf_xdp_adjust_head(ctx, sizeof(struct iphdr)))
				return XDP_ABORTED;
			data = (void *)(long)ctx->data;
			data_end = (void *)(long)ctx->data_end;
			if (data + ETH_HLEN > data_end)
				return XDP_ABORTED;
			__builtin_memcpy(data, orig_eth, ETH_HLEN);
			iph = data + ETH_HLEN;
		}
	}
	if (vary_source && vary(iph, data_end))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &jmp_xdp, 0);
	return XDP_ABORTED;
}

SEC("tc")
int front_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + ETH_HLEN;

	if (restore_ipip) {
		if ((void *)(iph + 1) > data_end)
			return TC_ACT_SHOT;
		if (iph->protocol == IPPROTO_IPIP) {
			if (bpf_skb_adjust_room(skb, -(int)sizeof(struct iphdr), BPF_ADJ_ROOM_MAC,
						0))
				return TC_ACT_SHOT;
			data = (void *)(long)skb->data;
			data_end = (void *)(long)skb->data_end;
			if (data + ETH_HLEN > data_end)
				return TC_ACT_SHOT;
			__builtin_memcpy(data, orig_eth, ETH_HLEN);
			iph = data + ETH_HLEN;
		}
	}
	if (vary_source && vary(iph, data_end))
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
