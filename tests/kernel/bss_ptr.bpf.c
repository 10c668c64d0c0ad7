// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Compatibility mode (abmap_group_new_var): the live side is a __u8 global in .bss, as in
 * ebpfstruct. The program reads it once and copies element 0 of the live side of "cfg" into
 * "seen", so the test can check what a program observes after a flip.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abmap_bpf.h"

#define CFG_ENTRIES 16

__u8 active_side;
__u32 seen;
__u32 seen_side;
/* Wider variables for abmap_group_new_var() sizes 4 and 8 (not read by the program). */
__u32 active32;
__u64 active64;

ABMAP_ARRAY(cfg, __u32, CFG_ENTRIES);

SEC("xdp")
int bss_ptr_read(struct xdp_md *ctx)
{
	struct abmap_snapshot snap;
	__u32 key = 0;
	__u32 *val;

	snap.side = *(volatile __u8 *)&active_side & 1;
	snap.generation = snap.side;
	val = abmap_lookup(&snap, cfg, &key);
	if (!val)
		return XDP_ABORTED;
	seen = *val;
	seen_side = snap.side;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
