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

void tl_put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Ethernet header (with a VLAN tag when asked); returns the offset of the L3 header. */
static __u32 put_eth(const struct tl_udp4 *s, __u8 *d)
{
	memcpy(d, s->dst_mac, 6);
	memcpy(d + 6, s->src_mac, 6);
	if (!s->vlan_tpid) {
		tl_put16(d + 12, s->ethertype ? s->ethertype : 0x0800);
		return ETH_HLEN_;
	}
	tl_put16(d + 12, s->vlan_tpid);
	tl_put16(d + 14, s->vlan_tci);
	tl_put16(d + 16, s->ethertype ? s->ethertype : 0x0800);
	return ETH_HLEN_ + 4;
}

int tl_udp4_frame(const struct tl_udp4 *s, struct tl_frame *f)
{
	__u32 ihl = s->ihl ? s->ihl : 5, hlen = ihl < 5 ? IP_HLEN : ihl * 4, i;
	__u8 *ip, *udp;

	memset(f, 0, sizeof(*f));
	f->l3 = put_eth(s, f->data);
	f->ip_full = hlen + UDP_HLEN + s->payload;
	if (f->l3 + f->ip_full > sizeof(f->data))
		return -ENOSPC;
	ip = f->data + f->l3;
	ip[0] = (__u8)((s->version ? s->version : 4) << 4 | (ihl & 0xf));
	ip[1] = s->tos;
	tl_put16(ip + 2, (__u16)((int)(hlen + UDP_HLEN + s->payload) + s->tot_delta));
	tl_put16(ip + 4, s->ip_id);
	tl_put16(ip + 6, s->frag_off);
	ip[8] = s->set_ttl ? s->ttl : 64;
	ip[9] = s->proto ? s->proto : IPPROTO_UDP;
	memcpy(ip + 12, &s->saddr, 4);
	memcpy(ip + 16, &s->daddr, 4);
	for (i = IP_HLEN; i < hlen; i++)
		ip[i] = 1; /* NOP options */
	tl_put16(ip + 10, tl_csum16(ip, hlen));
	udp = ip + hlen;
	memcpy(udp, &s->sport, 2);
	memcpy(udp + 2, &s->dport, 2);
	tl_put16(udp + 4, (__u16)((int)(UDP_HLEN + s->payload) + s->udp_delta));
	for (i = 0; i < s->payload; i++)
		udp[UDP_HLEN + i] = (__u8)(i * 7 + 3);
	f->len = s->cut ? s->cut : f->l3 + f->ip_full; /* UDP checksum 0: none (IPv4) */
	return 0;
}

size_t tl_udp4_build(const struct tl_udp4 *s, void *buf, size_t len)
{
	struct tl_frame f;

	if (tl_udp4_frame(s, &f) || f.len > len)
		return 0;
	memcpy(buf, f.data, f.len);
	return f.len;
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

struct udplb_flow tl_ip4_flow(const __u8 *ip)
{
	struct udplb_flow f;

	memset(&f, 0, sizeof(f));
	memcpy(&f.saddr, ip + 12, 4);
	memcpy(&f.daddr, ip + 16, 4);
	memcpy(&f.sport, ip + IP_HLEN, 2);
	memcpy(&f.dport, ip + IP_HLEN + 2, 2);
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
