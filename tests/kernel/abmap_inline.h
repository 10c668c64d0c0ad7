/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What abmap_inline.bpf.c, test_inline.c and the bench (bench/bench_inline.c) share: the
 * structures' sizes and value layouts, and the values the test and the bench store.
 */
#ifndef __ABMAP_INLINE_H
#define __ABMAP_INLINE_H

#include <linux/types.h>

#define VIP_ENTRIES 64
#define BACKEND_ENTRIES 256
#define LOOP_SLOTS 8

#define SMALL_ENTRIES 16 /* cfg, naive and plain */
#define FIRST_BACKEND 10 /* vips[k].first_backend = FIRST_BACKEND + k */
#define VIP_BACKENDS 3	 /* vips[k].nr_backends; backends[i].weight = i */
#define CFG_BASE 20	 /* cfg[k] = CFG_BASE + k */
#define LB_PORT 4101	 /* UDP destination port of the packet: VIP 4101 % 64 = 5 */
#define TAG_A 0xa0000ULL /* backends[i].tag = TAG + i and naive[k] = TAG + k, per side */
#define TAG_B 0xb0000ULL
#define PLAIN_BASE 0x5000 /* plain[k] = PLAIN_BASE + k */

struct vip {
	__u32 addr;
	__u16 port;
	__u16 flags;
	__u32 first_backend;
	__u32 nr_backends;
};

/* 24 bytes: not a power of two, so the inlined lookup multiplies instead of shifting. */
struct backend {
	__u32 addr;
	__u32 weight;
	__u8 mac[6];
	__u16 port;
	__u64 tag;
};

#endif /* __ABMAP_INLINE_H */
