// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Programs for test_inline: does every A/B array lookup made through abmap_bpf.h stay inlined by
 * the verifier (no helper call), while a naive A/B lookup does not? The bench times the same
 * programs per packet (bench/bench_inline.c, table 8 of make bench).
 *
 * The verifier inlines bpf_map_lookup_elem() on an ARRAY only when each call instruction always
 * sees the same map. The naive form below lets clang merge the two calls into one call site with
 * a phi'd map pointer: the verifier then "poisons" that call and emits a real helper call.
 *
 * Every program reads the group's pointer once (itself an ARRAY lookup that must be inlined too)
 * and publishes what it found in .bss, so the test can also check that the right side was read.
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
#include "abmap_inline.h"

#define RING_SLOTS 4

ABMAP_POINTER_MAP(ptr);
ABMAP_ARRAY(vips, struct vip, VIP_ENTRIES);
ABMAP_ARRAY(backends, struct backend, BACKEND_ENTRIES);
ABMAP_ARRAY(cfg, __u32, 16);
ABMAP_ARRAY_LEN(backends);

/* Negative control: the same shape, looked up the naive way. */
ABMAP_ARRAY(naive, __u32, 16);

/* Reference: one plain ARRAY, no A/B. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
} plain SEC(".maps");

/* What each program saw on its last run (the test checks the side it read). */
__u64 xdp_seen;
__u64 tc_seen;
__u64 lb_seen;
__u64 loop_seen;
__u64 cb_seen;
__u64 naive_seen;
__u64 single_seen;

SEC("xdp")
int inline_xdp(struct xdp_md *ctx)
{
	struct abmap_snapshot snap;
	struct backend *be;
	struct vip *vip;
	__u32 key = ctx->rx_queue_index & 7, idx;

	if (abmap_snapshot_read(&ptr, &snap))
		return XDP_ABORTED;
	vip = abmap_lookup(&snap, vips, &key);
	if (!vip)
		return XDP_ABORTED;
	idx = vip->first_backend;
	be = abmap_lookup(&snap, backends, &idx);
	if (!be)
		return XDP_ABORTED;
	xdp_seen = be->tag;
	return XDP_PASS;
}

SEC("tc")
int inline_tc(struct __sk_buff *skb)
{
	struct abmap_snapshot snap;
	struct backend *be;
	__u32 key = skb->queue_mapping & 7, *c;

	if (abmap_snapshot_read(&ptr, &snap))
		return TC_ACT_SHOT;
	c = abmap_lookup(&snap, cfg, &key);
	if (!c)
		return TC_ACT_SHOT;
	be = abmap_lookup(&snap, backends, c);
	if (!be)
		return TC_ACT_SHOT;
	tc_seen = be->tag;
	return TC_ACT_OK;
}

/*
 * A load balancer's shape: parse Ethernet/IPv4/UDP, find the VIP by destination port, then walk
 * a few of its backends in a loop, bounded by the length map, and keep the heaviest one.
 */
SEC("xdp")
int inline_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct abmap_snapshot snap;
	struct backend *be, *best = NULL;
	struct udphdr *udp;
	struct iphdr *iph;
	struct vip *vip;
	__u32 key, len, i, *c;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end || iph->ihl != 5 || iph->protocol != IPPROTO_UDP)
		return XDP_PASS;
	udp = (void *)(iph + 1);
	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;

	if (abmap_snapshot_read(&ptr, &snap))
		return XDP_ABORTED;
	key = 0;
	c = abmap_lookup(&snap, cfg, &key);
	if (!c || !*c)
		return XDP_PASS;
	key = bpf_ntohs(udp->dest) % VIP_ENTRIES;
	vip = abmap_lookup(&snap, vips, &key);
	if (!vip || !vip->nr_backends)
		return XDP_PASS;
	len = abmap_array_len(&snap, backends);

	for (i = 0; i < RING_SLOTS; i++) {
		key = vip->first_backend + i;
		if (i >= vip->nr_backends || key >= len)
			break;
		be = abmap_lookup(&snap, backends, &key);
		if (!be)
			return XDP_ABORTED;
		if (!best || be->weight > best->weight)
			best = be;
	}
	if (!best)
		return XDP_DROP;
	lb_seen = best->tag;
	return XDP_PASS;
}

/* A loop clang keeps as a loop: the verifier walks the same two call sites on every iteration. */
SEC("xdp")
int inline_loop(struct xdp_md *ctx)
{
	struct abmap_snapshot snap;
	struct backend *be;
	__u64 sum = 0;
	__u32 i, key;

	(void)ctx;
	if (abmap_snapshot_read(&ptr, &snap))
		return XDP_ABORTED;
#pragma clang loop unroll(disable)
	for (i = 0; i < LOOP_SLOTS; i++) {
		key = i;
		be = abmap_lookup(&snap, backends, &key);
		if (!be)
			return XDP_ABORTED;
		sum += be->tag;
	}
	loop_seen = sum;
	return XDP_PASS;
}

/* The same through bpf_loop(), whose callback is a subprogram of its own (as in torn.bpf.c). */
struct sum_ctx {
	struct abmap_snapshot snap;
	__u64 sum;
};

static int sum_backend(__u32 index, void *arg)
{
	struct sum_ctx *c = arg;
	struct backend *be;
	__u32 key = index;

	be = abmap_lookup(&c->snap, backends, &key);
	if (!be)
		return 1;
	c->sum += be->tag;
	return 0;
}

SEC("xdp")
int inline_cb(struct xdp_md *ctx)
{
	struct sum_ctx c = {};

	(void)ctx;
	if (abmap_snapshot_read(&ptr, &c.snap))
		return XDP_ABORTED;
	if (bpf_loop(LOOP_SLOTS, sum_backend, &c, 0) != LOOP_SLOTS)
		return XDP_ABORTED;
	cb_seen = c.sum;
	return XDP_PASS;
}

/*
 * Negative control. The map pointer is chosen with a ternary, then looked up at one call site:
 * exactly what clang makes of `if (side) v = lookup(&naive_b) else v = lookup(&naive_a)` when it
 * merges the two calls (see DESIGN.md section 3). Written this way so that the control does not
 * depend on clang choosing to merge: this program must always carry a real helper call.
 */
SEC("xdp")
int naive_xdp(struct xdp_md *ctx)
{
	struct abmap_snapshot snap;
	__u32 key = ctx->rx_queue_index & 7, *v;
	void *map;

	if (abmap_snapshot_read(&ptr, &snap))
		return XDP_ABORTED;
	map = snap.side ? (void *)&naive_b : (void *)&naive_a;
	v = bpf_map_lookup_elem(map, &key);
	if (!v)
		return XDP_ABORTED;
	naive_seen = *v;
	return XDP_PASS;
}

/* The naive form as DESIGN.md writes it; whether clang merges it is reported, not asserted. */
SEC("xdp")
int naive_if_xdp(struct xdp_md *ctx)
{
	struct abmap_snapshot snap;
	__u32 key = ctx->rx_queue_index & 7, *v;

	if (abmap_snapshot_read(&ptr, &snap))
		return XDP_ABORTED;
	if (snap.side)
		v = bpf_map_lookup_elem(&naive_b, &key);
	else
		v = bpf_map_lookup_elem(&naive_a, &key);
	if (!v)
		return XDP_ABORTED;
	naive_seen = *v;
	return XDP_PASS;
}

/* Reference for the bench: one lookup in one plain ARRAY. */
SEC("xdp")
int single_xdp(struct xdp_md *ctx)
{
	__u32 key = ctx->rx_queue_index & 7, *v;

	v = bpf_map_lookup_elem(&plain, &key);
	if (!v)
		return XDP_ABORTED;
	single_seen = *v;
	return XDP_PASS;
}

/* Reference (baseline) for the bench: nothing at all. */
SEC("xdp")
int pass_xdp(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
