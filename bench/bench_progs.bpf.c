// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * BPF programs of the benchmark (build/bench/bench, skeleton "bench_progs").
 *
 *   pass_xdp, pass_tc     baselines: nothing but the verdict; also tail-call targets that time
 *                         the front programs alone
 *   plain_xdp, plain_tc   one lookup in one plain ARRAY
 *   ab_xdp, ab_tc         the group's pointer read once, then one A/B ARRAY lookup through
 *                         abmap_bpf.h: what a reader pays over plain_*
 *   front_xdp, front_tc   prepare each BPF_PROG_TEST_RUN iteration, then tail-call the program
 *                         in slot 0 of jmp_xdp / jmp_tc (udplb_xdp / udplb_tc, or pass_*)
 *   probe_xdp             flip visibility probe: records when it first sees a new generation
 *
 * BPF_PROG_TEST_RUN with repeat > 1 runs every iteration on the same buffer without resetting
 * it, so a program that rewrites the packet sees its own output from the second iteration on.
 * The front programs undo that:
 *   - vary_source: every iteration gets a new source address and port from a per-CPU counter,
 *     so the load balancer takes its new-flow path (Maglev + conntrack insert) every time;
 *   - restore_ipip: an IP-in-IP packet (the previous iteration's output) loses its outer header
 *     and gets the original Ethernet header back (orig_eth), so every iteration encapsulates the
 *     original packet again.
 * With watch set they also record the generation of lb_ptr (udplb's pointer map, shared by the
 * bench with bpf_map__reuse_fd()) like probe_xdp.
 *
 * The lookup contenders return XDP_PASS / TC_ACT_OK only when they found @want, so the bench
 * can check that the A/B read really went to the live side.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "abmap_bpf.h"

#define BENCH_LOOKUP_ENTRIES 64

/* A/B read contender: its own group. */
ABMAP_POINTER_MAP(ab_ptr);
ABMAP_ARRAY(ab_vals, __u32, BENCH_LOOKUP_ENTRIES);

/* Plain read contender. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_LOOKUP_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} plain_vals SEC(".maps");

/* udplb's pointer map (the bench reuses udplb's fd before loading). */
ABMAP_POINTER_MAP(lb_ptr);

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

/* New-flow counter of the front programs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} flow_seq SEC(".maps");

/* Set by the bench. */
__u32 want;
__u32 vary_source;
__u32 restore_ipip;
__u32 watch;
__u32 src_base; /* new flows: source src_base + (n >> 16), port n & 0xffff (host order) */
__u8 orig_eth[ETH_HLEN];

/* Written by probe_xdp and, with watch, the front programs (one CPU at a time). */
__u64 seen_gen;
__u64 seen_ns;
__u64 probe_runs;

static __always_inline int plain_read(__u32 key)
{
	__u32 *v = bpf_map_lookup_elem(&plain_vals, &key);

	return v && *v == want ? 0 : -1;
}

static __always_inline int ab_read(__u32 key)
{
	struct abmap_snapshot snap;
	__u32 *v;

	if (abmap_snapshot_read(&ab_ptr, &snap))
		return -1;
	v = abmap_lookup(&snap, ab_vals, &key);
	return v && *v == want ? 0 : -1;
}

/* Record the first invocation that sees a new generation of udplb's pointer. */
static __always_inline void watch_generation(void)
{
	struct abmap_pointer *p;
	__u32 zero = 0;
	__u64 gen;

	p = bpf_map_lookup_elem(&lb_ptr, &zero);
	if (!p)
		return;
	gen = *(volatile __u64 *)&p->generation;
	probe_runs++;
	if (gen != seen_gen) {
		seen_ns = bpf_ktime_get_ns();
		/* The bench reads seen_ns once it sees seen_gen change: store it first. */
		asm volatile("" ::: "memory");
		seen_gen = gen;
	}
}

/* New source for this iteration: IPv4 header at @iph, UDP right after it (no options). */
static __always_inline int new_source(struct iphdr *iph, void *data_end)
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

SEC("xdp")
int plain_xdp(struct xdp_md *ctx)
{
	return plain_read(ctx->rx_queue_index & 7) ? XDP_ABORTED : XDP_PASS;
}

SEC("tc")
int plain_tc(struct __sk_buff *skb)
{
	return plain_read(skb->queue_mapping & 7) ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("xdp")
int ab_xdp(struct xdp_md *ctx)
{
	return ab_read(ctx->rx_queue_index & 7) ? XDP_ABORTED : XDP_PASS;
}

SEC("tc")
int ab_tc(struct __sk_buff *skb)
{
	return ab_read(skb->queue_mapping & 7) ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("xdp")
int probe_xdp(struct xdp_md *ctx)
{
	(void)ctx;
	watch_generation();
	return XDP_PASS;
}

SEC("xdp")
int front_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + ETH_HLEN;

	if (watch)
		watch_generation();
	if (restore_ipip) {
		if ((void *)(iph + 1) > data_end)
			return XDP_ABORTED;
		if (iph->protocol == IPPROTO_IPIP) {
			if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct iphdr)))
				return XDP_ABORTED;
			data = (void *)(long)ctx->data;
			data_end = (void *)(long)ctx->data_end;
			if (data + ETH_HLEN > data_end)
				return XDP_ABORTED;
			__builtin_memcpy(data, orig_eth, ETH_HLEN);
			iph = data + ETH_HLEN;
		}
	}
	if (vary_source && new_source(iph, data_end))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &jmp_xdp, 0);
	return XDP_ABORTED;
}

SEC("tc")
int front_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + ETH_HLEN;

	if (watch)
		watch_generation();
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
	if (vary_source && new_source(iph, data_end))
		return TC_ACT_SHOT;
	bpf_tail_call(skb, &jmp_tc, 0);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
