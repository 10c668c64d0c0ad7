// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Negative control of test_lb_flows: the udplb data plane built with
 * ABMAP_NEGATIVE_CONTROL_REREAD (abmap_bpf.h), so every structure's lookup (vip_filter, vips,
 * ring, backends) reads the group's pointer again instead of using the packet's snapshot. A flip
 * landing between two of those reads mixes two configurations in one packet; the test must see
 * that happen, or it could not tell the snapshot-once program from this one.
 *
 * To widen the windows between the reads, every re-read is preceded by a busy loop of
 * spin_loops bpf_loop() iterations (0: none), set by the test through the skeleton's .bss
 * (ABMAP_NEGATIVE_CONTROL_DELAY).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u32 spin_loops;

static int udplb_torn_spin(__u32 index, void *ctx)
{
	(void)index;
	(void)ctx;
	return 0;
}

static __always_inline __attribute__((unused)) void udplb_torn_delay(void)
{
	__u32 n = spin_loops;

	if (n)
		bpf_loop(n, udplb_torn_spin, NULL, 0);
}

#define ABMAP_NEGATIVE_CONTROL_REREAD
#define ABMAP_NEGATIVE_CONTROL_DELAY() udplb_torn_delay()

#include "udplb.bpf.c"
