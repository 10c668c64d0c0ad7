// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Front of udplb_tc for test_udplb_packets' non-linear test: counts the skbs it sees, and those
 * whose data runs past the linear part (data_end - data < skb->len), then tail-calls slot 0 of
 * jmp (udplb_tc), so udplb sees exactly the skb counted.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jmp SEC(".maps");

__u64 seen;
__u64 nonlinear;
__u32 min_linear = ~0U; /* shortest linear part seen */

SEC("tc")
int count_tc(struct __sk_buff *skb)
{
	__u32 linear = skb->data_end - skb->data;

	__sync_fetch_and_add(&seen, 1);
	if (linear < skb->len)
		__sync_fetch_and_add(&nonlinear, 1);
	if (linear < min_linear)
		min_linear = linear;
	bpf_tail_call(skb, &jmp, 0);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
