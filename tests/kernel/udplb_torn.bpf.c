// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Negative control of test_lb_flows: the udplb data plane built with
 * ABMAP_TEST_SNAPSHOT_PER_LOOKUP (abmap_bpf.h) naming its pointer map, so it reads the group's pointer again before each structure's
 * lookup (vip_filter, vips, ring, backends) instead of once per packet. A flip landing between
 * two of those reads mixes two configurations in one packet; the test must see that happen, or
 * it could not tell the snapshot-once program from this one.
 *
 * To widen the windows between the reads, every pointer read is preceded by a busy loop of
 * spin_loops bpf_loop() iterations (0: none), set by the test through the skeleton's .bss.
 * The hook: abmap_snapshot_read() is redirected to a wrapper before udplb.bpf.c includes
 * abmap_bpf.h again (its include guard keeps the original definition).
 */
#define ABMAP_TEST_SNAPSHOT_PER_LOOKUP udplb_ptr

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abmap_bpf.h"

__u32 spin_loops;

static int udplb_torn_spin(__u32 index, void *ctx)
{
	(void)index;
	(void)ctx;
	return 0;
}

static __always_inline int udplb_torn_snapshot_read(void *pointer_map, struct abmap_snapshot *snap)
{
	__u32 n = spin_loops;

	if (n)
		bpf_loop(n, udplb_torn_spin, NULL, 0);
	return abmap_snapshot_read(pointer_map, snap);
}

#define abmap_snapshot_read udplb_torn_snapshot_read

#include "udplb.bpf.c"
