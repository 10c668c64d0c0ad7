/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What abmap_inline.bpf.c and test_inline.c share: the structures' sizes and value layouts. */
#ifndef __ABMAP_INLINE_H
#define __ABMAP_INLINE_H

#include <linux/types.h>

#define VIP_ENTRIES 64
#define BACKEND_ENTRIES 256
#define LOOP_SLOTS 8

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
