/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Front programs for measuring and testing udplb with BPF_PROG_TEST_RUN (the kernel tests and
 * the bench include this; the data plane does not). A front program prepares each iteration,
 * then tail-calls slot 0 of jmp_xdp / jmp_tc (udplb_xdp / udplb_tc, or a baseline).
 *
 * BPF_PROG_TEST_RUN with repeat > 1 runs every iteration on the same buffer without resetting
 * it, so a program that rewrites the packet sees its own output from the second iteration on:
 *   - vary_source: every iteration gets a new source address and port from a per-CPU counter
 *     (src_base + (n >> 16), port n & 0xffff), so the load balancer takes its new-flow path
 *     (Maglev + conntrack insert) every time;
 *   - restore_ipip: an IP-in-IP packet (the previous iteration's output) loses its outer header
 *     and gets the original Ethernet header back (orig_eth), so every iteration encapsulates the
 *     original, untagged packet again.
 */
#ifndef __UDPLB_FRONT_H
#define __UDPLB_FRONT_H

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
} flow_seq SEC(".maps");

/* Set by userspace before a run. */
__u32 vary_source;
__u32 restore_ipip;
__u32 src_base;
__u8 orig_eth[ETH_HLEN];

/* New source for this iteration: IPv4 header at @iph, UDP right after it (no options). */
static __always_inline int front_new_source(struct iphdr *iph, void *data_end)
{
	struct udphdr *udp = (void *)(iph + 1);
	__u32 zero = 0;
	__u64 *n, cur;

	if ((void *)(udp + 1) > data_end)
		return -1;
	n = bpf_map_lookup_elem(&flow_seq, &zero);
	if (!n)
		return -1;
	cur = (*n)++;
	iph->saddr = bpf_htonl(src_base + (__u32)(cur >> 16));
	udp->source = bpf_htons((__u16)cur);
	return 0;
}

/* Put back the original Ethernet header after the outer IPv4 header was removed. */
static __always_inline struct iphdr *front_restore_eth(void *data, void *data_end)
{
	if (data + ETH_HLEN > data_end)
		return NULL;
	__builtin_memcpy(data, orig_eth, ETH_HLEN);
	return data + ETH_HLEN;
}

/* Undo the previous iteration, vary the source: 0, or -1 if the packet is unusable. */
static __always_inline int front_prepare_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + ETH_HLEN;

	if (restore_ipip) {
		if ((void *)(iph + 1) > data_end)
			return -1;
		if (iph->protocol == IPPROTO_IPIP) {
			if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct iphdr)))
				return -1;
			data_end = (void *)(long)ctx->data_end;
			iph = front_restore_eth((void *)(long)ctx->data, data_end);
			if (!iph)
				return -1;
		}
	}
	return vary_source ? front_new_source(iph, data_end) : 0;
}

static __always_inline int front_prepare_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + ETH_HLEN;

	if (restore_ipip) {
		if ((void *)(iph + 1) > data_end)
			return -1;
		if (iph->protocol == IPPROTO_IPIP) {
			if (bpf_skb_adjust_room(skb, -(int)sizeof(struct iphdr), BPF_ADJ_ROOM_MAC,
						0))
				return -1;
			data_end = (void *)(long)skb->data_end;
			iph = front_restore_eth((void *)(long)skb->data, data_end);
			if (!iph)
				return -1;
		}
	}
	return vary_source ? front_new_source(iph, data_end) : 0;
}

/* A front program's body: prepare the iteration, then tail-call slot 0 of jmp_xdp / jmp_tc. */
static __always_inline int front_run_xdp(struct xdp_md *ctx)
{
	if (front_prepare_xdp(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &jmp_xdp, 0);
	return XDP_ABORTED;
}

static __always_inline int front_run_tc(struct __sk_buff *skb)
{
	if (front_prepare_tc(skb))
		return TC_ACT_SHOT;
	bpf_tail_call(skb, &jmp_tc, 0);
	return TC_ACT_SHOT;
}

/*
 * The baselines pass_xdp and pass_tc: nothing but the verdict (timing references, and tail-call
 * targets that time the front programs alone). Expand once in a program object.
 */
#define UDPLB_FRONT_PASS_PROGRAMS                                                                  \
	SEC("xdp")                                                                                 \
	int pass_xdp(struct xdp_md *ctx)                                                           \
	{                                                                                          \
		(void)ctx;                                                                         \
		return XDP_PASS;                                                                   \
	}                                                                                          \
                                                                                                   \
	SEC("tc")                                                                                  \
	int pass_tc(struct __sk_buff *skb)                                                         \
	{                                                                                          \
		(void)skb;                                                                         \
		return TC_ACT_OK;                                                                  \
	}

#endif /* __UDPLB_FRONT_H */
