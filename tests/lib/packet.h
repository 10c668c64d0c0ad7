/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One packet builder for the kernel tests and the bench: Ethernet + IPv4 + UDP frames with valid
 * checksums, the 5-tuple the data plane hashes, and a reader of what came out (the frame's
 * destination MAC, and the outer header of an IP-in-IP encapsulation).
 */
#ifndef __UDPLB_TESTS_PACKET_H
#define __UDPLB_TESTS_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "udplb_shared.h"

#define TL_IP4(a, b, c, d)                                                                         \
	((__u32)(a) << 24 | (__u32)(b) << 16 | (__u32)(c) << 8 | (__u32)(d)) /* host order */

/*
 * A UDP datagram in an Ethernet frame. Addresses and ports in network order. The knobs below
 * the first block make unusual or malformed frames; all zero gives a plain datagram.
 */
struct tl_udp4 {
	__u8 dst_mac[6];
	__u8 src_mac[6];
	__be32 saddr, daddr;
	__be16 sport, dport;
	__u16 payload; /* payload bytes (a fixed pattern) */

	__u16 vlan_tpid; /* host order; 0: untagged */
	__u16 vlan_tci;
	__u16 ethertype; /* 0: ETH_P_IP */
	__u8 version;	 /* 0: 4 */
	__u8 ihl;	 /* 0: 5; more: NOP options */
	__u8 proto;	 /* 0: UDP */
	__u8 tos;
	bool set_ttl; /* else TTL 64 */
	__u8 ttl;
	__u16 frag_off; /* host order: flags and offset */
	__u16 ip_id;	/* host order */
	int tot_delta;	/* added to the IPv4 total length */
	int udp_delta;	/* added to the UDP length */
	__u16 cut;	/* truncate the frame to this many bytes, 0: no */
};

/* A built frame and where its parts are. */
struct tl_frame {
	__u8 data[256];
	__u32 len;
	__u32 l3;      /* offset of the IPv4 header */
	__u32 ip_full; /* bytes of the IPv4 packet as built (before a cut) */
};

/* Build @s into @f; -ENOSPC when it does not fit. */
int tl_udp4_frame(const struct tl_udp4 *s, struct tl_frame *f);
/* Frame for @s into @buf; returns its length, or 0 when it does not fit in @len. */
size_t tl_udp4_build(const struct tl_udp4 *s, void *buf, size_t len);
/* The flow the data plane hashes for @s. */
struct udplb_flow tl_udp4_flow(const struct tl_udp4 *s);
/* The flow of the UDP datagram whose IPv4 header (without options) is at @ip. */
struct udplb_flow tl_ip4_flow(const __u8 *ip);
/* Internet checksum of @len bytes (0 over a header whose checksum is right). */
__u16 tl_csum16(const void *p, size_t len);
/* Store @v at @p in network byte order. */
void tl_put16(__u8 *p, __u16 v);

/* What the data plane made of a frame. */
struct tl_out {
	__u8 dst_mac[6];
	bool ipip;    /* an outer IPv4 header with protocol IPPROTO_IPIP */
	__be32 daddr; /* the (outer) IPv4 destination */
	bool csum_ok; /* the (outer) IPv4 header checksum is right */
};

/* Read @frame; -EPROTO when it is no IPv4-in-Ethernet frame. */
int tl_out_parse(const void *frame, size_t len, struct tl_out *o);

#endif /* __UDPLB_TESTS_PACKET_H */
