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
 * The front programs and their switches (vary_source, restore_ipip) are bpf/udplb_front.h.
 * With watch set they also record the generation of lb_ptr (udplb's pointer map, shared by the
 * bench with bpf_map__reuse_fd()) like probe_xdp.
 *
 * The lookup contenders return XDP_PASS / TC_ACT_OK only when they found @want, so the bench
 * can check that the A/B read really went to the live side.
 */
#include <linux/pkt_cls.h>

#include "abmap_bpf.h"
#include "udplb_front.h"

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

/* Set by the bench. */
__u32 want;
__u32 watch;

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

UDPLB_FRONT_PASS_PROGRAMS

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
	if (watch)
		watch_generation();
	return front_run_xdp(ctx);
}

SEC("tc")
int front_tc(struct __sk_buff *skb)
{
	if (watch)
		watch_generation();
	return front_run_tc(skb);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
