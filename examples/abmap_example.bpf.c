// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The BPF half of abmap_example: one group (pointer map "config") with two A/B structures, an
 * array of backend ids with its length and a hash from port to backend index. The program reads
 * the group's snapshot once and uses it for both lookups, so it never mixes two configurations.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abmap_bpf.h"

ABMAP_POINTER_MAP(config);
ABMAP_ARRAY(backends, __u32, 8);
ABMAP_ARRAY_LEN(backends);
ABMAP_HASH(ports, __u32, __u32, 16);

/* The port this program looks up (set at compile time; userspace reads it from .rodata). */
const volatile __u32 example_port = 53;

/* What the last run saw, read by userspace from .bss. */
__u64 hits;
__u64 seen_generation;
__u32 seen_backend;

SEC("xdp")
int xdp_lookup(struct xdp_md *ctx)
{
	struct abmap_snapshot snap;
	__u32 port = example_port;
	__u32 *idx, *backend;

	if (abmap_snapshot_read(&config, &snap))
		return XDP_PASS;

	idx = abmap_lookup(&snap, ports, &port);
	if (!idx || *idx >= abmap_array_len(&snap, backends))
		return XDP_PASS;
	backend = abmap_lookup(&snap, backends, idx);
	if (!backend)
		return XDP_PASS;

	seen_generation = snap.generation;
	seen_backend = *backend;
	__sync_fetch_and_add(&hits, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
