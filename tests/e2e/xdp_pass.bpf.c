// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An XDP program that passes every frame. The e2e topology attaches it (native mode) to the peer
 * of every veth on which udplb runs in native XDP mode: a veth delivers XDP_TX / redirected frames
 * only when its peer runs an XDP program (DESIGN.md, "Traps").
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
