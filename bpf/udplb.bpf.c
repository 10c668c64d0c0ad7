// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udplb data plane: an XDP and a tc entry point sharing one decision path.
 *
 *	parse      Ethernet, at most one 802.1Q/802.1AD tag, IPv4 (any IHL), UDP; every access is
 *	           bounds-checked and anything else passes untouched
 *	classify   VIP prefilter bitmap, then the VIP hash; lengths, fragments, TTL
 *	choose     conntrack (LRU, 5-tuple -> stable backend id + identity), else the VIP's Maglev
 *	           ring indexed by the flow hash; new choices are written back to conntrack
 *	forward    DSR (rewrite MACs, back out of the ingress device) or IP-in-IP to the backend;
 *	           a backend without a stored MAC is resolved with bpf_fib_lookup()
 *
 * The configuration (vips, vip_filter, backends, ring) is one libabmap group: the pointer
 * "udplb_ptr" is read once per packet and that snapshot serves every lookup, so a packet never
 * sees two configurations. Conntrack, config, counters and the pool live outside the group.
 *
 * Every packet adds one to exactly one "primary" reason (FORWARDED, NOT_IP, NOT_UDP, NOT_VIP,
 * TRUNCATED, FRAGMENT, TTL, NO_BACKEND, NO_ROUTE, KILL_SWITCH or ERROR); a forwarded packet
 * also adds one to CT_HIT or CT_NEW (FORWARDED - CT_HIT - CT_NEW = conntrack inserts that
 * failed), a packet dropped because of a VIP flag also adds one to DROPPED. vip_stats counts
 * every packet matched to a VIP whatever became of it, backend_stats every packet forwarded.
 * Bytes are the packet's length as received.
 *
 * Performance: no clock reads; every ARRAY/PERCPU_ARRAY lookup is one the verifier inlines
 * (tests/kernel/test_udplb_packets.c asserts it on the translated code): only the VIP hash and
 * conntrack lookups are calls. bpf_fib_lookup() runs only for backends without a MAC.
 *
 * Behaviour worth knowing:
 *  - Non-first fragments carry no UDP header, so no VIP:port can be matched: they are counted as
 *    FRAGMENT and passed whatever their destination. UDPLB_VIP_F_DROP_FRAGS drops the first
 *    fragment (MF set, offset 0), which is enough to discard the datagram.
 *  - Length checks run before the VIP lookup: an inconsistent packet counts as TRUNCATED even
 *    when it is not for a VIP; a VIP is looked up for it only to honour DROP_INVALID.
 *  - A ring backend must be ACTIVE and belong to the VIP (backend.vip_id), else NO_BACKEND: a
 *    ring pointing elsewhere is a control-plane bug, never followed.
 *  - VLAN: XDP keeps an in-packet tag (ipip: outer header after the tag). tc: a tag already in
 *    the skb's metadata (the usual case at ingress) stays there and the device re-inserts it;
 *    an in-packet tag stays in place for DSR and moves into the metadata for ipip, because
 *    bpf_skb_adjust_room() refuses a frame whose protocol is the tag.
 *  - Backends with a stored MAC are on the ingress link: XDP_TX / redirect to the ingress
 *    device. The bpf_fib_lookup() fallback is a forwarding lookup (IPv4 forwarding must be on);
 *    when its route leaves through another device, the packet is redirected there.
 *  - ipip adds 20 bytes without an MTU check: the path to the backends needs that headroom.
 *  - The tc program is meant for the clsact ingress hook.
 *
 * Defining UDPLB_TEST_SNAPSHOT_PER_LOOKUP before including this file makes every structure's
 * lookup re-read the pointer: the torn-configuration bug the snapshot prevents, for a negative
 * control test. Never build the data plane with it.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "abmap_bpf.h"

/*
 * The shared hash functions are plain "static inline" (userspace uses them too) and clang keeps
 * them as BPF subprograms, a call each per packet: declared always-inline before their
 * definitions, they are inlined.
 */
struct udplb_flow;
static __always_inline __u32 udplb_flow_hash(const struct udplb_flow *f, __u32 seed,
					     __u8 hash_mode);
static __always_inline __u32 udplb_filter_bit(__be32 daddr, __be16 dport);

#include "udplb_shared.h"

#ifndef AF_INET
#define AF_INET 2
#endif
/* IPv4 frag_off bits (include/net/ip.h, not in the uapi). */
#define UDPLB_IP_DF 0x4000
#define UDPLB_IP_MF 0x2000
#define UDPLB_IP_OFFSET 0x1fff

/* ---------------------------------------------------------------------------------------------
 * Maps. Their names are the interface to userspace (skeleton "udplb").
 */

/* The configuration group. */
ABMAP_POINTER_MAP(udplb_ptr);
ABMAP_HASH(vips, struct udplb_vip_key, struct udplb_vip, UDPLB_MAX_VIPS);
ABMAP_ARRAY(vip_filter, __u64, UDPLB_FILTER_WORDS);
ABMAP_ARRAY(backends, struct udplb_backend, UDPLB_MAX_BACKENDS);
ABMAP_ARRAY(ring, __u32, UDPLB_RING_SLOTS);

/* Flow -> backend, aged out by the LRU itself (no clock reads). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, UDPLB_CT_ENTRIES);
	__type(key, struct udplb_flow);
	__type(value, struct udplb_ct);
} conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct udplb_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, UDPLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct udplb_counter);
} vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, UDPLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct udplb_counter);
} backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, __UDPLB_R_MAX);
	__type(key, __u32);
	__type(value, __u64);
} reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, UDPLB_POOL_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} pool SEC(".maps");

/* ---------------------------------------------------------------------------------------------
 * Lookups
 */

#ifdef UDPLB_TEST_SNAPSHOT_PER_LOOKUP
/* Negative control only: read the pointer again before a structure's lookup. */
#define udplb_resnap(snap) ((void)abmap_snapshot_read(&udplb_ptr, (snap)))
#else
#define udplb_resnap(snap) ((void)0)
#endif

/*
 * Plain (non-A/B) array element. The empty asm keeps clang from merging two lookups of
 * different maps into one call site with a phi'd map pointer, which the verifier could not
 * inline (see abmap_bpf.h).
 */
#define udplb_elem(map, index)                                                                     \
	({                                                                                         \
		__u32 __key = (index);                                                             \
		void *__val = bpf_map_lookup_elem(map, &__key);                                    \
		asm volatile("" : "+r"(__val));                                                    \
		__val;                                                                             \
	})

/* No extra reason. */
#define UDPLB_R_NONE __UDPLB_R_MAX

static __always_inline void udplb_count_reason(__u32 reason)
{
	__u64 *c = udplb_elem(&reasons, reason);

	if (c)
		*c += 1;
}

static __always_inline void udplb_count_vip(__u32 id, __u32 bytes)
{
	struct udplb_counter *c = udplb_elem(&vip_stats, id);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void udplb_count_backend(__u32 id, __u32 bytes)
{
	struct udplb_counter *c = udplb_elem(&backend_stats, id);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/*
 * Entry bookkeeping shared by every packet: the global and per-entry-point packet counts (atomic:
 * the pool is shared by all CPUs), then the kill switch. Returns true if everything must pass.
 */
static __always_inline bool udplb_enter(__u32 entry_counter)
{
	__u64 *v;

	v = udplb_elem(&pool, UDPLB_POOL_PACKETS);
	if (v)
		__sync_fetch_and_add(v, 1);
	v = udplb_elem(&pool, entry_counter);
	if (v)
		__sync_fetch_and_add(v, 1);
	v = udplb_elem(&pool, UDPLB_POOL_KILL_SWITCH);
	return v && *(volatile __u64 *)v;
}

/* ---------------------------------------------------------------------------------------------
 * Decision, shared by both entry points
 */

struct udplb_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

enum udplb_action {
	UDPLB_ACT_PASS = 0,
	UDPLB_ACT_DROP,
	UDPLB_ACT_FWD,
};

/* What udplb_decide() tells the entry point. */
struct udplb_verdict {
	__u32 reason;	  /* primary enum udplb_reason */
	__u32 extra;	  /* CT_HIT, CT_NEW, DROPPED or UDPLB_R_NONE */
	__u32 backend_id; /* UDPLB_ACT_FWD */
	__u32 ifindex;	  /* egress device if not the ingress one (fib result), else 0 */
	__be32 outer_saddr;
	__be32 outer_daddr;
	__be16 inner_len; /* IPv4 total length of the packet (ipip) */
	__be16 df;	  /* its DF bit, copied to the outer header (ipip) */
	__u8 tos;
	__u8 action; /* enum udplb_action */
	__u8 fwd;    /* enum udplb_fwd */
	__u8 vlan;   /* the frame carries a VLAN tag */
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
};

static __always_inline void udplb_set(struct udplb_verdict *v, __u32 reason, __u8 action,
				      __u32 extra)
{
	v->reason = reason;
	v->action = action;
	v->extra = extra;
}

/* Pass, or drop when the VIP asks for it (@drop_flag in vip->flags). */
static __always_inline void udplb_reject(struct udplb_verdict *v, __u32 reason,
					 const struct udplb_vip *vip, __u16 drop_flag)
{
	if (vip->flags & drop_flag)
		udplb_set(v, reason, UDPLB_ACT_DROP, UDPLB_R_DROPPED);
	else
		udplb_set(v, reason, UDPLB_ACT_PASS, UDPLB_R_NONE);
}

/* Is conntrack's choice still valid in this snapshot? */
static __always_inline bool udplb_ct_valid(const struct udplb_ct *ct,
					   const struct udplb_backend *be,
					   const struct udplb_vip *vip)
{
	return (be->state == UDPLB_BACKEND_ACTIVE || be->state == UDPLB_BACKEND_DRAINING) &&
	       be->addr == ct->addr && be->port == ct->port && be->vip_id == vip->id &&
	       ct->vip_id == vip->id;
}

/*
 * Resolve the next hop of a backend without a stored MAC. A forwarding lookup from the ingress
 * device: it needs IPv4 forwarding enabled on that device (else NO_ROUTE). Fills the MACs and,
 * when the route leaves through another device, the egress ifindex.
 */
static __always_inline void udplb_fib(void *ctx, __u32 ifindex, const struct iphdr *iph,
				      const struct udplb_backend *be, struct udplb_verdict *v)
{
	struct bpf_fib_lookup fib;
	long rc;

	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = AF_INET;
	fib.l4_protocol = IPPROTO_UDP;
	fib.tos = iph->tos;
	fib.ipv4_src = v->fwd == UDPLB_FWD_IPIP ? v->outer_saddr : iph->saddr;
	fib.ipv4_dst = be->addr;
	fib.ifindex = ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc < 0) {
		udplb_set(v, UDPLB_R_ERROR, UDPLB_ACT_PASS, UDPLB_R_NONE);
		return;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		udplb_set(v, UDPLB_R_NO_ROUTE, UDPLB_ACT_PASS, UDPLB_R_NONE);
		return;
	}
	__builtin_memcpy(v->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(v->smac, fib.smac, ETH_ALEN);
	v->ifindex = fib.ifindex != ifindex ? fib.ifindex : 0;
}

/*
 * Parse the frame in [data, data_end), classify it and choose what to do. Never writes the
 * packet: the entry point does that with its own helpers. @len is the packet length for the
 * counters, @ifindex the ingress device.
 */
static __always_inline void udplb_decide(void *ctx, void *data, void *data_end, __u32 len,
					 __u32 ifindex, struct udplb_verdict *v)
{
	struct udplb_vip_key vkey = {};
	struct udplb_flow flow = {};
	struct abmap_snapshot snap;
	struct udplb_config *cfg;
	struct udplb_backend *be;
	struct udplb_vlan_hdr *vh;
	struct udplb_vip *vip;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	struct iphdr *iph;
	struct udplb_ct *ct;
	__u32 l2 = sizeof(*eth), ihl, tot, avail, bit, word, id, slot;
	bool invalid, mf;
	__u64 *filter;
	__u32 *ring_id;
	__be16 proto;

	v->extra = UDPLB_R_NONE;
	v->action = UDPLB_ACT_PASS;

	/* Parse. */
	if ((void *)(eth + 1) > data_end)
		goto truncated;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		vh = (void *)(eth + 1);
		if ((void *)(vh + 1) > data_end)
			goto truncated;
		proto = vh->encap_proto;
		l2 += sizeof(*vh);
		v->vlan = 1;
	}
	if (proto != bpf_htons(ETH_P_IP)) {
		v->reason = UDPLB_R_NOT_IP;
		return;
	}
	iph = data + l2;
	if ((void *)(iph + 1) > data_end)
		goto truncated;
	if (iph->version != 4) {
		v->reason = UDPLB_R_NOT_IP;
		return;
	}
	ihl = iph->ihl * 4;
	if (ihl < sizeof(*iph))
		goto truncated;
	if (iph->protocol != IPPROTO_UDP) {
		v->reason = UDPLB_R_NOT_UDP;
		return;
	}
	/* Not the first fragment: no UDP header, so no VIP:port to match. Passed, counted. */
	if (iph->frag_off & bpf_htons(UDPLB_IP_OFFSET)) {
		v->reason = UDPLB_R_FRAGMENT;
		return;
	}
	udp = (void *)iph + ihl;
	if ((void *)(udp + 1) > data_end)
		goto truncated;

	/* Lengths must fit the frame (trailing Ethernet padding is fine). */
	tot = bpf_ntohs(iph->tot_len);
	avail = data_end - (void *)iph;
	mf = iph->frag_off & bpf_htons(UDPLB_IP_MF);
	invalid = tot < ihl + sizeof(*udp) || tot > avail;
	if (!invalid && !mf) {
		__u32 ulen = bpf_ntohs(udp->len);

		/* As udp_rcv(): the UDP length may be shorter than the IP payload, not longer. */
		invalid = ulen < sizeof(*udp) || ulen > tot - ihl;
	}

	/* Classify: prefilter bit, then the VIP itself. The only pointer read of this packet. */
	if (abmap_snapshot_read(&udplb_ptr, &snap)) {
		v->reason = UDPLB_R_ERROR;
		return;
	}
	bit = udplb_filter_bit(iph->daddr, udp->dest);
	word = bit / 64;
	udplb_resnap(&snap);
	filter = abmap_lookup(&snap, vip_filter, &word);
	if (!filter || !((*filter >> (bit & 63)) & 1))
		goto not_vip;
	vkey.addr = iph->daddr;
	vkey.port = udp->dest;
	vkey.proto = IPPROTO_UDP;
	udplb_resnap(&snap);
	vip = abmap_lookup(&snap, vips, &vkey);
	if (!vip)
		goto not_vip;
	udplb_count_vip(vip->id, len);

	if (invalid) {
		udplb_reject(v, UDPLB_R_TRUNCATED, vip, UDPLB_VIP_F_DROP_INVALID);
		return;
	}
	if (mf) {
		udplb_reject(v, UDPLB_R_FRAGMENT, vip, UDPLB_VIP_F_DROP_FRAGS);
		return;
	}
	if (iph->ttl <= 1) {
		v->reason = UDPLB_R_TTL;
		return;
	}
	if (vip->fwd != UDPLB_FWD_DSR && vip->fwd != UDPLB_FWD_IPIP) {
		v->reason = UDPLB_R_ERROR;
		return;
	}
	cfg = udplb_elem(&config, 0);
	if (!cfg) {
		v->reason = UDPLB_R_ERROR;
		return;
	}

	/* Choose: conntrack first, if its backend is still the same one and still serves. */
	flow.saddr = iph->saddr;
	flow.daddr = iph->daddr;
	flow.sport = udp->source;
	flow.dport = udp->dest;
	flow.proto = IPPROTO_UDP;
	be = NULL;
	ct = bpf_map_lookup_elem(&conntrack, &flow);
	if (ct) {
		id = ct->backend_id;
		udplb_resnap(&snap);
		be = abmap_lookup(&snap, backends, &id);
		if (be && udplb_ct_valid(ct, be, vip))
			v->extra = UDPLB_R_CT_HIT;
		else
			be = NULL;
	}
	if (!be) {
		struct udplb_ct nct = {};

		if (!vip->ring_size)
			goto no_backend;
		slot = vip->ring_off +
		       udplb_flow_hash(&flow, cfg->hash_seed, vip->hash_mode) % vip->ring_size;
		udplb_resnap(&snap);
		ring_id = abmap_lookup(&snap, ring, &slot);
		if (!ring_id)
			goto no_backend;
		id = *ring_id;
		if (id == UDPLB_NO_BACKEND)
			goto no_backend;
		udplb_resnap(&snap);
		be = abmap_lookup(&snap, backends, &id);
		if (!be || be->state != UDPLB_BACKEND_ACTIVE || be->vip_id != vip->id)
			goto no_backend;
		nct.backend_id = id;
		nct.addr = be->addr;
		nct.port = be->port;
		nct.vip_id = vip->id;
		if (!bpf_map_update_elem(&conntrack, &flow, &nct, BPF_ANY))
			v->extra = UDPLB_R_CT_NEW;
	}

	/* Forward: what the entry point needs to rewrite the frame. */
	v->backend_id = id;
	v->fwd = vip->fwd;
	v->outer_saddr = cfg->ipip_src;
	v->outer_daddr = be->addr;
	v->inner_len = iph->tot_len;
	v->df = iph->frag_off & bpf_htons(UDPLB_IP_DF);
	v->tos = iph->tos;
	v->ifindex = 0;
	v->reason = UDPLB_R_FORWARDED;
	v->action = UDPLB_ACT_FWD;
	if (be->flags & UDPLB_BACKEND_F_MAC) {
		__builtin_memcpy(v->dmac, be->mac, ETH_ALEN);
		__builtin_memcpy(v->smac, eth->h_dest, ETH_ALEN);
	} else {
		udplb_fib(ctx, ifindex, iph, be, v);
		if (v->action != UDPLB_ACT_FWD)
			v->extra = UDPLB_R_NONE;
	}
	return;

truncated:
	v->reason = UDPLB_R_TRUNCATED;
	return;
not_vip:
	v->reason = invalid ? UDPLB_R_TRUNCATED : UDPLB_R_NOT_VIP;
	return;
no_backend:
	v->reason = UDPLB_R_NO_BACKEND;
	v->extra = UDPLB_R_NONE;
}

/* Outer IPv4 header of an ipip packet, checksum included. */
static __always_inline void udplb_outer_ip(struct iphdr *o, const struct udplb_verdict *v)
{
	const __u16 *w = (const __u16 *)o;
	__u32 sum = 0;
	int i;

	o->version = 4;
	o->ihl = 5;
	o->tos = v->tos;
	o->tot_len = bpf_htons(bpf_ntohs(v->inner_len) + sizeof(*o));
	o->id = 0;
	o->frag_off = v->df;
	o->ttl = 64;
	o->protocol = IPPROTO_IPIP;
	o->check = 0;
	o->saddr = v->outer_saddr;
	o->daddr = v->outer_daddr;
#pragma unroll
	for (i = 0; i < (int)(sizeof(*o) / 2); i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	o->check = (__u16)~sum;
}

/* Counters of a finished packet. */
static __always_inline void udplb_account(const struct udplb_verdict *v, __u32 len)
{
	udplb_count_reason(v->reason);
	if (v->extra != UDPLB_R_NONE)
		udplb_count_reason(v->extra);
	if (v->reason == UDPLB_R_FORWARDED)
		udplb_count_backend(v->backend_id, len);
}

/* ---------------------------------------------------------------------------------------------
 * XDP
 */

/*
 * Rewrite the frame for forwarding. Returns the XDP action, or -1 when a helper failed before
 * the frame was changed (pass it), -2 after (drop it).
 */
static __always_inline int udplb_xdp_forward(struct xdp_md *ctx, const struct udplb_verdict *v)
{
	struct ethhdr *eth;
	void *data, *data_end;

	if (v->fwd == UDPLB_FWD_IPIP) {
		struct iphdr outer;

		/* New room in front; move the L2 header's tail (type, tag) into it. */
		if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
			return -1;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		udplb_outer_ip(&outer, v);
		if (v->vlan) {
			if (data + sizeof(struct iphdr) + ETH_HLEN + sizeof(struct udplb_vlan_hdr) >
			    data_end)
				return -2;
			__builtin_memcpy(data + 2 * ETH_ALEN,
					 data + sizeof(struct iphdr) + 2 * ETH_ALEN,
					 2 + sizeof(struct udplb_vlan_hdr));
			__builtin_memcpy(data + ETH_HLEN + sizeof(struct udplb_vlan_hdr), &outer,
					 sizeof(outer));
		} else {
			if (data + sizeof(struct iphdr) + ETH_HLEN > data_end)
				return -2;
			__builtin_memcpy(data + 2 * ETH_ALEN,
					 data + sizeof(struct iphdr) + 2 * ETH_ALEN, 2);
			__builtin_memcpy(data + ETH_HLEN, &outer, sizeof(outer));
		}
	} else {
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + ETH_HLEN > data_end)
			return -1;
	}
	eth = data;
	__builtin_memcpy(eth->h_dest, v->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, v->smac, ETH_ALEN);
	if (v->ifindex)
		return bpf_redirect(v->ifindex, 0);
	return XDP_TX;
}

SEC("xdp")
int udplb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udplb_verdict v = {};
	__u32 len = data_end - data;
	int act = XDP_PASS;

	if (udplb_enter(UDPLB_POOL_XDP_PACKETS)) {
		udplb_count_reason(UDPLB_R_KILL_SWITCH);
		return XDP_PASS;
	}
	udplb_decide(ctx, data, data_end, len, ctx->ingress_ifindex, &v);
	if (v.action == UDPLB_ACT_FWD) {
		act = udplb_xdp_forward(ctx, &v);
		if (act < 0) {
			udplb_set(&v, UDPLB_R_ERROR, UDPLB_ACT_PASS, UDPLB_R_NONE);
			act = act == -1 ? XDP_PASS : XDP_DROP;
		}
	} else if (v.action == UDPLB_ACT_DROP) {
		act = XDP_DROP;
	}
	udplb_account(&v, len);
	return act;
}

/* ---------------------------------------------------------------------------------------------
 * tc (clsact, direct action)
 */

/* Largest header we parse: Ethernet, one tag, IPv4 with 40 bytes of options, UDP. */
#define UDPLB_MAX_HDR (ETH_HLEN + 4 + 60 + 8)

/* Same contract as udplb_xdp_forward(), tc actions. */
static __always_inline int udplb_tc_forward(struct __sk_buff *skb, const struct udplb_verdict *v)
{
	void *data, *data_end;
	struct ethhdr *eth;

	if (v->fwd == UDPLB_FWD_IPIP) {
		struct iphdr outer;

		if (v->vlan) {
			/*
			 * bpf_skb_adjust_room() inserts after the MAC header and refuses a frame
			 * whose protocol is the tag: move the tag into the skb's metadata, where
			 * the device puts it back on transmit (as for a tag the NIC stripped).
			 */
			struct udplb_vlan_hdr *vh;
			__be16 tpid;
			__u16 tci;

			data = (void *)(long)skb->data;
			data_end = (void *)(long)skb->data_end;
			eth = data;
			vh = (void *)(eth + 1);
			if ((void *)(vh + 1) > data_end)
				return -1;
			tpid = eth->h_proto;
			tci = bpf_ntohs(vh->tci);
			if (bpf_skb_vlan_pop(skb))
				return -1;
			if (bpf_skb_vlan_push(skb, tpid, tci))
				return -2;
		}
		/*
		 * With the encapsulation metadata (GSO type, inner headers) if the skb takes it;
		 * one already marked as encapsulated refuses (-EALREADY): plain room then.
		 */
		if (bpf_skb_adjust_room(skb, sizeof(struct iphdr), BPF_ADJ_ROOM_MAC,
					BPF_F_ADJ_ROOM_ENCAP_L3_IPV4) &&
		    bpf_skb_adjust_room(skb, sizeof(struct iphdr), BPF_ADJ_ROOM_MAC, 0))
			return v->vlan ? -2 : -1;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		if (data + ETH_HLEN + sizeof(struct iphdr) > data_end)
			return -2;
		udplb_outer_ip(&outer, v);
		__builtin_memcpy(data + ETH_HLEN, &outer, sizeof(outer));
	} else {
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		if (data + ETH_HLEN > data_end)
			return -1;
	}
	eth = data;
	__builtin_memcpy(eth->h_dest, v->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, v->smac, ETH_ALEN);
	return bpf_redirect(v->ifindex ? v->ifindex : skb->ifindex, 0);
}

SEC("tc")
int udplb_tc(struct __sk_buff *skb)
{
	struct udplb_verdict v = {};
	void *data, *data_end;
	__u32 len = skb->len;
	int act = TC_ACT_OK;

	if (udplb_enter(UDPLB_POOL_TC_PACKETS)) {
		udplb_count_reason(UDPLB_R_KILL_SWITCH);
		return TC_ACT_OK;
	}
	/* Headers in a fragment page: bring them into the linear part first. */
	if (skb->data_end - skb->data < UDPLB_MAX_HDR && skb->data_end - skb->data < len)
		bpf_skb_pull_data(skb, len < UDPLB_MAX_HDR ? len : UDPLB_MAX_HDR);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	udplb_decide(skb, data, data_end, len, skb->ifindex, &v);
	if (v.action == UDPLB_ACT_FWD) {
		act = udplb_tc_forward(skb, &v);
		if (act < 0) {
			udplb_set(&v, UDPLB_R_ERROR, UDPLB_ACT_PASS, UDPLB_R_NONE);
			act = act == -1 ? TC_ACT_OK : TC_ACT_SHOT;
		}
	} else if (v.action == UDPLB_ACT_DROP) {
		act = TC_ACT_SHOT;
	}
	udplb_account(&v, len);
	return act;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
