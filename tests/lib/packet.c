// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The packet builder of the tests and the bench (packet.h). */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "packet.h"

#define ETH_HLEN_ 14
#define IP_HLEN 20
#define UDP_HLEN 8

__u16 tl_csum16(const void *p, size_t len)
{
	const __u8 *b = p;
	__u32 sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

size_t tl_udp4_build(const struct tl_udp4 *s, void *buf, size_t len)
{
	size_t total = ETH_HLEN_ + IP_HLEN + UDP_HLEN + s->payload;
	__u8 *f = buf, *ip = f + ETH_HLEN_, *udp = ip + IP_HLEN;

	if (len < total)
		return 0;
	memset(f, 0, total);
	memcpy(f, s->dst_mac, 6);
	memcpy(f + 6, s->src_mac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, IP_HLEN + UDP_HLEN + s->payload);
	memcpy(ip + 6, &s->frag_off, 2);
	ip[8] = s->ttl ? s->ttl : 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &s->saddr, 4);
	memcpy(ip + 16, &s->daddr, 4);
	put16(ip + 10, tl_csum16(ip, IP_HLEN));
	memcpy(udp, &s->sport, 2);
	memcpy(udp + 2, &s->dport, 2);
	put16(udp + 4, UDP_HLEN + s->payload);
	return total; /* UDP checksum 0: none (IPv4) */
}

struct udplb_flow tl_udp4_flow(const struct tl_udp4 *s)
{
	struct udplb_flow f;

	memset(&f, 0, sizeof(f));
	f.saddr = s->saddr;
	f.daddr = s->daddr;
	f.sport = s->sport;
	f.dport = s->dport;
	f.proto = IPPROTO_UDP;
	return f;
}

int tl_out_parse(const void *frame, size_t len, struct tl_out *o)
{
	const __u8 *f = frame, *ip = f + ETH_HLEN_;

	memset(o, 0, sizeof(*o));
	if (len < ETH_HLEN_ + IP_HLEN || f[12] != 0x08 || f[13] != 0x00 || (ip[0] >> 4) != 4)
		return -EPROTO;
	memcpy(o->dst_mac, f, 6);
	o->ipip = ip[9] == IPPROTO_IPIP;
	memcpy(&o->daddr, ip + 16, 4);
	o->csum_ok = tl_csum16(ip, (size_t)(ip[0] & 0xf) * 4) == 0;
	return 0;
}
