// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * IPv4-in-IPv4 decapsulation at tc ingress, for e2e backends on kernels built without
 * CONFIG_NET_IPIP (no ipip tunnel device to do it). lib.sh uses a real ipip device when the kernel
 * has one and this program otherwise.
 *
 * Only well-formed packets are decapsulated: outer header IPv4, IHL 5, protocol IPIP, correct
 * header checksum, not a fragment, an IPv4 inner header, and lengths that agree (outer total =
 * inner total + 20, within the frame).
 * Anything else that claims to be IPIP is dropped (the test then sees the datagram as lost), so a
 * malformed encapsulation by udplb cannot pass unnoticed. Other traffic passes untouched.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* [0] packets decapsulated, [1] IPIP packets dropped as malformed: read by lib.sh (bpftool). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} ipip_stats SEC(".maps");

static __always_inline void count(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&ipip_stats, &i);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline int csum_ok(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

SEC("tc")
int ipip_decap(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *outer, *inner;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	outer = (void *)(eth + 1);
	if ((void *)(outer + 1) > data_end || outer->protocol != IPPROTO_IPIP)
		return TC_ACT_OK;
	inner = (void *)(outer + 1);
	if ((void *)(inner + 1) > data_end || outer->version != 4 || outer->ihl != 5 ||
	    !csum_ok(outer) || outer->ttl == 0 || (outer->frag_off & bpf_htons(0x3fff)) ||
	    bpf_ntohs(outer->tot_len) > skb->len - sizeof(*eth) || inner->version != 4 ||
	    bpf_ntohs(inner->tot_len) + sizeof(*outer) != bpf_ntohs(outer->tot_len) ||
	    bpf_skb_adjust_room(skb, -(int)sizeof(struct iphdr), BPF_ADJ_ROOM_MAC, 0)) {
		count(1);
		return TC_ACT_SHOT;
	}
	count(0);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
